/** What every benchmark section gets, returns, and how one runs alone (`tsx test/bench/<section>.ts [--quick]`). */
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildClient } from './build.js';
import { root, stopAll } from './proc.js';

export interface Context {
  /** A smoke run: tiny counts, one round. */
  quick: boolean;
  /** The bundled SDK (see build.ts), for child processes (`BENCH_CLIENT_MODULE`). */
  bundle: string;
  /** A scratch folder for this run (SQLite files, `.cpuprofile`s), under `.tmp/bench/`; kept until the next run. */
  scratch: string;
  log(line: string): void;
}

export interface SectionResult {
  title: string;
  /** The section's Markdown: tables and notes. */
  markdown: string;
  /** Numbers for the summary table at the top of the report. */
  summary: { metric: string; value: string; goal?: string; met?: boolean }[];
  /** Where we are behind a peer or a goal, with the evidence. */
  behind: string[];
}

export type Section = (context: Context) => Promise<SectionResult>;

export async function createContext(quick: boolean, log: (line: string) => void = (line) => console.error(line)): Promise<Context> {
  mkdirSync(`${root}.tmp/bench`, { recursive: true });
  // The previous run's scratch (databases, profiles) goes: only the latest is kept.
  for (const entry of readdirSync(`${root}.tmp/bench`)) {
    if (entry.startsWith('run-')) rmSync(`${root}.tmp/bench/${entry}`, { recursive: true, force: true });
  }
  return { quick, bundle: await buildClient(), scratch: mkdtempSync(`${root}.tmp/bench/run-`), log };
}

/** Runs `section` when its file is the entry point, printing its Markdown. */
export async function runIfMain(url: string, section: Section): Promise<void> {
  if (process.argv[1] !== fileURLToPath(url)) return;
  const context = await createContext(process.argv.includes('--quick'));
  try {
    const result = await section(context);
    console.log(`## ${result.title}\n\n${result.markdown}`);
  } finally {
    await stopAll();
  }
}

/** Rotates `items` by `round`, so no contender always runs first (or right after the same one). */
export function rotate<T>(items: readonly T[], round: number): T[] {
  const shift = round % items.length;
  return [...items.slice(shift), ...items.slice(0, shift)];
}

/** A Markdown table. */
export function table(header: string[], rows: string[][], align: ('l' | 'r')[] = []): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  const rule = header.map((_, index) => ((align[index] ?? (index === 0 ? 'l' : 'r')) === 'r' ? '---:' : '---'));
  return [line(header), line(rule), ...rows.map(line)].join('\n');
}
