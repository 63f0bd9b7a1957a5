import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { type OutboxEntry, type OutboxStorage, localStorageOutbox } from '../../src/index.js';
import { FakeServer, MemoryStorage, connectClient, createClient, errorsOf, flush, settle, stopServers, within } from './helpers.js';

let storage: MemoryStorage;

beforeEach(() => {
  vi.useFakeTimers();
  storage = new MemoryStorage();
  vi.stubGlobal('localStorage', storage);
});
afterEach(() => {
  stopServers();
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

function stored(key = 'outbox'): OutboxEntry[] {
  return JSON.parse(storage.getItem(key) ?? '[]') as OutboxEntry[];
}

describe('localStorageOutbox', () => {
  test('persists pending messages and forgets acked ones', async () => {
    const server = new FakeServer();
    server.ackMessages = false;
    const client = createClient(server, { queue: { storage: localStorageOutbox('outbox') } });
    void client.sendMessage('U1', 'one', { tempId: 't1' });
    void client.sendMessage('U2', { type: 'sticker', stickerId: '9' }, { tempId: 't2' });
    await flush(0);
    expect(stored().map(({ tempId, conversationId, status, message }) => ({ tempId, conversationId, status, message }))).toEqual([
      { tempId: 't1', conversationId: 'U1', status: 'pending', message: { type: 'text', text: 'one' } },
      { tempId: 't2', conversationId: 'U2', status: 'pending', message: { type: 'sticker', stickerId: '9' } },
    ]);
    await connectClient(client);
    server.send('message_sent', { admin_id: 'a1', line_user_id: 'U1', message: 'one', temp_id: 't1', seq: 1 });
    await flush(0);
    expect(stored().map((entry) => entry.tempId)).toEqual(['t2']);
    server.send('message_sent', { admin_id: 'a1', line_user_id: 'U2', message: 'x', temp_id: 't2', seq: 1 });
    await flush(0);
    expect(storage.getItem('outbox')).toBeNull();
    client.disconnect();
  });

  test('a new client with the same storage shows the messages pending, then re-sends them with the same temp_id', async () => {
    const server = new FakeServer();
    server.ackMessages = false;
    const before = createClient(server, { queue: { storage: localStorageOutbox('outbox') } });
    void before.sendMessage('U1', 'first', { tempId: 'p1' });
    void before.sendMessage('U1', 'second', { tempId: 'p2' });
    await flush(0);
    // The page reloads: a new client, same storage.
    server.ackMessages = true;
    server.auth = 'silent';
    const after = createClient(server, { queue: { storage: localStorageOutbox('outbox') } });
    const updates: string[] = [];
    after.on('delivery', (update) => updates.push(`${update.tempId}:${update.status}`));
    after.connect();
    await flush(20);
    expect(after.state).toBe('connecting');
    expect(after.conversation('U1').getSnapshot().messages.map((message) => [message.key, message.status])).toEqual([
      ['p1', 'pending'],
      ['p2', 'pending'],
    ]);
    expect(after.getSnapshot().pendingCount).toBe(2);
    expect(server.sentTempIds()).toEqual([]);
    server.send('auth_success', { admin_id: 'a1' });
    await flush();
    expect(server.sentTempIds()).toEqual(['p1', 'p2']);
    expect(after.conversation('U1').getSnapshot().messages.map((message) => [message.key, message.status])).toEqual([
      ['p1', 'sent'],
      ['p2', 'sent'],
    ]);
    expect(updates).toEqual(['p1:pending', 'p2:pending', 'p1:sent', 'p2:sent']);
    await flush(0);
    expect(storage.getItem('outbox')).toBeNull();
    after.disconnect();
  });

  test('restored messages go out before messages written since', async () => {
    const server = new FakeServer();
    const first = createClient(server, { queue: { storage: localStorageOutbox('outbox') } });
    void first.sendMessage('U1', 'old', { tempId: 'old' });
    await flush(0);
    const second = createClient(server, { queue: { storage: localStorageOutbox('outbox') } });
    const fresh = second.sendMessage('U1', 'new', { tempId: 'new' });
    second.connect();
    await within(fresh);
    expect(server.sentTempIds()).toEqual(['old', 'new']);
    second.disconnect();
  });

  test('a message written before connect() does not overwrite the stored ones (nothing is lost)', async () => {
    const server = new FakeServer();
    const before = createClient(server, { queue: { storage: localStorageOutbox('outbox') } });
    void before.sendMessage('U1', 'from the last session', { tempId: 'old' });
    await flush(0);
    // After the reload the app sends before it connects; the save runs before the restore.
    const after = createClient(server, { queue: { storage: localStorageOutbox('outbox') } });
    const fresh = after.sendMessage('U1', 'new', { tempId: 'new' });
    await flush(0);
    after.connect();
    await within(fresh);
    expect(server.sentTempIds()).toEqual(['old', 'new']);
    after.disconnect();
  });

  test('failed messages are restored as failed and not sent', async () => {
    const server = new FakeServer();
    server.ackMessages = false;
    const first = createClient(server, { queue: { storage: localStorageOutbox('outbox'), ackTimeoutMs: 100, maxRetries: 0 } });
    await connectClient(first);
    void first.sendMessage('U1', 'doomed', { tempId: 'f1' }).catch(() => {});
    await flush(110);
    expect(first.getSnapshot().failedCount).toBe(1);
    first.disconnect();
    expect(stored()).toMatchObject([{ tempId: 'f1', status: 'failed', error: { code: 'ack_timeout' } }]);
    const sends = server.sentTempIds().length;
    const second = createClient(server, { queue: { storage: localStorageOutbox('outbox') } });
    await connectClient(second);
    await flush(100);
    expect(second.getSnapshot()).toMatchObject({ failedCount: 1, pendingCount: 0 });
    const [message] = second.conversation('U1').getSnapshot().messages;
    expect(message).toMatchObject({ key: 'f1', status: 'failed' });
    expect(message?.error?.code).toBe('ack_timeout');
    expect(server.sentTempIds()).toHaveLength(sends);
    server.ackMessages = true;
    await expect(within(second.retryMessage('f1'))).resolves.toMatchObject({ tempId: 'f1' });
    second.disconnect();
  });

  test('a stored message with an unknown status (written by hand or another version) is sent again, not stuck', async () => {
    const entry = { tempId: 'odd', conversationId: 'U1', message: { type: 'text', text: 'hi' }, createdAt: Date.now(), expiresAt: null, status: 'sending' };
    storage.setItem('outbox', JSON.stringify([entry]));
    const server = new FakeServer();
    const client = createClient(server, { queue: { storage: localStorageOutbox('outbox') } });
    await connectClient(client);
    await flush();
    expect(server.sentTempIds()).toEqual(['odd']);
    expect(client.getSnapshot()).toMatchObject({ pendingCount: 0, failedCount: 0 });
    expect(stored()).toEqual([]);
    client.disconnect();
  });

  test('a full storage does not break sending', async () => {
    storage.failWrites = true;
    const server = new FakeServer();
    const client = createClient(server, { queue: { storage: localStorageOutbox('outbox') } });
    const errors = errorsOf(client);
    const sent = settle(client.sendMessage('U1', 'hello'));
    await connectClient(client);
    await flush();
    expect(sent.value).toMatchObject({ conversationId: 'U1' });
    expect(errors.filter((error) => error.code !== 'invalid_frame')).toEqual([]);
    client.disconnect();
  });

  test('a missing or throwing localStorage does not break sending', async () => {
    vi.stubGlobal('localStorage', undefined);
    const server = new FakeServer();
    const client = createClient(server, { queue: { storage: localStorageOutbox() } });
    await connectClient(client);
    await expect(within(client.sendMessage('U1', 'hello'))).resolves.toMatchObject({ conversationId: 'U1' });
    Object.defineProperty(globalThis, 'localStorage', {
      configurable: true,
      get() {
        throw new Error('SecurityError');
      },
    });
    try {
      await expect(within(client.sendMessage('U1', 'again'))).resolves.toMatchObject({ conversationId: 'U1' });
    } finally {
      Reflect.deleteProperty(globalThis, 'localStorage');
    }
    client.disconnect();
  });

  test('corrupt stored data is ignored', async () => {
    storage.setItem('outbox', '{not json');
    expect(localStorageOutbox('outbox').load()).toEqual([]);
    storage.setItem('outbox', '{"an":"object"}');
    expect(localStorageOutbox('outbox').load()).toEqual([]);
    const server = new FakeServer();
    const client = createClient(server, { queue: { storage: localStorageOutbox('outbox') } });
    await connectClient(client);
    await expect(within(client.sendMessage('U1', 'hello'))).resolves.toMatchObject({ conversationId: 'U1' });
    client.disconnect();
  });

  test('keys keep outboxes apart', async () => {
    const server = new FakeServer();
    const a = createClient(server, { queue: { storage: localStorageOutbox('outbox:a') } });
    void a.sendMessage('U1', 'for a', { tempId: 'a1' });
    await flush(0);
    expect(await localStorageOutbox('outbox:b').load()).toEqual([]);
    expect((await localStorageOutbox('outbox:a').load()).map((entry) => entry.tempId)).toEqual(['a1']);
  });
});

describe('custom OutboxStorage', () => {
  test('saves are coalesced: one save per tick with the whole outbox', async () => {
    const save = vi.fn();
    const client = createClient(new FakeServer(), { queue: { storage: { load: () => [], save } } });
    for (let i = 0; i < 5; i++) void client.sendMessage('U1', `m${i}`, { tempId: `c${i}` });
    expect(save).not.toHaveBeenCalled();
    await flush(0);
    expect(save).toHaveBeenCalledTimes(1);
    const [entries] = save.mock.calls[0] as [OutboxEntry[]];
    expect(entries.map((entry) => entry.tempId)).toEqual(['c0', 'c1', 'c2', 'c3', 'c4']);
  });

  test('a save that rejects does not break sending', async () => {
    const server = new FakeServer();
    const client = createClient(server, { queue: { storage: { load: () => [], save: () => Promise.reject(new Error('idb closed')) } } });
    await connectClient(client);
    await expect(within(client.sendMessage('U1', 'hello'))).resolves.toMatchObject({ conversationId: 'U1' });
    client.disconnect();
  });

  test('an async load is awaited before the first send', async () => {
    const entry: OutboxEntry = {
      tempId: 'async-1',
      conversationId: 'U1',
      message: { type: 'text', text: 'from idb' },
      createdAt: Date.now(),
      expiresAt: Date.now() + 60_000,
      status: 'pending',
    };
    const save = vi.fn();
    const custom: OutboxStorage = { load: () => new Promise((resolve) => setTimeout(() => resolve([entry]), 50)), save };
    const server = new FakeServer();
    const client = createClient(server, { queue: { storage: custom } });
    client.connect();
    await flush(100);
    expect(server.sentTempIds()).toEqual(['async-1']);
    await flush(0);
    expect(save).toHaveBeenLastCalledWith([]);
    client.disconnect();
  });

  test('a load that rejects raises an error event and the client still works', async () => {
    const custom: OutboxStorage = { load: () => Promise.reject(new Error('broken')), save: () => {} };
    const server = new FakeServer();
    const client = createClient(server, { queue: { storage: custom } });
    const errors = errorsOf(client);
    await connectClient(client);
    expect(errors).toHaveLength(1);
    await expect(within(client.sendMessage('U1', 'hello'))).resolves.toMatchObject({ conversationId: 'U1' });
    client.disconnect();
  });

  test('an expired stored message fails with ttl_expired once the client is active', async () => {
    const entry: OutboxEntry = {
      tempId: 'stale',
      conversationId: 'U1',
      message: { type: 'text', text: 'yesterday' },
      createdAt: Date.now() - 86_400_000,
      expiresAt: Date.now() - 1,
      status: 'pending',
    };
    const server = new FakeServer();
    server.auth = 'silent';
    const client = createClient(server, { queue: { storage: { load: () => [entry], save: () => {} } } });
    client.connect();
    await flush(20);
    expect(client.getSnapshot().failedCount).toBe(1);
    expect(client.conversation('U1').getSnapshot().messages[0]?.error?.code).toBe('ttl_expired');
    client.disconnect();
  });
});
