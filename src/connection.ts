import type { Emitter } from './emitter.js';
import type { LiveChatEvents } from './client.js';
import { watchEnvironment } from './environment.js';
import { LiveChatError } from './errors.js';
import { createHeartbeat } from './heartbeat.js';
import type { CloseEventLike, LiveChatClientOptions, WebSocketConstructor, WebSocketLike } from './options.js';
import { type ClientMessageType, type ClientPayloads, type ServerEnvelope, decode, encode } from './protocol.js';
import type { Outbox, RateLimit } from './queue.js';
import { ExponentialBackoffStrategy } from './reconnect.js';
import { createTimer } from './timer.js';

/** `connected` means authenticated. */
export type ConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'disconnected';

/** The connection's part of the client snapshot. */
export interface ConnectionStatus {
  state: ConnectionState;
  adminId: string | undefined;
  reconnectAttempt: number;
  nextRetryAt: number | undefined;
  lastError: LiveChatError | undefined;
}

/** What the connection tells the client it serves. */
export interface ConnectionHooks {
  /** A valid frame other than `auth_success` and `auth_error`. */
  frame_(envelope: ServerEnvelope): void;
  /** Authenticated: frames can go out (the outbox is flushed right after). */
  online_(): void;
  /** The socket is gone. */
  offline_(): void;
  /** Something in the status changed. */
  changed_(): void;
}

/**
 * One WebSocket at a time and its lifecycle: auth, state machine, reconnect, heartbeat, and the
 * outbox it delivers. (Members ending in `_` are internal: see tsup.config.ts.)
 */
export interface Connection {
  connect_(): void;
  disconnect_(): void;
  /** Sends a frame now if authenticated; dropped otherwise (callers queue what must not be lost). */
  write_<T extends ClientMessageType>(type: T, payload: ClientPayloads[T]): void;
  write_(type: string, payload: unknown): void;
  /** Checks liveness at once with a ping (when a heartbeat runs). */
  check_(): void;
  status_(): ConnectionStatus;
}

