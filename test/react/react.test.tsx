// @vitest-environment happy-dom
/**
 * The React adapter against a real LiveChatClient and the mock-socket FakeServer, with fake timers.
 * Every test fails on any console.error (React's act and "update on an unmounted component"
 * warnings among them) and checks what the server received, not the adapter's internals.
 */
import { act, cleanup, fireEvent, render, renderHook, screen, within } from '@testing-library/react';
import { type ReactNode, StrictMode, useEffect, useState } from 'react';
import { hydrateRoot } from 'react-dom/client';
import { renderToString } from 'react-dom/server';
import { afterEach, beforeEach, describe, expect, test, vi, type MockInstance } from 'vitest';
import {
  FixedIntervalStrategy,
  LiveChatClient,
  type LiveChatClientOptions,
  type Listener,
  type ServerPayloads,
} from '../../src/index.js';
import { LiveChatProvider, useConversation, useLiveChat, useLiveChatClient, useLiveChatEvent } from '../../src/react/index.js';
import { FakeServer, MockSocket, stopServers } from '../unit/helpers.js';

let server: FakeServer;
let consoleError: MockInstance<typeof console.error>;

beforeEach(() => {
  vi.useFakeTimers();
  server = new FakeServer();
  consoleError = vi.spyOn(console, 'error');
});
afterEach(() => {
  cleanup();
  stopServers();
  vi.useRealTimers();
  const errors = consoleError.mock.calls.map((args) => args.map(String).join(' '));
  vi.restoreAllMocks();
  expect(errors, 'console.error was called (a React warning?)').toEqual([]);
});

/** Client options against the test's server: mock-socket, a fixed 1 s reconnect delay. */
function options(extra: Partial<LiveChatClientOptions> = {}): LiveChatClientOptions {
  return {
    url: server.url,
    token: 't',
    WebSocket: MockSocket,
    reconnect: new FixedIntervalStrategy({ intervalMs: 1000 }),
    watchEnvironment: false,
    ...extra,
  };
}

function newClient(extra: Partial<LiveChatClientOptions> = {}): LiveChatClient {
  return new LiveChatClient(options(extra));
}

/** Advances fake time inside act(), so that mock-socket delivers and React renders what follows. */
async function advance(ms = 20): Promise<void> {
  await act(async () => {
    await vi.advanceTimersByTimeAsync(ms);
  });
}

/** A server frame, delivered synchronously to the client, inside act(). */
function serverSends(type: keyof ServerPayloads, payload: Record<string, unknown>): void {
  act(() => server.send(type, payload));
}

/** A customer message, with the next seq of its conversation (acks share the counter). */
function customer(id: string, text?: string): void {
  const seq = server.nextSeq(id);
  serverSends('message_received', { line_user_id: id, message: { type: 'text', text: text ?? `m${seq}` }, seq });
}

/** `join_conversation`/`leave_conversation` frames the server received, as `join:U1` strings. */
function membership(): string[] {
  return server.frames
    .filter((frame) => frame.type === 'join_conversation' || frame.type === 'leave_conversation')
    .map((frame) => `${frame.type === 'join_conversation' ? 'join' : 'leave'}:${String(frame.payload.line_user_id)}`);
}

function withClient(client: LiveChatClient) {
  return ({ children }: { children: ReactNode }) => <LiveChatProvider client={client}>{children}</LiveChatProvider>;
}

/**
 * Counts the listeners a store (the client, a conversation) has through `subscribe`, by wrapping
 * it before anything renders (the hooks read `store.subscribe` at render time).
 */
function trackListeners(store: { subscribe(listener: Listener): () => void }): () => number {
  const subscribe = store.subscribe;
  let active = 0;
  Object.defineProperty(store, 'subscribe', {
    configurable: true,
    value: (listener: Listener) => {
      const unsubscribe = subscribe(listener);
      let live = true;
      active++;
      return () => {
        if (live) active--;
        live = false;
        unsubscribe();
      };
    },
  });
  return () => active;
}

