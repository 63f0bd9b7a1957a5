/**
 * The client on Node's `ws` (DESIGN §3: "`ws` in Node"). `ws` emits 'error' as an EventEmitter
 * event: with no listener it is thrown as an uncaught exception (a crash in a Node process) and the
 * 'close' that should follow is never emitted. These tests pin the failures that reach it.
 */
import { describe, expect, test } from 'vitest';
import { FixedIntervalStrategy } from '../../src/index.js';
import { useHarness, waitFor, waitForState } from '../support/harness.js';
import { FaultProxy } from '../support/proxy.js';
import { LIVE_CHAT_PATH, V1Server } from '../support/v1-server.js';

const harness = useHarness();

/** A port on 127.0.0.1 where nothing listens. */
async function deadPort(): Promise<number> {
  const server = await V1Server.start();
  await server.close();
  return server.port;
}

describe('the client on ws (Node)', () => {
  test('connection refused: each failed attempt is noticed at once and retried per the strategy, no uncaught error', async () => {
    const h = harness();
    const url = `ws://127.0.0.1:${await deadPort()}${LIVE_CHAT_PATH}`;
    const client = h.client(url, { token: 'op:alice', reconnect: new FixedIntervalStrategy({ intervalMs: 50 }), connectTimeoutMs: 5000 });
    const failures: string[] = [];
    client.on('error', (error) => failures.push(error.code));
    client.connect();
    // Without the close event the client would sit until connectTimeoutMs (5 s) for each attempt.
    await waitFor('three failed attempts', () => failures.filter((code) => code === 'connection_failed').length >= 3, {
      timeoutMs: 1500,
      describe: () => ({ failures, uncaught: h.uncaught.map(String) }),
    });
    expect(client.state).toBe('reconnecting');
    expect(h.uncaught.map(String)).toEqual([]);
  });

  test('accepted then reset before the handshake: retried at once per the strategy, no uncaught error', async () => {
    const h = harness();
    const server = h.defer(await V1Server.start());
    const proxy = h.defer(await FaultProxy.start(server.port));
    proxy.refuse(true);
    const client = h.client(proxy.url(LIVE_CHAT_PATH), { token: 'op:alice', reconnect: new FixedIntervalStrategy({ intervalMs: 50 }), connectTimeoutMs: 5000 });
    client.connect();
    await waitFor('three attempts', () => proxy.connectionCount >= 3, { timeoutMs: 1500, describe: () => h.uncaught.map(String) });
    proxy.refuse(false);
    await waitForState(client, 'connected');
  });

  test('connect timeout on a hung handshake: the socket is abandoned and retried, no uncaught error', async () => {
    const h = harness();
    const server = h.defer(await V1Server.start());
    const proxy = h.defer(await FaultProxy.start(server.port));
    proxy.stall();
    const client = h.client(proxy.url(LIVE_CHAT_PATH), { token: 'op:alice', connectTimeoutMs: 150, reconnect: new FixedIntervalStrategy({ intervalMs: 20 }) });
    const timeouts: string[] = [];
    client.on('error', (error) => timeouts.push(error.code));
    client.connect();
    await waitFor('two connect timeouts', () => timeouts.filter((code) => code === 'auth_timeout').length >= 2);
    proxy.unstall();
    await waitForState(client, 'connected');
  });

  test('disconnect() while the socket is still connecting: disconnected, no uncaught error', async () => {
    const h = harness();
    const server = h.defer(await V1Server.start());
    const proxy = h.defer(await FaultProxy.start(server.port));
    proxy.stall();
    const client = h.client(proxy.url(LIVE_CHAT_PATH), { token: 'op:alice' });
    client.connect();
    await waitFor('TCP connection made', () => proxy.connectionCount === 1);
    expect(client.state).toBe('connecting');
    client.disconnect();
    expect(client.state).toBe('disconnected');
    await new Promise((resolve) => setImmediate(resolve)); // ws reports the aborted handshake on a later tick
    expect(h.uncaught.map(String)).toEqual([]);
  });
});
