import { Timer } from './timer.js';

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

/** Pings on an interval and declares the connection dead when nothing answers in time. */
export class Heartbeat {
  readonly #options: Required<HeartbeatOptions>;
  readonly #ping: () => void;
  readonly #onDead: () => void;
  readonly #tick = new Timer();
  readonly #deadline = new Timer();
  #pingedAt = 0;

  constructor(options: Required<HeartbeatOptions>, ping: () => void, onDead: () => void) {
    this.#options = options;
    this.#ping = ping;
    this.#onDead = onDead;
  }

  start(): void {
    this.#tick.set(() => {
      this.start();
      this.check();
    }, this.#options.intervalMs);
  }

  stop(): void {
    this.#tick.clear();
    this.#deadline.clear();
  }

  /** Any inbound frame proves the connection alive. */
  alive(): void {
    this.#deadline.clear();
  }

  /** Pings now and expects an answer within the timeout (tab became visible, network changed, ack late). */
  check(): void {
    if (!this.#tick.pending || this.#deadline.pending) return;
    this.#ping();
    this.#pingedAt = Date.now();
    this.#deadline.set(() => {
      // The timer fired far later than asked: the machine slept (or a background tab was frozen)
      // and the answer may be queued behind this callback. Ask once more instead of dropping a live link.
      if (Date.now() - this.#pingedAt > 2 * this.#options.timeoutMs) return this.check();
      this.stop();
      this.#onDead();
    }, this.#options.timeoutMs);
  }
}
