// @vitest-environment happy-dom
import { mount } from '@vue/test-utils';
import { afterEach, beforeEach, describe, expect, expectTypeOf, test, vi } from 'vitest';
import {
  type ComputedRef,
  type MaybeRefOrGetter,
  type Ref,
  createApp,
  defineComponent,
  effectScope,
  h,
  nextTick,
  ref,
} from 'vue';
import { type ConnectionState, type ConversationSnapshot, type LiveChatClient, LiveChatError, type LiveChatSnapshot } from '../../src/index.js';
import {
  LiveChatPlugin,
  type UseConversationResult,
  type UseLiveChatResult,
  liveChatKey,
  provideLiveChat,
  useConversation,
  useLiveChat,
  useLiveChatClient,
} from '../../src/vue/index.js';
import { listeners } from '../support/listeners.js';
import { FakeServer, connectClient, connectedPair, createClient, flush, stopServers } from '../unit/helpers.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  stopServers();
  vi.useRealTimers();
  vi.restoreAllMocks();
});

/** Runs `fn` inside a new effect scope, with `client` provided by an app (as Pinia stores run). */
function inScope<T>(client: LiveChatClient, fn: () => T): { result: T; stop: () => void } {
  const app = createApp({}).use(LiveChatPlugin, client);
  const scope = effectScope();
  const result = app.runWithContext(() => scope.run(fn))!;
  return { result, stop: () => scope.stop() };
}

/** Mounts a component whose setup calls `use`; `result` is what the composable returned. */
function mountWith<T>(client: LiveChatClient, use: () => T, render: (result: T) => string) {
  const captured: { result?: T } = {};
  const Component = defineComponent({
    setup() {
      const result = use();
      captured.result = result;
      return () => h('p', render(result));
    },
  });
  const wrapper = mount(Component, { global: { plugins: [[LiveChatPlugin, client]] } });
  return { wrapper, get result() { return captured.result!; } };
}

const joins = (server: FakeServer) => server.framesOf('join_conversation').map((frame) => frame.payload.line_user_id);
const leaves = (server: FakeServer) => server.framesOf('leave_conversation').map((frame) => frame.payload.line_user_id);
const customer = (server: FakeServer, id: string, text: string) =>
  server.send('message_received', { line_user_id: id, message: { type: 'text', text }, seq: server.nextSeq(id) });
const texts = (snapshot: ConversationSnapshot) => snapshot.messages.map((message) => `${message.content.text}:${message.status}`);

