import { LiveChatError } from './errors.js';

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
  return JSON.stringify({ type, payload, timestamp: isoNow() });
}

let isoAt = NaN;
let iso = '';

/**
 * The current time, ISO-8601, formatted once per millisecond: `toISOString` costs about as much as
 * the rest of a frame's encoding, and a busy client sends many frames within one millisecond.
 */
export function isoNow(): string {
  const now = Date.now();
  if (now !== isoAt) iso = new Date((isoAt = now)).toISOString();
  return iso;
}

// Required fields per server type; a leading '?' marks an optional one. The field's name gives its
// kind: ids are strings or numbers (normalized to strings), `message` is a message body (a bare
// string becomes a text message) except in errors, where it is text like `code`. Types without
// fields (`pong`) and unknown types only need an object payload.
const rules: Partial<Record<ServerMessageType, string>> = {
  auth_success: 'admin_id',
  auth_error: '?message ?code',
  message_received: 'line_user_id message ?seq',
  message_sent: 'admin_id line_user_id message ?temp_id ?seq',
  typing_started: 'admin_id line_user_id',
  typing_stopped: 'admin_id line_user_id',
  conversation_updated: 'line_user_id',
  operator_joined: 'admin_id line_user_id ?operators',
  operator_left: 'admin_id line_user_id ?operators',
  error: '?message ?code ?temp_id ?line_user_id',
};

/**
 * Parses and validates one inbound frame. Known types must carry their required fields; unknown
 * types pass through (forward compatibility).
 * @throws {@link LiveChatError} `invalid_frame` with the reason, and nothing else whatever `data` is.
 */
export function decode(data: unknown): ServerEnvelope {
  let raw: unknown;
  try {
    raw = typeof data === 'string' ? JSON.parse(data) : undefined;
  } catch {
    // refused below, like any other frame without an object and a type
  }
  if (!isObject(raw) || typeof raw.type !== 'string' || raw.type === '') return invalid('not a JSON object with a "type"');
  const { type } = raw;
  const payload = (raw.payload ??= {});
  if (!isObject(payload)) return invalid(`"${type}" has no valid "payload"`);
  // Own rules only: a type named like an Object.prototype member ("constructor") is an unknown type.
  const fields = Object.hasOwn(rules, type) ? (compiled[type] ??= compile(rules[type as ServerMessageType]!, type)) : [];
  for (const [name, optional, check] of fields) {
    const value = payload[name];
    if (optional && value == null) {
      delete payload[name];
    } else if ((payload[name] = check(value)) === undefined) {
      return invalid(`"${type}" has no valid "${name}"`);
    }
  }
  // Normalized in place: JSON.parse made these objects, nothing else holds them.
  if (typeof raw.timestamp !== 'string') raw.timestamp = isoNow();
  return raw as unknown as ServerEnvelope;
}

type Field = [name: string, optional: boolean, check: (value: unknown) => unknown];

/** Each type's rule, turned once into its fields with their checks (nothing per frame). */
const compiled: Record<string, Field[]> = {};

function compile(rule: string, type: string): Field[] {
  return rule.split(' ').map((field) => {
    const name = field.replace('?', '');
    return [name, name !== field, checks(name, type.startsWith('message_'))];
  });
}

/** The check of one field: the normalized value, or undefined when it is not a valid one. */
function checks(name: string, content: boolean): (value: unknown) => unknown {
  if (name === 'seq') return (value) => (Number.isFinite(value) ? value : undefined);
  if (name === 'operators') {
    return (value) => {
      const ids = Array.isArray(value) && value.map(toId);
      return ids && !ids.includes(undefined) ? ids : undefined;
    };
  }
  if (name.endsWith('_id')) return toId;
  if (name === 'message' && content) {
    return (value) => (typeof value === 'string' ? { type: 'text', text: value } : isObject(value) && typeof value.type === 'string' ? value : undefined);
  }
  return (value) => (typeof value === 'string' ? value : undefined);
}

function toId(value: unknown): string | undefined {
  if (typeof value === 'string') return value || undefined;
  return Number.isFinite(value) ? String(value) : undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function invalid(reason: string): never {
  throw new LiveChatError('invalid_frame', reason);
}
