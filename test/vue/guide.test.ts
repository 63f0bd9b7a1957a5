// @vitest-environment happy-dom
// The conversation pane of docs/vue.md, compiled from the guide itself and run against a fake server.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { mount } from '@vue/test-utils';
import { transform } from 'esbuild';
import { afterAll, afterEach, beforeEach, expect, test, vi } from 'vitest';
import type { Component } from 'vue';
import { compileScript, parse } from 'vue/compiler-sfc';
import type { LiveChatClient } from '../../src/index.js';
import { LiveChatPlugin } from '../../src/vue/index.js';
import { blockAfter } from '../support/markdown.js';
import { type FakeServer, connectedPair, flush, stopServers } from '../unit/helpers.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  stopServers();
  vi.useRealTimers();
});

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const file = join(root, 'test/vue/.compiled', `GuidePane.${process.pid}.${Date.now()}.js`);
afterAll(() => rmSync(file, { force: true }));

async function loadPane(): Promise<Component> {
  const source = blockAfter(readFileSync(join(root, 'docs/vue.md'), 'utf8'), 'test/vue/guide.test.ts');
  const { descriptor, errors } = parse(source, { filename: 'ConversationPane.vue' });
  expect(errors).toEqual([]);
  const script = compileScript(descriptor, { id: 'pane', inlineTemplate: true });
  const { code } = await transform(script.content, { loader: 'ts', format: 'esm' });
  // The same adapter module as the test's (one injection key), not the built package.
  const local = code.replace(/(["'])@org\/live-chat-client\/vue\1/g, JSON.stringify(join(root, 'src/vue/index.ts')));
  expect(local).not.toContain('@org/live-chat-client');
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, local);
  return ((await import(/* @vite-ignore */ pathToFileURL(file).href)) as { default: Component }).default;
}

async function setup(options: Parameters<typeof connectedPair>[0] = {}) {
  const Pane = await loadPane();
  const { server, client } = await connectedPair(options);
  const wrapper = mount(Pane, { props: { id: 'U1' }, global: { plugins: [[LiveChatPlugin, client] as [typeof LiveChatPlugin, LiveChatClient]] } });
  await flush();
  const items = () => wrapper.findAll('li').map((li) => li.text().replace(/\s+/g, ' '));
  return { server, client, wrapper, items };
}

const customer = (server: FakeServer, text: string) =>
  server.send('message_received', { line_user_id: 'U1', message: { type: 'text', text }, seq: server.nextSeq('U1') });

test('the guide pane shows messages, presence and typing, and sends with typing', async () => {
  const { server, client, wrapper, items } = await setup();
  expect(server.framesOf('join_conversation').map((frame) => frame.payload.line_user_id)).toEqual(['U1']);

  customer(server, 'Hello?');
  server.send('operator_joined', { admin_id: 'a2', line_user_id: 'U1', operators: ['a1', 'a2'] });
  server.send('typing_started', { admin_id: 'a2', line_user_id: 'U1' });
  await flush(0);
  expect(items()).toEqual(['Customer: Hello?']);
  expect(wrapper.find('.presence').text()).toBe('2 operator(s) here');
  expect(wrapper.find('.typing').text()).toBe('a2 typing…');

  await wrapper.find('input').setValue('Hi, how can I help?');
  await wrapper.find('form').trigger('submit');
  expect(items()).toEqual(['Customer: Hello?', 'You: Hi, how can I help? …']);
  expect((wrapper.find('input').element as HTMLInputElement).value).toBe('');
  await flush();
  expect(server.framesOf('typing_start')).toHaveLength(1);
  expect(server.framesOf('message_send').map((frame) => frame.payload.message)).toEqual([{ type: 'text', text: 'Hi, how can I help?' }]);
  expect(items()).toEqual(['Customer: Hello?', 'a1: Hi, how can I help?']);

  // An empty draft sends nothing.
  await wrapper.find('form').trigger('submit');
  await flush();
  expect(server.framesOf('message_send')).toHaveLength(1);

  wrapper.unmount();
  await flush();
  expect(server.framesOf('leave_conversation')).toHaveLength(1);
  client.disconnect();
});

test('the guide pane shows a failed message with Retry and Discard', async () => {
  const { server, client, wrapper, items } = await setup({ queue: { ackTimeoutMs: 100, maxRetries: 0 } });
  server.ackMessages = false;
  for (const text of ['first', 'second']) {
    await wrapper.find('input').setValue(text);
    await wrapper.find('form').trigger('submit');
  }
  await flush(200);
  expect(items()).toEqual(['You: first not sent (ack_timeout) RetryDiscard', 'You: second not sent (ack_timeout) RetryDiscard']);

  server.ackMessages = true;
  await wrapper.findAll('li')[0]!.find('button.retry').trigger('click');
  await flush();
  expect(items()).toEqual(['a1: first', 'You: second not sent (ack_timeout) RetryDiscard']);

  await wrapper.findAll('li')[1]!.find('button.discard').trigger('click');
  expect(items()).toEqual(['a1: first']);
  expect(client.outbox()).toEqual([]);
  wrapper.unmount();
  client.disconnect();
});
