import { Redis } from 'ioredis';
import type { MessageContent } from '../../../src/protocol.js';
import type { Backend } from './app.js';
import { type Broadcast, type Bus, type Presence, distinct, newestPerTurn } from './fanout.js';
import { encode, encodeConversation, encodeMessage, frameType } from './protocol.js';
import { type AppendResult, type ConversationSummary, type HistoryPage, type Store, type StoredMessage, summaryAfter } from './store/types.js';

const prefix = 'lc:';
const key = {
  seq: (conversationId: string) => `${prefix}seq:${conversationId}`,
  stream: (conversationId: string) => `${prefix}stream:${conversationId}`,
  conversation: (conversationId: string) => `${prefix}conversation:${conversationId}`,
  /** Sorted set of conversation ids, score = minus the last update in ms: ascending is newest first, ties by id. */
  conversations: `${prefix}conversations:recent`,
  operatorDedup: (adminId: string) => `${prefix}dedup:${adminId}`,
  externalDedup: `${prefix}dedup-external`,
  presence: (room: string) => `${prefix}presence:${room}`,
  /** Liveness key of a process: exists while the process runs (refreshed every third of its TTL). */
  process: (processId: string) => `${prefix}process:${processId}`,
  /** Every process that registered and was not yet found dead. */
  processes: `${prefix}processes`,
  /** The rooms a process had connections in: where to clean up after it dies. */
  processRooms: (processId: string) => `${prefix}process-rooms:${processId}`,
  channel: `${prefix}fanout`,
  /** Every stored message, published by the append script itself: in seq order, across processes. */
  messagesChannel: `${prefix}messages`,
  /** The conversation's summary after each stored message, published by the script right after the message. */
  conversationsChannel: `${prefix}conversations`,
  /**
   * Presence versions: one counter for every room, so each room's changes get increasing versions
   * and no key is left behind per room that was ever joined.
   */
  presenceVersion: `${prefix}presence-version`,
  /** Every presence change with the room's operators after it, published by the presence script itself. */
  presenceChannel: `${prefix}presence`,
};

type Log = (message: string) => void;

/**
 * Appends one message atomically: returns the stored original for a duplicate, else takes the
 * next seq, adds the message to the conversation's stream (entry id `<seq>-0`, so streams are
 * ordered and addressable by seq) and updates the conversation summary.
 *
 * The message JSON is never decoded here: Redis's cjson would turn `[]` into `{}`, round numbers
 * to 14 digits, reorder keys and reject lone surrogates. The seq is spliced in as the first key
 * instead, so the stored text is exactly what `JSON.stringify` produced, as in the SQLite store.
 *
 * The stored message is also published (channel `lc:messages`) inside the script, and right after
 * it the conversation's new summary (channel `lc:conversations`: `{"unreadCount", "displayName",
 * "lastMessage"}`, the rest follows from the message, see {@link summaryAfter}): seq assignment and
 * fan-out are one atomic step, so every process receives a conversation's messages, and its
 * summaries, in seq order even when several processes append to it at once. (Published after the
 * script returned, two processes' events could cross on the way: message 4 delivered before 3, and
 * a client that then reconnected with since_seq=4 would never get 3; the summary after 3 announced
 * after the one after 4, and consoles showing a stale last message and unread count.) A duplicate
 * publishes nothing.
 *
 * KEYS: dedup hash, seq counter, stream, conversation hash, conversation index.
 * ARGV: dedup field ('' for none), message JSON object without seq, sender, index score,
 * conversation id, display name ('' for none), createdAt, messages channel, conversations channel.
 * Returns `{1, original JSON}` for a duplicate, else `{0, JSON, unread count, display name or ''}`:
 * with what the caller knows, the conversation summary after the append (no read back).
 */
