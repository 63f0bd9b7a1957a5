/**
 * `npm start`: the reference server. Configuration by environment variables (see docs/server.md);
 * with none set it runs on http://127.0.0.1:3000 with an embedded SQLite file under data/.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startApp } from './app.js';
import { loadConfig } from './config.js';

const examples = fileURLToPath(new URL('../../', import.meta.url));
const consoles = [
  { prefix: '/vue/', dir: `${examples}vue/dist` },
  { prefix: '/svelte/', dir: `${examples}svelte/dist` },
  { prefix: '/', dir: `${examples}react/dist` },
].filter(({ dir }) => existsSync(dir));

const config = loadConfig(process.env);
if (config.staticDirs.length === 0) config.staticDirs = consoles;
const log = (message: string) => console.log(`[${new Date().toISOString()}] ${message}`);

if (config.jwtSecretGenerated) {
  // Development only (production refuses to start without JWT_SECRET): the generated secret is
  // kept beside the database, so a console's signed-in session survives a server restart.
  const file = join(config.databasePath === ':memory:' ? 'data' : dirname(config.databasePath), 'dev-jwt-secret');
  if (existsSync(file)) config.jwtSecret = readFileSync(file, 'utf8').trim();
  else {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, config.jwtSecret, { mode: 0o600 });
  }
  console.warn(
    `WARNING: JWT_SECRET is not set; using a development secret kept in ${file}:\n` +
      `         JWT_SECRET=${config.jwtSecret}\n` +
      '         Set your own JWT_SECRET for anything but a local demo (NODE_ENV=production requires it).',
  );
}

const app = await startApp(config, log);
const storage = config.redisUrl ? `Redis at ${config.redisUrl}` : `SQLite at ${config.databasePath}`;
console.log(`live-chat reference server on ${app.httpUrl} (${storage})`);
console.log(`  WebSocket:  ${app.wsUrl}`);
if (consoles.length > 0 && config.staticDirs === consoles) {
  for (const { prefix } of consoles) console.log(`  Console:    ${app.httpUrl}${prefix}`);
}
if (!config.production) {
  console.log(`  Dev token:  curl -s -X POST ${app.httpUrl}/api/v1/dev/token -H 'content-type: application/json' -d '{"name":"Alice"}'`);
}
console.log(`  Customers:  npm run simulate   (posts LINE webhook events to ${app.httpUrl}/api/v1/webhook)`);

let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: closing connections with 1001 and shutting down`);
    app.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  });
}
