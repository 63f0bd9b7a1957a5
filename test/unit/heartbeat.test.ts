import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { createHeartbeat } from '../../src/heartbeat.js';
import { FixedIntervalStrategy } from '../../src/index.js';
import { connectedPair, flush, stopServers, stubBrowser } from './helpers.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  stopServers();
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

function heartbeat(intervalMs = 1000, timeoutMs = 500) {
  const ping = vi.fn();
  const dead = vi.fn();
  return { ping, dead, beat: createHeartbeat({ intervalMs, timeoutMs }, ping, dead) };
}

describe('Heartbeat (unit)', () => {
  test('pings every intervalMs while answered', async () => {
    const { ping, dead, beat } = heartbeat();
    beat.start_();
    await vi.advanceTimersByTimeAsync(999);
    expect(ping).not.toHaveBeenCalled();
    for (let i = 1; i <= 5; i++) {
      await vi.advanceTimersByTimeAsync(i === 1 ? 1 : 1000);
      expect(ping).toHaveBeenCalledTimes(i);
      beat.alive_();
    }
    expect(dead).not.toHaveBeenCalled();
    beat.stop_();
    expect(vi.getTimerCount()).toBe(0);
  });

  test('declares the connection dead when nothing arrives within timeoutMs', async () => {
    const { ping, dead, beat } = heartbeat();
    beat.start_();
    await vi.advanceTimersByTimeAsync(1000 + 499);
    expect(ping).toHaveBeenCalledTimes(1);
    expect(dead).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(dead).toHaveBeenCalledTimes(1);
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(ping).toHaveBeenCalledTimes(1);
  });

  test('check() pings at once, only once while waiting, and not when stopped', async () => {
    const { ping, beat } = heartbeat();
    beat.check_();
    expect(ping).not.toHaveBeenCalled();
    beat.start_();
    beat.check_();
    beat.check_();
    expect(ping).toHaveBeenCalledTimes(1);
    beat.alive_();
    beat.check_();
    expect(ping).toHaveBeenCalledTimes(2);
    beat.stop_();
    beat.check_();
    expect(ping).toHaveBeenCalledTimes(2);
  });

  test('after a sleep (the timer fired far too late) it pings once more instead of declaring death', async () => {
    const { ping, dead, beat } = heartbeat(1000, 500);
    beat.start_();
    await vi.advanceTimersByTimeAsync(1000);
    expect(ping).toHaveBeenCalledTimes(1);
    vi.setSystemTime(Date.now() + 60 * 60_000); // the machine slept an hour; timers did not run
    await vi.advanceTimersByTimeAsync(500);
    expect(dead).not.toHaveBeenCalled();
    expect(ping).toHaveBeenCalledTimes(2);
    beat.alive_();
    await vi.advanceTimersByTimeAsync(400);
    expect(dead).not.toHaveBeenCalled();
    beat.stop_();
  });

  test('after a sleep, a second silence is fatal', async () => {
    const { ping, dead, beat } = heartbeat(1000, 500);
    beat.start_();
    await vi.advanceTimersByTimeAsync(1000);
    vi.setSystemTime(Date.now() + 60 * 60_000);
    await vi.advanceTimersByTimeAsync(500);
    expect(ping).toHaveBeenCalledTimes(2);
    await vi.advanceTimersByTimeAsync(500);
    expect(dead).toHaveBeenCalledTimes(1);
  });
});

describe('client heartbeat', () => {
  const options = { heartbeat: { intervalMs: 1000, timeoutMs: 500 }, reconnect: new FixedIntervalStrategy({ intervalMs: 100 }) };

  test('a ping every intervalMs', async () => {
    const { server, client } = await connectedPair(options);
    await flush(985);
    expect(server.framesOf('ping')).toHaveLength(0);
    await flush(20);
    expect(server.framesOf('ping')).toHaveLength(1);
    expect(server.framesOf('ping')[0]?.payload).toEqual({});
    await flush(3000);
    expect(server.framesOf('ping')).toHaveLength(4);
    expect(server.connections).toBe(1);
    client.disconnect();
  });

  test('after a reconnect there is still exactly one ping per interval', async () => {
    const { server, client } = await connectedPair(options);
    server.close(1006);
    await flush(120);
    expect(client.state).toBe('connected');
    const before = server.framesOf('ping').length;
    await flush(10_000);
    expect(server.framesOf('ping').length - before).toBe(10);
    client.disconnect();
  });

  test('no frame within timeoutMs: the socket is replaced', async () => {
    const { server, client } = await connectedPair(options);
    server.answerPings = false;
    const first = server.last;
    await flush(1000 + 490);
    expect(client.state).toBe('connected');
    await flush(20);
    expect(client.state).toBe('reconnecting');
    expect(client.getSnapshot().lastError?.code).toBe('connection_failed');
    await flush(120);
    expect(client.state).toBe('connected');
    expect(server.connections).toBe(2);
    expect(first.readyState).toBe(3);
    client.disconnect();
  });

  test('any inbound frame counts as alive', async () => {
    const { server, client } = await connectedPair(options);
    server.answerPings = false;
    for (let i = 0; i < 5; i++) {
      await flush(1000);
      server.send('conversation_updated', { line_user_id: 'U1' });
    }
    expect(server.framesOf('ping').length).toBeGreaterThanOrEqual(4);
    expect(client.state).toBe('connected');
    expect(server.connections).toBe(1);
    client.disconnect();
  });

  test('heartbeat: false sends no ping and never drops a silent link', async () => {
    const { server, client } = await connectedPair({ ...options, heartbeat: false });
    server.answerPings = false;
    await flush(10 * 60_000);
    expect(server.framesOf('ping')).toHaveLength(0);
    expect(client.state).toBe('connected');
    expect(server.connections).toBe(1);
    client.disconnect();
  });

  test('the default interval is 25 s', async () => {
    const { server, client } = await connectedPair({ heartbeat: undefined });
    await flush(24_980);
    expect(server.framesOf('ping')).toHaveLength(0);
    await flush(30);
    expect(server.framesOf('ping')).toHaveLength(1);
    client.disconnect();
  });

  test('after a sleep the client pings once more instead of dropping the link', async () => {
    const { server, client } = await connectedPair(options);
    server.answerPings = false;
    await flush(1005);
    expect(server.framesOf('ping')).toHaveLength(1);
    vi.setSystemTime(Date.now() + 60 * 60_000);
    server.answerPings = true;
    await flush(500);
    expect(server.framesOf('ping')).toHaveLength(2);
    expect(client.state).toBe('connected');
    await flush(2000);
    expect(client.state).toBe('connected');
    expect(server.connections).toBe(1);
    client.disconnect();
  });

  test('becoming visible checks liveness at once; hidden does not', async () => {
    const browser = stubBrowser();
    const { server, client } = await connectedPair({ ...options, heartbeat: { intervalMs: 60_000, timeoutMs: 500 } });
    browser.fire('hidden');
    await flush(10);
    expect(server.framesOf('ping')).toHaveLength(0);
    server.answerPings = false;
    browser.fire('visible');
    await flush(10);
    expect(server.framesOf('ping')).toHaveLength(1);
    await flush(500);
    expect(client.state).toBe('reconnecting');
    client.disconnect();
  });

  test('the offline event checks liveness at once', async () => {
    const browser = stubBrowser();
    const { server, client } = await connectedPair({ ...options, heartbeat: { intervalMs: 60_000, timeoutMs: 500 } });
    browser.fire('offline');
    await flush(10);
    expect(server.framesOf('ping')).toHaveLength(1);
    expect(client.state).toBe('connected');
    client.disconnect();
  });
});
