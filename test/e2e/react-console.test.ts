/**
 * Issue #5: the React console (examples/react) in a real browser against the reference server:
 * two operators live, a server restart with messages queued, a reload with an unsent message, and
 * customer HTML rendered as text.
 */
import { describe, expect, test } from 'vitest';
import {
  type Operator,
  type RenderedMessage,
  composer,
  connection,
  conversation,
  messages,
  openConversation,
  postCustomerMessage,
  queued,
  readMessages,
  sendText,
  storedLocally,
  typing,
  unread,
  useBrowser,
  viewers,
} from './support.js';

const e2e = useBrowser();
const timeout = 60_000;

/** The operator messages in the pane, as [text, status] pairs, in order. */
async function operatorMessages(operator: Operator): Promise<[string | null, string | undefined][]> {
  return (await readMessages(operator.page)).filter((m) => m.sender === 'operator').map((m) => [m.text, m.status]);
}

/** Checks that the operator messages are exactly `texts`, each sent once, with ascending seqs. */
function expectDeliveredOnce(rendered: RenderedMessage[], texts: string[]): void {
  const mine = rendered.filter((m) => m.sender === 'operator');
  expect(mine.map((m) => m.text)).toEqual(texts);
  expect(mine.every((m) => m.status === 'sent')).toBe(true);
  const seqs = mine.map((m) => m.seq);
  expect(seqs.every((seq) => Number.isInteger(seq))).toBe(true);
  expect(seqs, 'seqs ascending, no duplicates').toEqual([...new Set(seqs)].sort((a, b) => a! - b!));
}

