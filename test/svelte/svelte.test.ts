// @vitest-environment happy-dom
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { type Readable as SvelteReadable, get } from 'svelte/store';
import { afterAll, afterEach, beforeEach, describe, expect, expectTypeOf, test, vi } from 'vitest';
import type { ConversationSnapshot, LiveChatClient, LiveChatSnapshot } from '../../src/index.js';
import { type Readable, connectionStore, conversationStore } from '../../src/svelte/index.js';
import { listeners } from '../support/listeners.js';
import { FakeServer, connectClient, connectedPair, createClient, flush, stopServers } from '../unit/helpers.js';
import { adapterPath as adapter, cleanUp, compileComponent, root, svelteClient as runtime } from './compile.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  stopServers();
  vi.useRealTimers();
});

const joins = (server: FakeServer) => server.framesOf('join_conversation').map((frame) => frame.payload.line_user_id);
const leaves = (server: FakeServer) => server.framesOf('leave_conversation').map((frame) => frame.payload.line_user_id);
const customer = (server: FakeServer, id: string, text: string) =>
  server.send('message_received', { line_user_id: id, message: { type: 'text', text }, seq: server.nextSeq(id) });

/** Subscribes and records every value `run` receives. */
function values<T>(store: Readable<T>): { seen: T[]; unsubscribe: () => void } {
  const seen: T[] = [];
  const unsubscribe = store.subscribe((value) => seen.push(value));
  return { seen, unsubscribe };
}

describe('connectionStore: the Svelte store contract', () => {
  test('subscribe calls run at once, synchronously, with the current value and returns an unsubscribe', () => {
    const client = createClient(new FakeServer());
    const { seen, unsubscribe } = values(connectionStore(client));
    expect(seen).toEqual([client.getSnapshot()]);
    expect(seen[0]).toBe(client.getSnapshot());
    expect(seen[0]!.state).toBe('disconnected');
    expect(unsubscribe).toBeTypeOf('function');
    unsubscribe();
  });

  test('run gets each change: connecting → connected → reconnecting → connected; nothing after unsubscribe', async () => {
    const server = new FakeServer();
    const client = createClient(server);
    const count = listeners(client);
    const store = connectionStore(client);
    expect(count()).toBe(0);
    const { seen, unsubscribe } = values(store);
    expect(count()).toBe(1);
    client.connect();
    await flush();
    server.close(1006);
    await flush(1020);
    const states = seen.map((snapshot) => snapshot.state).filter((state, index, all) => state !== all[index - 1]);
    expect(states).toEqual(['disconnected', 'connecting', 'connected', 'reconnecting', 'connected']);
    expect(seen.at(-1)).toBe(client.getSnapshot());

    unsubscribe();
    expect(count()).toBe(0);
    const length = seen.length;
    client.disconnect();
    expect(seen).toHaveLength(length);
    // A second call is harmless.
    unsubscribe();
  });

  test('subscribe works detached from the store (as `$store` calls it), and get() from svelte/store reads it', async () => {
    const { client } = await connectedPair();
    const count = listeners(client);
    const { subscribe } = connectionStore(client);
    const seen: LiveChatSnapshot[] = [];
    const unsubscribe = subscribe((value) => seen.push(value));
    expect(seen[0]!.state).toBe('connected');
    unsubscribe();
    expect(get(connectionStore(client))).toBe(client.getSnapshot());
    expect(get(connectionStore(client)).adminId).toBe('a1');
    expect(count()).toBe(0);
    client.disconnect();
  });

  test('a subscriber that changes the state from its first run still gets the change', async () => {
    const { client } = await connectedPair();
    const seen: string[] = [];
    const unsubscribe = connectionStore(client).subscribe((snapshot) => {
      seen.push(snapshot.state);
      if (seen.length === 1) client.disconnect();
    });
    expect(seen).toEqual(['connected', 'disconnected']);
    unsubscribe();
  });
});

