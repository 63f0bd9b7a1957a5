/**
 * Section 2: client overhead. One client and one server, each in its own process on 127.0.0.1.
 *
 * A. Against bare echo servers (the server does the least it can), so what differs is the client:
 *    sequential send→ack latency, pipelined throughput (a window of messages in flight) and the
 *    CPU the client process spends per message, for our client, a hand-written client on bare `ws`
 *    (the floor), the same hand-written client over partysocket, and socket.io-client (emit answered
 *    by an event, and emit with an ack callback).
 * B. The pending-ack lookup: the same, with thousands of messages parked un-acked first.
 * C. Through real servers: our client through the reference server with its SQLite storage, vs
 *    socket.io emit-with-ack on an in-memory store.
 */
import { LIVE_CHAT_PATH } from '../../examples/server/src/gateway.js';
import { randomUUID } from 'node:crypto';
import { TokenAuthority } from '../../examples/server/src/auth.js';
import { SqliteStore } from '../../examples/server/src/store/sqlite.js';
import { createIdMaker } from '../../src/ids.js';
import { Child } from './lib/proc.js';
import { type ProfileSummary, profileMarkdown, summarizeProfile } from './lib/profile.js';
import { type Context, type Section, type SectionResult, rotate, runIfMain, table } from './lib/section.js';
import { count, fixed, median, ratio, ratios, spread, summarize } from './lib/stats.js';
import type { ClientResult, ClientRun, LevelResult } from './workers/client.js';

export const benchSecret = 'benchmark-secret-of-at-least-32-bytes!!';

const labels: Record<string, string> = {
  ours: '**@org/live-chat-client**',
  'ours-view': '**@org/live-chat-client**, conversation view open (keeps every message)',
  ws: 'ws (hand-written v1 client: the floor)',
  partysocket: 'partysocket (same client over it)',
  'socketio-emit': 'socket.io-client, emit + reply event',
  'socketio-ack': 'socket.io-client, emit with ack',
};

interface Counts {
  warmup: number;
  sequential: number;
  pipelined: number;
  window: number;
}

async function runClient(
  context: Context,
  run: Omit<ClientRun, 'type' | 'warmup' | 'sequential' | 'pipelined' | 'window' | 'budgetMs'>,
  counts: Counts,
  execArgv: string[] = [],
): Promise<LevelResult[]> {
  const budgetMs = context.quick ? 10_000 : 30_000;
  const child = Child.start('workers/client.ts', [], { env: { BENCH_CLIENT_MODULE: context.bundle }, execArgv, lifetimeMs: budgetMs + 60_000 });
  try {
    const result = await child.request<ClientResult>({ type: 'run', ...run, ...counts, budgetMs }, 'result', budgetMs + 30_000);
    await child.exited;
    return result.levels;
  } finally {
    await child.stop('SIGKILL');
  }
}

/**
 * What one stored message costs the reference server's SQLite store, measured in this process
 * (no sockets), with random temp_ids as clients send them: appends awaited one at a time (a
 * commit each, as a lone message gets), 100 asked for in one turn (one commit for all: the group
 * commit a pipelining client gets), and the same 100 in an in-memory database (no file: what the
 * commit's write costs by difference). CPU of the whole process, so the checkpoint worker's share
 * is in it.
 */
async function storageCosts(context: Context): Promise<{ label: string; us: number }[]> {
  const count = context.quick ? 1000 : 5000;
  const rows = [];
  for (const [label, path, perTurn, makeId] of [
    ['append, one per turn (file, WAL: a commit each)', `${context.scratch}/storage-cost.sqlite`, 1, randomUUID],
    ['append, 100 per turn (file, WAL: one commit for the 100)', `${context.scratch}/storage-cost-2.sqlite`, 100, randomUUID],
    ['append, 100 per turn (in-memory database: no file write)', ':memory:', 100, randomUUID],
    ['append, 100 per turn, time-ordered temp_ids (UUIDv7, as our client makes them)', `${context.scratch}/storage-cost-3.sqlite`, 100, createIdMaker()],
  ] as const) {
    const store = new SqliteStore(path);
    const samples = [];
    for (let round = 0; round < 3; round++) {
      const cpu = process.cpuUsage();
      for (let i = 0; i < count; i += perTurn) {
        await Promise.all(
          Array.from({ length: perTurn }, (_, k) =>
            store.appendOperatorMessage('U-storage', 'bench', makeId(), { type: 'text', text: `hello from the benchmark, message ${i + k}` }),
          ),
        );
      }
      const used = process.cpuUsage(cpu);
      samples.push((used.user + used.system) / count);
    }
    await store.close();
    rows.push({ label, us: median(samples) });
  }
  return rows;
}

