import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { type DeliveryUpdate, type MessageAck } from '../../src/index.js';
import { FakeServer, connectClient, connectedPair, createClient, flush, record, settle, stopServers, within } from './helpers.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  stopServers();
  vi.useRealTimers();
});

/** The Unix milliseconds at the start of a default temp_id (`xxxxxxxx-xxxx-…`). */
const millisOf = (id: string) => parseInt(id.slice(0, 13).replace('-', ''), 16);

describe('sendMessage', () => {
  test('without crypto.randomUUID (an insecure context) temp_ids still start with the time and differ', async () => {
    vi.stubGlobal('crypto', {});
    try {
      const { server, client } = await connectedPair();
      server.ackMessages = false;
      vi.setSystemTime(Date.parse('2026-11-26T04:00:00.000Z'));
      void client.sendMessage('U1', 'a').catch(() => {});
      void client.sendMessage('U1', 'b').catch(() => {});
      await flush();
      const ids = server.sentTempIds() as string[];
      expect(ids.map(millisOf)).toEqual([Date.parse('2026-11-26T04:00:00.000Z'), Date.parse('2026-11-26T04:00:00.000Z')]);
      expect(new Set(ids).size).toBe(2);
      client.disconnect();
    } finally {
      vi.unstubAllGlobals();
    }
  });

  test('default temp_ids are UUIDv7: time-ordered, so the dedup index of a server grows at one end', async () => {
    const { server, client } = await connectedPair();
    server.ackMessages = false;
    const send = () => void client.sendMessage('U1', 'x').catch(() => {});
    const t0 = Date.parse('2026-11-26T04:00:00.000Z');
    vi.setSystemTime(t0);
    send();
    send();
    vi.setSystemTime(t0 + 1);
    send();
    // A clock set back does not take the ids back with it: they stay on the last millisecond.
    vi.setSystemTime(t0 - 5_000);
    send();
    await flush();
    const ids = server.sentTempIds() as string[];
    expect(ids).toHaveLength(4);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(ids.map(millisOf)).toEqual([t0, t0, t0 + 1, t0 + 1]);
    // Within a millisecond the 12-bit counter orders them; each id sorts after the one before.
    expect(ids.map((id) => id.slice(15, 18))).toEqual(['000', '001', '000', '001']);
    expect([...ids].sort()).toEqual(ids);
    // Another client (another tab) makes other ids in the same millisecond.
    const other = createClient(server);
    await connectClient(other);
    vi.setSystemTime(t0 + 1);
    void other.sendMessage('U1', 'y').catch(() => {});
    await flush();
    const otherId = (server.sentTempIds() as string[]).at(-1)!;
    expect(millisOf(otherId)).toBe(t0 + 1);
    expect(ids).not.toContain(otherId);
    client.disconnect();
    other.disconnect();
  });

  test('more than 4,096 temp_ids in one millisecond borrow the next one: still unique and ordered', async () => {
    const { server, client } = await connectedPair({ queue: { maxSize: 5000 } });
    server.ackMessages = false;
    const t0 = Date.parse('2026-11-26T04:00:00.000Z');
    vi.setSystemTime(t0);
    const ids = Array.from({ length: 4100 }, (_, index) => {
      void client.sendMessage('U1', `m${index}`).catch(() => {});
      return client.outbox().at(-1)!.tempId;
    });
    expect(new Set(ids).size).toBe(4100);
    expect([...ids].sort()).toEqual(ids);
    expect(millisOf(ids[4095]!)).toBe(t0);
    expect(millisOf(ids[4096]!)).toBe(t0 + 1);
    expect(ids[4096]!.slice(15, 18)).toBe('000');
    client.disconnect();
  });

  test('sending keeps no conversation view of its own: acked messages are kept only where the app opened one', async () => {
    const { client } = await connectedPair();
    const opened = client.conversation('U1');
    await within(client.sendMessage('U1', 'shown', { tempId: 's1' }));
    await within(client.sendMessage('U2', 'not kept', { tempId: 's2' }));
    expect(opened.getSnapshot().messages.map((message) => message.tempId)).toEqual(['s1']);
    // A view opened later starts from there, as for customer messages (history fills the past).
    expect(client.conversation('U2').getSnapshot().messages).toEqual([]);
    client.disconnect();
  });

  test('shows a pending message in the conversation at once', async () => {
    const { server, client } = await connectedPair();
    server.ackMessages = false;
    const promise = settle(client.sendMessage('U1', 'hello', { tempId: 'tmp-1' }));
    const [message] = client.conversation('U1').getSnapshot().messages;
    expect(message).toMatchObject({
      key: 'tmp-1',
      tempId: 'tmp-1',
      conversationId: 'U1',
      sender: 'operator',
      content: { type: 'text', text: 'hello' },
      status: 'pending',
    });
    expect(message?.seq).toBeUndefined();
    expect(client.conversation('U1').getSnapshot().outgoing).toHaveLength(1);
    expect(client.getSnapshot().pendingCount).toBe(1);
    expect(promise.done).toBe(false);
    client.disconnect();
  });

  test('resolves with the ack carrying the same temp_id, and only that one', async () => {
    const { server, client } = await connectedPair();
    server.ackMessages = false;
    const promise = settle(client.sendMessage('U1', 'hello', { tempId: 'mine' }));
    await flush();
    expect(server.framesOf('message_send')[0]?.payload).toEqual({
      line_user_id: 'U1',
      message: { type: 'text', text: 'hello' },
      temp_id: 'mine',
    });
    server.send('message_sent', { admin_id: 'a2', line_user_id: 'U1', message: 'other', temp_id: 'theirs', seq: 1 });
    await flush();
    expect(promise.done).toBe(false);
    server.send('message_sent', { admin_id: 'a1', line_user_id: 'U1', message: { type: 'text', text: 'hello' }, temp_id: 'mine', seq: 2 });
    await flush();
    expect(promise.value).toMatchObject<Partial<MessageAck>>({
      tempId: 'mine',
      conversationId: 'U1',
      seq: 2,
      adminId: 'a1',
      message: { type: 'text', text: 'hello' },
    });
    expect(client.getSnapshot().pendingCount).toBe(0);
    client.disconnect();
  });

  test('an ack for the same temp_id in another conversation does not resolve it', async () => {
    const { server, client } = await connectedPair();
    server.ackMessages = false;
    const promise = settle(client.sendMessage('U1', 'hello', { tempId: 'x' }));
    await flush();
    server.send('message_sent', { admin_id: 'a1', line_user_id: 'U2', message: 'hello', temp_id: 'x', seq: 1 });
    await flush();
    expect(promise.done).toBe(false);
    client.disconnect();
  });

  test('queued while offline, sent in order after auth', async () => {
    const server = new FakeServer();
    const client = createClient(server);
    const acks = ['a', 'b', 'c'].map((text, i) => client.sendMessage('U1', text, { tempId: `t${i}` }));
    expect(client.conversation('U1').getSnapshot().messages.map((message) => message.status)).toEqual(['pending', 'pending', 'pending']);
    await connectClient(client);
    await flush();
    expect(server.types()).toEqual(['auth', 'message_send', 'message_send', 'message_send']);
    expect(server.sentTempIds()).toEqual(['t0', 't1', 't2']);
    expect((await within(Promise.all(acks))).map((ack) => ack.seq)).toEqual([1, 2, 3]);
    const { messages } = client.conversation('U1').getSnapshot();
    expect(messages.map((message) => [message.key, message.status, message.seq])).toEqual([
      ['t0', 'sent', 1],
      ['t1', 'sent', 2],
      ['t2', 'sent', 3],
    ]);
    client.disconnect();
  });

  test('custom tempId option and createTempId option', async () => {
    let n = 0;
    const { server, client } = await connectedPair({ createTempId: () => `gen-${++n}` });
    const first = await within(client.sendMessage('U1', 'one'));
    const second = await within(client.sendMessage('U1', 'two', { tempId: 'explicit' }));
    const third = await within(client.sendMessage('U1', 'three'));
    expect([first.tempId, second.tempId, third.tempId]).toEqual(['gen-1', 'explicit', 'gen-2']);
    expect(server.sentTempIds()).toEqual(['gen-1', 'explicit', 'gen-2']);
    client.disconnect();
  });

  test('default temp_ids are unique strings', async () => {
    const { server, client } = await connectedPair();
    await within(Promise.all(Array.from({ length: 20 }, (_, i) => client.sendMessage('U1', `m${i}`))));
    const ids = server.sentTempIds() as string[];
    expect(ids.every((id) => typeof id === 'string' && id.length >= 8)).toBe(true);
    expect(new Set(ids).size).toBe(20);
    client.disconnect();
  });

  test('a message object is sent as is', async () => {
    const { server, client } = await connectedPair();
    const sticker = { type: 'sticker', packageId: '1', stickerId: '2' };
    await within(client.sendMessage('U1', sticker));
    expect(server.framesOf('message_send')[0]?.payload.message).toEqual(sticker);
    client.disconnect();
  });
});