/** Counts `client.on` subscriptions still active, per event type. */
function trackEvents(client: LiveChatClient): { subscriptions: MockInstance; active(): number } {
  const on = client.on.bind(client);
  let active = 0;
  const subscriptions = vi.spyOn(client, 'on').mockImplementation(((type, handler) => {
    const off = on(type, handler);
    let live = true;
    active++;
    return () => {
      if (live) active--;
      live = false;
      off();
    };
  }) as LiveChatClient['on']);
  return { subscriptions, active: () => active };
}

const renders: Record<string, number> = {};
beforeEach(() => {
  for (const key of Object.keys(renders)) delete renders[key];
});
function rendered(name: string): void {
  renders[name] = (renders[name] ?? 0) + 1;
}

function Status() {
  const { connectionState, reconnectAttempts, isConnected, isReconnecting } = useLiveChat();
  rendered('status');
  return (
    <p data-testid="status">
      {connectionState}/{reconnectAttempts}/{isConnected ? 'online' : 'offline'}
      {isReconnecting && '/retrying'}
    </p>
  );
}

/** A conversation pane, as an app would write it. */
function Pane({ id }: { id: string }) {
  const chat = useConversation(id);
  const [draft, setDraft] = useState('');
  rendered(`pane:${id}`);
  return (
    <section data-testid={`pane-${id}`}>
      <ul>
        {chat.messages.map((message) => (
          <li key={message.key} data-status={message.status}>
            {message.content.text}
            {message.status === 'failed' && (
              <>
                <button onClick={() => void chat.retryMessage(message.key).catch(() => {})}>Retry</button>
                <button onClick={() => chat.discardMessage(message.key)}>Discard</button>
              </>
            )}
          </li>
        ))}
      </ul>
      <p data-testid="pending">{chat.pending.length}</p>
      <p data-testid="typing">{chat.typing.join(',')}</p>
      <p data-testid="operators">{chat.operators.join(',')}</p>
      <input
        aria-label="reply"
        value={draft}
        onChange={(event) => {
          setDraft(event.target.value);
          chat.startTyping();
        }}
      />
      <button
        onClick={() => {
          chat.sendMessage(draft).catch(() => {});
          setDraft('');
        }}
      >
        Send
      </button>
    </section>
  );
}

function texts(pane: HTMLElement): string[] {
  return within(pane)
    .queryAllByRole('listitem')
    .map((item) => `${item.firstChild?.textContent}:${item.dataset.status}`);
}

