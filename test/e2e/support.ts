/**
 * Real-browser end-to-end tests: Debian's Chromium driven by playwright-core against the reference
 * server, started in the test process on 127.0.0.1 port 0 with a temp SQLite file and serving the
 * built consoles (examples/<name>/dist, built by `npm run build:consoles`).
 *
 * Every wait is bounded and short: Playwright's auto-waiting with an explicit `timeout`, or
 * `expect.poll` over calls that never wait themselves. No fixed sleeps.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, type BrowserContext, type Locator, type Page, type WebSocketRoute, chromium } from 'playwright-core';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { textEvent } from '../../examples/server/src/line.js';
import { type TestServer, startServer, tempDir } from '../support/reference-server.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

export const chromiumPath = '/usr/bin/chromium';
/** The flags Debian's Chromium needs here (no sandbox, no GPU) and the ones that keep it quiet and offline. */
export const chromiumArgs = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export type ConsoleName = 'react' | 'vue' | 'svelte';

/** Where each console is served and the folder its build lands in. */
export const consoles: Record<ConsoleName, { path: string; dir: string }> = {
  react: { path: '/', dir: join(root, 'examples/react/dist') },
  vue: { path: '/vue/', dir: join(root, 'examples/vue/dist') },
  svelte: { path: '/svelte/', dir: join(root, 'examples/svelte/dist') },
};

export function isBuilt(name: ConsoleName): boolean {
  return existsSync(join(consoles[name].dir, 'index.html'));
}

/** Throws, naming the file and the command, when a console has not been built. */
export function requireBuilt(name: ConsoleName): void {
  if (isBuilt(name)) return;
  const source = existsSync(join(root, `examples/${name}/vite.config.ts`))
    ? `run \`npm run build:consoles\``
    : `examples/${name}/vite.config.ts does not exist yet, so \`npm run build:consoles\` cannot build it`;
  throw new Error(`the ${name} console is not built: examples/${name}/dist/index.html is missing (${source})`);
}

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath, headless: true, args: chromiumArgs, timeout: 30_000 });
}

/**
 * The reference server on a fixed SQLite file, which can be stopped and started again on the same
 * port with the same JWT secret, so the operators' tokens and the stored messages survive.
 */
