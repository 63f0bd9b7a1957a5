import { DeliveryError, type LiveChatError } from './errors.js';
import type { MessageContent } from './protocol.js';
import type { OutboxEntry } from './queue.js';
import { Subscribable } from './subscribable.js';

/** Delivery status of a message in a conversation. Customer messages are always `sent`. */
export type MessageStatus = 'pending' | 'sent' | 'failed';

/** A message the app loaded itself, e.g. a page of history over HTTP. */
export interface HistoryMessage {
  /** Per-conversation sequence number assigned by the server; absent on a server without seq. */
  seq?: number | undefined;
  sender: 'customer' | 'operator';
  /** The operator who wrote it (operator messages). */
  adminId?: string | undefined;
  content: MessageContent;
  /** The client-chosen id of an operator message. */
  tempId?: string | undefined;
  /** ISO-8601: the server's time for sent messages, the creation time for pending ones. */
  timestamp: string;
}

/** One message as the app renders it. */
export interface ChatMessage extends Readonly<HistoryMessage> {
  /** Stable render key: the `temp_id` of operator messages (unchanged from pending to sent), else derived from `seq`. */
  readonly key: string;
  readonly conversationId: string;
  readonly status: MessageStatus;
  /** Why it failed, for `failed` messages. */
  readonly error?: LiveChatError | undefined;
}

/** Immutable view of one conversation. */
export interface ConversationSnapshot {
  readonly id: string;
  /** Whether the app has joined it (membership is restored after every reconnect). */
  readonly joined: boolean;
  /** Sent messages ordered by `seq`, then this client's pending and failed ones in the order they were written. */
  readonly messages: readonly ChatMessage[];
  /** The pending and failed messages alone (the tail of `messages`). */
  readonly outgoing: readonly ChatMessage[];
  /** Other operators typing now; each expires by itself if no stop arrives. */
  readonly typing: readonly string[];
  /** Operators present in the conversation, as the server last said. */
  readonly operators: readonly string[];
  /** Highest `seq` seen: the point a rejoin resumes from. */
  readonly lastSeq: number | undefined;
  /**
   * The server could not replay everything missed while offline: reload history (and pass it to
   * {@link Conversation.addHistory}), which clears this flag.
   */
  readonly resyncRequired: boolean;
}

/**
 * The per-conversation view, from `client.conversation(id)`: messages by seq with pending ones
 * after, typing operators, present operators. Inbound events are deduplicated by `seq` (and by
 * `temp_id` on a server without seq). It is an external store: `getSnapshot`/`subscribe`.
 */
export class Conversation extends Subscribable<ConversationSnapshot> {
  readonly id: string;
  readonly #outbox: () => readonly OutboxEntry[];
  readonly #typingTimeoutMs: number;
  readonly #sent: ChatMessage[] = [];
  /**
   * The `seq` (a number) and `temp_id` (a string) of every message here: a duplicate is recognized
   * by either, and the two kinds never collide in the set.
   */
  readonly #seen = new Set<number | string>();
  /** Operators typing now → the timer that expires their indicator. */
  readonly #typing = new Map<string, ReturnType<typeof setTimeout>>();
  #operators: string[] = [];
  #lastSeq: number | undefined;
  #joined = false;
  #resync = false;
  #localKeys = 0;

  /**
   * @hidden Created by the client (`client.conversation(id)`); pending and failed messages are read
   * from `outbox` at snapshot time. Hidden from the docs but kept in the published types, which
   * would otherwise declare a constructor without parameters.
   */
  constructor(id: string, remoteTypingTimeoutMs: number, outbox: () => readonly OutboxEntry[]) {
    super();
    this.id = id;
    this.#typingTimeoutMs = remoteTypingTimeoutMs;
    this.#outbox = outbox;
  }

