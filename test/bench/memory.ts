/**
 * Section 4: memory per idle authenticated connection. A server process (`--expose-gc`) is
 * measured after a full GC, before and after `count` connections (another process) authenticate
 * and then sit idle: the difference in RSS and in V8 heap, per connection. Our reference server
 * beside a raw `ws` server that keeps the socket and the operator id, and socket.io with an auth
 * middleware.
 */
import { LIVE_CHAT_PATH } from '../../examples/server/src/gateway.js';
import { execFileSync } from 'node:child_process';
import { Child } from './lib/proc.js';
import type { Usage } from './lib/server-child.js';
import { type Context, type SectionResult, rotate, runIfMain, table } from './lib/section.js';
import { count, fixed, ratio, ratios, spread, summarize } from './lib/stats.js';
import { benchSecret } from './client-overhead.js';

/** Connections opened (and kept) before the baseline. */
const warmup = 200;

interface MemoryRun {
  rssPerConnection: number;
  heapPerConnection: number;
  externalPerConnection: number;
  openMs: number;
  connections: number;
}

const labels: Record<string, string> = {
  'ws-idle': 'raw ws (socket + operator id)',
  'socketio-idle': 'socket.io (auth middleware)',
  ours: '**our reference server**',
};

/** Soft and hard limits on open files, as `ulimit -n` reports them to a child shell. */
export function fileLimits(): { soft: number; hard: number } {
  try {
    const [soft, hard] = execFileSync('sh', ['-c', 'ulimit -Sn; ulimit -Hn'], { encoding: 'utf8' }).trim().split('\n');
    const parse = (value: string | undefined) => (value === 'unlimited' ? Infinity : Number(value));
    return { soft: parse(soft), hard: parse(hard) };
  } catch {
    return { soft: NaN, hard: NaN };
  }
}

async function memoryRun(context: Context, kind: string, connections: number): Promise<MemoryRun> {
  const server =
    kind === 'ours'
      ? Child.start('servers/reference.ts', [], {
          execArgv: ['--expose-gc'],
          env: { BENCH_SERVER_CONFIG: JSON.stringify({ jwtSecret: benchSecret, databasePath: `${context.scratch}/memory.sqlite` }) },
        })
      : Child.start('servers/peers.ts', [kind], { execArgv: ['--expose-gc'] });
  const clients = Child.start('workers/idle-clients.ts', [], { lifetimeMs: 180_000 });
  try {
    const port = await server.port();
    const url = kind === 'socketio-idle' ? `http://127.0.0.1:${port}` : kind === 'ours' ? `ws://127.0.0.1:${port}${LIVE_CHAT_PATH}` : `ws://127.0.0.1:${port}`;
    const open = (total: number) =>
      clients.request<{ type: string; count: number; ms: number }>(
        { type: 'open', protocol: kind === 'socketio-idle' ? 'socketio' : 'v1', url, count: total, batch: 100, ...(kind === 'ours' && { secret: benchSecret }) },
        'opened',
        120_000,
      );
    // Warm-up connections first: code, caches and pools that the first connections create once
    // are in the baseline, not spread over the measured ones.
    await open(warmup);
    const before = await server.request<Usage>({ type: 'usage', gc: true }, 'usage', 30_000);
    const opened = await open(connections);
    const after = await server.request<Usage>({ type: 'usage', gc: true }, 'usage', 30_000);
    if (after.connections < connections + warmup) throw new Error(`${kind}: only ${after.connections} of ${connections + warmup} connections are open on the server`);
    await clients.request({ type: 'close' }, 'closed', 10_000);
    return {
      rssPerConnection: (after.rss - before.rss) / connections,
      heapPerConnection: (after.heapUsed - before.heapUsed) / connections,
      externalPerConnection: (after.external - before.external) / connections,
      openMs: opened.ms,
      connections: after.connections,
    };
  } finally {
    await clients.stop('SIGKILL');
    await server.stop();
  }
}

