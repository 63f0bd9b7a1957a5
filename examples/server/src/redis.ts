import { Redis } from 'ioredis';
import type { MessageContent } from '../../../src/protocol.js';
import type { Backend } from './app.js';
import { type Broadcast, type Bus, type Presence, distinct } from './fanout.js';
import type { AppendResult, ConversationSummary, HistoryPage, Store, StoredMessage } from './store/types.js';

const prefix = 'lc:';
const key = {
  seq: (conversationId: string) => `${prefix}seq:${conversationId}`,
  stream: (conversationId: string) => `${prefix}stream:${conversationId}`,
  conversation: (conversationId: string) => `${prefix}conversation:${conversationId}`,
  conversations: `${prefix}conversations`,
  operatorDedup: (adminId: string) => `${prefix}dedup:${adminId}`,
  externalDedup: `${prefix}dedup-external`,
  presence: (room: string) => `${prefix}presence:${room}`,
  process: (processId: string) => `${prefix}process:${processId}`,
  channel: `${prefix}fanout`,
};

/**
 * Appends one message atomically: returns the stored original for a duplicate, else takes the
 * next seq, adds the message to the conversation's stream (entry id `<seq>-0`, so streams are
 * ordered and addressable by seq) and updates the conversation summary.
 * KEYS: dedup hash, seq counter, stream, conversation hash, conversation index.
 * ARGV: dedup field, message JSON without seq, sender, score (ms), conversation id, display name.
 */
const appendScript = `
local existing = redis.call('HGET', KEYS[1], ARGV[1])
if existing then return {1, existing} end
local seq = redis.call('INCR', KEYS[2])
local message = cjson.decode(ARGV[2])
message.seq = seq
local json = cjson.encode(message)
redis.call('XADD', KEYS[3], seq .. '-0', 'm', json)
redis.call('HSET', KEYS[1], ARGV[1], json)
if ARGV[3] == 'customer' then
  redis.call('HINCRBY', KEYS[4], 'unread_count', 1)
  redis.call('HSET', KEYS[4], 'status', 'waiting')
else
  redis.call('HSET', KEYS[4], 'unread_count', 0, 'status', 'answered')
end
redis.call('HSET', KEYS[4], 'last_seq', seq, 'updated_at', message.createdAt, 'last', json)
if ARGV[6] ~= '' then redis.call('HSET', KEYS[4], 'display_name', ARGV[6]) end
redis.call('ZADD', KEYS[5], ARGV[4], ARGV[5])
return {0, json}
`;

type AppendCommand = (
  dedupKey: string,
  seqKey: string,
  streamKey: string,
  conversationKey: string,
  indexKey: string,
  dedupField: string,
  message: string,
  sender: string,
  score: number,
  conversationId: string,
  displayName: string,
) => Promise<[number, string]>;

/** Storage in Redis: a stream per conversation for ordered history and replay, hashes for dedup and summaries. */
export class RedisStore implements Store {
  readonly #redis: Redis & { liveChatAppend: AppendCommand };

  constructor(redis: Redis) {
    redis.defineCommand('liveChatAppend', { numberOfKeys: 5, lua: appendScript });
    this.#redis = redis as Redis & { liveChatAppend: AppendCommand };
  }

  appendCustomerMessage(
    conversationId: string,
    message: MessageContent,
    options: { displayName?: string; externalId?: string } = {},
  ): Promise<AppendResult> {
    // Without a LINE message id there is nothing to deduplicate on: a fresh field never matches.
    const field = options.externalId ?? `anonymous:${Date.now()}:${Math.random()}`;
    return this.#append(key.externalDedup, field, { conversationId, sender: 'customer', message }, options.displayName);
  }

  appendOperatorMessage(conversationId: string, adminId: string, tempId: string, message: MessageContent): Promise<AppendResult> {
    return this.#append(key.operatorDedup(adminId), tempId, { conversationId, sender: 'operator', adminId, tempId, message });
  }

  async messagesAfter(conversationId: string, afterSeq: number, limit: number): Promise<StoredMessage[] | undefined> {
    const entries = await this.#redis.xrange(key.stream(conversationId), `(${afterSeq}-0`, '+', 'COUNT', limit);
    const messages = entries.map(entryMessage);
    // A trimmed stream starts later than asked: the gap cannot be replayed.
    if (messages.length > 0 && messages[0]!.seq > afterSeq + 1) return undefined;
    return messages;
  }

  async history(conversationId: string, { beforeSeq, limit }: { beforeSeq?: number; limit: number }): Promise<HistoryPage> {
    const end = beforeSeq === undefined ? '+' : `(${beforeSeq}-0`;
    const entries = await this.#redis.xrevrange(key.stream(conversationId), end, '-', 'COUNT', limit + 1);
    return { messages: entries.slice(0, limit).reverse().map(entryMessage), hasMore: entries.length > limit };
  }

  async listConversations(): Promise<ConversationSummary[]> {
    const ids = await this.#redis.zrevrange(key.conversations, 0, -1);
    const summaries = await Promise.all(ids.map((id) => this.getConversation(id)));
    return summaries.filter((summary): summary is ConversationSummary => summary !== undefined);
  }

