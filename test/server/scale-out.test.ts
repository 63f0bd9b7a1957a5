/**
 * Scale-out: several server processes share nothing but one Redis. Two apps in the test process
 * (each with its own Redis connections, gateway and HTTP server), plus, for the crash case, a real
 * server child process killed with SIGKILL. Operators are the real SDK client.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import net, { type AddressInfo, type Socket } from 'node:net';
import { describe, expect, test } from 'vitest';
import { textEvent } from '../../examples/server/src/line.js';
import type { LiveChatClient, MessageAck, ServerEnvelope } from '../../src/index.js';
import { texts, useHarness, waitFor, waitForState } from '../support/harness.js';
import { FaultProxy } from '../support/proxy.js';
import { RawClient } from '../support/raw-client.js';
import { useRedis } from '../support/redis.js';
import { type TestServer, startServer, testSecret } from '../support/reference-server.js';

const redis = useRedis();
const harness = useHarness();
const LIVE_CHAT_PATH = '/api/v1/ws/live-chat';

/** Server processes on the file's Redis; a short presence liveness so dead processes are noticed in about a second. */
async function processes(count = 2, overrides: Parameters<typeof startServer>[0] = {}): Promise<TestServer[]> {
  const servers: TestServer[] = [];
  for (let i = 0; i < count; i++) {
    servers.push(harness().defer(await startServer({ redisUrl: redis().url, presenceLivenessSeconds: 1, ...overrides })));
  }
  return servers;
}

/** Every valid frame a client receives, in arrival order, from now on. */
function record(client: LiveChatClient): ServerEnvelope[] {
  const frames: ServerEnvelope[] = [];
  client.on('message', (envelope) => frames.push(envelope));
  return frames;
}

/** Seqs of the message frames of one conversation, in arrival order (duplicates included). */
function wireSeqs(frames: readonly ServerEnvelope[], conversationId: string): unknown[] {
  return frames
    .filter((frame) => (frame.type === 'message_sent' || frame.type === 'message_received') && frame.payload.line_user_id === conversationId)
    .map((frame) => frame.payload.seq);
}

function snapshotSeqs(client: LiveChatClient, conversationId: string): (number | undefined)[] {
  return client.conversation(conversationId).getSnapshot().messages.map((message) => message.seq);
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, index) => from + index);
}

async function operator(server: TestServer, adminId: string, join: string[] = ['U1']): Promise<LiveChatClient> {
  return harness().connected(server.wsUrl, await server.token(adminId), join);
}

async function present(client: LiveChatClient, conversationId: string, operators: string[]): Promise<void> {
  await waitFor(`${JSON.stringify(operators)} present in ${conversationId}`, () => {
    return JSON.stringify([...client.conversation(conversationId).getSnapshot().operators].sort()) === JSON.stringify([...operators].sort());
  }, { describe: () => client.conversation(conversationId).getSnapshot().operators });
}

