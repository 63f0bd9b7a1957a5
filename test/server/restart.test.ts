/**
 * Issue #3, durability: the reference server restarted on the same SQLite file loses nothing.
 * What was stored before is in the HTTP history and in the replay after; seqs go on without reuse;
 * a temp_id retried after the restart gets its original ack; webhook redeliveries stay deduplicated.
 */
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { textEvent } from '../../examples/server/src/line.js';
import type { DeliveryUpdate, OutboxEntry, OutboxStorage } from '../../src/index.js';
import { texts, useHarness, waitFor, waitForState } from '../support/harness.js';
import { RawClient } from '../support/raw-client.js';
import { type TestServer, startServer, tempDir } from '../support/reference-server.js';

const harness = useHarness();

/** A database file in a temp folder removed after the test (after the servers, which are closed first). */
function databaseFile(): string {
  const folder = tempDir();
  harness().defer(() => folder.remove());
  return join(folder.path, 'chat.sqlite');
}

async function server(databasePath: string, port = 0): Promise<TestServer> {
  return harness().defer(await startServer({ databasePath, port }));
}

interface HistoryItem {
  seq: number;
  sender: string;
  admin_id?: string;
  temp_id?: string;
  message: { type: string; text?: string };
  timestamp: string;
}

async function history(app: TestServer, conversationId: string): Promise<HistoryItem[]> {
  const headers = { authorization: `Bearer ${await app.token('auditor')}` };
  const response = await fetch(`${app.httpUrl}/api/v1/conversations/${encodeURIComponent(conversationId)}/messages?limit=200`, { headers });
  expect(response.status).toBe(200);
  return ((await response.json()) as { messages: HistoryItem[] }).messages;
}

async function conversations(app: TestServer): Promise<Record<string, unknown>[]> {
  const headers = { authorization: `Bearer ${await app.token('auditor')}` };
  return ((await (await fetch(`${app.httpUrl}/api/v1/conversations`, { headers })).json()) as { conversations: Record<string, unknown>[] }).conversations;
}

/** Joins `conversationId` with `since_seq` on a fresh raw connection and returns the replayed message frames. */
async function replay(app: TestServer, conversationId: string, sinceSeq: number, expected: number): Promise<{ type: string; seq: unknown; text: unknown }[]> {
  const raw = harness().defer(await RawClient.authed(app.wsUrl, await app.token('replayer')));
  raw.send('join_conversation', { line_user_id: conversationId, since_seq: sinceSeq });
  await raw.next('operator_joined');
  await waitFor(`${expected} replayed`, () => raw.frames.filter((f) => f.type.startsWith('message_')).length >= expected);
  // Anything beyond the expected count would show up by the time a ping is answered.
  raw.send('ping');
  await raw.next('pong');
  return raw.frames
    .filter((f) => f.type.startsWith('message_'))
    .map((f) => ({ type: f.type, seq: f.payload.seq, text: (f.payload.message as { text?: unknown }).text }));
}

