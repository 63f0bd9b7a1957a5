/**
 * The outbox keeps its pending and failed counts as entries change (the client's snapshot reads
 * them in O(1)); whatever happens to the messages, the counts must match the entries.
 */
import fc from 'fast-check';
import { afterEach, beforeEach, expect, test, vi } from 'vitest';
import { type OutboxEntry, createOutbox } from '../../src/queue.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

type Step =
  | { kind: 'add' }
  | { kind: 'fail' | 'retry' | 'discard' | 'ack'; pick: number }
  | { kind: 'online' | 'offline' }
  | { kind: 'wait'; ms: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.constant({ kind: 'add' as const }),
  fc.record({ kind: fc.constantFrom('fail' as const, 'retry' as const, 'discard' as const, 'ack' as const), pick: fc.nat() }),
  fc.constantFrom({ kind: 'online' as const }, { kind: 'offline' as const }),
  fc.record({ kind: fc.constant('wait' as const), ms: fc.integer({ min: 1, max: 3000 }) }),
);

const stored = (tempId: string, status: OutboxEntry['status']): OutboxEntry => ({
  tempId,
  conversationId: 'U1',
  message: { type: 'text', text: tempId },
  createdAt: 0,
  expiresAt: Number.MAX_SAFE_INTEGER,
  status,
  ...(status === 'failed' && { error: { code: 'ack_timeout' as const, message: 'no ack' } }),
});

test('pending and failed counts equal what the entries say after every change, restored entries included', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(fc.constantFrom<OutboxEntry['status']>('pending', 'failed'), { maxLength: 4 }), fc.array(step, { maxLength: 40 }), async (restoredStatuses, steps) => {
      const storage = { load: () => restoredStatuses.map((status, index) => stored(`r${index}`, status)), save: () => {} };
      // Short ack timeout and TTL, so that waiting fails messages as well.
      const outbox = createOutbox({ storage, maxSize: 1000, ackTimeoutMs: 500, maxRetries: 1, ttlMs: 4000 }, () => {}, () => {});
      const check = () => {
        const entries = outbox.entries_();
        const failed = entries.filter((entry) => entry.status === 'failed').length;
        expect(outbox.counts_()).toEqual([entries.length - failed, failed]);
      };
      outbox.activate_();
      await outbox.restore_();
      check();
      let next = 0;
      const pick = (n: number) => {
        const entries = outbox.entries_();
        return entries.length === 0 ? 'none' : entries[n % entries.length]!.tempId;
      };
      for (const s of steps) {
        switch (s.kind) {
          case 'add':
            outbox.add_('U1', { type: 'text', text: 'x' }, `t${next++}`).catch(() => {});
            break;
          case 'fail':
            outbox.fail_(pick(s.pick), 'server_error', 'refused');
            break;
          case 'retry':
            if (outbox.entries_().length > 0) outbox.retry_(pick(s.pick)).catch(() => {});
            break;
          case 'discard':
            outbox.discard_(pick(s.pick));
            break;
          case 'ack': {
            // A late ack settles a failed message as well.
            const tempId = pick(s.pick);
            outbox.ack_({ tempId, conversationId: 'U1', seq: 1, adminId: 'op', message: { type: 'text', text: 'x' }, timestamp: '' });
            break;
          }
          case 'online':
            outbox.online_(() => {});
            break;
          case 'offline':
            outbox.online_();
            break;
          case 'wait':
            vi.advanceTimersByTime(s.ms);
            break;
        }
        check();
      }
      outbox.deactivate_(undefined);
    }),
    { numRuns: 300 },
  );
});