export function createConnection(
  options: LiveChatClientOptions,
  events: Emitter<LiveChatEvents>,
  outbox: Outbox,
  hooks: ConnectionHooks,
): Connection {
  const reconnect = options.reconnect ?? new ExponentialBackoffStrategy();
  // One deadline at a time: the connect timeout, then the stability delay; between sockets, the retry.
  const timer = createTimer();
  let state: ConnectionState = 'disconnected';
  let adminId: string | undefined;
  let attempt = 0;
  /** Set exactly while a retry is scheduled. */
  let nextRetryAt: number | undefined;
  let lastError: LiveChatError | undefined;
  /** The app wants a connection: between connect() and disconnect() (or a fatal error). */
  let wanted = false;
  /** Bumped for every socket and on disconnect: an attempt resuming from an await after that gives up. */
  let generation = 0;
  let socket: WebSocketLike | undefined;
  /** A token function gets one refresh after a refusal; it is given back once a connection is stable. */
  let tokenRefreshed = false;
  /** The outbox restored from storage (once): nothing is sent before. */
  let ready: Promise<void> | undefined;
  let unwatch: (() => void) | undefined;

  const report = (error: LiveChatError) => events.emit('error', error);
  const setError = (error: LiveChatError) => {
    lastError = error;
    report(error);
  };

  const heartbeat = createHeartbeat(
    options.heartbeat,
    () => write('ping', {}),
    () => lost(new LiveChatError('connection_failed', 'no pong')),
  );

  function setState(next: ConnectionState): void {
    const previous = state;
    state = next;
    // Always: other status fields may have changed with it.
    hooks.changed_();
    if (previous !== next) events.emit('state', { previous, current: next });
  }

  async function open(): Promise<void> {
    const current = ++generation;
    // Covers the token fetch too: a token function that never settles does not hang the client.
    timer.set_(() => lost(new LiveChatError('auth_timeout', 'no auth_success in time')), options.connectTimeoutMs ?? 10_000);
    setState(attempt ? 'reconnecting' : 'connecting');
    let token: string | undefined;
    try {
      await ready;
      const source = options.token;
      token = typeof source === 'function' ? await source() : source;
      if (token !== undefined && typeof token !== 'string') throw new TypeError('token is not a string');
    } catch (cause) {
      if (current === generation) halt(new LiveChatError('auth_failed', 'token failed', { cause }));
      return;
    }
    if (current !== generation) return;
    const Socket = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (!Socket) return halt(new LiveChatError('no_websocket', 'pass options.WebSocket'));
    try {
      // detach() unhooks these handlers before the socket is replaced or dropped.
      const opened = (socket = new Socket(options.url));
      // Never removed: `ws` throws an 'error' event nobody listens to (e.g. when closed while connecting).
      opened.onerror = noop;
      opened.onopen = () => opened.send(encode('auth', { token }));
      opened.onmessage = (event: { data: unknown }) => receive(event.data);
      opened.onclose = ({ code, reason }: CloseEventLike) => {
        // Literals rather than CloseCode's members: a minifier keeps property names.
        if (code === 4001 /* UNAUTHORIZED */) return refused(reason);
        if (code === 1000 /* NORMAL */) return halt();
        const policy = code === 4008 /* POLICY */ || code === 4400; /* PROTOCOL_ERROR */
        lost(new LiveChatError(policy ? 'closed_by_server' : 'connection_failed', `closed ${code} ${reason}`));
      };
    } catch (cause) {
      lost(new LiveChatError('connection_failed', 'new WebSocket() failed', { cause }));
    }
  }

  function refused(reason: string): void {
    if (typeof options.token === 'function' && !tokenRefreshed) {
      // One fresh token, at once; a second refusal stops the client (no reconnect loop).
      tokenRefreshed = true;
      detach();
      void open();
    } else {
      halt(new LiveChatError('auth_failed', reason || 'unauthorized'));
    }
  }

  /** The connection is gone or given up on (dead link, timeout): reconnect per the strategy. */
  function lost(error: LiveChatError): void {
    detach();
    setError(error);
    const next = attempt + 1;
    if (!reconnect) return halt();
    if (!reconnect.shouldRetry(next)) {
      return halt(new LiveChatError('reconnect_exhausted', `${attempt} attempts`, { cause: error }));
    }
    const delay = Math.max(0, reconnect.getDelay(next)) || 0;
    attempt = next;
    nextRetryAt = Date.now() + delay;
    timer.set_(retryNow, delay);
    setState('reconnecting');
  }

  /** Reconnects now if a retry is scheduled. */
  function retryNow(): void {
    if (nextRetryAt === undefined) return;
    nextRetryAt = undefined;
    void open();
  }

  /** Stops for good (disconnect, fatal error): no reconnect until the app calls connect(). */
  function halt(error?: LiveChatError): void {
    const active = wanted;
    wanted = false;
    detach();
    nextRetryAt = undefined;
    attempt = 0;
    // A fatal stop (auth refused, reconnect given up) cannot deliver: pending messages fail, and
    // stay as failed for a retry. An intentional disconnect keeps them pending for the next connect().
    outbox.deactivate_(error);
    unwatch?.();
    unwatch = undefined;
    if (error) setError(error);
    if (active) setState('disconnected');
  }

  /** Forgets the current socket: its handlers are unhooked, it is closed, soft state is cleared. */
  function detach(): void {
    generation++;
    timer.clear_();
    heartbeat.stop_();
    outbox.online_();
    hooks.offline_();
    const closing = socket;
    socket = undefined;
    if (closing) {
      closing.onopen = closing.onmessage = closing.onclose = null;
      try {
        closing.close(1000);
      } catch {
        // some implementations refuse close() while still connecting: the socket is dropped anyway
      }
    }
  }

  function write(type: string, payload: unknown): void {
    if (state !== 'connected') return;
    try {
      socket?.send(encode(type, payload));
    } catch (cause) {
      // The socket is closing; its close event follows and pending messages are re-sent after it.
      report(new LiveChatError('connection_failed', `send(${type}) failed`, { cause }));
    }
  }

  function receive(data: unknown): void {
    heartbeat.alive_();
    let envelope: ServerEnvelope;
    try {
      envelope = decode(data);
    } catch (error) {
      return report(error as LiveChatError);
    }
    const { type, payload } = envelope;
    if (type === 'auth_success') {
      if (state !== 'connected') authenticated(payload.admin_id as string, payload.rate_limit);
    } else if (type === 'auth_error') {
      refused((payload.message as string | undefined) ?? 'auth_error');
    } else {
      hooks.frame_(envelope);
    }
    events.emit('message', envelope);
    if (type !== 'error') events.emit(type as keyof LiveChatEvents, payload as never);
  }

  /** `limit`: the server's rate limit, if it announced one; the outbox paces under it. */
  function authenticated(id: string, limit: unknown): void {
    adminId = id;
    lastError = undefined;
    timer.set_(() => {
      tokenRefreshed = false;
      if (attempt === 0) return;
      attempt = 0;
      hooks.changed_();
    }, options.stableAfterMs ?? 5_000);
    setState('connected');
    heartbeat.start_();
    hooks.online_();
    outbox.online_(write, limit as RateLimit | undefined);
  }

  return {
    connect_() {
      if (wanted) return retryNow();
      wanted = true;
      lastError = undefined;
      tokenRefreshed = false;
      if (options.watchEnvironment !== false) unwatch = watchEnvironment({ online_: retryNow, check_: heartbeat.check_ });
      outbox.activate_();
      ready ??= outbox.restore_().catch((cause: unknown) => {
        report(new LiveChatError('invalid_argument', 'outbox storage failed to load', { cause }));
      });
      void open();
    },
    disconnect_: () => halt(),
    write_: write,
    check_: heartbeat.check_,
    status_: () => ({ state, adminId, reconnectAttempt: attempt, nextRetryAt, lastError }),
  };
}

function noop(): void {}
