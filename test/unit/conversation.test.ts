import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import type { HistoryMessage, LiveChatClient } from '../../src/index.js';
import { FakeServer, connectClient, connectedPair, createClient, flush, record, stopServers, within } from './helpers.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  stopServers();
  vi.useRealTimers();
});

function customer(server: FakeServer, seq: number | undefined, text = `m${seq}`, id: string | number = 'U1'): void {
  server.send('message_received', { line_user_id: id, message: { type: 'text', text }, ...(seq !== undefined && { seq }) });
}

function view(client: LiveChatClient, id = 'U1') {
  return client.conversation(id).getSnapshot();
}

function texts(client: LiveChatClient, id = 'U1'): (string | undefined)[] {
  return view(client, id).messages.map((message) => message.content.text);
}

describe('membership', () => {
  test('joinConversation sends join_conversation when connected, once', async () => {
    const { server, client } = await connectedPair();
    client.joinConversation('U1');
    client.joinConversation('U1');
    await flush();
    expect(server.framesOf('join_conversation').map((frame) => frame.payload)).toEqual([{ line_user_id: 'U1' }]);
    expect(view(client).joined).toBe(true);
    client.disconnect();
  });

  test('a join made while offline goes out after auth', async () => {
    const server = new FakeServer();
    const client = createClient(server);
    client.joinConversation('U1');
    expect(view(client).joined).toBe(true);
    await connectClient(client);
    await flush();
    expect(server.types()).toEqual(['auth', 'join_conversation']);
    client.disconnect();
  });

  test('after every reconnect it re-joins with since_seq = the highest seq seen', async () => {
    const { server, client } = await connectedPair();
    client.joinConversation('U1');
    client.joinConversation('U2');
    await flush();
    customer(server, 1);
    customer(server, 4);
    customer(server, 3);
    server.close(1006);
    await flush(1020);
    expect(client.state).toBe('connected');
    const rejoins = server.framesOf('join_conversation').slice(2).map((frame) => frame.payload);
    // U2 saw nothing yet: it resumes from 0 so that what happened during the outage is replayed.
    expect(rejoins).toEqual([
      { line_user_id: 'U1', since_seq: 4 },
      { line_user_id: 'U2', since_seq: 0 },
    ]);
    customer(server, 5);
    server.close(1001);
    await flush(1020);
    expect(server.framesOf('join_conversation').slice(4).map((frame) => frame.payload)).toEqual([
      { line_user_id: 'U1', since_seq: 5 },
      { line_user_id: 'U2', since_seq: 0 },
    ]);
    client.disconnect();
  });

  test('leaveConversation sends leave_conversation and stops the re-join', async () => {
    const { server, client } = await connectedPair();
    client.joinConversation('U1');
    client.joinConversation('U2');
    await flush();
    client.leaveConversation('U1');
    client.leaveConversation('U1');
    await flush();
    expect(server.framesOf('leave_conversation').map((frame) => frame.payload)).toEqual([{ line_user_id: 'U1' }]);
    expect(view(client).joined).toBe(false);
    server.close(1006);
    await flush(1020);
    expect(server.framesOf('join_conversation').slice(2).map((frame) => frame.payload.line_user_id)).toEqual(['U2']);
    client.disconnect();
  });

  test('conversation(id) returns the same object; an empty id throws', () => {
    const client = createClient(new FakeServer());
    expect(client.conversation('U1')).toBe(client.conversation('U1'));
    expect(() => client.conversation('')).toThrow(expect.objectContaining({ code: 'invalid_argument' }));
  });
});