describe('conversationStore: the Svelte store contract', () => {
  test('lazy: creating the store joins nothing; the first subscriber joins, with a synchronous first value', async () => {
    const { server, client } = await connectedPair();
    const store = conversationStore(client, 'U1');
    await flush();
    expect(joins(server)).toEqual([]);
    expect(client.conversation('U1').getSnapshot().joined).toBe(false);

    const { seen, unsubscribe } = values(store);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toBe(client.conversation('U1').getSnapshot());
    expect(seen[0]!.joined).toBe(true);
    await flush();
    expect(joins(server)).toEqual(['U1']);

    unsubscribe();
    await flush();
    expect(leaves(server)).toEqual(['U1']);
    client.disconnect();
  });

  test('updates after each change (messages, pending then sent), none after unsubscribe', async () => {
    const { server, client } = await connectedPair();
    const count = listeners(client.conversation('U1'));
    const { seen, unsubscribe } = values(conversationStore(client, 'U1'));
    expect(count()).toBe(1);
    customer(server, 'U1', 'hello');
    const sent = client.sendMessage('U1', 'hi there');
    const last = () => seen.at(-1)!.messages.map((message) => `${message.content.text}:${message.status}`);
    expect(last()).toEqual(['hello:sent', 'hi there:pending']);
    await Promise.all([sent, flush()]);
    expect(last()).toEqual(['hello:sent', 'hi there:sent']);
    expect(seen.at(-1)).toBe(client.conversation('U1').getSnapshot());

    unsubscribe();
    expect(count()).toBe(0);
    const length = seen.length;
    customer(server, 'U1', 'later');
    expect(seen).toHaveLength(length);
    client.disconnect();
  });

  test('two subscribers: one join; the leave comes with the last unsubscribe, and only once', async () => {
    const { server, client } = await connectedPair();
    const first = values(conversationStore(client, 'U1'));
    const second = values(conversationStore(client, 'U1'));
    await flush();
    expect(joins(server)).toEqual(['U1']);

    first.unsubscribe();
    // Unsubscribing twice must not release the other subscriber's join.
    first.unsubscribe();
    await flush();
    expect(leaves(server)).toEqual([]);
    expect(client.conversation('U1').getSnapshot().joined).toBe(true);
    customer(server, 'U1', 'still here');
    expect(second.seen.at(-1)!.messages).toHaveLength(1);

    second.unsubscribe();
    await flush();
    expect(leaves(server)).toEqual(['U1']);
    expect(client.conversation('U1').getSnapshot().joined).toBe(false);
    client.disconnect();
  });

  test('a join made before connecting goes out once connected', async () => {
    const server = new FakeServer();
    const client = createClient(server);
    const { seen, unsubscribe } = values(conversationStore(client, 'U1'));
    expect(seen[0]!.joined).toBe(true);
    await connectClient(client);
    await flush();
    expect(server.types()).toEqual(['auth', 'join_conversation']);
    unsubscribe();
    client.disconnect();
  });

  test('get() from svelte/store returns the current snapshot (while subscribed, without another join)', async () => {
    const { server, client } = await connectedPair();
    const store = conversationStore(client, 'U1');
    const held = values(store);
    customer(server, 'U1', 'seen');
    expect(get(store)).toBe(client.conversation('U1').getSnapshot());
    expect(get(store).messages.map((message) => message.content.text)).toEqual(['seen']);
    await flush();
    expect(joins(server)).toEqual(['U1']);
    expect(leaves(server)).toEqual([]);
    held.unsubscribe();
    client.disconnect();
  });
});

