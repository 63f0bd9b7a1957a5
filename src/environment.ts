/** What the browser tells the client about the network and the tab. */
export interface EnvironmentHandlers {
  /** The browser says the network is back. */
  online_(): void;
  /** The network is gone, or the tab became visible again: is the link still alive? */
  check_(): void;
}

type Target = Pick<EventTarget, 'addEventListener' | 'removeEventListener'>;

/**
 * Listens to `online`/`offline` on the global object and `visibilitychange` on `document`, where
 * they exist (browsers; not Node, SSR or most workers). Globals are read at call time, never at
 * import time. Returns the function that removes every listener it added.
 */
export function watchEnvironment({ online_: online, check_: check }: EnvironmentHandlers): () => void {
  const scope = globalThis as Partial<Target> & { document?: Target & { visibilityState?: string } };
  const doc = scope.document;
  const visible = () => doc?.visibilityState === 'visible' && check();
  const listeners: [Partial<Target> | undefined, string, () => unknown][] = [
    [scope, 'online', online],
    [scope, 'offline', check],
    [doc, 'visibilitychange', visible],
  ];
  const each = (method: 'addEventListener' | 'removeEventListener') => {
    for (const [target, type, listener] of listeners) target?.[method]?.(type, listener);
  };
  each('addEventListener');
  return () => each('removeEventListener');
}
