import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { DeliveryError, type DeliveryUpdate, FixedIntervalStrategy, LiveChatError, type MessageContent, ServerError } from '../../src/index.js';
import { FakeServer, connectedPair, createClient, errorsOf, flush, record, settle, stopServers, within } from './helpers.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  stopServers();
  vi.useRealTimers();
});

function statuses(client: { conversation(id: string): { getSnapshot(): { messages: readonly { status: string }[] } } }, id = 'U1') {
  return client.conversation(id).getSnapshot().messages.map((message) => message.status);
}

describe('ack timeout', () => {
  test('after maxRetries re-sends it rejects with ack_timeout and shows failed', async () => {
    const { server, client } = await connectedPair({ queue: { ackTimeoutMs: 1000, maxRetries: 2 } });
    server.ackMessages = false;
    const updates = record<DeliveryUpdate>((handler) => client.on('delivery', handler));
    const result = settle(client.sendMessage('U1', 'hello', { tempId: 'late' }));
    await flush(2990);
    expect(result.done).toBe(false);
    expect(server.sentTempIds()).toEqual(['late', 'late', 'late']);
    await flush(20);
    expect(result.error).toBeInstanceOf(DeliveryError);
    expect(result.error).toMatchObject({ code: 'ack_timeout', tempId: 'late' });
    expect(statuses(client)).toEqual(['failed']);
    expect(client.conversation('U1').getSnapshot().messages[0]?.error?.code).toBe('ack_timeout');
    expect(client.getSnapshot()).toMatchObject({ pendingCount: 0, failedCount: 1 });
    expect(updates.map((update) => update.status)).toEqual(['pending', 'failed']);
    expect(updates[1]?.error?.code).toBe('ack_timeout');
    await flush(60_000);
    expect(server.sentTempIds()).toHaveLength(3);
    expect(client.state).toBe('connected');
    client.disconnect();
  });

  test('an ack timeout checks the link with a ping', async () => {
    const { server, client } = await connectedPair({ queue: { ackTimeoutMs: 1000 }, heartbeat: { intervalMs: 60_000, timeoutMs: 500 } });
    server.ackMessages = false;
    void client.sendMessage('U1', 'hello').catch(() => {});
    await flush(1010);
    expect(server.framesOf('ping')).toHaveLength(1);
    client.disconnect();
  });

  test('a late ack for a failed message settles it as sent (no failed copy left)', async () => {
    const { server, client } = await connectedPair({ queue: { ackTimeoutMs: 1000, maxRetries: 0 } });
    server.ackMessages = false;
    const updates = record<DeliveryUpdate>((handler) => client.on('delivery', handler));
    client.conversation('U1');
    void client.sendMessage('U1', 'hello', { tempId: 'x' }).catch(() => {});
    await flush(1010);
    expect(client.getSnapshot().failedCount).toBe(1);
    server.send('message_sent', { admin_id: 'a1', line_user_id: 'U1', message: 'hello', temp_id: 'x', seq: 1 });
    expect(updates.at(-1)?.status).toBe('sent');
    expect(client.getSnapshot().failedCount).toBe(0);
    expect(statuses(client)).toEqual(['sent']);
    client.disconnect();
  });
});

describe('TTL', () => {
  test('a message not acked within ttlMs fails with ttl_expired, even while reconnecting', async () => {
    const { server, client } = await connectedPair({ queue: { ttlMs: 5000 }, reconnect: new FixedIntervalStrategy({ intervalMs: 60_000 }) });
    server.ackMessages = false;
    const result = settle(client.sendMessage('U1', 'hello', { tempId: 'old' }));
    await flush(100);
    server.close(1006);
    await flush(4800);
    expect(client.state).toBe('reconnecting');
    expect(result.done).toBe(false);
    await flush(200);
    expect(result.error).toMatchObject({ code: 'ttl_expired', tempId: 'old' });
    expect(result.error).toBeInstanceOf(DeliveryError);
    expect(statuses(client)).toEqual(['failed']);
    expect(client.getSnapshot().failedCount).toBe(1);
    client.disconnect();
  });
});

describe('long timeouts', () => {
  test.each([
    ['Infinity (never expire)', Infinity],
    ['30 days (beyond setTimeout\'s 2^31-1 ms)', 30 * 86_400_000],
  ])('ttlMs: %s does not expire the message at once', async (_, ttlMs) => {
    const { server, client } = await connectedPair({ queue: { ttlMs, ackTimeoutMs: 2 * 60 * 60_000 }, heartbeat: false });
    server.ackMessages = false;
    const result = settle(client.sendMessage('U1', 'hello'));
    await flush(60 * 60_000);
    expect(result.done).toBe(false);
    expect(client.getSnapshot()).toMatchObject({ pendingCount: 1, failedCount: 0 });
    client.disconnect();
  });
});

