import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { ExponentialBackoffStrategy, FixedIntervalStrategy, type ReconnectStrategy } from '../../src/index.js';
import { FakeServer, connectClient, connectedPair, createClient, errorsOf, flush, stopServers, stubBrowser } from './helpers.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  stopServers();
  vi.useRealTimers();
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

describe('ExponentialBackoffStrategy', () => {
  test('full jitter: the delay is random * min(max, base * 2^(attempt-1)), floored', () => {
    let r = 0;
    const strategy = new ExponentialBackoffStrategy({ baseDelayMs: 100, maxDelayMs: 1000, random: () => r });
    expect([1, 2, 3, 4, 5, 6].map((attempt) => strategy.getDelay(attempt))).toEqual([0, 0, 0, 0, 0, 0]);
    r = 0.5;
    expect([1, 2, 3, 4, 5, 6].map((attempt) => strategy.getDelay(attempt))).toEqual([50, 100, 200, 400, 500, 500]);
    r = 0.999999;
    expect([1, 2, 3, 4, 5, 6].map((attempt) => strategy.getDelay(attempt))).toEqual([99, 199, 399, 799, 999, 999]);
  });

  test('delays are always within [0, min(maxDelayMs, baseDelayMs * 2^(attempt-1)))', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10_000 }),
        fc.integer({ min: 1, max: 60_000 }),
        fc.integer({ min: 0, max: 120_000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (attempt, base, max, random) => {
          const delay = new ExponentialBackoffStrategy({ baseDelayMs: base, maxDelayMs: max, random: () => random }).getDelay(attempt);
          const bound = Math.min(max, base * 2 ** (attempt - 1));
          expect(Number.isInteger(delay)).toBe(true);
          expect(delay).toBeGreaterThanOrEqual(0);
          expect(delay <= bound && (bound === 0 || delay < bound)).toBe(true);
        },
      ),
    );
  });

  test('baseDelayMs 0 gives a 0 delay at any attempt (never NaN)', () => {
    const strategy = new ExponentialBackoffStrategy({ baseDelayMs: 0, random: () => 0.5 });
    expect([1, 10, 1024, 1025, 5000].map((attempt) => strategy.getDelay(attempt))).toEqual([0, 0, 0, 0, 0]);
  });

  test('defaults: 1 s base, 30 s cap, no attempt limit', () => {
    const strategy = new ExponentialBackoffStrategy({ random: () => 0.999999 });
    expect(strategy.getDelay(1)).toBe(999);
    expect(strategy.getDelay(100)).toBe(29_999);
    expect(strategy.shouldRetry(1_000_000)).toBe(true);
  });

  test('maxAttempts', () => {
    const strategy = new ExponentialBackoffStrategy({ maxAttempts: 3 });
    expect([1, 2, 3, 4].map((attempt) => strategy.shouldRetry(attempt))).toEqual([true, true, true, false]);
  });

  test('invalid options throw invalid_argument', () => {
    expect(() => new ExponentialBackoffStrategy({ baseDelayMs: -1 })).toThrow(expect.objectContaining({ code: 'invalid_argument' }));
    expect(() => new ExponentialBackoffStrategy({ maxDelayMs: Number.NaN })).toThrow(expect.objectContaining({ code: 'invalid_argument' }));
    expect(() => new FixedIntervalStrategy({ intervalMs: -5 })).toThrow(expect.objectContaining({ code: 'invalid_argument' }));
  });
});

describe('FixedIntervalStrategy', () => {
  test('the same delay every time, and maxAttempts', () => {
    const strategy = new FixedIntervalStrategy({ intervalMs: 250, maxAttempts: 2 });
    expect([1, 2, 50].map((attempt) => strategy.getDelay(attempt))).toEqual([250, 250, 250]);
    expect([1, 2, 3].map((attempt) => strategy.shouldRetry(attempt))).toEqual([true, true, false]);
    expect(new FixedIntervalStrategy().getDelay(1)).toBe(5000);
  });
});

