import { Server, WebSocket as MockWebSocket } from 'mock-socket';
import { afterEach, beforeEach, expect, test, vi } from 'vitest';
import { LiveChatClient, type WebSocketConstructor } from '../src/index.js';

const url = 'ws://localhost:1234/api/v1/ws/live-chat';
let server: Server;
beforeEach(() => { vi.useFakeTimers(); server = new Server(url); });
afterEach(() => { server.stop(); vi.useRealTimers(); });

test('smoke', async () => {
  const frames: any[] = [];
  server.on('connection', (socket) => {
    socket.on('message', (data) => {
      const frame = JSON.parse(String(data));
      frames.push(frame);
      if (frame.type === 'auth') socket.send(JSON.stringify({ type: 'auth_success', payload: { admin_id: 'a1' }, timestamp: new Date().toISOString() }));
      if (frame.type === 'message_send') socket.send(JSON.stringify({ type: 'message_sent', payload: { admin_id: 'a1', line_user_id: frame.payload.line_user_id, message: frame.payload.message, temp_id: frame.payload.temp_id, seq: 1 }, timestamp: new Date().toISOString() }));
    });
  });
  const client = new LiveChatClient({ url, token: 't', WebSocket: MockWebSocket as unknown as WebSocketConstructor });
  const p = client.sendMessage('U1', 'hello');
  expect(client.conversation('U1').getSnapshot().messages[0]?.status).toBe('pending');
  client.connect();
  await vi.advanceTimersByTimeAsync(20);
  expect(client.getSnapshot().state).toBe('connected');
  const ack = await p;
  expect(ack.seq).toBe(1);
  expect(client.conversation('U1').getSnapshot().messages.map((m) => m.status)).toEqual(['sent']);
  expect(frames.map((f) => f.type)).toEqual(['auth', 'message_send']);
  client.disconnect();
  await vi.advanceTimersByTimeAsync(10);
  expect(vi.getTimerCount()).toBe(0);
});