describe('messages', () => {
  test('a duplicate message_received or message_sent (same seq) is dropped', async () => {
    const { server, client } = await connectedPair();
    client.joinConversation('U1');
    customer(server, 1, 'hello');
    customer(server, 1, 'hello');
    const sent = { admin_id: 'a2', line_user_id: 'U1', message: 'from a2', temp_id: 'x', seq: 2 };
    server.send('message_sent', sent);
    server.send('message_sent', sent);
    expect(texts(client)).toEqual(['hello', 'from a2']);
    client.disconnect();
  });

  test('out-of-order seqs are inserted in order', async () => {
    const { server, client } = await connectedPair();
    client.joinConversation('U1');
    for (const seq of [2, 5, 1, 4, 3]) customer(server, seq);
    expect(view(client).messages.map((message) => message.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(view(client).lastSeq).toBe(5);
    client.disconnect();
  });

  test('pending messages come after sent ones', async () => {
    const { server, client } = await connectedPair();
    server.ackMessages = false;
    client.joinConversation('U1');
    customer(server, 1, 'before');
    void client.sendMessage('U1', 'mine').catch(() => {});
    customer(server, 2, 'after');
    expect(texts(client)).toEqual(['before', 'after', 'mine']);
    expect(view(client).messages.map((message) => message.status)).toEqual(['sent', 'sent', 'pending']);
    expect(view(client).outgoing.map((message) => message.content.text)).toEqual(['mine']);
    client.disconnect();
  });

  test('customer and operator messages are told apart', async () => {
    const { server, client } = await connectedPair();
    client.joinConversation('U1');
    customer(server, 1, 'hi');
    server.send('message_sent', { admin_id: 'a2', line_user_id: 'U1', message: 'hello', temp_id: 'z', seq: 2 });
    expect(view(client).messages.map(({ sender, adminId }) => [sender, adminId])).toEqual([
      ['customer', undefined],
      ['operator', 'a2'],
    ]);
    client.disconnect();
  });

  test('a plan-style message_sent without seq is deduplicated by temp_id', async () => {
    const { server, client } = await connectedPair();
    client.joinConversation('U1');
    const plan = { admin_id: 'a2', line_user_id: 'U1', message: 'no seq', temp_id: 'same' };
    server.send('message_sent', plan);
    server.send('message_sent', plan);
    expect(texts(client)).toEqual(['no seq']);
    expect(view(client).messages[0]?.key).toBe('same');
    // Seen first without seq, later replayed with one: still a single copy.
    server.send('message_sent', { ...plan, seq: 9 });
    expect(texts(client)).toEqual(['no seq']);
    client.disconnect();
  });

  test('ids that arrive as numbers are normalized to strings', async () => {
    const { server, client } = await connectedPair();
    client.joinConversation('42');
    const payloads = record<{ line_user_id: string }>((handler) => client.on('message_received', handler));
    server.send('message_received', { line_user_id: 42, message: 'numeric', seq: 1 });
    server.send('operator_joined', { admin_id: 7, line_user_id: 42 });
    expect(payloads[0]?.line_user_id).toBe('42');
    expect(texts(client, '42')).toEqual(['numeric']);
    expect(view(client, '42').operators).toEqual(['7']);
    client.disconnect();
  });

  test('the conversation snapshot identity changes only when it changes', async () => {
    const { server, client } = await connectedPair();
    client.joinConversation('U1');
    const conversation = client.conversation('U1');
    const before = conversation.getSnapshot();
    expect(conversation.getSnapshot()).toBe(before);
    customer(server, 1);
    const after = conversation.getSnapshot();
    expect(after).not.toBe(before);
    customer(server, 1); // duplicate
    server.send('operator_left', { admin_id: 'nobody', line_user_id: 'U1' }); // no change
    expect(conversation.getSnapshot()).toBe(after);
    client.disconnect();
  });
});

describe('history and resync', () => {
  const history = (seqs: number[]): HistoryMessage[] =>
    seqs.map((seq) => ({ seq, sender: 'customer', content: { type: 'text', text: `m${seq}` }, timestamp: new Date(seq).toISOString() }));

  test('addHistory merges, deduplicates and orders', async () => {
    const { server, client } = await connectedPair();
    client.joinConversation('U1');
    customer(server, 3);
    customer(server, 5);
    client.conversation('U1').addHistory(history([1, 2, 3, 4]));
    expect(view(client).messages.map((message) => message.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(texts(client)).toEqual(['m1', 'm2', 'm3', 'm4', 'm5']);
    customer(server, 2);
    expect(view(client).messages).toHaveLength(5);
    client.disconnect();
  });

  test('the snapshot keeps its identity when addHistory or a repeated resync changes nothing', async () => {
    const { server, client } = await connectedPair();
    client.joinConversation('U1');
    const conversation = client.conversation('U1');
    conversation.addHistory(history([1, 2]));
    const merged = conversation.getSnapshot();
    conversation.addHistory(history([1, 2]));
    conversation.addHistory([]);
    expect(conversation.getSnapshot()).toBe(merged);
    server.send('error', { code: 'replay_unavailable', line_user_id: 'U1' });
    const flagged = conversation.getSnapshot();
    expect(flagged).not.toBe(merged);
    server.send('error', { code: 'replay_unavailable', line_user_id: 'U1' });
    expect(conversation.getSnapshot()).toBe(flagged);
    client.disconnect();
  });

  test('replay_unavailable sets resyncRequired and emits resync; addHistory clears it', async () => {
    const { server, client } = await connectedPair();
    client.joinConversation('U1');
    const resyncs = record<{ conversationId: string }>((handler) => client.on('resync', handler));
    server.send('error', { code: 'replay_unavailable', message: 'gone', line_user_id: 'U1' });
    expect(resyncs).toEqual([{ conversationId: 'U1' }]);
    expect(view(client).resyncRequired).toBe(true);
    expect(client.state).toBe('connected');
    client.conversation('U1').addHistory(history([1]));
    expect(view(client).resyncRequired).toBe(false);
    server.send('error', { code: 'replay_unavailable', message: 'gone', line_user_id: 'U1' });
    client.conversation('U1').addHistory([]);
    expect(view(client).resyncRequired).toBe(false);
    client.disconnect();
  });
});

describe('presence', () => {
  test('operator_joined and operator_left without a list add and remove one id', async () => {
    const { server, client } = await connectedPair();
    client.joinConversation('U1');
    server.send('operator_joined', { admin_id: 'a2', line_user_id: 'U1' });
    server.send('operator_joined', { admin_id: 'a3', line_user_id: 'U1' });
    server.send('operator_joined', { admin_id: 'a2', line_user_id: 'U1' });
    expect(view(client).operators).toEqual(['a2', 'a3']);
    server.send('operator_left', { admin_id: 'a2', line_user_id: 'U1' });
    expect(view(client).operators).toEqual(['a3']);
    client.disconnect();
  });

  test('an operators list replaces the presence', async () => {
    const { server, client } = await connectedPair();
    client.joinConversation('U1');
    server.send('operator_joined', { admin_id: 'a2', line_user_id: 'U1' });
    server.send('operator_joined', { admin_id: 'a4', line_user_id: 'U1', operators: ['a1', 'a4', 'a5'] });
    expect(view(client).operators).toEqual(['a1', 'a4', 'a5']);
    server.send('operator_left', { admin_id: 'a5', line_user_id: 'U1', operators: ['a1', 'a4'] });
    expect(view(client).operators).toEqual(['a1', 'a4']);
    client.disconnect();
  });

  test.each(['disconnect', 'connection loss'] as const)('presence and remote typing are cleared on %s', async (how) => {
    const { server, client } = await connectedPair();
    client.joinConversation('U1');
    server.send('operator_joined', { admin_id: 'a2', line_user_id: 'U1', operators: ['a1', 'a2'] });
    server.send('typing_started', { admin_id: 'a2', line_user_id: 'U1' });
    expect(view(client)).toMatchObject({ operators: ['a1', 'a2'], typing: ['a2'] });
    if (how === 'disconnect') client.disconnect();
    else server.close(1006);
    await flush();
    expect(view(client)).toMatchObject({ operators: [], typing: [] });
    client.disconnect();
  });
});

describe('own messages', () => {
  test('an acked message is in seq order among the others', async () => {
    const { server, client } = await connectedPair();
    client.joinConversation('U1');
    customer(server, server.nextSeq('U1'), 'customer');
    await within(client.sendMessage('U1', 'reply'));
    customer(server, server.nextSeq('U1'), 'customer again');
    expect(view(client).messages.map(({ content, status, seq }) => [content.text, status, seq])).toEqual([
      ['customer', 'sent', 1],
      ['reply', 'sent', 2],
      ['customer again', 'sent', 3],
    ]);
    client.disconnect();
  });
});
