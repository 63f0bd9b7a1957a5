import { statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, expect, test } from 'vitest';
import { BackgroundCheckpointer, type CheckpointResult } from '../../examples/server/src/store/checkpointer.js';
import { SqliteStore } from '../../examples/server/src/store/sqlite.js';
import type { MessageContent } from '../../src/protocol.js';
import { tempDir } from '../support/reference-server.js';
import { describeStoreContract } from '../support/store-contract.js';

describeStoreContract('SQLite in memory', async () => {
  const store = new SqliteStore(':memory:');
  return { store, second: async () => store, close: () => store.close() };
});

describeStoreContract('SQLite file, two connections', async () => {
  const dir = tempDir();
  const path = join(dir.path, 'live-chat.sqlite');
  const stores = [new SqliteStore(path)];
  return {
    store: stores[0]!,
    second: async () => {
      const store = new SqliteStore(path);
      stores.push(store);
      return store;
    },
    close: async () => {
      for (const store of stores) await store.close();
      dir.remove();
    },
  };
});

// Group commit, as only SQLite does it: what the contract cannot see from outside.

const text = (value: string): MessageContent => ({ type: 'text', text: value });
const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const step of cleanup.splice(0).reverse()) step();
});

function fileStore(): { store: SqliteStore; path: string } {
  const dir = tempDir();
  const path = join(dir.path, 'live-chat.sqlite');
  const store = new SqliteStore(path);
  cleanup.push(() => dir.remove(), () => void store.close());
  return { store, path };
}

/** Frames (page writes) in the WAL file: each commit appends one per page it changed. */
function walFrames(path: string): number {
  const size = statSync(`${path}-wal`, { throwIfNoEntry: false })?.size ?? 0;
  return size === 0 ? 0 : (size - 32) / (24 + 4096);
}

test('the appends of one turn are one transaction: one write of the pages they share, not one per message', async () => {
  const { store, path } = fileStore();
  await store.appendCustomerMessage('U1', text('warm-up: tables and indexes have their first pages'));
  const before = walFrames(path);
  const results = await Promise.all(Array.from({ length: 50 }, (_, index) => store.appendOperatorMessage('U1', 'alice', `t${index}`, text(`m${index}`))));
  expect(results.map((result) => result.message.seq)).toEqual(Array.from({ length: 50 }, (_, index) => index + 2));
  // One commit of the few pages involved (messages, the dedup index, the conversation); one
  // transaction per message would write those pages 50 times (about 150 frames).
  expect(walFrames(path) - before).toBeLessThan(15);

  // Awaited one by one, each append is its own turn and its own commit.
  const sequential = walFrames(path);
  for (let index = 0; index < 5; index++) await store.appendOperatorMessage('U1', 'alice', `one-${index}`, text(`one ${index}`));
  expect(walFrames(path) - sequential).toBeGreaterThanOrEqual(5 * 2);
});

test('a SQLite error inside a batch (a trigger aborts one insert): that caller gets it, the others are stored', async () => {
  const { store, path } = fileStore();
  await store.appendCustomerMessage('U1', text('creates the tables'));
  const admin = new Database(path);
  cleanup.push(() => admin.close());
  admin.exec(`CREATE TRIGGER refuse BEFORE INSERT ON messages WHEN NEW.body LIKE '%refused%' BEGIN SELECT RAISE(ABORT, 'refused by trigger'); END`);

  const settled = await Promise.allSettled([
    store.appendOperatorMessage('U1', 'alice', 't1', text('one')),
    store.appendOperatorMessage('U1', 'alice', 't2', text('refused')),
    store.appendCustomerMessage('U1', text('three'), { externalId: 'line-3' }),
  ]);
  expect(settled.map((outcome) => outcome.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
  expect(String((settled[1] as PromiseRejectedResult).reason)).toContain('refused by trigger');
  const values = settled.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []));
  expect(values.map((result) => [result.message.seq, result.duplicate])).toEqual([
    [2, false],
    [3, false],
  ]);
  const stored = admin.prepare<[], { seq: number; body: string }>('SELECT seq, body FROM messages ORDER BY seq').all();
  expect(stored.map((row) => [row.seq, (JSON.parse(row.body) as MessageContent).text])).toEqual([
    [1, 'creates the tables'],
    [2, 'one'],
    [3, 'three'],
  ]);
});

test('a head kept in memory and made stale by another writer on the file is read again: seqs stay consecutive, summaries right', async () => {
  const { store, path } = fileStore();
  const other = new SqliteStore(path);
  cleanup.push(() => void other.close());
  await store.appendCustomerMessage('U1', text('c1'), { displayName: 'Yamada' });
  // `other` writes behind `store`'s back: store's kept head (last seq 1, one unread) is stale now.
  await other.appendCustomerMessage('U1', text('c2'));
  await other.appendCustomerMessage('U1', text('c3'));
  const [operator, customer] = await Promise.all([
    store.appendOperatorMessage('U1', 'alice', 't1', text('o1')),
    store.appendCustomerMessage('U1', text('c4')),
  ]);
  expect([operator.message.seq, customer.message.seq]).toEqual([4, 5]);
  expect(customer.conversation).toMatchObject({ lastSeq: 5, unreadCount: 1, status: 'waiting', displayName: 'Yamada' });
  // A retry is still a duplicate, answered with the original.
  const retried = await store.appendOperatorMessage('U1', 'alice', 't1', text('o1'));
  expect([retried.duplicate, retried.message.seq]).toEqual([true, 4]);
  expect((await other.messagesAfter('U1', 0, 10))?.map((message) => message.message.text)).toEqual(['c1', 'c2', 'c3', 'o1', 'c4']);
});