describe('in an effect scope', () => {
  test('the refs follow the state: connecting → connected → reconnecting → connected', async () => {
    const server = new FakeServer();
    const client = createClient(server);
    const { result: chat, stop } = inScope(client, () => useLiveChat());
    expect(chat.connectionState.value).toBe('disconnected');
    expect(chat.client).toBe(client);

    client.connect();
    expect(chat.connectionState.value).toBe('connecting');
    expect(chat.isConnected.value).toBe(false);
    await flush();
    expect(chat.connectionState.value).toBe('connected');
    expect(chat.isConnected.value).toBe(true);
    expect(chat.snapshot.value.adminId).toBe('a1');

    server.close(1006);
    await flush();
    expect(chat.connectionState.value).toBe('reconnecting');
    expect(chat.isReconnecting.value).toBe(true);
    expect(chat.reconnectAttempts.value).toBe(1);
    expect(chat.snapshot.value.nextRetryAt).toBeTypeOf('number');

    await flush(1020);
    expect(chat.connectionState.value).toBe('connected');
    expect(chat.isReconnecting.value).toBe(false);
    // The ref holds the client's own immutable snapshot, not a copy or a proxy.
    expect(chat.snapshot.value).toBe(client.getSnapshot());
    stop();
    client.disconnect();
  });

  test('the refs are read-only: writing warns and changes nothing', async () => {
    const { client } = await connectedPair();
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const { result: chat, stop } = inScope(client, () => useLiveChat());
    const before = chat.snapshot.value;
    (chat.snapshot as Ref<unknown>).value = { state: 'disconnected' };
    (chat.connectionState as Ref<unknown>).value = 'disconnected';
    (chat.isConnected as Ref<unknown>).value = false;
    expect(chat.snapshot.value).toBe(before);
    expect(chat.connectionState.value).toBe('connected');
    expect(chat.isConnected.value).toBe(true);
    expect(warn).toHaveBeenCalledTimes(3);
    // The snapshot itself is frozen: a write to it throws (modules are strict).
    expect(() => {
      (chat.snapshot.value as { state: ConnectionState }).state = 'disconnected';
    }).toThrow(TypeError);
    stop();
    client.disconnect();
  });

  test('scope.stop() unsubscribes: no listener is left and later changes update nothing', async () => {
    const server = new FakeServer();
    const client = createClient(server);
    const count = listeners(client);
    const { result: chat, stop } = inScope(client, () => useLiveChat());
    expect(count()).toBe(1);
    await connectClient(client);
    expect(chat.connectionState.value).toBe('connected');
    stop();
    expect(count()).toBe(0);
    client.disconnect();
    expect(client.state).toBe('disconnected');
    expect(chat.connectionState.value).toBe('connected');
    expect(chat.snapshot.value.state).toBe('connected');
  });

  test('useConversation joins at once, follows its id (a ref), and leaves when the scope stops', async () => {
    const { server, client } = await connectedPair();
    const id = ref('U1');
    const u1 = listeners(client.conversation('U1'));
    const { result: conversation, stop } = inScope(client, () => useConversation(id));
    await flush();
    expect(joins(server)).toEqual(['U1']);
    expect(conversation.snapshot.value.joined).toBe(true);
    customer(server, 'U1', 'hello');
    expect(texts(conversation.snapshot.value)).toEqual(['hello:sent']);

    id.value = 'U2';
    await nextTick();
    await flush();
    expect(joins(server)).toEqual(['U1', 'U2']);
    expect(leaves(server)).toEqual(['U1']);
    expect(u1()).toBe(0);
    expect(conversation.snapshot.value.id).toBe('U2');
    expect(conversation.snapshot.value).toBe(client.conversation('U2').getSnapshot());

    stop();
    await flush();
    expect(leaves(server)).toEqual(['U1', 'U2']);
    customer(server, 'U2', 'late');
    expect(conversation.snapshot.value.messages).toEqual([]);
    client.disconnect();
  });
});

describe('useLiveChat in a component', () => {
  test('renders each state change: connecting → connected → reconnecting → connected', async () => {
    const server = new FakeServer();
    const client = createClient(server);
    const { wrapper } = mountWith(client, useLiveChat, (chat) => `${chat.connectionState.value} ${chat.reconnectAttempts.value}`);
    expect(wrapper.text()).toBe('disconnected 0');
    client.connect();
    await nextTick();
    expect(wrapper.text()).toBe('connecting 0');
    await flush();
    expect(wrapper.text()).toBe('connected 0');
    server.close(1006);
    await flush();
    expect(wrapper.text()).toBe('reconnecting 1');
    await flush(1020);
    expect(wrapper.text()).toBe('connected 1');
    // The attempt count is reset once the connection has been stable for a while.
    await flush(5000);
    expect(wrapper.text()).toBe('connected 0');
    wrapper.unmount();
    client.disconnect();
  });

  test('unmount unsubscribes: no listener left, later changes update nothing', async () => {
    const server = new FakeServer();
    const client = createClient(server);
    const count = listeners(client);
    const mounted = mountWith(client, useLiveChat, (chat) => chat.connectionState.value);
    expect(count()).toBe(1);
    await connectClient(client);
    await nextTick();
    expect(mounted.wrapper.text()).toBe('connected');
    mounted.wrapper.unmount();
    expect(count()).toBe(0);
    client.disconnect();
    expect(mounted.result.connectionState.value).toBe('connected');
  });

  test('a state change between setup and mount is not missed', async () => {
    const { client } = await connectedPair();
    const { wrapper } = mountWith(
      client,
      () => {
        const chat = useLiveChat();
        // After the composable, before the component mounts (and subscribes).
        client.disconnect();
        return chat;
      },
      (chat) => chat.connectionState.value,
    );
    expect(wrapper.text()).toBe('disconnected');
    client.connect();
    await nextTick();
    expect(wrapper.text()).toBe('connecting');
    wrapper.unmount();
    client.disconnect();
  });
});

