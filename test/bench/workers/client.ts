/**
 * One client of one contender, in its own process: opens a connection, then measures sequential
 * send→ack latency and pipelined throughput of small chat messages, with the CPU this process
 * spent per message (`process.cpuUsage`). Optionally parks `held` messages first that the server
 * never acks, to show whether the ack lookup slows down as more messages wait.
 *
 * Contenders: `ours` (LiveChatClient over `ws`), `ws` (a hand-written protocol-v1 client on bare
 * `ws`: the floor), `partysocket` (the same hand-written client over partysocket's reconnecting
 * socket), `socketio-emit` and `socketio-ack` (socket.io-client, plain emit answered by an event,
 * and emit with an ack callback).
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import ReconnectingWebSocket from 'partysocket/ws';
import { io } from 'socket.io-client';
import { WebSocket } from 'ws';
import type { WebSocketConstructor } from '../../../src/index.js';
import { createIdMaker } from '../../../src/ids.js';
import { loadSdk } from '../lib/build.js';
import { childMain, type Message } from '../lib/proc.js';
import { startProfile, stopProfile } from '../lib/profiler.js';
import { percentile } from '../lib/stats.js';

export interface ClientRun extends Message {
  type: 'run';
  peer: string;
  url: string;
  /** JWT for our reference server; the echo servers take any token. */
  token: string;
  /** Conversation to join before sending (the reference server acks through the room). */
  room: string;
  join: boolean;
  warmup: number;
  sequential: number;
  pipelined: number;
  window: number;
  /**
   * Pending-ack levels: before each measurement, messages the server never acks are parked until
   * this many wait; `[0]` for a plain run.
   */
  held: number[];
  /** Hard cap on the measuring, whatever the counts. */
  budgetMs: number;
  /** Write a CPU profile of the (last) pipelined phase to this file. */
  profile?: string;
}

export interface ClientResult extends Message {
  type: 'result';
  levels: LevelResult[];
}

export interface LevelResult {
  peer: string;
  held: number;
  p50: number;
  p99: number;
  /** Sequential phase: CPU microseconds per message (user + system). */
  seqCpuUs: number;
  /** Pipelined phase. */
  perSecond: number;
  pipeCpuUs: number;
  sent: number;
}

interface Driver {
  send(text: string, done: () => void): void;
  close(): void;
}

const NodeWebSocket = WebSocket as unknown as WebSocketConstructor;
const { LiveChatClient } = await loadSdk();

/** A protocol-v1 client written by hand on top of any socket with `send` and a text-message callback. */
function handWritten(send: (data: string) => void, close: () => void): { driver: Driver; receive: (data: string) => void } {
  const waiting = new Map<string, () => void>();
  return {
    driver: {
      send(text, done) {
        const tempId = randomUUID();
        waiting.set(tempId, done);
        const payload = { line_user_id: room, message: { type: 'text', text }, temp_id: tempId };
        send(JSON.stringify({ type: 'message_send', payload, timestamp: new Date().toISOString() }));
      },
      close,
    },
    receive(data) {
      const { type, payload } = JSON.parse(data) as { type: string; payload: { temp_id?: string } };
      if (type !== 'message_sent' || payload.temp_id === undefined) return;
      const done = waiting.get(payload.temp_id);
      if (!done) return;
      waiting.delete(payload.temp_id);
      done();
    },
  };
}

let room = 'U-bench';

/** A send that fails ends the run loudly (one function for all sends: the harness allocates nothing per message). */
function fail(error: unknown): never {
  throw error;
}

function authFrame(token: string): string {
  return JSON.stringify({ type: 'auth', payload: { token }, timestamp: new Date().toISOString() });
}

/** Joins the benchmark room and waits for the server's `operator_joined` (hand-written clients). */
async function join(socket: Parameters<typeof awaitType>[0] & { send(data: string): void }): Promise<void> {
  const joined = awaitType(socket, 'operator_joined');
  socket.send(JSON.stringify({ type: 'join_conversation', payload: { line_user_id: room }, timestamp: new Date().toISOString() }));
  await joined;
}

/** Resolves once `frame` (a v1 type) arrives; used for the hand-written clients' handshake. */
function awaitType(socket: { addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void }, type: string): Promise<void> {
  return new Promise((resolve) => {
    let resolved = false;
    socket.addEventListener('message', (event) => {
      if (!resolved && String(event.data).includes(`"type":"${type}"`)) {
        resolved = true;
        resolve();
      }
    });
  });
}

