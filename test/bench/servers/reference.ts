/**
 * Our reference server (examples/server) in its own process, as `npm start` runs it but configured
 * for the benchmark by `BENCH_SERVER_CONFIG` (JSON overrides of loadConfig, e.g. the SQLite path,
 * REDIS_URL, a fixed port for restarts, and the per-connection rate limit lifted so a benchmark
 * client is not cut off as a flood). `BENCH_SERVER_DIR` points at another copy of the server
 * sources, to compare a change against the current tree. `BENCH_SERVER_STORE=memory` replaces the
 * SQLite store with MemoryStore (not durable: for comparison with in-memory peers).
 */
import type { ServerConfig } from '../../../examples/server/src/config.js';
import { serveChild } from '../lib/server-child.js';
import { MemoryStore } from './memory-store.js';

type App = typeof import('../../../examples/server/src/app.js');
type Config = typeof import('../../../examples/server/src/config.js');

serveChild(async () => {
  const dir = process.env.BENCH_SERVER_DIR ?? new URL('../../../examples/server/src/', import.meta.url).pathname;
  const { startApp } = (await import(`${dir}/app.ts`)) as App;
  const { loadConfig } = (await import(`${dir}/config.ts`)) as Config;
  const overrides = JSON.parse(process.env.BENCH_SERVER_CONFIG ?? '{}') as Partial<ServerConfig>;
  const config = loadConfig({}, { port: 0, host: '127.0.0.1', staticDirs: [], ...overrides });
  const store = process.env.BENCH_SERVER_STORE === 'memory' ? new MemoryStore() : undefined;
  const app = await startApp(config, undefined, { ...(store && { store }) });
  return {
    port: app.port,
    connections: async () => {
      const response = await fetch(`${app.httpUrl}/api/v1/health`);
      return ((await response.json()) as { connections: number }).connections;
    },
    close: () => app.close(),
  };
});
