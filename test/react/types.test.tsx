/**
 * Type tests of the React adapter. `expectTypeOf` is checked by `tsc --noEmit` (which `npm test`
 * runs), and so is every `@ts-expect-error` below: an invalid call that starts to compile fails the
 * typecheck. The components are never rendered: hooks need a provider, the types do not.
 */
import { StrictMode } from 'react';
import { describe, expectTypeOf, test } from 'vitest';
import type {
  ChatMessage,
  ConnectionState,
  LiveChatClient,
  LiveChatError,
  LiveChatEvents,
  LiveChatSnapshot,
  MessageAck,
  MessageContent,
  ServerEnvelope,
  ServerPayloads,
} from '../../src/index.js';
import {
  LiveChatProvider,
  type LiveChatProviderProps,
  type UseConversationResult,
  type UseLiveChatResult,
  useConversation,
  useLiveChat,
  useLiveChatClient,
  useLiveChatEvent,
} from '../../src/react/index.js';

describe('hook return types', () => {
  test('useLiveChat: the seed plan shape, typed', () => {
    expectTypeOf(useLiveChat).parameters.toEqualTypeOf<[]>();
    expectTypeOf(useLiveChat).returns.toEqualTypeOf<UseLiveChatResult>();
    expectTypeOf<UseLiveChatResult['connectionState']>().toEqualTypeOf<ConnectionState>();
    expectTypeOf<ConnectionState>().toEqualTypeOf<'connecting' | 'connected' | 'reconnecting' | 'disconnected'>();
    expectTypeOf<UseLiveChatResult['isConnected']>().toBeBoolean();
    expectTypeOf<UseLiveChatResult['isReconnecting']>().toBeBoolean();
    expectTypeOf<UseLiveChatResult['reconnectAttempts']>().toBeNumber();
    expectTypeOf<UseLiveChatResult['snapshot']>().toEqualTypeOf<LiveChatSnapshot>();
    expectTypeOf<UseLiveChatResult['client']>().toEqualTypeOf<LiveChatClient>();
    expectTypeOf<UseLiveChatResult['joinConversation']>().toEqualTypeOf<(conversationId: string) => () => void>();
    expectTypeOf<UseLiveChatResult['leaveConversation']>().toEqualTypeOf<(conversationId: string) => void>();
    expectTypeOf<UseLiveChatResult['startTyping']>().toEqualTypeOf<(conversationId: string) => void>();
    expectTypeOf<UseLiveChatResult['stopTyping']>().toEqualTypeOf<(conversationId: string) => void>();
    expectTypeOf<UseLiveChatResult['sendMessage']>().toBeCallableWith('U1', 'hello');
    expectTypeOf<UseLiveChatResult['sendMessage']>().toBeCallableWith('U1', { type: 'sticker', packageId: '1' }, { tempId: 't1' });
    expectTypeOf<UseLiveChatResult['sendMessage']>().returns.toEqualTypeOf<Promise<MessageAck>>();
    expectTypeOf<UseLiveChatResult['send']>().toBeCallableWith('typing_start', { line_user_id: 'U1' });
    expectTypeOf(useLiveChatClient).returns.toEqualTypeOf<LiveChatClient>();
  });

  test('useConversation: the snapshot and actions bound to the id', () => {
    expectTypeOf(useConversation).parameters.toEqualTypeOf<[conversationId: string]>();
    expectTypeOf(useConversation).returns.toEqualTypeOf<UseConversationResult>();
    expectTypeOf<UseConversationResult['id']>().toBeString();
    expectTypeOf<UseConversationResult['messages']>().toEqualTypeOf<readonly ChatMessage[]>();
    expectTypeOf<UseConversationResult['pending']>().toEqualTypeOf<readonly ChatMessage[]>();
    expectTypeOf<UseConversationResult['typing']>().toEqualTypeOf<readonly string[]>();
    expectTypeOf<UseConversationResult['operators']>().toEqualTypeOf<readonly string[]>();
    expectTypeOf<ChatMessage['status']>().toEqualTypeOf<'pending' | 'sent' | 'failed'>();
    // No conversation id in the bound actions.
    expectTypeOf<UseConversationResult['sendMessage']>().parameters.toEqualTypeOf<[message: string | MessageContent]>();
    expectTypeOf<UseConversationResult['sendMessage']>().returns.toEqualTypeOf<Promise<MessageAck>>();
    expectTypeOf<UseConversationResult['startTyping']>().toEqualTypeOf<() => void>();
    expectTypeOf<UseConversationResult['stopTyping']>().toEqualTypeOf<() => void>();
    expectTypeOf<UseConversationResult['retryMessage']>().toEqualTypeOf<(tempId: string) => Promise<MessageAck>>();
    expectTypeOf<UseConversationResult['discardMessage']>().toEqualTypeOf<(tempId: string) => boolean>();
  });
});