export class E2EServer {
  #app: TestServer | undefined;
  #port = 0;
  readonly #folder = tempDir();
  readonly databasePath = join(this.#folder.path, 'chat.sqlite');

  static async start(): Promise<E2EServer> {
    const server = new E2EServer();
    await server.start();
    return server;
  }

  /** The running server; throws while stopped. */
  get app(): TestServer {
    if (!this.#app) throw new Error('the server is stopped');
    return this.#app;
  }

  /** `http://127.0.0.1:<port>`, stable across restarts. */
  get url(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  async start(): Promise<void> {
    if (this.#app) return;
    // startServer always signs with the same test secret: tokens issued before a restart stay valid.
    const staticDirs = Object.values(consoles)
      .filter(({ dir }) => existsSync(dir))
      .map(({ path, dir }) => ({ prefix: path, dir }));
    this.#app = await startServer({ port: this.#port, databasePath: this.databasePath, staticDirs });
    this.#port = this.#app.port;
  }

  /** Graceful stop: sockets get 1001, the SQLite file stays. */
  async stop(): Promise<void> {
    const app = this.#app;
    this.#app = undefined;
    await app?.close();
  }

  async close(): Promise<void> {
    await this.stop();
    this.#folder.remove();
  }
}

/** Posts a customer's text message through the LINE webhook, as LINE would. */
export async function postCustomerMessage(server: E2EServer, userId: string, text: string): Promise<void> {
  const status = await server.app.webhook(textEvent(userId, text));
  if (status !== 200) throw new Error(`webhook answered ${status}`);
}

/** One operator: a browser context of their own (own localStorage), one page, signed in. */
export interface Operator {
  readonly name: string;
  readonly context: BrowserContext;
  readonly page: Page;
  /** Uncaught errors of the page (`pageerror`), across reloads. */
  readonly errors: string[];
  /**
   * Only with `blockableSocket`: closes the live-chat WebSocket and refuses new ones (close 1012)
   * while HTTP keeps working, so the page can be reloaded while the socket is down.
   */
  blockSocket(): Promise<void>;
  unblockSocket(): void;
}

export interface OperatorOptions {
  /** Which console. @default 'react' */
  console?: ConsoleName;
  /** Route the WebSocket through Playwright so that the test can cut it (see `Operator.blockSocket`). */
  blockableSocket?: boolean;
  viewport?: { width: number; height: number };
  /** Sign in and wait for the connection. @default true */
  signIn?: boolean;
}

export async function openOperator(browser: Browser, server: E2EServer, name: string, options: OperatorOptions = {}): Promise<Operator> {
  const { console: consoleName = 'react', blockableSocket = false, viewport = { width: 1100, height: 650 } } = options;
  requireBuilt(consoleName);
  const context = await browser.newContext({ viewport });
  context.setDefaultTimeout(5000);
  context.setDefaultNavigationTimeout(10_000);
  const errors: string[] = [];
  let blocked = false;
  const routes = new Set<WebSocketRoute>();
  if (blockableSocket) {
    await context.routeWebSocket(/\/api\/v1\/ws\/live-chat$/, (ws) => {
      if (blocked) return void ws.close({ code: 1012, reason: 'blocked by the test' }).catch(() => undefined);
      routes.add(ws);
      routes.add(ws.connectToServer());
    });
  }
  const page = await context.newPage();
  page.on('pageerror', (error) => errors.push(error.stack ?? String(error)));
  try {
    await page.goto(`${server.url}${consoles[consoleName].path}`);
    if (options.signIn !== false) await signIn(page, name);
  } catch (error) {
    await context.close().catch(() => undefined);
    if (errors.length === 0) throw error;
    throw new Error(`${name} (${consoleName} console) failed to start: ${String(error)}\npage errors:\n${errors.join('\n')}`, { cause: error });
  }
  return {
    name,
    context,
    page,
    errors,
    async blockSocket() {
      if (!blockableSocket) throw new Error('open the operator with { blockableSocket: true }');
      blocked = true;
      const open = [...routes];
      routes.clear();
      await Promise.all(open.map((route) => route.close({ code: 1012, reason: 'blocked by the test' }).catch(() => undefined)));
    },
    unblockSocket() {
      blocked = false;
    },
  };
}

/** Fills the sign-in form and waits until the console is connected. */
export async function signIn(page: Page, name: string): Promise<void> {
  const form = page.locator('[data-testid=sign-in]');
  await form.locator('input[name=operator]').fill(name, { timeout: 5000 });
  await form.locator('[type=submit]').click({ timeout: 5000 });
  await connection(page, 'connected').waitFor({ timeout: 10_000 });
}

/** Opens a conversation from the list and waits for its pane. */
export async function openConversation(page: Page, id: string): Promise<void> {
  await conversation(page, id).click({ timeout: 5000 });
  await composer(page).waitFor({ timeout: 5000 });
}

/** Types a reply and sends it with the Send button. */
export async function sendText(page: Page, text: string): Promise<void> {
  await composer(page).fill(text, { timeout: 5000 });
  await sendButton(page).click({ timeout: 5000 });
}

// Locators of the consoles' DOM contract (the same in the React, Vue and Svelte consoles).

export type ConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'disconnected';

export const connection = (page: Page, state?: ConnectionState): Locator =>
  page.locator(state ? `[data-testid=connection][data-state=${state}]` : '[data-testid=connection]');
export const queued = (page: Page): Locator => page.locator('[data-testid=queued]');
export const conversation = (page: Page, id: string): Locator => page.locator(`[data-testid=conversation][data-id="${id}"]`);
export const unread = (page: Page, id: string): Locator => conversation(page, id).locator('[data-testid=unread]');
export const viewers = (page: Page): Locator => page.locator('[data-testid=viewers]');
export const typing = (page: Page): Locator => page.locator('[data-testid=typing]');
export const composer = (page: Page): Locator => page.locator('[data-testid=composer]');
export const sendButton = (page: Page): Locator => page.locator('[data-testid=send]');
export const retryButton = (page: Page): Locator => page.locator('[data-testid=retry]');
export const discardButton = (page: Page): Locator => page.locator('[data-testid=discard]');

/** `[data-testid=message]`, optionally by sender, status and text. */
export function messages(
  page: Page,
  { sender, status, text }: { sender?: 'customer' | 'operator'; status?: 'pending' | 'sent' | 'failed'; text?: string } = {},
): Locator {
  let selector = '[data-testid=message]';
  if (sender) selector += `[data-sender=${sender}]`;
  if (status) selector += `[data-status=${status}]`;
  const all = page.locator(selector);
  return text === undefined ? all : all.filter({ has: page.locator('[data-testid=message-text]', { hasText: text }) });
}

export interface RenderedMessage {
  text: string | null;
  sender: string | undefined;
  status: string | undefined;
  /** `data-seq` as a number; undefined while it has none (pending). */
  seq: number | undefined;
}

/** The messages in the pane, in DOM order, read at once (no waiting: call it inside `expect.poll`). */
export function readMessages(page: Page): Promise<RenderedMessage[]> {
  return page.locator('[data-testid=message]').evaluateAll((elements) =>
    elements.map((element) => {
      const { sender, status, seq } = (element as HTMLElement).dataset;
      return {
        text: element.querySelector('[data-testid=message-text]')?.textContent ?? null,
        sender,
        status,
        seq: seq ? Number(seq) : undefined,
      };
    }),
  );
}

/** Whether some localStorage value of the page contains `text` (the outbox was saved). */
export function storedLocally(page: Page, text: string): Promise<boolean> {
  return page.evaluate(
    (needle) => Object.keys(localStorage).some((key) => (localStorage.getItem(key) ?? '').includes(needle)),
    text,
  );
}

/**
 * The browser once per test file, and per test a server and operators that are closed after it.
 * A test fails if any page raised an uncaught error (`pageerror`) while it ran.
 */
export function useBrowser(): {
  browser(): Browser;
  server(): Promise<E2EServer>;
  operator(server: E2EServer, name: string, options?: OperatorOptions): Promise<Operator>;
} {
  let browser: Browser | undefined;
  let servers: E2EServer[] = [];
  let operators: Operator[] = [];
  beforeAll(async () => {
    browser = await launchBrowser();
  }, 30_000);
  afterAll(async () => {
    await browser?.close();
  }, 30_000);
  afterEach(async () => {
    const opened = operators;
    const started = servers;
    operators = [];
    servers = [];
    await Promise.all(opened.map((operator) => operator.context.close().catch(() => undefined)));
    for (const server of started) await server.close();
    const errors = opened.flatMap((operator) => operator.errors.map((error) => `${operator.name}: ${error}`));
    expect(errors, 'uncaught errors in the pages (pageerror)').toEqual([]);
  }, 30_000);
  return {
    browser: () => {
      if (!browser) throw new Error('the browser is not launched');
      return browser;
    },
    async server() {
      const server = await E2EServer.start();
      servers.push(server);
      return server;
    },
    async operator(server, name, options) {
      if (!browser) throw new Error('the browser is not launched');
      const operator = await openOperator(browser, server, name, options);
      operators.push(operator);
      return operator;
    },
  };
}
