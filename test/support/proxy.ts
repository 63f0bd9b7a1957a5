/**
 * A fault-injecting TCP proxy on 127.0.0.1: put it between the client and a server to drop
 * connections, stall them (half-open: TCP stays up, no byte gets through either way), refuse new
 * ones, or point them at another port.
 */
import net, { type AddressInfo, type Socket } from 'node:net';

interface Pair {
  client: Socket;
  upstream: Socket;
  stalled: boolean;
  /** Forwarding held back while stalled, replayed in order on unstall. */
  held: (() => void)[];
}

export type StallScope = 'all' | 'existing';

export class FaultProxy {
  readonly port: number;
  /** Epoch ms of every accepted TCP connection, refused ones included. */
  readonly acceptedAt: number[] = [];
  #target: number;
  #refusing = false;
  #stallNew = false;
  readonly #server: net.Server;
  readonly #pairs = new Set<Pair>();

  private constructor(server: net.Server, target: number) {
    this.#server = server;
    this.#target = target;
    this.port = (server.address() as AddressInfo).port;
  }

  static async start(targetPort: number): Promise<FaultProxy> {
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const proxy = new FaultProxy(server, targetPort);
    server.on('connection', (socket) => proxy.#accept(socket));
    return proxy;
  }

  /** Connections accepted so far (refused ones included). */
  get connectionCount(): number {
    return this.acceptedAt.length;
  }

  /** Proxied connections open now. */
  get openCount(): number {
    return this.#pairs.size;
  }

  /** `ws://127.0.0.1:<proxy port><path>` */
  url(path: string): string {
    return `ws://127.0.0.1:${this.port}${path}`;
  }

  /** Destroys every proxied connection at once (both sides see the TCP connection end). */
  dropAll(): void {
    for (const pair of this.#pairs) this.#destroy(pair);
  }

  /**
   * Stops forwarding bytes both ways while keeping the TCP connections open. `all` (default) also
   * stalls new connections (the network is dead); `existing` stalls only the current ones (a NAT
   * lost these flows; new ones work).
   */
  stall(scope: StallScope = 'all'): void {
    this.#stallNew = scope === 'all';
    for (const pair of this.#pairs) pair.stalled = true;
  }

  /** Resumes forwarding, delivering what was held back, in order. */
  unstall(): void {
    this.#stallNew = false;
    for (const pair of this.#pairs) {
      pair.stalled = false;
      for (const action of pair.held.splice(0)) action();
    }
  }

  /** While on, new connections are accepted and destroyed at once. */
  refuse(on: boolean): void {
    this.#refusing = on;
  }

  /** New connections go to this port. */
  retarget(port: number): void {
    this.#target = port;
  }

  close(): Promise<void> {
    this.dropAll();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  #accept(client: Socket): void {
    this.acceptedAt.push(Date.now());
    client.on('error', () => undefined);
    if (this.#refusing) {
      client.destroy();
      return;
    }
    const upstream = net.connect(this.#target, '127.0.0.1');
    upstream.on('error', () => undefined);
    const pair: Pair = { client, upstream, stalled: this.#stallNew, held: [] };
    this.#pairs.add(pair);
    const run = (action: () => void) => (pair.stalled ? pair.held.push(action) : action());
    const forward = (from: Socket, to: Socket) => {
      from.on('data', (chunk) => run(() => to.write(chunk)));
      from.on('end', () => run(() => to.end()));
      from.on('close', () => run(() => this.#destroy(pair)));
    };
    forward(client, upstream);
    forward(upstream, client);
  }

  #destroy(pair: Pair): void {
    this.#pairs.delete(pair);
    pair.held.length = 0;
    pair.client.destroy();
    pair.upstream.destroy();
  }
}