/** A strategy that records what it was asked and answers `delays[attempt - 1]`. */
function scripted(delays: number[], max = Infinity): ReconnectStrategy & { asked: number[] } {
  const asked: number[] = [];
  return {
    asked,
    getDelay: (attempt) => {
      asked.push(attempt);
      return delays[attempt - 1] ?? delays.at(-1) ?? 0;
    },
    shouldRetry: (attempt) => attempt <= max,
  };
}

describe('the client follows its strategy', () => {
  test('delays come from a custom strategy object: no attempt before the delay', async () => {
    const strategy = scripted([300, 700, 2000]);
    const server = new FakeServer();
    const client = createClient(server, { reconnect: strategy });
    await connectClient(client);
    server.auth = 'silent';
    server.close(1006);
    await flush(5); // close delivered at 4 ms
    for (const [i, delay] of [300, 700, 2000].entries()) {
      const before = server.connections;
      await flush(delay - 2);
      expect(server.connections).toBe(before);
      await flush(6); // socket created at `delay`, opened 4 ms later
      expect(server.connections).toBe(before + 1);
      server.close(1006);
      await flush(4);
      expect(strategy.asked).toEqual([1, 2, 3, 4].slice(0, i + 2));
    }
    expect(client.getSnapshot().reconnectAttempt).toBe(4);
    client.disconnect();
  });

  test('a delay beyond setTimeout\'s 2^31-1 ms limit is not turned into an immediate retry', async () => {
    const strategy = scripted([2 ** 31]);
    const { server, client } = await connectedPair({ reconnect: strategy });
    server.close(1006);
    await flush(60_000);
    expect(client.state).toBe('reconnecting');
    expect(server.connections).toBe(1);
    client.disconnect();
  });

  test('the default strategy is exponential backoff with jitter', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    const { server, client } = await connectedPair({ reconnect: undefined });
    server.close(1006);
    await flush(5);
    expect(client.getSnapshot().nextRetryAt! - Date.now()).toBe(499);
    await flush(495);
    expect(server.connections).toBe(1);
    await flush(10);
    expect(server.connections).toBe(2);
    client.disconnect();
  });

  test('reconnect: false never reconnects', async () => {
    const { server, client } = await connectedPair({ reconnect: false });
    server.close(1006);
    await flush(60_000);
    expect(client.state).toBe('disconnected');
    expect(client.getSnapshot().lastError?.code).toBe('connection_failed');
    expect(server.connections).toBe(1);
  });

  test('shouldRetry false: disconnected with reconnect_exhausted', async () => {
    const strategy = scripted([100], 2);
    const { server, client } = await connectedPair({ reconnect: strategy });
    const errors = errorsOf(client);
    server.closeAfterAuth = 1006;
    server.close(1006);
    await flush(1000);
    expect(client.state).toBe('disconnected');
    expect(client.getSnapshot().lastError?.code).toBe('reconnect_exhausted');
    expect(errors.at(-1)?.code).toBe('reconnect_exhausted');
    expect(server.connections).toBe(3);
    await flush(60_000);
    expect(server.connections).toBe(3);
  });
});

describe('anti-flap', () => {
  test('a server that accepts then drops at once meets a growing attempt counter, reset only after stableAfterMs', async () => {
    const strategy = scripted([100]);
    const server = new FakeServer();
    server.closeAfterAuth = 1006;
    const client = createClient(server, { reconnect: strategy, stableAfterMs: 3000 });
    client.connect();
    await flush(15);
    expect(client.state).toBe('reconnecting');
    await flush(4 * 120);
    expect(strategy.asked.length).toBeGreaterThanOrEqual(4);
    expect(strategy.asked).toEqual(strategy.asked.map((_, i) => i + 1));
    const attempts = strategy.asked.length;
    expect(client.getSnapshot().reconnectAttempt).toBe(attempts);
    server.closeAfterAuth = undefined;
    await flush(120);
    expect(client.state).toBe('connected');
    expect(client.getSnapshot().reconnectAttempt).toBe(attempts);
    await flush(2900);
    expect(client.getSnapshot().reconnectAttempt).toBe(attempts);
    await flush(100);
    expect(client.getSnapshot().reconnectAttempt).toBe(0);
    server.close(1006);
    await flush(5);
    expect(strategy.asked.at(-1)).toBe(1);
    client.disconnect();
  });
});

