/**
 * The Redis backend's lifecycle: subscriptions active before startup resolves, a Redis that cannot
 * be reached at startup, a Redis that goes away and comes back (empty) while servers run, and a
 * clean close.
 */
import net from 'node:net';
import { describe, expect, test } from 'vitest';
import { type App, startApp } from '../../examples/server/src/app.js';
import { loadConfig } from '../../examples/server/src/config.js';
import { textEvent } from '../../examples/server/src/line.js';
import { createRedisBackend } from '../../examples/server/src/redis.js';
import type { LiveChatClient } from '../../src/index.js';
import { texts, useHarness, waitFor } from '../support/harness.js';
import { freePort } from '../support/ports.js';
import { useRedis } from '../support/redis.js';
import { startServer, testSecret } from '../support/reference-server.js';

const redis = useRedis();
const harness = useHarness();

/** Polls an async probe until it holds (bounded), for state only Redis can tell. */
async function eventually(what: string, probe: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const started = Date.now();
  while (!(await probe())) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** An app on the file's Redis whose log lines are kept. */
async function loggedApp(logs: string[]): Promise<App & { token(adminId: string): Promise<string> }> {
  const config = loadConfig({}, {
    port: 0,
    host: '127.0.0.1',
    jwtSecret: testSecret,
    staticDirs: [],
    redisUrl: redis().url,
    presenceLivenessSeconds: 1,
  });
  const app = harness().defer(await startApp(config, (line) => logs.push(line)));
  return Object.assign(app, { token: (adminId: string) => app.auth.sign({ adminId }, 3600) });
}

async function present(client: LiveChatClient, operators: string[]): Promise<void> {
  await waitFor(`${JSON.stringify(operators)} present`, () => {
    return JSON.stringify([...client.conversation('U1').getSnapshot().operators].sort()) === JSON.stringify(operators);
  }, { describe: () => client.conversation('U1').getSnapshot().operators });
}

describe('Redis backend lifecycle', () => {
  test('when createRedisBackend resolves, the fan-out subscriptions are already active', async () => {
    const backend = await createRedisBackend(redis().url, 'p-subscribe');
    const admin = await redis().connect();
    try {
      // No await between: a broadcast published right after startup is not missed.
      expect(await admin.pubsub('NUMSUB', 'lc:fanout', 'lc:messages')).toEqual(['lc:fanout', 1, 'lc:messages', 1]);
      const received: unknown[] = [];
      backend.bus.subscribe((broadcast) => received.push(broadcast));
      const other = await createRedisBackend(redis().url, 'p-other');
      await other.bus.publish({ frame: '{"type":"pong","payload":{},"timestamp":"x"}' });
      await waitFor('the broadcast', () => received.length === 1);
      await other.close();
    } finally {
      await backend.close();
    }
    // Closed: both connections quit, nothing subscribed, the process deregistered.
    expect(await admin.pubsub('NUMSUB', 'lc:fanout')).toEqual(['lc:fanout', 0]);
    expect(await admin.smembers('lc:processes')).toEqual([]);
    expect(await admin.exists('lc:process:p-subscribe')).toBe(0);
  });

  test('an unreachable Redis at startup: a clear error, and nothing left reconnecting', async () => {
    // Accepts TCP and hangs up at once: each (re)connection attempt is counted.
    let attempts = 0;
    const sink = net.createServer((socket) => {
      attempts++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', () => resolve()));
    harness().defer(() => new Promise((resolve) => sink.close(resolve)));
    const { port } = sink.address() as net.AddressInfo;

    await expect(startServer({ redisUrl: `redis://:hunter2@127.0.0.1:${port}` })).rejects.toThrow(
      new RegExp(`cannot use Redis at redis://:\\*\\*\\*@127\\.0\\.0\\.1:${port}`),
    );
    const refusedPort = await freePort();
    await expect(startServer({ redisUrl: `redis://127.0.0.1:${refusedPort}` })).rejects.toThrow(/cannot use Redis.*ECONNREFUSED/);
    // ioredis would retry within 50–200 ms; give it clearly longer than that to show it does not.
    const seen = attempts;
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(attempts).toBe(seen);
  });

  test('Redis goes away and comes back empty: no crash, logged once, failed sends retry, presence restored', async () => {
    const logs: string[] = [];
    const a = await loggedApp(logs);
    const b = await loggedApp([]);
    // The gateway answers a ping after the frames before it, and a store call waits for ioredis to
    // give up (about 0.3 s): alice's heartbeat must be more patient than that, as a real one is.
    const alice = await harness().connected(a.wsUrl, await a.token('alice'), ['U1'], { heartbeat: { intervalMs: 1000, timeoutMs: 5000 } });
    const bob = await harness().connected(b.wsUrl, await b.token('bob'), ['U1']);
    await present(bob, ['alice', 'bob']);
    const failed: string[] = [];
    alice.on('delivery', (update) => update.status === 'failed' && failed.push(update.tempId));

    await redis().down();
    // Fire-and-forget publishes (typing) must not become unhandled rejections; stores fail cleanly.
    alice.startTyping('U1');
    const during = alice.sendMessage('U1', 'written during the outage');
    during.catch(() => {});
    const webhook = await fetch(`${a.httpUrl}/api/v1/webhook`, { method: 'POST', body: JSON.stringify(textEvent('U1', 'customer during the outage')) });
    expect(webhook.status).toBe(500); // LINE redelivers it later
    await waitFor('the send fails (not silently dropped)', () => failed.length === 1, { timeoutMs: 8000, describe: () => ({ logs, state: alice.state }) });
    await expect(during).rejects.toThrow();
    expect(logs.filter((line) => line.includes('redis (commands)') && line.includes('reconnecting'))).toHaveLength(1);

    await redis().up();
    await waitFor('reconnection logged', () => logs.some((line) => line.includes('redis (commands): connected again')), { timeoutMs: 8000 });
    const admin = await redis().connect();
    await eventually('both processes subscribed again', async () => {
      const counts = await admin.pubsub('NUMSUB', 'lc:fanout', 'lc:messages');
      return JSON.stringify(counts) === JSON.stringify(['lc:fanout', 2, 'lc:messages', 2]);
    }, 8000);

    const ack = await alice.retryMessage(failed[0]!);
    expect(ack).toMatchObject({ seq: 1, message: { text: 'written during the outage' } });
    await waitFor('bob gets it across processes', () => texts(bob, 'U1').includes('written during the outage'));
    const redelivered = await fetch(`${a.httpUrl}/api/v1/webhook`, { method: 'POST', body: JSON.stringify(textEvent('U1', 'customer, redelivered')) });
    expect(redelivered.status).toBe(200);
    await waitFor('the customer message reaches bob', () => texts(bob, 'U1').includes('customer, redelivered'));

    // Redis came back empty; both processes wrote their presence again, so a newcomer sees everyone.
    await eventually('both processes alive again', async () => (await admin.scard('lc:processes')) === 2);
    const carol = await harness().connected(b.wsUrl, await b.token('carol'), ['U1']);
    await present(carol, ['alice', 'bob', 'carol']);
    // One line per connection per outage, not one per reconnection attempt.
    expect(logs.filter((line) => line.startsWith('redis (') && line.includes('reconnecting'))).toHaveLength(2);
  });
});
