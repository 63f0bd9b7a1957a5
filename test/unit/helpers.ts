import { type Client, Server, WebSocket as MockWebSocket } from 'mock-socket';
import { expect, vi } from 'vitest';
import {
  FixedIntervalStrategy,
  LiveChatClient,
  type LiveChatClientOptions,
  type LiveChatError,
  type WebSocketConstructor,
} from '../../src/index.js';

/** mock-socket's WebSocket, typed as the SDK expects it. */
export const MockSocket = MockWebSocket as unknown as WebSocketConstructor;

/** A frame as the fake server received it. */
export interface Frame {
  type: string;
  payload: Record<string, unknown>;
  timestamp: string;
}

/** How the fake server answers `auth`. */
export type AuthMode = 'accept' | 'refuse' | 'close4001' | 'silent';

let urlCounter = 0;
const servers = new Set<FakeServer>();

/**
 * A mock-socket server speaking protocol v1: it records every frame it receives, answers `auth`
 * (or refuses it, or stays silent), acks `message_send` with a per-conversation `seq` and answers
 * `ping` with `pong`. Each instance listens on its own URL.
 */
export class FakeServer {
  readonly url = `ws://localhost:8080/api/v1/ws/live-chat/${++urlCounter}`;
  readonly server: Server;
  /** Every frame received, over every connection, in order. */
  readonly frames: Frame[] = [];
  /** Every connection accepted, oldest first. */
  readonly sockets: Client[] = [];
  auth: AuthMode = 'accept';
  adminId = 'a1';
  /** Ack `message_send` with `message_sent`. */
  ackMessages = true;
  /** Put `seq` in acks (false: a server written to the plan). */
  withSeq = true;
  answerPings = true;
  /** Extra `auth_success` payload fields (e.g. a `rate_limit` announcement). */
  authExtra: Record<string, unknown> = {};
  /** Close every connection with this code right after `auth_success`. */
  closeAfterAuth: number | undefined;
  readonly #seqs = new Map<string, number>();

  constructor() {
    this.server = new Server(this.url);
    servers.add(this);
    this.server.on('connection', (socket) => {
      this.sockets.push(socket);
      socket.on('message', (data) => this.#receive(socket, data));
    });
  }

  #receive(socket: Client, data: unknown): void {
    const frame = JSON.parse(String(data)) as Frame;
    this.frames.push(frame);
    const payload = frame.payload;
    if (frame.type === 'auth') {
      if (this.auth === 'accept') {
        this.send('auth_success', { admin_id: this.adminId, ...this.authExtra }, socket);
        if (this.closeAfterAuth !== undefined) socket.close({ code: this.closeAfterAuth, reason: '', wasClean: true });
      } else if (this.auth === 'refuse') {
        this.send('auth_error', { message: 'bad token', code: 'unauthorized' }, socket);
      } else if (this.auth === 'close4001') {
        socket.close({ code: 4001, reason: 'unauthorized', wasClean: true });
      }
    } else if (frame.type === 'ping' && this.answerPings) {
      this.send('pong', {}, socket);
    } else if (frame.type === 'message_send' && this.ackMessages) {
      const id = String(payload.line_user_id);
      const seq = this.nextSeq(id);
      this.send(
        'message_sent',
        { admin_id: this.adminId, line_user_id: id, message: payload.message, temp_id: payload.temp_id, ...(this.withSeq && { seq }) },
        socket,
      );
    }
  }

  /** Assigns the next `seq` of a conversation (acks use the same counter). */
  nextSeq(conversationId: string): number {
    const seq = (this.#seqs.get(conversationId) ?? 0) + 1;
    this.#seqs.set(conversationId, seq);
    return seq;
  }

  /** The latest connection. */
  get last(): Client {
    const socket = this.sockets.at(-1);
    if (!socket) throw new Error('no connection yet');
    return socket;
  }

  get connections(): number {
    return this.sockets.length;
  }

  /** Connections still open. */
  get open(): Client[] {
    return this.sockets.filter((socket) => socket.readyState === MockWebSocket.OPEN);
  }

  /** Sends a protocol frame to a connection (the latest by default); delivered synchronously. */
  send(type: string, payload: Record<string, unknown>, socket: Client = this.last): void {
    socket.send(JSON.stringify({ type, payload, timestamp: new Date().toISOString() }));
  }

  /** Sends raw data to the latest connection. */
  sendRaw(data: string | ArrayBuffer): void {
    this.last.send(data);
  }

  /** Closes the latest connection from the server side (delivered after mock-socket's 4 ms). */
  close(code: number, reason = ''): void {
    this.last.close({ code, reason, wasClean: code === 1000 });
  }

  /** Received frames of one type. */
  framesOf(type: string): Frame[] {
    return this.frames.filter((frame) => frame.type === type);
  }

  /** Types of the received frames, optionally without pings. */
  types({ pings = false }: { pings?: boolean } = {}): string[] {
    return this.frames.map((frame) => frame.type).filter((type) => pings || type !== 'ping');
  }

  /** The `temp_id`s of the `message_send` frames received, in order. */
  sentTempIds(): unknown[] {
    return this.framesOf('message_send').map((frame) => frame.payload.temp_id);
  }

  stop(): void {
    servers.delete(this);
    this.server.stop();
  }
}

/** Stops every FakeServer still listening (call in afterEach, before `vi.useRealTimers()`). */
export function stopServers(): void {
  for (const server of [...servers]) server.stop();
}

/** Options of {@link createClient}: `url` defaults to the server's. */
export type TestClientOptions = Partial<LiveChatClientOptions>;

/**
 * A client wired to `server` with mock-socket, token `'t'`, and a fixed 1 s reconnect delay
 * (deterministic) unless overridden.
 */
export function createClient(server: FakeServer, options: TestClientOptions = {}): LiveChatClient {
  return new LiveChatClient({
    url: server.url,
    token: 't',
    WebSocket: MockSocket,
    reconnect: new FixedIntervalStrategy({ intervalMs: 1000 }),
    ...options,
  });
}

/** A mock-socket WebSocket that counts its instances: for tests that no socket is ever made. */
export function countingSocket(): { WebSocket: WebSocketConstructor; created(): number } {
  let created = 0;
  class CountingSocket extends MockWebSocket {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols);
      created++;
    }
  }
  return { WebSocket: CountingSocket as unknown as WebSocketConstructor, created: () => created };
}

