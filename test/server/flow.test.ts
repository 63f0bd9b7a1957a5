import { statSync } from 'node:fs';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { sign, textEvent } from '../../examples/server/src/line.js';
import { texts, useHarness, waitFor, waitForState } from '../support/harness.js';
import { type Frame, RawClient } from '../support/raw-client.js';
import { startApp } from '../../examples/server/src/app.js';
import { loadConfig } from '../../examples/server/src/config.js';
import { type TestServer, startServer, tempDir, testSecret } from '../support/reference-server.js';

const harness = useHarness();
const U1 = 'U4af4980629';

async function server(overrides = {}): Promise<TestServer> {
  return harness().defer(await startServer(overrides));
}

describe('messages', () => {
  test('join, send and ack: the sender gets seq, the other operator sees it once, everyone gets conversation_updated', async () => {
    const app = await server();
    const alice = await harness().connected(app.wsUrl, await app.token('alice'), [U1]);
    const bob = await harness().connected(app.wsUrl, await app.token('bob'), [U1]);
    const updates: unknown[] = [];
    bob.on('conversation_updated', (payload) => updates.push(payload));
    await waitFor('both in the room', () => alice.conversation(U1).getSnapshot().operators.length === 2);

    const ack = await alice.sendMessage(U1, 'Hello from Alice');
    expect(ack).toMatchObject({ conversationId: U1, seq: 1, adminId: 'alice' });
    await waitFor('bob sees it', () => texts(bob, U1).length === 1);
    expect(bob.conversation(U1).getSnapshot().messages).toEqual([
      expect.objectContaining({ seq: 1, sender: 'operator', adminId: 'alice', status: 'sent', content: { type: 'text', text: 'Hello from Alice' } }),
    ]);
    expect(texts(alice, U1)).toEqual(['Hello from Alice']);
    await waitFor('conversation_updated', () => updates.length === 1);
    expect(updates[0]).toMatchObject({ line_user_id: U1, last_seq: 1, status: 'answered', unread_count: 0 });
  });

  test('a message to a conversation the sender has not joined is still acked (and not fanned out to it)', async () => {
    const app = await server();
    const alice = await harness().connected(app.wsUrl, await app.token('alice'));
    // A view, not a join: the server is not told (sendMessage alone keeps no view in the client).
    alice.conversation(U1);
    const ack = await alice.sendMessage(U1, 'no room needed');
    expect(ack.seq).toBe(1);
    expect(texts(alice, U1)).toEqual(['no room needed']);
  });

  test('a retried temp_id is stored once and answered with the original ack (same seq)', async () => {
    const app = await server();
    const raw = harness().defer(await RawClient.authed(app.wsUrl, await app.token('alice')));
    const frame = { line_user_id: U1, message: { type: 'text', text: 'once' }, temp_id: 'tmp-1' };
    raw.send('message_send', frame);
    const first = await raw.next('message_sent');
    raw.send('message_send', { ...frame, message: { type: 'text', text: 'changed on retry' } });
    const second = await raw.next('message_sent');
    expect(second.payload).toEqual(first.payload);
    expect(second.timestamp).toBe(first.timestamp);
    const history = await app.store.history(U1, { limit: 10 });
    expect(history.messages.map((message) => message.message.text)).toEqual(['once']);
    // Dedup is per operator: another operator may use the same temp_id.
    const other = harness().defer(await RawClient.authed(app.wsUrl, await app.token('bob')));
    other.send('message_send', frame);
    expect((await other.next('message_sent')).payload.seq).toBe(2);
  });

  test('replay: a client that was away gets every event after its last seq, in order, once', async () => {
    const app = await server();
    const alice = await harness().connected(app.wsUrl, await app.token('alice'), [U1]);
    await waitFor('alice in the room', () => alice.conversation(U1).getSnapshot().operators.includes('alice'));
    await app.webhook(textEvent(U1, 'first'));
    await waitFor('first message', () => texts(alice, U1).length === 1);
    alice.disconnect();
    await app.webhook(textEvent(U1, 'while away 1'));
    const bob = await harness().connected(app.wsUrl, await app.token('bob'));
    await bob.sendMessage(U1, 'while away 2');
    await app.webhook(textEvent(U1, 'while away 3'));
    alice.connect();
    await waitFor('replayed', () => texts(alice, U1).length === 4, { describe: () => texts(alice, U1) });
    expect(texts(alice, U1)).toEqual(['first', 'while away 1', 'while away 2', 'while away 3']);
    expect(alice.conversation(U1).getSnapshot().messages.map((message) => message.seq)).toEqual([1, 2, 3, 4]);
  });

  test('replay beyond the server limit answers replay_unavailable: the client flags the conversation for a resync', async () => {
    const app = await server({ replayLimit: 2 });
    const alice = await harness().connected(app.wsUrl, await app.token('alice'), [U1]);
    await app.webhook(textEvent(U1, 'seen'));
    await waitFor('first message', () => texts(alice, U1).length === 1);
    alice.disconnect();
    for (const text of ['a', 'b', 'c']) await app.webhook(textEvent(U1, text));
    const resyncs: string[] = [];
    alice.on('resync', ({ conversationId }) => resyncs.push(conversationId));
    alice.connect();
    await waitFor('resync', () => alice.conversation(U1).getSnapshot().resyncRequired);
    expect(resyncs).toEqual([U1]);
  });
});