describe('useLiveChatEvent', () => {
  test('the handler receives the typed payload of its event', () => {
    function Listeners() {
      useLiveChatEvent('message_received', (payload) => {
        expectTypeOf(payload).toEqualTypeOf<ServerPayloads['message_received']>();
        expectTypeOf(payload.line_user_id).toBeString();
        expectTypeOf(payload.message).toEqualTypeOf<MessageContent>();
        expectTypeOf(payload.seq).toEqualTypeOf<number | undefined>();
      });
      useLiveChatEvent('typing_started', (payload) => expectTypeOf(payload.admin_id).toBeString());
      useLiveChatEvent('state', (event) => expectTypeOf(event).toEqualTypeOf<{ previous: ConnectionState; current: ConnectionState }>());
      useLiveChatEvent('error', (error) => expectTypeOf(error).toEqualTypeOf<LiveChatError>());
      useLiveChatEvent('message', (envelope) => expectTypeOf(envelope).toEqualTypeOf<ServerEnvelope>());
      useLiveChatEvent('resync', (event) => expectTypeOf(event).toEqualTypeOf<{ conversationId: string }>());
      // @ts-expect-error not an event
      useLiveChatEvent('no_such_event', () => {});
      // @ts-expect-error a handler for another payload
      useLiveChatEvent('state', (event: LiveChatEvents['resync']) => event);
      // @ts-expect-error `error` frames arrive as LiveChatError on 'error', never as a raw payload
      useLiveChatEvent('error', (event: ServerPayloads['error']) => event);
      return null;
    }
    expectTypeOf(Listeners).toBeFunction();
    expectTypeOf(useLiveChatEvent).returns.toBeVoid();
  });
});

describe('LiveChatProvider props', () => {
  test('accept a client XOR options', () => {
    function Trees({ client }: { client: LiveChatClient }) {
      return (
        <StrictMode>
          <LiveChatProvider client={client}>child</LiveChatProvider>
          <LiveChatProvider options={{ url: 'wss://example.com/ws', token: () => 'jwt' }}>child</LiveChatProvider>
          <LiveChatProvider client={client} />
          {/* @ts-expect-error both a client and options */}
          <LiveChatProvider client={client} options={{ url: 'wss://example.com/ws' }} />
          {/* @ts-expect-error neither */}
          <LiveChatProvider>child</LiveChatProvider>
          {/* @ts-expect-error options need a url */}
          <LiveChatProvider options={{ token: 'jwt' }} />
          {/* @ts-expect-error a client must be a LiveChatClient */}
          <LiveChatProvider client={{ connect() {} }} />
        </StrictMode>
      );
    }
    expectTypeOf(Trees).toBeFunction();
    expectTypeOf<{ client: LiveChatClient }>().toExtend<LiveChatProviderProps>();
    expectTypeOf<{ options: { url: string } }>().toExtend<LiveChatProviderProps>();
    expectTypeOf<{ client: LiveChatClient; options: { url: string } }>().not.toExtend<LiveChatProviderProps>();
    expectTypeOf<{ children: string }>().not.toExtend<LiveChatProviderProps>();
  });
});
