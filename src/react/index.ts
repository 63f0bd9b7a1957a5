/**
 * React bindings: a provider, and hooks built on `useSyncExternalStore` over the client's and each
 * conversation's `getSnapshot`/`subscribe`. They hold no logic of their own.
 *
 * @module react
 */
'use client';

import {
  type ReactNode,
  createContext,
  createElement,
  useContext,
  useEffect,
  useInsertionEffect,
  useMemo,
  useRef,
  useState,
  useSyncExternalStore,
} from 'react';
import {
  type ConnectionState,
  type ConversationSnapshot,
  LiveChatClient,
  type LiveChatClientOptions,
  LiveChatError,
  type LiveChatEvents,
  type LiveChatSnapshot,
} from '../index.js';

const Context = createContext<LiveChatClient | null>(null);

/** Props of {@link LiveChatProvider}: a client the app owns, or options for one the provider owns. */
export type LiveChatProviderProps = { children?: ReactNode } & (
  | {
      /** A client the app created (and connects and disconnects itself). */
      client: LiveChatClient;
      options?: never;
    }
  | {
      /**
       * Options of a client the provider creates once, connects on mount and disconnects on unmount.
       * Read once: changing them later does not replace the client.
       */
      options: LiveChatClientOptions;
      client?: never;
    }
);

/**
 * Makes a client available to the hooks below it. With `options`, it owns the client: created once
 * (never during server rendering's effects, so no socket on the server), connected in an effect and
 * disconnected on unmount. StrictMode's mount, unmount, mount opens one connection, not two: the
 * first connection attempt is abandoned before it creates a socket.
 */
export function LiveChatProvider(props: LiveChatProviderProps): ReactNode {
  const [owned] = useState(() => (props.client ? undefined : new LiveChatClient(props.options!)));
  const client = props.client ?? owned!;
  useEffect(() => {
    if (!owned) return;
    owned.connect();
    return () => owned.disconnect();
  }, [owned]);
  return createElement(Context.Provider, { value: client }, props.children);
}

/** The client of the nearest {@link LiveChatProvider}. */
export function useLiveChatClient(): LiveChatClient {
  const client = useContext(Context);
  if (!client) throw new LiveChatError('invalid_argument', 'useLiveChat hooks must be used inside <LiveChatProvider>');
  return client;
}

/** What {@link useLiveChat} returns: the seed plan's `useWebSocket` shape, and more. */
export interface UseLiveChatResult {
  connectionState: ConnectionState;
  isConnected: boolean;
  isReconnecting: boolean;
  reconnectAttempts: number;
  /** The whole client snapshot (`nextRetryAt`, `pendingCount`, `failedCount`, `lastError`, `adminId`). */
  snapshot: LiveChatSnapshot;
  send: LiveChatClient['send'];
  sendMessage: LiveChatClient['sendMessage'];
  joinConversation: LiveChatClient['joinConversation'];
  leaveConversation: LiveChatClient['leaveConversation'];
  startTyping: LiveChatClient['startTyping'];
  stopTyping: LiveChatClient['stopTyping'];
  retryMessage: LiveChatClient['retryMessage'];
  discardMessage: LiveChatClient['discardMessage'];
  /** Reconnects now while waiting to reconnect ("Retry now"), or connects. */
  connect: LiveChatClient['connect'];
  client: LiveChatClient;
}

/** The connection state and the client's actions; re-renders only when the snapshot changes. */
export function useLiveChat(): UseLiveChatResult {
  const client = useLiveChatClient();
  const snapshot = useSyncExternalStore(client.subscribe, client.getSnapshot, client.getSnapshot);
  const actions = useMemo(() => bind(client), [client]);
  return {
    ...actions,
    connectionState: snapshot.state,
    isConnected: snapshot.state === 'connected',
    isReconnecting: snapshot.state === 'reconnecting',
    reconnectAttempts: snapshot.reconnectAttempt,
    snapshot,
    client,
  };
}

/** What {@link useConversation} returns: the conversation's snapshot, and actions bound to it. */
export interface UseConversationResult extends ConversationSnapshot {
  /** Pending and failed messages (the same as `outgoing`). */
  pending: ConversationSnapshot['outgoing'];
  sendMessage(message: Parameters<LiveChatClient['sendMessage']>[1]): ReturnType<LiveChatClient['sendMessage']>;
  startTyping(): void;
  stopTyping(): void;
  retryMessage: LiveChatClient['retryMessage'];
  discardMessage: LiveChatClient['discardMessage'];
  /** Merges a page of history (e.g. loaded over HTTP). */
  addHistory: (messages: Parameters<ReturnType<LiveChatClient['conversation']>['addHistory']>[0]) => void;
}

/**
 * One conversation: joined while a component using it is mounted, left after the last one
 * unmounts (joins are counted by the client). Switching `conversationId` leaves the old one and
 * joins the new one. Server rendering reads the snapshot and joins nothing.
 */
export function useConversation(conversationId: string): UseConversationResult {
  const client = useLiveChatClient();
  const conversation = client.conversation(conversationId);
  useEffect(() => client.joinConversation(conversationId), [client, conversationId]);
  const snapshot = useSyncExternalStore(conversation.subscribe, conversation.getSnapshot, conversation.getSnapshot);
  const actions = useMemo(
    () => ({
      sendMessage: (message: Parameters<LiveChatClient['sendMessage']>[1]) => client.sendMessage(conversationId, message),
      startTyping: () => client.startTyping(conversationId),
      stopTyping: () => client.stopTyping(conversationId),
      retryMessage: (tempId: string) => client.retryMessage(tempId),
      discardMessage: (tempId: string) => client.discardMessage(tempId),
      addHistory: conversation.addHistory.bind(conversation),
    }),
    [client, conversation, conversationId],
  );
  return { ...snapshot, pending: snapshot.outgoing, ...actions };
}

/**
 * Calls `handler` for each event of `type`. The latest `handler` is always the one called, without
 * re-subscribing when it changes (no `useCallback` needed).
 */
export function useLiveChatEvent<K extends keyof LiveChatEvents>(type: K, handler: (event: LiveChatEvents[K]) => void): void {
  const client = useLiveChatClient();
  const latest = useRef(handler);
  // Before any effect of the commit runs (one of them may raise the event); a passive effect would
  // let an earlier sibling's effect reach the previous render's handler. No server-render warning.
  useInsertionEffect(() => {
    latest.current = handler;
  });
  useEffect(() => client.on(type, (event) => latest.current(event)), [client, type]);
}

function bind(client: LiveChatClient) {
  return {
    send: client.send.bind(client),
    sendMessage: client.sendMessage.bind(client),
    joinConversation: client.joinConversation.bind(client),
    leaveConversation: client.leaveConversation.bind(client),
    startTyping: client.startTyping.bind(client),
    stopTyping: client.stopTyping.bind(client),
    retryMessage: client.retryMessage.bind(client),
    discardMessage: client.discardMessage.bind(client),
    connect: client.connect.bind(client),
  } as const;
}
