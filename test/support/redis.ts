/**
 * A throwaway `redis-server` per test file: started on a free loopback port before the file's
 * first test (only once it says "Ready to accept connections", so nobody connects too early),
 * emptied before each test, killed after the last one. No persistence, no system service.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { freePort } from './ports.js';

const startupTimeoutMs = 10_000;

export class TestRedis {
  readonly port: number;
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();
  readonly #connections = new Set<Redis>();
  #admin: Redis | undefined;
  readonly #killOnExit = () => this.#child?.kill('SIGKILL');

  private constructor(port: number) {
    this.port = port;
    // A test worker that dies must not leave the server behind.
    process.on('exit', this.#killOnExit);
  }

  /** Starts `redis-server` on a free port and resolves once it accepts connections. */
  static async start(): Promise<TestRedis> {
    let lastError: unknown;
    // A port taken between freePort() and the bind is retried on another one.
    for (let attempt = 0; attempt < 3; attempt++) {
      const redis = new TestRedis(await freePort());
      try {
        await redis.up();
        return redis;
      } catch (error) {
        await redis.stop();
        lastError = error;
        if (!String(error).includes('Address already in use')) throw error;
      }
    }
    throw lastError;
  }

  /** `redis://127.0.0.1:<port>` */
  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Whether the server process runs. */
  get running(): boolean {
    return this.#child !== undefined && this.#child.exitCode === null && this.#child.signalCode === null;
  }

  /** Starts the server (again) on this port; resolves when it is ready, rejects with its output otherwise. */
  async up(): Promise<void> {
    if (this.running) return;
    const { port } = this;
    const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.#child = child;
    this.#exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    let output = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    await new Promise<void>((resolve, reject) => {
      const fail = (why: string) => {
        clearTimeout(timer);
        child.kill('SIGKILL');
        reject(new Error(`redis-server on 127.0.0.1:${port} ${why}; its output:\n${output.slice(-2000)}`));
      };
      const timer = setTimeout(() => fail(`was not ready within ${startupTimeoutMs} ms`), startupTimeoutMs);
      const onError = (error: Error) => fail(`could not be started (${error.message}; is redis-server installed? apt-get install redis-server)`);
      const onExit = (code: number | null, signal: string | null) => fail(`exited during startup (code ${code}, signal ${signal})`);
      child.once('error', onError);
      child.once('exit', onExit);
      const onData = () => {
        if (!output.includes('Ready to accept connections')) return;
        clearTimeout(timer);
        child.off('exit', onExit);
        child.off('error', onError);
        child.stdout!.off('data', onData);
        resolve();
      };
      child.stdout!.on('data', onData);
    });
  }

  /** Kills the server at once (SIGKILL), as a crash or a network loss would; nothing is saved. */
  async down(): Promise<void> {
    if (!this.running) return;
    this.#child!.kill('SIGKILL');
    await this.#exited;
  }

  /** A new connection, closed when the file ends (or earlier by the caller). */
  async connect(): Promise<Redis> {
    const redis = new Redis(this.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    redis.on('error', () => {}); // surfaced by the command that fails
    await redis.connect();
    this.#connections.add(redis);
    redis.once('end', () => this.#connections.delete(redis));
    return redis;
  }

  /** Deletes every key. */
  async flush(): Promise<void> {
    if (this.#admin?.status !== 'ready') this.#admin = await this.connect();
    await this.#admin.flushall();
  }

  async stop(): Promise<void> {
    for (const redis of this.#connections) redis.disconnect();
    if (this.running) {
      this.#child!.kill('SIGTERM');
      const timer = setTimeout(() => this.#child?.kill('SIGKILL'), 3000);
      await this.#exited;
      clearTimeout(timer);
    }
    process.off('exit', this.#killOnExit);
  }
}

/**
 * Registers a Redis server for the calling test file: started in `beforeAll`, flushed (and
 * started again, if a test took it down) before each test, stopped in `afterAll`. The getter
 * throws outside the file's tests.
 */
export function useRedis(): () => TestRedis {
  let redis: TestRedis | undefined;
  beforeAll(async () => {
    redis = await TestRedis.start();
  });
  beforeEach(async () => {
    await redis?.up();
    await redis?.flush();
  });
  afterAll(async () => {
    await redis?.stop();
    redis = undefined;
  });
  return () => {
    if (!redis) throw new Error('Redis is not running (used outside the test file\'s tests?)');
    return redis;
  };
}
