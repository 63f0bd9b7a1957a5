/** A listener of an external store: called with no arguments after every change. */
export type Listener = () => void;

/**
 * The external-store contract shared by the client and each conversation: `subscribe` returns an
 * unsubscribe function and works detached from `this`, as React's `useSyncExternalStore` and
 * Svelte's `$store` call it. The snapshot is built lazily and cached until the next change, so its
 * identity changes only when something in it changed.
 */
export abstract class Subscribable<S> {
  readonly #listeners = new Set<Listener>();
  #snapshot: S | undefined;

  /** Registers `listener`; returns the function that removes it. */
  readonly subscribe = (listener: Listener): (() => void) => {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  };

  /** The current immutable snapshot; the same object until something in it changes. */
  readonly getSnapshot = (): S => (this.#snapshot ??= Object.freeze(this.buildSnapshot_()));

  /** @internal */
  protected abstract buildSnapshot_(): S;

  /**
   * @internal Drops the cached snapshot and tells every listener. A throwing listener is rethrown
   * in a microtask (reported as uncaught by the host) so it cannot break the caller's state change.
   */
  changed_(): void {
    this.#snapshot = undefined;
    for (const listener of this.#listeners) guard(listener);
  }
}

/** Calls `callback`; an exception is rethrown in a microtask instead of unwinding the caller. */
export function guard(callback: () => void): void {
  try {
    callback();
  } catch (error) {
    queueMicrotask(() => {
      throw error;
    });
  }
}