describe('useConversation in a component', () => {
  const Pane = defineComponent({
    props: { id: { type: String, required: true } },
    setup(props) {
      const conversation = useConversation(() => props.id);
      return () => h('p', `${conversation.snapshot.value.id}|${texts(conversation.snapshot.value).join(',')}`);
    },
  });

  test('joins on mount (the server receives join_conversation) and leaves on unmount', async () => {
    const { server, client } = await connectedPair();
    const count = listeners(client.conversation('U1'));
    const { wrapper, result } = mountWith(client, () => useConversation('U1'), (c) => texts(c.snapshot.value).join(','));
    await flush();
    expect(joins(server)).toEqual(['U1']);
    expect(result.snapshot.value.joined).toBe(true);
    expect(count()).toBe(1);

    customer(server, 'U1', 'hi');
    await nextTick();
    expect(wrapper.text()).toBe('hi:sent');

    wrapper.unmount();
    await flush();
    expect(leaves(server)).toEqual(['U1']);
    expect(count()).toBe(0);
    expect(client.conversation('U1').getSnapshot().joined).toBe(false);
    customer(server, 'U1', 'after');
    expect(result.snapshot.value.messages).toHaveLength(1);
    client.disconnect();
  });

  test('id as a getter (a prop): switching leaves the old conversation, joins the new one, and the snapshot follows', async () => {
    const { server, client } = await connectedPair();
    customer(server, 'U2', 'waiting');
    const wrapper = mount(Pane, { props: { id: 'U1' }, global: { plugins: [[LiveChatPlugin, client]] } });
    await flush();
    expect(joins(server)).toEqual(['U1']);
    expect(wrapper.text()).toBe('U1|');

    await wrapper.setProps({ id: 'U2' });
    await flush();
    expect(joins(server)).toEqual(['U1', 'U2']);
    expect(leaves(server)).toEqual(['U1']);
    customer(server, 'U2', 'hello');
    customer(server, 'U1', 'elsewhere');
    await nextTick();
    expect(wrapper.text()).toBe('U2|hello:sent');

    wrapper.unmount();
    await flush();
    expect(leaves(server)).toEqual(['U1', 'U2']);
    client.disconnect();
  });

  test('id as a ref: switching leaves the old conversation and joins the new one', async () => {
    const { server, client } = await connectedPair();
    const id = ref('U1');
    const { wrapper } = mountWith(client, () => useConversation(id), (c) => `${c.snapshot.value.id}|${texts(c.snapshot.value).join(',')}`);
    await flush();
    customer(server, 'U1', 'one');
    await nextTick();
    expect(wrapper.text()).toBe('U1|one:sent');
    id.value = 'U3';
    await nextTick();
    await flush();
    expect(joins(server)).toEqual(['U1', 'U3']);
    expect(leaves(server)).toEqual(['U1']);
    expect(wrapper.text()).toBe('U3|');
    customer(server, 'U3', 'three');
    await nextTick();
    expect(wrapper.text()).toBe('U3|three:sent');
    wrapper.unmount();
    client.disconnect();
  });

  test('two components on one id: one join, and the leave comes after both unmount', async () => {
    const { server, client } = await connectedPair();
    const options = { props: { id: 'U1' }, global: { plugins: [[LiveChatPlugin, client] as [typeof LiveChatPlugin, LiveChatClient]] } };
    const first = mount(Pane, options);
    const second = mount(Pane, options);
    await flush();
    expect(joins(server)).toEqual(['U1']);
    customer(server, 'U1', 'both');
    await nextTick();
    expect([first.text(), second.text()]).toEqual(['U1|both:sent', 'U1|both:sent']);

    first.unmount();
    await flush();
    expect(leaves(server)).toEqual([]);
    expect(client.conversation('U1').getSnapshot().joined).toBe(true);
    second.unmount();
    await flush();
    expect(leaves(server)).toEqual(['U1']);
    client.disconnect();
  });

  test('the actions are bound to the current id; pending and failed messages show, and can be retried or discarded', async () => {
    const { server, client } = await connectedPair();
    server.ackMessages = false;
    const id = ref('U1');
    const { wrapper, result } = mountWith(
      client,
      () => useConversation(id),
      (c) => texts(c.snapshot.value).join(','),
    );
    await flush();
    result.startTyping();
    const sent = result.sendMessage('first');
    sent.catch(() => {});
    await nextTick();
    expect(wrapper.text()).toBe('first:pending');
    await flush();
    expect(server.framesOf('typing_start').map((frame) => frame.payload.line_user_id)).toEqual(['U1']);
    expect(server.framesOf('message_send').map((frame) => frame.payload.line_user_id)).toEqual(['U1']);

    const tempId = result.snapshot.value.outgoing[0]!.tempId!;
    expect(result.discardMessage(tempId)).toBe(true);
    await expect(sent).rejects.toMatchObject({ code: 'discarded' });
    await nextTick();
    expect(wrapper.text()).toBe('');

    id.value = 'U2';
    await nextTick();
    await flush();
    result.startTyping();
    result.stopTyping();
    server.ackMessages = true;
    await expect(Promise.all([result.sendMessage('second'), flush()])).resolves.toBeDefined();
    expect(server.framesOf('typing_start').map((frame) => frame.payload.line_user_id)).toEqual(['U1', 'U2']);
    expect(server.framesOf('typing_stop').map((frame) => frame.payload.line_user_id)).toContain('U2');
    expect(server.framesOf('message_send').map((frame) => frame.payload.line_user_id)).toEqual(['U1', 'U2']);
    await nextTick();
    expect(wrapper.text()).toBe('second:sent');
    wrapper.unmount();
    client.disconnect();
  });

  test('a failed message can be retried from the composable', async () => {
    const { server, client } = await connectedPair({ queue: { ackTimeoutMs: 100, maxRetries: 0 } });
    server.ackMessages = false;
    const { wrapper, result } = mountWith(client, () => useConversation('U1'), (c) => texts(c.snapshot.value).join(','));
    await flush();
    const sent = result.sendMessage('oops');
    sent.catch(() => {});
    await flush(200);
    await expect(sent).rejects.toMatchObject({ code: 'ack_timeout' });
    await nextTick();
    expect(wrapper.text()).toBe('oops:failed');

    server.ackMessages = true;
    const tempId = result.snapshot.value.outgoing[0]!.tempId!;
    const [ack] = await Promise.all([result.retryMessage(tempId), flush()]);
    expect(ack.tempId).toBe(tempId);
    await nextTick();
    expect(wrapper.text()).toBe('oops:sent');
    wrapper.unmount();
    client.disconnect();
  });
});