const open: Record<string, (run: ClientRun) => Promise<Driver>> = {
  'ours-view': (run) => open.ours!(run),

  async ours(run) {
    const client = new LiveChatClient({
      url: run.url,
      token: run.token,
      WebSocket: NodeWebSocket,
      watchEnvironment: false,
      // Room for the parked messages of the pending-ack test (the default bound is 500).
      queue: { maxSize: 20_000, ackTimeoutMs: 120_000 },
    });
    await new Promise<void>((resolve, reject) => {
      const off = client.on('state', ({ current }) => {
        if (current !== 'connected') return;
        off();
        resolve();
      });
      client.on('error', (error) => {
        if (client.state !== 'connected') reject(error);
      });
      client.connect();
    });
    if (run.join) {
      client.joinConversation(room);
      await new Promise<void>((resolve) => {
        const off = client.on('operator_joined', () => {
          off();
          resolve();
        });
      });
    }
    // A console shows the conversation: its view keeps every message (joining opens it too).
    if (run.peer === 'ours-view') client.conversation(room);
    return {
      send(text, done) {
        void client.sendMessage(room, text).then(done, fail);
      },
      close: () => client.disconnect(),
    };
  },

  async ws(run) {
    const socket = new WebSocket(run.url, { perMessageDeflate: false });
    const { driver, receive } = handWritten(
      (data) => socket.send(data),
      () => socket.close(),
    );
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    const authed = awaitType(socket as never, 'auth_success');
    socket.on('message', (data) => receive(String(data)));
    socket.send(authFrame(run.token));
    await authed;
    if (run.join) await join(socket as never);
    return driver;
  },

  async partysocket(run) {
    const socket = new ReconnectingWebSocket(run.url, undefined, { WebSocket });
    const { driver, receive } = handWritten(
      (data) => socket.send(data),
      () => socket.close(),
    );
    const authed = awaitType(socket as never, 'auth_success');
    socket.addEventListener('open', () => socket.send(authFrame(run.token)));
    socket.addEventListener('message', (event) => receive(String(event.data)));
    await authed;
    if (run.join) await join(socket as never);
    return driver;
  },

  async 'socketio-emit'(run) {
    const socket = io(run.url, { transports: ['websocket'], forceNew: true });
    const waiting = new Map<string, () => void>();
    socket.on('message_sent', (reply: { temp_id: string }) => {
      const done = waiting.get(reply.temp_id);
      if (!done) return;
      waiting.delete(reply.temp_id);
      done();
    });
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    return {
      send(text, done) {
        const tempId = orderedId();
        waiting.set(tempId, done);
        socket.emit('message_send', { line_user_id: room, message: { type: 'text', text }, temp_id: tempId });
      },
      close: () => socket.close(),
    };
  },

  async 'socketio-ack'(run) {
    const socket = io(run.url, { transports: ['websocket'], forceNew: true });
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    if (run.join) await new Promise<void>((resolve) => socket.emit('join', room, () => resolve()));
    return {
      send(text, done) {
        socket.emit('message_send', { line_user_id: room, message: { type: 'text', text }, temp_id: orderedId() }, done);
      },
      close: () => socket.close(),
    };
  },
};

/**
 * The socket.io clients' temp_ids: made as our client makes its own (UUIDv7, `createIdMaker`), so
 * that on a SQLite store (`socketio-sqlite`) their dedup-index inserts land at one end of it as ours
 * do, and both clients pay the same for their ids.
 */
const orderedId = createIdMaker();

function cpuSince(start: NodeJS.CpuUsage): number {
  const { user, system } = process.cpuUsage(start);
  return user + system;
}

async function sequential(driver: Driver, count: number, deadline: number): Promise<{ latencies: number[]; cpuUs: number }> {
  const latencies: number[] = [];
  const cpu = process.cpuUsage();
  for (let i = 0; i < count && performance.now() < deadline; i++) {
    const started = performance.now();
    await new Promise<void>((resolve) => driver.send(`hello from the benchmark, message ${i}`, resolve));
    latencies.push(performance.now() - started);
  }
  return { latencies, cpuUs: cpuSince(cpu) / Math.max(1, latencies.length) };
}

/** `count` messages with at most `window` awaiting their ack at any time. */
function pipelined(driver: Driver, count: number, window: number, deadline: number): Promise<{ perSecond: number; cpuUs: number; sent: number }> {
  return new Promise((resolve) => {
    const cpu = process.cpuUsage();
    const started = performance.now();
    let sent = 0;
    let acked = 0;
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      const seconds = (performance.now() - started) / 1000;
      resolve({ perSecond: acked / seconds, cpuUs: cpuSince(cpu) / Math.max(1, acked), sent: acked });
    };
    const timer = setTimeout(finish, Math.max(0, deadline - performance.now()));
    const next = () => {
      if (sent >= count) return;
      sent++;
      driver.send(`hello from the benchmark, message ${sent}`, () => {
        acked++;
        if (acked === count) finish();
        else next();
      });
    };
    for (let i = 0; i < window; i++) next();
    if (count === 0) finish(); // nothing to wait for (a warm-up or a phase left out)
  });
}

const { reply } = childMain(async (message) => {
  if (message.type !== 'run') return;
  const run = message as ClientRun;
  room = run.room;
  const driver = await open[run.peer]!(run);
  const deadline = performance.now() + run.budgetMs;
  await pipelined(driver, run.warmup, run.window, deadline);
  await sequential(driver, Math.min(200, run.warmup), deadline);
  const levels: LevelResult[] = [];
  let parked = 0;
  for (const held of run.held) {
    // Parked: sent, never acked, so they wait in the client's pending-ack structure from now on.
    for (; parked < held; parked++) driver.send(`hold ${parked}`, () => {});
    const seq = await sequential(driver, run.sequential, deadline);
    if (run.profile) await startProfile();
    const pipe = await pipelined(driver, run.pipelined, run.window, deadline);
    if (run.profile) await stopProfile(run.profile);
    levels.push({
      peer: run.peer,
      held,
      p50: percentile(seq.latencies, 50),
      p99: percentile(seq.latencies, 99),
      seqCpuUs: seq.cpuUs,
      perSecond: pipe.perSecond,
      pipeCpuUs: pipe.cpuUs,
      sent: pipe.sent,
    });
  }
  reply({ type: 'result', levels } satisfies ClientResult);
  driver.close();
  setTimeout(() => process.exit(0), 50);
});
