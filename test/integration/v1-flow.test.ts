import { describe, expect, test } from 'vitest';
import { isLiveChatError, type LiveChatClient } from '../../src/index.js';
import { texts, useHarness, waitFor, waitForState } from '../support/harness.js';
import { FaultProxy } from '../support/proxy.js';
import { LIVE_CHAT_PATH, V1Server, V1Store } from '../support/v1-server.js';

const harness = useHarness();

async function twoOperators(join = ['U1']): Promise<{ server: V1Server; alice: LiveChatClient; bob: LiveChatClient }> {
  const h = harness();
  const server = h.defer(await V1Server.start());
  const alice = await h.connected(server.url, 'op:alice', join);
  const bob = await h.connected(server.url, 'op:bob', join);
  for (const id of join) {
    await waitFor(`both operators present in ${id}`, () => {
      const operators = alice.conversation(id).getSnapshot().operators;
      return operators.includes('alice') && operators.includes('bob');
    }, { describe: () => alice.conversation(id).getSnapshot().operators });
  }
  return { server, alice, bob };
}

describe('protocol v1 server', () => {
  test('auth, join, send: the ack carries seq; the other operator sees it once; a customer message reaches both', async () => {
    const { server, alice, bob } = await twoOperators();
    expect(alice.getSnapshot().adminId).toBe('alice');

    const ack = await alice.sendMessage('U1', 'hello');
    expect(ack).toMatchObject({ conversationId: 'U1', seq: 1, adminId: 'alice', message: { type: 'text', text: 'hello' } });

    // Frames arrive in order on one socket: once seq 2 is there, any duplicate of seq 1 would be too.
    server.injectCustomerMessage('U1', 'hi from the customer');
    for (const client of [alice, bob]) {
      await waitFor('the customer message', () => client.conversation('U1').getSnapshot().lastSeq === 2);
      const { messages, outgoing } = client.conversation('U1').getSnapshot();
      expect(messages.map((m) => [m.seq, m.sender, m.content.text, m.status])).toEqual([
        [1, 'operator', 'hello', 'sent'],
        [2, 'customer', 'hi from the customer', 'sent'],
      ]);
      expect(outgoing).toEqual([]);
    }
    expect(bob.conversation('U1').getSnapshot().messages[0]).toMatchObject({ adminId: 'alice', tempId: ack.tempId });
    expect(server.store.events('U1')).toHaveLength(2);
    // Connected means authenticated: the first frame of each connection is auth.
    for (const connection of server.connections) {
      expect(server.received.find((frame) => frame.connectionId === connection.id)?.type).toBe('auth');
    }
  });

  test('typing is shown to the other operator, never echoed, and stops', async () => {
    const { server, alice, bob } = await twoOperators();
    let echoed = 0;
    alice.on('typing_started', () => echoed++);

    alice.startTyping('U1');
    alice.startTyping('U1'); // throttled
    await waitFor('bob sees alice typing', () => bob.conversation('U1').getSnapshot().typing.includes('alice'));
    expect(server.framesOf('typing_start')).toHaveLength(1);

    alice.stopTyping('U1');
    await waitFor('alice stops typing for bob', () => bob.conversation('U1').getSnapshot().typing.length === 0);
    server.injectCustomerMessage('U1', 'barrier');
    await waitFor('barrier at alice', () => alice.conversation('U1').getSnapshot().lastSeq === 1);
    expect(echoed).toBe(0);
    expect(alice.conversation('U1').getSnapshot().typing).toEqual([]);
  });

  test('sending does not require joining: the server acks the sender anyway', async () => {
    const h = harness();
    const server = h.defer(await V1Server.start());
    const carol = await h.connected(server.url, 'op:carol');
    const view = carol.conversation('U9'); // a view, not a join: the server is not told
    const ack = await carol.sendMessage('U9', 'without joining');
    expect(ack.seq).toBe(1);
    expect(view.getSnapshot().messages.map((m) => [m.seq, m.status])).toEqual([[1, 'sent']]);
  });

  test('the heartbeat keeps a healthy link up: pings answered, no reconnect', async () => {
    const h = harness();
    const server = h.defer(await V1Server.start());
    const client = await h.connected(server.url, 'op:alice');
    let leftConnected = 0;
    client.on('state', ({ previous }) => previous === 'connected' && leftConnected++);
    await waitFor('four pings', () => server.framesOf('ping').length >= 4, { timeoutMs: 3000 });
    expect(leftConnected).toBe(0);
    expect(server.connections).toHaveLength(1);
  });

  test('a message with a temp_id the server already stored is answered with the original ack', async () => {
    const h = harness();
    const server = h.defer(await V1Server.start());
    const alice = await h.connected(server.url, 'op:alice', ['U1']);
    const first = await alice.sendMessage('U1', 'once', { tempId: 'fixed-1' });
    // A second tab of the same operator re-sends the same temp_id (e.g. restored from storage).
    const tab = await h.connected(server.url, 'op:alice', ['U1']);
    const again = await tab.sendMessage('U1', 'once', { tempId: 'fixed-1' });
    expect(again.seq).toBe(first.seq);
    expect(again.timestamp).toBe(first.timestamp);
    expect(server.store.events('U1')).toHaveLength(1);
    expect(alice.conversation('U1').getSnapshot().messages).toHaveLength(1);
  });

  test('work queued before connect waits for auth_success: auth is the first frame, then joins, then messages', async () => {
    const h = harness();
    const server = h.defer(await V1Server.start());
    const client = h.client(server.url, { token: 'op:alice' });
    client.joinConversation('U1');
    const sent = client.sendMessage('U1', 'queued before connect');
    client.send('typing_start', { line_user_id: 'U1' });
    client.connect();
    await sent;
    expect(server.received.map((frame) => frame.type).slice(0, 2)).toEqual(['auth', 'join_conversation']);
    expect(server.received.map((frame) => frame.type)).toContain('message_send');
    expect(server.received.filter((frame) => frame.type === 'error')).toEqual([]);
  });

  test('replay_unavailable when the server no longer keeps the gap: resync event and flag', async () => {
    const h = harness();
    const store = new V1Store({ retention: 3 });
    const server = h.defer(await V1Server.start({ store }));
    const proxy = h.defer(await FaultProxy.start(server.port));
    const client = await h.connected(proxy.url(LIVE_CHAT_PATH), 'op:alice', ['U1']);
    await waitFor('alice in the room', () => server.roomAdmins('U1').includes('alice'));
    server.injectCustomerMessage('U1', 'seen');
    await waitFor('seq 1', () => client.conversation('U1').getSnapshot().lastSeq === 1);
    const resyncs: string[] = [];
    client.on('resync', ({ conversationId }) => resyncs.push(conversationId));

    proxy.dropAll();
    await waitForState(client, 'reconnecting');
    // Before the retry timer can fire: seq 2..6, of which only 4..6 are kept.
    for (let i = 0; i < 5; i++) server.injectCustomerMessage('U1', `missed ${i}`);

    await waitFor('resync required', () => client.conversation('U1').getSnapshot().resyncRequired, {
      describe: () => client.getSnapshot().state,
    });
    expect(resyncs).toEqual(['U1']);
    const rejoin = server.framesOf('join_conversation').at(-1);
    expect(rejoin?.payload).toEqual({ line_user_id: 'U1', since_seq: 1 });
    // Live events go on after the resync request.
    server.injectCustomerMessage('U1', 'live again');
    await waitFor('live event', () => texts(client, 'U1').includes('live again'));
  });

  test('disconnect() keeps unsent messages and does not reconnect; the next connect() delivers them', async () => {
    const h = harness();
    const server = h.defer(await V1Server.start());
    const client = await h.connected(server.url, 'op:alice', ['U1']);
    client.disconnect();
    expect(client.getSnapshot()).toMatchObject({ state: 'disconnected', nextRetryAt: undefined });
    const pending = client.sendMessage('U1', 'written while disconnected');
    expect(client.getSnapshot().pendingCount).toBe(1);
    expect(client.conversation('U1').getSnapshot().outgoing.map((m) => m.status)).toEqual(['pending']);
    client.connect();
    const ack = await pending;
    expect(ack.seq).toBe(1);
    expect(server.connections).toHaveLength(2);
    expect(client.conversation('U1').getSnapshot().messages.map((m) => m.status)).toEqual(['sent']);
  });
});