function µs(ms: number): string {
  return Number.isFinite(ms) ? `${Math.round(ms * 1000)} µs` : 'n/a';
}

export interface ThroughServersOptions {
  /** Rounds (default: 1 quick, 5 full). */
  rounds?: number;
  /**
   * Another copy of `examples/server/src` (e.g. the last commit's), run as one more contender
   * beside the current tree: a before/after comparison under the same machine noise.
   */
  baselineDir?: string;
}

export interface ThroughServers {
  /** The `### C.` subsection: table, notes, storage costs. */
  markdown: string;
  summary: SectionResult['summary'];
  behind: string[];
  /** The reference server's profile under send→ack load (full runs only). */
  profile: string | undefined;
}

/** Part C: send→ack through the reference server (SQLite) vs socket.io emit-with-ack on an in-memory store. */
async function throughServers(context: Context, token: string, counts: Counts, options: ThroughServersOptions = {}): Promise<ThroughServers> {
  const { quick } = context;
  const summary: SectionResult['summary'] = [];
  const behind: string[] = [];
  const startReference = (database: string, env: Record<string, string> = {}) =>
    Child.start('servers/reference.ts', [], {
      env: {
        BENCH_SERVER_CONFIG: JSON.stringify({
          jwtSecret: benchSecret,
          databasePath: database === ':memory:' ? database : `${context.scratch}/${database}`,
          // One benchmark client sends thousands of frames per second: lift the per-connection flood limit.
          rateLimit: { perSecond: 1_000_000, burst: 1_000_000 },
        }),
        ...env,
      },
      lifetimeMs: 600_000,
    });
  const reference = startReference('client-overhead.sqlite');
  // What storage costs, and what answering costs at all: the same server on an in-memory database
  // and on a Map like the socket.io server's, and a bare `ws` server that only answers (no storage,
  // no checks, no fan-out).
  const inMemory = startReference(':memory:');
  const mapStore = startReference(':memory:', { BENCH_SERVER_STORE: 'memory' });
  const echo = Child.start('servers/peers.ts', ['ws-echo'], { lifetimeMs: 600_000 });
  const baseline = options.baselineDir ? startReference('client-overhead-baseline.sqlite', { BENCH_SERVER_DIR: options.baselineDir }) : undefined;
  const store = Child.start('servers/peers.ts', ['socketio-store'], { lifetimeMs: 600_000 });
  const durableStore = Child.start('servers/peers.ts', ['socketio-sqlite', `${context.scratch}/socketio-sqlite.sqlite`], { lifetimeMs: 600_000 });
  const referenceUrl = `ws://127.0.0.1:${await reference.port()}${LIVE_CHAT_PATH}`;
  const storeUrl = `http://127.0.0.1:${await store.port()}`;
  const durableStoreUrl = `http://127.0.0.1:${await durableStore.port()}`;
  const inMemoryUrl = `ws://127.0.0.1:${await inMemory.port()}${LIVE_CHAT_PATH}`;
  const mapStoreUrl = `ws://127.0.0.1:${await mapStore.port()}${LIVE_CHAT_PATH}`;
  const echoUrl = `ws://127.0.0.1:${await echo.port()}`;
  const cContenders: { key: string; peer: string; url: string; label: string; join?: false }[] = [
    { key: 'ours', peer: 'ours', url: referenceUrl, label: '**@org/live-chat-client → reference server (SQLite)**' },
    { key: 'ws', peer: 'ws', url: referenceUrl, label: 'ws hand-written client → reference server (SQLite)' },
    { key: 'socketio', peer: 'socketio-ack', url: storeUrl, label: 'socket.io-client emit with ack → socket.io, in-memory store' },
    { key: 'socketio-sqlite', peer: 'socketio-ack', url: durableStoreUrl, label: 'socket.io-client emit with ack → socket.io on our SQLite store (as durable as ours)' },
    { key: 'ours-memory', peer: 'ours', url: inMemoryUrl, label: '@org/live-chat-client → reference server, in-memory SQLite database (not durable: for comparison)' },
    { key: 'ours-map', peer: 'ours', url: mapStoreUrl, label: "@org/live-chat-client → reference server, a Map for its store like socket.io's (not durable: for comparison)" },
    { key: 'ws-echo', peer: 'ws', url: echoUrl, label: 'ws hand-written client → bare `ws` server that only answers (the floor)', join: false },
  ];
  if (baseline) {
    const baselineUrl = `ws://127.0.0.1:${await baseline.port()}${LIVE_CHAT_PATH}`;
    cContenders.push(
      { key: 'ours-baseline', peer: 'ours', url: baselineUrl, label: `@org/live-chat-client → baseline server (\`${options.baselineDir}\`)` },
      { key: 'ws-baseline', peer: 'ws', url: baselineUrl, label: 'ws hand-written client → baseline server' },
    );
  }
  const cRounds = options.rounds ?? (quick ? 1 : 5);
  const c = new Map<string, LevelResult[]>(cContenders.map(({ key }) => [key, []]));
  const cCounts: Counts = quick ? counts : { ...counts, pipelined: 10_000 };
  for (let round = 0; round < cRounds; round++) {
    for (const contender of rotate(cContenders, round)) {
      context.log(`client C: round ${round + 1}/${cRounds} ${contender.key}`);
      const [result] = await runClient(
        context,
        { peer: contender.peer, url: contender.url, token, room: `U-ref-${round}-${contender.key}`, join: contender.join ?? true, held: [0] },
        cCounts,
      );
      c.get(contender.key)!.push(result!);
    }
  }
  /** Per round, `key`'s `field` over `base`'s, summarized. */
  const versus = (key: string, base: string, field: 'p50' | 'perSecond') =>
    ratios(c.get(key)!.map((run) => run[field]), c.get(base)!.map((run) => run[field]));
  const cRows = cContenders.map(({ key, label }) => {
    const runs = c.get(key)!;
    return [
      label,
      spread(summarize(runs.map((run) => run.p50)), µs),
      spread(summarize(runs.map((run) => run.p99)), µs),
      spread(summarize(runs.map((run) => run.perSecond)), count),
      ratio(versus(key, 'socketio', 'p50')),
      ratio(versus(key, 'socketio', 'perSecond')),
    ];
  });
  const p50Of = (key: string) => summarize(c.get(key)!.map((run) => run.p50)).median;
  const µsOf = (key: string) => µs(p50Of(key));
  context.log('client C: SQLite store cost per message (in-process)');
  const storage = await storageCosts(context);
  const latencyVsSocketIo = versus('ours', 'socketio', 'p50');
  const rateVsSocketIo = versus('ours', 'socketio', 'perSecond');
  const mapVsSocketIo = versus('ours-map', 'socketio', 'p50');
  const latencyVsDurable = versus('ours', 'socketio-sqlite', 'p50');
  const rateVsDurable = versus('ours', 'socketio-sqlite', 'perSecond');
  summary.push(
    { metric: 'send→ack p50 through our server (SQLite) vs socket.io emit-with-ack (memory)', value: ratio(latencyVsSocketIo), goal: '≤ 1.00×', met: latencyVsSocketIo.median <= 1 },
    { metric: "  same, our server on a Map like socket.io's store (not durable)", value: ratio(mapVsSocketIo) },
    { metric: '  ours vs socket.io on our SQLite store (both durable): p50', value: ratio(latencyVsDurable) },
    { metric: '  ours vs socket.io on our SQLite store (both durable): throughput', value: ratio(rateVsDurable) },
    { metric: 'Pipelined send→ack throughput, same comparison', value: ratio(rateVsSocketIo), goal: '≥ 1.00×', met: rateVsSocketIo.median >= 1 },
  );

  let profile: string | undefined;
  /** The server's busy CPU per message in each profile: a burst, and one message at a time. */
  const busyUs = { burst: NaN, lone: NaN };
  /** Shares of the one-at-a-time profile: the socket write, and SQLite's BEGIN/COMMIT. */
  const loneShares = { write: NaN, commit: NaN };
  if (!quick) {
    // The reference server (warm from the rounds above) under our client's send→ack load: a
    // pipelined burst, then the same messages one at a time. No client warm-up, so that the
    // profile holds these messages only and its busy time divides by their count.
    const profiles: string[] = [];
    for (const [phase, phaseCounts] of [
      ['burst', { ...cCounts, warmup: 0, sequential: 0 }],
      ['lone', { ...cCounts, warmup: 0, sequential: 2000, pipelined: 0 }],
    ] as const) {
      const file = `${context.scratch}/reference-server-send-ack-${phase}.cpuprofile`;
      context.log(`client: profiling the reference server under send→ack load (${phase})`);
      await reference.request({ type: 'profile-start' }, 'profiling', 10_000);
      await runClient(context, { peer: 'ours', url: referenceUrl, token, room: `U-profile-${phase}`, join: true, held: [0] }, phaseCounts);
      await reference.request({ type: 'profile-stop', file }, 'profiled', 30_000);
      const messages = phaseCounts.pipelined + phaseCounts.sequential;
      const summary = summarizeProfile(file, 12);
      busyUs[phase] = (summary.busyMs * 1000) / messages;
      if (phase === 'lone') {
        const share = (test: (entry: (typeof summary.top)[number]) => boolean) =>
          summary.top.filter(test).reduce((sum, entry) => sum + entry.percent, 0);
        loneShares.write = share(({ name }) => name === 'writev' || name === 'writeBuffer' || name === 'writeUtf8String');
        loneShares.commit = share(({ name, where }) => name === 'run' && where.includes('transaction.js'));
      }
      const title =
        phase === 'burst'
          ? `Reference server process, ${count(messages)} pipelined send→ack from our client (${fixed(busyUs.burst, 0)} µs busy per message)`
          : `Reference server process, ${count(messages)} send→ack one at a time (${fixed(busyUs.lone, 0)} µs busy per message)`;
      profiles.push(profileMarkdown(title, summary));
    }
    profile = profiles.join('\n\n');
  }
  await reference.stop();
  await inMemory.stop();
  await mapStore.stop();
  await echo.stop();
  await store.stop();
  await durableStore.stop();
  await baseline?.stop();

  if (latencyVsSocketIo.median > 1 || rateVsSocketIo.median < 1) {
    behind.push(
      `Through the server: our send→ack p50 is ${ratio(latencyVsSocketIo)} and our pipelined throughput ${ratio(rateVsSocketIo)} socket.io's emit-with-ack on its in-memory store. ` +
        'The server sets this pace, not the client (the hand-written `ws` client is no faster through it), and within the server, its storage does. ' +
        `On a Map like socket.io's store, the same server and client answer in ${µsOf('ours-map')} p50, ${ratio(mapVsSocketIo)} socket.io's ${µsOf('socketio')} ` +
        `(a bare \`ws\` server that only answers: ${µsOf('ws-echo')}). SQLite adds the rest: ${µsOf('ours-memory')} on an in-memory database ` +
        `(its statements and transaction) and ${µsOf('ours')} on the file (the write to the WAL and the file locks around it). ` +
        "Every message is committed before its ack, so that an acked message survives a crash of the server; socket.io's store pushes to an array. " +
        `Given the same store (socket.io on our SQLite store, committing before it acks), socket.io answers in ${µsOf('socketio-sqlite')} p50: ` +
        `ours is ${ratio(latencyVsDurable)} its p50 and ${ratio(rateVsDurable)} its throughput. ` +
        `A lone message pays a whole commit (${fixed(storage[0]!.us, 0)} µs of CPU per append awaited one at a time); ` +
        `the appends of one event-loop turn share one (${fixed(storage[1]!.us, 0)} µs each in a turn of 100 with random temp_ids, ` +
        `${fixed(storage[3]!.us, 0)} µs with time-ordered ones like our client's, ${fixed(storage[2]!.us, 0)} µs on an in-memory database): hence the throughput above. ` +
        'On the server\'s database, which grows through the run, random temp_ids land on dedup-index pages all over it and each commit writes more pages: ' +
        'that is why the hand-written client, with random UUIDs, is slower through the server than ours, which makes time-ordered ids. ' +
        (Number.isFinite(busyUs.lone)
          ? `The two server profiles below spend ${fixed(busyUs.burst, 0)} µs of busy CPU per message in a burst and ${fixed(busyUs.lone, 0)} µs one at a time ` +
            `(profiled, so more than unprofiled), most of it in system calls: the socket write (${fixed(loneShares.write, 0)}% of the one-at-a-time profile, ` +
            `paid by the bare server and socket.io as well) and SQLite's commit (${fixed(loneShares.commit, 0)}%), which a burst shares. `
          : '') +
        (latencyVsSocketIo.median > 1 ? 'Closing the p50 gap would take acking before the commit, which the delivery guarantee rules out. ' : '') +
        "Taking `conversation_updated` out, SQLite's exclusive locking mode or 1 KB pages changed nothing measurable in trials.",
    );
  }

  const markdown = [
    `### C. Through real servers: our reference server with SQLite vs socket.io with an in-memory store`,
    '',
    `${cRounds} round(s), ${count(cCounts.pipelined)} pipelined messages each, clients joined to the conversation first. The reference server runs as \`npm start\` does ` +
      '(SQLite file, WAL) with one change: the per-connection rate limit (20/s) is lifted, or a benchmark client would be cut off as a flood. ' +
      'The socket.io server keeps a seq per conversation and a dedup map in memory and acks (`servers/peers.ts`, `socketio-store`). ' +
      'More rows put them in context: socket.io on our SQLite store (`socketio-sqlite`: as durable as ours, so like for like); ' +
      'the reference server on an in-memory SQLite database and on a Map like the socket.io server\'s ' +
      '(`servers/memory-store.ts`): what durability costs, neither a configuration to run; and a bare `ws` server that only answers ' +
      '(the floor of any server on this machine).',
    '',
    table(['client → server', 'send→ack p50', 'p99', 'pipelined msg/s', 'p50 vs socket.io', 'msg/s vs socket.io'], cRows),
    '',
    'What one message costs the reference server\'s SQLite store alone (CPU µs per message, in the orchestrator process, median of 3 × ' +
      `${count(quick ? 1000 : 5000)} appends):`,
    '',
    table(['store operation', 'CPU µs / message'], storage.map(({ label, us }) => [label, fixed(us, 1)])),
  ].join('\n');
  return { markdown, summary, behind, profile };
}