describe('useLiveChat', () => {
  test('connection state reaches the UI: connecting, connected, reconnecting when the server drops, connected', async () => {
    render(
      <LiveChatProvider options={options()}>
        <Status />
      </LiveChatProvider>,
    );
    const status = screen.getByTestId('status');
    expect(status.textContent).toBe('connecting/0/offline');
    await advance();
    expect(status.textContent).toBe('connected/0/online');

    act(() => server.close(1006));
    await advance(5);
    expect(status.textContent).toBe('reconnecting/1/offline/retrying');
    await advance(1010);
    expect(status.textContent).toBe('connected/1/online');
    // The attempt counter resets once the connection has been stable for stableAfterMs (5 s).
    await advance(5000);
    expect(status.textContent).toBe('connected/0/online');
    expect(server.connections).toBe(2);

    // No polling (the seed plan's hook re-rendered every 100 ms): an idle minute, heartbeats
    // included, renders nothing.
    const before = renders.status;
    await advance(60_000);
    expect(server.framesOf('ping').length).toBeGreaterThan(0);
    expect(renders.status).toBe(before);
  });

  test("returns the seed plan's useWebSocket shape plus snapshot and client, with stable actions", async () => {
    const client = newClient();
    const { result, rerender } = renderHook(() => useLiveChat(), { wrapper: withClient(client) });
    const actions = [
      'send',
      'sendMessage',
      'joinConversation',
      'leaveConversation',
      'startTyping',
      'stopTyping',
      'retryMessage',
      'discardMessage',
      'connect',
    ] as const;
    expect(result.current).toMatchObject({
      connectionState: 'disconnected',
      isConnected: false,
      isReconnecting: false,
      reconnectAttempts: 0,
      client,
      snapshot: client.getSnapshot(),
    });
    for (const name of actions) expect(result.current[name], name).toBeTypeOf('function');
    const first = result.current;

    rerender();
    act(() => result.current.connect());
    await advance();
    expect(result.current.connectionState).toBe('connected');
    expect(result.current.isConnected).toBe(true);
    expect(result.current.snapshot).toBe(client.getSnapshot());
    expect(result.current.snapshot.adminId).toBe('a1');
    expect(result.current.snapshot).not.toBe(first.snapshot);
    for (const name of actions) expect(result.current[name], `${name} kept its identity`).toBe(first[name]);

    // The actions are the client's, callable detached (destructured).
    const { joinConversation, leaveConversation, send, sendMessage } = result.current;
    act(() => void joinConversation('U1'));
    act(() => send('typing_start', { line_user_id: 'U1' }));
    let ack: Promise<unknown> | undefined;
    act(() => void (ack = sendMessage('U1', 'hi')));
    await advance();
    await expect(ack).resolves.toMatchObject({ conversationId: 'U1', seq: 1 });
    act(() => leaveConversation('U1'));
    await advance();
    expect(server.types()).toEqual(['auth', 'join_conversation', 'typing_start', 'message_send', 'leave_conversation']);
    act(() => client.disconnect());
  });

  test('a hook used outside <LiveChatProvider> throws a clear error', () => {
    // React reports the render error too; this test expects it.
    consoleError.mockImplementation(() => {});
    const outside = /must be used inside <LiveChatProvider>/;
    expect(() => renderHook(() => useLiveChat())).toThrow(outside);
    expect(() => renderHook(() => useConversation('U1'))).toThrow(outside);
    expect(() => renderHook(() => useLiveChatEvent('message_received', () => {}))).toThrow(outside);
    expect(() => renderHook(() => useLiveChatClient())).toThrow(outside);
    consoleError.mockClear();
  });
});

