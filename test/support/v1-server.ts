/**
 * A small but real protocol-v1 server (DESIGN §4) for integration tests: `ws` on 127.0.0.1, auth
 * as the first frame, rooms per conversation, per-conversation `seq`, replay by `since_seq`, dedup
 * on (admin_id, temp_id). It records every frame and connection so tests can assert on the wire.
 * The store lives apart from the server so a new server on the same port can take it over (restart).
 */
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

export const LIVE_CHAT_PATH = '/api/v1/ws/live-chat';

export type Payload = Record<string, unknown>;

export interface Frame {
  type: string;
  payload: Payload;
  timestamp: string;
}

/** A frame the server received, with the connection it came on. */
export interface ReceivedFrame extends Frame {
  connectionId: number;
  /** Undefined before authentication. */
  adminId: string | undefined;
}

export interface ConnectionRecord {
  id: number;
  adminId: string | undefined;
  openedAt: number;
  closedAt: number | undefined;
  closeCode: number | undefined;
}

/** Stored conversations (events with seq) and original acks; survives a server restart. */
export class V1Store {
  /** Events kept per conversation; older ones cannot be replayed (`replay_unavailable`). */
  readonly retention: number;
  readonly #conversations = new Map<string, { nextSeq: number; events: Frame[] }>();
  readonly #acks = new Map<string, Frame>();

  constructor({ retention = Infinity }: { retention?: number } = {}) {
    this.retention = retention;
  }

  /** Stores an event under the next seq of its conversation. */
  append(lineUserId: string, type: 'message_received' | 'message_sent', payload: Payload): Frame {
    let conversation = this.#conversations.get(lineUserId);
    if (!conversation) this.#conversations.set(lineUserId, (conversation = { nextSeq: 1, events: [] }));
    const frame = { type, payload: { ...payload, line_user_id: lineUserId, seq: conversation.nextSeq++ }, timestamp: now() };
    conversation.events.push(frame);
    if (conversation.events.length > this.retention) conversation.events.shift();
    return frame;
  }

  /** Kept events of a conversation, in seq order. */
  events(lineUserId: string): Frame[] {
    return [...(this.#conversations.get(lineUserId)?.events ?? [])];
  }

  /** Events with seq > sinceSeq, or undefined when some of them are no longer kept. */
  replay(lineUserId: string, sinceSeq: number): Frame[] | undefined {
    const events = this.events(lineUserId);
    const first = events[0] ? seqOf(events[0]) : undefined;
    if (first !== undefined && sinceSeq < first - 1) return undefined;
    return events.filter((event) => seqOf(event) > sinceSeq);
  }

  ack(adminId: string, tempId: string): Frame | undefined {
    return this.#acks.get(`${adminId}\n${tempId}`);
  }

  setAck(adminId: string, tempId: string, frame: Frame): void {
    this.#acks.set(`${adminId}\n${tempId}`, frame);
  }
}

interface Live {
  record: ConnectionRecord;
  socket: WebSocket;
  rooms: Set<string>;
}

export interface V1ServerOptions {
  store?: V1Store;
  /** 0 (default) picks a free port; pass the old port to restart in place. */
  port?: number;
}

export class V1Server {
  readonly store: V1Store;
  readonly port: number;
  readonly url: string;
  readonly connections: ConnectionRecord[] = [];
  readonly received: ReceivedFrame[] = [];
  /** Test hook, asked for each `message_send`: true loses its ack (the message is still stored and fanned out). */
  loseAck: ((payload: Payload) => boolean) | undefined;
  readonly #http: HttpServer;
  readonly #wss: WebSocketServer;
  readonly #live = new Set<Live>();
  readonly #rooms = new Map<string, Set<Live>>();
  readonly #listeners = new Set<(frame: ReceivedFrame) => void>();
  #closed: Promise<void> | undefined;

  private constructor(http: HttpServer, store: V1Store) {
    this.#http = http;
    this.store = store;
    this.port = (http.address() as AddressInfo).port;
    this.url = `ws://127.0.0.1:${this.port}${LIVE_CHAT_PATH}`;
    this.#wss = new WebSocketServer({ server: http, path: LIVE_CHAT_PATH });
    this.#wss.on('connection', (socket) => this.#accept(socket));
  }

  static async start({ store = new V1Store(), port = 0 }: V1ServerOptions = {}): Promise<V1Server> {
    const http = createServer();
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(port, '127.0.0.1', () => resolve());
    });
    return new V1Server(http, store);
  }

