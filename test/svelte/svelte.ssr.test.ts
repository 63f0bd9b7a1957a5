// Server rendering runs in plain Node: no DOM environment on purpose.
import type { Component } from 'svelte';
import { render } from 'svelte/server';
import { afterAll, afterEach, beforeEach, expect, test, vi } from 'vitest';
import type { LiveChatClient } from '../../src/index.js';
import { listeners } from '../support/listeners.js';
import { FakeServer, connectedPair, countingSocket, createClient, flush, stopServers } from '../unit/helpers.js';
import { adapterPath, cleanUp, compileComponent } from './compile.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  stopServers();
  vi.useRealTimers();
});

afterAll(cleanUp);

function load(): Promise<Component<{ client: LiveChatClient; id: string }>> {
  const source = `
<script>
  import { connectionStore, conversationStore } from '${adapterPath}';
  let { client, id } = $props();
  const connection = connectionStore(client);
  const conversation = conversationStore(client, id);
</script>

<p>{$connection.state}</p>
<p>{$conversation.id}: {$conversation.messages.length}</p>
`;
  return compileComponent('ServerPane', source, { generate: 'server' });
}

test('server rendering with a client that is never connected there: no WebSocket, no frame, no join or listener left', async () => {
  const Pane = await load();
  const server = new FakeServer();
  const sockets = countingSocket();
  const client = createClient(server, { WebSocket: sockets.WebSocket });
  const counts = [listeners(client), listeners(client.conversation('U1'))];
  const { body } = render(Pane, { props: { client, id: 'U1' } });
  await flush();
  expect(body).toContain('<p>disconnected</p>');
  expect(body).toContain('<p>U1: 0</p>');
  expect(sockets.created()).toBe(0);
  expect(server.frames).toEqual([]);
  // `$store` on the server subscribes for the render and unsubscribes at its end: the join is released.
  expect(client.conversation('U1').getSnapshot().joined).toBe(false);
  expect(counts.map((count) => count())).toEqual([0, 0]);
});

test('the stores end their subscriptions with the render (with a connected client, the join is released at once)', async () => {
  const Pane = await load();
  const { server, client } = await connectedPair();
  const counts = [listeners(client), listeners(client.conversation('U1'))];
  const { body } = render(Pane, { props: { client, id: 'U1' } });
  await flush();
  expect(body).toContain('<p>connected</p>');
  expect(counts.map((count) => count())).toEqual([0, 0]);
  expect(client.conversation('U1').getSnapshot().joined).toBe(false);
  // A Svelte store cannot tell a server render from a browser one: a connected client on the
  // server would join and leave at once. Hence the rule in docs/svelte.md: connect only in the browser.
  expect(server.types()).toEqual(['auth', 'join_conversation', 'leave_conversation']);
  client.disconnect();
});
