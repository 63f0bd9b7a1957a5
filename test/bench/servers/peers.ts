/**
 * The peers' servers, one mode per process (argv[2]):
 *
 * - `ws-echo`: protocol v1 over bare `ws`: `auth` → `auth_success`, `message_send` → its ack
 *   (`message_sent` with the temp_id and a seq), `ping` → `pong`. Isolates client cost: the server
 *   does the least a v1 server can. Texts starting with `hold` are never acked (pending-ack test).
 * - `socketio-echo`: the same over socket.io: `message_send` answered by the ack callback when the
 *   client asked for one (emit-with-ack), else by a `message_sent` event (plain emit).
 * - `socketio-store`: socket.io emit-with-ack on an in-memory store: seq per conversation,
 *   dedup by temp_id, fan-out to the room's other members (what our reference server does on SQLite).
 * - `socketio-sqlite`: the same on our reference server's SQLite store (argv[3]: the database
 *   file), so that socket.io and our server can be compared with the same durability.
 * - `ws-broadcast`: the raw `ws` fan-out floor: v1 auth and join, and a `message_send` encoded once
 *   (one string, one Buffer) and written to each room member in a plain loop.
 * - `socketio-rooms`: socket.io rooms: `join` acks, `message_send` → `io.to(room).emit(...)`.
 * - `ws-idle` / `socketio-idle`: idle authenticated connections for the memory benchmark.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server as SocketIoServer, type Socket as SocketIoSocket } from 'socket.io';
import { type WebSocket, WebSocketServer } from 'ws';
import { SqliteStore } from '../../../examples/server/src/store/sqlite.js';
import type { MessageContent } from '../../../src/protocol.js';
import { type RunningServer, serveChild } from '../lib/server-child.js';

const mode = process.argv[2] ?? 'ws-echo';

interface V1Frame {
  type: string;
  payload: Record<string, unknown> & { line_user_id?: string; temp_id?: string; message?: { text?: string } };
}

function frame(type: string, payload: unknown): string {
  return JSON.stringify({ type, payload, timestamp: new Date().toISOString() });
}

async function listenWs(onConnection: (socket: WebSocket) => void): Promise<RunningServer> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false, maxPayload: 256 * 1024 });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  wss.on('connection', onConnection);
  return {
    port: (wss.address() as AddressInfo).port,
    connections: () => wss.clients.size,
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close(() => resolve());
      }),
  };
}

async function listenSocketIo(setup: (io: SocketIoServer) => void): Promise<RunningServer> {
  const http = createServer();
  // WebSocket only, no long-polling first: the same transport as every other contender.
  const io = new SocketIoServer(http, { transports: ['websocket'], serveClient: false, perMessageDeflate: false });
  setup(io);
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', () => resolve()));
  return {
    port: (http.address() as AddressInfo).port,
    connections: () => io.engine.clientsCount,
    close: async () => {
      io.disconnectSockets(true);
      await new Promise<void>((resolve) => io.close(() => resolve()));
    },
  };
}

const servers: Record<string, () => Promise<RunningServer>> = {
  'ws-echo': () => {
    let seq = 0;
    return listenWs((socket) => {
      socket.on('message', (data) => {
        const { type, payload } = JSON.parse(String(data)) as V1Frame;
        if (type === 'auth') socket.send(frame('auth_success', { admin_id: 'bench' }));
        else if (type === 'ping') socket.send(frame('pong', {}));
        else if (type === 'message_send' && !payload.message?.text?.startsWith('hold')) {
          const { line_user_id, message, temp_id } = payload;
          socket.send(frame('message_sent', { admin_id: 'bench', line_user_id, message, temp_id, seq: ++seq }));
        }
      });
    });
  },

  'socketio-echo': () => {
    let seq = 0;
    return listenSocketIo((io) =>
      io.on('connection', (socket) => {
        socket.on('message_send', (payload: V1Frame['payload'], ack?: (reply: unknown) => void) => {
          if (payload.message?.text?.startsWith('hold')) return;
          const { line_user_id, message, temp_id } = payload;
          const reply = { admin_id: 'bench', line_user_id, message, temp_id, seq: ++seq };
          if (typeof ack === 'function') ack(reply);
          else socket.emit('message_sent', reply);
        });
      }),
    );
  },

  'socketio-store': () => {
    const conversations = new Map<string, { seq: number; messages: unknown[] }>();
    const acks = new Map<string, unknown>();
    return listenSocketIo((io) =>
      io.on('connection', (socket) => {
        onJoin(socket);
        socket.on('message_send', (payload: V1Frame['payload'], ack: (reply: unknown) => void) => {
          const { line_user_id: room = '', message, temp_id: tempId = '' } = payload;
          const key = `bench\n${tempId}`;
          const duplicate = acks.get(key);
          if (duplicate) return ack(duplicate);
          let conversation = conversations.get(room);
          if (!conversation) conversations.set(room, (conversation = { seq: 0, messages: [] }));
          const reply = { admin_id: 'bench', line_user_id: room, message, temp_id: tempId, seq: ++conversation.seq, timestamp: new Date().toISOString() };
          conversation.messages.push(reply);
          acks.set(key, reply);
          ack(reply);
          socket.to(room).emit('message_sent', reply);
        });
      }),
    );
  },

  'socketio-sqlite': async () => {
    // Our reference server's SQLite store behind socket.io: the same durability as ours (each
    // message committed before its ack, appends of one turn in one transaction, dedup by temp_id).
    const store = new SqliteStore(process.argv[3] ?? ':memory:');
    const server = await listenSocketIo((io) =>
      io.on('connection', (socket) => {
        onJoin(socket);
        socket.on('message_send', (payload: V1Frame['payload'], ack: (reply: unknown) => void) => {
          const { line_user_id: room = '', message, temp_id: tempId = '' } = payload;
          store.appendOperatorMessage(room, 'bench', tempId, message as MessageContent).then(
            ({ message: stored, duplicate }) => {
              const reply = { admin_id: 'bench', line_user_id: room, message, temp_id: tempId, seq: stored.seq, timestamp: stored.createdAt };
              ack(reply);
              if (!duplicate) socket.to(room).emit('message_sent', reply);
            },
            () => ack({ error: 'not stored' }),
          );
        });
      }),
    );
    return { ...server, close: () => server.close().then(() => store.close()) };
  },

  'ws-broadcast': () => {
    const rooms = new Map<string, Set<WebSocket>>();
    let seq = 0;
    return listenWs((socket) => {
      let adminId = '';
      socket.on('message', (data) => {
        const { type, payload } = JSON.parse(String(data)) as V1Frame;
        if (type === 'auth') return socket.send(frame('auth_success', { admin_id: (adminId = String(payload.token)) }));
        const room = String(payload.line_user_id);
        if (type === 'join_conversation') {
          let members = rooms.get(room);
          if (!members) rooms.set(room, (members = new Set()));
          members.add(socket);
          socket.on('close', () => members.delete(socket));
          return socket.send(frame('operator_joined', { admin_id: adminId, line_user_id: room }));
        }
        if (type === 'message_send') {
          const { message, temp_id } = payload;
          // Encoded once per message: one JSON string, one Buffer, written to every member.
          const encoded = Buffer.from(frame('message_sent', { admin_id: 'sender', line_user_id: room, message, temp_id, seq: ++seq }));
          const members = rooms.get(room);
          if (!members?.has(socket)) socket.send(encoded, { binary: false });
          for (const member of members ?? []) member.send(encoded, { binary: false });
        }
      });
    });
  },

  'socketio-rooms': () => {
    let seq = 0;
    return listenSocketIo((io) =>
      io.on('connection', (socket) => {
        onJoin(socket);
        socket.on('message_send', (payload: V1Frame['payload'], ack?: (reply: unknown) => void) => {
          const { line_user_id: room = '', message, temp_id } = payload;
          const reply = { admin_id: 'sender', line_user_id: room, message, temp_id, seq: ++seq, timestamp: new Date().toISOString() };
          ack?.(reply);
          io.to(room).emit('message_sent', reply);
        });
      }),
    );
  },

  'ws-idle': () =>
    listenWs((socket) => {
      // What the floor keeps per connection: the socket and who it is once authenticated.
      const connection = { socket, adminId: undefined as string | undefined };
      socket.on('message', (data) => {
        const { type, payload } = JSON.parse(String(data)) as V1Frame;
        if (type === 'auth' && typeof payload.token === 'string') {
          connection.adminId = payload.token.slice(-8);
          socket.send(frame('auth_success', { admin_id: connection.adminId }));
        }
      });
    }),

  'socketio-idle': () =>
    listenSocketIo((io) => {
      io.use((socket: SocketIoSocket, next) => {
        const token = (socket.handshake.auth as { token?: unknown }).token;
        if (typeof token !== 'string') return next(new Error('unauthorized'));
        socket.data.adminId = token.slice(-8);
        next();
      });
    }),
};

/** A socket.io room join, acked. */
function onJoin(socket: SocketIoSocket): void {
  socket.on('join', (room: string, ack?: () => void) => {
    void socket.join(room);
    ack?.();
  });
}

const start = servers[mode];
if (!start) throw new Error(`unknown mode ${mode}`);
serveChild(start);
