import { SignJWT } from 'jose';
import { describe, expect, test } from 'vitest';
import { useHarness, waitForState } from '../support/harness.js';
import { RawClient } from '../support/raw-client.js';
import { type TestServer, startServer, testSecret } from '../support/reference-server.js';

const harness = useHarness();
const key = new TextEncoder().encode(testSecret);

async function server(overrides = {}): Promise<TestServer> {
  return harness().defer(await startServer(overrides));
}

function unsigned(claims: Record<string, unknown>): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'none', typ: 'JWT' })}.${part(claims)}.`;
}

describe('auth as the first frame', () => {
  test('a valid token: auth_success with the operator id, and the SDK client is connected', async () => {
    const app = await server();
    const raw = harness().defer(await RawClient.open(app.wsUrl));
    raw.send('auth', { token: await app.token('alice', 'Alice') });
    expect((await raw.next('auth_success')).payload).toMatchObject({ admin_id: 'alice', name: 'Alice' });

    const client = harness().client(app.wsUrl, { token: () => app.token('bob') });
    client.connect();
    await waitForState(client, 'connected');
    expect(client.getSnapshot().adminId).toBe('bob');
  });

  test.each([
    ['a token signed with another secret', () => new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('eve').setExpirationTime('1h').sign(new TextEncoder().encode('another-secret-another-secret-another'))],
    ['an expired token', () => new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('alice').setIssuedAt(1_000).setExpirationTime(2_000).sign(key)],
    ['an unsigned token (alg: none)', async () => unsigned({ sub: 'alice', exp: Math.floor(Date.now() / 1000) + 3600 })],
    ['a token without exp', () => new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('alice').sign(key)],
    ['a token of another algorithm (HS512)', () => new SignJWT({}).setProtectedHeader({ alg: 'HS512' }).setSubject('alice').setExpirationTime('1h').sign(key)],
    ['garbage', async () => 'not-a-jwt'],
  ])('%s is refused: auth_error, then close 4001', async (what, makeToken) => {
    const app = await server();
    const raw = harness().defer(await RawClient.open(app.wsUrl));
    raw.send('auth', { token: await makeToken() });
    const expired = what === 'an expired token';
    // The library's own wording never reaches the client.
    expect((await raw.next('auth_error')).payload).toEqual(
      expired ? { code: 'token_expired', message: 'token expired' } : { code: 'invalid_token', message: 'invalid token' },
    );
    expect((await raw.closedWith()).code).toBe(4001);
  });

  test('the SDK client with a bad static token stops with auth_failed after one connection', async () => {
    const app = await server();
    const client = harness().client(app.wsUrl, { token: 'forged' });
    client.connect();
    await waitForState(client, 'disconnected');
    expect(client.getSnapshot().lastError?.code).toBe('auth_failed');
  });

  test('frames before auth are refused with not_authenticated; no auth in time closes with 4008', async () => {
    const app = await server({ authTimeoutMs: 150 });
    const raw = harness().defer(await RawClient.open(app.wsUrl));
    raw.send('join_conversation', { line_user_id: 'U1' });
    expect((await raw.next('error')).payload.code).toBe('not_authenticated');
    expect(await raw.closedWith()).toMatchObject({ code: 4008, reason: 'auth timeout' });
  });

  test('origins: none (not a browser), localhost and the same host pass in development; others are refused', async () => {
    const app = await server();
    await expect(RawClient.open(app.wsUrl, { origin: 'http://localhost:5173' })).resolves.toBeDefined();
    await expect(RawClient.open(app.wsUrl, { origin: `http://127.0.0.1:${app.port}` })).resolves.toBeDefined();
    await expect(RawClient.open(app.wsUrl, { origin: 'https://evil.example' })).rejects.toThrow('HTTP 403');
    const strict = await server({ allowedOrigins: ['https://console.example'] });
    await expect(RawClient.open(strict.wsUrl, { origin: 'http://localhost:5173' })).rejects.toThrow('HTTP 403');
    await expect(RawClient.open(strict.wsUrl, { origin: 'https://console.example' })).resolves.toBeDefined();
  });
});

describe('HTTP', () => {
  test('the dev token endpoint mints a working token, and is off in production', async () => {
    const app = await server();
    const response = await fetch(`${app.httpUrl}/api/v1/dev/token`, { method: 'POST', body: JSON.stringify({ name: 'Carol Ann' }) });
    const { token, admin_id: adminId } = (await response.json()) as { token: string; admin_id: string };
    expect(adminId).toBe('carol-ann');
    const raw = harness().defer(await RawClient.open(app.wsUrl));
    raw.send('auth', { token });
    expect((await raw.next('auth_success')).payload.admin_id).toBe('carol-ann');

    const production = await server({ production: true });
    const refused = await fetch(`${production.httpUrl}/api/v1/dev/token`, { method: 'POST', body: '{"name":"x"}' });
    expect(refused.status).toBe(404);
  });

  test('conversations and history need an operator token; history is paged by seq', async () => {
    const app = await server();
    for (let i = 1; i <= 5; i++) await app.store.appendCustomerMessage('U1', { type: 'text', text: `m${i}` });
    expect((await fetch(`${app.httpUrl}/api/v1/conversations`)).status).toBe(401);
    const headers = { authorization: `Bearer ${await app.token('alice')}` };
    const list = (await (await fetch(`${app.httpUrl}/api/v1/conversations`, { headers })).json()) as { conversations: Record<string, unknown>[] };
    expect(list.conversations).toEqual([
      expect.objectContaining({ line_user_id: 'U1', last_seq: 5, unread_count: 5, status: 'waiting', last_message: expect.objectContaining({ seq: 5 }) }),
    ]);
    type Page = { messages: { seq: number }[]; has_more: boolean };
    const newest = (await (await fetch(`${app.httpUrl}/api/v1/conversations/U1/messages?limit=2`, { headers })).json()) as Page;
    expect(newest.messages.map((message) => message.seq)).toEqual([4, 5]);
    expect(newest.has_more).toBe(true);
    const older = (await (await fetch(`${app.httpUrl}/api/v1/conversations/U1/messages?limit=10&before_seq=4`, { headers })).json()) as Page;
    expect(older).toEqual({ messages: [1, 2, 3].map((seq) => expect.objectContaining({ seq, sender: 'customer' })), has_more: false });
    expect((await fetch(`${app.httpUrl}/api/v1/conversations/U1/messages?limit=x`, { headers })).status).toBe(400);
  });
});
