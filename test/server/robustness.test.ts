/**
 * Issue #3, robustness: the reference server answers every bad frame with a coded `error` (or a 4xxx
 * close), enforces its size cap, rate limit, slow-consumer cut-off and idle timeout, shuts down with
 * 1001, and survives a frame fuzzer; a well-behaved SDK client is never hurt by any of it.
 */
import type { Socket } from 'node:net';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { startApp } from '../../examples/server/src/app.js';
import { type ServerConfig, loadConfig } from '../../examples/server/src/config.js';
import { textEvent } from '../../examples/server/src/line.js';
import { recordStates, texts, useHarness, waitFor, waitForState } from '../support/harness.js';
import { type Frame, RawClient } from '../support/raw-client.js';
import { type TestServer, startServer, tempDir, testSecret } from '../support/reference-server.js';

const harness = useHarness();

async function server(overrides: Partial<ServerConfig> = {}): Promise<TestServer> {
  return harness().defer(await startServer(overrides));
}

/** A raw client, authenticated as `adminId`, closed after the test. */
async function authed(app: TestServer, adminId: string): Promise<RawClient> {
  return harness().defer(await RawClient.authed(app.wsUrl, await app.token(adminId)));
}

/** Sends a frame as is (any text, not necessarily an envelope). */
function sendText(raw: RawClient, text: string): void {
  raw.socket.send(text);
}

/** An SDK client that connects, joins, sends, and gets its ack: the server still serves. */
async function sdkRoundTrip(app: TestServer, adminId: string, conversationId: string, text: string): Promise<void> {
  const client = await harness().connected(app.wsUrl, await app.token(adminId), [conversationId]);
  const ack = await client.sendMessage(conversationId, text);
  expect(ack).toMatchObject({ conversationId, adminId, seq: expect.any(Number) });
  await waitFor(`${adminId} sees its message as sent`, () =>
    client.conversation(conversationId).getSnapshot().messages.some((m) => m.content.text === text && m.status === 'sent'),
  );
}

/** Pacing of a simulated user or client (not a wait for an event). */
const pace = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Resolves as soon as `probe` holds, checked on every frame and on close (event-driven, no polling);
 * RawClient's own listeners run first, so its `frames` and `closed` are up to date.
 */
