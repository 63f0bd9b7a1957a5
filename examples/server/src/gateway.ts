import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import type { Operator, TokenAuthority } from './auth.js';
import type { ServerConfig } from './config.js';
import type { Broadcast, Bus, Presence } from './fanout.js';
import { type ClientFrame, encode, encodeMessage, frameType, isFrameError, parseClientFrame } from './protocol.js';
import type { AppendResult, Store } from './store/types.js';

export const LIVE_CHAT_PATH = '/api/v1/ws/live-chat';

/** Close codes of protocol v1. */
const Close = { goingAway: 1001, unauthorized: 4001, policy: 4008, protocol: 4400 } as const;

interface Connection {
  id: string;
  socket: WebSocket;
  /** The TCP socket under `socket`: corked while one turn of the event loop writes frames to it. */
  tcp: Duplex;
  /** A frame went out in this turn of the event loop: more in the same turn are coalesced. */
  sentThisTurn: boolean;
  /** `tcp` holds lazy frames (see #sendLazily): corked once more until the next frame or `lazyTimer`. */
  lazy: boolean;
  lazyTimer: NodeJS.Timeout | undefined;
  operator: Operator | undefined;
  rooms: Set<string>;
  /** Rooms whose replay is being sent: live broadcasts wait here so none overtakes the replay. */
  replaying: Map<string, string[]> | undefined;
  typing: Map<string, NodeJS.Timeout> | undefined;
  tokens: number;
  refilledAt: number;
  authTimer: NodeJS.Timeout | undefined;
  idleTimer: NodeJS.Timeout | undefined;
  /** Frames are handled one at a time, in arrival order, even though handling is async. */
  queue: Promise<void>;
  /**
   * Frames in `queue` other than message sends whose append already started. While there are
   * none, a `message_send` starts its append on arrival (see #receive).
   */
  ordered: number;
  /** Sends that took the fast path (see #receive), and how many of them were acked, in order. */
  sendsAsked: number;
  sendsAnswered: number;
  /** Sends whose append settled ahead of an earlier one's, by number (see #answer). */
  waitingSends: Map<number, () => void> | undefined;
}

type MessageSend = Extract<ClientFrame, { type: 'message_send' }>;

export interface GatewayDeps {
  config: ServerConfig;
  auth: TokenAuthority;
  store: Store;
  bus: Bus;
  presence: Presence;
  /** Unique per process, so connection ids are unique across processes. */
  processId: string;
  log: (message: string) => void;
  /**
   * Longest a lazy frame (`conversation_updated`) waits in its socket for another frame to leave
   * with (see #sendLazily). Tests lengthen it to observe the wait.
   * @default 1
   */
  lazyFlushMs?: number;
}

/**
 * The WebSocket side of the server: authentication as the first frame, rooms per conversation,
 * presence, typing relay with server-side expiry, operator messages stored with a seq and
 * deduplicated by temp_id, replay on join, and every limit a public endpoint needs.
 */
export class Gateway {
  readonly #deps: GatewayDeps;
  readonly #wss: WebSocketServer;
  readonly #connections = new Map<string, Connection>();
  readonly #rooms = new Map<string, Set<Connection>>();
  #nextId = 0;
  #closing = false;

