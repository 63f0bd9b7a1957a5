import { afterEach, beforeEach, expect, test, vi } from 'vitest';
import { FakeServer, createClient, flush, stopServers } from './helpers.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  stopServers();
  vi.useRealTimers();
});

test('a backlog is paced under half the rate limit the server announces, in order', async () => {
  const server = new FakeServer();
  server.authExtra = { rate_limit: { per_second: 20, burst: 10 } };
  const client = createClient(server, { heartbeat: false });
  const backlog = Array.from({ length: 25 }, (_, i) => client.sendMessage('U1', `m${i}`, { tempId: `t${i}` }));
  client.connect();
  await flush(30);
  // Half the burst at once...
  expect(server.sentTempIds()).toHaveLength(5);
  // ...then half the rate: 10 per second.
  await flush(1000);
  expect(server.sentTempIds().length).toBeGreaterThanOrEqual(14);
  expect(server.sentTempIds().length).toBeLessThanOrEqual(16);
  await flush(2000);
  expect(server.sentTempIds()).toEqual(Array.from({ length: 25 }, (_, i) => `t${i}`));
  expect((await Promise.all(backlog)).map((ack) => ack.tempId)).toEqual(server.sentTempIds());
});

test('without an announced limit (a server written to the plan) everything goes out at once', async () => {
  const server = new FakeServer();
  const client = createClient(server, { heartbeat: false });
  for (let i = 0; i < 25; i++) void client.sendMessage('U1', `m${i}`);
  client.connect();
  await flush(30);
  expect(server.sentTempIds()).toHaveLength(25);
});

test('disconnect() stops the pacing timer', async () => {
  const server = new FakeServer();
  server.authExtra = { rate_limit: { per_second: 2, burst: 2 } };
  server.ackMessages = false;
  const client = createClient(server, { heartbeat: false, queue: { ackTimeoutMs: 600_000 } });
  for (let i = 0; i < 10; i++) void client.sendMessage('U1', `m${i}`);
  client.connect();
  await flush(30);
  expect(server.sentTempIds()).toHaveLength(1);
  client.disconnect();
  await flush(10);
  expect(vi.getTimerCount()).toBe(0);
});