  /** Called after each received frame has been handled; returns the unsubscribe function. */
  onFrame(listener: (frame: ReceivedFrame) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  framesOf(type: string): ReceivedFrame[] {
    return this.received.filter((frame) => frame.type === type);
  }

  /** Admin ids of the connections in a conversation's room. */
  roomAdmins(lineUserId: string): string[] {
    return [...(this.#rooms.get(lineUserId) ?? [])].map((live) => live.record.adminId ?? '?');
  }

  /** A customer message arrives (e.g. from the LINE webhook): stored with the next seq and sent to the room. */
  injectCustomerMessage(lineUserId: string, text: string): number {
    const event = this.store.append(lineUserId, 'message_received', { message: { type: 'text', text } });
    this.#broadcast(lineUserId, event);
    return seqOf(event);
  }

  /**
   * Closes live connections (all, or the one with `connectionId`) while the server stays up: with
   * a close frame carrying `code`, or terminated (no close frame) when `code` is undefined.
   */
  closeConnections({ code, connectionId }: { code?: number; connectionId?: number } = {}): void {
    for (const live of this.#live) {
      if (connectionId !== undefined && live.record.id !== connectionId) continue;
      if (code === undefined) live.socket.terminate();
      else live.socket.close(code, `closed by the test server (${code})`);
    }
  }

  /** Terminates every socket (no close frame, like a crash) and frees the port. Idempotent. */
  close(): Promise<void> {
    this.#closed ??= new Promise<void>((resolve) => {
      for (const live of this.#live) live.socket.terminate();
      this.#wss.close();
      this.#http.closeAllConnections();
      this.#http.close(() => resolve());
    });
    return this.#closed;
  }

  #accept(socket: WebSocket): void {
    const record: ConnectionRecord = {
      id: this.connections.length + 1,
      adminId: undefined,
      openedAt: Date.now(),
      closedAt: undefined,
      closeCode: undefined,
    };
    this.connections.push(record);
    const live: Live = { record, socket, rooms: new Set() };
    this.#live.add(live);
    // Attached before any await: a frame sent right after the handshake must not be missed.
    socket.on('message', (data, isBinary) => this.#receive(live, isBinary ? '' : String(data)));
    socket.on('close', (code) => {
      record.closedAt = Date.now();
      record.closeCode = code;
      this.#live.delete(live);
      for (const id of live.rooms) this.#leave(live, id);
    });
    socket.on('error', () => undefined);
  }

  #receive(live: Live, text: string): void {
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      raw = undefined;
    }
    if (!isObject(raw) || typeof raw.type !== 'string') {
      return this.#send(live, 'error', { code: 'invalid_frame', message: 'not a JSON envelope' });
    }
    const frame: ReceivedFrame = {
      type: raw.type,
      payload: isObject(raw.payload) ? raw.payload : {},
      timestamp: typeof raw.timestamp === 'string' ? raw.timestamp : '',
      connectionId: live.record.id,
      adminId: live.record.adminId,
    };
    this.received.push(frame);
    this.#handle(live, frame);
    for (const listener of this.#listeners) listener(frame);
  }

  #handle(live: Live, { type, payload }: Frame): void {
    const adminId = live.record.adminId;
    if (adminId === undefined) {
      const match = type === 'auth' && typeof payload.token === 'string' ? /^op:(.+)$/.exec(payload.token) : null;
      if (!match?.[1]) {
        this.#send(live, 'auth_error', { code: 'invalid_token', message: 'auth must be the first frame, with a valid token' });
        live.socket.close(4001, 'unauthorized');
        return;
      }
      live.record.adminId = match[1];
      return this.#send(live, 'auth_success', { admin_id: match[1] });
    }
    const id = payload.line_user_id;
    const needsRoom = type !== 'ping' && type !== 'auth';
    if (needsRoom && (typeof id !== 'string' || id === '')) {
      return this.#send(live, 'error', { code: 'invalid_payload', message: `${type} needs line_user_id` });
    }
    const room = id as string;
    switch (type) {
      case 'join_conversation':
        return this.#join(live, room, payload.since_seq);
      case 'leave_conversation':
        return this.#leave(live, room);
      case 'typing_start':
      case 'typing_stop': {
        const relayed = type === 'typing_start' ? 'typing_started' : 'typing_stopped';
        const event = envelope(relayed, { admin_id: adminId, line_user_id: room });
        return this.#broadcast(room, event, (other) => other.record.adminId !== adminId);
      }
      case 'message_send':
        return this.#messageSend(live, adminId, room, payload);
      case 'ping':
        return this.#send(live, 'pong', {});
      default:
        return this.#send(live, 'error', { code: 'unknown_type', message: `unknown type ${type}` });
    }
  }

