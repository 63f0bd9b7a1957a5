/**
 * Issue #3, zero loss: two operators (real SDK clients), each behind a fault proxy that drops every
 * connection every ~150 ms, and a server restart in the middle. 300 messages from one of them: each
 * acked exactly once with its own seq, stored exactly once, and seen exactly once, in order, by both.
 */
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { WebSocket } from 'ws';
import { LIVE_CHAT_PATH } from '../../examples/server/src/gateway.js';
import { type DeliveryUpdate, type LiveChatClient, type LiveChatClientOptions, type MessageAck, ServerError, type WebSocketConstructor } from '../../src/index.js';
import { texts, useHarness, waitFor } from '../support/harness.js';
import { FaultProxy } from '../support/proxy.js';
import { type TestServer, startServer, tempDir } from '../support/reference-server.js';

const harness = useHarness();

const total = 300;
const batch = 10;
const dropEveryMs = 150;

/** A `ws` WebSocket that counts the message_send frames the client writes (first sends and re-sends). */
function countingWebSocket(counter: { sends: number }): WebSocketConstructor {
  return function CountingWebSocket(url: string) {
    const socket = new WebSocket(url);
    const send = socket.send.bind(socket);
    socket.send = ((data: string) => {
      if (data.startsWith('{"type":"message_send"')) counter.sends++;
      send(data);
    }) as typeof socket.send;
    return socket;
  } as unknown as WebSocketConstructor;
}

/**
 * Counts, on the server side, the message_send frames handled (stored or answered as duplicates),
 * and makes the store a little slow (2 ms, like a network store): a drop then often falls between
 * storing a message and its ack reaching the client, so acks are lost and re-sends deduplicated.
 */
function countAppends(app: TestServer, counter: { appends: number; duplicates: number }, stored: (seq: number) => void): void {
  const store = app.store;
  const append = store.appendOperatorMessage.bind(store);
  store.appendOperatorMessage = async (...args) => {
    await new Promise((resolve) => setTimeout(resolve, 2));
    const result = await append(...args);
    counter.appends++;
    if (result.duplicate) counter.duplicates++;
    else stored(result.message.seq);
    return result;
  };
}

function connectedCount(client: LiveChatClient): () => number {
  let count = 0;
  client.on('state', ({ current }) => current === 'connected' && count++);
  return () => count;
}

