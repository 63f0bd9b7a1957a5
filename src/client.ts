import { type ConnectionState, type Connection, createConnection } from './connection.js';
import { Conversation } from './conversation.js';
import { createEmitter, type Unsubscribe } from './emitter.js';
import { LiveChatError, ServerError } from './errors.js';
import { createIdMaker } from './ids.js';
import type { LiveChatClientOptions } from './options.js';
import type {
  ClientMessageType,
  ClientPayloads,
  MessageContent,
  ServerEnvelope,
  ServerMessageType,
  ServerPayloads,
} from './protocol.js';
import { type DeliveryUpdate, type MessageAck, type Outbox, type OutboxEntry, createOutbox } from './queue.js';
import { Subscribable } from './subscribable.js';
import { type LocalTyping, createLocalTyping } from './typing.js';

/** Immutable client state, for `getSnapshot()`; a new object only when something in it changed. */
export interface LiveChatSnapshot {
  readonly state: ConnectionState;
  /** The operator id the server authenticated, once connected. */
  readonly adminId: string | undefined;
  /** Reconnect attempts since the last stable connection (0 when stable). */
  readonly reconnectAttempt: number;
  /** Epoch milliseconds of the next reconnect attempt, while waiting for it. */
  readonly nextRetryAt: number | undefined;
  /** Operator messages waiting for their ack. */
  readonly pendingCount: number;
  /** Operator messages that failed and wait for the app to retry or discard them. */
  readonly failedCount: number;
  /** The last error that affected the connection; cleared by a successful authentication. */
  readonly lastError: LiveChatError | undefined;
}

/** Events of {@link LiveChatClient.on}: each server frame type by name (its validated payload), plus the ones below. */
export type LiveChatEvents = {
  [K in Exclude<ServerMessageType, 'error'>]: ServerPayloads[K];
} & {
  /** The connection state changed. */
  state: { previous: ConnectionState; current: ConnectionState };
  /** Any valid inbound frame, including types this version does not know. */
  message: ServerEnvelope;
  /** An operator message became pending, sent, failed or discarded. */
  delivery: DeliveryUpdate;
  /** Server `error` frames (as {@link ServerError}), invalid frames, connection and auth failures. Never thrown. */
  error: LiveChatError;
  /** The server could not replay what a conversation missed: reload its history. */
  resync: { conversationId: string };
};

/** Options of {@link LiveChatClient.sendMessage}. */
export interface SendMessageOptions {
  /** Your own `temp_id` (e.g. to deduplicate across tabs); must be unique. Default: from `createTempId` (a UUIDv7). */
  tempId?: string;
}

/**
 * The live-chat client: one WebSocket, authenticated by the first frame, reconnected with backoff,
 * watched by a heartbeat, with an outbound queue that delivers every operator message exactly
 * once in effect, and conversations that resume from their last `seq` after every reconnect.
 *
 * @example
 * ```ts
 * const client = new LiveChatClient({ url: 'wss://example.com/api/v1/ws/live-chat', token: getToken });
 * client.connect();
 * client.joinConversation('U123');
 * await client.sendMessage('U123', 'Hello!'); // resolves with the server's ack
 * ```
 */
export class LiveChatClient extends Subscribable<LiveChatSnapshot> {
  readonly #options: LiveChatClientOptions;
  readonly #events = createEmitter<LiveChatEvents>();
  readonly #conversations = new Map<string, Conversation>();
  /** Joined conversations: whether a join went out on some connection, and how many joins hold it. */
  readonly #joined = new Map<string, { sent: boolean; holds: number }>();
  readonly #outbox: Outbox;
  readonly #typing: LocalTyping;
  readonly #connection: Connection;
  readonly #newId: () => string;

