import { DeliveryError, LiveChatError, type LiveChatErrorCode } from './errors.js';
import type { MessageContent } from './protocol.js';
import { type Timer, createTimer } from './timer.js';

/** An operator message waiting for its ack, in the JSON-safe form the storage keeps. */
export interface OutboxEntry {
  /** Client-chosen id, stable across retries; the server deduplicates on it. */
  tempId: string;
  conversationId: string;
  message: MessageContent;
  /** Epoch milliseconds. */
  createdAt: number;
  /** Epoch milliseconds after which the message fails with `ttl_expired`. */
  expiresAt: number;
  /** `failed` messages stay until the app retries or discards them. */
  status: 'pending' | 'failed';
  /** Why it failed, when `status` is `failed`. */
  error?: { code: LiveChatErrorCode; message: string };
}

/**
 * Where unsent messages are kept. Memory only by default; {@link localStorageOutbox} keeps them
 * across page reloads. `save` receives the whole outbox after each change (coalesced per tick).
 */
export interface OutboxStorage {
  load(): readonly OutboxEntry[] | Promise<readonly OutboxEntry[]>;
  save(entries: readonly OutboxEntry[]): void | Promise<void>;
}

/** Options of the outbound queue. */
export interface QueueOptions {
  /**
   * Most messages and frames that may wait at once; beyond it `sendMessage` rejects and `send`
   * throws a `queue_full` error (nothing is dropped silently).
   * @default 500
   */
  maxSize?: number;
  /**
   * Re-send a message that got no ack after this long (on the same connection).
   * @default 10000
   */
  ackTimeoutMs?: number;
  /**
   * Ack-timeout re-sends before the message fails with `ack_timeout`. Re-sends after a reconnect
   * do not count: a message waits out an outage, bounded by `ttlMs`.
   * @default 3
   */
  maxRetries?: number;
  /**
   * A message not acked this long after `sendMessage` fails with `ttl_expired`.
   * @default 600000 (10 minutes)
   */
  ttlMs?: number;
  /**
   * Where unsent messages are kept.
   * @default memory only
   */
  storage?: OutboxStorage;
}

/** The server's ack of one message: the `message_sent` frame carrying its `temp_id`. */
export interface MessageAck {
  tempId: string;
  conversationId: string;
  /** Per-conversation sequence number; absent on a server without seq. */
  seq: number | undefined;
  adminId: string;
  message: MessageContent;
  timestamp: string;
}

/** A change in the delivery of one operator message. */
export interface DeliveryUpdate {
  readonly tempId: string;
  readonly conversationId: string;
  readonly status: 'pending' | 'sent' | 'failed' | 'discarded';
  /** Set when `status` is `sent` on a server with seq. */
  readonly seq?: number;
  /** Set when `status` is `failed`. */
  readonly error?: LiveChatError;
}

interface Pending {
  entry: OutboxEntry;
  /** The `[resolve, reject]` of every Promise waiting for this message. */
  settle: [(ack: MessageAck) => void, (error: LiveChatError) => void][];
  /** Transmissions on the current connection; compared with `maxRetries`. */
  sent: number;
  ack: Timer;
  ttl: Timer;
}

type Transmit = (type: string, payload: unknown) => void;

/**
 * The outbound queue. Operator messages wait here until acked: they are sent in insertion order
 * once the connection is authenticated, re-sent with the same `temp_id` after an ack timeout or a
 * reconnect, and end as acked or `failed`, never silently dropped. Other frames wait here while
 * offline and are flushed first, in order. Lookups by `temp_id` are O(1).
 */
