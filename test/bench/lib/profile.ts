/**
 * Summarizes a V8 `.cpuprofile` (from lib/profiler.ts or `node --cpu-prof`): self time per function and per origin
 * (our client, our server, ws, socket.io, Node internals, GC), so the report can say where the
 * time goes without anyone opening a profiler.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  /** Sampled milliseconds, idle excluded. */
  busyMs: number;
  /** Share of busy time per origin, largest first. */
  origins: { origin: string; percent: number }[];
  /** Functions with the most self time. */
  top: { name: string; where: string; percent: number }[];
}

function where(url: string, line: number): string {
  if (!url) return '';
  const path = url.replace(/^file:\/\//, '');
  const modules = path.lastIndexOf('node_modules/');
  const short = modules >= 0 ? path.slice(modules + 'node_modules/'.length) : path.replace(/^.*?\/(src|examples|test|scripts)\//, '$1/');
  return `${short}:${line + 1}`;
}

function originOf(url: string, name: string): string {
  if (name === '(garbage collector)') return 'GC';
  if (name === '(program)') return 'V8/native (program)';
  if (!url) return 'native';
  if (url.startsWith('node:')) return 'Node internals';
  if (url.includes('/node_modules/ws/')) return 'ws';
  if (url.includes('/node_modules/socket.io') || url.includes('/node_modules/engine.io')) return 'socket.io / engine.io';
  if (url.includes('/node_modules/partysocket/')) return 'partysocket';
  if (url.includes('/node_modules/better-sqlite3/')) return 'better-sqlite3';
  if (url.includes('/node_modules/ioredis/') || url.includes('/node_modules/@ioredis/')) return 'ioredis';
  if (url.includes('/node_modules/mitt/')) return 'our client (src/)';
  if (url.includes('/node_modules/')) return 'other packages';
  if (url.includes('/examples/server/')) return 'our server (examples/server)';
  if (url.includes('/src/')) return 'our client (src/)';
  if (url.includes('/.tmp/bench/live-chat-client')) return 'our client (src/, bundled)';
  if (url.includes('/test/bench/')) return 'bench harness';
  return 'other';
}

export function summarizeProfile(file: string, topCount = 12): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  /** A native function (a binding, a syscall) is told by the nearest JavaScript caller. */
  const caller = (id: number): ProfileNode | undefined => {
    for (let at = parent.get(id); at !== undefined; at = parent.get(at)) {
      const node = byId.get(at)!;
      if (node.callFrame.url) return node;
    }
    return undefined;
  };
  const self = new Map<number, number>();
  profile.samples.forEach((id, index) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[index] ?? 0)));
  const functions = new Map<string, { name: string; where: string; us: number }>();
  const origins = new Map<string, number>();
  let busy = 0;
  for (const [id, us] of self) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    if (functionName === '(idle)') continue;
    busy += us;
    const name = functionName || '(anonymous)';
    const from = !url && !functionName.startsWith('(') ? caller(id) : undefined;
    const at = from ? `native, from \`${from.callFrame.functionName || '(anonymous)'}\` ${where(from.callFrame.url, from.callFrame.lineNumber)}` : where(url, lineNumber);
    const key = `${name}\n${at}`;
    const entry = functions.get(key) ?? { name, where: at, us: 0 };
    entry.us += us;
    functions.set(key, entry);
    const origin = from ? originOf(from.callFrame.url, '') : originOf(url, name);
    origins.set(origin, (origins.get(origin) ?? 0) + us);
  }
  const percent = (us: number) => (busy ? (100 * us) / busy : 0);
  return {
    busyMs: busy / 1000,
    origins: [...origins].map(([origin, us]) => ({ origin, percent: percent(us) })).sort((a, b) => b.percent - a.percent),
    top: [...functions.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, topCount)
      .map(({ name, where: at, us }) => ({ name, where: at, percent: percent(us) })),
  };
}

/**
 * The main thread's `.cpuprofile` in `dir` (`CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile`:
 * thread 0; tsx's module-loader thread writes a profile of its own).
 */
export function mainThreadProfile(dir: string): string | undefined {
  const files = readdirSync(dir)
    .filter((file) => /^CPU\.\d+\.\d+\.\d+\.0\.\d+\.cpuprofile$/.test(file))
    .sort();
  return files.length ? join(dir, files[files.length - 1]!) : undefined;
}

/** Markdown: origins in one line, then the top functions as a table. */
export function profileMarkdown(title: string, summary: ProfileSummary): string {
  const origins = summary.origins
    .filter(({ percent }) => percent >= 1)
    .map(({ origin, percent }) => `${origin} ${percent.toFixed(0)}%`)
    .join(', ');
  const rows = summary.top.map(({ name, where: at, percent }) => `| ${percent.toFixed(1)}% | \`${name}\` | ${at || '(native)'} |`);
  return [
    `**${title}** (${summary.busyMs.toFixed(0)} ms of busy CPU sampled; self time by origin: ${origins})`,
    '',
    '| self | function | where |',
    '| ---: | --- | --- |',
    ...rows,
  ].join('\n');
}
