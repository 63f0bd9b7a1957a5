/**
 * One resettable timeout. The timer globals are read at call time, never captured, so fake
 * timers in tests drive every reconnect, heartbeat, ack and typing deadline.
 */
export class Timer {
  #id: ReturnType<typeof setTimeout> | undefined;

  /** Whether a callback is scheduled. */
  get pending(): boolean {
    return this.#id !== undefined;
  }

  /**
   * Schedules `callback` after `ms`, replacing any scheduled one. Delays beyond setTimeout's limit
   * (2^31-1 ms, about 24.8 days; `Infinity`) are capped there instead of firing at once.
   */
  set(callback: () => void, ms: number): void {
    this.clear();
    this.#id = setTimeout(() => {
      this.#id = undefined;
      callback();
    }, Math.min(ms, 2 ** 31 - 1));
  }

  clear(): void {
    clearTimeout(this.#id);
    this.#id = undefined;
  }
}
