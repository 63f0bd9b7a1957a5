/**
 * `npm run docs:screenshots`: docs/screenshots/<console>-console.png for each built console.
 *
 * For each console it starts the reference server (temp SQLite, port 0), lets customers write in
 * through the webhook, signs two operators in with Debian's Chromium, and photographs Alice's
 * console: a conversation open with customer and operator messages while Bob is typing.
 * A console whose dist/ is missing is skipped with a message.
 */
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import {
  type ConsoleName,
  E2EServer,
  composer,
  consoles,
  isBuilt,
  launchBrowser,
  messages,
  openConversation,
  openOperator,
  postCustomerMessage,
  sendText,
  typing,
  viewers,
} from '../test/e2e/support.js';

const output = fileURLToPath(new URL('../docs/screenshots/', import.meta.url));
const viewport = { width: 1000, height: 460 };

const order = 'U1f2e3d4c5b6a79881726354453627181';
const address = 'U9a8b7c6d5e4f30211203948576abcdef';
const osaka = 'U0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f';

async function photograph(browser: Browser, name: ConsoleName): Promise<string> {
  const server = await E2EServer.start();
  const contexts: { close(): Promise<void> }[] = [];
  try {
    await postCustomerMessage(server, address, 'Can I change my delivery address?');
    await postCustomerMessage(server, osaka, 'Do you ship to Osaka?');
    await postCustomerMessage(server, order, "Hi, my order hasn't arrived yet.");
    const alice = await openOperator(browser, server, 'Alice', { console: name, viewport });
    const bob = await openOperator(browser, server, 'Bob', { console: name, viewport });
    contexts.push(alice.context, bob.context);

    for (const { page } of [alice, bob]) await openConversation(page, order);
    await viewers(alice.page).filter({ hasText: 'bob' }).waitFor({ timeout: 5000 });
    await sendText(alice.page, 'Hello! Let me check that for you. Could you give me the order number?');
    await postCustomerMessage(server, order, 'Sure, it was order #4411.');
    await messages(alice.page, { sender: 'customer', text: 'order #4411' }).waitFor({ timeout: 5000 });
    await sendText(bob.page, 'Thanks! #4411 left our warehouse yesterday.');
    await messages(alice.page, { sender: 'operator', status: 'sent', text: 'left our warehouse' }).waitFor({ timeout: 5000 });
    await postCustomerMessage(server, osaka, 'How long does it take?');
    await composer(bob.page).pressSequentially('The tracking number is', { timeout: 5000 });
    await typing(alice.page).filter({ hasText: /bob is typing/ }).waitFor({ timeout: 5000 });
    await composer(alice.page).fill('It should arrive tomorrow', { timeout: 5000 });

    const errors = [...alice.errors, ...bob.errors];
    if (errors.length > 0) throw new Error(`page errors in the ${name} console:\n${errors.join('\n')}`);
    const path = `${output}${name}-console.png`;
    await alice.page.screenshot({ path, timeout: 10_000 });
    return path;
  } finally {
    for (const context of contexts) await context.close().catch(() => undefined);
    await server.close();
  }
}

mkdirSync(output, { recursive: true });
const browser = await launchBrowser();
let failed = false;
try {
  for (const name of Object.keys(consoles) as ConsoleName[]) {
    if (!isBuilt(name)) {
      console.log(`skipped ${name}: examples/${name}/dist/index.html is missing (is examples/${name} there? npm run build:consoles)`);
      continue;
    }
    try {
      console.log(`wrote ${await photograph(browser, name)}`);
    } catch (error) {
      failed = true;
      console.error(`${name} console: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    }
  }
} finally {
  await browser.close();
}
process.exitCode = failed ? 1 : 0;
