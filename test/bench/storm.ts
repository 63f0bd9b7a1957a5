/**
 * Section 5: reconnect storm. 2,000 of our clients (the SDK, one process) connected to the
 * reference server (another process, SQLite file), spread over 100 conversations with history.
 * The server restarts: SIGTERM (every socket closed with 1001 "going away"), a new process on the
 * same port and database. While it is down, one operator per conversation sends a message (it
 * waits in the outbox). Measured: time until every client is back and rejoined, connection
 * attempts per second (the jitter should spread them), and every message of every conversation at
 * every client, exactly once.
 */
import { LIVE_CHAT_PATH } from '../../examples/server/src/gateway.js';
import { Child } from './lib/proc.js';
import { freePort } from '../support/ports.js';
import { type Context, type SectionResult, runIfMain, table } from './lib/section.js';
import { count, fixed, spread, summarize } from './lib/stats.js';
import { benchSecret } from './client-overhead.js';
import type { StormResult } from './workers/storm-clients.js';

interface StormRun extends StormResult {
  downMs: number;
  strategy: string;
}

async function stormRun(context: Context, strategy: 'jitter' | 'fixed', clients: number, rooms: number, round: number): Promise<StormRun> {
  const port = await freePort();
  const config = JSON.stringify({ jwtSecret: benchSecret, databasePath: `${context.scratch}/storm-${strategy}-${round}.sqlite`, port });
  const start = () => Child.start('servers/reference.ts', [], { env: { BENCH_SERVER_CONFIG: config }, lifetimeMs: 300_000 });
  let server = start();
  const fleet = Child.start('workers/storm-clients.ts', [], { env: { BENCH_CLIENT_MODULE: context.bundle }, lifetimeMs: 300_000 });
  try {
    await server.wait('ready', 30_000);
    await fleet.request(
      { type: 'setup', url: `ws://127.0.0.1:${port}${LIVE_CHAT_PATH}`, count: clients, rooms, secret: benchSecret, strategy },
      'ready',
      120_000,
    );
    await fleet.request({ type: 'mark' }, 'marked', 10_000);
    const stoppedAt = Date.now();
    await server.stop('SIGTERM', 15_000);
    await fleet.request({ type: 'send-while-down' }, 'sending', 10_000);
    server = start();
    await server.wait('ready', 30_000);
    const downMs = Date.now() - stoppedAt;
    const result = await fleet.request<StormResult>({ type: 'await-recovery', sinceReadyMs: 0, timeoutMs: 90_000 }, 'result', 200_000);
    await fleet.request({ type: 'close' }, 'closed', 20_000);
    return { ...result, downMs, strategy };
  } finally {
    await fleet.stop('SIGKILL');
    await server.stop();
  }
}

