/**
 * The seed plan's FastAPI server (seed-plan.md §1.1 and §1.2), ported line by line to `ws`, flaws
 * included on purpose (DESIGN §8): mocked auth (`admin_id` from the payload, else '1'), ONE socket
 * per admin (a second connection replaces the first, and the first one's disconnect unregisters
 * the second), no seq, no ack outside the room, no dedup, typing echoed to the sender, naive UTC
 * timestamps. The client must work against it (DESIGN §4: extensions degrade gracefully).
 */
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { LIVE_CHAT_PATH, type Frame, type Payload } from './v1-server.js';

/** `datetime.utcnow().isoformat()`: no time zone, microseconds. */
function utcnow(): string {
  return `${new Date().toISOString().slice(0, -1)}000`;
}

/** `ConnectionManager` of websocket_manager.py. */
export class ConnectionManager {
  /** admin_id -> WebSocket */
  readonly connections = new Map<string, WebSocket>();
  /** room_id -> set of admin_ids */
  readonly rooms = new Map<string, Set<string>>();
  readonly connectionMetadata = new Map<string, { connectionId: string; connectedAt: string; rooms: Set<string> }>();

  registerConnection(connectionId: string, adminId: string, websocket: WebSocket): void {
    this.connections.set(adminId, websocket);
    this.connectionMetadata.set(adminId, { connectionId, connectedAt: utcnow(), rooms: new Set() });
  }

  disconnect(adminId: string): void {
    if (this.connections.has(adminId)) {
      for (const roomId of [...(this.connectionMetadata.get(adminId)?.rooms ?? [])]) this.leaveRoom(adminId, roomId);
      this.connections.delete(adminId);
      this.connectionMetadata.delete(adminId);
    }
  }

  joinRoom(adminId: string, roomId: string): void {
    let room = this.rooms.get(roomId);
    if (!room) this.rooms.set(roomId, (room = new Set()));
    room.add(adminId);
    this.connectionMetadata.get(adminId)?.rooms.add(roomId);
  }

  leaveRoom(adminId: string, roomId: string): void {
    const room = this.rooms.get(roomId);
    if (room) {
      room.delete(adminId);
      if (room.size === 0) this.rooms.delete(roomId);
    }
    this.connectionMetadata.get(adminId)?.rooms.delete(roomId);
  }

  broadcastToRoom(roomId: string, message: Frame): void {
    const room = this.rooms.get(roomId);
    if (!room) return;
    const disconnected: string[] = [];
    for (const adminId of room) {
      const socket = this.connections.get(adminId);
      if (socket && !sendJson(socket, message)) disconnected.push(adminId);
    }
    for (const adminId of disconnected) this.disconnect(adminId);
  }

  sendToAdmin(adminId: string, message: Frame): void {
    const socket = this.connections.get(adminId);
    if (socket && !sendJson(socket, message)) this.disconnect(adminId);
  }
}

/** `await websocket.send_json(...)` inside the plan's bare `try/except`: false when it would raise. */
function sendJson(socket: WebSocket, message: Frame): boolean {
  if (socket.readyState !== WebSocket.OPEN) return false;
  socket.send(JSON.stringify(message));
  return true;
}

function frame(type: string, payload: Payload): Frame {
  return { type, payload, timestamp: utcnow() };
}

export class PlanServer {
  readonly manager = new ConnectionManager();
  readonly port: number;
  readonly url: string;
  /** Every frame received, with the admin_id it was handled as (undefined before auth). */
  readonly received: (Frame & { adminId: string | undefined })[] = [];
  connectionCount = 0;
  readonly #http: HttpServer;
  readonly #wss: WebSocketServer;
  #closed: Promise<void> | undefined;

  private constructor(http: HttpServer, path: string) {
    this.#http = http;
    this.port = (http.address() as AddressInfo).port;
    this.url = `ws://127.0.0.1:${this.port}${path}`;
    this.#wss = new WebSocketServer({ server: http, path });
    this.#wss.on('connection', (socket) => this.#endpoint(socket));
  }