  constructor(deps: GatewayDeps) {
    this.#deps = deps;
    // ws enforces a hard cap well above ours (1009); frames between the two get our 4008.
    this.#wss = new WebSocketServer({ noServer: true, maxPayload: deps.config.maxFrameBytes * 4 });
    this.#wss.on('connection', (socket, request: IncomingMessage) => this.#accept(socket, request.socket));
    deps.bus.subscribe((broadcast) => this.#deliver(broadcast));
  }

  /** Authenticated connections on this process. */
  get size(): number {
    return this.#connections.size;
  }

  /** For the HTTP server's 'upgrade' event: checks path and origin, then hands the socket to ws. */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (url.pathname !== LIVE_CHAT_PATH || this.#closing) return reject(socket, 404, 'Not Found');
    if (!this.#originAllowed(request)) return reject(socket, 403, 'Forbidden');
    this.#wss.handleUpgrade(request, socket, head, (ws) => this.#wss.emit('connection', ws, request));
  }

  /**
   * Publishes a stored message to its room (`frame`: the message's frame, if already encoded) and
   * the conversation's new summary to everyone.
   */
  async publishAppended({ message, conversation }: AppendResult, frame = encodeMessage(message)): Promise<void> {
    await this.#deps.bus.publish({ room: message.conversationId, frame });
    this.#deps.bus.announce(conversation);
  }

  /** Graceful shutdown: every socket is closed with 1001 so clients reconnect (elsewhere) at once. */
  async close(): Promise<void> {
    this.#closing = true;
    const closed = [...this.#connections.values()].map(
      (connection) =>
        new Promise<void>((resolve) => {
          if (connection.socket.readyState === WebSocket.CLOSED) return resolve();
          connection.socket.once('close', () => resolve());
          connection.socket.close(Close.goingAway, 'server shutting down');
          setTimeout(() => {
            connection.socket.terminate();
            resolve();
          }, 2000).unref();
        }),
    );
    await Promise.all(closed);
    this.#wss.close();
  }

  #originAllowed(request: IncomingMessage): boolean {
    const origin = request.headers.origin;
    if (!origin) return true; // not a browser: origin checks protect browsers' cookies and sessions
    const allowed = this.#deps.config.allowedOrigins;
    if (allowed) return allowed.includes(origin);
    try {
      const { host, hostname } = new URL(origin);
      if (host === request.headers.host) return true;
      return !this.#deps.config.production && ['localhost', '127.0.0.1', '[::1]'].includes(hostname);
    } catch {
      return false;
    }
  }

  #accept(socket: WebSocket, tcp: Duplex): void {
    const { config } = this.#deps;
    const connection: Connection = {
      id: `${this.#deps.processId}:${++this.#nextId}`,
      socket,
      tcp,
      sentThisTurn: false,
      lazy: false,
      lazyTimer: undefined,
      operator: undefined,
      rooms: new Set(),
      // Created on first use: most connections never type or replay at a given moment (~190 B each).
      replaying: undefined,
      typing: undefined,
      tokens: config.rateLimit.burst,
      refilledAt: Date.now(),
      authTimer: undefined,
      idleTimer: undefined,
      queue: Promise.resolve(),
      ordered: 0,
      sendsAsked: 0,
      sendsAnswered: 0,
      waitingSends: undefined,
    };
    this.#connections.set(connection.id, connection);
    connection.authTimer = setTimeout(() => socket.close(Close.policy, 'auth timeout'), config.authTimeoutMs);
    this.#touch(connection);
    // Listeners are attached synchronously: a frame sent right after the handshake is never lost.
    socket.on('message', (data, isBinary) => this.#receive(connection, data, isBinary));
    socket.on('close', () => {
      connection.queue = connection.queue.then(() => this.#closed(connection));
    });
    socket.on('error', (error) => this.#deps.log(`connection ${connection.id}: ${error.message}`));
  }

  #receive(connection: Connection, data: RawData, isBinary: boolean): void {
    // A closing socket (shutdown, or the close handshake begun) takes no more frames. The ones
    // waiting in its queue are skipped (see #handle); a later one stored now would take a seq
    // ahead of them. The client re-sends whatever got no ack, in order, after it reconnects.
    if (connection.socket.readyState !== WebSocket.OPEN) return;
    const { config } = this.#deps;
    this.#touch(connection);
    const size = Array.isArray(data) ? data.reduce((sum, chunk) => sum + chunk.length, 0) : data.byteLength;
    if (size > config.maxFrameBytes) return connection.socket.close(Close.policy, 'frame too large');
    if (!this.#withinRate(connection)) return connection.socket.close(Close.policy, 'rate limit exceeded');
    if (isBinary) return this.#send(connection, encode('error', { code: 'invalid_frame', message: 'binary frames are not accepted' }));
    const frame = parseClientFrame(data.toString(), config.maxTextLength);
    if (isFrameError(frame)) {
      const { code, message, tempId } = frame;
      return this.#send(connection, encode('error', { code, message, ...(tempId !== undefined && { temp_id: tempId }) }));
    }
    const { operator } = connection;
    if (frame.type === 'message_send' && operator && connection.ordered === 0) {
      // Nothing but other sends ahead of it: the append starts now, so the sends of one turn are
      // committed together (the store's group commit), in arrival order, which is seq order. Its
      // ack follows straight from its append, in arrival order (see #answer), and the next frame
      // other than a send waits for it in the queue.
      let appended: Promise<AppendResult>;
      try {
        appended = this.#append(connection, operator, frame);
      } catch (error) {
        appended = Promise.reject(error);
      }
      const ticket = connection.sendsAsked++;
      connection.queue = appended.then(
        (result) => this.#answer(connection, ticket, frame, result, undefined),
        (error: unknown) => this.#answer(connection, ticket, frame, undefined, error),
      );
      return;
    }
    connection.ordered++;
    connection.queue = connection.queue
      .then(() => this.#handle(connection, frame))
      .catch((error: unknown) => this.#failed(connection, frame, error))
      .finally(() => connection.ordered--);
  }

  /**
   * Acks a send whose append settled (`result`, or `error`), in arrival order: sends are numbered
   * as they arrive (`ticket`), and one whose append settled ahead of an earlier one's (a store may
   * settle out of order: Redis reads a duplicate's summary back) waits for it. In order, the common
   * case, this costs one promise reaction per send; a wait on the queue cost several.
   * The returned promise settles once the ack and the fan-out have left.
   */
  #answer(connection: Connection, ticket: number, frame: MessageSend, result: AppendResult | undefined, error: unknown): void | Promise<void> {
    if (ticket !== connection.sendsAnswered) {
      return new Promise((resolve) => (connection.waitingSends ??= new Map()).set(ticket, () => resolve(this.#answer(connection, ticket, frame, result, error))));
    }
    connection.sendsAnswered++;
    if (result) this.#sent(connection, frame, result).catch((failure: unknown) => this.#failed(connection, frame, failure));
    else this.#failed(connection, frame, error);
    const next = connection.waitingSends?.get(connection.sendsAnswered);
    if (next) {
      connection.waitingSends!.delete(connection.sendsAnswered);
      next();
    }
  }

  /** A frame whose handling threw: logged, and the client told (with the message's temp_id). */
  #failed(connection: Connection, frame: ClientFrame, error: unknown): void {
    this.#deps.log(`connection ${connection.id}: ${error instanceof Error ? error.stack : String(error)}`);
    const tempId = frame.type === 'message_send' ? { temp_id: frame.tempId } : {};
    this.#send(connection, encode('error', { code: 'internal_error', message: 'the server could not handle this frame', ...tempId }));
  }

  async #handle(connection: Connection, frame: ClientFrame): Promise<void> {
    if (connection.socket.readyState !== WebSocket.OPEN) return;
    if (frame.type === 'ping') return this.#send(connection, encode('pong', {}));
    if (frame.type === 'auth') return this.#authenticate(connection, frame.token);
    const operator = connection.operator;
    if (!operator) {
      return this.#send(connection, encode('error', { code: 'not_authenticated', message: 'send "auth" first' }));
    }
    switch (frame.type) {
      case 'join_conversation':
        return this.#join(connection, operator, frame.conversationId, frame.sinceSeq);
      case 'leave_conversation':
        return this.#leave(connection, operator, frame.conversationId);
      case 'typing_start':
      case 'typing_stop':
        return this.#typing(connection, operator, frame.conversationId, frame.type === 'typing_start');
      case 'message_send':
        return this.#sent(connection, frame, await this.#append(connection, operator, frame));
    }
  }

  #append(connection: Connection, operator: Operator, frame: MessageSend): Promise<AppendResult> {
    this.#stopTyping(connection, frame.conversationId);
    return this.#deps.store.appendOperatorMessage(frame.conversationId, operator.adminId, frame.tempId, frame.message);
  }

  /** After the append committed: the ack, the room's fan-out and the conversation's summary. */
  async #sent(connection: Connection, frame: MessageSend, result: AppendResult): Promise<void> {
    const ack = encodeMessage(result.message);
    // The sender gets its ack whether or not it joined the room; a duplicate gets only the
    // original ack (same seq), nothing is stored or fanned out twice.
    if (result.duplicate || !connection.rooms.has(frame.conversationId)) this.#send(connection, ack);
    if (!result.duplicate) await this.publishAppended(result, ack);
  }

  async #authenticate(connection: Connection, token: string): Promise<void> {
    if (connection.operator) {
      return this.#send(connection, encode('error', { code: 'already_authenticated', message: 'auth was already accepted' }));
    }
    try {
      connection.operator = await this.#deps.auth.verify(token);
    } catch (error) {
      // The library's wording ("Invalid Compact JWS", …) is no business of the client's; expiry is.
      const expired = (error as { code?: unknown } | null)?.code === 'ERR_JWT_EXPIRED';
      this.#send(
        connection,
        encode('auth_error', { code: expired ? 'token_expired' : 'invalid_token', message: expired ? 'token expired' : 'invalid token' }),
      );
      connection.socket.close(Close.unauthorized, 'unauthorized');
      return;
    }
    clearTimeout(connection.authTimer);
    connection.authTimer = undefined; // a cleared timer still holds its memory while referenced
    const { adminId, name } = connection.operator;
    const { perSecond, burst } = this.#deps.config.rateLimit;
    // The rate limit is announced so that a client flushing a backlog can pace itself under it.
    this.#send(
      connection,
      encode('auth_success', {
        admin_id: adminId,
        ...(name && { name }),
        connection_id: connection.id,
        rate_limit: { per_second: perSecond, burst },
      }),
    );
  }

