/**
 * The child side of every benchmark server: start it, report `ready` with its port, answer `usage`
 * (CPU time, memory after an optional full GC, connection count), profile between `profile-start`
 * and `profile-stop`, stop on `stop` or SIGTERM.
 */
import { childMain, type Message } from './proc.js';
import { startProfile, stopProfile } from './profiler.js';

export interface RunningServer {
  port: number;
  /** Open (authenticated, for our server) connections. */
  connections(): number | Promise<number>;
  close(): Promise<void>;
}

export interface Usage extends Message {
  type: 'usage';
  cpu: NodeJS.CpuUsage;
  rss: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  connections: number;
}

/** Collects garbage until the heap stops shrinking (needs `--expose-gc`). */
export async function settle(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) return;
  let last = Infinity;
  for (let round = 0; round < 6; round++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
    const used = process.memoryUsage().heapUsed;
    if (last - used < 64 * 1024) break;
    last = used;
  }
}

export function serveChild(start: () => Promise<RunningServer>): void {
  let server: RunningServer | undefined;
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await server?.close().catch(() => {});
    process.exit(0);
  };
  const { reply } = childMain(async (message) => {
    if (message.type === 'stop') return stop();
    if (message.type === 'profile-start') {
      await startProfile();
      return reply({ type: 'profiling' });
    }
    if (message.type === 'profile-stop') {
      await stopProfile(message.file as string);
      return reply({ type: 'profiled' });
    }
    if (message.type === 'usage') {
      const cpu = process.cpuUsage();
      // Counted first: the count itself may allocate (our server's is an HTTP request to itself).
      const connections = server ? await server.connections() : 0;
      if (message.gc) await settle();
      const memory = process.memoryUsage();
      reply({
        type: 'usage',
        cpu,
        rss: memory.rss,
        heapUsed: memory.heapUsed,
        external: memory.external,
        arrayBuffers: memory.arrayBuffers,
        connections,
      } satisfies Usage);
    }
  });
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
  start().then(
    (running) => {
      server = running;
      reply({ type: 'ready', port: running.port });
    },
    (error: unknown) => {
      reply({ type: 'error', message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
      setTimeout(() => process.exit(1), 100);
    },
  );
}
