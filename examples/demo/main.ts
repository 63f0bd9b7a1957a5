/**
 * `npm start`: two operators talking through a protocol-v1 server on 127.0.0.1, with a server
 * restart in the middle, printed as it happens. It uses the test suite's protocol-v1 server until
 * the reference server (examples/server) exists. It stops by itself.
 */
import { WebSocket } from 'ws';
import { ExponentialBackoffStrategy, LiveChatClient, type WebSocketConstructor } from '../../dist/index.js';
import { V1Server, V1Store } from '../../test/support/v1-server.js';

const conversationId = 'U4af4980629';
const started = Date.now();
const log = (who: string, text: string) =>
  console.log(`${String(Date.now() - started).padStart(5)} ms  ${who.padEnd(8)} ${text}`);

function operator(name: string, url: string): LiveChatClient {
  const client = new LiveChatClient({
    url,
    token: () => `op:${name}`,
    WebSocket: WebSocket as unknown as WebSocketConstructor,
    reconnect: new ExponentialBackoffStrategy({ baseDelayMs: 200, maxDelayMs: 1000 }),
    heartbeat: { intervalMs: 1000, timeoutMs: 1000 },
  });
  client.on('state', ({ current }) => log(name, `is ${current}`));
  client.on('message_received', ({ message }) => log(name, `sees the customer: "${message.text}"`));
  client.on('message_sent', ({ admin_id, message, seq }) => log(name, `sees ${admin_id}: "${message.text}" (seq ${seq})`));
  client.on('typing_started', ({ admin_id }) => log(name, `sees ${admin_id} typing…`));
  client.connect();
  client.joinConversation(conversationId);
  return client;
}

function until(client: LiveChatClient, predicate: () => boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    const timeout = setTimeout(() => reject(new Error('the demo took too long')), 10_000);
    const check = () => {
      if (!predicate()) return;
      clearTimeout(timeout);
      unsubscribe();
      resolve();
    };
    const unsubscribe = client.subscribe(check);
    check();
  });
}

const store = new V1Store();
let server = await V1Server.start({ store });
log('server', `listening on ${server.url}`);
const alice = operator('alice', server.url);
const bob = operator('bob', server.url);
await until(alice, () => alice.state === 'connected');
await until(bob, () => bob.state === 'connected');
await new Promise<void>((resolve) => {
  const stop = server.onFrame(() => {
    if (server.roomAdmins(conversationId).length < 2) return;
    stop();
    resolve();
  });
});

server.injectCustomerMessage(conversationId, "Hi, my order hasn't arrived yet.");
alice.startTyping(conversationId);
await alice.sendMessage(conversationId, "Sorry to hear that! Let me check.");

log('server', 'crashes; alice keeps writing');
const port = server.port;
await server.close();
const pending = ['Found it: it left the warehouse today.', 'Tracking number: 1Z999.', 'Anything else?'].map((text) =>
  alice.sendMessage(conversationId, text),
);
log('alice', `has ${alice.getSnapshot().pendingCount} messages waiting`);
server = await V1Server.start({ store, port });
log('server', 'is back on the same port');
const acks = await Promise.all(pending);
log('alice', `got ${acks.length} acks: seq ${acks.map((ack) => ack.seq).join(', ')}`);
await until(bob, () => bob.conversation(conversationId).getSnapshot().messages.length === 5);
await until(alice, () => alice.getSnapshot().pendingCount === 0);
const seen = bob.conversation(conversationId).getSnapshot().messages.map((message) => message.seq);
log('bob', `holds seq ${seen.join(', ')}: each once, in order`);

alice.disconnect();
bob.disconnect();
await server.close();
log('demo', 'done');