describe('bound', () => {
  test('maxSize: the next message rejects with queue_full and nothing is dropped', async () => {
    const server = new FakeServer();
    const client = createClient(server, { queue: { maxSize: 2 } });
    const first = client.sendMessage('U1', 'a', { tempId: 'a' });
    const second = client.sendMessage('U1', 'b', { tempId: 'b' });
    await expect(client.sendMessage('U1', 'c', { tempId: 'c' })).rejects.toMatchObject({ code: 'queue_full' });
    expect(() => client.send('typing_start', { line_user_id: 'U1' })).toThrow(expect.objectContaining({ code: 'queue_full' }));
    expect(client.outbox().map((entry) => entry.tempId)).toEqual(['a', 'b']);
    expect(client.conversation('U1').getSnapshot().messages.map((message) => message.key)).toEqual(['a', 'b']);
    client.connect();
    expect((await within(Promise.all([first, second]))).map((ack) => ack.tempId)).toEqual(['a', 'b']);
    expect(server.sentTempIds()).toEqual(['a', 'b']);
    await expect(within(client.sendMessage('U1', 'c', { tempId: 'c' }))).resolves.toMatchObject({ tempId: 'c' });
    client.disconnect();
  });
});

describe('retryMessage and discardMessage', () => {
  test('retryMessage re-sends a failed message with its temp_id and resolves with the ack', async () => {
    const { server, client } = await connectedPair({ queue: { ackTimeoutMs: 1000, maxRetries: 0 } });
    server.ackMessages = false;
    const first = settle(client.sendMessage('U1', 'hello', { tempId: 'r1' }));
    await flush(1010);
    expect(first.error).toMatchObject({ code: 'ack_timeout' });
    server.ackMessages = true;
    const retried = client.retryMessage('r1');
    expect(statuses(client)).toEqual(['pending']);
    expect(client.getSnapshot().failedCount).toBe(0);
    await expect(within(retried)).resolves.toMatchObject({ tempId: 'r1', seq: 1 });
    expect(server.sentTempIds()).toEqual(['r1', 'r1']);
    expect(statuses(client)).toEqual(['sent']);
    client.disconnect();
  });

  test('retryMessage of a still pending message waits for the same ack', async () => {
    const { server, client } = await connectedPair();
    server.ackMessages = false;
    const view = client.conversation('U1');
    const first = settle(client.sendMessage('U1', 'hello', { tempId: 'p' }));
    await flush();
    const again = settle(client.retryMessage('p'));
    server.send('message_sent', { admin_id: 'a1', line_user_id: 'U1', message: 'hello', temp_id: 'p', seq: 3 });
    await flush();
    expect(first.value).toMatchObject({ tempId: 'p', seq: 3 });
    expect(again.value).toMatchObject({ tempId: 'p', seq: 3 });
    expect(view.getSnapshot().messages).toHaveLength(1);
    client.disconnect();
  });

  test('retryMessage of a pending message sends it again at once with a fresh TTL (as its TSDoc says)', async () => {
    const { server, client } = await connectedPair({ queue: { ttlMs: 5000, ackTimeoutMs: 60_000 } });
    server.ackMessages = false;
    const result = settle(client.sendMessage('U1', 'hello', { tempId: 'p' }));
    await flush(4000);
    void client.retryMessage('p').catch(() => {});
    await flush(10);
    expect(server.sentTempIds()).toEqual(['p', 'p']);
    await flush(2000); // past the first TTL, within the fresh one
    expect(result.done).toBe(false);
    expect(client.getSnapshot().pendingCount).toBe(1);
    client.disconnect();
  });

  test('retryMessage of an unknown tempId rejects with invalid_argument', async () => {
    const { client } = await connectedPair();
    await expect(client.retryMessage('nope')).rejects.toMatchObject({ code: 'invalid_argument' });
    client.disconnect();
  });

  test('discardMessage removes a pending message, which rejects with discarded', async () => {
    const { server, client } = await connectedPair();
    server.ackMessages = false;
    const updates = record<DeliveryUpdate>((handler) => client.on('delivery', handler));
    const result = settle(client.sendMessage('U1', 'oops', { tempId: 'd' }));
    expect(client.discardMessage('d')).toBe(true);
    await flush();
    expect(result.error).toBeInstanceOf(DeliveryError);
    expect(result.error).toMatchObject({ code: 'discarded', tempId: 'd' });
    expect(client.conversation('U1').getSnapshot().messages).toEqual([]);
    expect(client.getSnapshot().pendingCount).toBe(0);
    expect(updates.map((update) => update.status)).toEqual(['pending', 'discarded']);
    expect(client.discardMessage('d')).toBe(false);
    // A discarded message is not re-sent after a reconnect.
    const sends = server.sentTempIds().length;
    server.close(1006);
    await flush(1100);
    expect(server.sentTempIds()).toHaveLength(sends);
    client.disconnect();
  });

  test('discardMessage removes a failed message', async () => {
    const { server, client } = await connectedPair({ queue: { ackTimeoutMs: 1000, maxRetries: 0 } });
    server.ackMessages = false;
    void client.sendMessage('U1', 'oops', { tempId: 'f' }).catch(() => {});
    await flush(1010);
    expect(client.getSnapshot().failedCount).toBe(1);
    expect(client.discardMessage('f')).toBe(true);
    expect(client.getSnapshot().failedCount).toBe(0);
    expect(client.outbox()).toEqual([]);
    expect(client.conversation('U1').getSnapshot().messages).toEqual([]);
    client.disconnect();
  });
});

