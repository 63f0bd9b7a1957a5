/** A bare protocol-v1 WebSocket peer for server tests: sends frames, records and awaits what comes back. */
import { WebSocket } from 'ws';

export interface Frame {
  type: string;
  payload: Record<string, unknown>;
  timestamp: string;
}

export class RawClient {
  readonly frames: Frame[] = [];
  readonly socket: WebSocket;
  closed: { code: number; reason: string } | undefined;
  readonly #waiters = new Set<() => void>();

  private constructor(socket: WebSocket) {
    this.socket = socket;
    socket.on('message', (data) => {
      this.frames.push(JSON.parse(String(data)) as Frame);
      this.#notify();
    });
    socket.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.#notify();
    });
    socket.on('error', () => {});
  }

  static async open(url: string, headers: Record<string, string> = {}): Promise<RawClient> {
    const socket = new WebSocket(url, { headers });
    const client = new RawClient(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
      socket.once('unexpected-response', (_request, response) => reject(new Error(`HTTP ${response.statusCode}`)));
    });
    return client;
  }

  /** Opens, authenticates, and waits for auth_success. */
  static async authed(url: string, token: string): Promise<RawClient> {
    const client = await RawClient.open(url);
    client.send('auth', { token });
    await client.next('auth_success');
    return client;
  }

  send(type: string, payload: unknown = {}): void {
    this.socket.send(JSON.stringify({ type, payload, timestamp: new Date().toISOString() }));
  }

  /** The first frame of `type` (matching `where`) not yet taken by an earlier call. */
  async next(type: string, where: (payload: Record<string, unknown>) => boolean = () => true, timeoutMs = 3000): Promise<Frame> {
    const found = await this.#until(() => this.frames.find((frame) => !this.#taken.has(frame) && frame.type === type && where(frame.payload)), timeoutMs, `a "${type}" frame`);
    this.#taken.add(found);
    return found;
  }

  /** Resolves with the close event. */
  async closedWith(timeoutMs = 3000): Promise<{ code: number; reason: string }> {
    return this.#until(() => this.closed, timeoutMs, 'the socket to close');
  }

  of(type: string): Frame[] {
    return this.frames.filter((frame) => frame.type === type);
  }

  close(): void {
    this.socket.terminate();
  }

  readonly #taken = new Set<Frame>();

  #notify(): void {
    for (const waiter of [...this.#waiters]) waiter();
  }

  #until<T>(probe: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const value = probe();
        if (value === undefined) return;
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve(value);
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; got: ${this.frames.map((frame) => frame.type).join(', ')}`));
      }, timeoutMs);
      this.#waiters.add(check);
      check();
    });
  }
}
