import type { Redis } from 'ioredis';
import { describe, expect, test } from 'vitest';
import type { Broadcast } from '../../examples/server/src/fanout.js';
import { RedisBus, RedisPresence, RedisStore } from '../../examples/server/src/redis.js';
import type { AppendResult, StoredMessage } from '../../examples/server/src/store/types.js';
import { waitFor } from '../support/harness.js';
import { useRedis } from '../support/redis.js';
import { describeStoreContract } from '../support/store-contract.js';

const redis = useRedis();

describeStoreContract('Redis, two connections', async () => {
  const connections: Redis[] = [await redis().connect()];
  return {
    store: new RedisStore(connections[0]!),
    second: async () => {
      const connection = await redis().connect();
      connections.push(connection);
      return new RedisStore(connection);
    },
    close: async () => {
      for (const connection of connections) connection.disconnect();
    },
  };
});

const text = (value: string) => ({ type: 'text', text: value });

/** Everything published on the append channels from now on, in arrival order, on a connection of its own. */
async function listen(): Promise<{ events: { channel: string; payload: string }[]; close(): void }> {
  const events: { channel: string; payload: string }[] = [];
  const subscriber = await redis().connect();
  subscriber.on('message', (channel: string, payload: string) => events.push({ channel, payload }));
  await subscriber.subscribe('lc:messages', 'lc:conversations');
  return { events, close: () => subscriber.disconnect() };
}

describe('Redis append script: what it publishes', () => {
  test('each stored message, then the summary after it, in seq order across connections; a duplicate publishes nothing', async () => {
    const { events, close } = await listen();
    const [first, second] = [new RedisStore(await redis().connect()), new RedisStore(await redis().connect())];
    const name = 'Yamada "太郎" \\ / 😀 \u0001';
    const results = await Promise.all(
      Array.from({ length: 60 }, (_, index): Promise<AppendResult> => {
        const store = index % 2 === 0 ? first : second;
        if (index % 5 === 0) return store.appendCustomerMessage('U1', text(`c${index}`), { externalId: `line-${index}`, ...(index === 10 && { displayName: name }) });
        return store.appendOperatorMessage('U1', index % 2 === 0 ? 'alice' : 'bob', `t${index}`, text(`o${index}`));
      }),
    );
    // Retries of a temp_id and a LINE id, through either connection: nothing new is published.
    const retries = await Promise.all([
      first.appendOperatorMessage('U1', 'alice', 't2', text('retry')),
      second.appendOperatorMessage('U1', 'alice', 't2', text('retry')),
      second.appendCustomerMessage('U1', text('redelivered'), { externalId: 'line-5' }),
    ]);
    expect(retries.map((retry) => retry.duplicate)).toEqual([true, true, true]);
    // Barrier: published after everything before it.
    await first.appendCustomerMessage('U-barrier', text('barrier'));
    await waitFor('the barrier summary', () => events.some((event) => event.channel === 'lc:conversations' && event.payload.includes('U-barrier')));

    const ofU1 = events.filter((event) => !event.payload.includes('U-barrier'));
    expect(ofU1.map((event) => event.channel)).toEqual(results.flatMap(() => ['lc:messages', 'lc:conversations']));
    const bySeq = new Map(results.map((result) => [result.message.seq, result]));
    for (let seq = 1; seq <= 60; seq++) {
      const message = ofU1[2 * seq - 2]!.payload;
      const summary = ofU1[2 * seq - 1]!.payload;
      const result = bySeq.get(seq)!;
      expect(JSON.parse(message), `message ${seq}`).toEqual(result.message);
      // The message as stored, byte for byte, then what the summary needs.
      expect(summary.endsWith(`,"lastMessage":${message}}`), summary).toBe(true);
      const { unreadCount, displayName } = JSON.parse(summary) as { unreadCount: number; displayName: string };
      expect({ unreadCount, displayName: displayName || undefined }, `summary ${seq}`).toEqual({
        unreadCount: result.conversation.unreadCount,
        displayName: result.conversation.displayName,
      });
    }
    expect(bySeq.get(60)!.conversation.displayName).toBe(name);
    close();
  });
});

