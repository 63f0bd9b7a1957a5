/**
 * Issue #5: the Vue (`/vue/`) and Svelte (`/svelte/`) consoles in a real browser, through the same
 * DOM contract as the React one: a webhook message appears live, an answer reaches the other
 * operator, typing shows. A console that is not built fails here (it is not skipped).
 */
import { describe, expect, test } from 'vitest';
import {
  type ConsoleName,
  type Operator,
  composer,
  conversation,
  messages,
  openConversation,
  postCustomerMessage,
  readMessages,
  requireBuilt,
  sendButton,
  sendText,
  typing,
  unread,
  useBrowser,
  viewers,
} from './support.js';

const e2e = useBrowser();
const timeout = 60_000;

/**
 * The main scenario between two operators, whatever console each one uses: a customer writes in
 * while both consoles are open, both open the conversation, each answers and the other sees it,
 * each one's typing shows in the other's console.
 */
async function mainScenario(alice: Operator, bob: Operator, customer: string, post: (text: string) => Promise<void>): Promise<void> {
  await post('Do you ship to Osaka?');
  for (const { page } of [alice, bob]) {
    await unread(page, customer).filter({ hasText: '1' }).waitFor({ timeout: 5000 });
    await conversation(page, customer).filter({ hasText: 'Do you ship to Osaka?' }).waitFor({ timeout: 5000 });
  }
  for (const { page } of [alice, bob]) {
    await openConversation(page, customer);
    await messages(page, { sender: 'customer', text: 'Do you ship to Osaka?' }).waitFor({ timeout: 5000 });
  }
  await viewers(alice.page).filter({ hasText: 'bob' }).waitFor({ timeout: 5000 });
  await viewers(bob.page).filter({ hasText: 'alice' }).waitFor({ timeout: 5000 });

  await composer(bob.page).pressSequentially('Let me', { timeout: 5000 });
  await typing(alice.page).filter({ hasText: /bob is typing/ }).waitFor({ timeout: 5000 });
  await sendText(alice.page, 'Yes, we do.');
  await messages(bob.page, { sender: 'operator', status: 'sent', text: 'Yes, we do.' }).waitFor({ timeout: 5000 });
  await messages(alice.page, { sender: 'operator', status: 'sent', text: 'Yes, we do.' }).waitFor({ timeout: 5000 });

  await post('How long does it take?');
  for (const { page } of [alice, bob]) {
    await messages(page, { sender: 'customer', text: 'How long does it take?' }).waitFor({ timeout: 5000 });
  }
  await composer(bob.page).fill('', { timeout: 5000 });
  await composer(bob.page).pressSequentially('Two days.', { timeout: 5000 });
  await typing(alice.page).filter({ hasText: /bob is typing/ }).waitFor({ timeout: 5000 });
  await sendButton(bob.page).click({ timeout: 5000 });
  await messages(alice.page, { sender: 'operator', status: 'sent', text: 'Two days.' }).waitFor({ timeout: 5000 });
  // Sending stopped the typing indicator at once (well before the 5 s idle stop).
  await typing(alice.page).filter({ hasText: /typing/ }).waitFor({ state: 'detached', timeout: 3000 });

  const expected = [
    { text: 'Do you ship to Osaka?', sender: 'customer', status: 'sent', seq: 1 },
    { text: 'Yes, we do.', sender: 'operator', status: 'sent', seq: 2 },
    { text: 'How long does it take?', sender: 'customer', status: 'sent', seq: 3 },
    { text: 'Two days.', sender: 'operator', status: 'sent', seq: 4 },
  ];
  for (const { page } of [alice, bob]) await expect.poll(() => readMessages(page), { timeout: 5000 }).toEqual(expected);
}

describe('Vue and Svelte consoles in Chromium', () => {
  const pairs: [ConsoleName, ConsoleName][] = [
    ['vue', 'vue'],
    ['svelte', 'svelte'],
    ['vue', 'svelte'],
  ];
  test.each(pairs)('%s (Alice) and %s (Bob): webhook message live, answers both ways, typing', { timeout }, async (first, second) => {
    // Not built is a failure with the reason, never a skip.
    requireBuilt(first);
    requireBuilt(second);
    const server = await e2e.server();
    const [alice, bob] = await Promise.all([
      e2e.operator(server, 'Alice', { console: first }),
      e2e.operator(server, 'Bob', { console: second }),
    ]);
    const customer = `U${first}${second}0000000000000000000000`;
    await mainScenario(alice, bob, customer, (text) => postCustomerMessage(server, customer, text));
  });
});