/** Writes `frames` to the server in one TCP write, so that it reads and handles them in one turn. */
function burst(raw: RawClient, frames: [type: string, payload: unknown][]): void {
  const tcp = (raw.socket as unknown as { _socket: Socket })._socket;
  tcp.cork();
  for (const [type, payload] of frames) raw.send(type, payload);
  process.nextTick(() => tcp.uncork());
}

const send = (tempId: string, text: string, conversationId = U1): [string, unknown] => [
  'message_send',
  { line_user_id: conversationId, message: { type: 'text', text }, temp_id: tempId },
];
const acks = (raw: RawClient) => raw.of('message_sent').map((frame) => [frame.payload.temp_id, frame.payload.seq]);

describe('sends that arrive together (one turn: one commit)', () => {
  test('acked in arrival order with consecutive seqs; a repeated temp_id gets the original ack; one conversation_updated', async () => {
    const app = await server();
    const alice = harness().defer(await RawClient.authed(app.wsUrl, await app.token('alice')));
    const bob = harness().defer(await RawClient.authed(app.wsUrl, await app.token('bob')));
    const frames = Array.from({ length: 20 }, (_, index) => send(`t${index}`, `message ${index}`));
    frames[12] = send('t5', 'a retry of t5, changed'); // the same temp_id twice in one batch
    burst(alice, frames);
    await alice.next('message_sent', (payload) => payload.temp_id === 't19');
    const expected = frames.map((_, index) => (index < 12 ? [`t${index}`, index + 1] : index === 12 ? ['t5', 6] : [`t${index}`, index]));
    expect(acks(alice)).toEqual(expected);
    expect(alice.of('message_sent')[12]).toEqual(alice.of('message_sent')[5]); // the original ack, byte for byte
    const stored = await app.store.messagesAfter(U1, 0, 100);
    expect(stored?.map((message) => [message.tempId, message.seq])).toEqual(expected.filter((_, index) => index !== 12));
    expect(stored?.[5]?.message.text).toBe('message 5');
    // Everyone hears of the conversation once for the burst, with its newest state.
    const update = await bob.next('conversation_updated');
    expect(update.payload).toMatchObject({ line_user_id: U1, last_seq: 19, status: 'answered', last_message: { seq: 19, temp_id: 't19' } });
    expect(bob.of('conversation_updated')).toHaveLength(1);
  });

  test('sends one at a time, each the moment its ack arrives: every ack comes before the conversation_updated announcing it, the last one is the newest', async () => {
    const app = await server();
    const alice = harness().defer(await RawClient.authed(app.wsUrl, await app.token('alice')));
    alice.send('join_conversation', { line_user_id: U1 }); // as the benchmark does: the ack is the room's fan-out
    await alice.next('operator_joined');
    const count = 30;
    for (let index = 0; index < count; index++) {
      alice.send(...send(`s${index}`, `message ${index}`));
      await alice.next('message_sent', (payload) => payload.temp_id === `s${index}`);
    }
    await alice.next('conversation_updated', (payload) => payload.last_seq === count);
    // conversation_updated is written a turn after the acks (never ahead of one, never stale):
    // it may cover several sends, but it never announces a message whose ack the sender lacks.
    let acked = 0;
    const announced: number[] = [];
    for (const frame of alice.frames) {
      if (frame.type === 'message_sent') acked = frame.payload.seq as number;
      if (frame.type !== 'conversation_updated') continue;
      const lastSeq = frame.payload.last_seq as number;
      expect(lastSeq).toBeLessThanOrEqual(acked);
      announced.push(lastSeq);
    }
    expect(announced).toEqual([...announced].sort((a, b) => a - b));
    expect(new Set(announced).size).toBe(announced.length);
    expect(announced.at(-1)).toBe(count);
  });

  test('a burst from one connection is stored in one transaction (one write of its pages to the WAL)', async () => {
    const folder = tempDir();
    harness().defer(() => folder.remove());
    const databasePath = join(folder.path, 'chat.sqlite');
    const app = await server({ databasePath });
    const alice = harness().defer(await RawClient.authed(app.wsUrl, await app.token('alice')));
    alice.send(...send('first', 'creates the pages'));
    await alice.next('message_sent');
    const walFrames = () => (statSync(`${databasePath}-wal`).size - 32) / (24 + 4096);
    const before = walFrames();
    burst(alice, Array.from({ length: 30 }, (_, index) => send(`t${index}`, `message ${index}`)));
    await alice.next('message_sent', (payload) => payload.temp_id === 't29');
    expect(acks(alice).map(([, seq]) => seq)).toEqual(Array.from({ length: 31 }, (_, index) => index + 1));
    // One commit per message would write the three pages involved 30 times (about 90 frames).
    expect(walFrames() - before).toBeLessThan(15);
  });

  test('frames between the sends keep their place: acks before and after a join, in order', async () => {
    const app = await server();
    const alice = harness().defer(await RawClient.authed(app.wsUrl, await app.token('alice')));
    burst(alice, [
      send('a1', 'before the join 1'),
      send('a2', 'before the join 2'),
      ['join_conversation', { line_user_id: U1 }],
      send('a3', 'after the join 1'),
      ['ping', {}],
      send('a4', 'after the join 2'),
    ]);
    await alice.next('message_sent', (payload) => payload.temp_id === 'a4');
    const order = (frame: Frame) => (frame.type === 'message_sent' ? `ack ${String(frame.payload.temp_id)}` : frame.type);
    expect(alice.frames.filter((frame) => frame.type !== 'conversation_updated' && frame.type !== 'auth_success').map(order)).toEqual([
      'ack a1',
      'ack a2',
      'operator_joined',
      'ack a3', // through the room now
      'pong',
      'ack a4',
    ]);
    expect(acks(alice)).toEqual([
      ['a1', 1],
      ['a2', 2],
      ['a3', 3],
      ['a4', 4],
    ]);
  });

  test('a send whose store fails gets its own internal_error; the others of the burst are acked, in order', async () => {
    const app = await server();
    const append = app.store.appendOperatorMessage.bind(app.store);
    app.store.appendOperatorMessage = (conversationId, adminId, tempId, message) =>
      tempId === 'broken' ? Promise.reject(new Error('disk on fire')) : append(conversationId, adminId, tempId, message);
    const alice = harness().defer(await RawClient.authed(app.wsUrl, await app.token('alice')));
    burst(alice, [send('b1', 'one'), send('broken', 'two'), send('b3', 'three')]);
    await alice.next('message_sent', (payload) => payload.temp_id === 'b3');
    const error = await alice.next('error');
    expect(error.payload).toMatchObject({ code: 'internal_error', temp_id: 'broken' });
    expect(alice.frames.filter((frame) => frame.type === 'message_sent' || frame.type === 'error').map((frame) => frame.payload.temp_id)).toEqual([
      'b1',
      'broken',
      'b3',
    ]);
    expect(acks(alice)).toEqual([
      ['b1', 1],
      ['b3', 2],
    ]);
  });

  test('acks leave in arrival order when the store settles a later send first, and a frame after them waits for both', async () => {
    const app = await server();
    const append = app.store.appendOperatorMessage.bind(app.store);
    let releaseFirst = () => {};
    // The first send is stored at once but settles only when the test says so; the second settles
    // as soon as it is stored, ahead of the first (as a store with several connections could).
    const secondSettled = new Promise<void>((resolve) => {
      app.store.appendOperatorMessage = (conversationId, adminId, tempId, message) => {
        const stored = append(conversationId, adminId, tempId, message);
        if (tempId === 'first') return new Promise((release) => (releaseFirst = () => release(stored)));
        return stored.finally(() => setImmediate(resolve));
      };
    });
    const alice = harness().defer(await RawClient.authed(app.wsUrl, await app.token('alice')));
    burst(alice, [send('first', 'one'), send('second', 'two'), ['ping', {}]]);
    await secondSettled;
    // The second append has settled and its handling has run: nothing may have left yet.
    expect(alice.frames.filter((frame) => ['message_sent', 'pong', 'error'].includes(frame.type))).toEqual([]);
    releaseFirst();
    await alice.next('pong');
    const order = alice.frames.filter((frame) => frame.type === 'message_sent' || frame.type === 'pong').map((frame) => frame.payload.temp_id ?? frame.type);
    expect(order).toEqual(['first', 'second', 'pong']);
    expect(acks(alice)).toEqual([
      ['first', 1],
      ['second', 2],
    ]);
  });
});

