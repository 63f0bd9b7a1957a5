import { createRequire } from 'node:module';
import { expect, test, vi } from 'vitest';
import * as core from '../../src/index.js';

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

test('the built ESM and CJS files load and export the same names', async () => {
  const esm: Record<string, unknown> = await import('../../dist/index.js');
  const cjs = createRequire(import.meta.url)('../../dist/index.cjs') as Record<string, unknown>;
  expect(Object.keys(esm).sort()).toEqual(Object.keys(core).sort());
  expect(Object.keys(cjs).sort()).toEqual(Object.keys(core).sort());
});
