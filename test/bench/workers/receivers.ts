/**
 * The fan-out audience: `count` operator connections in one room, plus one sender connection, all
 * in this process (so send and delivery times share one clock), the server in another.
 *
 * Receivers are the same minimal WebSocket client for every contender (a TCP socket, the HTTP
 * upgrade and frame parsing by hand: see `LightSocket`), so the receiving side costs the same
 * whatever the server, and far less than a full client: 500 `ws` clients in one process saturate
 * its core before any of the servers does. They speak protocol v1 (`auth`, `join_conversation`)
 * to our server and the raw loop, and socket.io's wire protocol directly to socket.io (engine.io
 * v4 over WebSocket: `40` connect, `42[...]` events, `2`/`3` ping/pong). A delivery is recognized
 * by its frame prefix (`message_sent`) and its message number read from the text (`~<n>~`),
 * without decoding the frame.
 */
import { performance } from 'node:perf_hooks';
import { TokenAuthority } from '../../../examples/server/src/auth.js';
import { LightSocket } from '../lib/light-socket.js';
import { childMain, sleep, until, type Message } from '../lib/proc.js';
import { percentile } from '../lib/stats.js';

export interface AudienceSetup extends Message {
  type: 'setup';
  protocol: 'v1' | 'socketio';
  /** Receivers are spread over these servers round-robin (two processes on Redis); the sender uses the first. */
  urls: string[];
  count: number;
  room: string;
  /** JWT secret of our server; absent: the token is just the operator id. */
  secret?: string;
}

export interface Phase extends Message {
  type: 'phase';
  messages: number;
  /** Messages per second; 0: all at once. */
  rate: number;
  timeoutMs: number;
}

export interface PhaseResult extends Message {
  type: 'phase-result';
  delivered: number;
  expected: number;
  /** First send to last delivery. */
  seconds: number;
  perSecond: number;
  p50: number;
  p99: number;
  max: number;
  /** CPU this process used during the phase, as a share of one core: near 1 means the audience, not the server, was the limit. */
  audienceCpu: number;
  closed: number;
}

const v1Prefix = Buffer.from('{"type":"message_sent"');
const socketIoPrefix = Buffer.from('42["message_sent"');
const tilde = 0x7e;

let setup: AudienceSetup;
const sockets: LightSocket[] = [];
let sender: LightSocket;
let closed = 0;
/** Per message number: when it was sent (performance.now()). */
let sentAt = new Float64Array(0);
let latencies = new Float64Array(0);
let delivered = 0;
let lastDeliveryAt = 0;

function messageNumber(data: Buffer): number {
  let at = data.indexOf(tilde) + 1;
  if (at === 0) return -1;
  let value = 0;
  for (let byte = data[at]!; byte >= 0x30 && byte <= 0x39; byte = data[++at]!) value = value * 10 + byte - 0x30;
  return value;
}

function onDelivery(data: Buffer): void {
  const prefix = setup.protocol === 'v1' ? v1Prefix : socketIoPrefix;
  if (data.length < prefix.length || data.compare(prefix, 0, prefix.length, 0, prefix.length) !== 0) return;
  const number = messageNumber(data);
  if (number < 0 || number >= sentAt.length || !sentAt[number]) return;
  const now = performance.now();
  if (delivered < latencies.length) latencies[delivered] = now - sentAt[number]!;
  delivered++;
  lastDeliveryAt = now;
}

/** Resolves on the first frame `accept` returns true for. */
function nextFrame(socket: LightSocket, accept: (text: string) => boolean, timeoutMs = 15_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const previous = socket.onFrame;
    const timer = setTimeout(() => {
      socket.onFrame = previous;
      reject(new Error('no expected frame in time'));
    }, timeoutMs);
    socket.onFrame = (payload) => {
      previous(payload);
      if (!accept(payload.toString())) return;
      clearTimeout(timer);
      socket.onFrame = previous;
      resolve();
    };
  });
}

function v1(type: string, payload: unknown): string {
  return JSON.stringify({ type, payload, timestamp: new Date().toISOString() });
}