describe('re-sending with the same temp_id', () => {
  test('staggered messages each get their own ack timeout, from one timer for the whole outbox', async () => {
    const { server, client } = await connectedPair({ queue: { ackTimeoutMs: 1000 }, heartbeat: false });
    server.ackMessages = false;
    for (let index = 0; index < 50; index++) void client.sendMessage('U1', `m${index}`, { tempId: `t${index}` }).catch(() => {});
    await flush(300);
    const timers = vi.getTimerCount();
    void client.sendMessage('U1', 'late', { tempId: 'late' }).catch(() => {});
    await flush(10);
    // Per message work stays O(1): 51 messages wait for their ack, and no timer was added for them.
    expect(vi.getTimerCount()).toBe(timers);
    await flush(700); // 1,010 ms after the first 50, 710 ms after the last one
    expect(server.sentTempIds().filter((id) => id === 't0' || id === 't49')).toEqual(['t0', 't49', 't0', 't49']);
    expect(server.sentTempIds().filter((id) => id === 'late')).toEqual(['late']);
    await flush(300);
    expect(server.sentTempIds().filter((id) => id === 'late')).toEqual(['late', 'late']);
    client.disconnect();
    await flush(5);
    expect(vi.getTimerCount()).toBe(0);
  });

  test('after an ack timeout, in order', async () => {
    const { server, client } = await connectedPair({ queue: { ackTimeoutMs: 1000 } });
    server.ackMessages = false;
    void client.sendMessage('U1', 'a', { tempId: 'a' }).catch(() => {});
    void client.sendMessage('U1', 'b', { tempId: 'b' }).catch(() => {});
    await flush(990);
    expect(server.sentTempIds()).toEqual(['a', 'b']);
    await flush(20);
    expect(server.sentTempIds()).toEqual(['a', 'b', 'a', 'b']);
    expect(client.conversation('U1').getSnapshot().messages.map((message) => message.status)).toEqual(['pending', 'pending']);
    client.disconnect();
  });

  test('after a reconnect, in order, before anything newer', async () => {
    const { server, client } = await connectedPair();
    server.ackMessages = false;
    const a = client.sendMessage('U1', 'a', { tempId: 'a' });
    const b = client.sendMessage('U2', 'b', { tempId: 'b' });
    await flush();
    server.close(1006);
    await flush(5);
    const c = client.sendMessage('U1', 'c', { tempId: 'c' });
    server.ackMessages = true;
    await flush(1020);
    expect(client.state).toBe('connected');
    expect(server.sentTempIds()).toEqual(['a', 'b', 'a', 'b', 'c']);
    expect((await within(Promise.all([a, b, c]))).map((ack) => ack.tempId)).toEqual(['a', 'b', 'c']);
    client.disconnect();
  });

  test('pending messages survive disconnect() and go out on the next connect()', async () => {
    const { server, client } = await connectedPair();
    server.ackMessages = false;
    const pending = client.sendMessage('U1', 'a', { tempId: 'a' });
    await flush();
    client.disconnect();
    await flush(60_000);
    expect(client.getSnapshot().pendingCount).toBe(1);
    server.ackMessages = true;
    await connectClient(client);
    await expect(within(pending)).resolves.toMatchObject({ tempId: 'a' });
    expect(server.sentTempIds()).toEqual(['a', 'a']);
    client.disconnect();
  });

  test('a duplicate ack (server dedup answering a re-send) is harmless', async () => {
    const { server, client } = await connectedPair();
    server.ackMessages = false;
    const view = client.conversation('U1');
    const promise = client.sendMessage('U1', 'a', { tempId: 'a' });
    await flush();
    const ack = { admin_id: 'a1', line_user_id: 'U1', message: 'a', temp_id: 'a', seq: 7 };
    server.send('message_sent', ack);
    server.send('message_sent', ack);
    await expect(within(promise)).resolves.toMatchObject({ seq: 7 });
    expect(view.getSnapshot().messages).toHaveLength(1);
    client.disconnect();
  });
});

