import { describe, expect, test } from 'vitest';
import { FixedIntervalStrategy, isLiveChatError } from '../../src/index.js';
import { useHarness, waitFor, waitForState } from '../support/harness.js';
import { V1Server } from '../support/v1-server.js';

const harness = useHarness();

/** Several reconnect delays: long enough for a loop to show itself, short enough for the suite. */
const retryDelayMs = 50;
const watchWindowMs = 6 * retryDelayMs;

/** The one bounded wait of the suite: proving that nothing more happens takes watching for a while. */
const watch = () => new Promise((resolve) => setTimeout(resolve, watchWindowMs));

describe('auth failure: no reconnect loop', () => {
  test('a refused token string: disconnected with auth_failed after exactly one connection', async () => {
    const h = harness();
    const server = h.defer(await V1Server.start());
    const client = h.client(server.url, { token: 'not-a-valid-token', reconnect: new FixedIntervalStrategy({ intervalMs: retryDelayMs }) });
    const errors: string[] = [];
    client.on('error', (error) => errors.push(error.code));
    client.connect();
    await waitForState(client, 'disconnected');

    const { lastError } = client.getSnapshot();
    expect(isLiveChatError(lastError, 'auth_failed')).toBe(true);
    expect(errors).toContain('auth_failed');
    await watch();
    expect(server.connections).toHaveLength(1);
    expect(client.getSnapshot()).toMatchObject({ state: 'disconnected', nextRetryAt: undefined });
    expect(server.received.map((f) => f.type)).toEqual(['auth']);
  });

  test('a token function that keeps failing is asked once more, then the client stops: two connections', async () => {
    const h = harness();
    const server = h.defer(await V1Server.start());
    let calls = 0;
    const token = () => {
      calls++;
      return Promise.resolve(`expired-${calls}`);
    };
    const client = h.client(server.url, { token, reconnect: new FixedIntervalStrategy({ intervalMs: retryDelayMs }) });
    client.connect();
    await waitForState(client, 'disconnected');
    expect(client.getSnapshot().lastError?.code).toBe('auth_failed');
    await watch();
    expect(calls).toBe(2);
    expect(server.connections).toHaveLength(2);
    expect(server.framesOf('auth').map((f) => f.payload.token)).toEqual(['expired-1', 'expired-2']);
  });

  test('a token function whose refreshed token is valid connects on the second try', async () => {
    const h = harness();
    const server = h.defer(await V1Server.start());
    const tokens = ['expired', 'op:alice'];
    const client = h.client(server.url, { token: () => tokens.shift() ?? 'exhausted' });
    client.connect();
    await waitForState(client, 'connected');
    expect(client.getSnapshot()).toMatchObject({ adminId: 'alice', lastError: undefined });
    expect(server.connections).toHaveLength(2);
  });

  test('a token function is called again on every reconnect: a fresh token each time', async () => {
    const h = harness();
    const server = h.defer(await V1Server.start());
    let calls = 0;
    const client = h.client(server.url, { token: () => `op:alice-${++calls}` });
    client.connect();
    await waitForState(client, 'connected');
    await server.close();
    await waitFor('a refused reconnect attempt', () => client.getSnapshot().reconnectAttempt >= 2);
    const restarted = h.defer(await V1Server.start({ port: server.port, store: server.store }));
    await waitForState(client, 'connected');
    expect(restarted.framesOf('auth').at(-1)?.payload.token).toBe(`op:alice-${calls}`);
    expect(calls).toBeGreaterThanOrEqual(2);
  });
});