export async function stormSection(context: Context): Promise<SectionResult> {
  const { quick } = context;
  const clients = quick ? 300 : 2000;
  const rooms = quick ? 30 : 100;
  const runs: StormRun[] = [];
  const jitterRounds = quick ? 1 : 5;
  for (let round = 0; round < jitterRounds; round++) {
    context.log(`storm: round ${round + 1}/${jitterRounds}, ${clients} clients, default backoff (full jitter)`);
    runs.push(await stormRun(context, 'jitter', clients, rooms, round));
  }
  for (let round = 0; round < (quick ? 0 : 2); round++) {
    context.log(`storm: round ${round + 1}/2, ${clients} clients, fixed 1 s retry (no jitter), for contrast`);
    runs.push(await stormRun(context, 'fixed', clients, rooms, round));
  }
  const row = (label: string, of: StormRun[]) => [
    label,
    String(of.length),
    spread(summarize(of.map((run) => run.downMs / 1000)), (value) => `${fixed(value, 2)} s`),
    spread(summarize(of.map((run) => run.backAfterReadyMs / 1000)), (value) => `${fixed(value, 2)} s`),
    spread(summarize(of.map((run) => run.p50BackMs / 1000)), (value) => `${fixed(value, 2)} s`),
    spread(summarize(of.map((run) => run.allBackMs / 1000)), (value) => `${fixed(value, 2)} s`),
    spread(summarize(of.map((run) => run.attempts)), count),
    spread(summarize(of.map((run) => run.peakPerSecond)), count),
    spread(summarize(of.map((run) => run.peak100msPerSecond)), count),
    `${of.reduce((sum, run) => sum + run.acked, 0)}/${of.reduce((sum, run) => sum + run.sent, 0)}`,
    String(of.reduce((sum, run) => sum + run.missing + run.duplicates + run.failed + run.stillDown, 0)),
  ];
  const jitter = runs.filter((run) => run.strategy === 'jitter');
  const fixedRuns = runs.filter((run) => run.strategy === 'fixed');
  const rows = [row('**default: exponential backoff, full jitter**', jitter), ...(fixedRuns.length ? [row('fixed 1 s, no jitter (contrast)', fixedRuns)] : [])];
  const lost = jitter.reduce((sum, run) => sum + run.missing + run.duplicates + run.failed, 0);
  const allBack = summarize(jitter.map((run) => run.allBackMs / 1000));
  const peak100 = summarize(jitter.map((run) => run.peak100msPerSecond));
  const behind: string[] = [];
  if (lost > 0 || jitter.some((run) => run.stillDown > 0)) {
    behind.push(`Reconnect storm: ${lost} messages missing, duplicated or failed; ${jitter.reduce((sum, run) => sum + run.stillDown, 0)} clients not back in time.`);
  }
  const fixedBack = fixedRuns.length ? summarize(fixedRuns.map((run) => run.allBackMs / 1000)) : undefined;
  if (fixedBack && fixedBack.median < allBack.median) {
    behind.push(
      `Reconnect storm: full jitter spreads the attempts (peak ${count(peak100.median)}/s in any 100 ms vs ` +
        `${count(summarize(fixedRuns.map((run) => run.peak100msPerSecond)).median)}/s without jitter) but takes longer until the last client is back ` +
        `(${fixed(allBack.median, 1)} s vs ${fixed(fixedBack.median, 1)} s): attempts made while the server is still down push the unlucky ` +
        'clients into the doubled windows (0–2 s, 0–4 s). A restart that takes longer than the first window meets a second, wider one.',
    );
  }
  return {
    title: 'Reconnect storm',
    markdown: [
      `${count(clients)} clients over ${rooms} conversations (each with history), one process; the reference server restarts under them ` +
        '(SIGTERM: graceful close with 1001; a new process on the same port and SQLite file). While it is down, one operator per conversation sends a message. ' +
        '"Down": from the stop until the new process listens. "Back": every client authenticated again and rejoined (its own `operator_joined` arrived); ' +
        'times from the moment the new server was ready and from the stop. Attempts: every WebSocket the clients created after the stop; ' +
        'peaks over any 1 s window and any 100 ms window (as a rate). "Lost" counts messages missing or duplicated at any client ' +
        '(each must hold every message of its conversation exactly once, seq 1..n), sends that failed, and clients not back after 90 s.',
      '',
      table(
        ['reconnect strategy', 'runs', 'down', 'all back after ready', 'median client back after stop', 'all back after stop', 'attempts', 'peak attempts/s (1 s)', 'peak attempts/s (100 ms)', 'acked', 'lost'],
        rows,
      ),
    ].join('\n'),
    summary: [
      { metric: `Reconnect storm (${count(clients)} clients): all back and rejoined after the stop`, value: spread(allBack, (value) => `${fixed(value, 1)} s`) },
      { metric: '  peak connection attempts per second (100 ms window)', value: spread(peak100, count) },
      { metric: '  messages lost or duplicated', value: String(lost), goal: '0', met: lost === 0 },
    ],
    behind,
  };
}

await runIfMain(import.meta.url, stormSection);
