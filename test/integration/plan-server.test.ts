import { describe, expect, test } from 'vitest';
import { WebSocket } from 'ws';
import type { Frame, Payload } from '../support/v1-server.js';
import { texts, useHarness, waitFor, waitForState } from '../support/harness.js';
import { PlanServer } from '../support/plan-server.js';

const harness = useHarness();

/** Another operator as the plan's own frontend would be: a raw socket sending `admin_id` in auth. */
class PlanOperator {
  readonly frames: Frame[] = [];
  readonly #socket: WebSocket;

  private constructor(socket: WebSocket) {
    this.#socket = socket;
    socket.on('message', (data) => this.frames.push(JSON.parse(String(data)) as Frame));
    socket.on('error', () => undefined);
  }

  static async connect(url: string, adminId: string): Promise<PlanOperator> {
    const socket = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    const operator = new PlanOperator(socket);
    operator.send('auth', { token: 'ignored', admin_id: adminId });
    await waitFor(`${adminId} authenticated`, () => operator.frames.some((f) => f.type === 'auth_success'));
    return operator;
  }

  send(type: string, payload: Payload): void {
    this.#socket.send(JSON.stringify({ type, payload, timestamp: new Date().toISOString() }));
  }

  close(): void {
    this.#socket.terminate();
  }
}

async function setup() {
  const h = harness();
  const server = h.defer(await PlanServer.start());
  const client = await h.connected(server.url, 'any-token', ['U1']); // the plan authenticates everyone as admin '1'
  await waitFor('admin 1 in the room', () => server.roomAdmins('U1').includes('1'));
  return { h, server, client };
}

describe('a server written exactly to the seed plan', () => {
  test('connect, join, send: acked by temp_id without seq; customer messages arrive', async () => {
    const { server, client } = await setup();
    expect(client.getSnapshot().adminId).toBe('1');

    const ack = await client.sendMessage('U1', 'hello from the console');
    expect(ack).toMatchObject({ conversationId: 'U1', seq: undefined, adminId: '1', message: { text: 'hello from the console' } });
    server.injectCustomerMessage('U1', 'hi, I need help');
    await waitFor('customer message', () => texts(client, 'U1').length === 2);
    const { messages, lastSeq } = client.conversation('U1').getSnapshot();
    expect(messages.map((m) => [m.sender, m.content.text, m.status, m.seq])).toEqual([
      ['operator', 'hello from the console', 'sent', undefined],
      ['customer', 'hi, I need help', 'sent', undefined],
    ]);
    expect(messages[0]?.tempId).toBe(ack.tempId);
    expect(lastSeq).toBeUndefined();
    expect(client.getSnapshot()).toMatchObject({ pendingCount: 0, lastError: undefined });
  });

  test('typing: the echo of our own typing is ignored, another operator\'s typing is shown', async () => {
    const { h, server, client } = await setup();
    const other = h.defer(await PlanOperator.connect(server.url, '2'));
    other.send('join_conversation', { line_user_id: 'U1' });
    await waitFor('admin 2 in the room', () => server.roomAdmins('U1').includes('2'));

    let echoes = 0;
    client.on('typing_started', ({ admin_id }) => admin_id === '1' && echoes++);
    client.startTyping('U1');
    await waitFor('the server echoed our typing back', () => echoes === 1);
    expect(client.conversation('U1').getSnapshot().typing).toEqual([]);
    expect(other.frames.some((f) => f.type === 'typing_started' && f.payload.admin_id === '1')).toBe(true);

    other.send('typing_start', { line_user_id: 'U1' });
    await waitFor('admin 2 typing shown', () => client.conversation('U1').getSnapshot().typing.includes('2'));
    expect(client.conversation('U1').getSnapshot().typing).toEqual(['2']);
    other.send('typing_stop', { line_user_id: 'U1' });
    await waitFor('admin 2 stopped', () => client.conversation('U1').getSnapshot().typing.length === 0);
  });

  test('duplicates are dropped by temp_id (the plan server neither dedups nor numbers events)', async () => {
    const { h, server, client } = await setup();
    const other = h.defer(await PlanOperator.connect(server.url, '2'));
    other.send('join_conversation', { line_user_id: 'U1' });
    const message = { type: 'text', text: 'sent twice by a retrying client' };
    other.send('message_send', { line_user_id: 'U1', message, temp_id: 'dup-1' });
    other.send('message_send', { line_user_id: 'U1', message, temp_id: 'dup-1' });
    await waitFor('both copies relayed', () => server.received.filter((f) => f.type === 'message_send').length === 2);
    server.injectCustomerMessage('U1', 'barrier');
    await waitFor('barrier', () => texts(client, 'U1').includes('barrier'));
    expect(texts(client, 'U1')).toEqual(['sent twice by a retrying client', 'barrier']);
    expect(client.conversation('U1').getSnapshot().messages[0]).toMatchObject({ sender: 'operator', adminId: '2', tempId: 'dup-1' });
  });

  test('the plan\'s pong ({timestamp}) keeps the heartbeat happy', async () => {
    const { server, client } = await setup();
    let left = 0;
    client.on('state', () => left++);
    await waitFor('three pings', () => server.received.filter((f) => f.type === 'ping').length >= 3, { timeoutMs: 3000 });
    expect(left).toBe(0);
    expect(server.connectionCount).toBe(1);
  });

  test('reconnect after the plan server restarts: the room is rejoined and queued messages go out after auth', async () => {
    const { h, server, client } = await setup();
    await server.close();
    await waitFor('the client noticed', () => client.state !== 'connected');
    const queued = client.sendMessage('U1', 'written while the server was down');
    await waitFor('a refused reconnect attempt', () => client.getSnapshot().reconnectAttempt >= 2);

    const restarted = h.defer(await PlanServer.start({ port: server.port }));
    await waitForState(client, 'connected');
    const ack = await queued;
    expect(ack.seq).toBeUndefined();
    expect(restarted.roomAdmins('U1')).toEqual(['1']);
    // The plan rejects everything before auth: the first frame must be auth, then the join, then the message.
    expect(restarted.received.map((f) => f.type).slice(0, 3)).toEqual(['auth', 'join_conversation', 'message_send']);
    expect(restarted.received.filter((f) => f.adminId === undefined && f.type !== 'auth')).toEqual([]);

    restarted.injectCustomerMessage('U1', 'after the restart');
    await waitFor('customer message after restart', () => texts(client, 'U1').includes('after the restart'));
    expect(texts(client, 'U1')).toEqual(['written while the server was down', 'after the restart']);
  });
});