describe('no svelte at run time', () => {
  const svelteImport = /\bfrom\s*["']svelte(\/[^"']*)?["']|\bimport\s*\(?\s*["']svelte|\brequire\(\s*["']svelte/;

  test('the regular expression catches every form of an import of svelte', () => {
    for (const code of ['import { get } from "svelte/store";', "import 'svelte';", 'const s = require("svelte/store");', "await import('svelte')"]) {
      expect(code).toMatch(svelteImport);
    }
    expect('const store = { subscribe() {} }; // svelte-compatible').not.toMatch(svelteImport);
  });

  test('the built entry (ESM and CJS) imports no svelte: the store contract is implemented by hand', () => {
    for (const file of ['dist/svelte/index.js', 'dist/svelte/index.cjs']) {
      const path = join(root, file);
      expect(existsSync(path), `${file} is missing: run \`npm run build\` first`).toBe(true);
      expect(readFileSync(path, 'utf8')).not.toMatch(svelteImport);
    }
  });

  test('the source bundles to ESM and CJS without svelte', async () => {
    for (const format of ['esm', 'cjs'] as const) {
      const result = await build({
        entryPoints: [join(root, 'src/svelte/index.ts')],
        bundle: true,
        format,
        write: false,
        metafile: true,
        platform: 'neutral',
        external: ['../index.js'],
        logLevel: 'silent',
      });
      const imports = Object.values(result.metafile.inputs).flatMap((input) => input.imports.map((entry) => entry.path));
      expect(imports.filter((path) => /^svelte\b/.test(path))).toEqual([]);
      expect(result.outputFiles[0]!.text).not.toMatch(svelteImport);
    }
  });
});

describe('a compiled Svelte 5 component', () => {
  afterAll(cleanUp);

  const pane = `
<script>
  import { connectionStore, conversationStore } from '${adapter}';
  let { client, initial } = $props();
  let id = $state(initial);
  export function show(next) { id = next; }
  const connection = connectionStore(client);
  const conversation = $derived(conversationStore(client, id));
</script>

<p class="state">{$connection.state}</p>
<h2>{$conversation.id}</h2>
<ul>
  {#each $conversation.messages as message (message.key)}
    <li class={message.status}>{message.content.text}</li>
  {/each}
</ul>
`;

  const text = (target: Element, selector: string) => [...target.querySelectorAll(selector)].map((node) => node.textContent).join(',');

  test('$connection.state and $conversation.messages reach the DOM; unmount unsubscribes and leaves', async () => {
    const { mount, unmount, flushSync } = await runtime();
    const Pane = await compileComponent<{ client: LiveChatClient; initial: string }, { show(id: string): void }>('Pane', pane);
    const server = new FakeServer();
    const client = createClient(server);
    const clientListeners = listeners(client);
    const conversationListeners = listeners(client.conversation('U1'));
    const target = document.createElement('div');
    document.body.append(target);

    const component = mount(Pane, { target, props: { client, initial: 'U1' } });
    expect(text(target, '.state')).toBe('disconnected');
    expect(text(target, 'h2')).toBe('U1');
    expect(clientListeners()).toBe(1);
    expect(conversationListeners()).toBe(1);

    client.connect();
    flushSync();
    expect(text(target, '.state')).toBe('connecting');
    await flush();
    flushSync();
    expect(text(target, '.state')).toBe('connected');
    // The join made while offline goes out after auth_success (mock-socket takes 4 ms per frame).
    await flush();
    expect(joins(server)).toEqual(['U1']);

    customer(server, 'U1', 'hello');
    server.ackMessages = false;
    void client.sendMessage('U1', 'on my way').catch(() => {});
    flushSync();
    expect(text(target, 'li')).toBe('hello,on my way');
    expect(text(target, 'li.pending')).toBe('on my way');

    server.close(1006);
    await flush();
    flushSync();
    expect(text(target, '.state')).toBe('reconnecting');
    await flush(1020);
    flushSync();
    expect(text(target, '.state')).toBe('connected');

    // Switching conversations ($derived store): leaves the old one, joins the new one.
    component.show('U2');
    flushSync();
    await flush();
    expect(text(target, 'h2')).toBe('U2');
    expect(text(target, 'li')).toBe('');
    expect(leaves(server)).toEqual(['U1']);
    expect(joins(server).at(-1)).toBe('U2');
    expect(conversationListeners()).toBe(0);
    customer(server, 'U2', 'second');
    flushSync();
    expect(text(target, 'li')).toBe('second');

    await unmount(component);
    await flush();
    expect(leaves(server)).toEqual(['U1', 'U2']);
    expect(clientListeners()).toBe(0);
    expect(client.conversation('U2').getSnapshot().joined).toBe(false);
    client.disconnect();
    target.remove();
  });

  test('Svelte 4 syntax (legacy mode: export let, $:) works with the same stores', async () => {
    const { mount, unmount, flushSync } = await runtime();
    const Legacy = await compileComponent<{ client: LiveChatClient; id: string }>(
      'Legacy',
      `
<script>
  import { connectionStore, conversationStore } from '${adapter}';
  export let client;
  export let id;
  $: connection = connectionStore(client);
  $: conversation = conversationStore(client, id);
</script>

<p class="state">{$connection.state}</p>
<ul>{#each $conversation.messages as message (message.key)}<li>{message.content.text}</li>{/each}</ul>
`,
    );
    const { server, client } = await connectedPair();
    const target = document.createElement('div');
    const component = mount(Legacy, { target, props: { client, id: 'U1' } });
    flushSync();
    expect(text(target, '.state')).toBe('connected');
    await flush();
    expect(joins(server)).toEqual(['U1']);
    customer(server, 'U1', 'legacy');
    flushSync();
    expect(text(target, 'li')).toBe('legacy');
    await unmount(component);
    await flush();
    expect(leaves(server)).toEqual(['U1']);
    client.disconnect();
  });
});

describe('types', () => {
  test('the stores are Readable<LiveChatSnapshot> and Readable<ConversationSnapshot>, and fit svelte/store', () => {
    expectTypeOf(connectionStore).returns.toEqualTypeOf<Readable<LiveChatSnapshot>>();
    expectTypeOf(conversationStore).returns.toEqualTypeOf<Readable<ConversationSnapshot>>();
    expectTypeOf(conversationStore).parameters.toEqualTypeOf<[LiveChatClient, string]>();
    expectTypeOf<Readable<LiveChatSnapshot>>().toExtend<SvelteReadable<LiveChatSnapshot>>();
    expectTypeOf<Readable<ConversationSnapshot>>().toExtend<SvelteReadable<ConversationSnapshot>>();
    expectTypeOf<Readable<ConversationSnapshot>>().not.toExtend<SvelteReadable<LiveChatSnapshot>>();
    expectTypeOf(get<ConversationSnapshot>).parameter(0).toExtend<SvelteReadable<ConversationSnapshot>>();
    expectTypeOf<Parameters<Readable<LiveChatSnapshot>['subscribe']>[0]>().toEqualTypeOf<(value: LiveChatSnapshot) => void>();
    expectTypeOf<ReturnType<Readable<LiveChatSnapshot>['subscribe']>>().toEqualTypeOf<() => void>();
  });
});