test('a batch writes each conversation row once, yet a duplicate inside it sees the conversation as it is at that point', async () => {
  const { store, path } = fileStore();
  await store.appendCustomerMessage('U0', text('warm-up: tables and indexes have their first pages'));
  const before = walFrames(path);
  const [first, second, retried, other] = await Promise.all([
    store.appendCustomerMessage('U1', text('c1'), { displayName: 'Yamada' }),
    store.appendOperatorMessage('U1', 'alice', 't1', text('o1')),
    store.appendOperatorMessage('U1', 'alice', 't1', text('o1')),
    store.appendCustomerMessage('U2', text('other')),
  ]);
  expect([first!.message.seq, second!.message.seq, other!.message.seq]).toEqual([1, 2, 1]);
  expect(retried).toMatchObject({ duplicate: true, message: { seq: 2 } });
  expect(retried!.conversation).toMatchObject({ lastSeq: 2, unreadCount: 0, status: 'answered', displayName: 'Yamada', lastMessage: { seq: 2 } });
  // One transaction (the pages of messages, dedup index and conversations, once); the four
  // appends retried one transaction each, as after a failed batch, write about twice as many.
  expect(walFrames(path) - before).toBeLessThanOrEqual(5);
  // What was written is what the next reader sees.
  const reader = new Database(path, { readonly: true });
  cleanup.push(() => reader.close());
  const rows = reader.prepare<[], { id: string; last_seq: number; unread_count: number; status: string; display_name: string | null }>(
    "SELECT id, last_seq, unread_count, status, display_name FROM conversations WHERE id <> 'U0' ORDER BY id",
  ).all();
  expect(rows).toEqual([
    { id: 'U1', last_seq: 2, unread_count: 0, status: 'answered', display_name: 'Yamada' },
    { id: 'U2', last_seq: 1, unread_count: 1, status: 'waiting', display_name: null },
  ]);
});

test('close() commits the appends already asked for before it closes the file', async () => {
  const dir = tempDir();
  cleanup.push(() => dir.remove());
  const path = join(dir.path, 'live-chat.sqlite');
  const store = new SqliteStore(path);
  const appended = store.appendCustomerMessage('U1', text('asked for just before the shutdown'));
  await store.close();
  expect((await appended).message.seq).toBe(1);
  const reopened = new SqliteStore(path);
  cleanup.push(() => void reopened.close());
  expect((await reopened.messagesAfter('U1', 0, 10))?.map((message) => message.message.text)).toEqual(['asked for just before the shutdown']);
  // After close, an append fails (its caller hears it) rather than hanging.
  await expect(store.appendCustomerMessage('U1', text('too late'))).rejects.toThrow(/not open/);
});

test('checkpoints run in a worker thread: the WAL is copied into the database file, and everything is still there after a reopen', async () => {
  const dir = tempDir();
  cleanup.push(() => dir.remove());
  const path = join(dir.path, 'live-chat.sqlite');
  const results: CheckpointResult[] = [];
  let checkpointed!: () => void;
  const first = new Promise<void>((resolve) => (checkpointed = resolve));
  const store = new SqliteStore(path, {
    checkpointEvery: 20,
    onCheckpoint: (result) => {
      results.push(result);
      checkpointed();
    },
  });
  cleanup.push(() => void store.close());
  const before = statSync(path).size;
  // 25 appends in one turn: one commit, past the threshold, so one checkpoint is asked for.
  await Promise.all(Array.from({ length: 25 }, (_, index) => store.appendCustomerMessage(`U${index % 3}`, text(`m${index}`))));
  await first;
  expect(results[0]!.walFrames).toBeGreaterThan(0);
  expect(results[0]!.checkpointed).toBe(results[0]!.walFrames);
  // The pages are in the database file now, not only in the WAL.
  expect(statSync(path).size).toBeGreaterThan(before);
  // Fewer than the threshold since: no second one.
  await store.appendCustomerMessage('U1', text('one more'));
  await store.close();
  expect(results).toHaveLength(1);

  const reopened = new SqliteStore(path);
  cleanup.push(() => void reopened.close());
  expect((await reopened.listConversations()).map((conversation) => [conversation.id, conversation.lastSeq])).toEqual(
    expect.arrayContaining([
      ['U0', 9],
      ['U1', 9],
      ['U2', 8],
    ]),
  );
});

test('a checkpointer that cannot open the database reports it (the store then leaves checkpoints to SQLite)', async () => {
  const dir = tempDir();
  cleanup.push(() => dir.remove());
  const failure = new Promise<Error>((resolve) => {
    // A folder is no database: the worker's connection fails.
    const checkpointer = new BackgroundCheckpointer(dir.path, { every: 1, onFailure: resolve });
    checkpointer.committed(1);
    cleanup.push(() => void checkpointer.close());
  });
  expect((await failure).message).toMatch(/directory|unable to open|not a database/i);
});
