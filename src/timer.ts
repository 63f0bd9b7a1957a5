/**
 * One resettable timeout. The timer globals are read at call time, never captured, so fake timers
 * in tests drive every reconnect, heartbeat, ack and TTL deadline. (Members ending in `_` are
 * internal: see tsup.config.ts.)
 */
export interface Timer {
  /**
   * Schedules `callback` after `ms`, replacing any scheduled one. Delays beyond setTimeout's limit
   * (2^31-1 ms, about 24.8 days; `Infinity`) are capped there instead of firing at once.
   */
  set_(callback: () => void, ms: number): void;
  clear_(): void;
  /** Whether a callback is scheduled. */
  readonly pending_: boolean;
}

export function createTimer(): Timer {
  let id: ReturnType<typeof setTimeout> | undefined;
  const clear = () => {
    clearTimeout(id);
    id = undefined;
  };
  return {
    set_(callback, ms) {
      clear();
      id = setTimeout(() => {
        id = undefined;
        callback();
      }, Math.min(ms, 2 ** 31 - 1));
    },
    clear_: clear,
    get pending_() {
      return id !== undefined;
    },
  };
}
