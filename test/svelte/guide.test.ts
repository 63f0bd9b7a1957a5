// @vitest-environment happy-dom
// The conversation pane of docs/svelte.md, compiled from the guide itself and run against a fake server.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, afterEach, beforeEach, expect, test, vi } from 'vitest';
import type { LiveChatClient } from '../../src/index.js';
import { blockAfter } from '../support/markdown.js';
import { type FakeServer, connectedPair, flush, stopServers } from '../unit/helpers.js';
import { adapterPath, cleanUp, compileComponent, root, svelteClient, writeModule } from './compile.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  stopServers();
  vi.useRealTimers();
});
afterAll(cleanUp);

/** Stands in for the guide's `$lib/chat` module: exports the test's client (a live binding). */
interface ChatModule {
  setClient(client: LiveChatClient): void;
}

async function setup(options: Parameters<typeof connectedPair>[0] = {}) {
  const { mount, unmount, flushSync } = await svelteClient();
  const chatPath = writeModule('chat', 'export let client;\nexport function setClient(value) { client = value; }\n');
  const chat = (await import(/* @vite-ignore */ pathToFileURL(chatPath).href)) as ChatModule;
  const source = blockAfter(readFileSync(join(root, 'docs/svelte.md'), 'utf8'), 'test/svelte/guide.test.ts')
    .replace(/(["'])@org\/live-chat-client\/svelte\1/, JSON.stringify(adapterPath))
    .replace(/(["'])\$lib\/chat\1/, JSON.stringify(chatPath));
  expect(source).not.toMatch(/@org\/live-chat-client|\$lib/);
  const Pane = await compileComponent<{ id: string }>('GuidePane', source, { allowed: [] });

  const { server, client } = await connectedPair(options);
  chat.setClient(client);
  const target = document.createElement('div');
  document.body.append(target);
  const component = mount(Pane, { target, props: { id: 'U1' } });
  flushSync();
  await flush();
  const items = () => [...target.querySelectorAll('li')].map((li) => li.textContent!.replace(/\s+/g, ' ').trim());
  const input = target.querySelector('input')!;
  const type = (text: string) => {
    input.value = text;
    input.dispatchEvent(new Event('input', { bubbles: true }));
    flushSync();
  };
  const submit = () => {
    target.querySelector('form')!.dispatchEvent(new Event('submit', { bubbles: true, cancelable: true }));
    flushSync();
  };
  const click = (index: number, selector: string) => {
    (target.querySelectorAll('li')[index]!.querySelector(selector) as HTMLElement).click();
    flushSync();
  };
  return {
    server,
    client,
    target,
    items,
    type,
    submit,
    click,
    input,
    flushSync,
    destroy: async () => {
      await unmount(component);
      target.remove();
    },
  };
}

const customer = (server: FakeServer, text: string) =>
  server.send('message_received', { line_user_id: 'U1', message: { type: 'text', text }, seq: server.nextSeq('U1') });

test('the guide pane shows messages, presence and typing, and sends with typing', async () => {
  const { server, client, target, items, type, submit, input, flushSync, destroy } = await setup();
  expect(server.framesOf('join_conversation').map((frame) => frame.payload.line_user_id)).toEqual(['U1']);

  customer(server, 'Hello?');
  server.send('operator_joined', { admin_id: 'a2', line_user_id: 'U1', operators: ['a1', 'a2'] });
  server.send('typing_started', { admin_id: 'a2', line_user_id: 'U1' });
  flushSync();
  expect(items()).toEqual(['Customer: Hello?']);
  expect(target.querySelector('.presence')!.textContent).toBe('2 operator(s) here');
  expect(target.querySelector('.typing')!.textContent).toBe('a2 typing…');

  type('Hi, how can I help?');
  submit();
  expect(items()).toEqual(['Customer: Hello?', 'You: Hi, how can I help? …']);
  expect(input.value).toBe('');
  await flush();
  flushSync();
  expect(server.framesOf('typing_start')).toHaveLength(1);
  expect(server.framesOf('message_send').map((frame) => frame.payload.message)).toEqual([{ type: 'text', text: 'Hi, how can I help?' }]);
  expect(items()).toEqual(['Customer: Hello?', 'a1: Hi, how can I help?']);

  // An empty draft sends nothing.
  submit();
  await flush();
  expect(server.framesOf('message_send')).toHaveLength(1);

  await destroy();
  await flush();
  expect(server.framesOf('leave_conversation')).toHaveLength(1);
  client.disconnect();
});

test('the guide pane shows a failed message with Retry and Discard', async () => {
  const { server, client, items, type, submit, click, flushSync, destroy } = await setup({ queue: { ackTimeoutMs: 100, maxRetries: 0 } });
  server.ackMessages = false;
  for (const text of ['first', 'second']) {
    type(text);
    submit();
  }
  await flush(200);
  flushSync();
  expect(items()).toEqual(['You: first not sent (ack_timeout) Retry Discard', 'You: second not sent (ack_timeout) Retry Discard']);

  server.ackMessages = true;
  click(0, 'button.retry');
  await flush();
  flushSync();
  expect(items()).toEqual(['a1: first', 'You: second not sent (ack_timeout) Retry Discard']);

  click(1, 'button.discard');
  expect(items()).toEqual(['a1: first']);
  expect(client.outbox()).toEqual([]);
  await destroy();
  client.disconnect();
});
