/**
 * Protocol v1: JSON text frames `{ type, payload, timestamp }`. Every extension beyond the seed
 * plan (`seq`, `since_seq`, `temp_id` dedup, `operators`) is optional on the wire, so the client
 * also works against a server written exactly to the plan.
 */

/** Frame types the client sends. */
export type ClientMessageType = keyof ClientPayloads;

/** Frame types the server sends. */
export type ServerMessageType = keyof ServerPayloads;

/** Close codes with a meaning in protocol v1. */
export const CloseCode = {
  NORMAL: 1000,
  GOING_AWAY: 1001,
  UNAUTHORIZED: 4001,
  POLICY: 4008,
  PROTOCOL_ERROR: 4400,
} as const;

/** A chat message body, LINE-style: `{ type: 'text', text }`, or any other typed object. */
export interface MessageContent {
  type: string;
  text?: string;
  [key: string]: unknown;
}

/** Payloads of the frames the client sends. */
export interface ClientPayloads {
  auth: { token: string };
  join_conversation: { line_user_id: string; since_seq?: number };
  leave_conversation: { line_user_id: string };
  typing_start: { line_user_id: string };
  typing_stop: { line_user_id: string };
  message_send: { line_user_id: string; message: MessageContent; temp_id: string };
  ping: Record<string, never>;
}

/** Payloads of the frames the server sends, after validation. Ids are normalized to strings. */
export interface ServerPayloads {
  auth_success: { admin_id: string; [key: string]: unknown };
  auth_error: { message?: string; code?: string; [key: string]: unknown };
  /** A customer message, to the operators in the conversation's room. */
  message_received: {
    line_user_id: string;
    message: MessageContent;
    seq?: number;
    [key: string]: unknown;
  };
  /** An operator message; to its sender it is the ack of `temp_id`. */
  message_sent: {
    admin_id: string;
    line_user_id: string;
    message: MessageContent;
    temp_id?: string;
    seq?: number;
    [key: string]: unknown;
  };
  typing_started: { admin_id: string; line_user_id: string; [key: string]: unknown };
  typing_stopped: { admin_id: string; line_user_id: string; [key: string]: unknown };
  conversation_updated: { line_user_id: string; [key: string]: unknown };
  /** `operators`, when the server sends it, is the full list of operators now present. */
  operator_joined: { admin_id: string; line_user_id: string; operators?: string[]; [key: string]: unknown };
  operator_left: { admin_id: string; line_user_id: string; operators?: string[]; [key: string]: unknown };
  pong: { [key: string]: unknown };
  error: { message?: string; code?: string; temp_id?: string; line_user_id?: string; [key: string]: unknown };
}

/** A frame on the wire. */
export interface Envelope<T extends string = string, P = unknown> {
  type: T;
  payload: P;
  /** ISO-8601. */
  timestamp: string;
}

/** Any valid server frame. Unknown types are passed through with their raw payload. */
export type ServerEnvelope =
  | { [K in ServerMessageType]: Envelope<K, ServerPayloads[K]> }[ServerMessageType]
  | Envelope<string, Record<string, unknown>>;

/** Encodes a client frame. */
export function encode(type: string, payload: unknown): string {
  return JSON.stringify({ type, payload, timestamp: new Date().toISOString() });
}

// Required fields per server type; a leading '?' marks an optional one. The field's name gives its
// kind: ids are strings or numbers (normalized to strings), `message` is a message body (a bare
// string becomes a text message) except in errors, where it is text like `code`.
const rules: Record<ServerMessageType, string> = {
  auth_success: 'admin_id',
  auth_error: '?message ?code',
  message_received: 'line_user_id message ?seq',
  message_sent: 'admin_id line_user_id message ?temp_id ?seq',
  typing_started: 'admin_id line_user_id',
  typing_stopped: 'admin_id line_user_id',
  conversation_updated: 'line_user_id',
  operator_joined: 'admin_id line_user_id ?operators',
  operator_left: 'admin_id line_user_id ?operators',
  pong: '',
  error: '?message ?code ?temp_id ?line_user_id',
};

/** Result of {@link decode}: the frame, or why it was refused. */
export type DecodeResult = { ok: true; envelope: ServerEnvelope } | { ok: false; reason: string };

/**
 * Parses and validates one inbound frame. Never throws: a bad frame yields `{ ok: false, reason }`.
 * Known types must carry their required fields; unknown types pass through (forward compatibility).
 */
export function decode(data: unknown): DecodeResult {
  if (typeof data !== 'string') return fail('not a text frame');
  let raw: unknown;
  try {
    raw = JSON.parse(data);
  } catch {
    return fail('not JSON');
  }
  if (!isObject(raw) || typeof raw.type !== 'string' || raw.type === '') {
    return fail('no "type"');
  }
  const payloadIn = raw.payload ?? {};
  if (!isObject(payloadIn)) return fail(`"${raw.type}" payload is not an object`);
  const payload: Record<string, unknown> = { ...payloadIn };
  const fields = (rules as Record<string, string | undefined>)[raw.type];
  for (const rule of fields ? fields.split(' ') : []) {
    const name = rule.replace('?', '');
    const value = payload[name];
    if (value === undefined || value === null) {
      if (name === rule) return fail(`"${raw.type}" needs "${name}"`);
      delete payload[name];
      continue;
    }
    const normalized = normalize(name, value, raw.type.startsWith('message_'));
    if (normalized === invalid) return fail(`"${raw.type}" has an invalid "${name}"`);
    payload[name] = normalized;
  }
  const timestamp = typeof raw.timestamp === 'string' ? raw.timestamp : new Date().toISOString();
  return { ok: true, envelope: { type: raw.type, payload, timestamp } as ServerEnvelope };
}

const invalid = Symbol();

function normalize(name: string, value: unknown, content: boolean): unknown {
  if (name === 'seq') return typeof value === 'number' && Number.isFinite(value) ? value : invalid;
  if (name === 'operators') {
    if (!Array.isArray(value)) return invalid;
    const ids = value.map(toId);
    return ids.includes(invalid) ? invalid : ids;
  }
  if (name.endsWith('_id')) return toId(value);
  if (name === 'message' && content) {
    if (typeof value === 'string') return { type: 'text', text: value };
    return isObject(value) && typeof value.type === 'string' ? value : invalid;
  }
  return typeof value === 'string' ? value : invalid;
}

function toId(value: unknown): string | typeof invalid {
  if (typeof value === 'string' && value !== '') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return invalid;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function fail(reason: string): DecodeResult {
  return { ok: false, reason };
}
