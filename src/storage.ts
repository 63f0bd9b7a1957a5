import type { OutboxEntry, OutboxStorage } from './queue.js';

/**
 * Keeps the outbox in `localStorage` under `key`, so unsent operator messages survive a page
 * reload and are sent (with their original `temp_id`, so never twice) when the client reconnects.
 * Use one key per operator. `localStorage` is looked up at call time, so this is safe to create
 * during server-side rendering; where it is missing or full, the outbox stays in memory.
 *
 * @example
 * ```ts
 * const client = new LiveChatClient({ url, token, queue: { storage: localStorageOutbox(`outbox:${operatorId}`) } });
 * ```
 */
export function localStorageOutbox(key = 'live-chat-client:outbox'): OutboxStorage {
  const store = (): Storage | undefined => {
    try {
      return (globalThis as { localStorage?: Storage }).localStorage;
    } catch {
      return undefined; // access itself throws when storage is disabled
    }
  };
  return {
    load(): OutboxEntry[] {
      try {
        const parsed: unknown = JSON.parse(store()?.getItem(key) ?? '[]');
        return Array.isArray(parsed) ? (parsed as OutboxEntry[]) : [];
      } catch {
        return [];
      }
    },
    save(entries) {
      const storage = store();
      if (!storage) return;
      if (entries.length === 0) storage.removeItem(key);
      else storage.setItem(key, JSON.stringify(entries));
    },
  };
}