describe('typing and presence', () => {
  test('typing reaches the others in the room, never the sender, and expires on the server', async () => {
    const app = await server({ typingTimeoutMs: 150 });
    const aliceRaw = harness().defer(await RawClient.authed(app.wsUrl, await app.token('alice')));
    const bobRaw = harness().defer(await RawClient.authed(app.wsUrl, await app.token('bob')));
    aliceRaw.send('join_conversation', { line_user_id: U1 });
    bobRaw.send('join_conversation', { line_user_id: U1 });
    await bobRaw.next('operator_joined', (payload) => (payload.operators as string[]).length === 2);
    await aliceRaw.next('operator_joined', (payload) => (payload.operators as string[]).length === 2);
    aliceRaw.send('typing_start', { line_user_id: U1 });
    expect((await bobRaw.next('typing_started')).payload).toMatchObject({ admin_id: 'alice', line_user_id: U1 });
    // No stop is ever sent: the server stops it by itself.
    expect((await bobRaw.next('typing_stopped')).payload).toMatchObject({ admin_id: 'alice' });
    expect(aliceRaw.of('typing_started')).toEqual([]);
    expect(aliceRaw.of('typing_stopped')).toEqual([]);
  });

  test('the SDK shows the other operator typing and clears it when the message arrives', async () => {
    const app = await server();
    const alice = await harness().connected(app.wsUrl, await app.token('alice'), [U1]);
    const bob = await harness().connected(app.wsUrl, await app.token('bob'), [U1]);
    await waitFor('both present', () => bob.conversation(U1).getSnapshot().operators.length === 2);
    alice.startTyping(U1);
    await waitFor('bob sees alice typing', () => bob.conversation(U1).getSnapshot().typing.includes('alice'));
    expect(alice.conversation(U1).getSnapshot().typing).toEqual([]);
    await alice.sendMessage(U1, 'done typing');
    await waitFor('typing cleared', () => bob.conversation(U1).getSnapshot().typing.length === 0);
  });

  test('two tabs of one operator: both present as one operator; closing one tab keeps the operator present', async () => {
    const app = await server();
    const token = await app.token('alice');
    const tab1 = await harness().connected(app.wsUrl, token, [U1]);
    const tab2 = await harness().connected(app.wsUrl, token, [U1]);
    const bob = await harness().connected(app.wsUrl, await app.token('bob'), [U1]);
    await waitFor('all present', () => bob.conversation(U1).getSnapshot().operators.join() === 'alice,bob');
    // A message from one tab reaches the other tab of the same operator.
    await tab1.sendMessage(U1, 'from tab 1');
    await waitFor('tab 2 sees it', () => texts(tab2, U1).includes('from tab 1'));
    tab1.disconnect();
    await waitFor('an operator_left arrived', () => bob.conversation(U1).getSnapshot().operators.join() === 'alice,bob');
    tab2.disconnect();
    await waitFor('alice gone', () => bob.conversation(U1).getSnapshot().operators.join() === 'bob');
  });

  test('a socket that dies (no leave) still updates presence', async () => {
    const app = await server();
    const raw = harness().defer(await RawClient.authed(app.wsUrl, await app.token('alice')));
    raw.send('join_conversation', { line_user_id: U1 });
    const bob = await harness().connected(app.wsUrl, await app.token('bob'), [U1]);
    await waitFor('both present', () => bob.conversation(U1).getSnapshot().operators.length === 2);
    raw.close();
    await waitFor('alice left', () => bob.conversation(U1).getSnapshot().operators.join() === 'bob');
  });
});