test(`${total} messages through dropped connections and a server restart: each acked, stored and seen exactly once, in order`, async () => {
  const h = harness();
  const folder = tempDir();
  h.defer(() => folder.remove());
  // The rate limit is raised: after every drop the client re-sends its whole backlog at once (see the report).
  const config = { databasePath: join(folder.path, 'chat.sqlite'), rateLimit: { perSecond: 100_000, burst: 100_000 } };
  const server = { app: h.defer(await startServer(config)) };
  const port = server.app.port;
  const serverSide = { appends: 0, duplicates: 0 };
  // Besides the timed drops, one that surely loses an ack: right after message 100 is stored.
  const onStored = (seq: number) => {
    if (seq === 100) proxyA.dropAll();
  };
  countAppends(server.app, serverSide, onStored);

  const proxyA = h.defer(await FaultProxy.start(port));
  const proxyB = h.defer(await FaultProxy.start(port));
  const clientSide = { sends: 0 };
  const options: Partial<LiveChatClientOptions> = {
    queue: { ackTimeoutMs: 500, ttlMs: 25_000 },
    heartbeat: { intervalMs: 100, timeoutMs: 300 },
  };
  const alice = await h.connected(proxyA.url(LIVE_CHAT_PATH), await server.app.token('alice'), ['U1'], {
    ...options,
    WebSocket: countingWebSocket(clientSide),
  });
  const bob = await h.connected(proxyB.url(LIVE_CHAT_PATH), await server.app.token('bob'), ['U1'], options);
  const aliceConnections = connectedCount(alice);
  const bobConnections = connectedCount(bob);
  const deliveries: DeliveryUpdate[] = [];
  alice.on('delivery', (update) => deliveries.push(update));
  const serverErrors: string[] = [];
  alice.on('error', (error) => error instanceof ServerError && serverErrors.push(`${error.code}: ${error.message}`));

  // Faults: every connection of both clients dropped every ~150 ms, until everything is in (bounded).
  const started = Date.now();
  let drops = 0;
  let stopDropping = false;
  const dropper = setInterval(() => {
    if (stopDropping || Date.now() - started > 20_000) return clearInterval(dropper);
    drops++;
    proxyA.dropAll();
    proxyB.dropAll();
  }, dropEveryMs);
  h.defer(() => clearInterval(dropper));

  // 300 messages in batches of 10, ~80 ms apart (so ~15 drops fall while sending), none awaited;
  // the server restarts after batch 15.
  const expected = Array.from({ length: total }, (_, i) => `message ${String(i).padStart(3, '0')}`);
  const settled = expected.map(() => [] as ('resolved' | 'rejected')[]);
  const promises: Promise<MessageAck>[] = [];
  let restart: Promise<void> | undefined;
  let restartedAt = 0;
  for (let first = 0; first < total; first += batch) {
    for (let i = first; i < first + batch; i++) {
      const promise = alice.sendMessage('U1', expected[i]!, { tempId: `t${i}` });
      promise.then(
        () => settled[i]!.push('resolved'),
        () => settled[i]!.push('rejected'),
      );
      promises.push(promise);
    }
    if (first === total / 2) {
      restart = (async () => {
        await server.app.close();
        server.app = h.defer(await startServer({ ...config, port }));
        restartedAt = Date.now() - started;
        countAppends(server.app, serverSide, onStored);
        proxyA.retarget(server.app.port);
        proxyB.retarget(server.app.port);
      })();
    }
    await new Promise((resolve) => setTimeout(resolve, 80)); // pacing of the sender
  }
  await restart;

  const pendingSummary = () => ({
    settled: settled.filter((s) => s.length > 0).length,
    alice: alice.getSnapshot(),
    drops,
    bobLastSeq: bob.conversation('U1').getSnapshot().lastSeq,
  });
  await waitFor('every sendMessage settled', () => settled.every((s) => s.length > 0), { timeoutMs: 20_000, describe: pendingSummary });
  const allAckedAt = Date.now() - started;
  stopDropping = true;
  clearInterval(dropper);
  await waitFor('bob has seq 300', () => bob.conversation('U1').getSnapshot().lastSeq === total, { timeoutMs: 5000, describe: pendingSummary });
  const elapsed = Date.now() - started;

  // Every promise settled exactly once, as resolved, with its own seq: 1..300 in the order written.
  expect(settled.filter((s) => s.length !== 1 || s[0] !== 'resolved')).toEqual([]);
  const acks = await Promise.all(promises);
  expect(acks.map((ack) => ack.tempId)).toEqual(expected.map((_, i) => `t${i}`));
  expect(acks.map((ack) => ack.seq)).toEqual(expected.map((_, i) => i + 1));
  expect(new Set(acks.map((ack) => ack.seq)).size).toBe(total);
  for (let i = 0; i < total; i++) {
    expect(deliveries.filter((d) => d.tempId === `t${i}` && d.status === 'sent'), `t${i}`).toHaveLength(1);
  }
  expect(deliveries.filter((d) => d.status === 'failed' || d.status === 'discarded')).toEqual([]);
  // No error frame from the server: every re-send was answered with its original ack.
  expect(serverErrors).toEqual([]);

  // The server stored each once (the restarted server reads the same file).
  const stored = (await server.app.store.history('U1', { limit: 1000 })).messages;
  expect(stored.map((m) => m.seq)).toEqual(expected.map((_, i) => i + 1));
  expect(stored.map((m) => m.message.text)).toEqual(expected);
  expect(stored.map((m) => m.tempId)).toEqual(expected.map((_, i) => `t${i}`));
  expect(stored.every((m) => m.sender === 'operator' && m.adminId === 'alice')).toBe(true);
  const headers = { authorization: `Bearer ${await server.app.token('auditor')}` };
  const list = (await (await fetch(`${server.app.httpUrl}/api/v1/conversations`, { headers })).json()) as { conversations: { line_user_id: string; last_seq: number }[] };
  expect(list.conversations).toEqual([expect.objectContaining({ line_user_id: 'U1', last_seq: total })]);

  // Both views: each message once, in seq order, all sent.
  expect(texts(bob, 'U1')).toEqual(expected);
  expect(bob.conversation('U1').getSnapshot().messages.map((m) => m.seq)).toEqual(expected.map((_, i) => i + 1));
  expect(texts(alice, 'U1')).toEqual(expected);
  expect(alice.conversation('U1').getSnapshot().messages.every((m) => m.status === 'sent')).toBe(true);
  expect(alice.getSnapshot()).toMatchObject({ pendingCount: 0, failedCount: 0 });

  // The faults really happened: drops while sending, reconnects on both sides, re-sends deduplicated.
  expect(restartedAt).toBeGreaterThan(0);
  expect(drops).toBeGreaterThanOrEqual(10);
  expect(aliceConnections()).toBeGreaterThanOrEqual(3);
  expect(bobConnections()).toBeGreaterThanOrEqual(3);
  expect(serverSide.appends - serverSide.duplicates).toBe(total);
  expect(serverSide.duplicates).toBeGreaterThanOrEqual(1); // at least message 100's
  expect(elapsed).toBeLessThan(30_000);
  console.info(
    `zero-loss: ${total} messages in ${elapsed} ms (all acked after ${allAckedAt} ms; restart done at ${restartedAt} ms); ` +
      `${drops} drops; reconnects: alice ${aliceConnections()}, bob ${bobConnections()} ` +
      `(proxy connections ${proxyA.connectionCount} + ${proxyB.connectionCount}); ` +
      `message_send written by alice ${clientSide.sends} (${clientSide.sends - total} re-sends); ` +
      `handled by the server ${serverSide.appends} (${serverSide.duplicates} duplicates answered with the original ack)`,
  );
}, 40_000);
