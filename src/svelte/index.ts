/**
 * Svelte bindings: stores that satisfy the Svelte store contract directly (`subscribe(run)` calls
 * `run` at once with the current value and returns the unsubscribe function), so `$store` works in
 * Svelte 4 and 5 without importing `svelte` at run time.
 *
 * @module svelte
 */
import type { ConversationSnapshot, LiveChatClient, LiveChatSnapshot } from '../index.js';

/** A readable Svelte store. */
export interface Readable<T> {
  subscribe(run: (value: T) => void): () => void;
}

function readable<T>(getSnapshot: () => T, subscribe: (listener: () => void) => () => void, start = (): (() => void) | void => {}): Readable<T> {
  return {
    subscribe(run) {
      const stop = start();
      // Listen first: a change made by `run` itself (on its first value) is not missed.
      const off = subscribe(() => run(getSnapshot()));
      run(getSnapshot());
      return () => {
        off();
        stop?.();
      };
    },
  };
}

/** The client's snapshot (`$connection.state`, `.reconnectAttempt`, `.nextRetryAt`, `.pendingCount`, …). */
export function connectionStore(client: LiveChatClient): Readable<LiveChatSnapshot> {
  return readable(client.getSnapshot, client.subscribe);
}

/**
 * One conversation's snapshot. Each subscriber holds a join: the conversation is joined on the
 * first subscription and left when the last one unsubscribes.
 */
export function conversationStore(client: LiveChatClient, conversationId: string): Readable<ConversationSnapshot> {
  const conversation = client.conversation(conversationId);
  return readable(conversation.getSnapshot, conversation.subscribe, () => client.joinConversation(conversationId));
}
