/** The console's client, handed to every component through Svelte's context. */
import type { LiveChatClient } from '@org/live-chat-client';
import { getContext, setContext } from 'svelte';

const key = Symbol('live-chat-client');

/** In the console's root component: makes the client available to its descendants. */
export function setClient(client: LiveChatClient): void {
  setContext(key, client);
}

/** The client set by {@link setClient}; throws outside the console. */
export function getClient(): LiveChatClient {
  const client = getContext<LiveChatClient | undefined>(key);
  if (!client) throw new Error('getClient() outside the console: no client in context');
  return client;
}