describe('useConversation', () => {
  test('joins while mounted and leaves after the LAST user unmounts: two users, one join frame', async () => {
    const client = newClient();
    act(() => client.connect());
    await advance();
    function App({ first, second }: { first: boolean; second: boolean }) {
      return (
        <LiveChatProvider client={client}>
          {first && <Pane id="U1" />}
          {second && <Pane id="U1" />}
        </LiveChatProvider>
      );
    }
    const { rerender } = render(<App first second />);
    await advance();
    expect(membership()).toEqual(['join:U1']);
    expect(client.conversation('U1').getSnapshot().joined).toBe(true);

    rerender(<App first={false} second />);
    await advance();
    expect(membership(), 'one user is still mounted').toEqual(['join:U1']);

    rerender(<App first={false} second={false} />);
    await advance();
    expect(membership()).toEqual(['join:U1', 'leave:U1']);
    expect(client.conversation('U1').getSnapshot().joined).toBe(false);
    act(() => client.disconnect());
  });

  test('renders messages (sent, pending, failed with Retry/Discard), typing and presence; actions are bound to the id', async () => {
    const client = newClient({ queue: { ackTimeoutMs: 100, maxRetries: 0 }, typing: { remoteTimeoutMs: 3000 } });
    act(() => client.connect());
    await advance();
    render(
      <LiveChatProvider client={client}>
        <Pane id="U1" />
      </LiveChatProvider>,
    );
    await advance();
    const pane = screen.getByTestId('pane-U1');

    customer('U1', 'hello');
    expect(texts(pane)).toEqual(['hello:sent']);

    // Typing in the input sends typing_start for this conversation (throttled: once).
    const input = within(pane).getByLabelText('reply');
    fireEvent.change(input, { target: { value: 'h' } });
    fireEvent.change(input, { target: { value: 'hi' } });
    await advance();
    expect(server.framesOf('typing_start').map((frame) => frame.payload)).toEqual([{ line_user_id: 'U1' }]);

    // Sending shows the message at once as pending, then sent with the ack.
    server.ackMessages = false;
    fireEvent.click(within(pane).getByText('Send'));
    expect(texts(pane)).toEqual(['hello:sent', 'hi:pending']);
    expect(within(pane).getByTestId('pending').textContent).toBe('1');
    await advance();
    expect(server.framesOf('message_send').at(-1)?.payload).toMatchObject({ line_user_id: 'U1', message: { type: 'text', text: 'hi' } });

    // No ack in time: failed, with Retry and Discard.
    await advance(100);
    expect(texts(pane)).toEqual(['hello:sent', 'hi:failed']);
    server.ackMessages = true;
    fireEvent.click(within(pane).getByText('Retry'));
    await advance();
    expect(texts(pane)).toEqual(['hello:sent', 'hi:sent']);
    expect(within(pane).getByTestId('pending').textContent).toBe('0');

    server.ackMessages = false;
    fireEvent.change(input, { target: { value: 'oops' } });
    fireEvent.click(within(pane).getByText('Send'));
    await advance(110);
    expect(texts(pane)).toEqual(['hello:sent', 'hi:sent', 'oops:failed']);
    fireEvent.click(within(pane).getByText('Discard'));
    expect(texts(pane)).toEqual(['hello:sent', 'hi:sent']);

    // Another operator types and is present; typing expires by itself.
    serverSends('operator_joined', { admin_id: 'a2', line_user_id: 'U1', operators: ['a1', 'a2'] });
    serverSends('typing_started', { admin_id: 'a2', line_user_id: 'U1' });
    expect(within(pane).getByTestId('typing').textContent).toBe('a2');
    expect(within(pane).getByTestId('operators').textContent).toBe('a1,a2');
    await advance(3000);
    expect(within(pane).getByTestId('typing').textContent).toBe('');

    // The other actions, bound to the id.
    const { result } = renderHook(() => useConversation('U1'), { wrapper: withClient(client) });
    expect(result.current).toMatchObject({ id: 'U1', joined: true, lastSeq: 2, resyncRequired: false });
    expect(result.current.pending).toBe(result.current.outgoing);
    act(() => result.current.stopTyping());
    act(() => result.current.addHistory([{ seq: 0, sender: 'customer', content: { type: 'text', text: 'older' }, timestamp: '2024-01-01T00:00:00Z' }]));
    expect(texts(pane)).toEqual(['older:sent', 'hello:sent', 'hi:sent']);
    await advance();
    expect(server.framesOf('typing_stop').map((frame) => frame.payload)).toContainEqual({ line_user_id: 'U1' });
    expect(server.frames.filter((frame) => frame.payload.line_user_id !== undefined && frame.payload.line_user_id !== 'U1')).toEqual([]);
    act(() => client.disconnect());
  });

  test('switching the id leaves the old conversation and joins the new one', async () => {
    const client = newClient();
    act(() => client.connect());
    await advance();
    const { rerender } = render(
      <LiveChatProvider client={client}>
        <Pane id="U1" />
      </LiveChatProvider>,
    );
    await advance();
    customer('U1', 'from U1');
    rerender(
      <LiveChatProvider client={client}>
        <Pane id="U2" />
      </LiveChatProvider>,
    );
    await advance();
    expect(membership()).toEqual(['join:U1', 'leave:U1', 'join:U2']);
    customer('U2', 'from U2');
    customer('U1', 'not shown');
    expect(texts(screen.getByTestId('pane-U2'))).toEqual(['from U2:sent']);
    act(() => client.disconnect());
  });

  test('a change in another conversation does not re-render a pane', async () => {
    const client = newClient();
    act(() => client.connect());
    await advance();
    render(
      <LiveChatProvider client={client}>
        <Pane id="U1" />
        <Pane id="U2" />
      </LiveChatProvider>,
    );
    await advance();
    const u1 = renders['pane:U1'];
    const u2 = renders['pane:U2'];

    customer('U2');
    serverSends('typing_started', { admin_id: 'a2', line_user_id: 'U2' });
    serverSends('operator_joined', { admin_id: 'a2', line_user_id: 'U2' });
    fireEvent.click(within(screen.getByTestId('pane-U2')).getByText('Send')); // an empty draft: rejected
    fireEvent.change(within(screen.getByTestId('pane-U2')).getByLabelText('reply'), { target: { value: 'x' } });
    fireEvent.click(within(screen.getByTestId('pane-U2')).getByText('Send'));
    await advance(); // pending, then acked
    expect(texts(screen.getByTestId('pane-U2'))).toEqual(['m1:sent', 'x:sent']);
    expect(renders['pane:U2']).toBeGreaterThan(u2!);
    expect(renders['pane:U1'], 'U1 re-rendered for a change in U2').toBe(u1);

    customer('U1');
    expect(renders['pane:U1']).toBe(u1! + 1);

    // A reconnect re-renders U2 once, to clear its typing and presence, and leaves U1 alone.
    const before = { ...renders };
    act(() => server.close(1006));
    await advance(1100);
    expect(client.state).toBe('connected');
    expect(server.connections).toBe(2);
    expect(within(screen.getByTestId('pane-U2')).getByTestId('operators').textContent).toBe('');
    expect(renders).toEqual({ 'pane:U1': before['pane:U1'], 'pane:U2': before['pane:U2']! + 1 });
    act(() => client.disconnect());
  });
});

