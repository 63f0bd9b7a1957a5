// Server rendering runs in plain Node: no DOM environment on purpose.
import { afterEach, beforeEach, expect, test, vi } from 'vitest';
import { createSSRApp, defineComponent, h, ref } from 'vue';
import { renderToString } from 'vue/server-renderer';
import type { LiveChatClient } from '../../src/index.js';
import { LiveChatPlugin, useConversation, useLiveChat } from '../../src/vue/index.js';
import { listeners } from '../support/listeners.js';
import { FakeServer, connectedPair, countingSocket, createClient, flush, stopServers } from '../unit/helpers.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  stopServers();
  vi.useRealTimers();
});

const Pane = defineComponent({
  props: { id: { type: String, required: true } },
  setup(props) {
    const chat = useLiveChat();
    const byGetter = useConversation(() => props.id);
    const byRef = useConversation(ref('U2'));
    const byString = useConversation('U3');
    return () =>
      h('div', [
        h('p', chat.connectionState.value),
        ...[byGetter, byRef, byString].map((c) => h('p', `${c.snapshot.value.id}:${c.snapshot.value.joined}:${c.snapshot.value.messages.length}`)),
      ]);
  },
});

function render(client: LiveChatClient): Promise<string> {
  return renderToString(createSSRApp(Pane, { id: 'U1' }).use(LiveChatPlugin, client));
}

test('rendering on the server creates no WebSocket, joins nothing and leaves no listener behind', async () => {
  const server = new FakeServer();
  const sockets = countingSocket();
  const client = createClient(server, { WebSocket: sockets.WebSocket });
  const counts = [listeners(client), ...['U1', 'U2', 'U3'].map((id) => listeners(client.conversation(id)))];

  const html = await render(client);
  await flush();
  expect(html).toBe('<div><p>disconnected</p><p>U1:false:0</p><p>U2:false:0</p><p>U3:false:0</p></div>');
  expect(sockets.created()).toBe(0);
  expect(server.frames).toEqual([]);
  expect(['U1', 'U2', 'U3'].map((id) => client.conversation(id).getSnapshot().joined)).toEqual([false, false, false]);
  // Components are never unmounted on the server: a subscription made there would never end.
  expect(counts.map((count) => count())).toEqual([0, 0, 0, 0]);
});

test('even with a connected client (shared by mistake), server rendering sends no frame and holds no join', async () => {
  const { server, client } = await connectedPair();
  const counts = [listeners(client), listeners(client.conversation('U1'))];
  const before = server.frames.length;
  const html = await render(client);
  await flush();
  expect(html).toContain('<p>connected</p>');
  expect(server.frames.slice(before)).toEqual([]);
  expect(client.conversation('U1').getSnapshot().joined).toBe(false);
  expect(counts.map((count) => count())).toEqual([0, 0]);
  client.disconnect();
});