describe('LINE webhook', () => {
  const secret = 'line-channel-secret';

  test('a signed webhook is accepted: stored with a seq, fanned out as message_received, redelivery deduplicated', async () => {
    const app = await server({ lineChannelSecret: secret });
    const alice = await harness().connected(app.wsUrl, await app.token('alice'), [U1]);
    const updates: unknown[] = [];
    alice.on('conversation_updated', (payload) => updates.push(payload));
    await waitFor('in the room', () => alice.conversation(U1).getSnapshot().operators.length === 1);
    const body = JSON.stringify(textEvent(U1, '<b>not bold</b>', 'line-msg-1'));
    expect(await app.webhook(body, { 'x-line-signature': sign(body, secret) })).toBe(200);
    expect(await app.webhook(body, { 'x-line-signature': sign(body, secret) })).toBe(200); // LINE redelivers
    await waitFor('received', () => texts(alice, U1).length === 1);
    expect(alice.conversation(U1).getSnapshot().messages[0]).toMatchObject({ seq: 1, sender: 'customer', content: { text: '<b>not bold</b>' } });
    await waitFor('conversation_updated', () => updates.length === 1);
    expect(updates[0]).toMatchObject({ line_user_id: U1, unread_count: 1, status: 'waiting' });
    expect((await app.store.history(U1, { limit: 10 })).messages).toHaveLength(1);
  });

  test.each([
    ['no signature', undefined],
    ['a wrong signature', sign('another body', secret)],
    ['garbage', '!!!'],
  ])('%s is refused with 401 and nothing is stored', async (_, signature) => {
    const app = await server({ lineChannelSecret: secret });
    const body = JSON.stringify(textEvent(U1, 'spoofed'));
    expect(await app.webhook(body, signature === undefined ? {} : { 'x-line-signature': signature })).toBe(401);
    expect(await app.store.listConversations()).toEqual([]);
  });

  test('without a channel secret the signature is not checked; a body that is not a webhook gets 400', async () => {
    const app = await server();
    expect(await app.webhook(textEvent(U1, 'hi'))).toBe(200);
    expect(await app.webhook('{"nope":1}')).toBe(400);
    expect(await app.webhook('not json')).toBe(400);
    // Non-text events (stickers, follows) are acknowledged and skipped.
    expect(await app.webhook({ destination: 'x', events: [{ type: 'follow', source: { type: 'user', userId: U1 } }] })).toBe(200);
    expect((await app.store.history(U1, { limit: 10 })).messages.map((message) => message.message.text)).toEqual(['hi']);
  });
});