export interface Outbox {
  /**
   * Loads the stored entries once, ahead of any added since (those were created later). Every
   * save waits for it, so a message written before the load never overwrites the stored ones.
   */
  restore(): Promise<void>;
  entries(): OutboxEntry[];
  get(tempId: string): OutboxEntry | undefined;
  /** Queues a message; the Promise settles with its ack or its failure. */
  add(conversationId: string, message: MessageContent, tempId: string): Promise<MessageAck>;
  /** Sends a frame now if online, else keeps it until the connection is authenticated. */
  addFrame(type: string, payload: unknown): void;
  /** Starts TTL timers (the client is active) without sending anything yet. */
  activate(): void;
  /**
   * Stops every timer and sending; entries are kept for the next activation. With an `error` (a
   * fatal stop: nothing can be delivered), pending messages fail with it first.
   */
  deactivate(error?: LiveChatError): void;
  /** The connection is authenticated: flush frames, then (re-)send every pending message in order. */
  online(transmit: Transmit): void;
  /** The connection is gone: stop waiting for acks; pending messages go out again on `online`. */
  offline(): void;
  /** Resolves the message acked by `ack` (a late ack also settles a failed one); ignored if unknown. */
  ack(ack: MessageAck): void;
  /** Ends a pending message as failed; it stays (and is stored) until retried or discarded. */
  fail(tempId: string, code: LiveChatErrorCode, message: string, cause?: LiveChatError): void;
  /** Sends a message again at once, with a fresh TTL and the same `temp_id` (failed or still pending). */
  retry(tempId: string): Promise<MessageAck>;
  /** Removes a message; a pending one rejects with `discarded`. False if there was none. */
  discard(tempId: string): boolean;
}

/**
 * @param changed every delivery update: an entry added, restored, failed, retried, acked (`sent`) or discarded
 * @param ackTimedOut a message waited `ackTimeoutMs` for its ack: the link may be dead
 */
