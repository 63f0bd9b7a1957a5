/**
 * `@org/live-chat-client`: the framework-agnostic core.
 *
 * @module core
 */
export { LiveChatClient } from './client.js';
export type { LiveChatEvents, LiveChatSnapshot, SendMessageOptions } from './client.js';
export type { ConnectionState } from './connection.js';
export { Conversation } from './conversation.js';
export type { ChatMessage, ConversationSnapshot, HistoryMessage, MessageStatus } from './conversation.js';
export type { Unsubscribe } from './emitter.js';
export { DeliveryError, LiveChatError, ServerError, isLiveChatError } from './errors.js';
export type { LiveChatErrorCode } from './errors.js';
export type { HeartbeatOptions } from './heartbeat.js';
export type {
  CloseEventLike,
  LiveChatClientOptions,
  TokenSource,
  WebSocketConstructor,
  WebSocketLike,
} from './options.js';
export { CloseCode } from './protocol.js';
export type { ClientMessageType, ClientPayloads, Envelope, MessageContent, ServerEnvelope, ServerMessageType, ServerPayloads } from './protocol.js';
export type { DeliveryUpdate, MessageAck, OutboxEntry, OutboxStorage, QueueOptions } from './queue.js';
export { ExponentialBackoffStrategy, FixedIntervalStrategy } from './reconnect.js';
export type { ExponentialBackoffOptions, FixedIntervalOptions, ReconnectStrategy } from './reconnect.js';
export { localStorageOutbox } from './storage.js';
export type { Listener } from './subscribable.js';
export type { TypingOptions } from './typing.js';