test('addHistory merges a page into the conversation of the current id', async () => {
  const { client } = await connectedPair();
  const id = ref('U1');
  const { result, stop } = inScope(client, () => useConversation(id));
  result.addHistory([
    { seq: 2, sender: 'customer', content: { type: 'text', text: 'b' }, timestamp: '2026-01-01T00:00:01Z' },
    { seq: 1, sender: 'customer', content: { type: 'text', text: 'a' }, timestamp: '2026-01-01T00:00:00Z' },
  ]);
  expect(texts(result.snapshot.value)).toEqual(['a:sent', 'b:sent']);
  id.value = 'U2';
  await nextTick();
  result.addHistory([{ seq: 1, sender: 'customer', content: { type: 'text', text: 'other' }, timestamp: '2026-01-01T00:00:00Z' }]);
  expect(texts(result.snapshot.value)).toEqual(['other:sent']);
  expect(texts(client.conversation('U1').getSnapshot())).toEqual(['a:sent', 'b:sent']);
  stop();
  client.disconnect();
});

describe('providing the client', () => {
  test('app.use(LiveChatPlugin, client) provides it to every component', async () => {
    const { client } = await connectedPair();
    const root = document.createElement('div');
    const app = createApp(
      defineComponent({
        setup() {
          const { connectionState } = useLiveChat();
          return () => h('p', connectionState.value);
        },
      }),
    );
    app.use(LiveChatPlugin, client).mount(root);
    expect(root.textContent).toBe('connected');
    expect(app.runWithContext(() => useLiveChatClient())).toBe(client);
    app.unmount();
    client.disconnect();
  });

  test('provideLiveChat(client) provides it to the descendants', async () => {
    const { server, client } = await connectedPair();
    const Child = defineComponent({
      setup() {
        const chat = useLiveChat();
        const conversation = useConversation('U1');
        return () => h('p', `${chat.connectionState.value} ${conversation.snapshot.value.joined}`);
      },
    });
    const Parent = defineComponent({
      setup() {
        provideLiveChat(client);
        return () => h(Child);
      },
    });
    const wrapper = mount(Parent);
    await flush();
    expect(wrapper.text()).toBe('connected true');
    expect(joins(server)).toEqual(['U1']);
    wrapper.unmount();
    client.disconnect();
  });

  test('the nearest provider wins', async () => {
    const outer = createClient(new FakeServer());
    const inner = createClient(new FakeServer());
    const Child = defineComponent({
      setup() {
        const client = useLiveChatClient();
        return () => h('p', String(client === inner));
      },
    });
    const Parent = defineComponent({
      setup() {
        provideLiveChat(inner);
        return () => h(Child);
      },
    });
    const wrapper = mount(Parent, { global: { plugins: [[LiveChatPlugin, outer]] } });
    expect(wrapper.text()).toBe('true');
    wrapper.unmount();
  });
});

