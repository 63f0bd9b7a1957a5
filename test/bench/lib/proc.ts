/**
 * Child processes for the benchmarks: each server and each load generator runs in its own Node
 * process (TypeScript through tsx), talks to the orchestrator over the IPC channel, and is bounded
 * in time: it exits when its parent goes away or its lifetime runs out.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('../../../', import.meta.url));
export const benchDir = fileURLToPath(new URL('../', import.meta.url));

export interface Message {
  type: string;
  [key: string]: unknown;
}

export interface ChildOptions {
  /** Extra Node flags (`--expose-gc`, `--cpu-prof`, ...). */
  execArgv?: string[];
  env?: Record<string, string | undefined>;
  /** Hard cap on the child's life; it kills itself after it. @default 120000 */
  lifetimeMs?: number;
}

/** A running child: messages in and out, and a bounded stop. */
export class Child {
  readonly process: ChildProcess;
  readonly name: string;
  #output = '';
  readonly #inbox: Message[] = [];
  readonly #waiters = new Set<() => void>();
  #exit: { code: number | null; signal: string | null } | undefined;
  readonly exited: Promise<void>;

  private constructor(name: string, child: ChildProcess) {
    this.name = name;
    this.process = child;
    const keep = (chunk: string) => {
      this.#output = (this.#output + chunk).slice(-8000);
    };
    child.stdout?.setEncoding('utf8').on('data', keep);
    child.stderr?.setEncoding('utf8').on('data', keep);
    child.on('message', (message: Message) => {
      this.#inbox.push(message);
      this.#notify();
    });
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.#exit = { code, signal };
        this.#notify();
        resolve();
      });
    });
  }

  /** Forks `test/bench/<script>` with tsx; `args` become its argv. */
  static start(script: string, args: string[] = [], options: ChildOptions = {}): Child {
    const child = fork(`${benchDir}${script}`, args, {
      cwd: root,
      execArgv: ['--import', 'tsx', ...(options.execArgv ?? [])],
      env: { ...process.env, BENCH_LIFETIME_MS: String(options.lifetimeMs ?? 120_000), ...options.env },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    const started = new Child(`${script} ${args.join(' ')}`.trim(), child);
    children.add(started);
    void started.exited.then(() => children.delete(started));
    return started;
  }

  get pid(): number {
    return this.process.pid!;
  }

  /** The last few KB the child wrote to stdout and stderr. */
  get output(): string {
    return this.#output;
  }

  send(message: Message): void {
    if (this.process.connected) this.process.send(message);
  }

  /** The next message of `type` not yet taken; rejects if the child reports an error, exits or takes too long. */
  wait<T extends Message = Message>(type: string, timeoutMs: number): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const index = this.#inbox.findIndex((message) => message.type === type || message.type === 'error');
        if (index >= 0) {
          const [message] = this.#inbox.splice(index, 1);
          done();
          if (message!.type === 'error') reject(new Error(`${this.name}: ${String(message!.message)}\n${this.#output}`));
          else resolve(message as T);
        } else if (this.#exit) {
          done();
          reject(new Error(`${this.name} exited (code ${this.#exit.code}, signal ${this.#exit.signal}) before "${type}"\n${this.#output}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${this.name}: no "${type}" within ${timeoutMs} ms\n${this.#output}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.#waiters.delete(check);
      };
      this.#waiters.add(check);
      check();
    });
  }

  /** The port a server child listens on, from its `ready` message (see server-child.ts). */
  async port(): Promise<number> {
    return (await this.wait<Message & { port: number }>('ready', 30_000)).port;
  }

  /** Sends `message` and waits for the reply of type `reply`. */
  request<T extends Message = Message>(message: Message, reply: string, timeoutMs: number): Promise<T> {
    this.send(message);
    return this.wait<T>(reply, timeoutMs);
  }

  /** Asks the child to stop (`signal`), then SIGKILLs it after `graceMs`. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 5000): Promise<void> {
    if (this.#exit) return;
    this.process.kill(signal);
    const timer = setTimeout(() => this.process.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  #notify(): void {
    for (const waiter of [...this.#waiters]) waiter();
  }
}

const children = new Set<Child>();

/** Stops every child still running (the orchestrator calls it on the way out, also after a failure). */
export async function stopAll(): Promise<void> {
  await Promise.all([...children].map((child) => child.stop('SIGTERM', 2000)));
}

process.on('exit', () => {
  for (const child of children) child.process.kill('SIGKILL');
});

/**
 * For a child script: its bounded life (exit when the parent disconnects or the lifetime runs
 * out), `reply` to the parent, and a handler for parent messages whose failures are reported as
 * `error` messages instead of crashing silently.
 */
export function childMain(handle: (message: Message) => Promise<void> | void): { reply: (message: Message) => void } {
  const lifetime = Number(process.env.BENCH_LIFETIME_MS ?? 120_000);
  setTimeout(() => {
    console.error(`lifetime of ${lifetime} ms exceeded`);
    process.exit(3);
  }, lifetime).unref();
  process.on('disconnect', () => process.exit(0));
  const reply = (message: Message) => {
    if (process.connected) process.send!(message);
  };
  process.on('message', (message: Message) => {
    Promise.resolve()
      .then(() => handle(message))
      .catch((error: unknown) => reply({ type: 'error', message: error instanceof Error ? (error.stack ?? error.message) : String(error) }));
  });
  process.on('uncaughtException', (error) => {
    reply({ type: 'error', message: error.stack ?? error.message });
    setTimeout(() => process.exit(1), 100);
  });
  return { reply };
}

/** Resolves after `ms` (bench pacing only; never used to wait for a condition). */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `predicate` until it holds; rejects after `timeoutMs` with `what`. */
export async function until(what: string, predicate: () => boolean, timeoutMs: number, everyMs = 10): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}