describe('server restart on the same SQLite file', () => {
  test('a shutdown skips what waits in a connection\'s queue, and so every frame after it: none is stored ahead of one skipped', async () => {
    const databasePath = databaseFile();
    const app = await server(databasePath);
    const raw = harness().defer(await RawClient.authed(app.wsUrl, await app.token('alice')));
    raw.send('join_conversation', { line_user_id: 'U1' });
    await raw.next('operator_joined');
    // A join that replays (since_seq) waits for the store; the send behind it waits in the queue.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const messagesAfter = app.store.messagesAfter.bind(app.store);
    let replaying = false;
    app.store.messagesAfter = async (...args) => {
      replaying = true;
      await held;
      return messagesAfter(...args);
    };
    raw.send('join_conversation', { line_user_id: 'U1', since_seq: 0 });
    raw.send('message_send', { line_user_id: 'U1', temp_id: 'queued', message: { type: 'text', text: 'first' } });
    await waitFor('the replay to start', () => replaying);
    // The server starts shutting down: the socket is closing, the queued send will be skipped.
    const closing = app.close();
    release();
    for (let turn = 0; turn < 50; turn++) await Promise.resolve(); // the queue drains (no I/O meanwhile)
    // A frame the client wrote before it saw the close arrives on the closing socket.
    raw.send('message_send', { line_user_id: 'U1', temp_id: 'later', message: { type: 'text', text: 'second' } });
    await closing;
    const reopened = await server(databasePath);
    // Neither is stored: the client re-sends both, in order, after it reconnects.
    expect((await reopened.store.history('U1', { limit: 10 })).messages.map((message) => message.tempId)).toEqual([]);
  });

  test('customer and operator messages survive; replay and seqs go on; a retried temp_id gets the original ack', async () => {
    const h = harness();
    const databasePath = databaseFile();
    const first = await server(databasePath);
    expect(await first.webhook(textEvent('U1', 'hello', 'line-1'))).toBe(200);
    const alice = await h.connected(first.wsUrl, await first.token('alice'), ['U1', 'U2']);
    const a1 = await alice.sendMessage('U1', 'answer 1', { tempId: 'a1' });
    expect(await first.webhook(textEvent('U1', 'thanks', 'line-2'))).toBe(200);
    const a2 = await alice.sendMessage('U1', 'answer 2', { tempId: 'a2' });
    const b1 = await alice.sendMessage('U2', 'other conversation', { tempId: 'b1' });
    expect([a1.seq, a2.seq, b1.seq]).toEqual([2, 4, 1]);
    const before = { u1: await history(first, 'U1'), u2: await history(first, 'U2'), list: await conversations(first) };
    expect(before.u1.map((m) => [m.seq, m.sender, m.message.text])).toEqual([
      [1, 'customer', 'hello'],
      [2, 'operator', 'answer 1'],
      [3, 'customer', 'thanks'],
      [4, 'operator', 'answer 2'],
    ]);
    alice.disconnect();
    await first.close();

    const second = await server(databasePath);
    // HTTP: the same history, field for field (timestamps included), and the same conversation list.
    expect(await history(second, 'U1')).toEqual(before.u1);
    expect(await history(second, 'U2')).toEqual(before.u2);
    expect(await conversations(second)).toEqual(before.list);
    // Replay by since_seq, from the start and from the middle.
    expect(await replay(second, 'U1', 0, 4)).toEqual([
      { type: 'message_received', seq: 1, text: 'hello' },
      { type: 'message_sent', seq: 2, text: 'answer 1' },
      { type: 'message_received', seq: 3, text: 'thanks' },
      { type: 'message_sent', seq: 4, text: 'answer 2' },
    ]);
    expect(await replay(second, 'U1', 2, 2)).toEqual([
      { type: 'message_received', seq: 3, text: 'thanks' },
      { type: 'message_sent', seq: 4, text: 'answer 2' },
    ]);

    // A retry of a temp_id stored before the restart: the original ack (seq and timestamp), nothing stored.
    const raw = h.defer(await RawClient.authed(second.wsUrl, await second.token('alice')));
    raw.send('message_send', { line_user_id: 'U1', message: { type: 'text', text: 'answer 1' }, temp_id: 'a1' });
    expect((await raw.next('message_sent')).payload).toMatchObject({ temp_id: 'a1', seq: 2, admin_id: 'alice', line_user_id: 'U1' });
    expect(raw.of('message_sent')[0]?.timestamp).toBe(a1.timestamp);
    // The same temp_id from another operator is another message (dedup is per operator).
    const bob = h.defer(await RawClient.authed(second.wsUrl, await second.token('bob')));
    bob.send('message_send', { line_user_id: 'U1', message: { type: 'text', text: 'bob here' }, temp_id: 'a1' });
    expect((await bob.next('message_sent')).payload).toMatchObject({ temp_id: 'a1', seq: 5, admin_id: 'bob' });
    // Seqs go on per conversation, for operator and customer messages alike; a LINE redelivery is not stored again.
    const next = await h.connected(second.wsUrl, await second.token('alice'), ['U1', 'U2']);
    expect((await next.sendMessage('U1', 'answer 3')).seq).toBe(6);
    expect((await next.sendMessage('U2', 'second in U2')).seq).toBe(2);
    expect(await second.webhook(textEvent('U1', 'hello', 'line-1'))).toBe(200);
    expect(await second.webhook(textEvent('U1', 'one more', 'line-3'))).toBe(200);
    const after = await history(second, 'U1');
    expect(after.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(after.slice(0, 4)).toEqual(before.u1);
    expect(after.slice(4).map((m) => [m.sender, m.admin_id, m.message.text])).toEqual([
      ['operator', 'bob', 'bob here'],
      ['operator', 'alice', 'answer 3'],
      ['customer', undefined, 'one more'],
    ]);
    // A client that joined after the restart gets the live events with the continued seqs.
    await waitFor('the client saw seq 7', () => next.conversation('U1').getSnapshot().lastSeq === 7);
    expect(next.conversation('U1').getSnapshot().messages.map((m) => m.seq)).toEqual([6, 7]);
  });

  test('a message sent but not acked before the restart: the reloaded SDK client re-sends it and gets the original seq', async () => {
    const h = harness();
    const databasePath = databaseFile();
    const first = await server(databasePath);
    expect((await h.connected(first.wsUrl, await first.token('alice'), ['U1']).then((c) => c.sendMessage('U1', 'first'))).seq).toBe(1);
    // The page wrote 'lost' to its outbox storage and sent it; the server stored it; the ack never
    // arrived (the server went down first). Stand-in for that page: a raw connection as alice.
    const page = h.defer(await RawClient.authed(first.wsUrl, await first.token('alice')));
    page.send('message_send', { line_user_id: 'U1', message: { type: 'text', text: 'lost' }, temp_id: 'lost-1' });
    const original = await page.next('message_sent');
    expect(original.payload.seq).toBe(2);
    await first.close();

    const second = await server(databasePath);
    const stored: OutboxEntry[] = [
      { tempId: 'lost-1', conversationId: 'U1', message: { type: 'text', text: 'lost' }, createdAt: Date.now() - 1000, expiresAt: Date.now() + 60_000, status: 'pending' },
    ];
    let saved: readonly OutboxEntry[] | undefined;
    const storage: OutboxStorage = { load: () => stored, save: (entries) => void (saved = entries) };
    const reloaded = h.client(second.wsUrl, { token: await second.token('alice'), queue: { storage, ackTimeoutMs: 1000 } });
    const deliveries: DeliveryUpdate[] = [];
    reloaded.on('delivery', (update) => deliveries.push(update));
    reloaded.joinConversation('U1');
    reloaded.connect();
    await waitForState(reloaded, 'connected');
    await waitFor('the re-sent message acked', () => deliveries.some((d) => d.status === 'sent'), { describe: () => deliveries });
    expect(deliveries.filter((d) => d.status === 'sent')).toEqual([{ tempId: 'lost-1', conversationId: 'U1', status: 'sent', seq: 2 }]);
    await waitFor('the outbox storage emptied', () => saved !== undefined && saved.length === 0);
    const rows = await history(second, 'U1');
    expect(rows.map((m) => [m.seq, m.temp_id, m.message.text])).toEqual([
      [1, expect.any(String), 'first'],
      [2, 'lost-1', 'lost'],
    ]);
    // A fresh page loads the history over HTTP: merged with what it has, each message once.
    reloaded.conversation('U1').addHistory(
      rows.map((m) => ({ seq: m.seq, sender: m.sender as 'operator', adminId: m.admin_id, tempId: m.temp_id, content: m.message, timestamp: m.timestamp })),
    );
    expect(reloaded.conversation('U1').getSnapshot().messages.map((m) => [m.seq, m.content.text, m.status])).toEqual([
      [1, 'first', 'sent'],
      [2, 'lost', 'sent'],
    ]);
    expect((await reloaded.sendMessage('U1', 'next')).seq).toBe(3);
  });

  test('clients stay connected through two restarts on one port: messages queued while down go out once, the other operator sees each once', async () => {
    const h = harness();
    const databasePath = databaseFile();
    let current = await server(databasePath);
    const port = current.port;
    const alice = await h.connected(current.wsUrl, await current.token('alice'), ['U1']);
    const bob = await h.connected(current.wsUrl, await current.token('bob'), ['U1']);
    const acks: Promise<{ seq: number | undefined }>[] = [];
    const expected: string[] = [];
    const sendSome = (round: number) => {
      for (let i = 0; i < 5; i++) {
        expected.push(`r${round} m${i}`);
        acks.push(alice.sendMessage('U1', `r${round} m${i}`));
      }
    };
    for (let round = 0; round < 3; round++) {
      sendSome(round * 2);
      await Promise.all(acks);
      if (round === 2) break;
      await current.close();
      await waitFor('alice noticed', () => alice.state !== 'connected');
      sendSome(round * 2 + 1); // queued while the server is down
      current = await server(databasePath, port);
      await waitForState(alice, 'connected', 5000);
    }
    const seqs = (await Promise.all(acks)).map((ack) => ack.seq);
    expect(seqs).toEqual(expected.map((_, i) => i + 1));
    expect((await history(current, 'U1')).map((m) => m.message.text)).toEqual(expected);
    await waitFor('bob has all', () => bob.conversation('U1').getSnapshot().lastSeq === expected.length, {
      describe: () => bob.conversation('U1').getSnapshot().lastSeq,
    });
    expect(texts(bob, 'U1')).toEqual(expected);
    expect(texts(alice, 'U1')).toEqual(expected);
  });
});