describe('errors', () => {
  const expectInvalid = (fn: () => unknown, message: RegExp) => {
    let caught: unknown;
    try {
      fn();
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(LiveChatError);
    expect(caught).toMatchObject({ code: 'invalid_argument', message: expect.stringMatching(message) });
  };

  test('outside setup or a component: a LiveChatError invalid_argument that says where to call it', () => {
    expectInvalid(() => useLiveChat(), /setup/);
    expectInvalid(() => useConversation('U1'), /setup/);
    expectInvalid(() => useLiveChatClient(), /setup/);
    // An effect scope alone is not an injection context either.
    expectInvalid(() => effectScope().run(() => useLiveChat()), /setup/);
  });

  test('no client provided: a LiveChatError invalid_argument that says how to provide one', () => {
    vi.spyOn(console, 'warn').mockImplementation(() => {});
    for (const use of [() => useLiveChat(), () => useConversation('U1')]) {
      const Component = defineComponent({
        setup() {
          use();
          return () => h('p');
        },
      });
      expectInvalid(() => mount(Component), /LiveChatPlugin.*provideLiveChat/);
    }
    expectInvalid(() => createApp({}).runWithContext(() => useLiveChat()), /provideLiveChat/);
  });
});

describe('types', () => {
  test('the composables return read-only refs of the snapshot types', () => {
    expectTypeOf(useLiveChat).returns.toEqualTypeOf<UseLiveChatResult>();
    expectTypeOf<UseLiveChatResult['snapshot']>().toEqualTypeOf<Readonly<Ref<LiveChatSnapshot>>>();
    expectTypeOf<UseLiveChatResult['connectionState']>().toEqualTypeOf<Readonly<Ref<ConnectionState>>>();
    expectTypeOf<UseLiveChatResult['isConnected']['value']>().toEqualTypeOf<boolean>();
    expectTypeOf<UseLiveChatResult['reconnectAttempts']['value']>().toEqualTypeOf<number>();
    expectTypeOf<UseLiveChatResult['client']>().toEqualTypeOf<LiveChatClient>();
    expectTypeOf(useConversation).returns.toEqualTypeOf<UseConversationResult>();
    expectTypeOf<UseConversationResult['snapshot']>().toEqualTypeOf<Readonly<Ref<ConversationSnapshot>>>();
    expectTypeOf<UseConversationResult['sendMessage']>().returns.toEqualTypeOf<ReturnType<LiveChatClient['sendMessage']>>();
    expectTypeOf(liveChatKey).toExtend<symbol>();

    // Read-only: assigning `.value` does not compile.
    const check = (chat: UseLiveChatResult, conversation: UseConversationResult) => {
      // @ts-expect-error the ref is read-only
      chat.snapshot.value = chat.snapshot.value;
      // @ts-expect-error the ref is read-only
      chat.connectionState.value = 'connected';
      // @ts-expect-error the ref is read-only
      conversation.snapshot.value = conversation.snapshot.value;
      // @ts-expect-error the snapshot is immutable
      conversation.snapshot.value.messages.push(conversation.snapshot.value.messages[0]!);
    };
    expect(check).toBeTypeOf('function');
  });

  test('useConversation accepts a string, a ref or a getter', () => {
    type Id = Parameters<typeof useConversation>[0];
    expectTypeOf<Id>().toEqualTypeOf<MaybeRefOrGetter<string>>();
    expectTypeOf<string>().toExtend<Id>();
    expectTypeOf<Ref<string>>().toExtend<Id>();
    expectTypeOf<ComputedRef<string>>().toExtend<Id>();
    expectTypeOf<() => string>().toExtend<Id>();
    expectTypeOf<number>().not.toExtend<Id>();
    expectTypeOf<Ref<number>>().not.toExtend<Id>();
    expectTypeOf<() => string | undefined>().not.toExtend<Id>();
  });
});
