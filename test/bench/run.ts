/**
 * `npm run bench`: every benchmark section in turn, then `docs/benchmarks.md` (tables, notes, the
 * machine and the versions). Not part of `npm test`.
 *
 *   npm run bench                    full run (about 10 minutes on 2 cores; capped at 15)
 *   npm run bench -- --quick         smoke run (tiny counts, one round), written to .tmp/bench/
 *   npm run bench -- --only fanout   some sections only (size, client, fanout, memory, storm),
 *                                    written to .tmp/bench/<sections>.md
 *   npm run bench -- --out file.md   another output file
 *
 *   npm run bench -- --only server-ack [--rounds 9] [--baseline dir]
 *       only part C of the client section (send→ack through the reference server vs socket.io),
 *       written to .tmp/bench/server-ack.md unless --out says otherwise; --baseline runs another
 *       copy of examples/server/src (e.g. `git worktree` of the last commit) as one more contender.
 *       Not part of the default run.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, resolve } from 'node:path';
import { clientSection, serverAckSection } from './client-overhead.js';
import { fanoutSection } from './fanout.js';
import { fileLimits, memorySection } from './memory.js';
import { root, stopAll } from './lib/proc.js';
import { type Section, type SectionResult, createContext, table } from './lib/section.js';
import { sizeSection, version } from './size.js';
import { stormSection } from './storm.js';

function option(name: string): string | undefined {
  const index = process.argv.indexOf(name);
  return index >= 0 ? process.argv[index + 1] : undefined;
}

const rounds = option('--rounds');
const sections: Record<string, { title: string; run: Section }> = {
  size: { title: 'Bundle cost', run: sizeSection },
  client: { title: 'Client overhead', run: clientSection },
  fanout: { title: 'Server fan-out', run: fanoutSection },
  memory: { title: 'Memory per idle connection', run: memorySection },
  storm: { title: 'Reconnect storm', run: stormSection },
  // Not in the default run: part C of `client` on its own.
  'server-ack': {
    title: 'Send→ack through the servers',
    run: serverAckSection({ ...(rounds && { rounds: Number(rounds) }), ...(option('--baseline') && { baselineDir: resolve(option('--baseline')!) }) }),
  },
};
const defaultSections = ['size', 'client', 'fanout', 'memory', 'storm'];

const quick = process.argv.includes('--quick');
const only = option('--only')?.split(',') ?? defaultSections;
// A partial or quick run never overwrites the full report unless `--out` asks for it.
const partial = defaultSections.some((section) => !only.includes(section));
const out =
  option('--out') ??
  (quick ? `${root}.tmp/bench/benchmarks.quick.md` : partial ? `${root}.tmp/bench/${only.join('+')}.md` : `${root}docs/benchmarks.md`);
const limitMs = (quick ? 5 : 15) * 60_000;

const startedAt = Date.now();
const log = (line: string) => console.error(`[${((Date.now() - startedAt) / 1000).toFixed(0).padStart(4)} s] ${line}`);

// Every loop is bounded on its own; this is the backstop for the whole run.
const watchdog = setTimeout(() => {
  log(`the run exceeded ${limitMs / 60_000} minutes: stopping`);
  void stopAll().finally(() => process.exit(2));
}, limitMs);
watchdog.unref();

function redisVersion(): string {
  try {
    return /v=(\S+)/.exec(execFileSync('redis-server', ['--version'], { encoding: 'utf8' }))?.[1] ?? 'unknown';
  } catch {
    return 'not installed';
  }
}

function environment(): string {
  const cpus = os.cpus();
  const limits = fileLimits();
  const peers = ['socket.io', 'socket.io-client', 'phoenix', 'centrifuge', 'partysocket', 'reconnecting-websocket', 'pusher-js'];
  const tools = ['ws', 'better-sqlite3', 'ioredis', 'jose', 'mitt', 'esbuild', 'tsup', 'tsx'];
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src', 'examples/server'], { cwd: root, encoding: 'utf8' }).trim();
    if (dirty) commit += ' (with uncommitted changes in src/ or examples/server/)';
  } catch {
    // not a git checkout
  }
  return table(
    ['', ''],
    [
      ['Date', new Date(startedAt).toISOString()],
      ['Machine', `${cpus.length} × ${cpus[0]?.model.trim() ?? 'unknown CPU'}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM, ${os.type()} ${os.release()} ${os.arch()}`],
      ['Load average at start (1/5/15 min)', os.loadavg().map((value) => value.toFixed(2)).join(' / ')],
      ['Node', process.version],
      ['Open files (`ulimit -n`)', `${limits.soft} (hard ${limits.hard})`],
      ['Commit', commit],
      ['Peers', peers.map((name) => `${name} ${version(name)}`).join(', ')],
      ['Also', [...tools.map((name) => `${name} ${version(name)}`), `redis-server ${redisVersion()}`].join(', ')],
    ],
    ['l', 'l'],
  );
}

const context = await createContext(quick, log);
const env = environment();
const results: SectionResult[] = [];
const failures: string[] = [];
try {
  for (const key of only) {
    const section = sections[key];
    if (!section) throw new Error(`unknown section "${key}" (${Object.keys(sections).join(', ')})`);
    log(`== ${section.title}`);
    const sectionStart = Date.now();
    try {
      const result = await section.run(context);
      results.push(result);
      log(`== ${section.title}: ${((Date.now() - sectionStart) / 1000).toFixed(0)} s`);
    } catch (error) {
      log(`== ${section.title} FAILED: ${error instanceof Error ? error.stack : String(error)}`);
      failures.push(`${section.title}: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
      await stopAll();
    }
  }
} finally {
  await stopAll();
}

const minutes = (Date.now() - startedAt) / 60_000;
const summaryRows = results.flatMap((result) =>
  result.summary.map(({ metric, value, goal, met }) => [metric, value, goal ?? '', met === undefined ? '' : met ? 'yes' : '**no**']),
);
const behind = results.flatMap((result) => result.behind);
const report = [
  '# Benchmarks',
  '',
  `Generated by \`npm run bench${quick ? ' -- --quick' : ''}\` (\`test/bench/\`) in ${minutes.toFixed(1)} minutes. ` +
    (quick ? '**A quick smoke run: tiny counts, one round; not for conclusions.** ' : '') +
    'The machine is shared and noisy, so every comparison is a ratio against peers measured in the same run, round by round ' +
    '(contenders alternate, order rotated, each in a fresh process), reported as the median over rounds with the range (min–max) beside it. ' +
    'Absolute numbers are for this machine only. Everything runs on 127.0.0.1; servers, clients and load generators are separate Node processes.',
  '',
  '## Environment',
  '',
  env,
  '',
  '## Summary',
  '',
  table(['metric', 'result (median, min–max)', 'goal', 'met'], summaryRows, ['l', 'r', 'r', 'l']),
  '',
  '## Where we are behind',
  '',
  ...(behind.length ? behind.map((line) => `- ${line}`) : ['- Nowhere in this run.']),
  ...(failures.length ? ['', '**Sections that failed in this run:**', '', ...failures.map((line) => `- ${line}`)] : []),
  '',
  ...results.flatMap((result, index) => [`## ${index + 1}. ${result.title}`, '', result.markdown, '']),
].join('\n');
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, report);
log(`wrote ${out} (${minutes.toFixed(1)} min)`);
process.exit(failures.length ? 1 : 0);
