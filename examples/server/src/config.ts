import { randomBytes } from 'node:crypto';

/** Server configuration, from environment variables with safe defaults. */
export interface ServerConfig {
  /** `PORT`; 0 picks a free port. @default 3000 */
  port: number;
  /** `HOST`. @default 127.0.0.1 */
  host: string;
  /** `NODE_ENV === 'production'`: turns the dev token endpoint off and requires `JWT_SECRET`. */
  production: boolean;
  /** `JWT_SECRET` (HS256). In development a random one is generated when unset. */
  jwtSecret: string;
  /** True when `jwtSecret` was generated because `JWT_SECRET` was unset. */
  jwtSecretGenerated: boolean;
  /** `DATABASE_PATH` for SQLite; `:memory:` for a throwaway store. @default data/live-chat.sqlite */
  databasePath: string;
  /** `REDIS_URL`: when set, storage and fan-out go through Redis so several processes share operators. */
  redisUrl: string | undefined;
  /**
   * `PRESENCE_LIVENESS_SECONDS` (with Redis): a process that dies without cleaning up is dropped
   * from presence, and its operators announced as left, at most about 4/3 of this later. @default 30
   */
  presenceLivenessSeconds: number;
  /** `LINE_CHANNEL_SECRET`: when set, the webhook's `x-line-signature` is checked. */
  lineChannelSecret: string | undefined;
  /** `ALLOWED_ORIGINS`, comma separated; unset: same host and localhost origins in development. */
  allowedOrigins: string[] | undefined;
  /** `STATIC_DIRS`: `urlPrefix=dir` pairs served as static files (the example consoles). */
  staticDirs: { prefix: string; dir: string }[];
  /** Seconds a connection may take to send a valid `auth` frame. @default 5 */
  authTimeoutMs: number;
  /** A connection that sends nothing for this long is dropped (clients ping every 25 s). @default 75000 */
  idleTimeoutMs: number;
  /** Largest accepted frame in bytes; larger closes the connection with 4008. @default 65536 */
  maxFrameBytes: number;
  /** Largest message text in characters; longer is refused with an `error`. @default 5000 */
  maxTextLength: number;
  /** Frames per second a connection may send on average, and in a burst; past it: close 4008. */
  rateLimit: { perSecond: number; burst: number };
  /** A connection whose unsent buffer exceeds this many bytes is cut off (slow consumer). @default 1 MiB */
  maxBufferedBytes: number;
  /** Typing that gets no refresh for this long is stopped by the server. @default 6000 */
  typingTimeoutMs: number;
  /** Most events replayed on a join; beyond it the server answers `replay_unavailable`. @default 500 */
  replayLimit: number;
  /** Lifetime of tokens from the dev endpoint. @default 12 hours */
  devTokenTtlSeconds: number;
}

type Env = Record<string, string | undefined>;

export function loadConfig(env: Env = process.env, overrides: Partial<ServerConfig> = {}): ServerConfig {
  const production = env.NODE_ENV === 'production';
  const secret = env.JWT_SECRET;
  if (production && !secret) throw new Error('JWT_SECRET must be set when NODE_ENV=production');
  return {
    port: int(env.PORT, 3000),
    host: env.HOST ?? '127.0.0.1',
    production,
    jwtSecret: secret ?? randomBytes(32).toString('base64url'),
    jwtSecretGenerated: !secret,
    databasePath: env.DATABASE_PATH ?? 'data/live-chat.sqlite',
    redisUrl: env.REDIS_URL || undefined,
    presenceLivenessSeconds: int(env.PRESENCE_LIVENESS_SECONDS, 30),
    lineChannelSecret: env.LINE_CHANNEL_SECRET || undefined,
    allowedOrigins: env.ALLOWED_ORIGINS ? env.ALLOWED_ORIGINS.split(',').map((origin) => origin.trim()).filter(Boolean) : undefined,
    staticDirs: (env.STATIC_DIRS ?? '')
      .split(',')
      .filter((pair) => pair.includes('='))
      .map((pair) => {
        const [prefix = '/', dir = ''] = pair.split('=');
        return { prefix, dir };
      }),
    authTimeoutMs: int(env.AUTH_TIMEOUT_MS, 5000),
    idleTimeoutMs: int(env.IDLE_TIMEOUT_MS, 75_000),
    maxFrameBytes: int(env.MAX_FRAME_BYTES, 64 * 1024),
    maxTextLength: int(env.MAX_TEXT_LENGTH, 5000),
    rateLimit: { perSecond: int(env.RATE_LIMIT_PER_SECOND, 20), burst: int(env.RATE_LIMIT_BURST, 60) },
    maxBufferedBytes: int(env.MAX_BUFFERED_BYTES, 1024 * 1024),
    typingTimeoutMs: int(env.TYPING_TIMEOUT_MS, 6000),
    replayLimit: int(env.REPLAY_LIMIT, 500),
    devTokenTtlSeconds: int(env.DEV_TOKEN_TTL_SECONDS, 12 * 3600),
    ...overrides,
  };
}

function int(value: string | undefined, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0) throw new Error(`expected a whole number >= 0, got "${value}"`);
  return parsed;
}
