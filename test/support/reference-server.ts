/**
 * Starts the reference server (examples/server) in the test process on 127.0.0.1 port 0, with a
 * SQLite file in a fresh temp folder (or Redis, when a URL is given), and mints tokens for it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type App, startApp } from '../../examples/server/src/app.js';
import { type ServerConfig, loadConfig } from '../../examples/server/src/config.js';

export const testSecret = 'test-secret-of-at-least-32-bytes-length!';

export interface TestServer extends App {
  readonly config: ServerConfig;
  /** A valid operator token (1 hour). */
  token(adminId: string, name?: string): Promise<string>;
  /** Posts a LINE webhook body; resolves with the HTTP status. */
  webhook(body: unknown, headers?: Record<string, string>): Promise<number>;
}

/** A temp folder removed by the returned cleanup. */
export function tempDir(): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), 'live-chat-'));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

export async function startServer(overrides: Partial<ServerConfig> = {}): Promise<TestServer> {
  const config = loadConfig({}, { port: 0, host: '127.0.0.1', jwtSecret: testSecret, databasePath: ':memory:', staticDirs: [], ...overrides });
  const app = await startApp(config);
  return {
    ...app,
    close: () => app.close(),
    config,
    token: (adminId, name) => app.auth.sign({ adminId, ...(name && { name }) }, 3600),
    webhook: async (body, headers = {}) => {
      const response = await fetch(`${app.httpUrl}/api/v1/webhook`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
      await response.arrayBuffer();
      return response.status;
    },
  };
}
