import type { MessageContent } from '../../../../src/protocol.js';

/** A stored chat event: a customer message or an operator message, with its per-conversation seq. */
export interface StoredMessage {
  conversationId: string;
  /** Per conversation, strictly increasing, from 1. */
  seq: number;
  sender: 'customer' | 'operator';
  /** The operator who wrote it. */
  adminId?: string;
  /** The operator client's id for it; (adminId, tempId) is unique. */
  tempId?: string;
  message: MessageContent;
  /** ISO-8601. */
  createdAt: string;
}

/** One row of the conversation list. */
export interface ConversationSummary {
  id: string;
  displayName: string | undefined;
  lastMessage: StoredMessage | undefined;
  lastSeq: number;
  /** Customer messages since the last operator message. */
  unreadCount: number;
  /** `waiting` when the customer spoke last, `answered` when an operator did. */
  status: 'waiting' | 'answered';
  updatedAt: string;
}

/**
 * The conversation summary right after `message` was appended, given what the store knows of the
 * rest: the unread count and the display name ('' for none).
 */
export function summaryAfter(message: StoredMessage, unreadCount: number, displayName: string): ConversationSummary {
  return {
    id: message.conversationId,
    displayName: displayName || undefined,
    lastMessage: message,
    lastSeq: message.seq,
    unreadCount,
    status: message.sender === 'customer' ? 'waiting' : 'answered',
    updatedAt: message.createdAt,
  };
}

/** What an append did: the stored message, and whether it was already there (a retry). */
export interface AppendResult {
  message: StoredMessage;
  duplicate: boolean;
  /**
   * The conversation right after this append (for a duplicate: as it is now), so that callers
   * can announce it (`conversation_updated`) without reading it back.
   */
  conversation: ConversationSummary;
}

/** A page of history, ascending by seq. */
export interface HistoryPage {
  messages: StoredMessage[];
  /** True when older messages exist before the first one. */
  hasMore: boolean;
}

/**
 * Where conversations live: SQLite by default, Redis to scale out. Every method is atomic, and an
 * append resolves only once the message is committed (never before: the ack follows it).
 */
export interface Store {
  /** A customer message; `externalId` (the LINE message id) deduplicates webhook redeliveries. */
  appendCustomerMessage(
    conversationId: string,
    message: MessageContent,
    options?: { displayName?: string; externalId?: string },
  ): Promise<AppendResult>;
  /** An operator message, deduplicated on (adminId, tempId): a retry gets the original back. */
  appendOperatorMessage(conversationId: string, adminId: string, tempId: string, message: MessageContent): Promise<AppendResult>;
  /**
   * Messages with seq > `afterSeq`, ascending, at most `limit`; `undefined` when the store no
   * longer holds all of them (trimmed history).
   */
  messagesAfter(conversationId: string, afterSeq: number, limit: number): Promise<StoredMessage[] | undefined>;
  /** The page of at most `limit` messages before `beforeSeq` (or the newest), ascending. */
  history(conversationId: string, options: { beforeSeq?: number; limit: number }): Promise<HistoryPage>;
  listConversations(): Promise<ConversationSummary[]>;
  getConversation(conversationId: string): Promise<ConversationSummary | undefined>;
  close(): Promise<void>;
}