export async function clientSection(context: Context): Promise<SectionResult> {
  const { quick } = context;
  const rounds = quick ? 1 : 7;
  const counts: Counts = quick
    ? { warmup: 300, sequential: 300, pipelined: 2000, window: 100 }
    : { warmup: 2000, sequential: 2000, pipelined: 20_000, window: 100 };
  const authority = new TokenAuthority(benchSecret);
  const token = await authority.sign({ adminId: 'bench-operator' }, 3600);
  const behind: string[] = [];
  const summary: SectionResult['summary'] = [];

  const wsEcho = Child.start('servers/peers.ts', ['ws-echo']);
  const socketIoEcho = Child.start('servers/peers.ts', ['socketio-echo']);
  const wsEchoUrl = `ws://127.0.0.1:${await wsEcho.port()}`;
  const socketIoEchoUrl = `http://127.0.0.1:${await socketIoEcho.port()}`;
  const echoUrl = (peer: string) => (peer.startsWith('socketio') ? socketIoEchoUrl : wsEchoUrl);

  // --- A: against the echo servers -----------------------------------------------------------
  const contenders = ['ws', 'ours', 'ours-view', 'partysocket', 'socketio-emit', 'socketio-ack'];
  const a = new Map<string, LevelResult[]>(contenders.map((peer) => [peer, []]));
  for (let round = 0; round < rounds; round++) {
    for (const peer of rotate(contenders, round)) {
      context.log(`client A: round ${round + 1}/${rounds} ${peer}`);
      const [result] = await runClient(context, { peer, url: echoUrl(peer), token, room: 'U-bench', join: false, held: [0] }, counts);
      a.get(peer)!.push(result!);
    }
  }
  const floor = a.get('ws')!;
  const aRows = contenders.map((peer) => {
    const runs = a.get(peer)!;
    const pick = (key: keyof LevelResult) => runs.map((run) => run[key] as number);
    return [
      labels[peer]!,
      spread(summarize(pick('p50')), µs),
      spread(summarize(pick('p99')), µs),
      spread(summarize(pick('perSecond')), count),
      spread(summarize(pick('pipeCpuUs')), (value) => fixed(value, 1)),
      ratio(ratios(pick('pipeCpuUs'), floor.map((run) => run.pipeCpuUs))),
      ratio(ratios(pick('perSecond'), floor.map((run) => run.perSecond))),
      ratio(ratios(pick('p50'), floor.map((run) => run.p50))),
    ];
  });
  const ours = a.get('ours')!;
  const cpuRatio = ratios(ours.map((run) => run.pipeCpuUs), floor.map((run) => run.pipeCpuUs));
  const rateRatio = ratios(ours.map((run) => run.perSecond), floor.map((run) => run.perSecond));
  summary.push(
    { metric: 'Client CPU per message vs raw ws (echo server)', value: ratio(cpuRatio), goal: '≤ 1.10×', met: cpuRatio.median <= 1.1 },
    { metric: 'Client throughput vs raw ws (echo server)', value: ratio(rateRatio), goal: '≥ 0.90×', met: rateRatio.median >= 0.9 },
  );
  for (const peer of ['ours-view', 'partysocket', 'socketio-emit', 'socketio-ack']) {
    const runs = a.get(peer)!;
    summary.push({ metric: `  ${peer === 'ours-view' ? 'ours with the conversation view open,' : peer} CPU per message vs raw ws`, value: ratio(ratios(runs.map((run) => run.pipeCpuUs), floor.map((run) => run.pipeCpuUs))) });
  }

  // --- B: pending acks -------------------------------------------------------------------------
  const levels = quick ? [0, 500] : [0, 1000, 5000];
  const bContenders = ['ws', 'ours', 'socketio-ack'];
  const bRounds = quick ? 1 : 3;
  const bCounts: Counts = quick ? counts : { ...counts, pipelined: 10_000, sequential: 1000 };
  // One fresh process per level (same warm-up for each), compared with the level-0 run of the same round.
  const b = new Map<string, LevelResult[][]>(bContenders.map((peer) => [peer, []]));
  for (let round = 0; round < bRounds; round++) {
    for (const peer of rotate(bContenders, round)) {
      context.log(`client B: round ${round + 1}/${bRounds} ${peer} with ${levels.join(' / ')} parked`);
      const byLevel: LevelResult[] = [];
      for (const held of rotate(levels, round)) {
        const [result] = await runClient(context, { peer, url: echoUrl(peer), token, room: 'U-bench', join: false, held: [held] }, bCounts);
        byLevel[levels.indexOf(held)] = result!;
      }
      b.get(peer)!.push(byLevel);
    }
  }
  const bRows: string[][] = [];
  for (const peer of bContenders) {
    for (const [index, held] of levels.entries()) {
      const runs = b.get(peer)!;
      const cpu = runs.map((levelsOfRun) => levelsOfRun[index]!.pipeCpuUs);
      const base = runs.map((levelsOfRun) => levelsOfRun[0]!.pipeCpuUs);
      bRows.push([
        index === 0 ? labels[peer]! : '',
        count(held),
        spread(summarize(cpu), (value) => fixed(value, 1)),
        index === 0 ? '1.00×' : ratio(ratios(cpu, base)),
        spread(summarize(runs.map((levelsOfRun) => levelsOfRun[index]!.perSecond)), count),
        spread(summarize(runs.map((levelsOfRun) => levelsOfRun[index]!.p50)), µs),
      ]);
    }
  }
  const oursB = b.get('ours')!;
  const slowdown = ratios(oursB.map((run) => run[run.length - 1]!.pipeCpuUs), oursB.map((run) => run[0]!.pipeCpuUs));
  summary.push({
    metric: `Our CPU per message with ${count(levels[levels.length - 1]!)} acks pending vs none`,
    value: ratio(slowdown),
    goal: 'flat (≤ 1.2×)',
    met: slowdown.median <= 1.2,
  });
  if (slowdown.median > 1.2) behind.push(`Pending acks: our CPU per message grows ${ratio(slowdown)} with ${levels[levels.length - 1]} messages awaiting their ack.`);

  await wsEcho.stop();
  await socketIoEcho.stop();

  // --- C: through real servers -----------------------------------------------------------------
  const through = await throughServers(context, token, counts);
  summary.push(...through.summary);
  behind.push(...through.behind);

  // --- Profiles: where the time goes (the measured phase only) -----------------------------------
  const profiles: string[] = [];
  const clientProfiles = new Map<string, ReturnType<typeof summarizeProfile>>();
  if (!quick) {
    const wsEchoForProfile = Child.start('servers/peers.ts', ['ws-echo']);
    const url = `ws://127.0.0.1:${await wsEchoForProfile.port()}`;
    for (const peer of ['ours', 'ws']) {
      const file = `${context.scratch}/client-${peer}.cpuprofile`;
      context.log(`client: profiling ${peer}`);
      await runClient(context, { peer, url, token, room: 'U-bench', join: false, held: [0], profile: file }, { ...counts, sequential: 0 });
      const summary = summarizeProfile(file, 12);
      clientProfiles.set(peer, summary);
      profiles.push(profileMarkdown(`Client process, ${peer}, ${count(counts.pipelined)} pipelined messages against the echo server`, summary));
    }
    await wsEchoForProfile.stop();
    if (through.profile) profiles.push(through.profile);
  }

  if (cpuRatio.median > 1.1 || rateRatio.median < 0.9) {
    behind.push(
      `Client overhead: our client spends ${ratio(cpuRatio)} the CPU per message of the hand-written \`ws\` floor, at ${ratio(rateRatio)} its throughput ` +
        '(goal ≤ 1.10× / ≥ 0.90×). The floor only matches an ack to a callback; ours also validates each inbound frame, keeps each message in its ' +
        'outbox until the ack (entry, Promise, one shared deadline timer) and emits delivery updates. ' +
        gcNote(clientProfiles.get('ours'), clientProfiles.get('ws')) +
        'See the client profiles below.',
    );
  }
  const markdown = [
    `### A. Against an echo server (the client's own cost)`,
    '',
    `${rounds} round(s); in each, every contender runs once in a fresh process (order rotated) against the same echo server process: ` +
      `${count(counts.warmup)} warm-up messages, then ${count(counts.sequential)} sequential send→ack (latency), then ${count(counts.pipelined)} pipelined ` +
      `with ${counts.window} in flight (throughput, CPU per message from \`process.cpuUsage()\` of the client process). ` +
      'Ratios are per round against the `ws` floor of the same round, then the median (min–max over rounds). ' +
      'All v1 clients send the same frames (`message_send` with a UUID `temp_id` and an ISO timestamp); socket.io uses the WebSocket transport only.',
    '',
    table(['client', 'send→ack p50', 'p99', 'pipelined msg/s', 'CPU µs/msg', 'CPU/msg vs ws', 'msg/s vs ws', 'p50 vs ws'], aRows),
    '',
    `### B. Does the pending-ack lookup slow down as more messages wait?`,
    '',
    `Messages the echo server never acks are parked first (${levels.map(count).join(', ')}), then the same measurement runs beside them; ` +
      'each level in a fresh process with the same warm-up (levels in rotated order), compared with the no-pending run of the same round. ' +
      `Our client was given \`queue: { maxSize: 20000 }\` (the default bound is 500). ${bRounds} round(s).`,
    '',
    table(['client', 'acks pending', 'CPU µs/msg', 'vs none pending', 'pipelined msg/s', 'send→ack p50'], bRows),
    '',
    through.markdown,
    ...(profiles.length ? ['', '### Profiles', '', ...profiles.flatMap((profile) => [profile, ''])] : []),
  ].join('\n');
  return { title: 'Client overhead', markdown, summary, behind };
}

