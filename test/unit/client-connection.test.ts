import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { type ConnectionState, LiveChatClient, type LiveChatSnapshot, isLiveChatError } from '../../src/index.js';
import { FakeServer, MockSocket, connectClient, connectedPair, createClient, errorsOf, flush, record, stopServers } from './helpers.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  stopServers();
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

type StateChange = { previous: ConnectionState; current: ConnectionState };

describe('state machine', () => {
  test('disconnected → connecting → connected only after auth_success', async () => {
    const server = new FakeServer();
    server.auth = 'silent';
    const client = createClient(server);
    const changes = record<StateChange>((handler) => client.on('state', handler));
    expect(client.state).toBe('disconnected');
    client.connect();
    expect(client.state).toBe('connecting');
    await flush();
    expect(server.types()).toEqual(['auth']);
    expect(client.state).toBe('connecting');
    server.send('auth_success', { admin_id: 'a7' });
    expect(client.state).toBe('connected');
    expect(client.getSnapshot().adminId).toBe('a7');
    expect(changes).toEqual([
      { previous: 'disconnected', current: 'connecting' },
      { previous: 'connecting', current: 'connected' },
    ]);
    client.disconnect();
  });

  test('a lost connection goes to reconnecting, then back to connected', async () => {
    const { server, client } = await connectedPair();
    const changes = record<StateChange>((handler) => client.on('state', handler));
    server.close(1006);
    await flush();
    expect(client.state).toBe('reconnecting');
    await flush(1020);
    expect(client.state).toBe('connected');
    expect(changes.map((change) => change.current)).toEqual(['reconnecting', 'connected']);
    expect(server.connections).toBe(2);
    client.disconnect();
    expect(client.state).toBe('disconnected');
  });

  test('the state event fires only on real changes', async () => {
    const { server, client } = await connectedPair();
    const changes = record<StateChange>((handler) => client.on('state', handler));
    server.send('auth_success', { admin_id: 'a1' }); // duplicate: ignored
    client.connect(); // already connected
    await flush(100);
    expect(changes).toEqual([]);
    client.disconnect();
    client.disconnect();
    expect(changes).toEqual([{ previous: 'connected', current: 'disconnected' }]);
    for (const change of changes) expect(change.previous).not.toBe(change.current);
  });
});

describe('snapshot', () => {
  test('identity is stable between changes and new after a change', async () => {
    const server = new FakeServer();
    const client = createClient(server);
    const first = client.getSnapshot();
    expect(client.getSnapshot()).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
    client.connect();
    const second = client.getSnapshot();
    expect(second).not.toBe(first);
    expect(second.state).toBe('connecting');
    expect(first.state).toBe('disconnected');
    await flush();
    const third = client.getSnapshot();
    expect(third.state).toBe('connected');
    expect(client.getSnapshot()).toBe(third);
    client.disconnect();
  });

  test('identity does not change when the stable timer fires with the attempt counter already 0', async () => {
    const { client } = await connectedPair({ stableAfterMs: 100, heartbeat: false });
    const snapshot = client.getSnapshot();
    const notified = vi.fn();
    client.subscribe(notified);
    await flush(500);
    expect(client.getSnapshot()).toEqual(snapshot);
    expect(client.getSnapshot()).toBe(snapshot);
    expect(notified).not.toHaveBeenCalled();
    client.disconnect();
  });

  test('identity does not change across heartbeats', async () => {
    const { server, client } = await connectedPair({ stableAfterMs: 10, heartbeat: { intervalMs: 50, timeoutMs: 40 } });
    await flush(20);
    const snapshot = client.getSnapshot();
    await flush(500);
    expect(server.framesOf('ping').length).toBeGreaterThanOrEqual(9);
    expect(client.getSnapshot()).toBe(snapshot);
    client.disconnect();
  });

  test('has state, adminId, reconnectAttempt, nextRetryAt, pendingCount, failedCount and lastError', async () => {
    const { server, client } = await connectedPair();
    server.ackMessages = false;
    const initial: LiveChatSnapshot = client.getSnapshot();
    expect(initial).toEqual({
      state: 'connected',
      adminId: 'a1',
      reconnectAttempt: 0,
      nextRetryAt: undefined,
      pendingCount: 0,
      failedCount: 0,
      lastError: undefined,
    });
    void client.sendMessage('U1', 'one').catch(() => {});
    expect(client.getSnapshot().pendingCount).toBe(1);
    server.close(1006);
    await flush(5);
    const waiting = client.getSnapshot();
    expect(waiting.state).toBe('reconnecting');
    expect(waiting.reconnectAttempt).toBe(1);
    expect(waiting.nextRetryAt! - Date.now()).toBeGreaterThan(900);
    expect(waiting.nextRetryAt! - Date.now()).toBeLessThanOrEqual(1000);
    expect(waiting.lastError?.code).toBe('connection_failed');
    await flush(1020);
    const back = client.getSnapshot();
    expect(back.state).toBe('connected');
    expect(back.nextRetryAt).toBeUndefined();
    expect(back.lastError).toBeUndefined();
    client.disconnect();
  });

  test('subscribe works detached from the client and unsubscribes', async () => {
    const server = new FakeServer();
    const client = createClient(server);
    const { subscribe, getSnapshot } = client;
    const listener = vi.fn();
    const unsubscribe = subscribe(listener);
    client.connect();
    expect(listener).toHaveBeenCalled();
    expect(getSnapshot().state).toBe('connecting');
    const calls = listener.mock.calls.length;
    unsubscribe();
    await flush();
    expect(getSnapshot().state).toBe('connected');
    expect(listener).toHaveBeenCalledTimes(calls);
    client.disconnect();
  });
});