describe('delivery events', () => {
  test('pending then sent (with seq)', async () => {
    const { client } = await connectedPair();
    const updates = record<DeliveryUpdate>((handler) => client.on('delivery', handler));
    await within(client.sendMessage('U9', 'hi', { tempId: 'd1' }));
    expect(updates).toEqual([
      { tempId: 'd1', conversationId: 'U9', status: 'pending' },
      { tempId: 'd1', conversationId: 'U9', status: 'sent', seq: 1 },
    ]);
    client.disconnect();
  });

  test('sent without seq on a server written to the plan', async () => {
    const { server, client } = await connectedPair();
    server.withSeq = false;
    const updates = record<DeliveryUpdate>((handler) => client.on('delivery', handler));
    const ack = await within(client.sendMessage('U9', 'hi', { tempId: 'd1' }));
    expect(ack.seq).toBeUndefined();
    expect(updates.at(-1)).toEqual({ tempId: 'd1', conversationId: 'U9', status: 'sent' });
    client.disconnect();
  });
});

describe('the ack replaces the pending copy', () => {
  test('the sent message keeps its key (the tempId) and shows once', async () => {
    const { client } = await connectedPair();
    const conversation = client.conversation('U1');
    const keys: string[][] = [];
    conversation.subscribe(() => keys.push(conversation.getSnapshot().messages.map((message) => `${message.key}:${message.status}`)));
    await within(client.sendMessage('U1', 'hello', { tempId: 'k1' }));
    expect(conversation.getSnapshot().messages.map((message) => [message.key, message.status, message.seq])).toEqual([['k1', 'sent', 1]]);
    expect(conversation.getSnapshot().outgoing).toEqual([]);
    expect(keys[0]).toEqual(['k1:pending']);
    expect(keys.at(-1)).toEqual(['k1:sent']);
  });

  test('no snapshot seen by a subscriber ever holds the same key twice', async () => {
    const { client } = await connectedPair();
    const conversation = client.conversation('U1');
    const seen: string[][] = [];
    conversation.subscribe(() => seen.push(conversation.getSnapshot().messages.map((message) => message.key)));
    await within(client.sendMessage('U1', 'hello', { tempId: 'k1' }));
    await within(client.sendMessage('U1', 'again', { tempId: 'k2' }));
    expect(seen.length).toBeGreaterThan(0);
    for (const keys of seen) expect(new Set(keys).size).toBe(keys.length);
    client.disconnect();
  });
});