  #join(live: Live, id: string, sinceSeq: unknown): void {
    if (typeof sinceSeq === 'number') {
      const events = this.store.replay(id, sinceSeq);
      if (events) for (const event of events) live.socket.send(JSON.stringify(event));
      else this.#send(live, 'error', { code: 'replay_unavailable', line_user_id: id, message: `events after ${sinceSeq} are gone` });
    }
    let room = this.#rooms.get(id);
    if (!room) this.#rooms.set(id, (room = new Set()));
    room.add(live);
    live.rooms.add(id);
    this.#presence('operator_joined', live, id);
  }

  #leave(live: Live, id: string): void {
    live.rooms.delete(id);
    if (this.#rooms.get(id)?.delete(live)) this.#presence('operator_left', live, id);
  }

  #presence(type: 'operator_joined' | 'operator_left', live: Live, id: string): void {
    const operators = [...new Set(this.roomAdmins(id))];
    this.#broadcast(id, envelope(type, { admin_id: live.record.adminId, line_user_id: id, operators }));
  }

  #messageSend(live: Live, adminId: string, id: string, payload: Payload): void {
    const { temp_id: tempId, message } = payload;
    if (typeof tempId !== 'string' || tempId === '' || !isObject(message) || typeof message.type !== 'string') {
      const extra = typeof tempId === 'string' ? { temp_id: tempId } : {};
      return this.#send(live, 'error', { code: 'invalid_payload', message: 'message_send needs temp_id and message', ...extra });
    }
    const original = this.store.ack(adminId, tempId);
    if (original) {
      if (!this.loseAck?.(payload)) live.socket.send(JSON.stringify(original));
      return;
    }
    const event = this.store.append(id, 'message_sent', { admin_id: adminId, message, temp_id: tempId });
    this.store.setAck(adminId, tempId, event);
    if (!this.loseAck?.(payload)) live.socket.send(JSON.stringify(event));
    this.#broadcast(id, event, (other) => other !== live);
  }

  #broadcast(id: string, frame: Frame, filter: (live: Live) => boolean = () => true): void {
    const data = JSON.stringify(frame);
    for (const live of this.#rooms.get(id) ?? []) if (filter(live)) live.socket.send(data);
  }

  #send(live: Live, type: string, payload: Payload): void {
    live.socket.send(JSON.stringify(envelope(type, payload)));
  }
}

export function seqOf(frame: Frame): number {
  return typeof frame.payload.seq === 'number' ? frame.payload.seq : NaN;
}

function envelope(type: string, payload: Payload): Frame {
  return { type, payload, timestamp: now() };
}

function now(): string {
  return new Date().toISOString();
}

function isObject(value: unknown): value is Payload {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