/**
 * Part C alone (`npm run bench -- --only server-ack`): send→ack through the reference server vs
 * socket.io, with the SQLite store costs and, in a full run, the server's profile. Not in the
 * default run (the client section includes it).
 */
export function serverAckSection(options: ThroughServersOptions = {}): Section {
  return async (context) => {
    const token = await new TokenAuthority(benchSecret).sign({ adminId: 'bench-operator' }, 3600);
    const counts: Counts = context.quick
      ? { warmup: 300, sequential: 300, pipelined: 2000, window: 100 }
      : { warmup: 2000, sequential: 2000, pipelined: 20_000, window: 100 };
    const through = await throughServers(context, token, counts, options);
    const markdown = [through.markdown, ...(through.profile ? ['', '### Profile', '', through.profile] : [])].join('\n');
    return { title: 'Send→ack through the servers', markdown, summary: through.summary, behind: through.behind };
  };
}

await runIfMain(import.meta.url, clientSection);

/** What the two client profiles say about garbage collection, when both were taken. */
function gcNote(ours: ProfileSummary | undefined, floor: ProfileSummary | undefined): string {
  if (!ours || !floor) return '';
  const gc = (summary: ProfileSummary) => summary.origins.find(({ origin }) => origin === 'GC')?.percent ?? 0;
  return (
    `In the profiles, ours was busy ${fixed(ours.busyMs, 0)} ms and the floor ${fixed(floor.busyMs, 0)} ms for the same messages; ` +
    `garbage collection took ${fixed(gc(ours), 0)}% of ours and ${fixed(gc(floor), 0)}% of the floor's: what ours keeps per message ` +
    '(entry, Promise, ack) stays alive until the ack arrives, a window of messages at a time. '
  );
}
