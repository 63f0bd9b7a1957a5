import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, normalize, resolve, sep } from 'node:path';
import type { TokenAuthority } from './auth.js';
import type { ServerConfig } from './config.js';
import type { Gateway } from './gateway.js';
import { customerMessages, validSignature } from './line.js';
import { conversationPayload, historyItem } from './protocol.js';
import type { Store } from './store/types.js';

export interface HttpDeps {
  config: ServerConfig;
  auth: TokenAuthority;
  store: Store;
  gateway: Gateway;
  log: (message: string) => void;
}

/** Largest accepted request body (webhook batches, token requests). */
const maxBodyBytes = 1024 * 1024;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The HTTP API beside the socket: conversations and paged history (operator token required), the
 * LINE webhook, the dev token endpoint, and the example consoles as static files.
 */
export function createHttpHandler(deps: HttpDeps): (request: IncomingMessage, response: ServerResponse) => void {
  const { config, auth, store, gateway } = deps;

  async function operator(request: IncomingMessage): Promise<void> {
    const header = request.headers.authorization ?? '';
    const token = header.startsWith('Bearer ') ? header.slice(7) : '';
    try {
      await auth.verify(token);
    } catch {
      throw new HttpError(401, 'a valid operator token is required (Authorization: Bearer …)');
    }
  }

  async function route(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const path = url.pathname;
    const method = request.method ?? 'GET';

    if (path === '/api/v1/health') return json(response, 200, { ok: true, connections: gateway.size });

    if (path === '/api/v1/conversations' && method === 'GET') {
      await operator(request);
      const conversations = await store.listConversations();
      return json(response, 200, { conversations: conversations.map(conversationPayload) });
    }

    const history = /^\/api\/v1\/conversations\/([^/]+)\/messages$/.exec(path);
    if (history && method === 'GET') {
      await operator(request);
      const beforeSeq = optionalInt(url.searchParams.get('before_seq'), 'before_seq');
      const limit = Math.min(optionalInt(url.searchParams.get('limit'), 'limit') ?? 50, 200);
      if (limit < 1) throw new HttpError(400, 'limit must be at least 1');
      const page = await store.history(decodePath(history[1]!), beforeSeq === undefined ? { limit } : { beforeSeq, limit });
      return json(response, 200, { messages: page.messages.map(historyItem), has_more: page.hasMore });
    }

    if (path === '/api/v1/webhook' && method === 'POST') {
      const body = await readBody(request);
      if (config.lineChannelSecret) {
        const signature = request.headers['x-line-signature'];
        if (!validSignature(body, typeof signature === 'string' ? signature : undefined, config.lineChannelSecret)) {
          throw new HttpError(401, 'invalid x-line-signature');
        }
      }
      let messages;
      try {
        messages = customerMessages(JSON.parse(body.toString('utf8')));
      } catch (error) {
        throw new HttpError(400, error instanceof Error ? error.message : 'invalid webhook body');
      }
      for (const { conversationId, message, externalId } of messages) {
        const result = await store.appendCustomerMessage(conversationId, message, externalId ? { externalId } : {});
        // A LINE redelivery of a message already stored is acknowledged, not fanned out again.
        if (!result.duplicate) await gateway.publishAppended(result);
      }
      return json(response, 200, {});
    }

    if (path === '/api/v1/dev/token' && method === 'POST') {
      if (config.production) throw new HttpError(404, 'not found');
      const input = parseJson(await readBody(request)) as { admin_id?: unknown; name?: unknown };
      const name = typeof input.name === 'string' && input.name.trim() !== '' ? input.name.trim().slice(0, 64) : undefined;
      const adminId =
        typeof input.admin_id === 'string' && input.admin_id !== ''
          ? input.admin_id.slice(0, 64)
          : name?.toLowerCase().replace(/[^a-z0-9]+/g, '-');
      if (!adminId) throw new HttpError(400, 'give "name" or "admin_id"');
      const token = await auth.sign({ adminId, ...(name && { name }) }, config.devTokenTtlSeconds);
      return json(response, 200, { token, admin_id: adminId, name: name ?? adminId, expires_in: config.devTokenTtlSeconds });
    }

    if (method === 'GET' || method === 'HEAD') {
      if (await serveStatic(config, path, response)) return;
    }
    throw new HttpError(404, 'not found');
  }

  return (request, response) => {
    route(request, response).catch((error: unknown) => {
      if (error instanceof HttpError) return json(response, error.status, { error: error.message });
      deps.log(`HTTP ${request.method} ${request.url}: ${error instanceof Error ? error.stack : String(error)}`);
      json(response, 500, { error: 'internal error' });
    });
  };
}

function json(response: ServerResponse, status: number, body: unknown): void {
  if (response.headersSent) return void response.end();
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  response.end(text);
}

/** A percent-decoded path segment; malformed escapes (`%E0%A4%A`) are the client's error, not a 500. */
function decodePath(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    throw new HttpError(400, 'malformed percent-encoding in the path');
  }
}

function optionalInt(value: string | null, name: string): number | undefined {
  if (value === null || value === '') return undefined;
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed) || parsed < 0) throw new HttpError(400, `${name} must be a whole number >= 0`);
  return parsed;
}

function parseJson(body: Buffer): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(body.toString('utf8') || '{}');
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw new HttpError(400, 'the body must be a JSON object');
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > maxBodyBytes) throw new HttpError(413, 'body too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

const types: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.map': 'application/json; charset=utf-8',
};

/** Serves a file of a configured console folder; an unknown path under a console gets its index.html (SPA). */
async function serveStatic(config: ServerConfig, path: string, response: ServerResponse): Promise<boolean> {
  // The longest prefix first, so '/vue/' wins over '/'.
  const mounts = [...config.staticDirs].sort((a, b) => b.prefix.length - a.prefix.length);
  for (const { prefix, dir } of mounts) {
    if (!path.startsWith(prefix) && path !== prefix.replace(/\/$/, '')) continue;
    if (path === prefix.replace(/\/$/, '') && prefix !== '/') {
      response.writeHead(301, { location: prefix });
      response.end();
      return true;
    }
    const root = resolve(dir);
    const relative = normalize(decodePath(path.slice(prefix.length))).replace(/^(\.\.(\/|\\|$))+/, '');
    let file = join(root, relative);
    if (file !== root && !file.startsWith(root + sep)) return false; // path traversal
    let info = await stat(file).catch(() => undefined);
    if (info?.isDirectory()) {
      file = join(file, 'index.html');
      info = await stat(file).catch(() => undefined);
    }
    if (!info?.isFile()) {
      if (extname(relative) !== '') return false;
      file = join(root, 'index.html');
      info = await stat(file).catch(() => undefined);
      if (!info?.isFile()) return false;
    }
    response.writeHead(200, {
      'content-type': types[extname(file)] ?? 'application/octet-stream',
      'content-length': info.size,
      'cache-control': file.includes(`${sep}assets${sep}`) ? 'public, max-age=31536000, immutable' : 'no-cache',
    });
    createReadStream(file).pipe(response);
    return true;
  }
  return false;
}
