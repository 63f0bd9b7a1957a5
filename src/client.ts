import { Conversation } from './conversation.js';
import { createEmitter, type Unsubscribe } from './emitter.js';
import { watchEnvironment } from './environment.js';
import { DeliveryError, LiveChatError, ServerError } from './errors.js';
import { Heartbeat, heartbeatDefaults } from './heartbeat.js';
import {
  type ClientMessageType,
  type ClientPayloads,
  CloseCode,
  type Envelope,
  type MessageContent,
  type ServerEnvelope,
  type ServerMessageType,
  type ServerPayloads,
  decode,
  encode,
} from './protocol.js';
import { type MessageAck, Outbox, type OutboxEntry } from './queue.js';
import { ExponentialBackoffStrategy, type ReconnectStrategy } from './reconnect.js';
import {
  type CloseEventLike,
  type LiveChatClientOptions,
  type WebSocketConstructor,
  type WebSocketLike,
  clientDefaults,
  randomId,
} from './options.js';
import { Subscribable } from './subscribable.js';
import { Timer } from './timer.js';
import { LocalTyping, typingDefaults } from './typing.js';

/** `connected` means authenticated. */
export type ConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'disconnected';

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

/** A change in the delivery of one operator message. */
export interface DeliveryUpdate {
  readonly tempId: string;
  readonly conversationId: string;
  readonly status: 'pending' | 'sent' | 'failed' | 'discarded';
  /** Set when `status` is `sent` on a server with seq. */
  readonly seq?: number;
  /** Set when `status` is `failed`. */
  readonly error?: LiveChatError;
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
  /** Your own `temp_id` (e.g. to deduplicate across tabs); must be unique. Default: a random UUID. */
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
  readonly #reconnect: ReconnectStrategy | false;
  readonly #events = createEmitter<LiveChatEvents>();
  readonly #outbox: Outbox;
  readonly #typing: LocalTyping;
  readonly #heartbeat: Heartbeat | undefined;
  readonly #conversations = new Map<string, Conversation>();
  /** Joined conversations → whether a join went out on some connection. */
  readonly #joined = new Map<string, boolean>();
  #state: ConnectionState = 'disconnected';
  #adminId: string | undefined;
  #attempt = 0;
  #nextRetryAt: number | undefined;
  #lastError: LiveChatError | undefined;
  /** The app wants a connection: between connect() and disconnect() (or a fatal error). */
  #wanted = false;
  /** Bumped for every socket and on disconnect; callbacks of an older generation are ignored. */
  #generation = 0;
  #socket: WebSocketLike | undefined;
  readonly #retryTimer = new Timer();
  readonly #connectTimer = new Timer();
  readonly #stableTimer = new Timer();
  /** A token function gets one refresh after a refusal; it is given back once a connection is stable. */
  #tokenRefreshed = false;
  #restored: Promise<void> | undefined;
  #unwatch: (() => void) | undefined;