describe('close codes from the server', () => {
  async function connectedClient() {
    const h = harness();
    const server = h.defer(await V1Server.start());
    const client = await h.connected(server.url, 'op:alice', ['U1']);
    const errors: string[] = [];
    client.on('error', (error) => errors.push(error.code));
    return { server, client, errors };
  }

  test('1001 going away: the client reconnects', async () => {
    const { server, client } = await connectedClient();
    server.closeConnections({ code: 1001 });
    await waitForState(client, 'reconnecting');
    await waitForState(client, 'connected');
    expect(server.connections).toHaveLength(2);
  });

  test('4008 policy: reported as closed_by_server, then reconnects', async () => {
    const { server, client, errors } = await connectedClient();
    server.closeConnections({ code: 4008 });
    await waitForState(client, 'reconnecting');
    expect(client.getSnapshot().lastError?.code).toBe('closed_by_server');
    expect(errors).toContain('closed_by_server');
    await waitForState(client, 'connected');
  });

  test('1000 normal: disconnected, no reconnect scheduled', async () => {
    const { server, client } = await connectedClient();
    server.closeConnections({ code: 1000 });
    await waitForState(client, 'disconnected');
    expect(client.getSnapshot()).toMatchObject({ nextRetryAt: undefined, reconnectAttempt: 0 });
  });

  test('4001 mid-session with a string token: stops with auth_failed, no reconnect scheduled', async () => {
    const { server, client } = await connectedClient();
    server.closeConnections({ code: 4001 });
    await waitForState(client, 'disconnected');
    expect(client.getSnapshot()).toMatchObject({ nextRetryAt: undefined });
    expect(client.getSnapshot().lastError?.code).toBe('auth_failed');
    expect(server.connections).toHaveLength(1);
  });
});

