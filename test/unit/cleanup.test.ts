import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { FixedIntervalStrategy, type LiveChatClient, localStorageOutbox } from '../../src/index.js';
import { FakeServer, MemoryStorage, connectedPair, createClient, flush, stopServers, stubBrowser } from './helpers.js';

let browser: ReturnType<typeof stubBrowser>;

beforeEach(() => {
  vi.useFakeTimers();
  browser = stubBrowser();
});
afterEach(() => {
  stopServers();
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

/** Disconnects, lets mock-socket deliver the close, and checks that nothing is left behind. */
async function expectClean(client: LiveChatClient, server: FakeServer): Promise<void> {
  expect(browser.listenerCount()).toBeGreaterThan(0);
  client.disconnect();
  await flush(5);
  expect(client.state).toBe('disconnected');
  expect(vi.getTimerCount()).toBe(0);
  expect(browser.listenerCount()).toBe(0);
  expect(server.open).toHaveLength(0);
  const connections = server.connections;
  await flush(60 * 60_000);
  expect(server.connections).toBe(connections);
}

describe('disconnect() leaves no timer and no listener', () => {
  test('connected, with heartbeat and the stable timer running', async () => {
    const { server, client } = await connectedPair({ heartbeat: { intervalMs: 1000, timeoutMs: 500 } });
    await flush(1005); // a ping is out, its pong deadline armed
    expect(vi.getTimerCount()).toBeGreaterThan(0);
    await expectClean(client, server);
  });

  test('connecting, before the socket opened', async () => {
    const server = new FakeServer();
    const client = createClient(server);
    client.connect();
    await flush(1);
    await expectClean(client, server);
  });

  test('waiting for auth_success', async () => {
    const server = new FakeServer();
    server.auth = 'silent';
    const client = createClient(server);
    client.connect();
    await flush(20);
    expect(client.state).toBe('connecting');
    await expectClean(client, server);
  });

  test('reconnecting (waiting for the retry timer)', async () => {
    const { server, client } = await connectedPair({ reconnect: new FixedIntervalStrategy({ intervalMs: 30_000 }) });
    server.close(1006);
    await flush(5);
    expect(client.state).toBe('reconnecting');
    await expectClean(client, server);
  });

  test('pending messages with TTL and ack timers, and failed ones', async () => {
    const { server, client } = await connectedPair({ queue: { ttlMs: 60_000, ackTimeoutMs: 1000, maxRetries: 0 } });
    server.ackMessages = false;
    void client.sendMessage('U1', 'will fail').catch(() => {});
    await flush(1010);
    expect(client.getSnapshot().failedCount).toBe(1);
    void client.sendMessage('U1', 'pending').catch(() => {});
    void client.sendMessage('U2', 'pending too').catch(() => {});
    await flush();
    await expectClean(client, server);
    expect(client.getSnapshot()).toMatchObject({ pendingCount: 2, failedCount: 1 });
  });

  test('with messages queued before connecting', async () => {
    const server = new FakeServer();
    server.auth = 'silent';
    const client = createClient(server, { queue: { ttlMs: 60_000 } });
    void client.sendMessage('U1', 'queued').catch(() => {});
    client.connect();
    await flush(20);
    await expectClean(client, server);
  });

  test('typing active, local and remote', async () => {
    const { server, client } = await connectedPair({ heartbeat: false });
    client.joinConversation('U1');
    client.startTyping('U1');
    server.send('typing_started', { admin_id: 'a2', line_user_id: 'U1' });
    server.send('operator_joined', { admin_id: 'a2', line_user_id: 'U1' });
    await flush();
    await expectClean(client, server);
    expect(client.conversation('U1').getSnapshot()).toMatchObject({ typing: [], operators: [] });
  });

  test('with a storage adapter', async () => {
    vi.stubGlobal('localStorage', new MemoryStorage());
    const { server, client } = await connectedPair({ queue: { storage: localStorageOutbox('cleanup') } });
    server.ackMessages = false;
    void client.sendMessage('U1', 'stored').catch(() => {});
    await flush();
    await expectClean(client, server);
  });
});

describe('stopping by itself leaves nothing behind', () => {
  test.each([
    ['auth refused', (server: FakeServer) => (server.auth = 'refuse')],
    ['closed with 1000', (server: FakeServer) => (server.closeAfterAuth = 1000)],
  ])('%s', async (_, setup) => {
    const server = new FakeServer();
    setup(server);
    const client = createClient(server, { heartbeat: { intervalMs: 1000, timeoutMs: 500 } });
    client.connect();
    await flush(30);
    expect(client.state).toBe('disconnected');
    expect(vi.getTimerCount()).toBe(0);
    expect(browser.listenerCount()).toBe(0);
  });
});