  async #join(connection: Connection, operator: Operator, room: string, sinceSeq: number | undefined): Promise<void> {
    if (!connection.rooms.has(room)) {
      connection.rooms.add(room);
      let members = this.#rooms.get(room);
      if (!members) this.#rooms.set(room, (members = new Set()));
      members.add(connection);
    }
    if (sinceSeq !== undefined) (connection.replaying ??= new Map()).set(room, []);
    const operators = await this.#deps.presence.join(room, connection.id, operator.adminId);
    await this.#deps.bus.publish({
      room,
      frame: encode('operator_joined', { admin_id: operator.adminId, line_user_id: room, operators }),
    });
    if (sinceSeq === undefined) return;
    try {
      const { replayLimit } = this.#deps.config;
      const missed = await this.#deps.store.messagesAfter(room, sinceSeq, replayLimit + 1);
      if (!missed || missed.length > replayLimit) {
        this.#send(
          connection,
          encode('error', { code: 'replay_unavailable', message: 'too much was missed: reload the history', line_user_id: room }),
        );
      } else {
        for (const message of missed) this.#send(connection, encodeMessage(message));
      }
    } finally {
      // Live events that arrived during the replay follow it (the client drops seqs it has).
      const held = connection.replaying?.get(room) ?? [];
      connection.replaying?.delete(room);
      for (const frame of held) this.#send(connection, frame);
    }
  }

  async #leave(connection: Connection, operator: Operator, room: string): Promise<void> {
    if (!connection.rooms.delete(room)) return;
    this.#stopTyping(connection, room);
    connection.replaying?.delete(room);
    const members = this.#rooms.get(room);
    members?.delete(connection);
    if (members?.size === 0) this.#rooms.delete(room);
    const operators = await this.#deps.presence.leave(room, connection.id);
    await this.#deps.bus.publish({ room, frame: encode('operator_left', { admin_id: operator.adminId, line_user_id: room, operators }) });
  }

  #typing(connection: Connection, operator: Operator, room: string, typing: boolean): void {
    if (!connection.rooms.has(room)) return;
    if (!typing) return this.#stopTyping(connection, room);
    clearTimeout(connection.typing?.get(room));
    // Typing that is not refreshed expires here, so a client that vanished never leaves it on.
    (connection.typing ??= new Map()).set(
      room,
      setTimeout(() => this.#stopTyping(connection, room), this.#deps.config.typingTimeoutMs),
    );
    void this.#deps.bus.publish({
      room,
      except: connection.id,
      frame: encode('typing_started', { admin_id: operator.adminId, line_user_id: room }),
    });
  }

  #stopTyping(connection: Connection, room: string): void {
    const timer = connection.typing?.get(room);
    if (!timer || !connection.operator) return;
    clearTimeout(timer);
    connection.typing!.delete(room);
    void this.#deps.bus.publish({
      room,
      except: connection.id,
      frame: encode('typing_stopped', { admin_id: connection.operator.adminId, line_user_id: room }),
    });
  }

  async #closed(connection: Connection): Promise<void> {
    clearTimeout(connection.authTimer);
    clearTimeout(connection.idleTimer);
    clearTimeout(connection.lazyTimer);
    this.#connections.delete(connection.id);
    const operator = connection.operator;
    if (!operator) return;
    // Presence is updated when a socket dies too, not only on an explicit leave.
    for (const room of [...connection.rooms]) {
      await this.#leave(connection, operator, room).catch((error: unknown) => this.#deps.log(String(error)));
    }
  }

  #deliver(broadcast: Broadcast): void {
    // Encoded once for every member (ws would convert a string to bytes per connection).
    const data = Buffer.from(broadcast.frame);
    // conversation_updated, whichever bus announced it (in one process or from Redis), is lazy.
    const lazy = broadcast.room === undefined && frameType(broadcast.frame) === 'conversation_updated';
    const targets = broadcast.room === undefined ? this.#connections.values() : (this.#rooms.get(broadcast.room) ?? []);
    for (const connection of targets) {
      if (connection.id === broadcast.except || !connection.operator) continue;
      const held = broadcast.room === undefined ? undefined : connection.replaying?.get(broadcast.room);
      if (held) held.push(broadcast.frame);
      else if (lazy) this.#sendLazily(connection, data);
      else this.#send(connection, data);
    }
  }

  #send(connection: Connection, frame: string | Buffer): void {
    const { socket, tcp } = connection;
    if (!this.#writable(connection)) return;
    // The first frame of a turn of the event loop leaves at once; the ones after it in the same turn
    // leave together at its end. The system call per frame is most of a broadcast's cost, and a burst
    // fans out many frames per connection (each message two: message_sent, conversation_updated,
    // the second lazily). Lazy frames waiting in the socket (see #sendLazily) leave with this one, ahead of it.
    const lazy = connection.lazy;
    connection.lazy = false;
    if (!connection.sentThisTurn) {
      connection.sentThisTurn = true;
      setImmediate(() => {
        connection.sentThisTurn = false;
        tcp.uncork();
      });
      socket.send(frame, { binary: false });
      if (lazy) tcp.uncork();
    } else {
      // The lazy frames' cork, if there is one, holds the turn's frames now, until its end.
      if (!lazy && !tcp.writableCorked) tcp.cork();
      socket.send(frame, { binary: false });
    }
    // A long burst is not held back whole (nor counted against the slow-consumer limit above).
    if (tcp.writableLength > 64 * 1024) tcp.uncork();
  }

  /**
   * A frame nobody waits on the instant it is ready (`conversation_updated`): written into the
   * socket but left corked until the connection's next frame takes it along, or `lazyFlushMs`.
   * A second write right behind the sender's ack costs a system call (tens of µs on loopback,
   * the largest single cost in a profile of sequential sends); riding along with the next ack it
   * costs nothing: one write per message instead of two. Order is kept: it leaves ahead of any
   * frame written after it, and the newest summary is the last one written.
   */
  #sendLazily(connection: Connection, frame: Buffer): void {
    const { socket, tcp } = connection;
    if (!this.#writable(connection)) return;
    if (!connection.lazy) {
      connection.lazy = true;
      tcp.cork();
      // One timer per connection, re-armed in place; it finds nothing to do if a frame took the
      // lazy ones along first.
      if (connection.lazyTimer) connection.lazyTimer.refresh();
      else connection.lazyTimer = setTimeout(() => connection.lazy && this.#flushLazy(connection), this.#deps.lazyFlushMs ?? 1);
    }
    socket.send(frame, { binary: false });
    if (tcp.writableLength > 64 * 1024) this.#flushLazy(connection);
  }

  #flushLazy(connection: Connection): void {
    connection.lazy = false;
    connection.tcp.uncork();
  }

  #writable(connection: Connection): boolean {
    const { socket } = connection;
    if (socket.readyState !== WebSocket.OPEN) return false;
    // A consumer that cannot keep up is cut off rather than buffered without bound.
    if (socket.bufferedAmount > this.#deps.config.maxBufferedBytes) {
      this.#deps.log(`connection ${connection.id}: slow consumer cut off`);
      socket.terminate();
      return false;
    }
    return true;
  }

  #touch(connection: Connection): void {
    // Re-armed in place: no new timer per inbound frame.
    if (connection.idleTimer) connection.idleTimer.refresh();
    else connection.idleTimer = setTimeout(() => connection.socket.terminate(), this.#deps.config.idleTimeoutMs);
  }

  #withinRate(connection: Connection): boolean {
    const { perSecond, burst } = this.#deps.config.rateLimit;
    const now = Date.now();
    connection.tokens = Math.min(burst, connection.tokens + ((now - connection.refilledAt) / 1000) * perSecond);
    connection.refilledAt = now;
    connection.tokens -= 1;
    return connection.tokens >= 0;
  }
}

function reject(socket: Duplex, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}