describe('authentication frame', () => {
  test('the first frame is auth {token}; nothing else goes out before auth_success', async () => {
    const server = new FakeServer();
    server.auth = 'silent';
    const client = createClient(server, { token: 'secret' });
    client.send('typing_start', { line_user_id: 'U1' });
    const sent = client.sendMessage('U1', 'queued');
    client.joinConversation('U1');
    client.joinConversation('U3');
    client.connect();
    await flush(50);
    client.startTyping('U1');
    client.send('leave_conversation', { line_user_id: 'U2' });
    client.leaveConversation('U3'); // not joined on this connection yet: nothing to send
    await flush(50);
    expect(server.frames).toHaveLength(1);
    expect(server.frames[0]).toMatchObject({ type: 'auth', payload: { token: 'secret' } });
    expect(typeof server.frames[0]?.timestamp).toBe('string');
    server.send('auth_success', { admin_id: 'a1' });
    await flush();
    expect(server.types()).toEqual(['auth', 'join_conversation', 'typing_start', 'leave_conversation', 'message_send']);
    await expect(sent).resolves.toMatchObject({ conversationId: 'U1' });
    client.disconnect();
  });

  test('without a token the auth frame has an empty payload', async () => {
    const server = new FakeServer();
    const client = createClient(server, { token: undefined });
    await connectClient(client);
    expect(server.frames[0]).toMatchObject({ type: 'auth', payload: {} });
    client.disconnect();
  });

  test('disconnect() closes the socket with code 1000', async () => {
    const { server, client } = await connectedPair();
    const close = vi.spyOn(MockSocket.prototype, 'close');
    client.disconnect();
    expect(close).toHaveBeenCalledWith(1000);
    await flush(5);
    expect(server.open).toHaveLength(0);
    close.mockRestore();
  });

  test('the token function is called on every (re)connect', async () => {
    const server = new FakeServer();
    let n = 0;
    const token = vi.fn(async () => `token-${++n}`);
    const client = createClient(server, { token });
    await connectClient(client);
    server.close(1006);
    await flush(1020);
    expect(client.state).toBe('connected');
    client.disconnect();
    await connectClient(client);
    expect(token).toHaveBeenCalledTimes(3);
    expect(server.framesOf('auth').map((frame) => frame.payload.token)).toEqual(['token-1', 'token-2', 'token-3']);
    client.disconnect();
  });
});

