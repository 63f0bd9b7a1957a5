/** What the browser tells the client about the network and the tab. */
export interface EnvironmentHandlers {
  /** The browser says the network is back. */
  online(): void;
  /** The browser says the network is gone, or the tab became visible again: is the link still alive? */
  check(): void;
}

interface EventSource {
  addEventListener(type: string, listener: () => void): void;
  removeEventListener(type: string, listener: () => void): void;
}

/**
 * Listens to `online`/`offline` on the global object and `visibilitychange` on `document`, where
 * they exist (browsers; not Node, SSR or most workers). Globals are read at call time, never at
 * import time. Returns the function that removes every listener it added.
 */
export function watchEnvironment(handlers: EnvironmentHandlers): () => void {
  const scope = globalThis as unknown as Partial<EventSource> & {
    document?: Partial<EventSource> & { visibilityState?: string };
  };
  const removers: (() => void)[] = [];
  const listen = (target: Partial<EventSource> | undefined, type: string, listener: () => void) => {
    if (typeof target?.addEventListener !== 'function') return;
    target.addEventListener(type, listener);
    removers.push(() => target.removeEventListener?.(type, listener));
  };
  const online = () => handlers.online();
  const check = () => handlers.check();
  const visibility = () => {
    if (scope.document?.visibilityState === 'visible') handlers.check();
  };
  listen(scope, 'online', online);
  listen(scope, 'offline', check);
  listen(scope.document, 'visibilitychange', visibility);
  return () => {
    for (const remove of removers.splice(0)) remove();
  };
}