/** `npm start` as a real child process on a free port, on the file's Redis. */
async function serverProcess(): Promise<{ child: ChildProcess; wsUrl: string; output: () => string }> {
  // `node --import tsx`, not the tsx binary: that one runs the server in a grandchild, which a SIGKILL would not reach.
  const child = spawn(process.execPath, ['--import', 'tsx', 'examples/server/src/main.ts'], {
    env: {
      ...process.env,
      PORT: '0',
      HOST: '127.0.0.1',
      REDIS_URL: redis().url,
      JWT_SECRET: testSecret,
      PRESENCE_LIVENESS_SECONDS: '1',
      STATIC_DIRS: 'none=none',
      NODE_ENV: 'development',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  harness().defer(() => child.kill('SIGKILL'));
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  let exited = false;
  child.once('exit', () => (exited = true));
  let port: string | undefined;
  await waitFor('the server process to listen', () => {
    port = /reference server on http:\/\/127\.0\.0\.1:(\d+)/.exec(output)?.[1];
    return port !== undefined || exited;
  }, { timeoutMs: 15_000, describe: () => output });
  if (!port) throw new Error(`the server process exited during startup:\n${output}`);
  return { child, wsUrl: `ws://127.0.0.1:${port}${LIVE_CHAT_PATH}`, output: () => output };
}

/**
 * A TCP proxy in front of Redis that can hold back everything Redis sends through it (command
 * replies and pub/sub deliveries alike), then release it in order; what the client sends always
 * goes through. A process behind it whose replies are held is a process whose event loop (or
 * network) is slow at the wrong moment: its appends are done in Redis, but it hears of them late.
 */
class ReplyHoldingProxy {
  readonly #server: net.Server;
  readonly #sockets = new Set<Socket>();
  /** Writes waiting for release, in arrival order, across connections. */
  readonly #held: (() => void)[] = [];
  #holding = false;
  #trigger: { command: RegExp; resolve: () => void } | undefined;
  /** Called once something was held after a trigger fired. */
  #onHeld: (() => void) | undefined;

  private constructor(server: net.Server) {
    this.#server = server;
  }

  static async start(targetPort: number): Promise<ReplyHoldingProxy> {
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const proxy = new ReplyHoldingProxy(server);
    server.on('connection', (client) => proxy.#accept(client, targetPort));
    return proxy;
  }

  get url(): string {
    return `redis://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  hold(): void {
    this.#holding = true;
  }

  /**
   * Holds back what Redis sends from the moment the client sends a command named by `command`
   * (that command's reply included). Resolves once Redis has answered it (the reply is held), i.e.
   * once the command has run in Redis while the client has not heard of it.
   */
  holdFrom(command: RegExp): Promise<void> {
    return new Promise((resolve) => {
      this.#trigger = { command, resolve };
    });
  }

  release(): void {
    this.#holding = false;
    for (const write of this.#held.splice(0)) write();
  }

  close(): Promise<void> {
    this.release();
    for (const socket of this.#sockets) socket.destroy();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  #accept(client: Socket, targetPort: number): void {
    const upstream = net.connect(targetPort, '127.0.0.1');
    for (const socket of [client, upstream]) {
      this.#sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => {
        this.#sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    client.on('data', (chunk: Buffer) => {
      // RESP: a command is an array of bulk strings, its name first (`*<n>\r\n$<len>\r\n<name>\r\n`).
      const names = [...chunk.toString('latin1').matchAll(/\*\d+\r\n\$\d+\r\n([^\r]*)\r\n/g)].map((match) => match[1]!);
      const trigger = this.#trigger;
      if (trigger && names.some((name) => trigger.command.test(name))) {
        this.#trigger = undefined;
        this.#holding = true;
        this.#onHeld = trigger.resolve;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      if (!this.#holding) return client.write(chunk);
      this.#held.push(() => client.write(chunk));
      this.#onHeld?.();
      this.#onHeld = undefined;
    });
  }
}

describe('two server processes on one Redis', () => {
  test('messages cross processes both ways: acked with seq, seen exactly once on the other process, in seq order', async () => {
    const [a, b] = await processes();
    const alice = await operator(a!, 'alice');
    const bob = await operator(b!, 'bob');
    const aliceFrames = record(alice);
    const bobFrames = record(bob);
    await present(alice, 'U1', ['alice', 'bob']);
    await present(bob, 'U1', ['alice', 'bob']);

    const fromA = await alice.sendMessage('U1', 'from A');
    expect(fromA).toMatchObject({ conversationId: 'U1', seq: 1, adminId: 'alice' });
    await waitFor('bob gets seq 1', () => bob.conversation('U1').getSnapshot().lastSeq === 1);
    const fromB = await bob.sendMessage('U1', 'from B');
    expect(fromB).toMatchObject({ seq: 2, adminId: 'bob' });

    // Both processes write to the conversation at the same time.
    const burst = await Promise.all([
      ...range(1, 10).map((i) => alice.sendMessage('U1', `A${i}`)),
      ...range(1, 10).map((i) => bob.sendMessage('U1', `B${i}`)),
    ]);
    expect(burst.map((ack) => ack.seq).sort((x, y) => x! - y!)).toEqual(range(3, 22));

    for (const [client, frames] of [[alice, aliceFrames], [bob, bobFrames]] as const) {
      await waitFor('all 22 messages', () => client.conversation('U1').getSnapshot().lastSeq === 22);
      // On the wire: each seq exactly once (the sender's copy is its ack), in increasing order.
      expect(wireSeqs(frames, 'U1')).toEqual(range(1, 22));
      expect(snapshotSeqs(client, 'U1')).toEqual(range(1, 22));
      expect(client.conversation('U1').getSnapshot().outgoing).toEqual([]);
    }
    expect(texts(bob, 'U1').slice(0, 2)).toEqual(['from A', 'from B']);
    expect(bob.conversation('U1').getSnapshot().messages[0]).toMatchObject({ adminId: 'alice', tempId: fromA.tempId, status: 'sent' });
    expect(alice.conversation('U1').getSnapshot().messages[1]).toMatchObject({ adminId: 'bob', tempId: fromB.tempId });
    // Each ack names the message its sender wrote.
    for (const ack of burst) expect(texts(alice, 'U1')[ack.seq! - 1]).toBe(ack.message.text);
  });

  test('conversation_updated never goes backwards on any process: two processes append 40 messages each to one conversation', async () => {
    // A's Redis traffic goes through a proxy that can hold back what Redis answers it: an append of
    // A's can be done in Redis (its seq taken) while A has not heard of it yet, and B appends after it.
    const proxy = harness().defer(await ReplyHoldingProxy.start(redis().port));
    // Liveness 30 s: A must not be swept as dead while it is held back.
    const a = harness().defer(await startServer({ redisUrl: proxy.url, presenceLivenessSeconds: 30 }));
    const [b] = await processes(1, { presenceLivenessSeconds: 30 });
    // Pings and acks wait behind held replies: clients as patient as real ones.
    const patient = { heartbeat: { intervalMs: 1000, timeoutMs: 5000 }, queue: { ackTimeoutMs: 5000, ttlMs: 15_000 } };
    const alice = await harness().connected(a.wsUrl, await a.token('alice'), ['U1'], patient);
    // One join after the other (two joins at once: see the presence test below).
    await present(alice, 'U1', ['alice']);
    const bob = await harness().connected(b!.wsUrl, await b!.token('bob'), ['U1'], patient);
    const aliceFrames = record(alice);
    const bobFrames = record(bob);
    await present(alice, 'U1', ['alice', 'bob']);
    await present(bob, 'U1', ['alice', 'bob']);
    const updates = (frames: readonly ServerEnvelope[], conversationId = 'U1') =>
      frames.filter((frame) => frame.type === 'conversation_updated' && frame.payload.line_user_id === conversationId).map((frame) => frame.payload);
    const acks: MessageAck[] = [];

    // Interleaved, one each per round: alice's append is stored (seq 2k-1; bob sees the message) but
    // A hears of it only after bob's (seq 2k) was stored and announced.
    for (let round = 1; round <= 20; round++) {
      proxy.hold();
      const mine = alice.sendMessage('U1', `A${round}`);
      await waitFor(`bob sees A${round}`, () => texts(bob, 'U1').includes(`A${round}`));
      const theirs = await bob.sendMessage('U1', `B${round}`);
      await waitFor(`bob gets the summary of B${round}`, () => updates(bobFrames).some((update) => update.last_seq === theirs.seq));
      proxy.release();
      acks.push(theirs, await mine);
    }
    // Then both at once, nothing held: 20 more each, racing.
    acks.push(
      ...(await Promise.all([
        ...range(21, 40).map((i) => alice.sendMessage('U1', `A${i}`)),
        ...range(21, 40).map((i) => bob.sendMessage('U1', `B${i}`)),
      ])),
    );
    expect(acks.map((ack) => ack.seq).sort((x, y) => x! - y!)).toEqual(range(1, 80));

    // Barrier: a summary of another conversation, published after all of U1's.
    await bob.sendMessage('U2', 'barrier');
    for (const frames of [aliceFrames, bobFrames]) await waitFor('the barrier summary', () => updates(frames, 'U2').length > 0);

    const newest = acks.find((ack) => ack.seq === 80)!;
    for (const [who, frames] of [['alice on A', aliceFrames], ['bob on B', bobFrames]] as const) {
      const seen = updates(frames).map((update) => update.last_seq as number);
      const backwards = seen.filter((seq, index) => index > 0 && seq < seen[index - 1]!);
      expect(backwards, `${who}: a summary older than the one before it (last_seq in arrival order: ${seen.join(' ')})`).toEqual([]);
      expect(seen.at(-1), who).toBe(80);
      expect(updates(frames).at(-1), who).toMatchObject({
        line_user_id: 'U1',
        unread_count: 0,
        status: 'answered',
        last_message: { seq: 80, sender: 'operator', admin_id: newest.adminId, temp_id: newest.tempId, message: { type: 'text', text: newest.message.text } },
      });
    }
  });

  test('operator lists never go backwards: two operators join one room through different processes at once', async () => {
    // A's Redis traffic goes through the holding proxy. Alice joins through A, and A's replies are
    // held from the moment it asks Redis for the room's operators (after adding alice): A has its
    // list, [alice], but announces it only after bob joined through B and [alice, bob] was announced.
    const proxy = harness().defer(await ReplyHoldingProxy.start(redis().port));
    const a = harness().defer(await startServer({ redisUrl: proxy.url, presenceLivenessSeconds: 30 }));
    const [b] = await processes(1, { presenceLivenessSeconds: 30 });
    const patient = { heartbeat: { intervalMs: 1000, timeoutMs: 5000 }, queue: { ackTimeoutMs: 5000, ttlMs: 15_000 } };
    const alice = harness().client(a.wsUrl, { token: await a.token('alice'), ...patient });
    const bob = harness().client(b!.wsUrl, { token: await b!.token('bob'), ...patient });
    const frames = new Map([[alice, record(alice)], [bob, record(bob)]]);
    // The read of the list: a command of its own before the fix, part of the presence script after.
    const aRead = proxy.holdFrom(/^(hgetall|evalsha|eval)$/i);
    alice.joinConversation('U1');
    alice.connect();
    await aRead;
    bob.joinConversation('U1');
    bob.connect();
    await present(bob, 'U1', ['alice', 'bob']);
    proxy.release();
    // Barrier: alice's join is done before her send is handled (one connection's frames are handled
    // in order), and the message reaches each process after every presence announcement before it.
    await alice.sendMessage('U1', 'barrier');
    await waitFor('bob gets the barrier', () => texts(bob, 'U1').includes('barrier'));
    await waitFor('alice gets the barrier', () => texts(alice, 'U1').includes('barrier'));

    for (const [client, who] of [[alice, 'alice'], [bob, 'bob']] as const) {
      const presence = frames
        .get(client)!
        .filter((frame) => (frame.type === 'operator_joined' || frame.type === 'operator_left') && frame.payload.line_user_id === 'U1')
        .map((frame) => ({ type: frame.type, ...frame.payload }) as Record<string, unknown>);
      const described = JSON.stringify(presence);
      expect(presence.length, `${who}: ${described}`).toBeGreaterThan(0);
      expect(presence.every((frame) => frame.type === 'operator_joined'), `${who}: ${described}`).toBe(true);
      expect(presence.at(-1), `${who}: ${described}`).toMatchObject({ operators: ['alice', 'bob'] });
      expect(client.conversation('U1').getSnapshot().operators, who).toEqual(['alice', 'bob']);
      // Versions only go up, in arrival order: no older list after a newer one.
      const versions = presence.map((frame) => frame.version);
      expect(versions.every((version) => typeof version === 'number'), `${who}: ${described}`).toBe(true);
      expect(versions.filter((version, index) => index > 0 && (version as number) <= (versions[index - 1] as number)), `${who}: ${described}`).toEqual([]);
    }
  });

  test('typing on A shows on B, is never echoed to A, and expires server-side across processes', async () => {
    const [a, b] = await processes(2, { typingTimeoutMs: 300 });
    const alice = await operator(a!, 'alice');
    const bob = await operator(b!, 'bob');
    await present(bob, 'U1', ['alice', 'bob']);
    let echoed = 0;
    alice.on('typing_started', ({ admin_id: adminId }) => adminId === 'alice' && echoed++);
    alice.on('typing_stopped', ({ admin_id: adminId }) => adminId === 'alice' && echoed++);

    alice.startTyping('U1');
    await waitFor('bob sees alice typing', () => bob.conversation('U1').getSnapshot().typing.includes('alice'));
    alice.stopTyping('U1');
    await waitFor('alice stopped typing for bob', () => bob.conversation('U1').getSnapshot().typing.length === 0);

    // A raw peer on A that starts typing once and never stops: the server on A expires it, and B hears.
    const carol = harness().defer(await RawClient.authed(a!.wsUrl, await a!.token('carol')));
    carol.send('join_conversation', { line_user_id: 'U1' });
    await present(bob, 'U1', ['alice', 'bob', 'carol']);
    const stops: number[] = [];
    bob.on('typing_stopped', ({ admin_id: adminId }) => adminId === 'carol' && stops.push(Date.now()));
    const started = Date.now();
    carol.send('typing_start', { line_user_id: 'U1' });
    await waitFor('bob sees carol typing', () => bob.conversation('U1').getSnapshot().typing.includes('carol'));
    await waitFor('the server expires carol\'s typing', () => stops.length === 1, { timeoutMs: 3000 });
    expect(stops[0]! - started).toBeGreaterThanOrEqual(250);
    expect(bob.conversation('U1').getSnapshot().typing).toEqual([]);

    // Barrier: broadcasts reach a process in publish order, so after this message any echo would be in.
    await bob.sendMessage('U1', 'barrier');
    await waitFor('barrier on A', () => alice.conversation('U1').getSnapshot().lastSeq === 1);
    await carol.next('message_sent');
    expect(echoed).toBe(0);
    expect(carol.of('typing_started')).toEqual([]);
  });

  test('presence spans processes; a socket dying on one process is announced on the other', async () => {
    const [a, b] = await processes();
    const alice = await operator(a!, 'alice');
    // Bob's socket to B goes through a proxy, so it can die as in a network failure.
    const proxy = harness().defer(await FaultProxy.start(b!.port));
    const bob = await harness().connected(proxy.url(LIVE_CHAT_PATH), await b!.token('bob'), ['U1']);
    // Alice has a second tab, on B.
    const aliceTab = await operator(b!, 'alice');
    const dave = await operator(b!, 'dave', ['U2']);
    for (const client of [alice, bob, aliceTab]) await present(client, 'U1', ['alice', 'bob']);
    await present(dave, 'U2', ['dave']);
    const left: unknown[] = [];
    alice.on('operator_left', (payload) => left.push(payload));

    proxy.refuse(true);
    proxy.dropAll();
    await waitForState(bob, 'reconnecting');
    await waitFor('alice hears bob left', () => left.length === 1);
    expect(left[0]).toMatchObject({ admin_id: 'bob', line_user_id: 'U1', operators: ['alice'] });
    await present(alice, 'U1', ['alice']);
    await present(aliceTab, 'U1', ['alice']);

    // One of alice's two tabs closes: she is still present, for the other process too.
    const tabHeard: unknown[] = [];
    aliceTab.on('operator_left', (payload) => tabHeard.push(payload));
    alice.disconnect();
    await waitFor('alice\'s tab on B hears her tab on A leave', () => tabHeard.length === 1);
    expect(tabHeard[0]).toMatchObject({ admin_id: 'alice', operators: ['alice'] });
    expect(aliceTab.conversation('U1').getSnapshot().operators).toEqual(['alice']);
    const gone: unknown[] = [];
    dave.on('operator_left', (payload) => gone.push(payload));
    dave.joinConversation('U1');
    await present(dave, 'U1', ['alice', 'dave']);
    expect(gone).toEqual([]);
  });

  test('a customer webhook posted to A reaches the operator on B once; conversation_updated reaches everyone', async () => {
    const [a, b] = await processes();
    const bob = await operator(b!, 'bob');
    const watcher = await operator(b!, 'watcher', []);
    const bobFrames = record(bob);
    const watcherFrames = record(watcher);
    await present(bob, 'U1', ['bob']);

    expect(await a!.webhook(textEvent('U1', 'hello from LINE', 'line-1'))).toBe(200);
    await waitFor('bob gets the customer message', () => texts(bob, 'U1').includes('hello from LINE'));
    // LINE redelivers the same event, to the other process: stored and fanned out once.
    expect(await b!.webhook(textEvent('U1', 'hello from LINE', 'line-1'))).toBe(200);
    expect(await b!.webhook(textEvent('U1', 'second', 'line-2'))).toBe(200);
    await waitFor('seq 2', () => bob.conversation('U1').getSnapshot().lastSeq === 2);
    expect(wireSeqs(bobFrames, 'U1')).toEqual([1, 2]);
    expect(bob.conversation('U1').getSnapshot().messages.map((m) => [m.seq, m.sender, m.content.text])).toEqual([
      [1, 'customer', 'hello from LINE'],
      [2, 'customer', 'second'],
    ]);

    // An operator on A answers; everyone, joined or not, on either process gets the summary.
    const alice = await operator(a!, 'alice', []);
    const aliceFrames = record(alice);
    await alice.sendMessage('U1', 'answer from A');
    const updates = (frames: ServerEnvelope[]) => frames.filter((frame) => frame.type === 'conversation_updated').map((frame) => frame.payload);
    await waitFor('summary after the answer reaches the watcher on B', () => updates(watcherFrames).some((update) => update.last_seq === 3));
    await waitFor('and alice on A', () => updates(aliceFrames).some((update) => update.last_seq === 3));
    expect(updates(watcherFrames).map((update) => [update.last_seq, update.unread_count, update.status])).toEqual([
      [1, 1, 'waiting'],
      [2, 2, 'waiting'],
      [3, 0, 'answered'],
    ]);
    expect(updates(watcherFrames).at(-1)).toMatchObject({
      line_user_id: 'U1',
      last_message: expect.objectContaining({ seq: 3, sender: 'operator', admin_id: 'alice', message: { type: 'text', text: 'answer from A' } }),
    });
    await waitFor('bob gets the answer', () => bob.conversation('U1').getSnapshot().lastSeq === 3);
  });

  test('a client dropped from A reconnects to B and replays what it missed: no gap, no duplicate', async () => {
    const [a, b] = await processes();
    const proxy = harness().defer(await FaultProxy.start(a!.port));
    const alice = harness().client(proxy.url(LIVE_CHAT_PATH), { token: await a!.token('alice') });
    const connections: string[] = [];
    alice.on('auth_success', (payload) => connections.push(String(payload.connection_id)));
    const aliceFrames = record(alice);
    alice.joinConversation('U1');
    alice.connect();
    await waitForState(alice, 'connected');
    const bob = await operator(b!, 'bob');
    await present(bob, 'U1', ['alice', 'bob']);

    await b!.webhook(textEvent('U1', 'c1'));
    await bob.sendMessage('U1', 'b1');
    await waitFor('alice has seq 2', () => alice.conversation('U1').getSnapshot().lastSeq === 2);

    // A goes away for alice: the load balancer will send her to B.
    proxy.refuse(true);
    proxy.dropAll();
    await waitForState(alice, 'reconnecting');
    await b!.webhook(textEvent('U1', 'missed c2'));
    await bob.sendMessage('U1', 'missed b2');
    await a!.webhook(textEvent('U1', 'missed c3 (posted to A)'));
    await bob.sendMessage('U1', 'missed b3');
    proxy.retarget(b!.port);
    proxy.refuse(false);
    await waitForState(alice, 'connected');
    await waitFor('alice caught up to seq 6', () => alice.conversation('U1').getSnapshot().lastSeq === 6, {
      describe: () => snapshotSeqs(alice, 'U1'),
    });
    // Live again, through B.
    await bob.sendMessage('U1', 'live b4');
    const mine = await alice.sendMessage('U1', 'alice on B');
    expect(mine.seq).toBe(8);
    await waitFor('alice has seq 8', () => alice.conversation('U1').getSnapshot().lastSeq === 8);

    expect(connections.map((id) => id.split(':')[0])).toHaveLength(2);
    expect(new Set(connections.map((id) => id.split(':')[0])).size).toBe(2);
    expect(snapshotSeqs(alice, 'U1')).toEqual(range(1, 8));
    expect(texts(alice, 'U1')).toEqual(['c1', 'b1', 'missed c2', 'missed b2', 'missed c3 (posted to A)', 'missed b3', 'live b4', 'alice on B']);
    // The rejoin asked from seq 2, and the replay on B brought 3..6, each once, in order.
    expect(wireSeqs(aliceFrames, 'U1')).toEqual(range(1, 8));
    await waitFor('bob sees alice again', () => bob.conversation('U1').getSnapshot().lastSeq === 8);
    await present(bob, 'U1', ['alice', 'bob']);
  });

  test('a process that shuts down gracefully: its operators are announced as left at once', async () => {
    // The default liveness (30 s): the announcement must not wait for it.
    const [a, b] = await processes(2, { presenceLivenessSeconds: 30 });
    await operator(a!, 'alice');
    const bob = await operator(b!, 'bob');
    await present(bob, 'U1', ['alice', 'bob']);
    const started = Date.now();
    await a!.close();
    await present(bob, 'U1', ['bob']);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  test('a process killed without cleanup (SIGKILL) does not leave its operators present', async () => {
    const [b] = await processes(1);
    const crashing = await serverProcess();
    const dave = await harness().connected(crashing.wsUrl, await b!.token('dave'), ['U1']);
    const bob = await operator(b!, 'bob');
    await present(bob, 'U1', ['bob', 'dave']);
    const left: unknown[] = [];
    bob.on('operator_left', (payload) => left.push(payload));

    const killed = Date.now();
    crashing.child.kill('SIGKILL');
    await waitForState(dave, 'reconnecting');
    // Liveness 1 s, swept every third of it: noticed within about 1.3 s.
    await waitFor('bob hears dave left', () => left.length > 0, { timeoutMs: 5000 });
    const noticedAfter = Date.now() - killed;
    expect(left).toEqual([expect.objectContaining({ admin_id: 'dave', line_user_id: 'U1', operators: ['bob'] })]);
    expect(bob.conversation('U1').getSnapshot().operators).toEqual(['bob']);
    expect(noticedAfter).toBeLessThan(4000);
    // The crashed process's connection is gone from Redis too: a newcomer sees only the living.
    const erin = await operator(b!, 'erin');
    await present(erin, 'U1', ['bob', 'erin']);
  });
});
