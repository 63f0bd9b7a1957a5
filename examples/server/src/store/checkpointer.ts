import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** What one background checkpoint did (`PRAGMA wal_checkpoint(PASSIVE)`). */
export interface CheckpointResult {
  /** Frames in the WAL when it ran. */
  walFrames: number;
  /** Frames of it now copied into the database file. */
  checkpointed: number;
}

export interface CheckpointerOptions {
  /** Committed appends between two checkpoints. */
  every: number;
  onCheckpoint?: (result: CheckpointResult) => void;
  /** The checkpointer failed: the caller takes checkpoints back (SQLite's own autocheckpoint). */
  onFailure: (error: Error) => void;
}

/**
 * The worker: its own connection to the database, which runs a PASSIVE checkpoint whenever it is
 * asked. PASSIVE never waits for the writer (and the writer never waits for it): it copies what
 * the WAL holds into the database file, syncing both as `synchronous = NORMAL` requires.
 * Plain JavaScript (evaluated), so that it runs the same under tsx, vitest and compiled code.
 */
const workerSource = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.betterSqlite3);
let db;
try {
  db = new Database(workerData.path);
  db.pragma('synchronous = NORMAL');
  db.pragma('wal_autocheckpoint = 0');
} catch (error) {
  parentPort.postMessage({ error: String(error && error.message || error) });
}
parentPort.on('message', (message) => {
  if (!db) return;
  if (message === 'close') {
    db.close();
    parentPort.close();
    return;
  }
  try {
    const [row] = db.pragma('wal_checkpoint(PASSIVE)');
    parentPort.postMessage({ walFrames: row.log, checkpointed: row.checkpointed });
  } catch (error) {
    parentPort.postMessage({ error: String(error && error.message || error) });
  }
});
`;

/**
 * Checkpoints a WAL database from a worker thread, so that copying pages into the database file
 * and the fsyncs that make that durable never stall the event loop (with SQLite's autocheckpoint
 * they ran inside a COMMIT every ~1000 pages: milliseconds during which no ack left). The worker
 * starts with the first checkpoint, so a store that writes little never starts one.
 */
export class BackgroundCheckpointer {
  readonly #path: string;
  readonly #options: CheckpointerOptions;
  #worker: Worker | undefined;
  #exited: Promise<void> | undefined;
  /** Appends committed since the last checkpoint was asked for. */
  #committed = 0;
  #running = false;
  #stopped = false;

  constructor(path: string, options: CheckpointerOptions) {
    this.#path = path;
    this.#options = options;
  }

  /** Counts committed appends; asks for a checkpoint every `every` of them (one at a time). */
  committed(appends: number): void {
    this.#committed += appends;
    if (!this.#running && !this.#stopped && this.#committed >= this.#options.every) this.#start();
  }

  /** Stops the worker (after the checkpoint it may be running) and closes its connection. */
  async close(): Promise<void> {
    this.#stopped = true;
    const worker = this.#worker;
    if (!worker) return;
    worker.postMessage('close');
    let timer: NodeJS.Timeout | undefined;
    // A checkpoint under way finishes first (its fsync may take a while); a stuck one is cut off.
    const stuck = new Promise<void>((resolve) => (timer = setTimeout(() => void worker.terminate().then(() => resolve()), 10_000)));
    await Promise.race([this.#exited, stuck]);
    clearTimeout(timer);
  }

  #start(): void {
    this.#committed = 0;
    this.#running = true;
    try {
      (this.#worker ??= this.#spawn()).postMessage('checkpoint');
    } catch (error) {
      this.#fail(error);
    }
  }

  #spawn(): Worker {
    const worker = new Worker(workerSource, {
      eval: true,
      workerData: { path: this.#path, betterSqlite3: createRequire(import.meta.url).resolve('better-sqlite3') },
    });
    // Never what keeps a process alive.
    worker.unref();
    this.#exited = new Promise((resolve) => worker.once('exit', () => resolve()));
    worker.on('message', (message: CheckpointResult | { error: string }) => {
      this.#running = false;
      if ('error' in message) return this.#fail(new Error(message.error));
      this.#options.onCheckpoint?.(message);
      if (this.#committed >= this.#options.every && !this.#stopped) this.#start();
    });
    worker.on('error', (error) => this.#fail(error));
    worker.on('exit', () => {
      if (!this.#stopped) this.#fail(new Error('the checkpoint worker exited'));
    });
    return worker;
  }

  #fail(error: unknown): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#running = false;
    void this.#worker?.terminate();
    this.#options.onFailure(error instanceof Error ? error : new Error(String(error)));
  }
}
