/** Anything with the external-store `subscribe` (the client, a conversation). */
export interface Subscribes {
  subscribe: (listener: () => void) => () => void;
}

/**
 * Counts the listeners an external store holds now, by wrapping its `subscribe` (an own property
 * of the client and of each conversation). Call it before the adapter under test subscribes.
 */
export function listeners(store: Subscribes): () => number {
  let count = 0;
  const subscribe = store.subscribe;
  Object.defineProperty(store, 'subscribe', {
    configurable: true,
    value: (listener: () => void) => {
      const off = subscribe(listener);
      count++;
      let held = true;
      return () => {
        if (held) count--;
        held = false;
        off();
      };
    },
  });
  return () => count;
}
