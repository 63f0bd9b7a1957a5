/**
 * Server rendering (node environment: no `window`, no `document`, no global WebSocket): a tree
 * with a provider-owned client and every hook renders to HTML without opening a socket, touching
 * browser globals or leaving a timer behind.
 */
import { renderToString } from 'react-dom/server';
import { afterEach, beforeEach, expect, test, vi } from 'vitest';
import { LiveChatClient, type LiveChatClientOptions, type WebSocketConstructor } from '../../src/index.js';
import { LiveChatProvider, useConversation, useLiveChat, useLiveChatClient, useLiveChatEvent } from '../../src/react/index.js';

const browserGlobals = ['window', 'document', 'localStorage', 'sessionStorage', 'WebSocket', 'addEventListener', 'removeEventListener'] as const;
/** Every read of a browser global while a test runs, with where it came from. */
let reads: { name: string; stack: string }[];

beforeEach(() => {
  vi.useFakeTimers();
  reads = [];
  // Absent in Node 20 (checked below); a getter records each read, `typeof` included, and still
  // answers undefined, so code that checks first behaves as it would on a real server.
  for (const name of browserGlobals) {
    expect(name in globalThis, `${name} exists in the node environment`).toBe(false);
    Object.defineProperty(globalThis, name, {
      configurable: true,
      get() {
        reads.push({ name, stack: new Error().stack ?? '' });
        return undefined;
      },
    });
  }
});
afterEach(() => {
  for (const name of browserGlobals) delete (globalThis as Record<string, unknown>)[name];
  vi.useRealTimers();
});

/** A WebSocket constructor that fails the test if anything constructs it. */
const NoSocket = vi.fn(function NoSocket() {
  throw new Error('a WebSocket was created during server rendering');
}) as unknown as WebSocketConstructor;

const options: LiveChatClientOptions = {
  url: 'wss://chat.example.com/api/v1/ws/live-chat',
  token: () => {
    throw new Error('the token was requested during server rendering');
  },
  WebSocket: NoSocket,
};

function Console() {
  const { connectionState, isConnected, reconnectAttempts, snapshot } = useLiveChat();
  const client = useLiveChatClient();
  useLiveChatEvent('message_received', () => {
    throw new Error('an event handler ran during server rendering');
  });
  return (
    <header>{`${connectionState}|${isConnected}|${reconnectAttempts}|${snapshot.pendingCount}|${client instanceof LiveChatClient}`}</header>
  );
}

function Pane({ id }: { id: string }) {
  const { messages, pending, typing, operators, joined } = useConversation(id);
  return (
    <section id={id}>
      {`${messages.length} messages, ${pending.length} pending, typing: ${typing.join(',') || 'none'}, ${operators.length} here, joined: ${joined}`}
    </section>
  );
}

/** Reads of browser globals made by the SDK's own code (React's, if any, are its business). */
function readsBySdk(): string[] {
  return reads.filter(({ stack }) => /[/\\]src[/\\]/.test(stack)).map(({ name, stack }) => `${name}\n${stack}`);
}

test('renderToString with an options provider and every hook: HTML, no socket, no browser global, no timer', () => {
  let html = '';
  expect(() => {
    html = renderToString(
      <LiveChatProvider options={options}>
        <Console />
        <Pane id="U1" />
        <Pane id="U2" />
      </LiveChatProvider>,
    );
  }).not.toThrow();
  expect(html).toContain('<header>disconnected|false|0|0|true</header>');
  expect(html).toContain('<section id="U1">0 messages, 0 pending, typing: none, 0 here, joined: false</section>');
  expect(html).toContain('<section id="U2">');
  expect(NoSocket).not.toHaveBeenCalled();
  expect(readsBySdk()).toEqual([]);
  expect(vi.getTimerCount()).toBe(0);
});

test('with an app-owned client prop: the client stays disconnected and joins nothing', () => {
  const client = new LiveChatClient(options);
  const html = renderToString(
    <LiveChatProvider client={client}>
      <Console />
      <Pane id="U1" />
    </LiveChatProvider>,
  );
  expect(html).toContain('disconnected');
  expect(client.state).toBe('disconnected');
  expect(client.conversation('U1').getSnapshot().joined).toBe(false);
  expect(NoSocket).not.toHaveBeenCalled();
  expect(readsBySdk()).toEqual([]);
  expect(vi.getTimerCount()).toBe(0);
});

test('importing the adapter and the core reads no browser global', async () => {
  vi.resetModules();
  await import('../../src/react/index.js');
  await import('../../src/index.js');
  expect(readsBySdk()).toEqual([]);
});
