import { LiveChatError } from './errors.js';

/**
 * Decides whether and when the client reconnects. `attempt` counts from 1 for the first retry
 * after a connection was lost and is reset only once a connection has stayed authenticated for
 * `stableAfterMs`, so a server that accepts and then drops connections does not reset the backoff.
 */
export interface ReconnectStrategy {
  /** Milliseconds to wait before reconnect attempt number `attempt` (1-based). */
  getDelay(attempt: number): number;
  /** Whether attempt number `attempt` (1-based) should be made at all. */
  shouldRetry(attempt: number): boolean;
}

/** Options of {@link ExponentialBackoffStrategy}. */
export interface ExponentialBackoffOptions {
  /**
   * Upper bound of the first delay; the bound doubles with each attempt.
   * @default 1000
   */
  baseDelayMs?: number;
  /**
   * Cap of the delay bound.
   * @default 30000
   */
  maxDelayMs?: number;
  /**
   * Give up after this many attempts. An operator console must stay up, so there is no limit by default.
   * @default Infinity
   */
  maxAttempts?: number;
  /**
   * Source of randomness in [0, 1); replace it to make delays deterministic in tests.
   * @default Math.random
   */
  random?: () => number;
}

/**
 * Exponential backoff with full jitter: the delay is uniform in `[0, min(maxDelayMs, baseDelayMs · 2^(attempt-1)))`.
 * Full jitter spreads a crowd of clients that lost the same server over the whole window, so a
 * restarted server is not hit by a synchronized reconnect storm.
 */
export class ExponentialBackoffStrategy implements ReconnectStrategy {
  // `declare`: set by `assignChecked`, so no class-field definitions are emitted for them.
  declare readonly baseDelayMs: number;
  declare readonly maxDelayMs: number;
  declare readonly maxAttempts: number;
  readonly #random: () => number;

  constructor({ baseDelayMs = 1000, maxDelayMs = 30_000, maxAttempts = Infinity, random = Math.random }: ExponentialBackoffOptions = {}) {
    assignChecked(this, { baseDelayMs, maxDelayMs, maxAttempts });
    this.#random = random;
  }

  getDelay(attempt: number): number {
    // The exponent is capped so that 0 · 2^n never becomes 0 · Infinity = NaN.
    return Math.floor(this.#random() * Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** Math.min(attempt - 1, 64)));
  }

  shouldRetry(attempt: number): boolean {
    return attempt <= this.maxAttempts;
  }
}

/** Options of {@link FixedIntervalStrategy}. */
export interface FixedIntervalOptions {
  /**
   * Delay before each attempt.
   * @default 5000
   */
  intervalMs?: number;
  /**
   * Give up after this many attempts.
   * @default Infinity
   */
  maxAttempts?: number;
}

/** The same delay before every attempt. Prefer {@link ExponentialBackoffStrategy} for many clients. */
export class FixedIntervalStrategy implements ReconnectStrategy {
  declare readonly intervalMs: number;
  declare readonly maxAttempts: number;

  constructor({ intervalMs = 5000, maxAttempts = Infinity }: FixedIntervalOptions = {}) {
    assignChecked(this, { intervalMs, maxAttempts });
  }

  getDelay(_attempt?: number): number {
    return this.intervalMs;
  }

  shouldRetry(attempt: number): boolean {
    return attempt <= this.maxAttempts;
  }
}

/** Assigns the options to the strategy once each is checked to be a number >= 0. */
function assignChecked(strategy: ReconnectStrategy, options: Record<string, number>): void {
  for (const [name, value] of Object.entries(options)) {
    if (!(value >= 0)) throw new LiveChatError('invalid_argument', `${name} must be a number >= 0`);
  }
  Object.assign(strategy, options);
}
