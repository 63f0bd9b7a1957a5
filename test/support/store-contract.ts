/**
 * The `Store` contract, written once and run against every implementation (SQLite in memory and
 * in a file, Redis): whatever the backend, the gateway and the HTTP API see the same behaviour.
 */
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import type { Store, StoredMessage } from '../../examples/server/src/store/types.js';
import type { MessageContent } from '../../src/protocol.js';

export interface StoreFixture {
  /** A store on fresh, empty data. */
  store: Store;
  /**
   * Another store on the same data through its own connection, for concurrency; backends with a
   * single connection (SQLite in memory) give the same store back.
   */
  second(): Promise<Store>;
  close(): Promise<void>;
}

const text = (value: string): MessageContent => ({ type: 'text', text: value });
const iso = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const seqs = (messages: readonly StoredMessage[] | undefined) => messages?.map((message) => message.seq);

/** Contents that a JSON round trip through a scripting layer (e.g. Redis's cjson) would alter. */
const awkwardContents: MessageContent[] = [
  { type: 'text', text: 'héllo wörld 日本語 😀👍🏽 عربي' },
  { type: 'text', text: 'empty things', emojis: [], meta: {}, nested: { list: [], map: {} } },
  { type: 'sticker', packageId: 1234567890123456, stickerId: 9007199254740991, ratio: 0.1, negative: -12.5, small: 1e-7 },
  { type: 'text', text: 'slashes / \\ and "quotes" and \u2028 and control \u0001\t\n' },
  { type: 'text', text: 'a lone surrogate \ud83d in the middle' },
  { type: 'text', text: 'key order', zeta: 1, alpha: 2, middle: null, flag: false },
  { type: 'location', title: 'deep', address: 'x', latitude: 35.681236, longitude: 139.767125, deep: [[[{ a: [1, [2, [3]]] }]]] },
];

