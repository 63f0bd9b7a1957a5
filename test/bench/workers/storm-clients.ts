/**
 * The reconnect storm's operators: `count` LiveChatClients (the SDK as an app runs it, over `ws`)
 * in one process, spread over `rooms` conversations. The orchestrator restarts the server under
 * them; this process counts every connection attempt (a counting WebSocket constructor), notes
 * when each client is back and rejoined (its own `operator_joined` arrives again), sends messages
 * while the server is down (they wait in the outbox), and at the end checks that every client holds
 * every message of its conversation exactly once, in seq order, with no gap.
 */
import { performance } from 'node:perf_hooks';
import { WebSocket } from 'ws';
import { TokenAuthority } from '../../../examples/server/src/auth.js';
import type { LiveChatClient, WebSocketConstructor } from '../../../src/index.js';
import { loadSdk } from '../lib/build.js';
import { childMain, until, type Message } from '../lib/proc.js';
import { percentile } from '../lib/stats.js';

export interface StormSetup extends Message {
  type: 'setup';
  url: string;
  count: number;
  rooms: number;
  secret: string;
  /** `jitter`: the SDK's default backoff (full jitter); `fixed`: the same 1 s delay for everyone (no jitter), for contrast. */
  strategy: 'jitter' | 'fixed';
}

export interface StormResult extends Message {
  type: 'result';
  /** From the mark (just before the server was stopped) until every client was back and rejoined. */
  allBackMs: number;
  /** Same, from the moment the new server was ready. */
  backAfterReadyMs: number;
  /** The median client's time back after the mark. */
  p50BackMs: number;
  attempts: number;
  /** Most connection attempts in any one-second window. */
  peakPerSecond: number;
  /** Most attempts in any 100 ms slice, scaled to a rate. */
  peak100msPerSecond: number;
  sent: number;
  acked: number;
  /** Messages a client should hold but does not (summed over clients). */
  missing: number;
  duplicates: number;
  failed: number;
  stillDown: number;
}

const { ExponentialBackoffStrategy, FixedIntervalStrategy, LiveChatClient: Client } = await loadSdk();

let setup: StormSetup;
const clients: LiveChatClient[] = [];
const adminIds: string[] = [];
let attemptTimes: number[] = [];
let markAt = 0;
/** performance.now() when each client was last seen rejoined after the mark. */
let rejoinedAt: number[] = [];
let sent = 0;
let acked = 0;
let failed = 0;
/** Messages expected per room: every send that was acked. */
const perRoom = new Map<string, number>();

class CountingWebSocket extends WebSocket {
  constructor(url: string) {
    super(url, { perMessageDeflate: false });
    attemptTimes.push(performance.now());
  }
}

function room(index: number): string {
  return `U-storm-${index % setup.rooms}`;
}

async function sendFrom(index: number, text: string): Promise<void> {
  sent++;
  try {
    await clients[index]!.sendMessage(room(index), text);
    acked++;
    perRoom.set(room(index), (perRoom.get(room(index)) ?? 0) + 1);
  } catch {
    failed++;
  }
}

function peak(times: number[], windowMs: number): number {
  let best = 0;
  let start = 0;
  for (let end = 0; end < times.length; end++) {
    while (times[end]! - times[start]! >= windowMs) start++;
    best = Math.max(best, end - start + 1);
  }
  return best * (1000 / windowMs);
}

const { reply } = childMain(async (message) => {
  if (message.type === 'setup') {
    setup = message as StormSetup;
    const authority = new TokenAuthority(setup.secret);
    const started = performance.now();
    for (let index = 0; index < setup.count; index++) {
      const adminId = `op${index}`;
      adminIds.push(adminId);
      const token = await authority.sign({ adminId }, 3600);
      const client = new Client({
        url: setup.url,
        token,
        WebSocket: CountingWebSocket as unknown as WebSocketConstructor,
        watchEnvironment: false,
        reconnect: setup.strategy === 'fixed' ? new FixedIntervalStrategy({ intervalMs: 1000 }) : new ExponentialBackoffStrategy(),
      });
      client.on('operator_joined', ({ admin_id: joined }) => {
        if (joined === adminId && markAt) rejoinedAt[index] = performance.now();
      });
      clients.push(client);
    }
    // Connected in batches, as a fleet of consoles opening over a few seconds would be.
    for (let first = 0; first < setup.count; first += 100) {
      const batch = clients.slice(first, first + 100);
      for (const [offset, client] of batch.entries()) {
        client.connect();
        client.joinConversation(room(first + offset));
      }
      await until('a batch of clients connected', () => batch.every((client) => client.state === 'connected'), 30_000);
    }
    // Every conversation has history before the restart.
    await Promise.all(Array.from({ length: setup.rooms }, (_, index) => sendFrom(index, `before restart ${index}`)));
    reply({ type: 'ready', connectMs: performance.now() - started, connected: clients.filter((client) => client.state === 'connected').length });
  } else if (message.type === 'mark') {
    attemptTimes = [];
    rejoinedAt = new Array<number>(setup.count).fill(0);
    markAt = performance.now();
    reply({ type: 'marked' });
  } else if (message.type === 'send-while-down') {
    // One message per conversation while the server is away: queued in each sender's outbox.
    const sends = Array.from({ length: setup.rooms }, (_, index) => sendFrom(setup.count - 1 - index, `during restart ${index}`));
    reply({ type: 'sending', count: sends.length });
    await Promise.all(sends);
  } else if (message.type === 'await-recovery') {
    const readyAt = performance.now() - (message.sinceReadyMs as number);
    const timeoutMs = message.timeoutMs as number;
    await until('every client back and rejoined', () => rejoinedAt.every((at) => at > 0), timeoutMs, 20).catch(() => {});
    const lastBack = Math.max(...rejoinedAt);
    await until('every message acked', () => acked + failed === sent, timeoutMs, 20).catch(() => {});
    // Then every client must hold every message of its room: replayed or received live.
    const complete = () =>
      clients.every((client, index) => client.conversation(room(index)).getSnapshot().messages.filter((m) => m.status === 'sent').length >= (perRoom.get(room(index)) ?? 0));
    await until('every message at every client', complete, timeoutMs, 50).catch(() => {});
    let missing = 0;
    let duplicates = 0;
    for (const [index, client] of clients.entries()) {
      const seqs = client
        .conversation(room(index))
        .getSnapshot()
        .messages.filter((m) => m.status === 'sent')
        .map((m) => m.seq ?? -1);
      const expected = perRoom.get(room(index)) ?? 0;
      const distinct = new Set(seqs);
      duplicates += seqs.length - distinct.size;
      for (let seq = 1; seq <= expected; seq++) if (!distinct.has(seq)) missing++;
    }
    const times = attemptTimes.map((at) => at - markAt);
    reply({
      type: 'result',
      allBackMs: lastBack > 0 && rejoinedAt.every((at) => at > 0) ? lastBack - markAt : NaN,
      backAfterReadyMs: lastBack > 0 && rejoinedAt.every((at) => at > 0) ? lastBack - readyAt : NaN,
      p50BackMs: percentile(rejoinedAt.filter((at) => at > 0).map((at) => at - markAt), 50),
      attempts: times.length,
      peakPerSecond: peak(times, 1000),
      peak100msPerSecond: peak(times, 100),
      sent,
      acked,
      missing,
      duplicates,
      failed,
      stillDown: clients.filter((client) => client.state !== 'connected').length,
    } satisfies StormResult);
  } else if (message.type === 'close') {
    for (const client of clients) client.disconnect();
    reply({ type: 'closed' });
    setTimeout(() => process.exit(0), 50);
  }
});