export async function memorySection(context: Context): Promise<SectionResult> {
  const { quick } = context;
  const wanted = quick ? 1000 : 5000;
  // Each process needs a descriptor per connection (`wanted + warmup`) plus its own few dozen.
  const limits = fileLimits();
  const connections = Number.isFinite(limits.soft) ? Math.min(wanted, Math.floor((limits.soft - warmup - 100) / 100) * 100) : wanted;
  const limitNote =
    connections < wanted
      ? `**Reduced to ${count(connections)} connections**: \`ulimit -n\` is ${limits.soft} (hard ${limits.hard}) and Node cannot raise it from inside; run \`ulimit -n ${wanted + 200}\` first for the full count.`
      : `\`ulimit -n\`: ${limits.soft} (hard ${limits.hard}), enough for ${count(connections)} connections per process.`;
  const rounds = quick ? 1 : 3;
  const kinds = ['ws-idle', 'socketio-idle', 'ours'];
  const results = new Map<string, MemoryRun[]>(kinds.map((kind) => [kind, []]));
  for (let round = 0; round < rounds; round++) {
    for (const kind of rotate(kinds, round)) {
      context.log(`memory: round ${round + 1}/${rounds} ${kind}, ${connections} connections`);
      results.get(kind)!.push(await memoryRun(context, kind, connections));
    }
  }
  const floor = results.get('ws-idle')!;
  const rows = kinds.map((kind) => {
    const runs = results.get(kind)!;
    return [
      labels[kind]!,
      spread(summarize(runs.map((run) => run.rssPerConnection)), (value) => `${count(value)} B`),
      ratio(ratios(runs.map((run) => run.rssPerConnection), floor.map((run) => run.rssPerConnection))),
      spread(summarize(runs.map((run) => run.heapPerConnection)), (value) => `${count(value)} B`),
      ratio(ratios(runs.map((run) => run.heapPerConnection), floor.map((run) => run.heapPerConnection))),
      spread(summarize(runs.map((run) => run.externalPerConnection)), (value) => `${count(value)} B`),
      spread(summarize(runs.map((run) => run.openMs / 1000)), (value) => `${fixed(value, 1)} s`),
    ];
  });
  const ours = results.get('ours')!;
  const heap = ratios(ours.map((run) => run.heapPerConnection), floor.map((run) => run.heapPerConnection));
  const rss = ratios(ours.map((run) => run.rssPerConnection), floor.map((run) => run.rssPerConnection));
  const socketIoHeap = ratios(results.get('socketio-idle')!.map((run) => run.heapPerConnection), floor.map((run) => run.heapPerConnection));
  const behind: string[] = [];
  if (heap.median > 1.5 || rss.median > 1.5) {
    behind.push(
      `Memory: our server holds ${ratio(heap)} the heap and ${ratio(rss)} the RSS of raw ws per idle connection (goal ≤ 1.5×): ` +
        'per connection it keeps an idle timer, the rate-limit state, a room set, three listeners and the frame queue.',
    );
  }
  return {
    title: 'Memory per idle connection',
    markdown: [
      `${count(connections)} idle authenticated connections from another process (minimal clients), ${rounds} round(s), each server in a fresh process, ` +
        `measured after repeated full GCs before the first and after the last connection authenticated (${warmup} warm-up connections opened before the baseline). ` +
        `${limitNote} Per connection: (after − before) / connections. "External": Buffers and other memory outside the V8 heap.`,
      '',
      table(['server', 'RSS / connection', 'vs raw ws', 'heap / connection', 'vs raw ws', 'external / connection', 'time to open all'], rows),
    ].join('\n'),
    summary: [
      { metric: `Heap per idle connection vs raw ws (${count(connections)} connections)`, value: ratio(heap), goal: '≤ 1.50×', met: heap.median <= 1.5 },
      { metric: '  RSS per idle connection vs raw ws', value: ratio(rss), goal: '≤ 1.50×', met: rss.median <= 1.5 },
      { metric: '  socket.io heap per connection vs raw ws', value: ratio(socketIoHeap) },
    ],
    behind,
  };
}

await runIfMain(import.meta.url, memorySection);
