import { type MessageContent, isoNow } from '../../../src/protocol.js';
import type { ConversationSummary, StoredMessage } from './store/types.js';

/** A validated client frame. */
export type ClientFrame =
  | { type: 'auth'; token: string }
  | { type: 'join_conversation'; conversationId: string; sinceSeq: number | undefined }
  | { type: 'leave_conversation' | 'typing_start' | 'typing_stop'; conversationId: string }
  | { type: 'message_send'; conversationId: string; message: MessageContent; tempId: string }
  | { type: 'ping' };

/** Why a frame was refused: the `error` frame's code and message (and the message's temp_id, if known). */
export interface FrameError {
  code: 'invalid_json' | 'invalid_frame' | 'unknown_type' | 'invalid_payload' | 'message_too_long';
  message: string;
  tempId?: string;
}

const clientTypes = new Set(['auth', 'ping', 'join_conversation', 'leave_conversation', 'typing_start', 'typing_stop', 'message_send']);
const maxIdLength = 256;
/** Nesting allowed inside a message body: deeper JSON would overflow the stack when it is stored and fanned out. */
const maxContentDepth = 16;

/** Parses and validates one client frame. Never throws. */
export function parseClientFrame(data: string, maxTextLength: number): ClientFrame | FrameError {
  let raw: unknown;
  try {
    raw = JSON.parse(data);
  } catch {
    return { code: 'invalid_json', message: 'frame is not JSON' };
  }
  if (!isObject(raw) || typeof raw.type !== 'string') return { code: 'invalid_frame', message: 'frame needs a string "type"' };
  const payload = raw.payload ?? {};
  if (!isObject(payload)) return { code: 'invalid_frame', message: '"payload" must be an object' };
  // An unknown type is told so, not that its payload lacks the line_user_id a known one would need.
  if (!clientTypes.has(raw.type)) return { code: 'unknown_type', message: `unknown frame type "${raw.type.slice(0, 64)}"` };
  // Every refusal of a message_send names its temp_id when it has a usable one, so the sender can fail that message.
  // (No closure or object made per frame for the refusals: this runs for every frame received.)
  const type = raw.type;
  const conversationId = payload.line_user_id;
  const needsConversation = raw.type !== 'auth' && raw.type !== 'ping';
  if (needsConversation && !isId(conversationId)) return invalidPayload(type, 'line_user_id', payload);
  const id = conversationId as string;
  switch (raw.type) {
    case 'auth':
      return typeof payload.token === 'string' ? { type: 'auth', token: payload.token } : invalidPayload(type, 'token', payload);
    case 'ping':
      return { type: 'ping' };
    case 'join_conversation': {
      const since = payload.since_seq;
      if (since !== undefined && (!Number.isSafeInteger(since) || (since as number) < 0)) return invalidPayload(type, 'since_seq', payload);
      return { type: 'join_conversation', conversationId: id, sinceSeq: since as number | undefined };
    }
    case 'leave_conversation':
    case 'typing_start':
    case 'typing_stop':
      return { type: raw.type, conversationId: id };
    case 'message_send': {
      const { temp_id: tempId, message } = payload;
      if (!isId(tempId)) return invalidPayload(type, 'temp_id', payload);
      if (!isObject(message) || !isId(message.type) || !withinDepth(message, maxContentDepth)) {
        return invalidPayload(type, 'message', payload);
      }
      // `text` is a string whenever it is there (MessageContent), and not blank in a text message.
      const { text } = message;
      const validText = message.type === 'text' ? typeof text === 'string' && text.trim() !== '' : text === undefined || typeof text === 'string';
      if (!validText) return invalidPayload(type, 'message.text', payload);
      if (typeof message.text === 'string' && message.text.length > maxTextLength) {
        return { code: 'message_too_long', message: `text is longer than ${maxTextLength} characters`, tempId };
      }
      return { type: 'message_send', conversationId: id, message: message as MessageContent, tempId };
    }
    default:
      return { code: 'unknown_type', message: `unknown frame type "${raw.type.slice(0, 64)}"` };
  }
}

/** Encodes a server frame; `timestamp` defaults to now (a stored message keeps its own). */
export function encode(type: string, payload: Record<string, unknown>, timestamp = isoNow()): string {
  return JSON.stringify({ type, payload, timestamp });
}

/** The frame of a stored message, live or replayed: its timestamp is the message's. */
export function encodeMessage(message: StoredMessage): string {
  const [type, payload] = messageFrame(message);
  return encode(type, payload, message.createdAt);
}

/** `conversation_updated`, with a conversation's summary. */
export function encodeConversation(conversation: ConversationSummary): string {
  return encode('conversation_updated', conversationPayload(conversation));
}

/** The wire frame of a stored message: `message_received` from a customer, `message_sent` from an operator. */
export function messageFrame(message: StoredMessage): [string, Record<string, unknown>] {
  // Literals, not a spread of a base object: this runs for every message stored and replayed.
  const { conversationId, seq } = message;
  if (message.sender === 'customer') return ['message_received', { line_user_id: conversationId, message: message.message, seq }];
  return ['message_sent', { line_user_id: conversationId, message: message.message, seq, admin_id: message.adminId, temp_id: message.tempId }];
}

export function conversationPayload(conversation: ConversationSummary): Record<string, unknown> {
  return {
    line_user_id: conversation.id,
    display_name: conversation.displayName,
    last_seq: conversation.lastSeq,
    unread_count: conversation.unreadCount,
    status: conversation.status,
    updated_at: conversation.updatedAt,
    last_message: conversation.lastMessage && historyItem(conversation.lastMessage),
  };
}

/** A stored message as the HTTP API and `conversation_updated` give it. */
export function historyItem(message: StoredMessage): Record<string, unknown> {
  return {
    seq: message.seq,
    sender: message.sender,
    admin_id: message.adminId,
    temp_id: message.tempId,
    message: message.message,
    timestamp: message.createdAt,
  };
}

/** The type of a frame made by {@link encode} (its first member), read without parsing the frame. */
export function frameType(frame: string): string {
  // `{"type":"` is 9 characters; frame types never contain a quote.
  return frame.slice(9, frame.indexOf('"', 9));
}

export function isFrameError(value: ClientFrame | FrameError): value is FrameError {
  return 'code' in value;
}

function invalidPayload(type: string, field: string, payload: Record<string, unknown>): FrameError {
  const refusal: FrameError = { code: 'invalid_payload', message: `${type}: invalid "${field}"` };
  if (type === 'message_send' && isId(payload.temp_id)) refusal.tempId = payload.temp_id;
  return refusal;
}

function isId(value: unknown): value is string {
  return typeof value === 'string' && value !== '' && value.length <= maxIdLength;
}

/** Whether `value` nests objects and arrays at most `depth` levels deep (without recursing further). */
function withinDepth(value: unknown, depth: number): boolean {
  if (typeof value !== 'object' || value === null) return true;
  if (depth === 0) return false;
  // A loop, not Object.values(…).every(…): no array and no callback per level of every message.
  for (const key in value) {
    if (Object.hasOwn(value, key) && !withinDepth((value as Record<string, unknown>)[key], depth - 1)) return false;
  }
  return true;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
