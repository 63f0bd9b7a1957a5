import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { LiveChatError, type ServerEnvelope, ServerError } from '../../src/index.js';
import { connectedPair, errorsOf, record, stopServers, within } from './helpers.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  stopServers();
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

describe('invalid inbound frames', () => {
  test.each([
    ['non-JSON text', 'this is not json'],
    ['binary data', new ArrayBuffer(8)],
    ['a frame without type', JSON.stringify({ payload: { admin_id: 'a1' } })],
    ['invalid payload fields', JSON.stringify({ type: 'message_received', payload: { line_user_id: 'U1', message: 'x', seq: 'one' } })],
    ['a missing required field', JSON.stringify({ type: 'typing_started', payload: { line_user_id: 'U1' } })],
    ['a payload that is not an object', JSON.stringify({ type: 'operator_joined', payload: 'U1' })],
  ])('%s: an invalid_frame error event, no throw, and the connection goes on', async (_, data) => {
    const { server, client } = await connectedPair();
    const errors = errorsOf(client);
    const messages = record<ServerEnvelope>((handler) => client.on('message', handler));
    expect(() => server.sendRaw(data)).not.toThrow();
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(LiveChatError);
    expect(errors[0]?.code).toBe('invalid_frame');
    expect(messages).toEqual([]);
    expect(client.state).toBe('connected');
    await expect(within(client.sendMessage('U1', 'still works'))).resolves.toMatchObject({ conversationId: 'U1' });
    expect(server.connections).toBe(1);
    client.disconnect();
  });
});

describe('events', () => {
  test('unknown frame types pass through as message events', async () => {
    const { server, client } = await connectedPair();
    const errors = errorsOf(client);
    const messages = record<ServerEnvelope>((handler) => client.on('message', handler));
    server.send('shiny_new_thing', { level: 3 });
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatchObject({ type: 'shiny_new_thing', payload: { level: 3 } });
    expect(errors).toEqual([]);
    client.disconnect();
  });

  test('every valid frame is a message event and an event of its own type', async () => {
    const { server, client } = await connectedPair();
    const messages = record<ServerEnvelope>((handler) => client.on('message', handler));
    const updates = record<{ line_user_id: string }>((handler) => client.on('conversation_updated', handler));
    server.send('conversation_updated', { line_user_id: 7, status: 'closed' });
    server.send('pong', {});
    expect(messages.map((message) => message.type)).toEqual(['conversation_updated', 'pong']);
    expect(updates).toEqual([{ line_user_id: '7', status: 'closed' }]);
    client.disconnect();
  });

  test('server error frames become ServerError error events; the connection goes on', async () => {
    const { server, client } = await connectedPair();
    const errors = errorsOf(client);
    server.send('error', { message: 'slow down', code: 'rate_limited' });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(ServerError);
    expect(errors[0]).toMatchObject({ code: 'server_error', serverCode: 'rate_limited', message: 'slow down' });
    expect(client.state).toBe('connected');
    client.disconnect();
  });

  test('on() returns an unsubscribe function that works', async () => {
    const { server, client } = await connectedPair();
    const handler = vi.fn();
    const other = vi.fn();
    const off = client.on('conversation_updated', handler);
    client.on('conversation_updated', other);
    server.send('conversation_updated', { line_user_id: 'U1' });
    off();
    off();
    server.send('conversation_updated', { line_user_id: 'U1' });
    expect(handler).toHaveBeenCalledTimes(1);
    expect(other).toHaveBeenCalledTimes(2);
    client.disconnect();
  });

  test('the same handler registered twice is removed by each unsubscribe separately', async () => {
    const { server, client } = await connectedPair();
    const handler = vi.fn();
    const offFirst = client.on('pong', handler);
    client.on('pong', handler);
    offFirst();
    server.send('pong', {});
    expect(handler).toHaveBeenCalledTimes(1);
    client.disconnect();
  });
});

describe('a throwing handler', () => {
  test('does not stop other handlers or the client; its error is rethrown in a microtask', async () => {
    const { server, client } = await connectedPair();
    const rethrown: (() => void)[] = [];
    vi.stubGlobal('queueMicrotask', (callback: () => void) => rethrown.push(callback));
    const boom = new Error('handler bug');
    const before = vi.fn();
    const after = vi.fn();
    client.on('message_received', before);
    client.on('message_received', () => {
      throw boom;
    });
    client.on('message_received', after);
    client.on('state', () => {
      throw boom;
    });
    client.joinConversation('U1');
    expect(() => server.send('message_received', { line_user_id: 'U1', message: 'hi', seq: 1 })).not.toThrow();
    vi.unstubAllGlobals();
    expect(before).toHaveBeenCalledTimes(1);
    expect(after).toHaveBeenCalledTimes(1);
    expect(client.conversation('U1').getSnapshot().messages).toHaveLength(1);
    expect(rethrown).toHaveLength(1);
    expect(() => rethrown[0]?.()).toThrow(boom);
    // The state handler throws too: the client still completes the transition.
    rethrown.length = 0;
    vi.stubGlobal('queueMicrotask', (callback: () => void) => rethrown.push(callback));
    client.disconnect();
    vi.unstubAllGlobals();
    expect(client.state).toBe('disconnected');
    expect(rethrown).toHaveLength(1);
    expect(() => rethrown[0]?.()).toThrow(boom);
  });
});