  async getConversation(conversationId: string): Promise<ConversationSummary | undefined> {
    const row = await this.#redis.hgetall(key.conversation(conversationId));
    if (!row.last_seq) return undefined;
    return {
      id: conversationId,
      displayName: row.display_name || undefined,
      lastMessage: row.last ? (JSON.parse(row.last) as StoredMessage) : undefined,
      lastSeq: Number(row.last_seq),
      unreadCount: Number(row.unread_count ?? 0),
      status: row.status === 'answered' ? 'answered' : 'waiting',
      updatedAt: row.updated_at ?? '',
    };
  }

  async close(): Promise<void> {
    // The connection belongs to the backend, which closes it.
  }

  async #append(
    dedupKey: string,
    dedupField: string,
    message: Omit<StoredMessage, 'seq' | 'createdAt'>,
    displayName = '',
  ): Promise<AppendResult> {
    const createdAt = new Date().toISOString();
    const { conversationId } = message;
    const [duplicate, json] = await this.#redis.liveChatAppend(
      dedupKey,
      key.seq(conversationId),
      key.stream(conversationId),
      key.conversation(conversationId),
      key.conversations,
      dedupField,
      JSON.stringify({ ...message, createdAt }),
      message.sender,
      Date.now(),
      conversationId,
      displayName,
    );
    return { message: JSON.parse(json) as StoredMessage, duplicate: duplicate === 1 };
  }
}

function entryMessage([, fields]: [string, string[]]): StoredMessage {
  return JSON.parse(fields[1] ?? '{}') as StoredMessage;
}

/** Fan-out over Redis pub/sub: every process delivers each broadcast to its own sockets. */
export class RedisBus implements Bus {
  readonly #publisher: Redis;
  readonly #subscriber: Redis;

  constructor(publisher: Redis, subscriber: Redis) {
    this.#publisher = publisher;
    this.#subscriber = subscriber;
  }

  async publish(broadcast: Broadcast): Promise<void> {
    await this.#publisher.publish(key.channel, JSON.stringify(broadcast));
  }

  subscribe(deliver: (broadcast: Broadcast) => void): void {
    void this.#subscriber.subscribe(key.channel);
    this.#subscriber.on('message', (_channel: string, text: string) => deliver(JSON.parse(text) as Broadcast));
  }

  async close(): Promise<void> {
    await this.#subscriber.quit().catch(() => undefined);
  }
}

/**
 * Presence shared by every process: a hash per room (connection id → admin id). A process that
 * dies cannot clean up, so each keeps a short-lived liveness key, and entries of processes whose
 * key expired are dropped when the room is read.
 */
export class RedisPresence implements Presence {
  readonly #redis: Redis;
  readonly #processId: string;
  readonly #heartbeat: NodeJS.Timeout;
  static readonly livenessSeconds = 30;

  constructor(redis: Redis, processId: string) {
    this.#redis = redis;
    this.#processId = processId;
    const beat = () => void this.#redis.set(key.process(processId), '1', 'EX', RedisPresence.livenessSeconds).catch(() => undefined);
    beat();
    this.#heartbeat = setInterval(beat, (RedisPresence.livenessSeconds * 1000) / 3);
    this.#heartbeat.unref();
  }

  async join(room: string, connectionId: string, adminId: string): Promise<string[]> {
    await this.#redis.hset(key.presence(room), connectionId, adminId);
    return this.#present(room);
  }

  async leave(room: string, connectionId: string): Promise<string[]> {
    await this.#redis.hdel(key.presence(room), connectionId);
    return this.#present(room);
  }

  async close(): Promise<void> {
    clearInterval(this.#heartbeat);
    await this.#redis.del(key.process(this.#processId)).catch(() => undefined);
  }

  async #present(room: string): Promise<string[]> {
    const members = await this.#redis.hgetall(key.presence(room));
    const processes = [...new Set(Object.keys(members).map((connectionId) => connectionId.split(':')[0]!))];
    const alive = await Promise.all(processes.map((id) => this.#redis.exists(key.process(id))));
    const dead = new Set(processes.filter((_, index) => alive[index] === 0));
    const stale = Object.keys(members).filter((connectionId) => dead.has(connectionId.split(':')[0]!));
    if (stale.length > 0) await this.#redis.hdel(key.presence(room), ...stale);
    return distinct(Object.entries(members).filter(([connectionId]) => !stale.includes(connectionId)).map(([, adminId]) => adminId));
  }
}

export async function createRedisBackend(url: string, processId: string): Promise<Backend> {
  const options = { maxRetriesPerRequest: 3, lazyConnect: true };
  const commands = new Redis(url, options);
  const subscriber = new Redis(url, options);
  await Promise.all([commands.connect(), subscriber.connect()]);
  const bus = new RedisBus(commands, subscriber);
  const presence = new RedisPresence(commands, processId);
  const store = new RedisStore(commands);
  return {
    store,
    bus,
    presence,
    close: async () => {
      await bus.close();
      await presence.close();
      await commands.quit().catch(() => undefined);
    },
  };
}