describe('server error frames', () => {
  test('an error with temp_id fails that message with server_error; others go on', async () => {
    const { server, client } = await connectedPair();
    server.ackMessages = false;
    const errors = errorsOf(client);
    const bad = settle(client.sendMessage('U1', 'bad', { tempId: 'bad' }));
    const good = settle(client.sendMessage('U1', 'good', { tempId: 'good' }));
    await flush();
    server.send('error', { message: 'too long', code: 'message_too_long', temp_id: 'bad' });
    await flush();
    expect(bad.error).toBeInstanceOf(DeliveryError);
    expect(bad.error).toMatchObject({ code: 'server_error', tempId: 'bad' });
    expect(good.done).toBe(false);
    expect(statuses(client)).toEqual(['failed', 'pending']);
    const serverError = errors.find((error) => error instanceof ServerError);
    expect(serverError).toMatchObject({ code: 'server_error', serverCode: 'message_too_long', tempId: 'bad' });
    expect(client.state).toBe('connected');
    client.disconnect();
  });
});

describe('invalid arguments reject with invalid_argument', () => {
  test.each<[string, string, string | MessageContent]>([
    ['an empty conversation id', '', 'hi'],
    ['empty text', 'U1', ''],
    ['blank text', 'U1', '   '],
    ['a message without type', 'U1', {} as MessageContent],
    ['a message with a non-string type', 'U1', { type: 1 } as unknown as MessageContent],
    ['null', 'U1', null as unknown as MessageContent],
    ['an empty text message object', 'U1', { type: 'text', text: '' }],
    ['a text message whose text is not a string', 'U1', { type: 'text', text: 42 } as unknown as MessageContent],
  ])('%s', async (_, id, message) => {
    const server = new FakeServer();
    const client = createClient(server);
    const promise = client.sendMessage(id, message);
    expect(promise).toBeInstanceOf(Promise);
    await expect(promise).rejects.toBeInstanceOf(LiveChatError);
    await expect(promise).rejects.toMatchObject({ code: 'invalid_argument' });
    expect(client.outbox()).toEqual([]);
  });

  test('a duplicate or empty tempId', async () => {
    const server = new FakeServer();
    const client = createClient(server);
    void client.sendMessage('U1', 'first', { tempId: 'same' }).catch(() => {});
    await expect(client.sendMessage('U1', 'second', { tempId: 'same' })).rejects.toMatchObject({ code: 'invalid_argument' });
    await expect(client.sendMessage('U1', 'third', { tempId: '' })).rejects.toMatchObject({ code: 'invalid_argument' });
    expect(client.outbox().map((entry) => entry.message.text)).toEqual(['first']);
  });

  test('send() refuses auth and an empty type', () => {
    const client = createClient(new FakeServer());
    expect(() => client.send('auth', { token: 'x' })).toThrow(expect.objectContaining({ code: 'invalid_argument' }));
    expect(() => client.send('' as 'ping', {})).toThrow(expect.objectContaining({ code: 'invalid_argument' }));
  });
});