async function connect(url: string, adminId: string, join: boolean, authority: TokenAuthority | undefined): Promise<LightSocket> {
  const socketIo = setup.protocol === 'socketio';
  const socket = await LightSocket.open(socketIo ? `${url.replace(/^http/, 'ws')}/socket.io/?EIO=4&transport=websocket` : url);
  socket.onClose = () => closed++;
  if (socketIo) {
    socket.onFrame = (payload) => {
      if (payload.length === 1 && payload[0] === 0x32) socket.send('3'); // engine.io ping → pong
    };
    const connected = nextFrame(socket, (text) => text.startsWith('40'));
    socket.send('40');
    await connected;
    if (join) {
      const joined = nextFrame(socket, (text) => text.startsWith('430'));
      socket.send(`420${JSON.stringify(['join', setup.room])}`);
      await joined;
    }
    return socket;
  }
  const authed = nextFrame(socket, (text) => text.includes('"auth_success"'));
  socket.send(v1('auth', { token: authority ? await authority.sign({ adminId }, 3600) : adminId }));
  await authed;
  if (join) {
    const joined = nextFrame(socket, (text) => text.includes('"operator_joined"') && text.includes(`"admin_id":"${adminId}"`));
    socket.send(v1('join_conversation', { line_user_id: setup.room }));
    await joined;
  }
  return socket;
}

function send(number: number): void {
  const payload = { line_user_id: setup.room, message: { type: 'text', text: `~${number}~ hello room` }, temp_id: `m${number}-${Date.now()}` };
  sentAt[number] = performance.now();
  sender.send(setup.protocol === 'v1' ? v1('message_send', payload) : `42${JSON.stringify(['message_send', payload])}`);
}

const { reply } = childMain(async (message) => {
  if (message.type === 'setup') {
    setup = message as AudienceSetup;
    const authority = setup.secret ? new TokenAuthority(setup.secret) : undefined;
    // In batches: a listen backlog is not an infinite queue.
    for (let first = 0; first < setup.count; first += 50) {
      const batch = [];
      for (let index = first; index < Math.min(setup.count, first + 50); index++) {
        batch.push(connect(setup.urls[index % setup.urls.length]!, `op${index}`, true, authority));
      }
      sockets.push(...(await Promise.all(batch)));
    }
    for (const socket of sockets) {
      const control = socket.onFrame;
      socket.onFrame = (payload) => {
        control(payload);
        onDelivery(payload);
      };
    }
    sender = await connect(setup.urls[0]!, 'sender', false, authority);
    closed = 0;
    reply({ type: 'ready' });
  } else if (message.type === 'phase') {
    const phase = message as Phase;
    const expected = phase.messages * sockets.length;
    sentAt = new Float64Array(phase.messages);
    latencies = new Float64Array(expected);
    delivered = 0;
    // Quiet first: nothing of the setup (joins, presence) is still arriving.
    await sleep(300);
    const cpu = process.cpuUsage();
    const started = performance.now();
    if (phase.rate <= 0) {
      for (let number = 0; number < phase.messages; number++) send(number);
    } else {
      let next = 0;
      while (next < phase.messages && performance.now() - started < phase.timeoutMs) {
        const due = Math.min(phase.messages, Math.floor(((performance.now() - started) / 1000) * phase.rate) + 1);
        while (next < due) send(next++);
        await sleep(1);
      }
    }
    await until('every delivery', () => delivered >= expected || closed > 0, phase.timeoutMs, 5).catch(() => {});
    const used = process.cpuUsage(cpu);
    const seconds = ((lastDeliveryAt || performance.now()) - started) / 1000;
    const measured = latencies.subarray(0, Math.min(delivered, expected));
    reply({
      type: 'phase-result',
      delivered,
      expected,
      seconds,
      perSecond: delivered / seconds,
      p50: percentile(measured as unknown as number[], 50),
      p99: percentile(measured as unknown as number[], 99),
      max: percentile(measured as unknown as number[], 100),
      audienceCpu: (used.user + used.system) / 1e6 / ((performance.now() - started) / 1000),
      closed,
    } satisfies PhaseResult);
  } else if (message.type === 'close') {
    for (const socket of [...sockets, sender]) socket?.destroy();
    reply({ type: 'closed' });
    setTimeout(() => process.exit(0), 20);
  }
});
