/**
 * Every error this SDK raises or rejects with is a {@link LiveChatError} with a stable `code`.
 */
export type LiveChatErrorCode =
  /** A method was called with an argument it cannot use. */
  | 'invalid_argument'
  /** The outbound queue is full; nothing was dropped, the new item was refused. */
  | 'queue_full'
  /** The server refused the token (`auth_error` or close code 4001), or the token function threw. */
  | 'auth_failed'
  /** No `auth_success` arrived within `connectTimeoutMs` of the connection attempt. */
  | 'auth_timeout'
  /** The reconnect strategy gave up. */
  | 'reconnect_exhausted'
  /** No WebSocket implementation was given and none exists globally. */
  | 'no_websocket'
  /** The socket could not be created or closed abnormally. */
  | 'connection_failed'
  /** An inbound frame did not parse or validate. */
  | 'invalid_frame'
  /** The server answered with an `error` frame. */
  | 'server_error'
  /** A message got no ack after all of its retries. */
  | 'ack_timeout'
  /** A message outlived its time-to-live before being acked. */
  | 'ttl_expired'
  /** The app discarded a message that was still pending. */
  | 'discarded'
  /** The server closed the connection with a policy (4008) or protocol (4400) code. */
  | 'closed_by_server';

/** Base class of every error the SDK raises. Test with {@link isLiveChatError} or `instanceof`. */
export class LiveChatError extends Error {
  override name = 'LiveChatError';
  // `declare`: assigned in the constructor, so no class-field definition is emitted for it.
  /** Stable, machine-readable reason. */
  declare readonly code: LiveChatErrorCode;

  constructor(code: LiveChatErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** The server answered with an `error` frame (`code` is `'server_error'`, `serverCode` is the server's). */
export class ServerError extends LiveChatError {
  override name = 'ServerError';
  /** The code the server put in its `error` payload, if any. */
  declare readonly serverCode: string | undefined;
  /** The `temp_id` of the message the error is about, if any. */
  declare readonly tempId: string | undefined;

  constructor(message: string, serverCode?: string, tempId?: string) {
    super('server_error', message);
    this.serverCode = serverCode;
    this.tempId = tempId;
  }
}

/** An outbound message could not be delivered (`ack_timeout`, `ttl_expired`, `discarded`, `server_error`). */
export class DeliveryError extends LiveChatError {
  override name = 'DeliveryError';
  /** The `temp_id` of the message that failed. */
  declare readonly tempId: string;

  constructor(code: LiveChatErrorCode, message: string, tempId: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.tempId = tempId;
  }
}

/** True when `value` is an error raised by this SDK, optionally with the given code. */
export function isLiveChatError(value: unknown, code?: LiveChatErrorCode): value is LiveChatError {
  return value instanceof LiveChatError && (code === undefined || value.code === code);
}