/** A started bus on two connections of its own, and what it delivers. */
async function bus(): Promise<{ bus: RedisBus; delivered: Broadcast[] }> {
  const delivered: Broadcast[] = [];
  const bus = new RedisBus(await redis().connect(), await redis().connect());
  bus.subscribe((broadcast) => delivered.push(broadcast));
  await bus.start();
  return { bus, delivered };
}

/** Kills every pub/sub connection and waits until `channel` has its subscribers back (ioredis resubscribes by itself). */
async function resubscribed(admin: Redis, channel: string): Promise<void> {
  const subscribers = async () => ((await admin.pubsub('NUMSUB', channel)) as [string, number])[1];
  const before = await subscribers();
  await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub');
  for (let started = Date.now(); (await subscribers()) < before; ) {
    if (Date.now() - started > 5000) throw new Error('the bus did not subscribe again');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('RedisBus: conversation_updated from the summaries Redis publishes', () => {
  function updates(delivered: readonly Broadcast[], conversationId: string): Record<string, unknown>[] {
    return delivered
      .map((broadcast) => JSON.parse(broadcast.frame) as { type: string; payload: Record<string, unknown> })
      .filter((frame) => frame.type === 'conversation_updated' && frame.payload.line_user_id === conversationId)
      .map((frame) => frame.payload);
  }

  /** A summary as the append script publishes it. */
  function summary(conversationId: string, seq: number, unreadCount = 1): string {
    const message: StoredMessage = { conversationId, seq, sender: 'customer', message: text(`m${seq}`), createdAt: new Date(seq).toISOString() };
    return `{"unreadCount":${unreadCount},"displayName":"","lastMessage":${JSON.stringify(message)}}`;
  }

  test('sent to everyone, once per conversation and turn, with the newest summary: what the store returned', async () => {
    const { bus: redisBus, delivered } = await bus();
    const store = new RedisStore(await redis().connect());
    const results = await Promise.all(Array.from({ length: 30 }, (_, index) => store.appendCustomerMessage('U1', text(`c${index}`), { displayName: 'Yamada' })));
    await waitFor('the newest summary', () => updates(delivered, 'U1').some((update) => update.last_seq === 30));
    const seen = updates(delivered, 'U1');
    expect(seen.length).toBeLessThan(30); // a burst announces its newest state, not each step
    const seqs = seen.map((update) => update.last_seq as number);
    expect(seqs.filter((seq, index) => index > 0 && seq <= seqs[index - 1]!), seqs.join(' ')).toEqual([]);
    for (const broadcast of delivered) {
      if (broadcast.frame.includes('"conversation_updated"')) expect(broadcast.room).toBeUndefined();
    }
    const newest = results.at(-1)!.conversation;
    expect(seen.at(-1)).toEqual({
      line_user_id: 'U1',
      display_name: 'Yamada',
      last_seq: 30,
      unread_count: 30,
      status: 'waiting',
      updated_at: newest.updatedAt,
      last_message: { seq: 30, sender: 'customer', message: text('c29'), timestamp: newest.updatedAt },
    });
    await redisBus.close();
  });

  test('a summary older than one already received is never announced; the gateway\'s own conversation_updated is dropped', async () => {
    const { bus: redisBus, delivered } = await bus();
    const admin = await redis().connect();
    // Ten summaries in one script: one delivery, the newest, even with an older one last.
    const burst = [...Array.from({ length: 10 }, (_, index) => summary('U1', index + 1)), summary('U1', 7)];
    await admin.eval(`for _, payload in ipairs(ARGV) do redis.call('PUBLISH', KEYS[1], payload) end`, 1, 'lc:conversations', ...burst);
    await waitFor('the burst', () => updates(delivered, 'U1').length > 0);
    // Older than the newest: dropped. U2 is the barrier.
    await admin.publish('lc:conversations', summary('U1', 9));
    await admin.publish('lc:conversations', summary('U1', 10));
    await redisBus.publish({ frame: JSON.stringify({ type: 'conversation_updated', payload: { line_user_id: 'U1', last_seq: 11 }, timestamp: 'x' }) });
    await admin.publish('lc:conversations', summary('U2', 1));
    await waitFor('the barrier', () => updates(delivered, 'U2').length > 0);
    expect(updates(delivered, 'U1').map((update) => update.last_seq)).toEqual([10]);
    await admin.publish('lc:conversations', summary('U1', 11, 4));
    await waitFor('a newer one', () => updates(delivered, 'U1').length === 2);
    expect(updates(delivered, 'U1').at(-1)).toMatchObject({ last_seq: 11, unread_count: 4, last_message: { seq: 11 } });
    expect(updates(delivered, 'U1').at(-1)).not.toHaveProperty('display_name');
    await redisBus.close();
  });

  test('after the subscription is lost and restored (Redis may have restarted empty), seqs may start over', async () => {
    const { bus: redisBus, delivered } = await bus();
    const admin = await redis().connect();
    await admin.publish('lc:conversations', summary('U1', 40));
    await waitFor('seq 40', () => updates(delivered, 'U1').length === 1);
    await resubscribed(admin, 'lc:conversations');
    await admin.publish('lc:conversations', summary('U1', 1));
    await waitFor('seq 1 after the reconnection', () => updates(delivered, 'U1').length === 2);
    expect(updates(delivered, 'U1').map((update) => update.last_seq)).toEqual([40, 1]);
    await redisBus.close();
  });
});

describe('Redis presence script: each change and the operators after it, published together', () => {
  interface Change { room: string; version: number; type: string; admins: string[]; operators: string[] }

  async function listenPresence(): Promise<{ changes: Change[]; close(): void }> {
    const changes: Change[] = [];
    const subscriber = await redis().connect();
    subscriber.on('message', (_channel: string, payload: string) => changes.push(JSON.parse(payload) as Change));
    await subscriber.subscribe('lc:presence');
    return { changes, close: () => subscriber.disconnect() };
  }

  test('joins and leaves at once through two processes: versions increase, each list is the room right after its change', async () => {
    const { changes, close } = await listenPresence();
    const [p1, p2] = [new RedisPresence(await redis().connect(), 'pa'), new RedisPresence(await redis().connect(), 'pb')];
    await Promise.all([p1.start(), p2.start()]);
    const admins = ['alice', 'bob', 'carol', 'dave'];
    const returned = await Promise.all(
      Array.from({ length: 40 }, (_, index) => (index % 2 === 0 ? p1 : p2).join('R1', `${index % 2 === 0 ? 'pa' : 'pb'}:${index}`, admins[index % 4]!)),
    );
    await Promise.all(Array.from({ length: 40 }, (_, index) => (index % 2 === 0 ? p1 : p2).leave('R1', `${index % 2 === 0 ? 'pa' : 'pb'}:${index}`)));
    await waitFor('80 changes', () => changes.length === 80);
    const versions = changes.map((change) => change.version);
    expect(versions.filter((version, index) => index > 0 && version <= versions[index - 1]!)).toEqual([]);
    // Replayed in publish order, the changes give each published list.
    const counts = new Map<string, number>();
    for (const change of changes) {
      const [admin] = change.admins;
      counts.set(admin!, (counts.get(admin!) ?? 0) + (change.type === 'joined' ? 1 : -1));
      const expected = [...counts].filter(([, count]) => count > 0).map(([id]) => id).sort();
      expect([...change.operators].sort(), JSON.stringify(change)).toEqual(expected);
      expect(change.room).toBe('R1');
    }
    expect(returned.at(-1)).toEqual(admins.slice().sort());
    expect(changes.at(-1)!.operators).toEqual([]);
    close();
    await Promise.all([p1.close(), p2.close()]);
  });

  test('a closing process: one change per room, naming only the operators not present through another process', async () => {
    const [p1, p2] = [new RedisPresence(await redis().connect(), 'pc'), new RedisPresence(await redis().connect(), 'pd')];
    await Promise.all([p1.start(), p2.start()]);
    await p1.join('R2', 'pc:1', 'alice');
    await p1.join('R2', 'pc:2', 'bob');
    await p2.join('R2', 'pd:1', 'bob');
    await p1.join('R3', 'pc:3', 'bob');
    const { changes, close } = await listenPresence();
    await p1.close();
    await p2.join('R9', 'pd:9', 'barrier');
    await waitFor('the barrier', () => changes.some((change) => change.room === 'R9'));
    expect(changes.filter((change) => change.room !== 'R9').sort((x, y) => x.room.localeCompare(y.room))).toEqual([
      { room: 'R2', version: expect.any(Number), type: 'left', admins: ['alice'], operators: ['bob'] },
      { room: 'R3', version: expect.any(Number), type: 'left', admins: ['bob'], operators: [] },
    ]);
    close();
    await p2.close();
  });
});

describe('RedisBus: operator_joined/operator_left from the presence changes Redis publishes', () => {
  function presence(delivered: readonly Broadcast[], room: string): { type: string; payload: Record<string, unknown> }[] {
    return delivered
      .filter((broadcast) => broadcast.room === room)
      .map((broadcast) => JSON.parse(broadcast.frame) as { type: string; payload: Record<string, unknown> })
      .filter((frame) => frame.type === 'operator_joined' || frame.type === 'operator_left');
  }

  const change = (room: string, version: number, type: string, admins: string[], operators: string[]) =>
    JSON.stringify({ room, version, type, admins, operators });

  test('one frame per admin to the room, with the sorted list and the version; older versions and the gateway\'s own frames dropped', async () => {
    const { bus: redisBus, delivered } = await bus();
    const admin = await redis().connect();
    await admin.publish('lc:presence', change('R1', 5, 'joined', ['bob'], ['bob', 'alice']));
    await admin.publish('lc:presence', change('R1', 4, 'joined', ['alice'], ['alice'])); // older: dropped
    await admin.publish('lc:presence', change('R1', 5, 'left', ['bob'], ['alice'])); // not newer: dropped
    await redisBus.publish({ room: 'R1', frame: JSON.stringify({ type: 'operator_left', payload: { admin_id: 'x', line_user_id: 'R1', operators: [] }, timestamp: 'x' }) });
    await redisBus.publish({ room: 'R1', frame: JSON.stringify({ type: 'operator_joined', payload: { admin_id: 'x', line_user_id: 'R1', operators: ['x'] }, timestamp: 'x' }) });
    await admin.publish('lc:presence', change('R2', 1, 'left', ['carol', 'dave'], [])); // another room: its own versions
    await admin.publish('lc:presence', change('R1', 9, 'left', ['alice', 'bob'], []));
    await waitFor('version 9', () => presence(delivered, 'R1').length === 3);
    expect(presence(delivered, 'R1').map(({ type, payload }) => ({ type, ...payload }))).toEqual([
      { type: 'operator_joined', admin_id: 'bob', line_user_id: 'R1', operators: ['alice', 'bob'], version: 5 },
      { type: 'operator_left', admin_id: 'alice', line_user_id: 'R1', operators: [], version: 9 },
      { type: 'operator_left', admin_id: 'bob', line_user_id: 'R1', operators: [], version: 9 },
    ]);
    expect(presence(delivered, 'R2').map(({ payload }) => payload.admin_id)).toEqual(['carol', 'dave']);
    await redisBus.close();
  });

  test('after the subscription is lost and restored (Redis may have restarted empty), versions may start over', async () => {
    const { bus: redisBus, delivered } = await bus();
    const admin = await redis().connect();
    await admin.publish('lc:presence', change('R1', 40, 'joined', ['alice'], ['alice']));
    await waitFor('version 40', () => presence(delivered, 'R1').length === 1);
    await resubscribed(admin, 'lc:presence');
    await admin.publish('lc:presence', change('R1', 1, 'joined', ['bob'], ['bob']));
    await waitFor('version 1 after the reconnection', () => presence(delivered, 'R1').length === 2);
    expect(presence(delivered, 'R1').map(({ payload }) => payload.version)).toEqual([40, 1]);
    await redisBus.close();
  });
});