  /** @internal */
  protected buildSnapshot_(): ConversationSnapshot {
    // A message already received as sent is not shown twice while its ack is being processed.
    const outgoing = this.#outbox()
      .filter((entry) => entry.conversationId === this.id && !this.#seen.has(entry.tempId))
      .map(toMessage);
    return {
      id: this.id,
      joined: this.#joined,
      messages: [...this.#sent, ...outgoing],
      outgoing,
      typing: [...this.#typing.keys()],
      operators: this.#operators,
      lastSeq: this.#lastSeq,
      resyncRequired: this.#resync,
    };
  }

  /**
   * Merges messages the app loaded itself (history pages), deduplicated against what is already
   * here, and clears `resyncRequired`.
   */
  addHistory(messages: readonly HistoryMessage[]): void {
    let changed = this.#resync;
    for (const message of messages) changed = this.#insert(message) || changed;
    this.#resync = false;
    if (changed) this.changed_();
  }

  /** @internal A `message_received` or `message_sent` frame. */
  receive_(message: HistoryMessage): void {
    if (message.adminId) this.typing_(message.adminId, false);
    if (this.#insert(message, true)) this.changed_();
  }

  /** @internal Another operator started or stopped typing; a start expires by itself. */
  typing_(adminId: string, typing: boolean): void {
    clearTimeout(this.#typing.get(adminId));
    const was = this.#typing.delete(adminId);
    if (typing) this.#typing.set(adminId, setTimeout(() => this.typing_(adminId, false), this.#typingTimeoutMs));
    if (was !== typing) this.changed_();
  }

  /** @internal `operators` replaces the list when the server sends it; else one id is added or removed. */
  presence_(adminId: string, present: boolean, operators: readonly string[] | undefined): void {
    const ids = new Set(operators ?? this.#operators);
    if (!operators) ids[present ? 'add' : 'delete'](adminId);
    if (!present) this.typing_(adminId, false);
    const next = [...ids];
    if (next.join('\n') === this.#operators.join('\n')) return;
    this.#operators = next;
    this.changed_();
  }

  /** @internal */
  setJoined_(joined: boolean): void {
    this.#joined = joined;
    if (!joined) this.clearSoftState_();
    this.changed_();
  }

  /** @internal The server cannot replay the gap. */
  requireResync_(): void {
    if (this.#resync) return;
    this.#resync = true;
    this.changed_();
  }

  /** @internal The connection is gone: soft state (typing, presence) does not outlive it. */
  clearSoftState_(): void {
    if (this.#typing.size + this.#operators.length === 0) return;
    for (const timer of this.#typing.values()) clearTimeout(timer);
    this.#typing.clear();
    this.#operators = [];
    this.changed_();
  }

  /**
   * Inserts in seq order, O(1) for the usual in-order arrival; false for a duplicate. An `owned`
   * message (made by the client for this call) is kept as the view's message itself, not copied.
   */
  #insert(message: HistoryMessage, owned?: boolean): boolean {
    const { seq, tempId } = message;
    const last = this.#lastSeq;
    // A message seen first without seq (plan server) and later with one keeps a single copy.
    // No array per message: this runs for every inbound message (undefined is never in the set).
    // A seq above the last one is new: only older ones are looked up.
    const seen = this.#seen as Set<unknown>;
    if (seq !== undefined && seq <= last! && seen.has(seq)) return false;
    if (seen.has(tempId)) return false;
    if (seq !== undefined) seen.add(seq);
    if (tempId !== undefined) seen.add(tempId);
    const sent = this.#sent;
    let index = sent.length;
    if (seq !== undefined) {
      if (!(seq <= last!)) this.#lastSeq = seq;
      while (index > 0 && (sent[index - 1]!.seq ?? -Infinity) > seq) index--;
    }
    // Fields assigned one by one: no spread copy (V8 adds properties to one ~10× slower) and no
    // temporary object; the client's own message objects are kept as they are.
    const stored = (owned ? message : Object.assign({}, message)) as { -readonly [K in keyof ChatMessage]: ChatMessage[K] };
    stored.key = tempId ?? (seq !== undefined ? `seq:${seq}` : `local:${++this.#localKeys}`);
    stored.conversationId = this.id;
    stored.status = 'sent';
    sent.splice(index, 0, stored);
    return true;
  }
}

// Outbox entries are immutable (a change replaces the entry), so each maps to one stable message.
const messages = new WeakMap<OutboxEntry, ChatMessage>();

function toMessage(entry: OutboxEntry): ChatMessage {
  let message = messages.get(entry);
  if (!message) {
    const { tempId, error } = entry;
    message = {
      key: tempId,
      conversationId: entry.conversationId,
      sender: 'operator',
      content: entry.message,
      tempId,
      status: entry.status,
      timestamp: new Date(entry.createdAt).toISOString(),
      error: error && new DeliveryError(error.code, error.message, tempId),
    };
    messages.set(entry, message);
  }
  return message;
}