describe('acks on a live connection', () => {
  test('a lost ack: re-sent after ackTimeoutMs with the same temp_id, answered with the original ack', async () => {
    const h = harness();
    const server = h.defer(await V1Server.start());
    const client = await h.connected(server.url, 'op:alice', ['U1'], { queue: { ackTimeoutMs: 150, maxRetries: 3 } });
    let lost = 0;
    server.loseAck = () => lost++ === 0; // only the first ack goes missing
    const ack = await client.sendMessage('U1', 'eventually acked', { tempId: 'late-1' });
    expect(ack.seq).toBe(1);
    expect(server.framesOf('message_send').map((f) => f.payload.temp_id)).toEqual(['late-1', 'late-1']);
    expect(server.store.events('U1')).toHaveLength(1);
    expect(client.conversation('U1').getSnapshot().messages.map((m) => [m.seq, m.status])).toEqual([[1, 'sent']]);
    expect(server.connections).toHaveLength(1);
  });

  test('no ack at all: fails with ack_timeout, stays as failed, and retryMessage later gets the original ack', async () => {
    const h = harness();
    const server = h.defer(await V1Server.start());
    const client = await h.connected(server.url, 'op:alice', ['U1'], { queue: { ackTimeoutMs: 80, maxRetries: 1 } });
    server.loseAck = () => true;
    const failed = await client.sendMessage('U1', 'never acked', { tempId: 'lost-1' }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(isLiveChatError(failed, 'ack_timeout'), String(failed)).toBe(true);
    expect(client.getSnapshot()).toMatchObject({ pendingCount: 0, failedCount: 1 });
    expect(client.conversation('U1').getSnapshot().outgoing.map((m) => [m.tempId, m.status])).toEqual([['lost-1', 'failed']]);

    server.loseAck = undefined;
    const ack = await client.retryMessage('lost-1');
    expect(ack.seq).toBe(1); // stored once, on the first send
    expect(server.store.events('U1')).toHaveLength(1);
    expect(client.getSnapshot()).toMatchObject({ pendingCount: 0, failedCount: 0 });
    expect(client.conversation('U1').getSnapshot().messages.map((m) => [m.tempId, m.status])).toEqual([['lost-1', 'sent']]);
  });
});

