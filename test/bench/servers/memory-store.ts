/**
 * The reference server's Store kept in memory, for the benchmarks only: what the socket.io peer
 * (`peers.ts`, `socketio-store`) keeps, a seq per conversation and a dedup map, behind our
 * server's Store interface. Running our server on it compares the two servers with the same
 * storage, and so shows what SQLite's commit adds. Nothing survives a restart: not a server to run.
 */
import { type MessageContent, isoNow } from '../../../src/protocol.js';
import { type AppendResult, type ConversationSummary, type HistoryPage, type Store, type StoredMessage, summaryAfter } from '../../../examples/server/src/store/types.js';

interface Conversation {
  summary: ConversationSummary;
  /** By seq: messages[seq - 1]. */
  messages: StoredMessage[];
}

export class MemoryStore implements Store {
  readonly #conversations = new Map<string, Conversation>();
  /** `adminId\ntempId` and `\nexternalId` → the stored message. */
  readonly #dedup = new Map<string, StoredMessage>();

  async appendCustomerMessage(
    conversationId: string,
    message: MessageContent,
    options: { displayName?: string; externalId?: string } = {},
  ): Promise<AppendResult> {
    const key = options.externalId === undefined ? undefined : `\n${options.externalId}`;
    return this.#append(conversationId, key, { conversationId, seq: 0, sender: 'customer', message, createdAt: '' }, options.displayName);
  }

  async appendOperatorMessage(conversationId: string, adminId: string, tempId: string, message: MessageContent): Promise<AppendResult> {
    const stored: StoredMessage = { conversationId, seq: 0, sender: 'operator', message, createdAt: '', adminId, tempId };
    return this.#append(conversationId, `${adminId}\n${tempId}`, stored);
  }

  #append(conversationId: string, key: string | undefined, message: StoredMessage, displayName?: string): AppendResult {
    const original = key === undefined ? undefined : this.#dedup.get(key);
    if (original) return { message: original, duplicate: true, conversation: this.#conversations.get(original.conversationId)!.summary };
    // What the SQLite store does with each message (it stores JSON): content JSON cannot hold fails.
    JSON.stringify(message.message);
    let conversation = this.#conversations.get(conversationId);
    if (!conversation) {
      const summary: ConversationSummary = { id: conversationId, displayName, lastMessage: undefined, lastSeq: 0, unreadCount: 0, status: 'waiting', updatedAt: '' };
      this.#conversations.set(conversationId, (conversation = { summary, messages: [] }));
    }
    const previous = conversation.summary;
    message.seq = previous.lastSeq + 1;
    message.createdAt = isoNow();
    conversation.messages.push(message);
    if (key !== undefined) this.#dedup.set(key, message);
    const unreadCount = message.sender === 'customer' ? previous.unreadCount + 1 : 0;
    conversation.summary = summaryAfter(message, unreadCount, displayName ?? previous.displayName ?? '');
    return { message, duplicate: false, conversation: conversation.summary };
  }

  async messagesAfter(conversationId: string, afterSeq: number, limit: number): Promise<StoredMessage[]> {
    return this.#conversations.get(conversationId)?.messages.slice(afterSeq, afterSeq + limit) ?? [];
  }

  async history(conversationId: string, { beforeSeq, limit }: { beforeSeq?: number; limit: number }): Promise<HistoryPage> {
    const messages = this.#conversations.get(conversationId)?.messages ?? [];
    const end = Math.max(0, Math.min(messages.length, (beforeSeq ?? Number.MAX_SAFE_INTEGER) - 1));
    const start = Math.max(0, end - limit);
    return { messages: messages.slice(start, end), hasMore: start > 0 };
  }

  async listConversations(): Promise<ConversationSummary[]> {
    return [...this.#conversations.values()]
      .map(({ summary }) => summary)
      .sort((a, b) => (a.updatedAt === b.updatedAt ? (a.id < b.id ? -1 : 1) : a.updatedAt < b.updatedAt ? 1 : -1));
  }

  async getConversation(conversationId: string): Promise<ConversationSummary | undefined> {
    return this.#conversations.get(conversationId)?.summary;
  }

  async close(): Promise<void> {}
}
