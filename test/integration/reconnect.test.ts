import { describe, expect, test } from 'vitest';
import { ExponentialBackoffStrategy, FixedIntervalStrategy, type LiveChatClient } from '../../src/index.js';
import { recordStates, texts, useHarness, waitFor, waitForState } from '../support/harness.js';
import { FaultProxy } from '../support/proxy.js';
import { LIVE_CHAT_PATH, V1Server, seqOf } from '../support/v1-server.js';

const harness = useHarness();

/** A server, a proxy in front of it, alice through the proxy and bob straight to the server. */
async function setup(join = ['U1'], aliceOptions = {}) {
  const h = harness();
  const server = h.defer(await V1Server.start());
  const proxy = h.defer(await FaultProxy.start(server.port));
  const alice = await h.connected(proxy.url(LIVE_CHAT_PATH), 'op:alice', join, aliceOptions);
  const bob = await h.connected(server.url, 'op:bob', join);
  for (const id of join) {
    await waitFor(`both in the room of ${id}`, () => ['alice', 'bob'].every((admin) => server.roomAdmins(id).includes(admin)));
  }
  return { h, server, proxy, alice, bob };
}

const seqs = (client: LiveChatClient, id: string) => client.conversation(id).getSnapshot().messages.map((m) => m.seq);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('reconnect through a faulty network', () => {
  test('drop: reconnecting → connected, rejoined with since_seq, the outage replayed with no gap or duplicate', async () => {
    const { server, proxy, alice } = await setup();
    server.injectCustomerMessage('U1', 'c1');
    server.injectCustomerMessage('U1', 'c2');
    await waitFor('seq 2 at alice', () => alice.conversation('U1').getSnapshot().lastSeq === 2);
    const states = recordStates(alice);

    proxy.dropAll();
    await waitForState(alice, 'reconnecting');
    // Synchronously after the state event, so before the retry timer: these happen during the outage.
    for (const text of ['c3', 'c4', 'c5']) server.injectCustomerMessage('U1', text);
    await waitForState(alice, 'connected');

    await waitFor('replay up to seq 5', () => alice.conversation('U1').getSnapshot().lastSeq === 5, { describe: () => seqs(alice, 'U1') });
    server.injectCustomerMessage('U1', 'c6'); // live again; also a barrier for stray duplicates
    await waitFor('seq 6', () => alice.conversation('U1').getSnapshot().lastSeq === 6);
    expect(seqs(alice, 'U1')).toEqual(range(1, 6));
    expect(texts(alice, 'U1')).toEqual(['c1', 'c2', 'c3', 'c4', 'c5', 'c6']);
    expect(states[0]).toBe('connected>reconnecting');
    expect(states.at(-1)).toBe('reconnecting>connected');
    const lastConnection = server.connections.at(-1)?.id;
    const rejoin = server.received.find((f) => f.type === 'join_conversation' && f.connectionId === lastConnection);
    expect(rejoin?.payload).toEqual({ line_user_id: 'U1', since_seq: 2 });
  });

  test('a conversation joined before any event still gets the events of an outage', async () => {
    const { server, proxy, alice } = await setup(['U2']);
    proxy.dropAll();
    await waitForState(alice, 'reconnecting');
    server.injectCustomerMessage('U2', 'first ever');
    server.injectCustomerMessage('U2', 'second');
    await waitForState(alice, 'connected');
    await waitFor('alice back in the room', () => server.roomAdmins('U2').filter((a) => a === 'alice').length === 1);
    server.injectCustomerMessage('U2', 'live');
    await waitFor('the live event', () => texts(alice, 'U2').includes('live'));
    // The rejoin must ask for everything since the start (since_seq 0), or the server cannot know what was missed.
    expect(texts(alice, 'U2')).toEqual(['first ever', 'second', 'live']);
  });

  test('half-open link: the heartbeat declares it dead, the client reconnects after unstall, nothing lost or doubled', async () => {
    const { server, proxy, alice, bob } = await setup();
    server.injectCustomerMessage('U1', 'before');
    await waitFor('seq 1 at alice', () => alice.conversation('U1').getSnapshot().lastSeq === 1);

    proxy.stall();
    const sent = alice.sendMessage('U1', 'into the void', { tempId: 'stalled-1' }); // written to a dead link
    server.injectCustomerMessage('U1', 'while stalled');
    const detectedAt = Date.now();
    await waitFor('heartbeat notices the dead link', () => alice.state !== 'connected', { timeoutMs: 6000 });
    expect(Date.now() - detectedAt).toBeLessThan(1000);
    proxy.unstall(); // the old link delivers what it held (the message included) and the new one connects
    await waitForState(alice, 'connected');

    const ack = await sent;
    await waitFor('alice has seq 3', () => alice.conversation('U1').getSnapshot().lastSeq === 3, { describe: () => seqs(alice, 'U1') });
    await waitFor('bob has seq 3', () => bob.conversation('U1').getSnapshot().lastSeq === 3);
    server.injectCustomerMessage('U1', 'barrier');
    for (const client of [alice, bob]) {
      await waitFor('barrier', () => client.conversation('U1').getSnapshot().lastSeq === 4);
      expect(seqs(client, 'U1')).toEqual(range(1, 4));
    }
    const stored = server.store.events('U1').filter((e) => e.payload.temp_id === 'stalled-1');
    expect(stored).toHaveLength(1);
    expect(ack.seq).toBe(seqOf(stored[0]!));
    expect(alice.getSnapshot().pendingCount).toBe(0);
  });

  test('half-open link with a working network: a fresh connection replaces it without unstall', async () => {
    const { server, proxy, alice } = await setup();
    const connectionsBefore = server.connections.length;
    proxy.stall('existing');
    const sent = alice.sendMessage('U1', 'rescued');
    await waitFor('dead link noticed', () => alice.state !== 'connected', { timeoutMs: 6000 });
    await waitForState(alice, 'connected');
    const ack = await sent;
    expect(ack.seq).toBe(1);
    expect(server.connections.length).toBe(connectionsBefore + 1);
    expect(server.store.events('U1')).toHaveLength(1);
  });

  test('outage: 20 messages written offline are pending, then delivered once each, in order', async () => {
    const { server, proxy, alice, bob } = await setup();
    proxy.refuse(true);
    proxy.dropAll();
    await waitForState(alice, 'reconnecting');

    const n = 20;
    const promises = Array.from({ length: n }, (_, i) => alice.sendMessage('U1', `m${i}`));
    const offline = alice.conversation('U1').getSnapshot();
    expect(alice.getSnapshot().pendingCount).toBe(n);
    expect(offline.outgoing.map((m) => [m.content.text, m.status])).toEqual(promises.map((_, i) => [`m${i}`, 'pending']));
    expect(server.framesOf('message_send')).toHaveLength(0);
    const refusedBefore = proxy.connectionCount;
    await waitFor('two refused reconnect attempts', () => proxy.connectionCount >= refusedBefore + 2);
    expect(alice.getSnapshot()).toMatchObject({ state: 'reconnecting', pendingCount: n });

    proxy.refuse(false);
    const acks = await Promise.all(promises);
    expect(acks.map((ack) => ack.seq)).toEqual(range(1, n));
    expect(acks.map((ack) => ack.message.text)).toEqual(promises.map((_, i) => `m${i}`));
    expect(server.store.events('U1').map((e) => (e.payload.message as { text: string }).text)).toEqual(acks.map((a) => a.message.text));

    await waitFor('bob has all', () => bob.conversation('U1').getSnapshot().lastSeq === n);
    expect(texts(bob, 'U1')).toEqual(acks.map((a) => a.message.text));
    expect(seqs(alice, 'U1')).toEqual(range(1, n));
    expect(alice.getSnapshot()).toMatchObject({ pendingCount: 0, failedCount: 0, state: 'connected' });
  });

  test('refused connections: attempts are spaced by a fixed interval, not a storm', async () => {
    const { proxy, alice } = await setup([], { reconnect: new FixedIntervalStrategy({ intervalMs: 100 }) });
    proxy.refuse(true);
    const start = proxy.connectionCount;
    const droppedAt = Date.now();
    proxy.dropAll();
    await waitFor('5 refused attempts', () => proxy.connectionCount - start >= 5, { timeoutMs: 3000 });
    const elapsed = Date.now() - droppedAt;
    const times = [droppedAt, ...proxy.acceptedAt.slice(start)];
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(98);
    expect(proxy.connectionCount - start).toBeLessThanOrEqual(Math.floor(elapsed / 100) + 1);
    expect(alice.getSnapshot().reconnectAttempt).toBeGreaterThanOrEqual(5);

    proxy.refuse(false);
    await waitForState(alice, 'connected');
    await waitFor('attempt counter reset once stable', () => alice.getSnapshot().reconnectAttempt === 0);
  });

  test('refused connections: exponential backoff delays grow between attempts', async () => {
    const strategy = new ExponentialBackoffStrategy({ baseDelayMs: 25, maxDelayMs: 1000, random: () => 0.999 });
    const { proxy, alice } = await setup([], { reconnect: strategy });
    proxy.refuse(true);
    const start = proxy.connectionCount;
    proxy.dropAll();
    await waitFor('5 refused attempts', () => proxy.connectionCount - start >= 5, { timeoutMs: 3000 });
    const times = proxy.acceptedAt.slice(start);
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    // Between attempts k and k+1 the client waited getDelay(k + 1) after noticing the failure.
    gaps.forEach((gap, k) => expect(gap, `gap ${k}`).toBeGreaterThanOrEqual(strategy.getDelay(k + 2) - 2));
    expect(gaps.at(-1)!).toBeGreaterThan(gaps[0]! * 4);
    await waitFor('waiting for the 6th attempt', () => alice.getSnapshot().nextRetryAt !== undefined);
    expect(alice.getSnapshot().nextRetryAt! - Date.now()).toBeGreaterThan(300); // getDelay(6) is ~800 ms
    proxy.refuse(false);
    alice.connect(); // "Retry now": skips the remaining wait
    await waitForState(alice, 'connected', 300);
  });

  test('left conversations are not rejoined; typing and presence do not outlive the connection', async () => {
    const { server, proxy, alice, bob } = await setup(['U1', 'U2']);
    alice.leaveConversation('U2');
    await waitFor('alice left U2', () => !server.roomAdmins('U2').includes('alice'));
    bob.startTyping('U1');
    await waitFor('alice sees bob typing', () => alice.conversation('U1').getSnapshot().typing.includes('bob'));

    proxy.dropAll();
    await waitForState(alice, 'reconnecting');
    expect(alice.conversation('U1').getSnapshot()).toMatchObject({ typing: [], operators: [], joined: true });
    await waitForState(alice, 'connected');
    await waitFor('presence rebuilt after the rejoin', () => alice.conversation('U1').getSnapshot().operators.includes('bob'));
    const lastConnection = server.connections.at(-1)?.id;
    const rejoined = server.received.filter((f) => f.type === 'join_conversation' && f.connectionId === lastConnection);
    expect(rejoined.map((f) => f.payload.line_user_id)).toEqual(['U1']);
    expect(alice.conversation('U2').getSnapshot().joined).toBe(false);
  });

  test('a server that drops every connection right after auth meets a growing backoff, not a storm', async () => {
    const h = harness();
    const server = h.defer(await V1Server.start());
    server.onFrame((frame) => {
      if (frame.type === 'auth') server.closeConnections({ code: 1011, connectionId: frame.connectionId }); // after auth_success
    });
    const strategy = new ExponentialBackoffStrategy({ baseDelayMs: 25, maxDelayMs: 1000, random: () => 0.999 });
    const client = h.client(server.url, { token: 'op:alice', reconnect: strategy, stableAfterMs: 200 });
    const states = recordStates(client);
    client.connect();
    await waitFor('5 connections', () => server.connections.length >= 5, { timeoutMs: 3000 });
    expect(states.filter((s) => s.endsWith('>connected')).length).toBeGreaterThanOrEqual(4);
    const opened = server.connections.map((c) => c.openedAt);
    const gaps = opened.slice(1).map((t, i) => t - opened[i]!);
    // Authenticated each time, but never for stableAfterMs: the attempt counter is not reset.
    gaps.forEach((gap, k) => expect(gap, `gap ${k}`).toBeGreaterThanOrEqual(strategy.getDelay(k + 1) - 2));
    expect(client.getSnapshot().reconnectAttempt).toBeGreaterThanOrEqual(4);
  });
});