describe('useLiveChatEvent', () => {
  test('calls the latest handler without re-subscribing, and unsubscribes on unmount', async () => {
    const client = newClient();
    const { subscriptions, active } = trackEvents(client);
    act(() => client.connect());
    await advance();
    const seen: string[] = [];
    function Listener({ label }: { label: string }) {
      // A new closure every render, no useCallback: the seed plan captured its callbacks once.
      useLiveChatEvent('message_received', (payload) => seen.push(`${label}:${payload.line_user_id}:${payload.message.text}`));
      return null;
    }
    const { rerender, unmount } = render(
      <LiveChatProvider client={client}>
        <Listener label="a" />
      </LiveChatProvider>,
    );
    customer('U1');
    for (const label of ['b', 'c', 'd']) {
      rerender(
        <LiveChatProvider client={client}>
          <Listener label={label} />
        </LiveChatProvider>,
      );
    }
    customer('U1');
    expect(seen).toEqual(['a:U1:m1', 'd:U1:m2']);
    expect(subscriptions.mock.calls.map(([type]) => type)).toEqual(['message_received']);
    expect(active()).toBe(1);

    unmount();
    expect(active()).toBe(0);
    customer('U1');
    expect(seen).toHaveLength(2);
    act(() => client.disconnect());
  });

  test('the handler of the render being committed is the one called, even for an event raised by an effect of that commit', async () => {
    const client = newClient();
    const seen: string[] = [];
    // Connects in an effect when `go` is set: the 'state' event is emitted synchronously from it,
    // before the effects of the components after it in the tree have run.
    function Connector({ go }: { go: boolean }) {
      const { connect } = useLiveChat();
      useEffect(() => {
        if (go) connect();
      }, [go, connect]);
      return null;
    }
    function Listener({ go }: { go: boolean }) {
      useLiveChatEvent('state', ({ current }) => seen.push(`${go ? 'new' : 'old'} handler:${current}`));
      return null;
    }
    const app = (go: boolean) => (
      <LiveChatProvider client={client}>
        <Connector go={go} />
        <Listener go={go} />
      </LiveChatProvider>
    );
    const { rerender } = render(app(false));
    rerender(app(true));
    expect(seen).toEqual(['new handler:connecting']);
    await advance();
    act(() => client.disconnect());
  });

  test('switching the event type re-subscribes once', () => {
    const client = newClient();
    const { subscriptions, active } = trackEvents(client);
    function Listener({ type }: { type: 'state' | 'error' }) {
      useLiveChatEvent(type, () => {});
      return null;
    }
    const { rerender } = render(
      <LiveChatProvider client={client}>
        <Listener type="state" />
      </LiveChatProvider>,
    );
    rerender(
      <LiveChatProvider client={client}>
        <Listener type="error" />
      </LiveChatProvider>,
    );
    expect(subscriptions.mock.calls.map(([type]) => type)).toEqual(['state', 'error']);
    expect(active()).toBe(1);
  });
});