  constructor(options: LiveChatClientOptions) {
    super();
    checkId(options?.url, 'options.url');
    this.#options = options;
    this.#reconnect = options.reconnect ?? new ExponentialBackoffStrategy();
    this.#outbox = new Outbox(options.queue ?? {}, {
      changed: ({ tempId, conversationId, status, error }, removed) => {
        this.#conversations.get(conversationId)?.refresh();
        if (!removed) {
          this.#events.emit('delivery', {
            tempId,
            conversationId,
            status,
            ...(error && { error: new DeliveryError(error.code, error.message, tempId) }),
          });
        }
        this.changed();
      },
      ackTimedOut: () => this.#heartbeat?.check(),
    });
    this.#typing = new LocalTyping({ ...typingDefaults, ...options.typing }, (type, id) =>
      this.#write(type, { line_user_id: id }),
    );
    if (options.heartbeat !== false) {
      this.#heartbeat = new Heartbeat(
        { ...heartbeatDefaults, ...options.heartbeat },
        () => this.#write('ping', {}),
        () => this.#lost(new LiveChatError('connection_failed', 'no pong: connection is dead')),
      );
    }
  }

  protected buildSnapshot(): LiveChatSnapshot {
    const entries = this.#outbox.entries();
    const pendingCount = entries.filter((entry) => entry.status === 'pending').length;
    return {
      state: this.#state,
      adminId: this.#adminId,
      reconnectAttempt: this.#attempt,
      nextRetryAt: this.#nextRetryAt,
      pendingCount,
      failedCount: entries.length - pendingCount,
      lastError: this.#lastError,
    };
  }

  /** The connection state (same as `getSnapshot().state`). */
  get state(): ConnectionState {
    return this.#state;
  }

  /**
   * Opens the connection, or keeps the one there is. While waiting to reconnect it tries at once
   * (a "Retry now" button). Safe to call in any state.
   */
  connect(): void {
    if (this.#wanted) return this.#retryNow();
    this.#wanted = true;
    this.#lastError = undefined;
    this.#tokenRefreshed = false;
    this.#outbox.activate();
    if (this.#options.watchEnvironment !== false) {
      this.#unwatch = watchEnvironment({ online: () => this.#retryNow(), check: () => this.#heartbeat?.check() });
    }
    this.#restored ??= this.#outbox.restore().catch((cause: unknown) => {
      this.#report(new LiveChatError('invalid_argument', 'outbox storage failed to load', { cause }));
    });
    void this.#open();
  }

  /**
   * Closes the connection on purpose (close code 1000): no reconnect. Every timer and listener the
   * client added is removed; unsent messages stay in the outbox for the next `connect()`.
   * Safe to call in any state.
   */
  disconnect(): void {
    this.#halt();
  }

  /** Subscribes to one event type; returns the function that unsubscribes. */
  on<K extends keyof LiveChatEvents>(type: K, handler: (event: LiveChatEvents[K]) => void): Unsubscribe {
    return this.#events.on(type, handler);
  }

  /**
   * Sends a raw frame: at once when connected, else queued until the connection is authenticated.
   * @throws {@link LiveChatError} `queue_full` when the outbox is full, `invalid_argument` for a bad type.
   */
  send<T extends ClientMessageType>(type: T, payload: ClientPayloads[T]): void {
    checkId(type, 'type');
    if (type === 'auth') throw new LiveChatError('invalid_argument', 'the client sends "auth" itself');
    this.#outbox.addFrame(type, payload);
  }

  /**
   * Sends an operator message. It shows at once as pending in `conversation(id)`, is queued while
   * offline, and is re-sent with the same `temp_id` until acked (the server deduplicates).
   * @returns the server's ack (`message_sent` with the same `temp_id`, and its `seq`)
   * @throws (rejects) {@link LiveChatError} `invalid_argument` or `queue_full` at once; later
   * {@link DeliveryError} `ack_timeout`, `ttl_expired`, `discarded` or `server_error`. A message that
   * failed after being queued stays in the conversation as `failed` until retried or discarded.
   */
  async sendMessage(conversationId: string, message: string | MessageContent, options: SendMessageOptions = {}): Promise<MessageAck> {
    const content = typeof message === 'string' ? { type: 'text', text: message } : message;
    const { type, text } = content ?? {};
    if (typeof type !== 'string' || (text !== undefined && (typeof text !== 'string' || text.trim() === ''))) {
      throw new LiveChatError('invalid_argument', 'message must be non-empty text or { type, text? }');
    }
    const tempId = options.tempId ?? (this.#options.createTempId ?? randomId)();
    checkId(tempId, 'tempId');
    this.conversation(conversationId);
    this.#typing.stop(conversationId);
    return this.#outbox.add(conversationId, content, tempId);
  }

  /** Sends a failed (or still pending) message again with its original `temp_id` and a fresh TTL. */
  async retryMessage(tempId: string): Promise<MessageAck> {
    return this.#outbox.retry(tempId);
  }

  /** Removes a pending or failed message; a pending one rejects with `discarded`. False if unknown. */
  discardMessage(tempId: string): boolean {
    const entry = this.#outbox.get(tempId);
    if (!entry) return false;
    this.#outbox.discard(tempId);
    this.#events.emit('delivery', { tempId, conversationId: entry.conversationId, status: 'discarded' });
    return true;
  }

  /** The messages waiting in the outbox (pending and failed), oldest first. */
  outbox(): OutboxEntry[] {
    return this.#outbox.entries();
  }

  /**
   * Joins a conversation's room. Membership is remembered and restored after every reconnect with
   * the last `seq` seen, so the server replays what was missed.
   */
  joinConversation(conversationId: string): void {
    const conversation = this.conversation(conversationId);
    if (this.#joined.has(conversationId)) return;
    this.#joined.set(conversationId, false);
    conversation.setJoined(true);
    if (this.#state === 'connected') this.#sendJoin(conversation);
  }

  /** Leaves a conversation's room; it is no longer restored on reconnect. */
  leaveConversation(conversationId: string): void {
    if (!this.#joined.delete(conversationId)) return;
    this.#typing.stop(conversationId);
    this.#conversations.get(conversationId)?.setJoined(false);
    this.#write('leave_conversation', { line_user_id: conversationId });
  }

  /** Tells the room this operator is typing. Call it on every keystroke: it is throttled, and stops by itself when idle. */
  startTyping(conversationId: string): void {
    checkId(conversationId, 'conversationId');
    if (this.#state === 'connected') this.#typing.start(conversationId);
  }

  /** Tells the room this operator stopped typing (also done by `sendMessage` and after the idle time). */
  stopTyping(conversationId: string): void {
    this.#typing.stop(conversationId);
  }

  /** The view of one conversation (created on first use, then the same object). */
  conversation(conversationId: string): Conversation {
    let conversation = this.#conversations.get(conversationId);
    if (!conversation) {
      checkId(conversationId, 'conversationId');
      conversation = new Conversation(
        conversationId,
        this.#options.typing?.remoteTimeoutMs ?? typingDefaults.remoteTimeoutMs,
        () => this.#outbox.entries(),
      );
      this.#conversations.set(conversationId, conversation);
    }
    return conversation;
  }

  // ---- connection lifecycle ---------------------------------------------------------------

  async #open(): Promise<void> {
    const generation = ++this.#generation;
    const current = () => generation === this.#generation;
    this.#setState(this.#attempt ? 'reconnecting' : 'connecting');
    // Covers the token fetch too: a token function that never settles does not hang the client.
    this.#connectTimer.set(
      () => this.#lost(new LiveChatError('auth_timeout', 'no auth_success in time')),
      this.#options.connectTimeoutMs ?? clientDefaults.connectTimeoutMs,
    );
    let token: string | undefined;
    try {
      await this.#restored;
      const source = this.#options.token;
      token = typeof source === 'function' ? await source() : source;
      if (token !== undefined && typeof token !== 'string') throw new TypeError('token is not a string');
    } catch (cause) {
      if (current()) this.#halt(new LiveChatError('auth_failed', 'token failed', { cause }));
      return;
    }
    if (!current()) return;
    const Socket = this.#options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (!Socket) return this.#halt(new LiveChatError('no_websocket', 'pass options.WebSocket'));
    try {
      const socket = (this.#socket = new Socket(this.#options.url));
      // Never removed: `ws` throws an 'error' event nobody listens to (e.g. when closed while connecting).
      socket.onerror = noop;
      socket.onopen = () => current() && socket.send(encode('auth', token === undefined ? {} : { token }));
      socket.onmessage = (event: { data: unknown }) => current() && this.#receive(event.data);
      socket.onclose = ({ code, reason }: CloseEventLike) => {
        if (!current()) return;
        if (code === CloseCode.UNAUTHORIZED) return this.#refused(reason);
        if (code === CloseCode.NORMAL) return this.#halt();
        const policy = code === CloseCode.POLICY || code === CloseCode.PROTOCOL_ERROR;
        this.#lost(new LiveChatError(policy ? 'closed_by_server' : 'connection_failed', `closed ${code} ${reason}`));
      };
    } catch (cause) {
      this.#lost(new LiveChatError('connection_failed', 'new WebSocket() failed', { cause }));
    }
  }

  #refused(reason: string): void {
    if (typeof this.#options.token === 'function' && !this.#tokenRefreshed) {
      // One fresh token, at once; a second refusal stops the client (no reconnect loop).
      this.#tokenRefreshed = true;
      this.#detach();
      void this.#open();
    } else {
      this.#halt(new LiveChatError('auth_failed', reason || 'unauthorized'));
    }
  }

  /** The connection is gone or given up on (dead link, timeout): reconnect per the strategy. */
  #lost(error: LiveChatError): void {
    this.#detach();
    this.#lastError = error;
    this.#report(error);
    const attempt = this.#attempt + 1;
    if (!this.#reconnect) return this.#halt();
    if (!this.#reconnect.shouldRetry(attempt)) {
      return this.#halt(new LiveChatError('reconnect_exhausted', `${this.#attempt} attempts`, { cause: error }));
    }
    const delay = Math.max(0, this.#reconnect.getDelay(attempt)) || 0;
    this.#attempt = attempt;
    this.#nextRetryAt = Date.now() + delay;
    this.#retryTimer.set(() => this.#retryNow(true), delay);
    this.#setState('reconnecting');
  }

  /** Reconnects now if a retry is scheduled (or `due`: the retry timer itself fired). */
  #retryNow(due?: boolean): void {
    if (!due && !this.#retryTimer.pending) return;
    this.#retryTimer.clear();
    this.#nextRetryAt = undefined;
    void this.#open();
  }

  /** Stops for good (disconnect, fatal error): no reconnect until the app calls connect(). */
  #halt(error?: LiveChatError): void {
    const active = this.#wanted;
    this.#wanted = false;
    this.#detach();
    this.#retryTimer.clear();
    this.#nextRetryAt = undefined;
    this.#attempt = 0;
    // A fatal stop (auth refused, reconnect given up) cannot deliver: pending messages fail, and
    // stay as failed for a retry. An intentional disconnect keeps them pending for the next connect().
    if (error) for (const { tempId } of this.#outbox.entries()) this.#outbox.fail(tempId, new DeliveryError(error.code, error.message, tempId, { cause: error }));
    this.#outbox.deactivate();
    this.#unwatch?.();
    this.#unwatch = undefined;
    if (error) {
      this.#lastError = error;
      this.#report(error);
    }
    if (active) this.#setState('disconnected');
  }

  /** Forgets the current socket: its callbacks become no-ops, it is closed, soft state is cleared. */
  #detach(): void {
    this.#generation++;
    this.#connectTimer.clear();
    this.#stableTimer.clear();
    this.#heartbeat?.stop();
    this.#outbox.offline();
    this.#typing.reset();
    for (const conversation of this.#conversations.values()) conversation.clearSoftState();
    const socket = this.#socket;
    this.#socket = undefined;
    if (socket) {
      socket.onopen = socket.onmessage = socket.onclose = null;
      try {
        socket.close(CloseCode.NORMAL);
      } catch {
        // some implementations refuse close() while still connecting: the socket is dropped anyway
      }
    }
  }

  /** Sets the state and tells subscribers (always: other snapshot fields may have changed with it). */
  #setState(state: ConnectionState): void {
    const previous = this.#state;
    this.#state = state;
    this.changed();
    if (previous !== state) this.#events.emit('state', { previous, current: state });
  }

  // ---- frames ------------------------------------------------------------------------------

  #write<T extends ClientMessageType>(type: T, payload: ClientPayloads[T]): void;
  #write(type: string, payload: unknown): void;
  #write(type: string, payload: unknown): void {
    if (this.#state !== 'connected') return;
    try {
      this.#socket?.send(encode(type, payload));
    } catch (cause) {
      // The socket is closing; its close event follows and pending messages are re-sent after it.
      this.#report(new LiveChatError('connection_failed', `send(${type}) failed`, { cause }));
    }
  }

  /**
   * Joins with `since_seq`: the highest seq seen, or 0 when the conversation was already joined on
   * an earlier connection but saw no event yet, so that events of an outage are never missed.
   */
  #sendJoin({ id, getSnapshot }: Conversation): void {
    const sinceSeq = getSnapshot().lastSeq ?? (this.#joined.get(id) ? 0 : undefined);
    this.#joined.set(id, true);
    this.#write('join_conversation', sinceSeq === undefined ? { line_user_id: id } : { line_user_id: id, since_seq: sinceSeq });
  }

  #receive(data: unknown): void {
    this.#heartbeat?.alive();
    const result = decode(data);
    if (!result.ok) return this.#report(new LiveChatError('invalid_frame', result.reason));
    const envelope = result.envelope;
    // Narrowed by hand: `type` of the catch-all envelope is `string`, so the union does not narrow.
    const frame = envelope as { [K in ServerMessageType]: Envelope<K, ServerPayloads[K]> }[ServerMessageType];
    const { type, payload, timestamp } = frame;
    const conversation = this.#conversations.get(payload.line_user_id as string);
    switch (frame.type) {
      case 'auth_success':
        if (this.#state !== 'connected') this.#authenticated(frame.payload.admin_id);
        break;
      case 'auth_error':
        this.#refused(frame.payload.message ?? 'auth_error');
        break;
      case 'message_received':
      case 'message_sent': {
        const { admin_id: adminId, seq, temp_id: tempId, message } = frame.payload as ServerPayloads['message_sent'];
        conversation?.receive({ sender: adminId ? 'operator' : 'customer', adminId, content: message, seq, tempId, timestamp });
        const entry = tempId !== undefined ? this.#outbox.get(tempId) : undefined;
        const conversationId = frame.payload.line_user_id;
        if (type === 'message_sent' && entry?.conversationId === conversationId) {
          this.#outbox.ack({ tempId: entry.tempId, conversationId, seq, adminId, message, timestamp });
          this.#events.emit('delivery', { tempId: entry.tempId, conversationId, status: 'sent', ...(seq !== undefined && { seq }) });
        }
        break;
      }
      case 'typing_started':
      case 'typing_stopped':
        // A server to the plan echoes typing to its sender.
        if (frame.payload.admin_id !== this.#adminId) conversation?.typing(frame.payload.admin_id, type === 'typing_started');
        break;
      case 'operator_joined':
      case 'operator_left':
        conversation?.presence(frame.payload.admin_id, type === 'operator_joined', frame.payload.operators);
        break;
      case 'error': {
        const { message, code, temp_id: tempId, line_user_id: id } = frame.payload;
        const error = new ServerError(message ?? code ?? 'server error', code, tempId);
        if (code === 'replay_unavailable' && id !== undefined) {
          conversation?.requireResync();
          this.#events.emit('resync', { conversationId: id });
        }
        if (tempId !== undefined) this.#outbox.fail(tempId, new DeliveryError('server_error', error.message, tempId, { cause: error }));
        this.#report(error);
      }
    }
    this.#events.emit('message', envelope);
    if (type !== 'error') this.#events.emit(type, payload as never);
  }

  #authenticated(adminId: string): void {
    this.#connectTimer.clear();
    this.#adminId = adminId;
    this.#lastError = undefined;
    this.#stableTimer.set(() => {
      this.#tokenRefreshed = false;
      if (this.#attempt === 0) return;
      this.#attempt = 0;
      this.changed();
    }, this.#options.stableAfterMs ?? clientDefaults.stableAfterMs);
    this.#setState('connected');
    this.#heartbeat?.start();
    for (const id of this.#joined.keys()) this.#sendJoin(this.conversation(id));
    this.#outbox.online((type, payload) => this.#write(type, payload));
  }

  #report(error: LiveChatError): void {
    this.#events.emit('error', error);
  }
}

function noop(): void {}

function checkId(value: unknown, name: string): asserts value is string {
  if (typeof value !== 'string' || value === '') {
    throw new LiveChatError('invalid_argument', `${name} must be a non-empty string`);
  }
}
