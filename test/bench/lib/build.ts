/**
 * The SDK as an app runs it: `src/index.ts` bundled by esbuild with the options of our tsup build
 * (ES2022, internal `_` members mangled), into `.tmp/bench/`. Benchmark processes load this
 * instead of the TypeScript sources, so tsx's per-function helpers (`__name`) are not measured.
 */
import { mkdirSync } from 'node:fs';
import { build } from 'esbuild';
import { root } from './proc.js';

export const clientBundle = `${root}.tmp/bench/live-chat-client.mjs`;

export async function buildClient(): Promise<string> {
  mkdirSync(`${root}.tmp/bench`, { recursive: true });
  await build({
    entryPoints: [`${root}src/index.ts`],
    absWorkingDir: root,
    outfile: clientBundle,
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    mangleProps: /[^_]_$/,
    logLevel: 'silent',
  });
  return clientBundle;
}

type Sdk = typeof import('../../../src/index.js');

/** The bundled SDK (built by the orchestrator, path in `BENCH_CLIENT_MODULE`), else the sources. */
export async function loadSdk(): Promise<Sdk> {
  const path = process.env.BENCH_CLIENT_MODULE;
  return (await (path ? import(path) : import('../../../src/index.js'))) as Sdk;
}