describe('LiveChatProvider', () => {
  /** Captures the client a provider made, through the context. */
  function Capture({ into }: { into: { client?: LiveChatClient } }) {
    into.client = useLiveChatClient();
    return null;
  }

  test('with options it owns the client: connects on mount, disconnects on unmount, leaves nothing behind', async () => {
    const listeners = { added: 0, removed: 0 };
    vi.spyOn(window, 'addEventListener').mockImplementation(() => void listeners.added++);
    vi.spyOn(window, 'removeEventListener').mockImplementation(() => void listeners.removed++);
    const owned: { client?: LiveChatClient } = {};
    const { unmount } = render(
      <LiveChatProvider options={options({ watchEnvironment: true })}>
        <Capture into={owned} />
        <Status />
        <Pane id="U1" />
      </LiveChatProvider>,
    );
    const client = owned.client!;
    expect(client).toBeInstanceOf(LiveChatClient);
    const clientListeners = trackListeners(client);
    await advance();
    expect(client.state).toBe('connected');
    expect(server.connections).toBe(1);
    expect(membership()).toEqual(['join:U1']);
    expect(listeners.added).toBeGreaterThan(0);

    unmount();
    await advance();
    expect(client.state).toBe('disconnected');
    expect(server.open).toHaveLength(0);
    expect(listeners.removed, 'online/offline listeners removed').toBe(listeners.added);
    expect(clientListeners()).toBe(0);
    expect(vi.getTimerCount(), 'timers left running').toBe(0);
    await advance(60_000);
    expect(server.connections, 'reconnected after unmount').toBe(1);
  });

  test('under StrictMode it opens exactly one connection, and conversations join once', async () => {
    const owned: { client?: LiveChatClient } = {};
    const { unmount } = render(
      <StrictMode>
        <LiveChatProvider options={options()}>
          <Capture into={owned} />
          <Status />
          <Pane id="U1" />
        </LiveChatProvider>
      </StrictMode>,
    );
    await advance();
    expect(screen.getByTestId('status').textContent).toBe('connected/0/online');
    expect(server.connections).toBe(1);
    expect(server.framesOf('auth')).toHaveLength(1);
    // Joins made before the connection is up go out once, after auth.
    expect(membership()).toEqual(['join:U1']);
    await advance(60_000);
    expect(server.connections).toBe(1);

    unmount();
    await advance();
    expect(owned.client!.state).toBe('disconnected');
    expect(server.open).toHaveLength(0);
  });

  test('under StrictMode with an already connected client, a conversation ends joined, and is left on unmount', async () => {
    const client = newClient();
    act(() => client.connect());
    await advance();
    const { unmount } = render(
      <StrictMode>
        <LiveChatProvider client={client}>
          <Pane id="U1" />
        </LiveChatProvider>
      </StrictMode>,
    );
    await advance();
    // React's development-only mount, unmount, mount of effects shows on the wire as join, leave, join.
    expect(membership()).toEqual(['join:U1', 'leave:U1', 'join:U1']);
    expect(client.conversation('U1').getSnapshot().joined).toBe(true);
    customer('U1', 'hi');
    expect(texts(screen.getByTestId('pane-U1'))).toEqual(['hi:sent']);
    unmount();
    await advance();
    expect(membership().at(-1)).toBe('leave:U1');
    expect(client.conversation('U1').getSnapshot().joined).toBe(false);
    expect(server.connections).toBe(1);
    act(() => client.disconnect());
  });

  test('hydrates the server HTML without a mismatch, then connects', async () => {
    const tree = (
      <LiveChatProvider options={options()}>
        <Status />
        <Pane id="U1" />
      </LiveChatProvider>
    );
    const container = document.body.appendChild(document.createElement('div'));
    container.innerHTML = renderToString(tree);
    expect(server.connections, 'the server render connected').toBe(0);
    const recoverable: unknown[] = [];
    let root: ReturnType<typeof hydrateRoot> | undefined;
    act(() => {
      root = hydrateRoot(container, tree, { onRecoverableError: (error) => recoverable.push(error) });
    });
    expect(recoverable, 'hydration mismatch').toEqual([]);
    expect(screen.getByTestId('status').textContent).toBe('connecting/0/offline');
    await advance();
    expect(screen.getByTestId('status').textContent).toBe('connected/0/online');
    expect(membership()).toEqual(['join:U1']);
    act(() => root!.unmount());
    container.remove();
    await advance();
    expect(server.open).toHaveLength(0);
  });

  test('swapping the client prop moves every hook, and the conversation membership, to the new client', async () => {
    const first = newClient();
    const second = newClient();
    act(() => first.connect());
    await advance();
    const seen: string[] = [];
    function Events() {
      useLiveChatEvent('message_received', (payload) => seen.push(String(payload.message.text)));
      return null;
    }
    const app = (client: LiveChatClient) => (
      <LiveChatProvider client={client}>
        <Status />
        <Pane id="U1" />
        <Events />
      </LiveChatProvider>
    );
    const { rerender } = render(app(first));
    await advance();
    customer('U1', 'on first');
    rerender(app(second));
    expect(screen.getByTestId('status').textContent).toBe('disconnected/0/offline');
    expect(first.conversation('U1').getSnapshot().joined).toBe(false);
    expect(second.conversation('U1').getSnapshot().joined).toBe(true);
    expect(texts(screen.getByTestId('pane-U1'))).toEqual([]);
    customer('U1', 'to first, no longer shown');
    expect(seen).toEqual(['on first']);

    act(() => second.connect());
    await advance();
    expect(screen.getByTestId('status').textContent).toBe('connected/0/online');
    customer('U1', 'on second');
    expect(seen).toEqual(['on first', 'on second']);
    expect(texts(screen.getByTestId('pane-U1'))).toEqual(['on second:sent']);
    act(() => first.disconnect());
    act(() => second.disconnect());
  });

  test('with a client prop it neither connects nor disconnects it', async () => {
    const client = newClient();
    const { unmount } = render(
      <LiveChatProvider client={client}>
        <Status />
      </LiveChatProvider>,
    );
    await advance(1000);
    expect(client.state).toBe('disconnected');
    expect(server.connections).toBe(0);
    expect(screen.getByTestId('status').textContent).toBe('disconnected/0/offline');

    act(() => client.connect());
    await advance();
    expect(screen.getByTestId('status').textContent).toBe('connected/0/online');
    unmount();
    await advance(1000);
    expect(client.state).toBe('connected');
    expect(server.open).toHaveLength(1);
    client.disconnect();
  });

  test('after unmount, changes cause no render, no warning, and every listener is gone', async () => {
    const client = newClient();
    const clientListeners = trackListeners(client);
    const conversationListeners = trackListeners(client.conversation('U1'));
    const { active: eventListeners } = trackEvents(client);
    act(() => client.connect());
    await advance();
    function Events() {
      useLiveChatEvent('message_received', () => rendered('event'));
      return null;
    }
    const { unmount } = render(
      <LiveChatProvider client={client}>
        <Status />
        <Pane id="U1" />
        <Events />
      </LiveChatProvider>,
    );
    await advance();
    expect(clientListeners()).toBe(1);
    expect(conversationListeners()).toBe(1);
    expect(eventListeners()).toBe(1);

    unmount();
    expect(clientListeners()).toBe(0);
    expect(conversationListeners()).toBe(0);
    expect(eventListeners()).toBe(0);
    const before = { ...renders };

    // The client lives on (the app owns it): messages, typing, a reconnect, a pending message.
    act(() => void client.joinConversation('U1'));
    customer('U1');
    serverSends('typing_started', { admin_id: 'a2', line_user_id: 'U1' });
    act(() => void client.sendMessage('U1', 'later').catch(() => {}));
    act(() => server.close(1006));
    await advance(2000);
    expect(client.state).toBe('connected');
    expect(client.conversation('U1').getSnapshot().messages).toHaveLength(2);
    expect(renders).toEqual(before);
    act(() => client.disconnect());
  });
});
