import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { LiveChatError } from '../../src/index.js';
import { FakeServer, connectClient, createClient, errorsOf, flush, stopServers } from './helpers.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  stopServers();
  vi.useRealTimers();
});

/** Long enough for many reconnect attempts, were there any. */
const LONG = 10 * 60_000;

describe.each(['refuse', 'close4001'] as const)('auth refused (%s)', (mode) => {
  test('with a static token: disconnected, auth_failed, no further attempts', async () => {
    const server = new FakeServer();
    server.auth = mode;
    const client = createClient(server, { token: 'stale' });
    const errors = errorsOf(client);
    client.connect();
    await flush(20);
    expect(client.state).toBe('disconnected');
    const { lastError } = client.getSnapshot();
    expect(lastError).toBeInstanceOf(LiveChatError);
    expect(lastError?.code).toBe('auth_failed');
    expect(errors.map((error) => error.code)).toContain('auth_failed');
    await flush(LONG);
    expect(server.connections).toBe(1);
    expect(client.state).toBe('disconnected');
    expect(vi.getTimerCount()).toBe(0);
  });

  test('with a token function: exactly one immediate retry with a fresh token, then stop', async () => {
    const server = new FakeServer();
    server.auth = mode;
    let n = 0;
    const token = vi.fn(() => `token-${++n}`);
    const client = createClient(server, { token });
    client.connect();
    await flush(30);
    expect(server.connections).toBe(2);
    expect(server.framesOf('auth').map((frame) => frame.payload.token)).toEqual(['token-1', 'token-2']);
    expect(client.state).toBe('disconnected');
    expect(client.getSnapshot().lastError?.code).toBe('auth_failed');
    await flush(LONG);
    expect(server.connections).toBe(2);
    expect(token).toHaveBeenCalledTimes(2);
  });

  test('with a token function: the fresh token is accepted and the client connects', async () => {
    const server = new FakeServer();
    server.auth = mode;
    const client = createClient(server, {
      token: () => {
        const token = server.connections === 0 ? 'expired' : 'fresh';
        return token;
      },
    });
    server.server.on('connection', () => {
      if (server.connections === 2) server.auth = 'accept';
    });
    client.connect();
    await flush(30);
    expect(client.state).toBe('connected');
    expect(server.framesOf('auth').map((frame) => frame.payload.token)).toEqual(['expired', 'fresh']);
    expect(client.getSnapshot().lastError).toBeUndefined();
    client.disconnect();
  });
});

describe('token function failures', () => {
  test('a throwing token function ends in auth_failed, with no socket and no retry', async () => {
    const server = new FakeServer();
    const cause = new Error('cannot refresh');
    const client = createClient(server, {
      token: () => {
        throw cause;
      },
    });
    const errors = errorsOf(client);
    client.connect();
    await flush(20);
    expect(client.state).toBe('disconnected');
    expect(client.getSnapshot().lastError?.code).toBe('auth_failed');
    expect(client.getSnapshot().lastError?.cause).toBe(cause);
    expect(errors.map((error) => error.code)).toEqual(['auth_failed']);
    await flush(LONG);
    expect(server.connections).toBe(0);
  });

  test('a rejecting token function ends in auth_failed', async () => {
    const server = new FakeServer();
    const client = createClient(server, { token: () => Promise.reject(new Error('offline')) });
    client.connect();
    await flush(20);
    expect(client.state).toBe('disconnected');
    expect(client.getSnapshot().lastError?.code).toBe('auth_failed');
    expect(server.connections).toBe(0);
  });

  test('a token function returning a non-string ends in auth_failed', async () => {
    const server = new FakeServer();
    const client = createClient(server, { token: (() => 42) as unknown as () => string });
    client.connect();
    await flush(20);
    expect(client.getSnapshot().lastError?.code).toBe('auth_failed');
    expect(server.connections).toBe(0);
  });
});

describe('after being connected', () => {
  test('close 4001 mid-session with a token function refreshes the token once at once', async () => {
    const server = new FakeServer();
    let n = 0;
    const client = createClient(server, { token: () => `token-${++n}` });
    await connectClient(client);
    server.close(4001, 'expired');
    await flush(20);
    expect(client.state).toBe('connected');
    expect(server.connections).toBe(2);
    expect(server.framesOf('auth').map((frame) => frame.payload.token)).toEqual(['token-1', 'token-2']);
    // A later expiry, after a connection that stayed up, refreshes again.
    await flush(60_000);
    server.close(4001, 'expired again');
    await flush(20);
    expect(client.state).toBe('connected');
    expect(server.connections).toBe(3);
    client.disconnect();
  });

  test('a server that accepts the token and then closes 4001 at once meets no reconnect loop', async () => {
    const server = new FakeServer();
    server.closeAfterAuth = 4001;
    let n = 0;
    const token = vi.fn(() => `token-${++n}`);
    const client = createClient(server, { token });
    client.connect();
    await flush(60_000);
    expect(server.connections).toBeLessThanOrEqual(5);
    expect(token.mock.calls.length).toBeLessThanOrEqual(5);
    client.disconnect();
  });

  test('close 4001 mid-session with a static token stops with auth_failed', async () => {
    const server = new FakeServer();
    const client = createClient(server);
    await connectClient(client);
    server.close(4001, 'revoked');
    await flush(20);
    expect(client.state).toBe('disconnected');
    expect(client.getSnapshot().lastError?.code).toBe('auth_failed');
    expect(client.getSnapshot().lastError?.message).toContain('revoked');
    await flush(LONG);
    expect(server.connections).toBe(1);
  });

  test('connect() after an auth failure tries again', async () => {
    const server = new FakeServer();
    server.auth = 'refuse';
    const client = createClient(server);
    client.connect();
    await flush(20);
    expect(client.state).toBe('disconnected');
    server.auth = 'accept';
    await connectClient(client);
    expect(client.getSnapshot().lastError).toBeUndefined();
    client.disconnect();
  });
});