const appendScript = `
if ARGV[1] ~= '' then
  local existing = redis.call('HGET', KEYS[1], ARGV[1])
  if existing then return {1, existing} end
end
local seq = redis.call('INCR', KEYS[2])
local json = '{"seq":' .. string.format('%d', seq) .. ',' .. string.sub(ARGV[2], 2)
redis.call('XADD', KEYS[3], seq .. '-0', 'm', json)
if ARGV[1] ~= '' then redis.call('HSET', KEYS[1], ARGV[1], json) end
local unread = 0
if ARGV[3] == 'customer' then
  unread = redis.call('HINCRBY', KEYS[4], 'unread_count', 1)
  redis.call('HSET', KEYS[4], 'status', 'waiting')
else
  redis.call('HSET', KEYS[4], 'unread_count', 0, 'status', 'answered')
end
redis.call('HSET', KEYS[4], 'last_seq', seq, 'updated_at', ARGV[7], 'last', json)
if ARGV[6] ~= '' then redis.call('HSET', KEYS[4], 'display_name', ARGV[6]) end
redis.call('ZADD', KEYS[5], ARGV[4], ARGV[5])
local name = redis.call('HGET', KEYS[4], 'display_name') or ''
redis.call('PUBLISH', ARGV[8], json)
redis.call('PUBLISH', ARGV[9], '{"unreadCount":' .. string.format('%d', unread) .. ',"displayName":' .. cjson.encode(name) .. ',"lastMessage":' .. json .. '}')
return {0, json, unread, name}
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
  createdAt: string,
  messagesChannel: string,
  conversationsChannel: string,
) => Promise<[0, string, number, string] | [1, string]>;

/**
 * Changes a room's presence and publishes the room's operators after it, in one atomic step:
 * every process receives a room's presence changes in the order they were made, with increasing
 * versions. (Read back and published after the update, two processes' announcements could cross:
 * alice's join read [alice], bob's join read and announced [alice, bob], then alice's [alice]
 * arrived last and consoles kept a stale list.)
 *
 * Operations (ARGV[1]): `join` adds connection ARGV[3] of admin ARGV[4] (and the room to the
 * process's rooms, KEYS[3]); `leave` removes connection ARGV[3], whose admin ARGV[4] is announced
 * as left; `remove` removes every connection of process ARGV[3] (dead or closing), announcing its
 * admins who are not present through another connection, and publishes nothing if none left.
 * Reading the room back drops the entries of processes whose liveness key (ARGV[5] .. process id)
 * is gone, as every read of a room does (keys named at run time: one Redis, not a cluster).
 *
 * KEYS: the room's presence hash, the version counter, the process's rooms (join only).
 * ARGV: operation, room, connection or process id, admin id ('' for none), liveness key prefix, channel.
 * Publishes `{"room", "version", "type": "joined" | "left", "admins": [...], "operators": [...]}`
 * and returns the operators present after the change (distinct, unsorted).
 */
const presenceScript = `
local hash, op, room = KEYS[1], ARGV[1], ARGV[2]
local function processOf(connectionId) return string.match(connectionId, '^([^:]*)') end
local changed = {}
if op == 'join' then
  redis.call('HSET', hash, ARGV[3], ARGV[4])
  redis.call('SADD', KEYS[3], room)
  changed[1] = ARGV[4]
elseif op == 'leave' then
  redis.call('HDEL', hash, ARGV[3])
  if ARGV[4] ~= '' then changed[1] = ARGV[4] end
