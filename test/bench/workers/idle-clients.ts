/**
 * Opens `count` idle, authenticated connections and keeps them open: protocol v1 (`auth` frame with
 * a JWT for our server, any token for the raw `ws` one) or socket.io (the token in the CONNECT
 * packet, checked by a middleware). Minimal sockets (`LightSocket`) so thousands fit in one process.
 */
import { TokenAuthority } from '../../../examples/server/src/auth.js';
import { LightSocket } from '../lib/light-socket.js';
import { childMain, type Message } from '../lib/proc.js';

export interface IdleSetup extends Message {
  type: 'open';
  protocol: 'v1' | 'socketio';
  url: string;
  count: number;
  secret?: string;
  /** Connections opened at once. */
  batch: number;
}

const sockets: LightSocket[] = [];

function authenticated(socket: LightSocket, accept: (text: string) => boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('not authenticated in time')), 30_000);
    socket.onFrame = (payload) => {
      const text = payload.toString();
      if (text === '2') return socket.send('3'); // engine.io ping → pong
      if (!accept(text)) return;
      clearTimeout(timer);
      resolve();
    };
  });
}

async function open(setup: IdleSetup, index: number, authority: TokenAuthority | undefined): Promise<LightSocket> {
  const adminId = `op${index}`;
  const token = authority ? await authority.sign({ adminId }, 3600) : `token-${adminId}`;
  if (setup.protocol === 'socketio') {
    const socket = await LightSocket.open(`${setup.url.replace(/^http/, 'ws')}/socket.io/?EIO=4&transport=websocket`);
    const done = authenticated(socket, (text) => text.startsWith('40{"sid"'));
    socket.send(`40${JSON.stringify({ token })}`);
    await done;
    socket.onFrame = (payload) => {
      if (payload.length === 1 && payload[0] === 0x32) socket.send('3');
    };
    return socket;
  }
  const socket = await LightSocket.open(setup.url);
  const done = authenticated(socket, (text) => text.includes('"auth_success"'));
  socket.send(JSON.stringify({ type: 'auth', payload: { token }, timestamp: new Date().toISOString() }));
  await done;
  socket.onFrame = () => {};
  return socket;
}

const { reply } = childMain(async (message) => {
  if (message.type === 'open') {
    const setup = message as IdleSetup;
    const authority = setup.secret ? new TokenAuthority(setup.secret) : undefined;
    const started = Date.now();
    const offset = sockets.length;
    for (let first = 0; first < setup.count; first += setup.batch) {
      const batch = [];
      for (let index = first; index < Math.min(setup.count, first + setup.batch); index++) batch.push(open(setup, offset + index, authority));
      sockets.push(...(await Promise.all(batch)));
    }
    reply({ type: 'opened', count: sockets.length, ms: Date.now() - started, closed: sockets.filter((socket) => socket.closed).length });
  } else if (message.type === 'close') {
    for (const socket of sockets) socket.destroy();
    reply({ type: 'closed' });
    setTimeout(() => process.exit(0), 20);
  }
});
