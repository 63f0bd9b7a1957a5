import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { createLocalTyping } from '../../src/typing.js';
import { FakeServer, connectClient, connectedPair, createClient, flush, stopServers, within } from './helpers.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  stopServers();
  vi.useRealTimers();
});

describe('LocalTyping (unit)', () => {
  test('throttles starts per conversation and stops when idle', async () => {
    const send = vi.fn();
    const typing = createLocalTyping({ throttleMs: 1000, idleMs: 2000, remoteTimeoutMs: 0 }, send);
    typing.start_('A');
    typing.start_('A');
    typing.start_('B');
    expect(send.mock.calls).toEqual([
      ['typing_start', 'A'],
      ['typing_start', 'B'],
    ]);
    await vi.advanceTimersByTimeAsync(1000);
    typing.start_('A');
    expect(send).toHaveBeenLastCalledWith('typing_start', 'A');
    await vi.advanceTimersByTimeAsync(2000);
    expect(send.mock.calls.slice(3)).toEqual([
      ['typing_stop', 'B'],
      ['typing_stop', 'A'],
    ]);
    expect(vi.getTimerCount()).toBe(0);
  });

  test('stop() is idempotent and reset() forgets silently', () => {
    const send = vi.fn();
    const typing = createLocalTyping({ throttleMs: 1000, idleMs: 2000, remoteTimeoutMs: 0 }, send);
    typing.stop_('A');
    expect(send).not.toHaveBeenCalled();
    typing.start_('A');
    typing.stop_('A');
    typing.stop_('A');
    expect(send.mock.calls.map(([type]) => type)).toEqual(['typing_start', 'typing_stop']);
    typing.start_('B');
    typing.reset_();
    expect(vi.getTimerCount()).toBe(0);
    expect(send).toHaveBeenCalledTimes(3);
  });
});

const typingOptions = { typing: { throttleMs: 3000, idleMs: 5000, remoteTimeoutMs: 8000 } };

describe('startTyping / stopTyping', () => {
  test('many calls: one typing_start per throttle window, re-sent while typing goes on', async () => {
    const { server, client } = await connectedPair(typingOptions);
    for (let t = 0; t < 7000; t += 100) {
      client.startTyping('U1');
      await flush(100);
    }
    expect(server.framesOf('typing_start').map((frame) => frame.payload)).toEqual([
      { line_user_id: 'U1' },
      { line_user_id: 'U1' },
      { line_user_id: 'U1' },
    ]);
    expect(server.framesOf('typing_stop')).toEqual([]);
    client.disconnect();
  });

  test('typing_stop is sent by itself after idleMs', async () => {
    const { server, client } = await connectedPair(typingOptions);
    client.startTyping('U1');
    await flush(4990);
    expect(server.framesOf('typing_stop')).toHaveLength(0);
    await flush(20);
    expect(server.types()).toEqual(['auth', 'typing_start', 'typing_stop']);
    client.startTyping('U1'); // a new burst starts at once, not throttled by the previous one
    await flush();
    expect(server.framesOf('typing_start')).toHaveLength(2);
    client.disconnect();
  });

  test('sendMessage stops typing first', async () => {
    const { server, client } = await connectedPair(typingOptions);
    client.startTyping('U1');
    await within(client.sendMessage('U1', 'done'));
    expect(server.types()).toEqual(['auth', 'typing_start', 'typing_stop', 'message_send']);
    await flush(10_000);
    expect(server.framesOf('typing_stop')).toHaveLength(1);
    client.disconnect();
  });

  test('stopTyping sends typing_stop once, and nothing when not typing', async () => {
    const { server, client } = await connectedPair(typingOptions);
    client.stopTyping('U1');
    client.startTyping('U1');
    client.stopTyping('U1');
    client.stopTyping('U1');
    await flush();
    expect(server.types()).toEqual(['auth', 'typing_start', 'typing_stop']);
    client.disconnect();
  });

  test('nothing is sent (or queued) when not connected', async () => {
    const server = new FakeServer();
    const client = createClient(server, typingOptions);
    client.startTyping('U1');
    client.stopTyping('U1');
    await connectClient(client);
    await flush(10_000);
    expect(server.types()).toEqual(['auth']);
    client.disconnect();
  });

  test('a lost connection forgets typing without sending a late typing_stop', async () => {
    const { server, client } = await connectedPair(typingOptions);
    client.startTyping('U1');
    server.close(1006);
    await flush(1020);
    expect(client.state).toBe('connected');
    await flush(10_000);
    expect(server.types()).toEqual(['auth', 'typing_start', 'auth']);
    client.startTyping('U1');
    await flush();
    expect(server.framesOf('typing_start')).toHaveLength(2);
    client.disconnect();
  });

  test('startTyping with an empty id throws invalid_argument', () => {
    const client = createClient(new FakeServer());
    expect(() => client.startTyping('')).toThrow(expect.objectContaining({ code: 'invalid_argument' }));
  });
});

describe('remote typing', () => {
  test('typing_started shows in typing; typing_stopped removes it', async () => {
    const { server, client } = await connectedPair(typingOptions);
    client.joinConversation('U1');
    server.send('typing_started', { admin_id: 'a2', line_user_id: 'U1' });
    server.send('typing_started', { admin_id: 'a3', line_user_id: 'U1' });
    expect(client.conversation('U1').getSnapshot().typing).toEqual(['a2', 'a3']);
    server.send('typing_stopped', { admin_id: 'a2', line_user_id: 'U1' });
    expect(client.conversation('U1').getSnapshot().typing).toEqual(['a3']);
    client.disconnect();
  });

  test('expires after remoteTimeoutMs without a stop; a new start extends it', async () => {
    const { server, client } = await connectedPair({ ...typingOptions, heartbeat: false });
    client.joinConversation('U1');
    server.send('typing_started', { admin_id: 'a2', line_user_id: 'U1' });
    await flush(6000);
    server.send('typing_started', { admin_id: 'a2', line_user_id: 'U1' });
    await flush(7990);
    expect(client.conversation('U1').getSnapshot().typing).toEqual(['a2']);
    await flush(20);
    expect(client.conversation('U1').getSnapshot().typing).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
    client.disconnect();
  });

  test('a message from the typing operator clears their indicator', async () => {
    const { server, client } = await connectedPair(typingOptions);
    client.joinConversation('U1');
    server.send('typing_started', { admin_id: 'a2', line_user_id: 'U1' });
    server.send('message_sent', { admin_id: 'a2', line_user_id: 'U1', message: 'hi', temp_id: 'q', seq: 1 });
    expect(client.conversation('U1').getSnapshot().typing).toEqual([]);
    client.disconnect();
  });

  test('the echo of our own typing is ignored', async () => {
    const { server, client } = await connectedPair(typingOptions);
    client.joinConversation('U1');
    server.send('typing_started', { admin_id: 'a1', line_user_id: 'U1' });
    expect(client.conversation('U1').getSnapshot().typing).toEqual([]);
    client.disconnect();
  });

  test('an operator who leaves stops typing', async () => {
    const { server, client } = await connectedPair(typingOptions);
    client.joinConversation('U1');
    server.send('typing_started', { admin_id: 'a2', line_user_id: 'U1' });
    server.send('operator_left', { admin_id: 'a2', line_user_id: 'U1' });
    expect(client.conversation('U1').getSnapshot().typing).toEqual([]);
    client.disconnect();
  });
});