  /**
   * The plan mounts `/ws/live-chat` under the prefix `/ws`, which would serve `/api/v1/ws/ws/live-chat`
   * (DESIGN §8); we serve the intended path unless told otherwise.
   */
  static async start({ port = 0, path = LIVE_CHAT_PATH }: { port?: number; path?: string } = {}): Promise<PlanServer> {
    const http = createServer();
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(port, '127.0.0.1', () => resolve());
    });
    return new PlanServer(http, path);
  }

  /** What the plan's backend would broadcast for a customer's LINE message: no seq. */
  injectCustomerMessage(lineUserId: string, text: string): void {
    this.manager.broadcastToRoom(`conversation:${lineUserId}`, frame('message_received', {
      line_user_id: lineUserId,
      message: { type: 'text', id: `line-${Date.now()}`, text },
    }));
  }

  /** Admin ids in a conversation's room. */
  roomAdmins(lineUserId: string): string[] {
    return [...(this.manager.rooms.get(`conversation:${lineUserId}`) ?? [])];
  }

  /** A process restart: every socket dropped, all in-memory state gone with this instance. */
  close(): Promise<void> {
    this.#closed ??= new Promise<void>((resolve) => {
      for (const socket of this.#wss.clients) socket.terminate();
      this.#wss.close();
      this.#http.closeAllConnections();
      this.#http.close(() => resolve());
    });
    return this.#closed;
  }

  /** `websocket_endpoint` of websocket.py. */
  #endpoint(websocket: WebSocket): void {
    this.connectionCount++;
    const connectionId = String(this.connectionCount);
    let adminId: string | undefined;
    const manager = this.manager;
    websocket.on('error', () => undefined);
    // `except WebSocketDisconnect` / `except Exception`: the admin is unregistered by admin_id,
    // even when a newer socket of the same admin has replaced this one.
    const fail = () => {
      if (adminId) manager.disconnect(adminId);
    };
    websocket.on('close', fail);
    websocket.on('message', (raw) => {
      let data: unknown;
      try {
        data = JSON.parse(String(raw));
      } catch {
        fail();
        websocket.close(1000); // the endpoint returns; the ASGI server closes the socket
        return;
      }
      if (typeof data !== 'object' || data === null || Array.isArray(data)) {
        fail(); // `data.get` raises AttributeError
        websocket.close(1000);
        return;
      }
      const { type: msgType, payload: rawPayload } = data as { type?: unknown; payload?: unknown };
      const payload = (rawPayload ?? {}) as Payload;
      this.received.push({ type: String(msgType), payload, timestamp: '', adminId });

      if (msgType === 'auth') {
        const id = 'admin_id' in payload ? payload.admin_id : '1'; // the plan's TODO: JWT validation
        if (id) {
          adminId = String(id);
          manager.registerConnection(connectionId, adminId, websocket);
          manager.sendToAdmin(adminId, frame('auth_success', { admin_id: adminId }));
        } else {
          websocket.send(JSON.stringify(frame('auth_error', { message: 'Invalid token' })));
          fail();
          websocket.close(1000);
        }
      } else if (!adminId) {
        websocket.send(JSON.stringify(frame('error', { message: 'Not authenticated' })));
      } else {
        const lineUserId = payload.line_user_id;
        const roomId = `conversation:${String(lineUserId)}`;
        switch (msgType) {
          case 'join_conversation':
            manager.joinRoom(adminId, roomId);
            manager.broadcastToRoom(roomId, frame('operator_joined', { admin_id: adminId, line_user_id: lineUserId }));
            break;
          case 'leave_conversation':
            manager.leaveRoom(adminId, roomId);
            break;
          case 'typing_start':
          case 'typing_stop':
            manager.broadcastToRoom(roomId, frame(msgType === 'typing_start' ? 'typing_started' : 'typing_stopped', {
              admin_id: adminId,
              line_user_id: lineUserId,
            }));
            break;
          case 'message_send':
            manager.broadcastToRoom(roomId, frame('message_sent', {
              admin_id: adminId,
              line_user_id: lineUserId,
              message: payload.message,
              temp_id: payload.temp_id,
            }));
            break;
          case 'ping':
            manager.sendToAdmin(adminId, frame('pong', { timestamp: utcnow() }));
            break;
          default:
            manager.sendToAdmin(adminId, frame('error', { message: `Unknown message type: ${String(msgType)}` }));
        }
      }
    });
  }
}
