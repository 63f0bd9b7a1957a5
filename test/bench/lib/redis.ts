/**
 * A throwaway `redis-server` for the scale-out runs, started as test/support/redis.ts does (free
 * loopback port, no persistence, ready once it says so), without vitest's hooks.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { freePort } from '../../support/ports.js';

export interface BenchRedis {
  url: string;
  version: string;
  stop(): Promise<void>;
}

export async function startRedis(): Promise<BenchRedis> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const child: ChildProcess = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const kill = () => child.kill('SIGKILL');
    process.once('exit', kill);
    let output = '';
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`redis-server not ready in 10 s:\n${output}`)), 10_000);
        child.once('error', (error) => reject(new Error(`redis-server could not start (${error.message}); apt-get install redis-server`)));
        const early = (code: number | null) => reject(new Error(`redis-server exited (${code}):\n${output}`));
        child.once('exit', early);
        const collect = (chunk: Buffer) => {
          output += chunk.toString();
          if (output.includes('Ready to accept connections')) {
            clearTimeout(timer);
            child.off('exit', early);
            resolve();
          }
        };
        child.stdout!.on('data', collect);
        child.stderr!.on('data', collect);
      });
      const version = /v=(\S+)/.exec(output)?.[1] ?? /Redis version=(\S+)/.exec(output)?.[1] ?? 'unknown';
      return {
        url: `redis://127.0.0.1:${port}`,
        version,
        stop: async () => {
          process.off('exit', kill);
          child.kill('SIGTERM');
          const timer = setTimeout(kill, 3000);
          await exited;
          clearTimeout(timer);
        },
      };
    } catch (error) {
      kill();
      process.off('exit', kill);
      lastError = error;
      if (!String(error).includes('Address already in use')) throw error;
    }
  }
  throw lastError;
}
