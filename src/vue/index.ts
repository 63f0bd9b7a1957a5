/**
 * Vue bindings: a plugin (or `provideLiveChat`), and composables built on `shallowRef` + the
 * client's and each conversation's `subscribe`, released with `onScopeDispose`. They hold no logic
 * of their own.
 *
 * @module vue
 */
import {
  type App,
  type InjectionKey,
  type MaybeRefOrGetter,
  type Ref,
  computed,
  getCurrentInstance,
  getCurrentScope,
  hasInjectionContext,
  inject,
  onBeforeMount,
  onScopeDispose,
  provide,
  readonly,
  shallowRef,
  toValue,
  watch,
} from 'vue';
import {
  type ConnectionState,
  type ConversationSnapshot,
  type HistoryMessage,
  type LiveChatClient,
  LiveChatError,
  type LiveChatSnapshot,
} from '../index.js';

/** The injection key of the client; `provideLiveChat` and the plugin provide it. */
export const liveChatKey: InjectionKey<LiveChatClient> = Symbol('live-chat-client');

/**
 * `app.use(LiveChatPlugin, client)`: provides the client to every component. The app owns the
 * client (connects and disconnects it).
 */
export const LiveChatPlugin = {
  install(app: App, client: LiveChatClient): void {
    app.provide(liveChatKey, client);
  },
};

/** Provides the client to the calling component's descendants (inside `setup`). */
export function provideLiveChat(client: LiveChatClient): void {
  provide(liveChatKey, client);
}

/** The provided client. Throws a clear error outside `setup` or without a provided client. */
export function useLiveChatClient(): LiveChatClient {
  if (!hasInjectionContext()) {
    throw new LiveChatError('invalid_argument', 'useLiveChat() must be called inside setup() or a component');
  }
  const client = inject(liveChatKey, null);
  if (!client) throw new LiveChatError('invalid_argument', 'no live-chat client: app.use(LiveChatPlugin, client) or provideLiveChat(client)');
  return client;
}

/**
 * Runs `start` (which returns its own stop) for the life of the current effect scope. In a
 * component it starts before the first mount: lifecycle hooks never run during server rendering,
 * where nothing would ever stop it (components are not unmounted there).
 */
function whileActive(start: () => () => void): void {
  const run = () => onScopeDispose(start());
  if (getCurrentInstance()) onBeforeMount(run);
  else if (getCurrentScope()) run();
  else start();
}

/** A read-only shallow ref of an external store's snapshot, subscribed while mounted (or while the scope lives). */
function storeRef<S>(getSnapshot: () => S, subscribe: (listener: () => void) => () => void): Readonly<Ref<S>> {
  const state = shallowRef(getSnapshot());
  whileActive(() => {
    const update = () => {
      state.value = getSnapshot();
    };
    // The snapshot may have changed between setup and mount.
    update();
    return subscribe(update);
  });
  return readonly(state) as Readonly<Ref<S>>;
}

/** What {@link useLiveChat} returns: read-only refs of the connection state, and the client's actions. */
export interface UseLiveChatResult {
  snapshot: Readonly<Ref<LiveChatSnapshot>>;
  connectionState: Readonly<Ref<ConnectionState>>;
  isConnected: Readonly<Ref<boolean>>;
  isReconnecting: Readonly<Ref<boolean>>;
  reconnectAttempts: Readonly<Ref<number>>;
  client: LiveChatClient;
}

/** The connection state as read-only refs; the client for its actions (`client.sendMessage`, …). */
export function useLiveChat(): UseLiveChatResult {
  const client = useLiveChatClient();
  const snapshot = storeRef(client.getSnapshot, client.subscribe);
  return {
    snapshot,
    connectionState: computed(() => snapshot.value.state),
    isConnected: computed(() => snapshot.value.state === 'connected'),
    isReconnecting: computed(() => snapshot.value.state === 'reconnecting'),
    reconnectAttempts: computed(() => snapshot.value.reconnectAttempt),
    client,
  };
}

/** What {@link useConversation} returns: the snapshot as a read-only ref, and actions bound to the current id. */
export interface UseConversationResult {
  /** Messages (sent by seq, then pending and failed), typing and present operators, `joined`, … */
  snapshot: Readonly<Ref<ConversationSnapshot>>;
  sendMessage(message: Parameters<LiveChatClient['sendMessage']>[1]): ReturnType<LiveChatClient['sendMessage']>;
  startTyping(): void;
  stopTyping(): void;
  /** Sends a failed message again (by its `tempId`). */
  retryMessage: LiveChatClient['retryMessage'];
  /** Removes a pending or failed message (by its `tempId`). */
  discardMessage: LiveChatClient['discardMessage'];
  /** Merges a page of history (e.g. loaded over HTTP) into the current conversation. */
  addHistory(messages: readonly HistoryMessage[]): void;
}

/**
 * One conversation; `id` may be a string, a ref or a getter. It is joined while the component is
 * mounted (or, outside a component, while the effect scope lives) and left when it unmounts; joins
 * are counted by the client, so several components can share one. Switching the id leaves the old
 * conversation and joins the new one. Server rendering reads the snapshot and joins nothing.
 */
export function useConversation(id: MaybeRefOrGetter<string>): UseConversationResult {
  const client = useLiveChatClient();
  const snapshot = shallowRef(client.conversation(toValue(id)).getSnapshot());
  whileActive(() =>
    watch(
      () => toValue(id),
      (current, _previous, onCleanup) => {
        const conversation = client.conversation(current);
        const update = () => {
          snapshot.value = conversation.getSnapshot();
        };
        const off = conversation.subscribe(update);
        const leave = client.joinConversation(current);
        update();
        onCleanup(() => {
          off();
          leave();
        });
      },
      { immediate: true },
    ),
  );
  return {
    snapshot: readonly(snapshot) as Readonly<Ref<ConversationSnapshot>>,
    sendMessage: (message) => client.sendMessage(toValue(id), message),
    startTyping: () => client.startTyping(toValue(id)),
    stopTyping: () => client.stopTyping(toValue(id)),
    retryMessage: (tempId) => client.retryMessage(tempId),
    discardMessage: (tempId) => client.discardMessage(tempId),
    addHistory: (messages) => client.conversation(toValue(id)).addHistory(messages),
  };
}
