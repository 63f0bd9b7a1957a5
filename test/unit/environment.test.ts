import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { watchEnvironment } from '../../src/environment.js';
import { FakeServer, connectClient, createClient, flush, stopServers, stubBrowser } from './helpers.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  stopServers();
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

describe('watchEnvironment (unit)', () => {
  test('online → online(); offline and becoming visible → check(); the remover removes every listener', () => {
    const browser = stubBrowser();
    const online = vi.fn();
    const check = vi.fn();
    const unwatch = watchEnvironment({ online_: online, check_: check });
    expect(browser.listenerCount()).toBe(3);
    browser.fire('online');
    expect(online).toHaveBeenCalledTimes(1);
    browser.fire('offline');
    expect(check).toHaveBeenCalledTimes(1);
    browser.fire('hidden');
    expect(check).toHaveBeenCalledTimes(1);
    browser.fire('visible');
    expect(check).toHaveBeenCalledTimes(2);
    unwatch();
    expect(browser.listenerCount()).toBe(0);
    browser.fire('online');
    browser.fire('offline');
    browser.fire('visible');
    expect(online).toHaveBeenCalledTimes(1);
    expect(check).toHaveBeenCalledTimes(2);
  });

  test('without browser globals (Node, SSR, workers) it does nothing and does not throw', () => {
    expect((globalThis as { document?: unknown }).document).toBeUndefined();
    const unwatch = watchEnvironment({ online_: vi.fn(), check_: vi.fn() });
    expect(() => unwatch()).not.toThrow();
  });
});

describe('client listeners', () => {
  test('added by connect(), once, and removed by disconnect()', async () => {
    const browser = stubBrowser();
    const client = createClient(new FakeServer());
    expect(browser.listenerCount()).toBe(0);
    await connectClient(client);
    client.connect();
    expect(browser.listenerCount()).toBe(3);
    client.disconnect();
    expect(browser.listenerCount()).toBe(0);
    await connectClient(client);
    expect(browser.listenerCount()).toBe(3);
    client.disconnect();
    expect(browser.listenerCount()).toBe(0);
  });

  test('removed when the client stops by itself (auth failure)', async () => {
    const browser = stubBrowser();
    const server = new FakeServer();
    server.auth = 'refuse';
    const client = createClient(server);
    client.connect();
    await flush(20);
    expect(client.state).toBe('disconnected');
    expect(browser.listenerCount()).toBe(0);
    browser.fire('online');
    await flush(5000);
    expect(server.connections).toBe(1);
  });

  test('none with watchEnvironment: false', async () => {
    const browser = stubBrowser();
    const client = createClient(new FakeServer(), { watchEnvironment: false });
    await connectClient(client);
    expect(browser.listenerCount()).toBe(0);
    client.disconnect();
  });
});

describe('import', () => {
  test('importing the package touches no window, document or localStorage and starts no timer', async () => {
    const touched: string[] = [];
    for (const name of ['window', 'document', 'localStorage', 'addEventListener']) {
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
      const module = await import('../../src/index.js');
      expect(typeof module.LiveChatClient).toBe('function');
      expect(vi.getTimerCount()).toBe(0);
      expect(touched).toEqual([]);
      // Creating a client does not need them either.
      new module.LiveChatClient({ url: 'ws://example.invalid/' });
      expect(touched).toEqual([]);
    } finally {
      for (const name of ['window', 'document', 'localStorage', 'addEventListener']) Reflect.deleteProperty(globalThis, name);
    }
  });
});