describe('connectTimeoutMs', () => {
  test('no auth_success in time: the socket is dropped and a reconnect scheduled', async () => {
    const server = new FakeServer();
    server.auth = 'silent';
    const client = createClient(server, { connectTimeoutMs: 2000 });
    const errors = errorsOf(client);
    client.connect();
    await flush(1990);
    expect(client.state).toBe('connecting');
    expect(errors).toEqual([]);
    await flush(20);
    expect(client.state).toBe('reconnecting');
    expect(client.getSnapshot().lastError?.code).toBe('auth_timeout');
    expect(errors.map((error) => error.code)).toEqual(['auth_timeout']);
    expect(server.open).toHaveLength(0);
    server.auth = 'accept';
    await flush(1000);
    expect(server.connections).toBe(2);
    expect(client.state).toBe('connected');
    client.disconnect();
  });
});

describe('connectTimeoutMs beyond setTimeout\'s limit', () => {
  test('connectTimeoutMs: Infinity waits for auth_success instead of dropping at once', async () => {
    const server = new FakeServer();
    server.auth = 'silent';
    const client = createClient(server, { connectTimeoutMs: Infinity });
    client.connect();
    await flush(60_000);
    expect(client.state).toBe('connecting');
    expect(server.connections).toBe(1);
    client.disconnect();
  });
});

describe('connect() and disconnect() are idempotent', () => {
  test('in disconnected, connecting and connected states', async () => {
    const server = new FakeServer();
    const client = createClient(server);
    client.disconnect();
    expect(client.state).toBe('disconnected');
    client.connect();
    client.connect();
    await flush();
    client.connect();
    await flush();
    expect(server.connections).toBe(1);
    expect(client.state).toBe('connected');
    client.disconnect();
    client.disconnect();
    await flush(5000);
    expect(client.state).toBe('disconnected');
    expect(server.connections).toBe(1);
    expect(server.open).toHaveLength(0);
  });

  test('disconnect() during the async token fetch opens no socket', async () => {
    const server = new FakeServer();
    let release: (token: string) => void = () => {};
    const client = createClient(server, { token: () => new Promise<string>((resolve) => (release = resolve)) });
    client.connect();
    await flush(5);
    expect(client.state).toBe('connecting');
    client.disconnect();
    expect(client.state).toBe('disconnected');
    release('late');
    await flush(5000);
    expect(server.connections).toBe(0);
    expect(client.state).toBe('disconnected');
    expect(vi.getTimerCount()).toBe(0);
  });

  test('disconnect() while connecting (socket not yet open) opens nothing', async () => {
    const server = new FakeServer();
    const client = createClient(server);
    client.connect();
    await flush(1);
    client.disconnect();
    await flush(5000);
    expect(client.state).toBe('disconnected');
    expect(server.open).toHaveLength(0);
    expect(server.frames).toEqual([]);
  });

  test('connect() after disconnect() connects again', async () => {
    const { server, client } = await connectedPair();
    client.disconnect();
    await flush();
    await connectClient(client);
    expect(server.connections).toBe(2);
    expect(server.open).toHaveLength(1);
    client.disconnect();
  });
});

describe('construction', () => {
  test('url is required', () => {
    expect(() => new LiveChatClient({ url: '' })).toThrow(expect.objectContaining({ code: 'invalid_argument' }));
  });

  test('without any WebSocket implementation it stops with no_websocket', async () => {
    const client = new LiveChatClient({ url: 'ws://nowhere.invalid/' });
    const errors = errorsOf(client);
    client.connect();
    await flush();
    expect(client.state).toBe('disconnected');
    expect(errors.some((error) => isLiveChatError(error, 'no_websocket'))).toBe(true);
  });

  test('a WebSocket constructor that throws leads to a reconnect, not a throw', async () => {
    const server = new FakeServer();
    let calls = 0;
    const Flaky = function (url: string) {
      if (++calls === 1) throw new Error('boom');
      return new MockSocket(url);
    } as unknown as typeof MockSocket;
    const client = createClient(server, { WebSocket: Flaky });
    client.connect();
    await flush();
    expect(client.state).toBe('reconnecting');
    expect(client.getSnapshot().lastError?.code).toBe('connection_failed');
    await flush(1000);
    expect(client.state).toBe('connected');
    client.disconnect();
  });
});