test('the SDK client runs its whole flow on the reference server: reconnect after a graceful shutdown', async () => {
  let app = await startServer();
  const port = app.port;
  const alice = harness().client(app.wsUrl, { token: () => app.token('alice') });
  alice.joinConversation(U1);
  alice.connect();
  await waitForState(alice, 'connected');
  await app.close();
  await waitForState(alice, 'reconnecting');
  app = harness().defer(await startServer({ port }));
  await waitForState(alice, 'connected');
  const ack = await alice.sendMessage(U1, 'after the restart');
  expect(ack.seq).toBe(1);
});

describe('conversation_updated costs no write of its own', () => {
  test("it waits in the socket for the connection's next frame and leaves right ahead of it; alone, it leaves after lazyFlushMs", async () => {
    const config = loadConfig({}, { port: 0, host: '127.0.0.1', jwtSecret: testSecret, databasePath: ':memory:', staticDirs: [] });
    const lazyFlushMs = 400; // 1 ms in production: long here, so that the wait can be seen
    const app = harness().defer(await startApp(config, () => {}, { lazyFlushMs }));
    const token = (adminId: string) => app.auth.sign({ adminId }, 3600);
    const alice = harness().defer(await RawClient.authed(app.wsUrl, await token('alice')));
    const bob = harness().defer(await RawClient.authed(app.wsUrl, await token('bob')));
    // TCP chunks as alice's socket receives them: which frames shared a write of the server.
    const chunks: string[] = [];
    (alice.socket as unknown as { _socket: Socket })._socket.on('data', (chunk: Buffer) => chunks.push(chunk.toString('latin1')));
    alice.send('join_conversation', { line_user_id: U1 });
    await alice.next('operator_joined');
    const started = performance.now();
    alice.send(...send('s1', 'first'));
    await alice.next('message_sent', (payload) => payload.temp_id === 's1'); // the ack is not held back
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(alice.of('conversation_updated')).toHaveLength(0); // waiting in the server's socket
    alice.send('ping');
    await alice.next('pong');
    // It left with the pong, ahead of it, in one write.
    const types = alice.frames.map((frame) => frame.type).filter((type) => type !== 'auth_success');
    expect(types).toEqual(['operator_joined', 'message_sent', 'conversation_updated', 'pong']);
    expect(alice.of('conversation_updated')[0]!.payload).toMatchObject({ line_user_id: U1, last_seq: 1 });
    const shared = chunks.find((chunk) => chunk.includes('"conversation_updated"'));
    expect(shared).toContain('"pong"');
    expect(performance.now() - started).toBeLessThan(lazyFlushMs);
    // Bob gets nothing else: his copy leaves on its own once lazyFlushMs is over.
    const update = await bob.next('conversation_updated');
    expect(performance.now() - started).toBeGreaterThanOrEqual(lazyFlushMs - 5);
    expect(update.payload).toMatchObject({ line_user_id: U1, last_seq: 1 });
  });
});