export function describeStoreContract(name: string, open: () => Promise<StoreFixture>): void {
  describe(`Store contract: ${name}`, () => {
    let fixture: StoreFixture | undefined;
    let store: Store;

    beforeEach(async () => {
      fixture = await open();
      store = fixture.store;
    });
    afterEach(async () => {
      vi.useRealTimers();
      await fixture?.close();
      fixture = undefined;
    });

    test('seq is strictly increasing per conversation from 1; customer and operator messages share it', async () => {
      const started = Date.now();
      const first = await store.appendCustomerMessage('U1', text('c1'));
      const second = await store.appendOperatorMessage('U1', 'alice', 't1', text('o1'));
      const other = await store.appendCustomerMessage('U2', text('other conversation'));
      const third = await store.appendCustomerMessage('U1', text('c2'));

      expect([first, second, third].map((result) => [result.message.seq, result.duplicate])).toEqual([
        [1, false],
        [2, false],
        [3, false],
      ]);
      expect(other.message.seq).toBe(1);
      expect(first.message).toEqual({ conversationId: 'U1', seq: 1, sender: 'customer', message: text('c1'), createdAt: expect.stringMatching(iso) });
      // A customer message has no operator fields at all (not even undefined ones).
      expect(Object.keys(first.message).sort()).toEqual(['conversationId', 'createdAt', 'message', 'sender', 'seq']);
      expect(second.message).toEqual({
        conversationId: 'U1',
        seq: 2,
        sender: 'operator',
        adminId: 'alice',
        tempId: 't1',
        message: text('o1'),
        createdAt: expect.stringMatching(iso),
      });
      for (const { message } of [first, second, third]) {
        expect(Date.parse(message.createdAt)).toBeGreaterThanOrEqual(started);
        expect(Date.parse(message.createdAt)).toBeLessThanOrEqual(Date.now());
      }
    });

    test('message content is returned exactly as given, by every read path', async () => {
      for (const [index, content] of awkwardContents.entries()) {
        const appended =
          index % 2 === 0
            ? await store.appendCustomerMessage('U1', content)
            : await store.appendOperatorMessage('U1', 'alice', `t${index}`, content);
        expect(appended.message.message, `append of ${JSON.stringify(content)}`).toEqual(content);
        // Byte for byte, key order included: no decode/encode round trip on the way.
        expect(JSON.stringify(appended.message.message), `append of ${JSON.stringify(content)}`).toBe(JSON.stringify(content));
        const last = await store.getConversation('U1');
        expect(JSON.stringify(last?.lastMessage)).toBe(JSON.stringify(appended.message));
      }
      const replayed = (await store.messagesAfter('U1', 0, 100)) ?? [];
      const page = await store.history('U1', { limit: 100 });
      expect(replayed.map((message) => JSON.stringify(message.message))).toEqual(awkwardContents.map((content) => JSON.stringify(content)));
      expect(page.messages.map((message) => JSON.stringify(message))).toEqual(replayed.map((message) => JSON.stringify(message)));
      const [listed] = await store.listConversations();
      expect(JSON.stringify(listed?.lastMessage)).toBe(JSON.stringify(replayed.at(-1)));
    });

    test('operator messages are deduplicated on (adminId, tempId): the original comes back, same seq and time', async () => {
      const original = await store.appendOperatorMessage('U1', 'alice', 'temp-1', text('first try'));
      await store.appendCustomerMessage('U1', text('customer in between'));
      const retry = await store.appendOperatorMessage('U1', 'alice', 'temp-1', text('changed on retry'));
      expect([retry.message, retry.duplicate]).toEqual([original.message, true]);
      // The conversation as it is now (the customer spoke after the original).
      expect(retry.conversation).toEqual(await store.getConversation('U1'));
      expect(retry.message.message).toEqual(text('first try'));
      // The retry took no seq, and did not touch the summary (the customer spoke last).
      expect(await store.getConversation('U1')).toMatchObject({ lastSeq: 2, status: 'waiting', unreadCount: 1 });
      // Another operator may use the same temp_id.
      const bob = await store.appendOperatorMessage('U1', 'bob', 'temp-1', text('bob'));
      expect([bob.message.seq, bob.duplicate]).toEqual([3, false]);
      expect(seqs(await store.messagesAfter('U1', 0, 10))).toEqual([1, 2, 3]);
    });

    test('customer messages are deduplicated on externalId (webhook redelivery); without one, never', async () => {
      const original = await store.appendCustomerMessage('U1', text('hello'), { externalId: 'line-1' });
      const redelivered = await store.appendCustomerMessage('U1', text('hello'), { externalId: 'line-1' });
      expect([redelivered.message, redelivered.duplicate]).toEqual([original.message, true]);
      expect(redelivered.conversation).toEqual(await store.getConversation('U1'));
      const anonymous1 = await store.appendCustomerMessage('U1', text('same text'));
      const anonymous2 = await store.appendCustomerMessage('U1', text('same text'));
      expect([anonymous1.message.seq, anonymous1.duplicate, anonymous2.message.seq, anonymous2.duplicate]).toEqual([2, false, 3, false]);
      expect(await store.getConversation('U1')).toMatchObject({ lastSeq: 3, unreadCount: 3 });
    });

    test('messagesAfter: ascending, limited, empty after the last and for an unknown conversation', async () => {
      for (let i = 1; i <= 5; i++) await store.appendCustomerMessage('U1', text(`m${i}`));
      expect(seqs(await store.messagesAfter('U1', 0, 100))).toEqual([1, 2, 3, 4, 5]);
      expect(seqs(await store.messagesAfter('U1', 2, 2))).toEqual([3, 4]);
      expect((await store.messagesAfter('U1', 3, 100))?.map((message) => message.message.text)).toEqual(['m4', 'm5']);
      expect(await store.messagesAfter('U1', 5, 100)).toEqual([]);
      expect(await store.messagesAfter('U1', 99, 100)).toEqual([]);
      expect(await store.messagesAfter('nobody', 0, 100)).toEqual([]);
    });

    test('history pages backwards by seq: ascending pages, hasMore until the first message', async () => {
      for (let i = 1; i <= 5; i++) await store.appendCustomerMessage('U1', text(`m${i}`));
      const newest = await store.history('U1', { limit: 2 });
      expect([seqs(newest.messages), newest.hasMore]).toEqual([[4, 5], true]);
      const middle = await store.history('U1', { beforeSeq: 4, limit: 2 });
      expect([seqs(middle.messages), middle.hasMore]).toEqual([[2, 3], true]);
      const oldest = await store.history('U1', { beforeSeq: 2, limit: 2 });
      expect([seqs(oldest.messages), oldest.hasMore]).toEqual([[1], false]);
      const exact = await store.history('U1', { beforeSeq: 3, limit: 2 });
      expect([seqs(exact.messages), exact.hasMore]).toEqual([[1, 2], false]);
      expect(await store.history('U1', { beforeSeq: 1, limit: 10 })).toEqual({ messages: [], hasMore: false });
      expect(await store.history('U1', { beforeSeq: 0, limit: 10 })).toEqual({ messages: [], hasMore: false });
      const beyond = await store.history('U1', { beforeSeq: 99, limit: 10 });
      expect([seqs(beyond.messages), beyond.hasMore]).toEqual([[1, 2, 3, 4, 5], false]);
      expect(await store.history('nobody', { limit: 10 })).toEqual({ messages: [], hasMore: false });
    });

    test('conversation summary: unread count, waiting/answered, last message, display name', async () => {
      expect(await store.getConversation('U1')).toBeUndefined();
      await store.appendCustomerMessage('U1', text('one'), { displayName: 'Yamada' });
      const two = await store.appendCustomerMessage('U1', text('two'));
      expect(await store.getConversation('U1')).toEqual({
        id: 'U1',
        displayName: 'Yamada',
        lastMessage: two.message,
        lastSeq: 2,
        unreadCount: 2,
        status: 'waiting',
        updatedAt: two.message.createdAt,
      });
      const reply = await store.appendOperatorMessage('U1', 'alice', 't1', text('answer'));
      expect(await store.getConversation('U1')).toEqual({
        id: 'U1',
        displayName: 'Yamada',
        lastMessage: reply.message,
        lastSeq: 3,
        unreadCount: 0,
        status: 'answered',
        updatedAt: reply.message.createdAt,
      });
      await store.appendCustomerMessage('U1', text('again'), { displayName: 'Yamada Taro' });
      expect(await store.getConversation('U1')).toMatchObject({ displayName: 'Yamada Taro', lastSeq: 4, unreadCount: 1, status: 'waiting' });
      // No display name given, ever: undefined, not an empty string.
      await store.appendOperatorMessage('U2', 'alice', 't2', text('first contact'));
      expect(await store.getConversation('U2')).toMatchObject({ displayName: undefined, unreadCount: 0, status: 'answered' });
    });

    test('the conversation list is ordered by last update, newest first, ties by id', async () => {
      vi.useFakeTimers({ toFake: ['Date'] });
      const at = (ms: number) => vi.setSystemTime(new Date(Date.UTC(2030, 0, 1) + ms));
      at(1000);
      await store.appendCustomerMessage('U-b', text('b'));
      at(2000);
      await store.appendCustomerMessage('U-a', text('a'));
      at(3000);
      await store.appendOperatorMessage('U-c', 'alice', 't-c', text('c'));
      expect((await store.listConversations()).map((summary) => summary.id)).toEqual(['U-c', 'U-a', 'U-b']);
      at(4000);
      await store.appendCustomerMessage('U-b', text('b again'));
      const list = await store.listConversations();
      expect(list.map((summary) => summary.id)).toEqual(['U-b', 'U-c', 'U-a']);
      expect(list[0]).toMatchObject({ lastSeq: 2, unreadCount: 2, updatedAt: '2030-01-01T00:00:04.000Z' });
      // Same millisecond: by id, ascending.
      at(5000);
      await store.appendCustomerMessage('U-z', text('z'));
      await store.appendCustomerMessage('U-y', text('y'));
      await store.appendCustomerMessage('U-0', text('0'));
      expect((await store.listConversations()).map((summary) => summary.id)).toEqual(['U-0', 'U-y', 'U-z', 'U-b', 'U-c', 'U-a']);
    });

    test('the summary an append returns is the conversation right after it: what getConversation says then', async () => {
      const steps = [
        () => store.appendCustomerMessage('U1', text('one'), { displayName: 'Yamada' }),
        () => store.appendCustomerMessage('U1', text('two'), { externalId: 'line-2' }),
        () => store.appendOperatorMessage('U1', 'alice', 't1', text('answer')),
        () => store.appendOperatorMessage('U2', 'bob', 't1', text('first contact, no name ever')),
        () => store.appendCustomerMessage('U1', text('again'), { displayName: 'Yamada Taro' }),
        () => store.appendOperatorMessage('U1', 'alice', 't1', text('a retry of t1')), // duplicate: U1 as it is now
        () => store.appendCustomerMessage('U2', text('redelivered?'), { externalId: 'line-2' }), // duplicate of a U1 message
        () => store.appendCustomerMessage('U2', text('hi'), { externalId: 'line-3' }),
      ];
      const expected = [
        { id: 'U1', lastSeq: 1, unreadCount: 1, status: 'waiting', displayName: 'Yamada' },
        { id: 'U1', lastSeq: 2, unreadCount: 2, status: 'waiting', displayName: 'Yamada' },
        { id: 'U1', lastSeq: 3, unreadCount: 0, status: 'answered', displayName: 'Yamada' },
        { id: 'U2', lastSeq: 1, unreadCount: 0, status: 'answered', displayName: undefined },
        { id: 'U1', lastSeq: 4, unreadCount: 1, status: 'waiting', displayName: 'Yamada Taro' },
        { id: 'U1', lastSeq: 4, unreadCount: 1, status: 'waiting', displayName: 'Yamada Taro' },
        { id: 'U1', lastSeq: 4, unreadCount: 1, status: 'waiting', displayName: 'Yamada Taro' },
        { id: 'U2', lastSeq: 2, unreadCount: 1, status: 'waiting', displayName: undefined },
      ];
      for (const [index, step] of steps.entries()) {
        const result = await step();
        expect(result.conversation, `step ${index}`).toMatchObject(expected[index]!);
        expect(result.conversation, `step ${index}`).toEqual(await store.getConversation(expected[index]!.id));
        if (!result.duplicate) {
          expect(result.conversation.lastMessage, `step ${index}`).toEqual(result.message);
          expect(result.conversation.updatedAt, `step ${index}`).toBe(result.message.createdAt);
        }
      }
    });

    test('appends asked for in one turn all commit, with consecutive seqs, each resolved after its commit', async () => {
      const other = await fixture!.second();
      const visible: number[] = [];
      // Every append is requested before any is awaited: one turn of the event loop (one batch).
      const pending = [
        store.appendCustomerMessage('U1', text('c1'), { displayName: 'Yamada' }),
        store.appendOperatorMessage('U1', 'alice', 't1', text('o1')),
        store.appendCustomerMessage('U2', text('other conversation')),
        store.appendCustomerMessage('U1', text('c2'), { externalId: 'line-1' }),
        store.appendOperatorMessage('U1', 'bob', 't1', text('o2')),
        ...Array.from({ length: 45 }, (_, index) => store.appendOperatorMessage('U1', 'alice', `burst-${index}`, text(`b${index}`))),
      ].map((append) =>
        append.then(async (result) => {
          // Resolved means committed: another connection already sees it.
          const stored = (await other.messagesAfter(result.message.conversationId, result.message.seq - 1, 1)) ?? [];
          visible.push(stored[0]?.seq === result.message.seq ? 1 : 0);
          return result;
        }),
      );
      const results = await Promise.all(pending);
      expect(results.every((result) => !result.duplicate)).toBe(true);
      expect(results.map((result) => `${result.message.conversationId}:${result.message.seq}`)).toEqual([
        'U1:1',
        'U1:2',
        'U2:1',
        'U1:3',
        'U1:4',
        ...Array.from({ length: 45 }, (_, index) => `U1:${index + 5}`),
      ]);
      expect(visible).toEqual(results.map(() => 1));
      expect(seqs(await other.messagesAfter('U1', 0, 100))).toEqual(Array.from({ length: 49 }, (_, i) => i + 1));
      expect((await other.messagesAfter('U1', 0, 4))?.map((message) => message.message.text)).toEqual(['c1', 'o1', 'c2', 'o2']);
      // Each summary is the conversation right after that append, not after the whole batch.
      expect(results.slice(0, 5).map(({ conversation }) => [conversation.lastSeq, conversation.unreadCount, conversation.status])).toEqual([
        [1, 1, 'waiting'],
        [2, 0, 'answered'],
        [1, 1, 'waiting'],
        [3, 1, 'waiting'],
        [4, 0, 'answered'],
      ]);
      expect(results[3]!.conversation.displayName).toBe('Yamada');
      expect(results.at(-1)!.conversation).toEqual(await other.getConversation('U1'));
      expect(results[2]!.conversation).toEqual(await other.getConversation('U2'));
    });

    test('a temp_id or LINE id repeated within one turn is stored once; the repeat returns the original', async () => {
      const [first, again, customer, redelivered, after, bob] = await Promise.all([
        store.appendOperatorMessage('U1', 'alice', 'same', text('first try')),
        store.appendOperatorMessage('U1', 'alice', 'same', text('changed on retry')),
        store.appendCustomerMessage('U1', text('hello'), { externalId: 'line-1' }),
        store.appendCustomerMessage('U1', text('hello'), { externalId: 'line-1' }),
        store.appendCustomerMessage('U1', text('after')),
        store.appendOperatorMessage('U1', 'bob', 'same', text('bob may use it too')),
      ]);
      expect([first, again, customer, redelivered, after, bob].map((result) => [result!.message.seq, result!.duplicate])).toEqual([
        [1, false],
        [1, true],
        [2, false],
        [2, true],
        [3, false],
        [4, false],
      ]);
      expect(again!.message).toEqual(first!.message);
      expect(redelivered!.message).toEqual(customer!.message);
      const stored = (await store.messagesAfter('U1', 0, 100)) ?? [];
      expect(stored.map((message) => [message.seq, message.message.text])).toEqual([
        [1, 'first try'],
        [2, 'hello'],
        [3, 'after'],
        [4, 'bob may use it too'],
      ]);
      expect(await store.getConversation('U1')).toMatchObject({ lastSeq: 4, status: 'answered', unreadCount: 0 });
    });

    test('an append that fails in a batch fails alone: the others are stored, seqs without a gap', async () => {
      // JSON cannot encode a BigInt: this append throws when it is serialized for storage.
      const unencodable = { type: 'text', text: 'bad', size: 10n } as unknown as MessageContent;
      const settled = await Promise.allSettled([
        store.appendOperatorMessage('U1', 'alice', 't1', text('before')),
        store.appendCustomerMessage('U1', text('before too'), { externalId: 'line-1' }),
        store.appendOperatorMessage('U1', 'alice', 't-bad', unencodable),
        store.appendCustomerMessage('U2', text('elsewhere')),
        store.appendOperatorMessage('U1', 'alice', 't2', text('after')),
      ]);
      expect(settled.map((outcome) => outcome.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
      const values = settled.map((outcome) => (outcome.status === 'fulfilled' ? outcome.value : undefined));
      // Nothing was stored twice on the way (a retry of a batch that was half written would make duplicates).
      expect(values.map((result) => result && [result.message.conversationId, result.message.seq, result.duplicate])).toEqual([
        ['U1', 1, false],
        ['U1', 2, false],
        undefined,
        ['U2', 1, false],
        ['U1', 3, false],
      ]);
      expect((await store.messagesAfter('U1', 0, 100))?.map((message) => [message.seq, message.message.text])).toEqual([
        [1, 'before'],
        [2, 'before too'],
        [3, 'after'],
      ]);
      expect(await store.getConversation('U1')).toMatchObject({ lastSeq: 3 });
      // The failed temp_id was not taken: it can be sent again.
      const retried = await store.appendOperatorMessage('U1', 'alice', 't-bad', text('fixed'));
      expect([retried.message.seq, retried.duplicate]).toEqual([4, false]);
    });

    test('200 concurrent appends to one conversation through two connections: seqs exactly 1..200', async () => {
      const other = await fixture!.second();
      const writes = Array.from({ length: 200 }, (_, index) => {
        const target = index % 2 === 0 ? store : other;
        return index % 3 === 0
          ? target.appendCustomerMessage('U1', text(`c${index}`), { externalId: `ext-${index}` })
          : target.appendOperatorMessage('U1', index % 2 === 0 ? 'alice' : 'bob', `t${index}`, text(`o${index}`));
      });
      const results = await Promise.all(writes);
      expect(results.every((result) => !result.duplicate)).toBe(true);
      expect(results.map((result) => result.message.seq).sort((a, b) => a - b)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
      const stored = (await other.messagesAfter('U1', 0, 1000)) ?? [];
      expect(seqs(stored)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
      // Each write stored once, under the seq its caller was told.
      const bySeq = new Map(stored.map((message) => [message.seq, message.message.text]));
      for (const result of results) expect(bySeq.get(result.message.seq)).toBe(result.message.message.text);
      expect(await store.getConversation('U1')).toMatchObject({ lastSeq: 200 });
    });

    test('concurrent retries of one temp_id through two connections store it once', async () => {
      const other = await fixture!.second();
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, index) => (index % 2 === 0 ? store : other).appendOperatorMessage('U1', 'alice', 'same', text('once'))),
      );
      expect(results.filter((result) => !result.duplicate)).toHaveLength(1);
      expect(new Set(results.map((result) => JSON.stringify(result.message)))).toEqual(new Set([JSON.stringify(results[0]!.message)]));
      expect(seqs(await store.messagesAfter('U1', 0, 100))).toEqual([1]);
    });
  });
}