  constructor(options: LiveChatClientOptions) {
    super();
    checkId(options?.url, 'options.url');
    this.#options = options;
    this.#newId = options.createTempId ?? createIdMaker();
    this.#outbox = createOutbox(
      options.queue,
      (update) => {
        this.#conversations.get(update.conversationId)?.changed_();
        this.#events.emit('delivery', update);
        this.changed_();
      },
      () => this.#connection.check_(),
    );
    this.#typing = createLocalTyping(options.typing, (type, id) => this.#connection.write_(type, { line_user_id: id }));
    this.#connection = createConnection(options, this.#events, this.#outbox, {
      frame_: (envelope) => this.#receive(envelope),
      online_: () => {
        for (const id of this.#joined.keys()) this.#sendJoin(id);
      },
      offline_: () => {
        this.#typing.reset_();
        for (const conversation of this.#conversations.values()) conversation.clearSoftState_();
      },
      changed_: () => this.changed_(),
    });
  }

  /** @internal */
  protected buildSnapshot_(): LiveChatSnapshot {
    const [pendingCount, failedCount] = this.#outbox.counts_();
    const { lastError, ...status } = this.#connection.status_();
    return { ...status, pendingCount, failedCount, lastError };
  }

  /** The connection state (same as `getSnapshot().state`). */
  get state(): ConnectionState {
    return this.getSnapshot().state;
  }

  /**
   * Opens the connection, or keeps the one there is. While waiting to reconnect it tries at once
   * (a "Retry now" button). Safe to call in any state.
   */
  connect(): void {
    this.#connection.connect_();
  }

  /**
   * Closes the connection on purpose (close code 1000): no reconnect. Every timer and listener the
   * client added is removed; unsent messages stay in the outbox for the next `connect()`.
   * Safe to call in any state.
   */
  disconnect(): void {
    this.#connection.disconnect_();
  }

  /** Subscribes to one event type; returns the function that unsubscribes. */
  on<K extends keyof LiveChatEvents>(type: K, handler: (event: LiveChatEvents[K]) => void): Unsubscribe {
    return this.#events.on(type, handler);
  }

  /**
   * Sends a raw frame: at once when connected, else queued until the connection is authenticated.
   * @throws `LiveChatError` `queue_full` when the outbox is full, `invalid_argument` for a bad type.
   */
  send<T extends ClientMessageType>(type: T, payload: ClientPayloads[T]): void {
    checkId(type, 'type');
    if (type === 'auth') throw new LiveChatError('invalid_argument', 'the client sends "auth" itself');
    this.#outbox.addFrame_(type, payload);
  }

  /**
   * Sends an operator message. It shows at once as pending in `conversation(id)` (and, once
   * acked, as sent in a view opened before the ack), is queued while
   * offline, and is re-sent with the same `temp_id` until acked (the server deduplicates).
   * @returns the server's ack (`message_sent` with the same `temp_id`, and its `seq`)
   * @throws (rejects) `LiveChatError` `invalid_argument` or `queue_full` at once; later
   * `DeliveryError` `ack_timeout`, `ttl_expired`, `discarded` or `server_error`. A message that
   * failed after being queued stays in the conversation as `failed` until retried or discarded.
   */
  sendMessage(conversationId: string, message: string | MessageContent, options: SendMessageOptions = {}): Promise<MessageAck> {
    // Not `async`: the outbox's Promise is returned as is (an async wrapper would add a Promise and
    // two microtask turns per message); a bad argument still rejects instead of throwing.
    try {
      return this.#add(conversationId, message, options);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #add(conversationId: string, message: string | MessageContent, options: SendMessageOptions): Promise<MessageAck> {
    const content = typeof message === 'string' ? { type: 'text', text: message } : message;
    const { type, text } = content ?? {};
    if (typeof type !== 'string' || (typeof text === 'string' ? !text.trim() : text !== undefined)) {
      throw new LiveChatError('invalid_argument', 'message must be non-empty text or { type, text? }');
    }
    const tempId = options.tempId ?? this.#newId();
    checkId(tempId, 'tempId');
    checkId(conversationId, 'conversationId');
    this.#typing.stop_(conversationId);
    return this.#outbox.add_(conversationId, content, tempId);
  }

  /** Sends a failed (or still pending) message again with its original `temp_id` and a fresh TTL. */
  async retryMessage(tempId: string): Promise<MessageAck> {
    return this.#outbox.retry_(tempId);
  }

  /** Removes a pending or failed message; a pending one rejects with `discarded`. False if unknown. */
  discardMessage(tempId: string): boolean {
    return this.#outbox.discard_(tempId);
  }

  /** The messages waiting in the outbox (pending and failed), oldest first. */
  outbox(): OutboxEntry[] {
    return this.#outbox.entries_();
  }

  /**
   * Joins a conversation's room. Membership is remembered and restored after every reconnect with
   * the last `seq` seen, so the server replays what was missed.
   *
   * Joins are counted: the returned function releases this one join, and the room is left when
   * the last join is released (so several components can share a conversation). It does nothing
   * after the first call. `leaveConversation` leaves at once, whatever the count.
   */
  joinConversation(conversationId: string): () => void {
    const conversation = this.conversation(conversationId);
    let membership = this.#joined.get(conversationId);
    if (!membership) {
      this.#joined.set(conversationId, (membership = { sent: false, holds: 0 }));
      conversation.setJoined_(true);
      if (this.state === 'connected') this.#sendJoin(conversationId);
    }
    membership.holds++;
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      if (this.#joined.get(conversationId) === membership && --membership.holds === 0) this.leaveConversation(conversationId);
    };
  }

  /** Leaves a conversation's room at once, whatever the number of joins; it is no longer restored on reconnect. */
  leaveConversation(conversationId: string): void {
    if (!this.#joined.delete(conversationId)) return;
    this.#typing.stop_(conversationId);
    this.#conversations.get(conversationId)?.setJoined_(false);
    this.#connection.write_('leave_conversation', { line_user_id: conversationId });
  }

  /** Tells the room this operator is typing. Call it on every keystroke: it is throttled, and stops by itself when idle. */
  startTyping(conversationId: string): void {
    checkId(conversationId, 'conversationId');
    if (this.state === 'connected') this.#typing.start_(conversationId);
  }

  /** Tells the room this operator stopped typing (also done by `sendMessage` and after the idle time). */
  stopTyping(conversationId: string): void {
    this.#typing.stop_(conversationId);
  }

  /**
   * The view of one conversation: created on first use, then the same object. It keeps the
   * messages that arrive while it exists (and those given to `addHistory`); pending and failed
   * messages of the outbox always show in it. `joinConversation` opens it (it tracks the last
   * `seq` for replays); `sendMessage` alone does not, so sending into conversations nobody views
   * keeps no messages in memory.
   */
  conversation(conversationId: string): Conversation {
    let conversation = this.#conversations.get(conversationId);
    if (!conversation) {
      checkId(conversationId, 'conversationId');
      conversation = new Conversation(conversationId, this.#options.typing?.remoteTimeoutMs ?? 8000, this.#outbox.entries_);
      this.#conversations.set(conversationId, conversation);
    }
    return conversation;
  }

  /**
   * Joins with `since_seq`: the highest seq seen, or 0 when the conversation was already joined on
   * an earlier connection but saw no event yet, so that events of an outage are never missed.
   * (`JSON.stringify` leaves out an undefined `since_seq`.)
   */
  #sendJoin(id: string): void {
    const membership = this.#joined.get(id)!;
    const sinceSeq = this.conversation(id).getSnapshot().lastSeq ?? (membership.sent ? 0 : undefined);
    membership.sent = true;
    this.#connection.write_('join_conversation', { line_user_id: id, since_seq: sinceSeq });
  }

  /** A valid frame from the server, other than the authentication ones. */
  #receive({ type, payload, timestamp }: ServerEnvelope): void {
    // Each field is validated by `decode` for the types that carry it (and only read for those).
    const { admin_id: adminId, line_user_id: id, seq, temp_id: tempId, message, code, operators } = payload as AnyPayload;
    const conversation = this.#conversations.get(id);
    switch (type) {
      case 'message_received':
      case 'message_sent':
        conversation?.receive_({ sender: adminId ? 'operator' : 'customer', adminId, content: message, seq, tempId, timestamp });
        // The outbox ignores a missing or unknown temp_id (another operator's message).
        if (type === 'message_sent') this.#outbox.ack_({ tempId: tempId!, conversationId: id, seq, adminId, message, timestamp });
        break;
      case 'typing_started':
      case 'typing_stopped':
        // A server to the plan echoes typing to its sender.
        if (adminId !== this.getSnapshot().adminId) conversation?.typing_(adminId, type === 'typing_started');
        break;
      case 'operator_joined':
      case 'operator_left':
        conversation?.presence_(adminId, type === 'operator_joined', operators);
        break;
      case 'error': {
        const { message: text } = payload as ServerPayloads['error'];
        const error = new ServerError(text ?? code ?? 'server error', code, tempId);
        if (code === 'replay_unavailable' && id !== undefined) {
          conversation?.requireResync_();
          this.#events.emit('resync', { conversationId: id });
        }
        if (tempId !== undefined) this.#outbox.fail_(tempId, 'server_error', error.message, error);
        this.#events.emit('error', error);
      }
    }
  }
}

/** The payload fields the client reads; `decode` validated each one for the frame types that carry it. */
interface AnyPayload {
  admin_id: string;
  line_user_id: string;
  seq?: number;
  temp_id?: string;
  /** A message body in `message_*` frames; text in `error` frames. */
  message: MessageContent;
  code?: string;
  operators?: string[];
}

function checkId(value: unknown, name: string): asserts value is string {
  if (typeof value !== 'string' || value === '') {
    throw new LiveChatError('invalid_argument', `${name} must be a non-empty string`);
  }
}