/** Lets mock-socket deliver open, send and close (each takes 4 ms) plus the promise chains between them. */
export async function flush(ms = 10): Promise<void> {
  await vi.advanceTimersByTimeAsync(ms);
}

/** Connects and waits until authenticated. */
export async function connectClient(client: LiveChatClient): Promise<void> {
  client.connect();
  await flush();
  expect(client.state).toBe('connected');
}

/** A client connected to a fresh server. */
export async function connectedPair(options: TestClientOptions = {}): Promise<{ server: FakeServer; client: LiveChatClient }> {
  const server = new FakeServer();
  const client = createClient(server, options);
  await connectClient(client);
  return { server, client };
}

/** Collects the events of one type. */
export function record<T>(subscribe: (handler: (event: T) => void) => () => void): T[] {
  const events: T[] = [];
  subscribe((event) => events.push(event));
  return events;
}

/** Collects the `error` events of a client. */
export function errorsOf(client: LiveChatClient): LiveChatError[] {
  return record<LiveChatError>((handler) => client.on('error', handler));
}

/** Advances fake time (mock-socket needs it to deliver frames) and then awaits `promise`. */
export async function within<T>(promise: Promise<T>, ms = 20): Promise<T> {
  const [value] = await Promise.all([promise, flush(ms)]);
  return value;
}

/** Settles a promise into an inspectable result without leaving an unhandled rejection. */
export function settle<T>(promise: Promise<T>): { value?: T; error?: unknown; done: boolean } {
  const result: { value?: T; error?: unknown; done: boolean } = { done: false };
  promise.then(
    (value) => Object.assign(result, { value, done: true }),
    (error: unknown) => Object.assign(result, { error, done: true }),
  );
  return result;
}

/** A Storage kept in memory, optionally refusing writes (full or disabled storage). */
export class MemoryStorage implements Storage {
  readonly #items = new Map<string, string>();
  failWrites = false;

  get length(): number {
    return this.#items.size;
  }
  clear(): void {
    this.#items.clear();
  }
  getItem(key: string): string | null {
    return this.#items.get(key) ?? null;
  }
  key(index: number): string | null {
    return [...this.#items.keys()][index] ?? null;
  }
  removeItem(key: string): void {
    this.#items.delete(key);
  }
  setItem(key: string, value: string): void {
    if (this.failWrites) throw new DOMException('quota exceeded', 'QuotaExceededError');
    this.#items.set(key, String(value));
  }
}

/**
 * A fake browser environment: `addEventListener`/`removeEventListener` on the global object and a
 * `document` with a settable `visibilityState`. Undo with `vi.unstubAllGlobals()`.
 */
export function stubBrowser(): {
  window: EventTarget;
  document: EventTarget & { visibilityState: string };
  listenerCount(): number;
  fire(target: 'online' | 'offline' | 'visible' | 'hidden'): void;
} {
  let listeners = 0;
  const counted = <T extends EventTarget>(target: T): T => {
    const add = target.addEventListener.bind(target);
    const remove = target.removeEventListener.bind(target);
    target.addEventListener = (...args: Parameters<EventTarget['addEventListener']>) => {
      listeners++;
      add(...args);
    };
    target.removeEventListener = (...args: Parameters<EventTarget['removeEventListener']>) => {
      listeners--;
      remove(...args);
    };
    return target;
  };
  const window = counted(new EventTarget());
  const document = Object.assign(counted(new EventTarget()), { visibilityState: 'visible' });
  vi.stubGlobal('addEventListener', window.addEventListener.bind(window));
  vi.stubGlobal('removeEventListener', window.removeEventListener.bind(window));
  vi.stubGlobal('document', document);
  return {
    window,
    document,
    listenerCount: () => listeners,
    fire(what) {
      if (what === 'online' || what === 'offline') {
        window.dispatchEvent(new Event(what));
      } else {
        document.visibilityState = what;
        document.dispatchEvent(new Event('visibilitychange'));
      }
    },
  };
}
