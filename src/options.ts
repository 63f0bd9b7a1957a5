import type { HeartbeatOptions } from './heartbeat.js';
import type { QueueOptions } from './queue.js';
import type { ReconnectStrategy } from './reconnect.js';
import type { TypingOptions } from './typing.js';

/** The close event fields the client reads. */
export interface CloseEventLike {
  readonly code: number;
  readonly reason: string;
}

/**
 * The part of the WebSocket API the client uses. The browser's `WebSocket`, the `ws` package's
 * and mock-socket's all satisfy it.
 */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((this: never, event: never) => unknown) | null;
  onmessage: ((this: never, event: never) => unknown) | null;
  onclose: ((this: never, event: never) => unknown) | null;
  onerror: ((this: never, event: never) => unknown) | null;
}

/** A WebSocket constructor: `globalThis.WebSocket`, `ws`'s `WebSocket`, mock-socket's `WebSocket`. */
export type WebSocketConstructor = new (url: string) => WebSocketLike;

/** Supplies the auth token: a string, or a function called on every (re)connect so an expired token is never reused. */
export type TokenSource = string | (() => string | Promise<string>);

/** Options of {@link LiveChatClient}. Only `url` is required. */
export interface LiveChatClientOptions {
  /** WebSocket URL, e.g. `wss://example.com/api/v1/ws/live-chat`. The token is not put in it. */
  url: string;
  /**
   * Sent in the `auth` frame, the first frame of every connection. When it is a function and the
   * server refuses it, it is called once more for a fresh token before the client gives up.
   */
  token?: TokenSource;
  /**
   * The WebSocket implementation.
   * @default globalThis.WebSocket, looked up at connect time
   */
  WebSocket?: WebSocketConstructor;
  /**
   * When and whether to reconnect after the connection is lost; `false` never reconnects.
   * @default new ExponentialBackoffStrategy() (full jitter, 1 s doubling up to 30 s, no attempt limit)
   */
  reconnect?: ReconnectStrategy | false;
  /**
   * Ping interval and pong timeout that detect dead (half-open) connections; `false` turns them off.
   * @default { intervalMs: 25000, timeoutMs: 10000 }
   */
  heartbeat?: HeartbeatOptions | false;
  /** Outbound queue: bound, ack timeout, retries, TTL, storage. */
  queue?: QueueOptions;
  /** Typing indicator timings. */
  typing?: TypingOptions;
  /**
   * From creating the socket to `auth_success`: a connection that takes longer is dropped and retried.
   * @default 10000
   */
  connectTimeoutMs?: number;
  /**
   * A connection must stay authenticated this long before the reconnect attempt counter resets,
   * so a server that accepts and drops at once still meets a growing backoff.
   * @default 5000
   */
  stableAfterMs?: number;
  /**
   * Reconnect at once on the browser's `online` event and check liveness on `offline` and when a
   * hidden tab becomes visible.
   * @default true
   */
  watchEnvironment?: boolean;
  /**
   * Makes the `temp_id` of each message.
   * @default a UUIDv7 (time-ordered: milliseconds, then a counter, then random bits drawn once per client with crypto.randomUUID, or Math.random in insecure contexts)
   */
  createTempId?: () => string;
}
