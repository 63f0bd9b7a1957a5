import { createRequire } from 'node:module';
import { expect, test, vi } from 'vitest';
import * as core from '../../src/index.js';
import * as react from '../../src/react/index.js';
import * as svelte from '../../src/svelte/index.js';
import * as vue from '../../src/vue/index.js';

// A stray export would become public API: every change to this list must be deliberate.
test('the core entry exports exactly its public API', () => {
  expect(Object.keys(core).sort()).toMatchInlineSnapshot(`
    [
      "CloseCode",
      "Conversation",
      "DeliveryError",
      "ExponentialBackoffStrategy",
      "FixedIntervalStrategy",
      "LiveChatClient",
      "LiveChatError",
      "ServerError",
      "isLiveChatError",
      "localStorageOutbox",
    ]
  `);
});

test.each([
  ['react', react],
  ['vue', vue],
  ['svelte', svelte],
])('the %s entry exports exactly its public API', (_, entry) => {
  expect(Object.keys(entry).sort()).toMatchSnapshot();
});

test('importing the core reads no browser global (SSR, Node, workers)', async () => {
  const touched: string[] = [];
  const names = ['window', 'document', 'localStorage', 'navigator', 'addEventListener', 'WebSocket'] as const;
  for (const name of names) {
    Object.defineProperty(globalThis, name, {
      configurable: true,
      get() {
        touched.push(name);
        return undefined;
      },
    });
  }
  try {
    vi.resetModules();
    const fresh = await import('../../src/index.js');
    expect(typeof fresh.LiveChatClient).toBe('function');
    // Constructing a client is not connecting: it must not touch them either.
    new fresh.LiveChatClient({ url: 'ws://127.0.0.1:1/' });
    expect(touched).toEqual([]);
  } finally {
    for (const name of names) delete (globalThis as Record<string, unknown>)[name];
  }
});

test.each([
  ['', core],
  ['react/', react],
  ['vue/', vue],
  ['svelte/', svelte],
])('the built ESM and CJS files of %sindex load and export the same names', async (folder, source) => {
  const url = new URL(`../../dist/${folder}index.js`, import.meta.url).href;
  const esm = (await import(/* @vite-ignore */ url)) as Record<string, unknown>;
  const cjs = createRequire(import.meta.url)(`../../dist/${folder}index.cjs`) as Record<string, unknown>;
  expect(Object.keys(esm).sort()).toEqual(Object.keys(source).sort());
  expect(Object.keys(cjs).sort()).toEqual(Object.keys(source).sort());
});

test('an adapter shares the core with the core entry: one LiveChatClient class, not a copy', async () => {
  const built = (path: string) => import(/* @vite-ignore */ new URL(`../../dist/${path}`, import.meta.url).href);
  const coreEsm = (await built('index.js')) as typeof core;
  const svelteEsm = (await built('svelte/index.js')) as typeof svelte;
  const client = new coreEsm.LiveChatClient({ url: 'ws://127.0.0.1:1/' });
  const values: unknown[] = [];
  const unsubscribe = svelteEsm.connectionStore(client).subscribe((value) => values.push(value));
  unsubscribe();
  expect(values).toEqual([client.getSnapshot()]);
  const text = await import('node:fs/promises').then((fs) => fs.readFile('dist/vue/index.js', 'utf8'));
  expect(text).toContain('from "../index.js"');
  expect(text).not.toContain('class LiveChatClient');
});
