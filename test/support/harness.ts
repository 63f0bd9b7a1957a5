/**
 * Shared pieces of the integration tests: a real client wired to `ws` with short timings, a
 * bounded `waitFor`, and cleanup of everything a test started.
 */
import { afterEach, beforeEach, expect } from 'vitest';
import { WebSocket } from 'ws';
import {
  ExponentialBackoffStrategy,
  LiveChatClient,
  type ConnectionState,
  type LiveChatClientOptions,
  type WebSocketConstructor,
} from '../../src/index.js';

export const NodeWebSocket = WebSocket as unknown as WebSocketConstructor;

/** Short timings, so each scenario runs in well under a second of real time. */
export const fast = {
  heartbeat: { intervalMs: 100, timeoutMs: 200 },
  stableAfterMs: 50,
  connectTimeoutMs: 1000,
  watchEnvironment: false,
  queue: { ackTimeoutMs: 1000, ttlMs: 15_000 },
} as const satisfies Partial<LiveChatClientOptions>;

export function quickBackoff(): ExponentialBackoffStrategy {
  return new ExponentialBackoffStrategy({ baseDelayMs: 20, maxDelayMs: 100 });
}

/**
 * Polls `predicate` every few ms until it holds; fails after `timeoutMs` with `what` and, when
 * given, the state `describe` returns, so a failure says what was awaited and what was there.
 */
export async function waitFor(
  what: string,
  predicate: () => boolean,
  { timeoutMs = 4000, describe }: { timeoutMs?: number; describe?: () => unknown } = {},
): Promise<void> {
  const started = Date.now();
  while (!predicate()) {
    if (Date.now() - started > timeoutMs) {
      const state = describe ? `\n  state: ${JSON.stringify(describe())}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}${state}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Resolves on the first `state` event that enters `state` (or at once if already there). */
export function waitForState(client: LiveChatClient, state: ConnectionState, timeoutMs = 4000): Promise<void> {
  if (client.state === state) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for state "${state}" (now "${client.state}", last error: ${client.getSnapshot().lastError?.message ?? 'none'})`));
    }, timeoutMs);
    const off = client.on('state', ({ current }) => {
      if (current !== state) return;
      clearTimeout(timer);
      off();
      resolve();
    });
  });
}

/** Every `state` transition of a client, as `previous>current` strings. */
export function recordStates(client: LiveChatClient): string[] {
  const seen: string[] = [];
  client.on('state', ({ previous, current }) => seen.push(`${previous}>${current}`));
  return seen;
}

/**
 * Owns what a test starts and tears it down in `afterEach`. It also collects uncaught exceptions
 * raised while the test ran: a WebSocket error must never escape the client as one (in Node it
 * crashes the process).
 */
export class Harness {
  readonly uncaught: Error[] = [];
  readonly #cleanups: (() => unknown)[] = [];
  readonly #onUncaught = (error: Error) => this.uncaught.push(error);

  constructor() {
    process.on('uncaughtException', this.#onUncaught);
  }

  client(url: string, options: Partial<LiveChatClientOptions> = {}): LiveChatClient {
    const client = new LiveChatClient({ url, WebSocket: NodeWebSocket, reconnect: quickBackoff(), ...fast, ...options });
    this.defer(() => client.disconnect());
    return client;
  }

  /** A connected client (authenticated), optionally joined to conversations. */
  async connected(url: string, token: string, join: string[] = [], options: Partial<LiveChatClientOptions> = {}): Promise<LiveChatClient> {
    const client = this.client(url, { token, ...options });
    for (const id of join) client.joinConversation(id);
    client.connect();
    await waitForState(client, 'connected');
    return client;
  }

  /** Registers teardown work; it runs in reverse order. Returns what it was given. */
  defer<T extends { close(): unknown } | (() => unknown)>(thing: T): T {
    this.#cleanups.push(typeof thing === 'function' ? thing : () => thing.close());
    return thing;
  }

  async dispose(): Promise<void> {
    for (const cleanup of this.#cleanups.splice(0).reverse()) await cleanup();
    // Errors of sockets closed during cleanup surface on a later tick.
    await new Promise((resolve) => setTimeout(resolve, 1));
    process.off('uncaughtException', this.#onUncaught);
  }
}

/**
 * Registers the per-test harness of a test file: created before each test, disposed after it,
 * failing the test if an exception escaped as uncaught while it ran.
 */
export function useHarness(): () => Harness {
  let current: Harness | undefined;
  beforeEach(() => {
    current = new Harness();
  });
  afterEach(async () => {
    const harness = current;
    current = undefined;
    if (!harness) return;
    await harness.dispose();
    expect(harness.uncaught.map(String), 'uncaught exceptions while the test ran (a WebSocket error escaped the client)').toEqual([]);
  });
  return () => {
    if (!current) throw new Error('harness used outside a test');
    return current;
  };
}

/** Texts of a conversation's messages, in snapshot order. */
export function texts(client: LiveChatClient, conversationId: string): (string | undefined)[] {
  return client.conversation(conversationId).getSnapshot().messages.map((message) => message.content.text);
}
