/**
 * `npm run simulate`: customers writing in through the LINE webhook, so the console is alive from
 * the first minute. Options by environment: SERVER_URL (default http://127.0.0.1:3000),
 * LINE_CHANNEL_SECRET (signs the bodies when the server checks them), COUNT (messages, default 20),
 * INTERVAL_MS (default 3000). It stops by itself after COUNT messages.
 */
import { sign, textEvent } from './line.js';

const server = process.env.SERVER_URL ?? 'http://127.0.0.1:3000';
const secret = process.env.LINE_CHANNEL_SECRET;
const count = Number(process.env.COUNT ?? 20);
const interval = Number(process.env.INTERVAL_MS ?? 3000);

const customers = [
  { id: 'U1f2e3d4c5b6a79881726354453627181', lines: ["Hi, my order hasn't arrived yet.", 'It was order #4411.', 'Any news?'] },
  { id: 'U9a8b7c6d5e4f30211203948576abcdef', lines: ['Can I change my delivery address?', 'The new one is 2-1-1 Shibuya.'] },
  { id: 'U0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f', lines: ['Do you ship to Osaka?', 'How long does it take?', 'Thanks!'] },
];

for (let i = 0; i < count; i++) {
  const customer = customers[i % customers.length]!;
  const text = customer.lines[Math.floor(i / customers.length) % customer.lines.length]!;
  const body = JSON.stringify(textEvent(customer.id, text));
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (secret) headers['x-line-signature'] = sign(body, secret);
  const response = await fetch(`${server}/api/v1/webhook`, { method: 'POST', headers, body });
  console.log(`${customer.id.slice(0, 9)}…: "${text}" → ${response.status}`);
  if (i < count - 1) await new Promise((resolve) => setTimeout(resolve, interval));
}
