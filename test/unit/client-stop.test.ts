import { afterEach, beforeEach, expect, test, vi } from 'vitest';
import { DeliveryError, ExponentialBackoffStrategy } from '../../src/index.js';
import { FakeServer, connectedPair, createClient, flush, settle, stopServers } from './helpers.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  stopServers();
  vi.unstubAllGlobals();
  vi.useRealTimers();
});

test('a fatal stop (auth refused) fails the pending messages instead of leaving them hanging', async () => {
  const server = new FakeServer();
  server.auth = 'refuse';
  const client = createClient(server, { token: 'stale' });
  const result = settle(client.sendMessage('U1', 'hello', { tempId: 'm1' }));
  client.connect();
  await flush(20);
  expect(client.state).toBe('disconnected');
  expect(result.done).toBe(true);
  expect(result.error).toBeInstanceOf(DeliveryError);
  expect(result.error).toMatchObject({ code: 'auth_failed', tempId: 'm1' });
  expect(client.conversation('U1').getSnapshot().messages.map((m) => m.status)).toEqual(['failed']);
  expect(client.getSnapshot()).toMatchObject({ pendingCount: 0, failedCount: 1 });
});

test('reconnect_exhausted fails the pending messages too', async () => {
  const server = new FakeServer();
  server.auth = 'silent';
  const client = createClient(server, {
    connectTimeoutMs: 100,
    reconnect: new ExponentialBackoffStrategy({ baseDelayMs: 10, maxAttempts: 2 }),
  });
  const result = settle(client.sendMessage('U1', 'hello'));
  client.connect();
  await flush(2_000);
  expect(client.getSnapshot().lastError?.code).toBe('reconnect_exhausted');
  expect(result.error).toMatchObject({ code: 'reconnect_exhausted' });
});

test('an intentional disconnect keeps pending messages pending for the next connect', async () => {
  const { server, client } = await connectedPair({ heartbeat: false });
  server.ackMessages = false;
  const result = settle(client.sendMessage('U1', 'hello'));
  await flush(20);
  client.disconnect();
  await flush(60_000);
  expect(result.done).toBe(false);
  expect(client.getSnapshot().pendingCount).toBe(1);
});

test('connectTimeoutMs also bounds a token function that never settles', async () => {
  const server = new FakeServer();
  let calls = 0;
  const client = createClient(server, {
    token: () => (++calls === 1 ? new Promise<string>(() => {}) : 'good'),
    connectTimeoutMs: 1_000,
    reconnect: new ExponentialBackoffStrategy({ baseDelayMs: 10 }),
  });
  client.connect();
  await flush(999);
  expect(client.state).toBe('connecting');
  await flush(200);
  expect(calls).toBe(2);
  expect(client.state).toBe('connected');
});

test('a throwing subscribe listener does not break the state machine', async () => {
  const server = new FakeServer();
  const client = createClient(server);
  const thrown: unknown[] = [];
  const onError = (error: unknown) => thrown.push(error);
  process.on('uncaughtException', onError);
  try {
    client.subscribe(() => {
      throw new Error('listener bug');
    });
    const calls: string[] = [];
    client.subscribe(() => calls.push(client.state));
    client.connect();
    await flush(20);
    expect(client.state).toBe('connected');
    expect(calls).toContain('connected');
    expect(thrown.length).toBeGreaterThan(0);
  } finally {
    process.off('uncaughtException', onError);
  }
});
