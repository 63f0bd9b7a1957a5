/** Options of the heartbeat; pass `heartbeat: false` to the client to turn it off. */
export interface HeartbeatOptions {
  /**
   * Send a `ping` this long after the last one.
   * @default 25000
   */
  intervalMs?: number;
  /**
   * Declare the connection dead when no frame at all (pong or other) arrives this long after a ping.
   * Browsers cannot see a half-open TCP connection; this is how the client notices one.
   * @default 10000
   */
  timeoutMs?: number;
}

export const heartbeatDefaults = { intervalMs: 25_000, timeoutMs: 10_000 } as const;

/**
 * Pings on an interval and declares the connection dead when nothing answers in time.
 * Timers are read from the globals at call time so fake timers drive them in tests.
 */
export class Heartbeat {
  readonly #intervalMs: number;
  readonly #timeoutMs: number;
  readonly #ping: () => void;
  readonly #onDead: () => void;
  #tick: ReturnType<typeof setTimeout> | undefined;
  #deadline: ReturnType<typeof setTimeout> | undefined;
  #armedAt = 0;
  #running = false;

  constructor(options: Required<HeartbeatOptions>, ping: () => void, onDead: () => void) {
    this.#intervalMs = options.intervalMs;
    this.#timeoutMs = options.timeoutMs;
    this.#ping = ping;
    this.#onDead = onDead;
  }

  start(): void {
    this.stop();
    this.#running = true;
    this.#schedule();
  }

  stop(): void {
    this.#running = false;
    clearTimeout(this.#tick);
    clearTimeout(this.#deadline);
    this.#tick = this.#deadline = undefined;
  }

  /** Any inbound frame proves the connection alive. */
  alive(): void {
    if (this.#deadline === undefined) return;
    clearTimeout(this.#deadline);
    this.#deadline = undefined;
  }

  /** Pings now and expects an answer within the timeout (tab became visible, network changed). */
  check(): void {
    if (!this.#running || this.#deadline !== undefined) return;
    this.#ping();
    this.#armedAt = Date.now();
    this.#deadline = setTimeout(() => this.#expired(), this.#timeoutMs);
  }

  #schedule(): void {
    this.#tick = setTimeout(() => {
      this.#schedule();
      this.check();
    }, this.#intervalMs);
  }

  #expired(): void {
    this.#deadline = undefined;
    // The timer fired far later than asked: the machine slept (or a background tab was frozen) and
    // the answer may be queued behind this callback. Ask once more instead of dropping a live link.
    if (Date.now() - this.#armedAt > 2 * this.#timeoutMs) {
      this.check();
      return;
    }
    this.stop();
    this.#onDead();
  }
}