function until(raw: RawClient, what: string, probe: () => boolean, timeoutMs = 3000): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = () => {
      if (!probe()) return;
      cleanup();
      resolve();
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; got: ${raw.frames.map((f) => f.type).join(', ')}`));
    }, timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      raw.socket.off('message', check);
      raw.socket.off('close', check);
    };
    raw.socket.on('message', check);
    raw.socket.on('close', check);
    check();
  });
}

const envelope = (type: string, payload: unknown) => JSON.stringify({ type, payload, timestamp: new Date().toISOString() });
const send = (payload: Record<string, unknown>) => envelope('message_send', payload);
const text = (value: string) => ({ type: 'text', text: value });
const nested = (depth: number): unknown => (depth === 0 ? 'leaf' : { inner: nested(depth - 1) });

describe('invalid frames', () => {
  // [what, frame, code, temp_id carried by the error]
  const cases: [string, string, string, string?][] = [
    ['not JSON', '{"type": "ping"', 'invalid_json'],
    ['an empty frame', '', 'invalid_json'],
    ['a JSON array', '[1, 2]', 'invalid_frame'],
    ['a JSON string', '"ping"', 'invalid_frame'],
    ['JSON null', 'null', 'invalid_frame'],
    ['no type', '{"payload": {}}', 'invalid_frame'],
    ['a numeric type', '{"type": 7, "payload": {}}', 'invalid_frame'],
    ['a payload that is an array', '{"type": "ping", "payload": []}', 'invalid_frame'],
    ['a payload that is a string', '{"type": "join_conversation", "payload": "U1"}', 'invalid_frame'],
    ['an unknown type', envelope('make_coffee', {}), 'unknown_type'],
    ['a server type sent by a client', envelope('message_sent', { line_user_id: 'U1' }), 'unknown_type'],
    ['join without line_user_id', envelope('join_conversation', {}), 'invalid_payload'],
    ['join with a numeric line_user_id', envelope('join_conversation', { line_user_id: 42 }), 'invalid_payload'],
    ['join with an empty line_user_id', envelope('join_conversation', { line_user_id: '' }), 'invalid_payload'],
    ['join with a 257-character line_user_id', envelope('join_conversation', { line_user_id: 'U'.repeat(257) }), 'invalid_payload'],
    ['join with a negative since_seq', envelope('join_conversation', { line_user_id: 'U1', since_seq: -1 }), 'invalid_payload'],
    ['join with a fractional since_seq', envelope('join_conversation', { line_user_id: 'U1', since_seq: 1.5 }), 'invalid_payload'],
    ['join with a string since_seq', envelope('join_conversation', { line_user_id: 'U1', since_seq: '3' }), 'invalid_payload'],
    ['typing with an object line_user_id', envelope('typing_start', { line_user_id: { id: 'U1' } }), 'invalid_payload'],
    ['leave with line_user_id null', envelope('leave_conversation', { line_user_id: null }), 'invalid_payload'],
    ['auth with a numeric token', envelope('auth', { token: 12345 }), 'invalid_payload'],
    ['message_send without temp_id', send({ line_user_id: 'U1', message: text('hi') }), 'invalid_payload'],
    ['message_send with a numeric temp_id', send({ line_user_id: 'U1', message: text('hi'), temp_id: 7 }), 'invalid_payload'],
    ['message_send with a bad line_user_id', send({ line_user_id: ['U1'], message: text('hi'), temp_id: 't-conv' }), 'invalid_payload', 't-conv'],
    ['message_send without message', send({ line_user_id: 'U1', temp_id: 't-none' }), 'invalid_payload', 't-none'],
    ['message_send with a string message', send({ line_user_id: 'U1', message: 'hi', temp_id: 't-str' }), 'invalid_payload', 't-str'],
    ['message_send with a message without type', send({ line_user_id: 'U1', message: { text: 'hi' }, temp_id: 't-type' }), 'invalid_payload', 't-type'],
    ['message_send with an empty text', send({ line_user_id: 'U1', message: text(''), temp_id: 't-empty' }), 'invalid_payload', 't-empty'],
    ['message_send with a blank text', send({ line_user_id: 'U1', message: text(' \n\t '), temp_id: 't-blank' }), 'invalid_payload', 't-blank'],
    ['message_send with a numeric text', send({ line_user_id: 'U1', message: { type: 'text', text: 5 }, temp_id: 't-num' }), 'invalid_payload', 't-num'],
    ['a non-text message with an object text', send({ line_user_id: 'U1', message: { type: 'sticker', text: {} }, temp_id: 't-obj' }), 'invalid_payload', 't-obj'],
    ['a message nested 7000 levels deep', `{"type":"message_send","payload":{"line_user_id":"U1","temp_id":"t-abyss","message":{"type":"card","body":${'['.repeat(7000)}${']'.repeat(7000)}}}}`, 'invalid_payload', 't-abyss'],
    ['a message nested 40 levels deep', send({ line_user_id: 'U1', message: { type: 'card', body: nested(40) }, temp_id: 't-deep' }), 'invalid_payload', 't-deep'],
    ['a text over maxTextLength', send({ line_user_id: 'U1', message: text('x'.repeat(5001)), temp_id: 't-long' }), 'message_too_long', 't-long'],
    ['a second auth', envelope('auth', { token: 'whatever' }), 'already_authenticated'],
  ];

  test.each(cases.map(([what, frame, code, tempId]) => ({ what, frame, code, tempId })))('$what: error $code, and the connection still serves', async ({ frame, code, tempId }) => {
    const app = await server();
    const raw = await authed(app, 'alice');
    sendText(raw, frame);
    const error = await raw.next('error');
    expect(error.payload).toMatchObject({ code, message: expect.any(String) });
    expect(error.payload.temp_id).toBe(tempId);
    // The same connection is still open and handles a valid frame.
    raw.send('message_send', { line_user_id: 'U1', message: text('still here'), temp_id: 'after' });
    expect((await raw.next('message_sent')).payload).toMatchObject({ temp_id: 'after', seq: 1 });
    expect(raw.closed).toBeUndefined();
    expect(await app.store.history('U1', { limit: 10 })).toMatchObject({ messages: [{ tempId: 'after' }] });
  });

  test('binary frames are refused with invalid_frame; invalid UTF-8 in a text frame is closed by ws with 1007; the server serves on', async () => {
    const app = await server();
    const raw = await authed(app, 'alice');
    raw.socket.send(Buffer.from(envelope('ping', {})), { binary: true });
    expect((await raw.next('error')).payload).toMatchObject({ code: 'invalid_frame', message: expect.stringContaining('binary') });
    raw.send('ping');
    await raw.next('pong');
    expect(raw.of('pong')).toHaveLength(1); // the binary ping was not answered as a ping

    const broken = await authed(app, 'bob');
    broken.socket.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false });
    expect((await broken.closedWith()).code).toBe(1007);
    await sdkRoundTrip(app, 'carol', 'U1', 'after bad bytes');
  });

  test('an SDK message the server refuses fails at once with server_error (the error names its temp_id)', async () => {
    const app = await server();
    const client = await harness().connected(app.wsUrl, await app.token('alice'));
    // The client only checks that the id is non-empty; the server caps ids at 256 characters.
    const started = Date.now();
    const refused = client.sendMessage('U'.repeat(300), 'hello', { tempId: 'too-long-id' });
    await expect(refused).rejects.toMatchObject({ code: 'server_error', tempId: 'too-long-id' });
    // Not after ack timeouts and retries (1 s each with the test timings): the error frame settled it.
    expect(Date.now() - started).toBeLessThan(900);
    expect(client.getSnapshot().failedCount).toBe(1);
  });

  test('HTTP: a malformed percent-escape in a path is a 400, not a 500', async () => {
    const app = await server({ staticDirs: [{ prefix: '/', dir: tempDir().path }] });
    const headers = { authorization: `Bearer ${await app.token('alice')}` };
    expect((await fetch(`${app.httpUrl}/api/v1/conversations/%E0%A4%A/messages`, { headers })).status).toBe(400);
    expect((await fetch(`${app.httpUrl}/%E0%A4%A`)).status).toBe(400);
    expect((await fetch(`${app.httpUrl}/api/v1/conversations/U%201/messages`, { headers })).status).toBe(200);
  });
});

describe('payload size cap', () => {
  test('a frame of maxFrameBytes passes; one byte more closes with 4008', async () => {
    const app = await server({ maxFrameBytes: 2048 });
    const raw = await authed(app, 'alice');
    const frame = (bytes: number) => {
      const base = envelope('ping', { pad: '' });
      return envelope('ping', { pad: 'é'.repeat(Math.floor((bytes - Buffer.byteLength(base)) / 2)) + 'x'.repeat((bytes - Buffer.byteLength(base)) % 2) });
    };
    expect(Buffer.byteLength(frame(2048))).toBe(2048);
    sendText(raw, frame(2048));
    await raw.next('pong');
    sendText(raw, frame(2049));
    expect(await raw.closedWith()).toEqual({ code: 4008, reason: 'frame too large' });
  });

  test('a frame far above the cap is refused by ws itself (1009) without harm to the server or other connections', async () => {
    const app = await server({ maxFrameBytes: 2048 });
    const bystander = await authed(app, 'bob');
    const raw = await authed(app, 'alice');
    sendText(raw, envelope('ping', { pad: 'x'.repeat(1024 * 1024) }));
    expect((await raw.closedWith()).code).toBe(1009);
    bystander.send('ping');
    await bystander.next('pong');
    await sdkRoundTrip(app, 'carol', 'U1', 'after a huge frame');
  });
});

describe('rate limit', () => {
  test('a burst past rateLimit.burst closes with 4008', async () => {
    const app = await server({ rateLimit: { perSecond: 1, burst: 10 } });
    const raw = await authed(app, 'alice'); // the auth frame took one token
    for (let i = 0; i < 20; i++) raw.send('ping');
    expect(await raw.closedWith()).toEqual({ code: 4008, reason: 'rate limit exceeded' });
    expect(raw.of('pong').length).toBeLessThanOrEqual(9);
    // Another connection has its own bucket.
    const other = await authed(app, 'bob');
    other.send('ping');
    await other.next('pong');
  });

  test('tokens refill at perSecond: a client under the rate is never cut off, however long it goes on', async () => {
    const app = await server({ rateLimit: { perSecond: 50, burst: 5 } });
    const raw = await authed(app, 'alice');
    // 40 pings at 40/s (under 50/s): eight times the burst, over a second.
    for (let i = 0; i < 40; i++) {
      raw.send('ping');
      await raw.next('pong');
      await pace(25);
    }
    expect(raw.closed).toBeUndefined();
    expect(raw.of('pong')).toHaveLength(40);
  });

  test('the SDK at normal typing and sending rates, and with a small offline backlog, is never cut off (default limits)', async () => {
    const h = harness();
    const app = await server(); // 20 frames/s, burst 60
    const token = await app.token('alice');
    // Heartbeat every second (the default is 25 s); typing re-sent every 500 ms while typing goes on.
    const client = h.client(app.wsUrl, { token, typing: { throttleMs: 500 }, heartbeat: { intervalMs: 1000, timeoutMs: 1000 } });
    const states = recordStates(client);
    const errors: string[] = [];
    client.on('error', (error) => errors.push(error.message));
    client.joinConversation('U1');
    // Written while offline: flushed right after auth, together with auth and the join.
    const backlog = Array.from({ length: 50 }, (_, i) => client.sendMessage('U1', `offline ${i}`));
    client.connect();
    await waitForState(client, 'connected');
    await Promise.all(backlog);
    // Then ~2 s of a very fast operator: a keystroke every 10 ms, a message every 20 keystrokes
    // (each message also stops typing, so the next keystroke starts it again: 3 frames a message).
    const sent: Promise<unknown>[] = [];
    const started = Date.now();
    for (let i = 0; i < 10; i++) {
      for (let key = 0; key < 20; key++) {
        client.startTyping('U1');
        await pace(10);
      }
      sent.push(client.sendMessage('U1', `typed ${i}`));
    }
    await Promise.all(sent);
    expect(Date.now() - started).toBeGreaterThan(1900);
    expect(states).toEqual(['disconnected>connecting', 'connecting>connected']);
    expect(errors).toEqual([]);
    expect((await app.store.history('U1', { limit: 200 })).messages).toHaveLength(60);
  });

  test('the SDK paces an offline backlog under the rate limit the server announces: never cut off', async () => {
    // 200 messages written offline (the outbox takes 500 by default). A client that re-sends its
    // whole backlog in one go on every connection is cut off with 4008 again and again (and, with the
    // default backoff, waits up to 30 s each time). The limit is scaled up 5x from the default
    // (20/s, bursts of 60) to keep the test short; the ratio of backlog to burst is what matters.
    const h = harness();
    const app = await server({ rateLimit: { perSecond: 100, burst: 30 } });
    const client = h.client(app.wsUrl, { token: await app.token('alice'), queue: { ackTimeoutMs: 1000, ttlMs: 60_000 } });
    const cutOffs: string[] = [];
    client.on('error', (error) => error.message.includes('4008') && cutOffs.push(error.message));
    client.joinConversation('U1');
    const backlog = Array.from({ length: 200 }, (_, i) => client.sendMessage('U1', `offline ${i}`));
    client.connect();
    const acks = await Promise.all(backlog);
    expect(acks.map((ack) => ack.seq)).toEqual(acks.map((_, i) => i + 1));
    expect(cutOffs).toEqual([]);
  });
});

describe('slow consumers', () => {
  test('a client that stops reading is cut off once its buffer passes maxBufferedBytes; the others get everything', async () => {
    const app = await server({ maxBufferedBytes: 64 * 1024 });
    const slow = await authed(app, 'slow');
    const fast = await authed(app, 'fast');
    slow.send('join_conversation', { line_user_id: 'U1' });
    await slow.next('operator_joined');
    fast.send('join_conversation', { line_user_id: 'U1' });
    await fast.next('operator_joined', (p) => p.admin_id === 'fast');
    (slow.socket as unknown as { _socket: Socket })._socket.pause();

    let posted = 0;
    const post = async (count: number, size: number) => {
      const events = Array.from({ length: count }, (_, i) => {
        const event = textEvent('U1', `${posted + i} ${'x'.repeat(size)}`, `m${posted + i}`) as { events: unknown[] };
        return event.events[0];
      });
      expect(await app.webhook({ destination: 'U0', events })).toBe(200);
      posted += count;
    };
    const cutOff = () => fast.of('operator_left').some((frame) => frame.payload.admin_id === 'slow');

    // A little (well under what the kernel buffers hold) does not cut anyone off.
    await post(5, 100);
    await waitFor('fast has the first 5', () => fast.of('message_received').length === 5);
    expect(cutOff()).toBe(false);
    // A lot: ~8 KB per message reaches each connection (message_received + conversation_updated).
    for (let batch = 0; batch < 60 && !cutOff(); batch++) await post(50, 4000);
    await waitFor('the slow consumer cut off (its presence ends)', cutOff, { timeoutMs: 5000, describe: () => ({ posted }) });
    await waitFor('fast has every message', () => fast.of('message_received').length === posted, {
      describe: () => ({ posted, got: fast.of('message_received').length }),
    });
    expect(fast.of('message_received').map((frame) => frame.payload.seq)).toEqual(Array.from({ length: posted }, (_, i) => i + 1));
    expect(fast.closed).toBeUndefined();

    // Terminated, not closed politely: once it reads again it sees an abnormal close.
    (slow.socket as unknown as { _socket: Socket })._socket.resume();
    expect((await slow.closedWith()).code).toBe(1006);
    expect(slow.of('message_received').length).toBeLessThan(posted);
    fast.send('ping');
    await fast.next('pong');
  });
});

describe('idle connections', () => {
  test('a connection that sends nothing for idleTimeoutMs is dropped; one that pings stays', async () => {
    const h = harness();
    const app = await server({ idleTimeoutMs: 300 });
    const openedAt = Date.now();
    const idle = await authed(app, 'idle');
    const silent = h.defer(await RawClient.open(app.wsUrl)); // not even authenticated
    const client = await h.connected(app.wsUrl, await app.token('alice'), [], { heartbeat: { intervalMs: 100, timeoutMs: 200 } });
    const states = recordStates(client);
    let pongs = 0;
    client.on('pong', () => pongs++);

    expect((await idle.closedWith(2000)).code).toBe(1006); // terminated
    expect((await silent.closedWith(2000)).code).toBe(1006);
    expect(Date.now() - openedAt).toBeGreaterThanOrEqual(290);
    // The pinging SDK client outlives three idle timeouts.
    await waitFor('12 pongs (1.2 s of heartbeats)', () => pongs >= 12, { timeoutMs: 3000 });
    expect(states).toEqual([]);
    expect(client.state).toBe('connected');
  });
});

describe('graceful shutdown', () => {
  test('app.close() closes every socket with 1001; the SDK client reconnects by itself to a new server on the port', async () => {
    const h = harness();
    const folder = tempDir();
    h.defer(() => folder.remove());
    const databasePath = `${folder.path}/chat.sqlite`;
    const first = await server({ databasePath });
    const raw = await authed(first, 'bob');
    const unauthenticated = h.defer(await RawClient.open(first.wsUrl));
    const token = await first.token('alice');
    const client = await h.connected(first.wsUrl, token, ['U1']);
    const errors: string[] = [];
    client.on('error', (error) => errors.push(error.message));
    await client.sendMessage('U1', 'before');

    await first.close();
    expect(await raw.closedWith()).toEqual({ code: 1001, reason: 'server shutting down' });
    expect((await unauthenticated.closedWith()).code).toBe(1001);
    await waitFor('the client noticed', () => client.state !== 'connected');
    expect(errors[0]).toContain('1001');

    const second = await server({ databasePath, port: first.port });
    await waitForState(client, 'connected', 5000);
    const ack = await client.sendMessage('U1', 'after');
    expect(ack.seq).toBe(2);
    expect(texts(client, 'U1')).toEqual(['before', 'after']);
    expect((await second.store.history('U1', { limit: 10 })).messages.map((m) => m.message.text)).toEqual(['before', 'after']);
  });
});

describe('frame fuzzer', () => {
  const types = ['auth', 'ping', 'join_conversation', 'leave_conversation', 'typing_start', 'typing_stop', 'message_send'];
  const fields = ['line_user_id', 'since_seq', 'temp_id', 'message', 'token'];
  const knownErrors = new Set(['invalid_json', 'invalid_frame', 'unknown_type', 'invalid_payload', 'message_too_long', 'not_authenticated', 'already_authenticated', 'replay_unavailable']);
  /** Valid frames a server may answer with silence (nothing to tell the sender). */
  const silentTypes = new Set(['typing_start', 'typing_stop', 'leave_conversation']);
  const maxFrameBytes = 16 * 1024;

  /** Values of every JSON type, ids of wrong types, and strings ids may look like. */
  const wrongValue = fc.oneof(
    fc.constantFrom(null, true, false, 0, -1, 1.5, 1e308, '', ' ', 'U1', '0', '__proto__', 'constructor'),
    fc.integer(),
    fc.double(),
    fc.string({ unit: 'binary', maxLength: 40 }),
    fc.string({ unit: 'grapheme', maxLength: 40 }),
    fc.string({ minLength: 250, maxLength: 300 }),
    fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }),
    fc.jsonValue({ maxDepth: 3 }),
  );
  const messageValue = fc.oneof(
    wrongValue,
    fc.record(
      { type: fc.oneof(fc.constant('text'), fc.constant('image'), wrongValue), text: fc.oneof(fc.string({ unit: 'grapheme' }), wrongValue), extra: wrongValue },
      { requiredKeys: [] },
    ),
  );
  const payloadValue = fc.dictionary(
    fc.oneof(fc.constantFrom(...fields), fc.string({ maxLength: 10 })),
    fc.oneof(wrongValue, messageValue),
    { maxKeys: 5 },
  );
  const validId = fc.oneof(fc.constantFrom('U1', 'U2', 'U3'), fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }));
  /** Well-formed envelopes with one field replaced or removed, so validation is reached deep down. */
  const almostValid = fc
    .record({
      type: fc.constantFrom(...types),
      line_user_id: validId,
      temp_id: fc.uuid(),
      message: fc.oneof(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }).map((t) => ({ type: 'text', text: t })), messageValue),
      since_seq: fc.oneof(fc.nat(50), wrongValue),
      token: fc.oneof(fc.string(), wrongValue),
      broken: fc.constantFrom(...fields, 'none'),
      replacement: fc.option(wrongValue),
    })
    .map(({ type, broken, replacement, ...payload }) => {
      const fieldsOf: Record<string, unknown> = { ...payload };
      if (broken !== 'none') {
        if (replacement === null) delete fieldsOf[broken];
        else fieldsOf[broken] = replacement;
      }
      return envelope(type, fieldsOf);
    });
  const huge = fc
    .record({ kind: fc.constantFrom('text', 'id', 'pad', 'type'), bytes: fc.integer({ min: 1000, max: maxFrameBytes * 2 }), char: fc.constantFrom('x', 'é', '😀', '\u0000', '"') })
    .map(({ kind, bytes, char }) => {
      // Up to twice the cap on the wire (escapes included), below the 4x where ws itself refuses.
      const long = char.repeat(Math.ceil(bytes / (Buffer.byteLength(JSON.stringify(char)) - 2)));
      const length = long.length;
      if (kind === 'text') return send({ line_user_id: 'U1', temp_id: `huge-${length}`, message: text(long) });
      if (kind === 'id') return envelope('join_conversation', { line_user_id: long });
      if (kind === 'type') return envelope(long, {});
      return envelope('ping', { pad: long });
    });
  const deep = fc
    .record({ depth: fc.integer({ min: 2, max: 7500 }), shape: fc.constantFrom('object', 'array'), where: fc.constantFrom('message', 'payload', 'frame', 'id') })
    .map(({ depth, shape, where }) => {
      // Deep enough to overflow the stack of a recursive walk (JSON.stringify fails near 6000), within the cap.
      const [open, close] = shape === 'object' ? ['{"a":', '}'] : ['[', ']'];
      const levels = Math.min(depth, Math.floor((maxFrameBytes - 200) / (open.length + close.length)));
      const value = open.repeat(levels) + '1' + close.repeat(levels);
      if (where === 'frame') return value;
      if (where === 'payload') return `{"type":"message_send","payload":${value}}`;
      if (where === 'id') return `{"type":"join_conversation","payload":{"line_user_id":${value}}}`;
      return `{"type":"message_send","payload":{"line_user_id":"U1","temp_id":"deep-${levels}","message":{"type":"card","body":${value}}}}`;
    });
  const frame: fc.Arbitrary<string | Uint8Array> = fc.oneof(
    { arbitrary: fc.string({ unit: 'binary', maxLength: 200 }), weight: 2 },
    { arbitrary: fc.json({ maxDepth: 4 }), weight: 2 },
    { arbitrary: fc.record({ type: fc.oneof(fc.constantFrom(...types), fc.string(), wrongValue), payload: fc.oneof(payloadValue, wrongValue) }, { requiredKeys: [] }).map((v) => JSON.stringify(v)), weight: 4 },
    { arbitrary: almostValid, weight: 6 },
    { arbitrary: huge, weight: 1 },
    { arbitrary: deep, weight: 1 },
    { arbitrary: fc.uint8Array({ maxLength: 64 }), weight: 1 },
  );

  function checkFrames(frames: Frame[], allowed: Set<string>): void {
    for (const { type, payload } of frames) {
      expect(allowed, `unexpected frame ${type}`).toContain(type);
      if (type === 'error') expect(knownErrors, `error code in ${JSON.stringify(payload)}`).toContain(payload.code);
    }
  }

  const parsedType = (data: string | Uint8Array): unknown => {
    if (typeof data !== 'string') return undefined;
    try {
      return (JSON.parse(data) as { type?: unknown } | null)?.type;
    } catch {
      return undefined;
    }
  };

  test('thousands of malformed frames: no crash, coded errors or 4xxx closes, then the SDK still works', async () => {
    const h = harness();
    const logs: string[] = [];
    const config = loadConfig({}, {
      port: 0,
      host: '127.0.0.1',
      jwtSecret: testSecret,
      databasePath: ':memory:',
      staticDirs: [],
      maxFrameBytes,
      rateLimit: { perSecond: 1_000_000, burst: 1_000_000 },
    });
    const app = h.defer(await startApp(config, (line) => logs.push(line)));
    const token = await app.auth.sign({ adminId: 'fuzzer' }, 3600);
    const stats = { runs: 0, unauthenticated: 0, errors: 0, closes: new Map<number, number>(), silent: 0 };
    const close = (code: number) => stats.closes.set(code, (stats.closes.get(code) ?? 0) + 1);
    let fuzzer: RawClient | undefined;
    const fuzzerSocket = async () => {
      if (fuzzer && !fuzzer.closed) return fuzzer;
      fuzzer = h.defer(await RawClient.authed(app.wsUrl, token));
      return fuzzer;
    };
    const started = Date.now();

    await fc.assert(
      fc.asyncProperty(frame, fc.integer({ min: 0, max: 9 }), async (data, dice) => {
        stats.runs++;
        const unauthenticated = dice === 0;
        const raw = unauthenticated ? h.defer(await RawClient.open(app.wsUrl)) : await fuzzerSocket();
        const from = raw.frames.length;
        raw.socket.send(data, { binary: typeof data !== 'string' });
        if (unauthenticated) {
          stats.unauthenticated++;
          // Handled in order: the marker's pong comes after whatever the frame caused (or the close).
          raw.send('ping');
          await until(raw, 'pong or close', () => raw.closed !== undefined || raw.of('pong').length >= 1);
          const answered = () => raw.frames.some((f) => f.type === 'error' || f.type === 'auth_error');
          // Nothing but a pong: the frame was a ping itself, so a second pong must follow.
          if (!raw.closed && !answered()) await until(raw, 'the second pong', () => raw.of('pong').length >= 2 || raw.closed !== undefined);
          checkFrames(raw.frames, new Set(['error', 'auth_error', 'pong']));
          if (raw.closed) expect([4001, 4008]).toContain(raw.closed.code);
          if (raw.closed) close(raw.closed.code);
          raw.close();
        } else {
          const marker = `~marker-${stats.runs}`;
          // Handled after the fuzzed frame (frames are handled in order), answered with operator_joined.
          raw.send('join_conversation', { line_user_id: marker });
          const isMarker = (f: Frame) => f.type === 'operator_joined' && f.payload.line_user_id === marker;
          await until(raw, 'the marker or a close', () => raw.closed !== undefined || raw.frames.slice(from).some(isMarker));
          const answers = raw.frames.slice(from).filter((f) => !isMarker(f));
          checkFrames(answers, new Set(['error', 'pong', 'message_sent', 'conversation_updated', 'operator_joined', 'operator_left', 'message_received']));
          if (raw.closed) {
            expect(raw.closed.code, `close after ${String(data).slice(0, 200)}`).toBeGreaterThanOrEqual(4000);
            expect(raw.closed.code).toBeLessThan(5000);
            close(raw.closed.code);
          } else if (answers.length === 0) {
            // Silence is only fine for a valid frame that has nothing to answer.
            stats.silent++;
            expect(silentTypes, `no answer to ${String(data).slice(0, 200)}`).toContain(parsedType(data));
          }
        }
        stats.errors += raw.frames.slice(from).filter((f) => f.type === 'error').length;
      }),
      // Bounded in runs and in time; no shrinking (a failure reports its frame as it is).
      { numRuns: 3000, endOnFailure: true, plugins: [fc.interruptAfterTimeLimit(20_000)] },
    );

    // A slow machine may stop at the time limit, but never before a good share of the runs.
    expect(stats.runs).toBeGreaterThanOrEqual(1000);
    expect(stats.errors).toBeGreaterThan(stats.runs / 2);
    // The server logged no exception (a stack trace means a frame made it throw).
    expect(logs.filter((line) => line.includes('    at '))).toEqual([]);
    console.info(`fuzzer: ${stats.runs} frames in ${Date.now() - started} ms (${stats.unauthenticated} unauthenticated), ${stats.errors} error frames, ${stats.silent} silent, closes ${JSON.stringify([...stats.closes])}`);

    // A well-behaved SDK client still connects, joins, sends and gets its ack.
    const client = await h.connected(app.wsUrl, await app.auth.sign({ adminId: 'alice' }, 3600), ['U-after']);
    const ack = await client.sendMessage('U-after', 'still serving');
    expect(ack).toMatchObject({ conversationId: 'U-after', seq: 1 });
    const response = await fetch(`${app.httpUrl}/api/v1/conversations`, { headers: { authorization: `Bearer ${token}` } });
    expect(response.status).toBe(200);
  }, 40_000);
});