describe('close codes', () => {
  test('1000 from the server: disconnected, no reconnect', async () => {
    const { server, client } = await connectedPair();
    server.close(1000);
    await flush(60_000);
    expect(client.state).toBe('disconnected');
    expect(server.connections).toBe(1);
  });

  test.each([
    [1001, 'connection_failed'],
    [1006, 'connection_failed'],
    [4008, 'closed_by_server'],
    [4400, 'closed_by_server'],
  ])('%i: reconnect (%s)', async (code, errorCode) => {
    const { server, client } = await connectedPair();
    server.close(code, 'bye');
    await flush(5);
    expect(client.state).toBe('reconnecting');
    expect(client.getSnapshot().lastError?.code).toBe(errorCode);
    await flush(1020);
    expect(client.state).toBe('connected');
    expect(server.connections).toBe(2);
    client.disconnect();
  });
});

describe('retrying now', () => {
  test('connect() while waiting retries at once', async () => {
    const { server, client } = await connectedPair({ reconnect: new FixedIntervalStrategy({ intervalMs: 60_000 }) });
    server.close(1006);
    await flush(5);
    expect(client.state).toBe('reconnecting');
    client.connect();
    await flush(10);
    expect(client.state).toBe('connected');
    expect(server.connections).toBe(2);
    expect(vi.getTimerCount()).toBeLessThan(10);
    await flush(60_000);
    expect(server.connections).toBe(2);
    client.disconnect();
  });

  test('the browser online event retries at once', async () => {
    const browser = stubBrowser();
    const { server, client } = await connectedPair({ reconnect: new FixedIntervalStrategy({ intervalMs: 60_000 }) });
    server.close(1006);
    await flush(5);
    browser.fire('online');
    await flush(10);
    expect(client.state).toBe('connected');
    expect(server.connections).toBe(2);
    browser.fire('online'); // connected: nothing to do
    await flush(10);
    expect(server.connections).toBe(2);
    client.disconnect();
  });

  test('watchEnvironment: false ignores the online event', async () => {
    const browser = stubBrowser();
    const { server, client } = await connectedPair({ reconnect: new FixedIntervalStrategy({ intervalMs: 60_000 }), watchEnvironment: false });
    expect(browser.listenerCount()).toBe(0);
    server.close(1006);
    await flush(5);
    browser.fire('online');
    await flush(10);
    expect(server.connections).toBe(1);
    client.disconnect();
  });

  test('after disconnect(), neither online nor timers revive the client', async () => {
    const browser = stubBrowser();
    const { server, client } = await connectedPair();
    server.close(1006);
    await flush(5);
    expect(client.state).toBe('reconnecting');
    client.disconnect();
    expect(client.state).toBe('disconnected');
    expect(client.getSnapshot().nextRetryAt).toBeUndefined();
    expect(client.getSnapshot().reconnectAttempt).toBe(0);
    browser.fire('online');
    await flush(10 * 60_000);
    expect(client.state).toBe('disconnected');
    expect(server.connections).toBe(1);
  });

  test('disconnect() and connect() while reconnecting', async () => {
    const { server, client } = await connectedPair();
    server.close(1006);
    await flush(5);
    client.disconnect();
    client.disconnect();
    client.connect();
    expect(client.state).toBe('connecting');
    await flush(10);
    expect(client.state).toBe('connected');
    expect(server.connections).toBe(2);
    await flush(5000);
    expect(server.connections).toBe(2);
    client.disconnect();
  });
});