export function createOutbox(
  { storage, maxSize = 500, ackTimeoutMs = 10_000, maxRetries = 3, ttlMs = 600_000 }: QueueOptions = {},
  changed: (update: DeliveryUpdate) => void,
  ackTimedOut: () => void,
): Outbox {
  let records = new Map<string, Pending>();
  const frames: [type: string, payload: unknown][] = [];
  let transmit: Transmit | undefined;
  let active = false;
  let restored: Promise<void> | undefined;
  let saveQueued = false;

  const entries = () => [...records.values()].map((pending) => pending.entry);

  const checkRoom = () => {
    if (records.size + frames.length >= maxSize) throw new LiveChatError('queue_full', `outbox full (${maxSize})`);
  };

  const promise = (pending: Pending) => new Promise<MessageAck>((resolve, reject) => pending.settle.push([resolve, reject]));

  const notify = ({ tempId, conversationId, error }: OutboxEntry, status: DeliveryUpdate['status'], seq?: number) =>
    changed({
      tempId,
      conversationId,
      status,
      ...(seq !== undefined && { seq }),
      ...(error && status === 'failed' && { error: new DeliveryError(error.code, error.message, tempId) }),
    });

  /** Stores a new state of the entry, tells the owner, and (if pending) starts its timers and sending. */
  const update = (pending: Pending, entry: OutboxEntry) => {
    pending.entry = entry;
    notify(entry, entry.status);
    persist();
    start(pending);
  };

  const remove = (pending: Pending, status: 'sent' | 'discarded', seq?: number) => {
    pending.ack.clear();
    pending.ttl.clear();
    records.delete(pending.entry.tempId);
    notify(pending.entry, status, seq);
    persist();
  };

  /** Arms the TTL timer (while active) and sends (while online) a pending message. */
  const start = (pending: Pending) => {
    if (pending.entry.status !== 'pending') {
      pending.ack.clear();
      pending.ttl.clear();
      return;
    }
    if (active && !pending.ttl.pending) expireAt(pending, pending.entry);
    send(pending);
  };

  const expireAt = (pending: Pending, { tempId, expiresAt }: OutboxEntry) => {
    if (expiresAt === Infinity) return;
    pending.ttl.set(() => {
      // A TTL beyond the timer limit fires early: wait again for the rest.
      if (Date.now() < expiresAt) expireAt(pending, pending.entry);
      else outbox.fail(tempId, 'ttl_expired', 'ttl expired');
    }, expiresAt - Date.now());
  };

  const send = (pending: Pending) => {
    const { entry } = pending;
    if (!transmit || entry.status !== 'pending') return;
    pending.ack.set(() => {
      if (pending.sent > maxRetries) {
        outbox.fail(entry.tempId, 'ack_timeout', `no ack after ${pending.sent} sends`);
      } else {
        ackTimedOut();
        send(pending);
      }
    }, ackTimeoutMs);
    pending.sent++;
    transmit('message_send', { line_user_id: entry.conversationId, message: entry.message, temp_id: entry.tempId });
  };

  const persist = () => {
    if (!storage || saveQueued) return;
    saveQueued = true;
    void outbox.restore().then(() => {
      saveQueued = false;
      // Storage is best effort (quota, private mode): the messages are still in memory.
      try {
        void Promise.resolve(storage.save(entries())).catch(noop);
      } catch {
        // a storage that throws synchronously: same as above
      }
    }, noop);
  };

  const outbox: Outbox = {
    restore: () =>
      (restored ??= (async () => {
        const stored = (await storage?.load()) ?? [];
        const loaded = new Map<string, Pending>();
        for (const entry of stored) {
          if (typeof entry?.tempId !== 'string' || typeof entry.message !== 'object' || records.has(entry.tempId)) continue;
          // JSON has no Infinity: an unlimited TTL comes back as null.
          loaded.set(entry.tempId, record({ ...entry, expiresAt: entry.expiresAt ?? Infinity }));
        }
        const restoredRecords = [...loaded.values()];
        for (const [tempId, pending] of records) loaded.set(tempId, pending);
        records = loaded;
        for (const pending of restoredRecords) {
          notify(pending.entry, pending.entry.status);
          start(pending);
        }
      })()),

    entries,

    get: (tempId) => records.get(tempId)?.entry,

    add(conversationId, message, tempId) {
      if (records.has(tempId)) throw new LiveChatError('invalid_argument', `duplicate tempId ${tempId}`);
      checkRoom();
      const now = Date.now();
      const pending = record({ tempId, conversationId, message, createdAt: now, expiresAt: now + ttlMs, status: 'pending' });
      records.set(tempId, pending);
      const result = promise(pending);
      update(pending, pending.entry);
      return result;
    },

    addFrame(type, payload) {
      if (transmit) return transmit(type, payload);
      checkRoom();
      frames.push([type, payload]);
    },

    activate() {
      active = true;
      for (const pending of records.values()) start(pending);
    },

    deactivate(error) {
      if (error) for (const { tempId } of entries()) outbox.fail(tempId, error.code, error.message, error);
      active = false;
      outbox.offline();
      for (const pending of records.values()) pending.ttl.clear();
    },

    online(next) {
      transmit = next;
      for (const [type, payload] of frames.splice(0)) next(type, payload);
      for (const pending of records.values()) send(pending);
    },

    offline() {
      transmit = undefined;
      for (const pending of records.values()) {
        pending.ack.clear();
        pending.sent = 0;
      }
    },

    ack(ack) {
      const pending = records.get(ack.tempId);
      if (pending?.entry.conversationId !== ack.conversationId) return;
      remove(pending, 'sent', ack.seq);
      for (const [resolve] of pending.settle) resolve(ack);
    },

    fail(tempId, code, message, cause) {
      const pending = records.get(tempId);
      if (pending?.entry.status !== 'pending') return;
      const settle = pending.settle.splice(0);
      update(pending, { ...pending.entry, status: 'failed', error: { code, message } });
      const error = new DeliveryError(code, message, tempId, cause && { cause });
      for (const [, reject] of settle) reject(error);
    },

    retry(tempId) {
      const pending = records.get(tempId);
      if (!pending) throw new LiveChatError('invalid_argument', `unknown tempId ${tempId}`);
      const result = promise(pending);
      const { error: _error, ...entry } = pending.entry;
      pending.ttl.clear();
      pending.sent = 0;
      update(pending, { ...entry, status: 'pending', expiresAt: Date.now() + ttlMs });
      return result;
    },

    discard(tempId) {
      const pending = records.get(tempId);
      if (!pending) return false;
      remove(pending, 'discarded');
      for (const [, reject] of pending.settle) reject(new DeliveryError('discarded', 'discarded', tempId));
      return true;
    },
  };
  return outbox;
}

function record(entry: OutboxEntry): Pending {
  return { entry, settle: [], sent: 0, ack: createTimer(), ttl: createTimer() };
}

function noop(): void {}