else
  local entries = redis.call('HGETALL', hash)
  local gone = {}
  for i = 1, #entries, 2 do
    if processOf(entries[i]) == ARGV[3] then
      gone[#gone + 1] = entries[i]
      changed[#changed + 1] = entries[i + 1]
    end
  end
  if #gone == 0 then return {} end
  redis.call('HDEL', hash, unpack(gone))
end
local entries = redis.call('HGETALL', hash)
local alive, present, operators = {}, {}, {}
for i = 1, #entries, 2 do
  local process = processOf(entries[i])
  if alive[process] == nil then alive[process] = redis.call('EXISTS', ARGV[5] .. process) == 1 end
  if not alive[process] then
    redis.call('HDEL', hash, entries[i])
  elseif not present[entries[i + 1]] then
    present[entries[i + 1]] = true
    operators[#operators + 1] = entries[i + 1]
  end
end
local admins, seen = {}, {}
for _, admin in ipairs(changed) do
  if not seen[admin] and not (op == 'remove' and present[admin]) then
    seen[admin] = true
    admins[#admins + 1] = admin
  end
end
if op == 'remove' and #admins == 0 then return operators end
local function list(items)
  local out = {}
  for i, item in ipairs(items) do out[i] = cjson.encode(item) end
  return '[' .. table.concat(out, ',') .. ']'
end
local version = redis.call('INCR', KEYS[2])
redis.call('PUBLISH', ARGV[6], '{"room":' .. cjson.encode(room) .. ',"version":' .. string.format('%d', version)
  .. ',"type":"' .. (op == 'join' and 'joined' or 'left') .. '","admins":' .. list(admins) .. ',"operators":' .. list(operators) .. '}')
return operators
`;

type PresenceCommand = (
  presenceKey: string,
  versionKey: string,
  processRoomsKey: string,
  operation: 'join' | 'leave' | 'remove',
  room: string,
  id: string,
  adminId: string,
  livenessPrefix: string,
  channel: string,
) => Promise<string[]>;

/** A presence change as the presence script publishes it. */
interface PresenceChange {
  room: string;
  version: number;
  type: 'joined' | 'left';
  admins: string[];
  operators: string[];
}

/**
 * Storage in Redis: a stream per conversation for ordered history and replay, hashes for dedup and
 * summaries. Each new message and the summary after it are also published for {@link RedisBus} to
 * fan out (see appendScript).
 */
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
    // Without a LINE message id there is nothing to deduplicate on (and nothing is kept for it).
    return this.#append(key.externalDedup, options.externalId ?? '', { conversationId, sender: 'customer', message }, options.displayName);
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
    // Seqs start at 1: nothing is before 1 (and Redis refuses the exclusive range "(0-0").
    if (beforeSeq !== undefined && beforeSeq <= 1) return { messages: [], hasMore: false };
    const end = beforeSeq === undefined ? '+' : `(${beforeSeq}-0`;
    const entries = await this.#redis.xrevrange(key.stream(conversationId), end, '-', 'COUNT', limit + 1);
    return { messages: entries.slice(0, limit).reverse().map(entryMessage), hasMore: entries.length > limit };
  }

  async listConversations(): Promise<ConversationSummary[]> {
    const ids = await this.#redis.zrange(key.conversations, '0', '-1');
    if (ids.length === 0) return [];
    const pipeline = this.#redis.pipeline();
    for (const id of ids) pipeline.hgetall(key.conversation(id));
    const rows = (await pipeline.exec()) ?? [];
    const summaries: ConversationSummary[] = [];
    rows.forEach(([error, row], index) => {
      if (error) throw error;
      const summary = toSummary(ids[index]!, row as Record<string, string>);
      if (summary) summaries.push(summary);
    });
    return summaries;
  }

  async getConversation(conversationId: string): Promise<ConversationSummary | undefined> {
    return toSummary(conversationId, await this.#redis.hgetall(key.conversation(conversationId)));
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
    const now = Date.now();
    const createdAt = new Date(now).toISOString();
    const { conversationId } = message;
    const reply = await this.#redis.liveChatAppend(
      dedupKey,
      key.seq(conversationId),
      key.stream(conversationId),
      key.conversation(conversationId),
      key.conversations,
      dedupField,
      JSON.stringify({ ...message, createdAt }),
      message.sender,
      -now,
      conversationId,
      displayName,
      createdAt,
      key.messagesChannel,
      key.conversationsChannel,
    );
    const stored = JSON.parse(reply[1]) as StoredMessage;
    if (reply[0] === 1) {
      // A retry (rare): the conversation as it is now, read back. The original may belong to
      // another conversation than the one asked for.
      const conversation = await this.getConversation(stored.conversationId);
      if (!conversation) throw new Error(`conversation ${stored.conversationId} of a stored message is missing`);
      return { message: stored, duplicate: true, conversation };
    }
    return { message: stored, duplicate: false, conversation: summaryAfter(stored, Number(reply[2]), reply[3]) };
  }
}

function entryMessage([, fields]: [string, string[]]): StoredMessage {
  return JSON.parse(fields[1] ?? '{}') as StoredMessage;
}

function toSummary(conversationId: string, row: Record<string, string>): ConversationSummary | undefined {
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

/**
 * Fan-out over Redis pub/sub: every process delivers each broadcast to its own sockets. Call
 * {@link RedisBus.start} (as {@link createRedisBackend} does) before publishing: it resolves once
 * Redis confirmed the subscription, so no broadcast published afterwards is missed.
 *
 * What an append announces is the exception: {@link RedisStore} publishes every stored message and
 * the conversation's summary after it atomically with its seq, and this bus turns them into the
 * frames the gateway would have sent: `message_sent`/`message_received` to the room at once, and
 * `conversation_updated` to everyone once per conversation and turn of the event loop, with the
 * newest summary (as `LocalBus` does in one process; `announce` has nothing left to do). The
 * gateway's own publishes of message frames are therefore dropped: with them, each would arrive
 * twice, and not necessarily in seq order.
 *
 * Presence is published the same way, by {@link RedisPresence}'s script with the room's operators
 * after each change and a version: this bus turns it into `operator_joined`/`operator_left` for
 * the room (one per admin, `operators` the full list, `version` added) and never delivers a
 * room's list older than one it delivered. The gateway's own presence frames are dropped.
 */
export class RedisBus implements Bus {
  /** Conversations whose newest announced seq is remembered (the least recently updated are forgotten beyond). */
  static readonly rememberedConversations = 10_000;
  /** Rooms whose newest presence version is remembered (the least recently changed are forgotten beyond). */
  static readonly rememberedRooms = 10_000;
  readonly #publisher: Redis;
  readonly #subscriber: Redis;
  readonly #log: Log;
  #deliver: ((broadcast: Broadcast) => void) | undefined;
  /** Summaries received, delivered as `conversation_updated` once per conversation and turn. */
  readonly #announce = newestPerTurn((summary) => {
    try {
      this.#deliver?.({ frame: encodeConversation(summary) });
    } catch (error) {
      this.#log(`redis fan-out: could not deliver a broadcast: ${describe(error)}`);
    }
  });
  /** Per conversation, the last seq of the newest summary received: an older one is never announced after it. */
  readonly #lastSeqs = new Map<string, number>();
  /** Per room, the version of the newest presence change delivered: an older one is never delivered after it. */
  readonly #presenceVersions = new Map<string, number>();

  constructor(publisher: Redis, subscriber: Redis, log: Log = () => {}) {
    this.#publisher = publisher;
    this.#subscriber = subscriber;
    this.#log = log;
    subscriber.on('message', (channel: string, text: string) => {
      // Thrown here, an error would end up in ioredis's reply parser: log it instead.
      try {
        if (channel === key.channel) this.#deliver?.(JSON.parse(text) as Broadcast);
        else if (channel === key.messagesChannel) this.#deliver?.(storedMessageBroadcast(text));
        else if (channel === key.conversationsChannel) this.#summaryReceived(text);
        else if (channel === key.presenceChannel) this.#presenceReceived(text);
      } catch (error) {
        this.#log(`redis fan-out: could not deliver a broadcast: ${describe(error)}`);
      }
    });
    // Across a reconnection the seqs and versions may start over (Redis restarted empty): forget the old ones.
    subscriber.on('close', () => {
      this.#lastSeqs.clear();
      this.#presenceVersions.clear();
    });
  }

  async start(): Promise<void> {
    await this.#subscriber.subscribe(key.channel, key.messagesChannel, key.conversationsChannel, key.presenceChannel);
  }

  /**
   * Never rejects: fan-out is best effort while Redis is away (callers such as typing do not
   * await it). Stored messages are not lost: clients get them by replay, and a sender whose ack
   * did not come retries with the same temp_id, answered with the original ack.
   */
  async publish(broadcast: Broadcast): Promise<void> {
    if (isScriptFrame(broadcast.frame)) return; // already published by the append or presence script, in order
    try {
      await this.#publisher.publish(key.channel, JSON.stringify(broadcast));
    } catch (error) {
      this.#log(`redis fan-out: publish failed: ${describe(error)}`);
    }
  }

  /** Nothing to do: the append script published the summary, atomically with the message. */
  announce(): void {}

  subscribe(deliver: (broadcast: Broadcast) => void): void {
    this.#deliver = deliver;
  }

  async close(): Promise<void> {
    this.#deliver = undefined;
    await quit(this.#subscriber);
  }

  #summaryReceived(text: string): void {
    const { unreadCount, displayName, lastMessage } = JSON.parse(text) as { unreadCount: number; displayName: string; lastMessage: StoredMessage };
    const summary = summaryAfter(lastMessage, unreadCount, displayName);
    if (advanced(this.#lastSeqs, summary.id, summary.lastSeq, RedisBus.rememberedConversations)) this.#announce(summary);
  }

  #presenceReceived(text: string): void {
    const { room, version, type, admins, operators } = JSON.parse(text) as PresenceChange;
    if (!advanced(this.#presenceVersions, room, version, RedisBus.rememberedRooms)) return;
    const presenceType = type === 'joined' ? 'operator_joined' : 'operator_left';
    const present = distinct(operators);
    for (const adminId of admins) {
      this.#deliver?.({ room, frame: encode(presenceType, { admin_id: adminId, line_user_id: room, operators: present, version }) });
    }
  }
}

/** The room broadcast of a stored message: the same frame the gateway sends (timestamp = createdAt). */
function storedMessageBroadcast(json: string): Broadcast {
  const message = JSON.parse(json) as StoredMessage;
  return { room: message.conversationId, frame: encodeMessage(message) };
}

/**
 * Whether `value` is newer than the last one seen for `id` (then remembered as the last). Redis
 * delivers them in order; this is the safety net that keeps a console from going back. Only the
 * `limit` most recently advanced ids are remembered (the map is ordered from least recent).
 */
function advanced(last: Map<string, number>, id: string, value: number, limit: number): boolean {
  const seen = last.get(id);
  if (seen !== undefined && value <= seen) return false;
  last.delete(id); // re-inserted last
  last.set(id, value);
  if (last.size > limit) last.delete(last.keys().next().value!);
  return true;
}

/** The frames of an append or a presence change: published by the scripts themselves (see appendScript, presenceScript). */
const scriptFrameTypes = new Set(['message_sent', 'message_received', 'conversation_updated', 'operator_joined', 'operator_left']);

function isScriptFrame(frame: string): boolean {
  return scriptFrameTypes.has(frameType(frame));
}

export interface RedisPresenceOptions {
  /**
   * TTL of the process's liveness key, refreshed every third of it: a process that dies without
   * cleaning up is noticed by the others at most about 4/3 of this later.
   * @default 30
   */
  livenessSeconds?: number;
  log?: Log;
}

/**
 * Presence shared by every process: a hash per room (connection id → admin id). A process that
 * dies cannot clean up, so each keeps a short-lived liveness key; every process sweeps, on its
 * own heartbeat, the entries of processes whose key expired (announcing their operators' departure),
 * and entries of dead processes are also dropped whenever a room is read.
 *
 * Every change (join, leave, a dead or closing process's cleanup) and the announcement of the
 * room's operators after it are one script (see presenceScript), which publishes the change for
 * {@link RedisBus} to deliver.
 *
 * Each process also remembers its own entries: when its liveness key turns out to be gone (Redis
 * restarted empty, or the process stalled so long that others swept it), it writes them again.
 */
export class RedisPresence implements Presence {
  static readonly defaultLivenessSeconds = 30;
  readonly #redis: Redis & { liveChatPresence: PresenceCommand };
  readonly #processId: string;
  readonly #livenessSeconds: number;
  readonly #log: Log;
  #heartbeat: NodeJS.Timeout | undefined;
  #beating: Promise<void> | undefined;
  /** This process's own entries: room → connection id → admin id. */
  readonly #local = new Map<string, Map<string, string>>();

  constructor(redis: Redis, processId: string, options: RedisPresenceOptions = {}) {
    redis.defineCommand('liveChatPresence', { numberOfKeys: 3, lua: presenceScript });
    this.#redis = redis as Redis & { liveChatPresence: PresenceCommand };
    this.#processId = processId;
    this.#livenessSeconds = options.livenessSeconds ?? RedisPresence.defaultLivenessSeconds;
    if (!(this.#livenessSeconds >= 1)) throw new Error(`livenessSeconds must be at least 1, got ${this.#livenessSeconds}`);
    this.#log = options.log ?? (() => {});
  }

  /** Registers this process as alive, then refreshes that and sweeps dead processes every third of the TTL. */
  async start(): Promise<void> {
    await this.#alive();
    this.#heartbeat = setInterval(() => {
      // One beat at a time: a slow Redis must not pile sweeps up.
      this.#beating ??= this.#beat().finally(() => (this.#beating = undefined));
    }, (this.#livenessSeconds * 1000) / 3);
    this.#heartbeat.unref();
  }

  async join(room: string, connectionId: string, adminId: string): Promise<string[]> {
    let members = this.#local.get(room);
    if (!members) this.#local.set(room, (members = new Map()));
    members.set(connectionId, adminId);
    return this.#change('join', room, connectionId, adminId);
  }

  async leave(room: string, connectionId: string): Promise<string[]> {
    const members = this.#local.get(room);
    const adminId = members?.get(connectionId) ?? '';
    members?.delete(connectionId);
    if (members?.size === 0) this.#local.delete(room);
    return this.#change('leave', room, connectionId, adminId);
  }

  /** Finds processes whose liveness key expired and removes their connections (once, whoever claims it). */
  async sweep(): Promise<void> {
    const processes = await this.#redis.smembers(key.processes);
    for (const processId of processes) {
      if (processId === this.#processId) continue;
      if ((await this.#redis.exists(key.process(processId))) === 1) continue;
      // SREM answers 1 to exactly one sweeper: only it announces the departures.
      if ((await this.#redis.srem(key.processes, processId)) === 1) await this.#removeProcess(processId);
    }
  }

  /** Stops the heartbeat and removes this process's connections, announcing who left. */
  async close(): Promise<void> {
    clearInterval(this.#heartbeat);
    await this.#beating;
    this.#local.clear();
    try {
      await this.#redis.multi().del(key.process(this.#processId)).srem(key.processes, this.#processId).exec();
      await this.#removeProcess(this.#processId);
    } catch (error) {
      this.#log(`redis presence: cleanup on close failed: ${describe(error)}`);
    }
  }

  async #alive(): Promise<void> {
    // One transaction: a registered process always has its liveness key, so no sweeper sees it "dead" in between.
    const results = await this.#redis
      .multi()
      .set(key.process(this.#processId), '1', 'EX', this.#livenessSeconds, 'GET')
      .sadd(key.processes, this.#processId)
      .exec();
    const [error, previous] = results?.[0] ?? [];
    if (error) throw error;
    if (previous !== null || this.#local.size === 0) return;
    // Our key was gone, so our entries may be too: write them again. The snapshot is taken now, so
    // a leave issued before is already in it, and one issued after runs after these writes.
    const transaction = this.#redis.multi();
    for (const [room, members] of this.#local) {
      transaction.hset(key.presence(room), Object.fromEntries(members)).sadd(key.processRooms(this.#processId), room);
    }
    await transaction.exec();
    this.#log(`redis presence: liveness key was gone (Redis restarted?); restored ${this.#local.size} room(s)`);
  }

  async #beat(): Promise<void> {
    try {
      await this.#alive();
      await this.sweep();
    } catch (error) {
      this.#log(`redis presence: heartbeat failed: ${describe(error)}`);
    }
  }

  /** Removes a process's connections from each of its rooms, announcing the operators who left with them. */
  async #removeProcess(processId: string): Promise<void> {
    const rooms = await this.#redis.smembers(key.processRooms(processId));
    for (const room of rooms) await this.#change('remove', room, processId);
    await this.#redis.del(key.processRooms(processId));
  }

  /** One presence change and its announcement (see presenceScript); resolves with the operators after it. */
  async #change(operation: 'join' | 'leave' | 'remove', room: string, id: string, adminId = ''): Promise<string[]> {
    const operators = await this.#redis.liveChatPresence(
      key.presence(room),
      key.presenceVersion,
      key.processRooms(this.#processId),
      operation,
      room,
      id,
      adminId,
      key.process(''),
      key.presenceChannel,
    );
    return distinct(operators);
  }
}

export interface RedisBackendOptions {
  /** Where connection problems are reported (ioredis reconnects by itself). */
  log?: Log;
  /** See {@link RedisPresenceOptions.livenessSeconds}. @default 30 */
  livenessSeconds?: number;
}

/**
 * Storage, fan-out and presence on one Redis. Resolves once both connections are up, the fan-out
 * subscription is active and this process is registered as alive; rejects (leaving nothing
 * running) when Redis cannot be reached.
 */
export async function createRedisBackend(url: string, processId: string, options: RedisBackendOptions = {}): Promise<Backend> {
  const log = options.log ?? (() => {});
  const connectionOptions = { maxRetriesPerRequest: 3, lazyConnect: true };
  const commands = new Redis(url, connectionOptions);
  const subscriber = new Redis(url, connectionOptions);
  let firstError: Error | undefined;
  // Without a listener ioredis prints every reconnect error; report each outage once instead.
  for (const [name, redis] of [['commands', commands], ['subscriber', subscriber]] as const) {
    let reported = false;
    redis.on('error', (error: Error) => {
      firstError ??= error;
      if (!reported) log(`redis (${name}): ${error.message}; reconnecting`);
      reported = true;
    });
    redis.on('ready', () => {
      if (reported) log(`redis (${name}): connected again`);
      reported = false;
    });
  }
  const bus = new RedisBus(commands, subscriber, log);
  const presence = new RedisPresence(commands, processId, { livenessSeconds: options.livenessSeconds, log });
  try {
    await Promise.all([commands.connect(), subscriber.connect()]);
    await bus.start();
    await presence.start();
  } catch (error) {
    commands.disconnect();
    subscriber.disconnect();
    // connect() rejects with a bare "Connection is closed."; the error event says why.
    const reason = firstError && firstError !== error ? `${describe(error)} (${firstError.message})` : describe(error);
    throw new Error(`cannot use Redis at ${redact(url)}: ${reason}`, { cause: error });
  }
  const store = new RedisStore(commands);
  return {
    store,
    bus,
    presence,
    close: async () => {
      await bus.close();
      await presence.close();
      await quit(commands);
    },
  };
}

/** QUIT (waits for pending replies), bounded: a Redis that does not answer is disconnected. */
async function quit(redis: Redis): Promise<void> {
  if (redis.status === 'end') return;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([redis.quit(), new Promise((resolve) => (timer = setTimeout(resolve, 2000)))]);
  } catch {
    // Already closing or gone.
  } finally {
    clearTimeout(timer);
    if ((redis.status as string) !== 'end') redis.disconnect();
  }
}

function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(invalid URL)';
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
