/**
 * Compiles Svelte components for the tests: to modules inside the repository (so Vite resolves
 * their imports and they share the tests' module instances), under the gitignored `.compiled/`.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Component } from 'svelte';
import { compile } from 'svelte/compiler';

/** The repository root (built from paths: `URL` is happy-dom's in DOM tests). */
export const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
/** The adapter's source, for the components' imports. */
export const adapterPath = join(root, 'src/svelte/index.ts');
const folder = join(root, 'test/svelte/.compiled');
const written: string[] = [];
let counter = 0;

/** Writes `code` to a fresh module file; returns its path. Call {@link cleanUp} in `afterAll`. */
export function writeModule(name: string, code: string): string {
  mkdirSync(folder, { recursive: true });
  const file = join(folder, `${name}.${process.pid}.${++counter}.js`);
  writeFileSync(file, code);
  written.push(file);
  return file;
}

/** Writes `code` to a fresh module file and imports it. */
export async function importModule<T>(name: string, code: string): Promise<T> {
  return import(/* @vite-ignore */ pathToFileURL(writeModule(name, code)).href) as Promise<T>;
}

/**
 * Compiles a component (Svelte 5 `compile`) and imports it. Warnings other than `allowed` fail:
 * a component that Svelte warns about is not a fair test.
 */
export async function compileComponent<Props extends Record<string, unknown>, Exports extends Record<string, unknown> = Record<string, never>>(
  name: string,
  source: string,
  { generate = 'client', allowed = ['state_referenced_locally'] }: { generate?: 'client' | 'server'; allowed?: string[] } = {},
): Promise<Component<Props, Exports>> {
  const { js, warnings } = compile(source, { generate, filename: `${name}.svelte` });
  const unexpected = warnings.filter((warning) => !allowed.includes(warning.code));
  if (unexpected.length) throw new Error(`Svelte warnings: ${unexpected.map((warning) => warning.message).join('; ')}`);
  return (await importModule<{ default: Component<Props, Exports> }>(name, js.code)).default;
}

/**
 * Svelte's browser runtime (`mount`, `unmount`, `flushSync`). The package resolves `svelte` to its
 * server build under Node's conditions (where `mount` throws), so the client entry is imported by
 * path; it shares its modules with the compiled components' `svelte/internal/client`.
 */
export async function svelteClient(): Promise<typeof import('svelte')> {
  const svelteRoot = dirname(createRequire(join(root, 'package.json')).resolve('svelte/package.json'));
  return import(/* @vite-ignore */ pathToFileURL(join(svelteRoot, 'src/index-client.js')).href);
}

/** Removes the modules written by this test file. */
export function cleanUp(): void {
  for (const file of written.splice(0)) rmSync(file, { force: true });
}