describe('React console in Chromium', () => {
  test('two operators: a webhook message appears live, an answer reaches the other, typing and viewers show', { timeout }, async () => {
    const server = await e2e.server();
    const [alice, bob] = await Promise.all([e2e.operator(server, 'Alice'), e2e.operator(server, 'Bob')]);
    const customer = 'U1f2e3d4c5b6a79881726354453627181';

    // Both consoles are already open: the conversation appears live, with its unread badge.
    await postCustomerMessage(server, customer, "Hi, my order hasn't arrived yet.");
    for (const { page } of [alice, bob]) {
      await unread(page, customer).filter({ hasText: '1' }).waitFor({ timeout: 5000 });
      await conversation(page, customer).filter({ hasText: "Hi, my order hasn't arrived yet." }).waitFor({ timeout: 5000 });
    }

    await openConversation(alice.page, customer);
    await openConversation(bob.page, customer);
    for (const { page } of [alice, bob]) {
      await messages(page, { sender: 'customer', text: "Hi, my order hasn't arrived yet." }).waitFor({ timeout: 5000 });
      // Opened: its badge is gone.
      await unread(page, customer).waitFor({ state: 'detached', timeout: 5000 });
    }
    await viewers(alice.page).filter({ hasText: 'bob' }).waitFor({ timeout: 5000 });
    await viewers(bob.page).filter({ hasText: 'alice' }).waitFor({ timeout: 5000 });

    // Bob types without sending: Alice sees it (Bob does not see himself), and later it clears by itself.
    await composer(bob.page).pressSequentially('It shipped', { timeout: 5000 });
    const bobTyping = typing(alice.page).filter({ hasText: /bob is typing/ });
    await bobTyping.waitFor({ timeout: 5000 });
    expect(await typing(bob.page).textContent({ timeout: 2000 })).not.toMatch(/typing/);

    // Meanwhile a second customer message arrives live in the open pane of both.
    await postCustomerMessage(server, customer, 'It was order #4411.');
    for (const { page } of [alice, bob]) {
      await messages(page, { sender: 'customer', text: 'It was order #4411.' }).waitFor({ timeout: 5000 });
    }

    await sendText(alice.page, 'Let me check that for you.');
    await messages(alice.page, { sender: 'operator', status: 'sent', text: 'Let me check that for you.' }).waitFor({ timeout: 5000 });
    await messages(bob.page, { sender: 'operator', status: 'sent', text: 'Let me check that for you.' }).waitFor({ timeout: 5000 });
    await expect.poll(() => readMessages(bob.page), { timeout: 5000 }).toEqual([
      { text: "Hi, my order hasn't arrived yet.", sender: 'customer', status: 'sent', seq: 1 },
      { text: 'It was order #4411.', sender: 'customer', status: 'sent', seq: 2 },
      { text: 'Let me check that for you.', sender: 'operator', status: 'sent', seq: 3 },
    ]);
    // Bob's draft is untouched by the message that came in.
    expect(await composer(bob.page).inputValue({ timeout: 2000 })).toBe('It shipped');

    // Bob's client stops typing after 5 s idle (the server would expire it after 6 s, Alice's client after 8 s).
    await bobTyping.waitFor({ state: 'detached', timeout: 12_000 });
  });

  test('server restart while an operator sends three messages: queued, then delivered once each, in order, in both pages', { timeout }, async () => {
    const server = await e2e.server();
    const customer = 'U9a8b7c6d5e4f30211203948576abcdef';
    await postCustomerMessage(server, customer, 'Can I change my delivery address?');
    const [alice, bob] = await Promise.all([e2e.operator(server, 'Alice'), e2e.operator(server, 'Bob')]);
    for (const { page } of [alice, bob]) {
      await openConversation(page, customer);
      await messages(page, { sender: 'customer', text: 'Can I change my delivery address?' }).waitFor({ timeout: 5000 });
    }

    await server.stop();
    for (const { page } of [alice, bob]) await connection(page, 'reconnecting').waitFor({ timeout: 5000 });

    const texts = ['Yes, of course.', 'What is the new address?', 'I will update it right away.'];
    for (const text of texts) await sendText(alice.page, text);
    await queued(alice.page).filter({ hasText: '3 queued' }).waitFor({ timeout: 5000 });
    await connection(alice.page, 'reconnecting').waitFor({ timeout: 1000 });
    expect(await operatorMessages(alice)).toEqual(texts.map((text) => [text, 'pending']));

    await server.start();
    for (const { page } of [alice, bob]) await connection(page, 'connected').waitFor({ timeout: 20_000 });
    await queued(alice.page).waitFor({ state: 'detached', timeout: 5000 });
    for (const operator of [alice, bob]) {
      await expect
        .poll(() => operatorMessages(operator), { timeout: 5000 })
        .toEqual(texts.map((text) => [text, 'sent']));
      expectDeliveredOnce(await readMessages(operator.page), texts);
    }
    // Nothing more trickles in (a late duplicate would show up by the time a new message is through).
    await postCustomerMessage(server, customer, 'The new one is 2-1-1 Shibuya.');
    for (const operator of [alice, bob]) {
      await messages(operator.page, { text: 'The new one is 2-1-1 Shibuya.' }).waitFor({ timeout: 5000 });
      expectDeliveredOnce(await readMessages(operator.page), texts);
    }
  });

  test('a reload with an unsent message keeps it pending, and it is delivered once when the socket is back', { timeout }, async () => {
    const server = await e2e.server();
    const customer = 'U0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f';
    await postCustomerMessage(server, customer, 'Do you ship to Osaka?');
    const [alice, bob] = await Promise.all([
      e2e.operator(server, 'Alice', { blockableSocket: true }),
      e2e.operator(server, 'Bob'),
    ]);
    for (const { page } of [alice, bob]) await openConversation(page, customer);

    await alice.blockSocket();
    await connection(alice.page, 'reconnecting').waitFor({ timeout: 5000 });
    const text = 'Yes, we ship everywhere in Japan.';
    await sendText(alice.page, text);
    await messages(alice.page, { sender: 'operator', status: 'pending', text }).waitFor({ timeout: 5000 });
    await expect.poll(() => storedLocally(alice.page, text), { timeout: 5000 }).toBe(true);

    await alice.page.reload();
    // Still signed in, still without a socket; the message is back from the outbox, pending.
    await connection(alice.page, 'reconnecting').waitFor({ timeout: 5000 });
    await openConversation(alice.page, customer);
    await messages(alice.page, { sender: 'operator', status: 'pending', text }).waitFor({ timeout: 5000 });
    await messages(alice.page, { sender: 'customer', text: 'Do you ship to Osaka?' }).waitFor({ timeout: 5000 });
    expect(await messages(bob.page, { text }).count()).toBe(0);

    alice.unblockSocket();
    // The next reconnect attempt (full-jitter backoff, a few seconds at most here) gets through.
    await connection(alice.page, 'connected').waitFor({ timeout: 20_000 });
    await messages(alice.page, { sender: 'operator', status: 'sent', text }).waitFor({ timeout: 5000 });
    await messages(bob.page, { sender: 'operator', status: 'sent', text }).waitFor({ timeout: 5000 });
    await expect.poll(() => storedLocally(alice.page, text), { timeout: 5000 }).toBe(false);
    for (const operator of [alice, bob]) expectDeliveredOnce(await readMessages(operator.page), [text]);
    // And once in the server's history too.
    const history = (await (
      await fetch(`${server.url}/api/v1/conversations/${customer}/messages`, {
        headers: { authorization: `Bearer ${await server.app.token('auditor')}` },
      })
    ).json()) as { messages: { message: { text?: string } }[] };
    expect(history.messages.filter((m) => m.message.text === text)).toHaveLength(1);
  });

  test('a conversation that starts while the socket is down is in the list after the reconnect', { timeout }, async () => {
    const server = await e2e.server();
    const alice = await e2e.operator(server, 'Alice', { blockableSocket: true });
    await postCustomerMessage(server, 'Ufirst0000000000000000000000000000', 'Hello?');
    await conversation(alice.page, 'Ufirst0000000000000000000000000000').waitFor({ timeout: 5000 });

    await alice.blockSocket();
    await connection(alice.page, 'reconnecting').waitFor({ timeout: 5000 });
    await postCustomerMessage(server, 'Usecond000000000000000000000000000', 'Anyone there?');
    alice.unblockSocket();
    await connection(alice.page, 'connected').waitFor({ timeout: 20_000 });
    await conversation(alice.page, 'Usecond000000000000000000000000000').filter({ hasText: 'Anyone there?' }).waitFor({ timeout: 5000 });
    await unread(alice.page, 'Usecond000000000000000000000000000').filter({ hasText: '1' }).waitFor({ timeout: 5000 });
  });

  test('customer HTML is shown as literal text, never as markup', { timeout }, async () => {
    const server = await e2e.server();
    const alice = await e2e.operator(server, 'Alice');
    const customer = 'Uxss00000000000000000000000000000';
    const html = '<img src=x onerror="window.__xss=1"><b>bold</b>';
    await postCustomerMessage(server, customer, html);
    await conversation(alice.page, customer).waitFor({ timeout: 5000 });
    await openConversation(alice.page, customer);
    const message = messages(alice.page, { sender: 'customer' });
    await message.waitFor({ timeout: 5000 });
    expect(await message.locator('[data-testid=message-text]').textContent({ timeout: 2000 })).toBe(html);
    expect(await message.locator('b, img').count()).toBe(0);
    // The conversation list's preview of the last message too.
    expect(await conversation(alice.page, customer).textContent({ timeout: 2000 })).toContain(html);
    expect(await alice.page.locator('[data-testid=conversations] b, [data-testid=conversations] img').count()).toBe(0);
    expect(await alice.page.evaluate(() => (window as { __xss?: unknown }).__xss)).toBeUndefined();
  });
});
