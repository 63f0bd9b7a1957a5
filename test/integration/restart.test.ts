import { describe, expect, test } from 'vitest';
import type { DeliveryUpdate, LiveChatClient, MessageAck } from '../../src/index.js';
import { texts, useHarness, waitFor } from '../support/harness.js';
import { V1Server, type ReceivedFrame } from '../support/v1-server.js';

const harness = useHarness();

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/**
 * Alice sends `n` messages; the server dies when it has handled the message `crashAfter`
 * (optionally losing that message's ack) and a new server takes over the port and the store.
 */
async function restartWhileSending({ n, crashAfter, loseAck }: { n: number; crashAfter: string; loseAck: boolean }) {
  const h = harness();
  const first = await V1Server.start();
  h.defer(first);
  const alice = await h.connected(first.url, 'op:alice', ['U1']);
  const bob = await h.connected(first.url, 'op:bob', ['U1']);
  await waitFor('both in the room', () => first.roomAdmins('U1').length === 2);

  const deliveries: DeliveryUpdate[] = [];
  alice.on('delivery', (update) => deliveries.push(update));
  if (loseAck) first.loseAck = (payload) => payload.temp_id === crashAfter;
  let crashed: Promise<void> | undefined;
  first.onFrame((frame) => {
    if (frame.type === 'message_send' && frame.payload.temp_id === crashAfter) crashed ??= first.close();
  });

  const tempIds = range(0, n - 1).map((i) => `t${i}`);
  let settled = 0;
  const promises = tempIds.map((tempId, i) => {
    const promise = alice.sendMessage('U1', `m${i}`, { tempId });
    void promise.then(() => settled++, () => settled++);
    return promise;
  });

  await waitFor('the crash', () => crashed !== undefined);
  await crashed;
  await waitFor('a refused reconnect attempt while down', () => alice.getSnapshot().reconnectAttempt >= 2);
  const second = h.defer(await V1Server.start({ store: first.store, port: first.port }));
  const acks = await Promise.all(promises);
  return { first, second, alice, bob, deliveries, acks, tempIds, settled: () => settled };
}

function assertExactlyOnce(
  { first, second, alice, bob, deliveries, acks, tempIds }: {
    first: V1Server; second: V1Server; alice: LiveChatClient; bob: LiveChatClient;
    deliveries: DeliveryUpdate[]; acks: MessageAck[]; tempIds: string[];
  },
): void {
  const n = tempIds.length;
  expect(acks.map((ack) => ack.tempId)).toEqual(tempIds);
  expect(acks.map((ack) => ack.seq)).toEqual(range(1, n));
  // The store holds each message once, in the order written.
  expect(second.store.events('U1').map((e) => e.payload.temp_id)).toEqual(tempIds);
  for (const tempId of tempIds) {
    expect(deliveries.filter((d) => d.tempId === tempId && d.status === 'sent'), tempId).toHaveLength(1);
  }
  expect(deliveries.filter((d) => d.status === 'failed')).toEqual([]);
  expect(alice.getSnapshot()).toMatchObject({ pendingCount: 0, failedCount: 0 });
  expect(alice.conversation('U1').getSnapshot().messages.map((m) => [m.seq, m.status])).toEqual(range(1, n).map((seq) => [seq, 'sent']));
  expect(texts(bob, 'U1')).toEqual(tempIds.map((_, i) => `m${i}`));
  expect(bob.conversation('U1').getSnapshot().messages.map((m) => m.seq)).toEqual(range(1, n));
  const sends = (server: V1Server) => server.framesOf('message_send').map((f: ReceivedFrame) => f.payload.temp_id);
  expect(new Set([...sends(first), ...sends(second)])).toEqual(new Set(tempIds));
}

describe('server restart with messages in flight', () => {
  test('a lost ack: the message is re-sent, deduplicated by temp_id, acked with its original seq', async () => {
    const run = await restartWhileSending({ n: 10, crashAfter: 't4', loseAck: true });
    await waitFor('bob has all 10', () => run.bob.conversation('U1').getSnapshot().lastSeq === 10);
    assertExactlyOnce(run);
    expect(run.settled()).toBe(10);
    // t4 reached the server twice (before the crash, unacked; after it, re-sent): the second got the original ack.
    const t4 = [...run.first.framesOf('message_send'), ...run.second.framesOf('message_send')].filter((f) => f.payload.temp_id === 't4');
    expect(t4.length).toBeGreaterThanOrEqual(2);
    expect(run.acks[4]?.seq).toBe(5);
    expect(run.second.store.events('U1')[4]?.timestamp).toBe(run.acks[4]?.timestamp);
  });

  test('a crash mid-stream: every sendMessage resolves once, nothing stored twice, the other operator sees each once', async () => {
    const run = await restartWhileSending({ n: 30, crashAfter: 't9', loseAck: false });
    await waitFor('bob has all 30', () => run.bob.conversation('U1').getSnapshot().lastSeq === 30, {
      describe: () => run.bob.conversation('U1').getSnapshot().lastSeq,
    });
    assertExactlyOnce(run);
  });
});
