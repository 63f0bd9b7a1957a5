import { randomBytes } from 'node:crypto';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TokenAuthority } from './auth.js';
import type { ServerConfig } from './config.js';
import { type Bus, LocalBus, LocalPresence, type Presence } from './fanout.js';
import { Gateway, LIVE_CHAT_PATH } from './gateway.js';
import { createHttpHandler } from './http.js';
import { SqliteStore } from './store/sqlite.js';
import type { Store } from './store/types.js';

/** A running server. */
export interface App {
  readonly port: number;
  /** `http://host:port` */
  readonly httpUrl: string;
  /** `ws://host:port/api/v1/ws/live-chat` */
  readonly wsUrl: string;
  readonly auth: TokenAuthority;
  readonly store: Store;
  /** Graceful: sockets get 1001, then storage and Redis are closed. Idempotent. */
  close(): Promise<void>;
}

/** The storage and fan-out a server uses: SQLite and in-process by default, Redis to scale out. */
export interface Backend {
  store: Store;
  bus: Bus;
  presence: Presence;
  close(): Promise<void>;
}

export async function createBackend(
  config: ServerConfig,
  processId: string,
  log: (message: string) => void = () => {},
  /** Instead of the SQLite file (see AppTuning.store). */
  embeddedStore?: Store,
): Promise<Backend> {
  if (config.redisUrl) {
    // Loaded only when used, so the embedded default never needs ioredis.
    const { createRedisBackend } = await import('./redis.js');
    return createRedisBackend(config.redisUrl, processId, { log, livenessSeconds: config.presenceLivenessSeconds });
  }
  const store = embeddedStore ?? new SqliteStore(config.databasePath, { log });
  const bus = new LocalBus();
  const presence = new LocalPresence();
  return { store, bus, presence, close: () => Promise.all([bus.close(), presence.close(), store.close()]).then(() => undefined) };
}

/** Knobs for tests and benchmarks, not configuration (lazyFlushMs: see GatewayDeps). */
export interface AppTuning {
  lazyFlushMs?: number;
  /**
   * A store to use instead of the SQLite file when no Redis is configured: the benchmarks run the
   * server on an in-memory one, to compare it with peers that keep nothing on disk.
   */
  store?: Store;
}

export async function startApp(config: ServerConfig, log: (message: string) => void = () => {}, tuning: AppTuning = {}): Promise<App> {
  const processId = randomBytes(4).toString('hex');
  const { store: embeddedStore, ...gatewayTuning } = tuning;
  const backend = await createBackend(config, processId, log, embeddedStore);
  const auth = new TokenAuthority(config.jwtSecret);
  const { store, bus, presence } = backend;
  const gateway = new Gateway({ config, auth, store, bus, presence, processId, log, ...gatewayTuning });
  const server: Server = createServer(createHttpHandler({ config, auth, store: backend.store, gateway, log }));
  server.on('upgrade', (request, socket, head) => gateway.handleUpgrade(request, socket, head));
  server.on('clientError', (_error, socket) => socket.destroy());
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, config.host, () => resolve());
    });
  } catch (error) {
    // E.g. the port is taken: nothing may keep running (Redis connections, presence heartbeat).
    await gateway.close();
    await backend.close();
    throw error;
  }
  const { port } = server.address() as AddressInfo;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  let closing: Promise<void> | undefined;
  return {
    port,
    httpUrl: `http://${host}:${port}`,
    wsUrl: `ws://${host}:${port}${LIVE_CHAT_PATH}`,
    auth,
    store: backend.store,
    close: () =>
      (closing ??= (async () => {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        await gateway.close();
        server.closeAllConnections();
        await stopped;
        await backend.close();
      })()),
  };
}
