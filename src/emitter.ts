import mitt from 'mitt';
import { guard } from './subscribable.js';

/** Removes the handler it was returned for. */
export type Unsubscribe = () => void;

/** A typed event bus whose `on` returns an unsubscribe function. */
export interface Emitter<Events extends Record<string, unknown>> {
  on<K extends keyof Events>(type: K, handler: (event: Events[K]) => void): Unsubscribe;
  emit<K extends keyof Events>(type: K, event: Events[K]): void;
}

/**
 * Wraps mitt so that `on` returns an unsubscribe function and one throwing handler neither
 * breaks the client's own processing nor starves the other handlers: its error is rethrown in a
 * microtask, where the host reports it as uncaught.
 */
export function createEmitter<Events extends Record<string, unknown>>(): Emitter<Events> {
  const bus = mitt<Events>();
  return {
    on(type, handler) {
      const safe = (event: Events[typeof type]) => guard(() => handler(event));
      bus.on(type, safe);
      return () => bus.off(type, safe);
    },
    // mitt's functions are closures over its handler map: no `this` to bind.
    emit: bus.emit,
  };
}
