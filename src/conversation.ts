import { DeliveryError, LiveChatError } from './errors.js';
import type { MessageContent } from './protocol.js';
import type { OutboxEntry } from './queue.js';
import { Subscribable } from './subscribable.js';
import { RemoteTyping } from './typing.js';

/** Delivery status of a message in a conversation. Customer messages are always `sent`. */
export type MessageStatus = 'pending' | 'sent' | 'failed';

/** One message as the app renders it. */
export interface ChatMessage {
  /** Stable render key: the `temp_id` of operator messages (unchanged from pending to sent), else derived from `seq`. */
  readonly key: string;
  readonly conversationId: string;
  readonly sender: 'customer' | 'operator';
  /** The operator who wrote it (operator messages). */
  readonly adminId: string | undefined;
  readonly content: MessageContent;
  /** Per-conversation sequence number assigned by the server; absent while pending or on a server without seq. */
  readonly seq: number | undefined;
  readonly tempId: string | undefined;
  readonly status: MessageStatus;
  /** ISO-8601: the server's time for sent messages, the creation time for pending ones. */
  readonly timestamp: string;
  /** Why it failed, for `failed` messages. */
  readonly error: LiveChatError | undefined;
}

/** A message the app loaded itself, e.g. a page of history over HTTP. */
export interface HistoryMessage {
  seq?: number | undefined;
  sender: 'customer' | 'operator';
  adminId?: string | undefined;
  content: MessageContent;
  tempId?: string | undefined;
  /** ISO-8601. */
  timestamp: string;
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
  /** Other operators typing now; cleared by themselves if no stop arrives. */
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
  readonly #sent: ChatMessage[] = [];
  readonly #seen = new Set<string>();
  readonly #outgoing = new Map<string, ChatMessage>();
  readonly #typing: RemoteTyping;
  #operators: string[] = [];
  #lastSeq: number | undefined;
  #joined = false;
  #resync = false;
  #localKeys = 0;

  /** @internal Created by the client. */
  constructor(id: string, remoteTypingTimeoutMs: number) {
    super();
    this.id = id;
    this.#typing = new RemoteTyping(remoteTypingTimeoutMs, () => this.changed());
  }

  protected buildSnapshot(): ConversationSnapshot {
    const outgoing = [...this.#outgoing.values()];
    return {
      id: this.id,
      joined: this.#joined,
      messages: outgoing.length === 0 ? this.#sent.slice() : [...this.#sent, ...outgoing],
      outgoing,
      typing: this.#typing.list(),
      operators: this.#operators.slice(),
      lastSeq: this.#lastSeq,
      resyncRequired: this.#resync,
    };
  }

  /**
   * Merges messages the app loaded itself (history pages), deduplicated against what is already
   * here, and clears `resyncRequired`.
   */
  addHistory(messages: readonly HistoryMessage[]): void {
    let added = false;
    for (const message of messages) added = this.#insert(message) || added;
    if (added || this.#resync) {
      this.#resync = false;
      this.changed();
    }
  }

  /** @internal A `message_received` or `message_sent` frame; false if it was a duplicate. */
  receive(message: HistoryMessage): boolean {
    if (message.adminId !== undefined) this.#typing.stop(message.adminId);
    const added = this.#insert(message);
    if (added) this.changed();
    return added;
  }

  /** @internal Mirrors the outbox: an entry added or changed, or (undefined) gone. */
  setOutgoing(tempId: string, entry: OutboxEntry | undefined, adminId: string | undefined): void {
    if (!entry) {
      if (this.#outgoing.delete(tempId)) this.changed();
      return;
    }
    this.#outgoing.set(tempId, {
      key: tempId,
      conversationId: this.id,
      sender: 'operator',
      adminId,
      content: entry.message,
      seq: undefined,
      tempId,
      status: entry.status,
      timestamp: new Date(entry.createdAt).toISOString(),
      error: entry.error ? new DeliveryError(entry.error.code, entry.error.message, tempId) : undefined,
    });
    this.changed();
  }

  /** @internal */
  typing(adminId: string, typing: boolean): void {
    if (typing) this.#typing.start(adminId);
    else this.#typing.stop(adminId);
  }

  /** @internal `operators` replaces the list when the server sends it; else one id is added or removed. */
  presence(adminId: string, present: boolean, operators: readonly string[] | undefined): void {
    const next = operators
      ? [...new Set(operators)]
      : present
        ? this.#operators.includes(adminId)
          ? this.#operators
          : [...this.#operators, adminId]
        : this.#operators.filter((id) => id !== adminId);
    if (!present) this.#typing.stop(adminId);
    if (next.length === this.#operators.length && next.every((id, i) => id === this.#operators[i])) return;
    this.#operators = next;
    this.changed();
  }

  /** @internal */
  setJoined(joined: boolean): void {
    this.#joined = joined;
    if (!joined) this.clearSoftState();
    this.changed();
  }

  /** @internal The server cannot replay the gap. */
  requireResync(): void {
    if (this.#resync) return;
    this.#resync = true;
    this.changed();
  }

  /** @internal The connection is gone: soft state (typing, presence) does not outlive it. */
  clearSoftState(): void {
    this.#typing.clear();
    if (this.#operators.length > 0) {
      this.#operators = [];
      this.changed();
    }
  }

  /** Inserts in seq order, O(1) for the usual in-order arrival; false for a duplicate. */
  #insert(message: HistoryMessage): boolean {
    const { seq, tempId } = message;
    const id = seq !== undefined ? `s${seq}` : tempId !== undefined ? `t${tempId}` : undefined;
    if (id !== undefined && this.#seen.has(id)) return false;
    // A message seen first without seq (plan server) and later with one keeps a single copy.
    if (seq !== undefined && tempId !== undefined && this.#seen.has(`t${tempId}`)) return false;
    if (id !== undefined) this.#seen.add(id);
    if (tempId !== undefined) this.#seen.add(`t${tempId}`);
    const keyed: ChatMessage = {
      key: tempId ?? (seq !== undefined ? `seq:${seq}` : `local:${++this.#localKeys}`),
      conversationId: this.id,
      sender: message.sender,
      adminId: message.adminId,
      content: message.content,
      seq,
      tempId,
      status: 'sent',
      timestamp: message.timestamp,
      error: undefined,
    };
    if (seq !== undefined && (this.#lastSeq === undefined || seq > this.#lastSeq)) this.#lastSeq = seq;
    let index = this.#sent.length;
    if (seq !== undefined) {
      while (index > 0) {
        const before = this.#sent[index - 1]?.seq;
        if (before === undefined || before < seq) break;
        index--;
      }
    }
    this.#sent.splice(index, 0, keyed);
    return true;
  }
}
