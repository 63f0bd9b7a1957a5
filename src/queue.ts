import { DeliveryError, LiveChatError, type LiveChatErrorCode } from './errors.js';
import type { MessageContent } from './protocol.js';

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

export const queueDefaults = { maxSize: 500, ackTimeoutMs: 10_000, maxRetries: 3, ttlMs: 600_000 } as const;

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

type Timer = ReturnType<typeof setTimeout>;

interface Pending {
  entry: OutboxEntry;
  settle: { resolve(ack: MessageAck): void; reject(error: LiveChatError): void }[];
  /** Transmissions on the current connection streak; compared with `maxRetries`. */
  sent: number;
  ackTimer?: Timer;
  ttlTimer?: Timer;
}

/** What the outbox tells its owner. */
export interface OutboxHooks {
  /** An entry was added or changed status, or (`removed`) left the outbox: acked or discarded. */
  changed(entry: OutboxEntry, removed: boolean): void;
  /** A message waited `ackTimeoutMs` for its ack: the link may be dead. */
  ackTimedOut(): void;
}

type Transmit = (type: string, payload: unknown) => void;

/**
 * The outbound queue. Operator messages wait here until acked: they are sent in insertion order
 * once the connection is authenticated, re-sent with the same `temp_id` after an ack timeout or a
 * reconnect, and end as acked or `failed`, never silently dropped. Other frames wait here while
 * offline and are flushed first, in order. Lookups by `temp_id` are O(1).
 */
export class Outbox {
  readonly #options: Required<Omit<QueueOptions, 'storage'>>;
  readonly #storage: OutboxStorage | undefined;
  readonly #hooks: OutboxHooks;
  #records = new Map<string, Pending>();
  #frames: [type: string, payload: unknown][] = [];
  #transmit: Transmit | undefined;
  #active = false;
  #saveQueued = false;

  constructor({ storage, ...options }: QueueOptions, hooks: OutboxHooks) {
    this.#options = { ...queueDefaults, ...options };
    this.#storage = storage;
    this.#hooks = hooks;
  }

  /** Loads stored entries ahead of any added since (those were created later). */
  async restore(): Promise<void> {
    const stored = (await this.#storage?.load()) ?? [];
    const records = new Map<string, Pending>();
    for (const entry of stored) {
      if (typeof entry?.tempId === 'string' && typeof entry.message === 'object' && !this.#records.has(entry.tempId)) {
        records.set(entry.tempId, { entry, settle: [], sent: 0 });
      }
    }
    const restored = [...records.values()];
    for (const [tempId, record] of this.#records) records.set(tempId, record);
    this.#records = records;
    for (const record of restored) {
      this.#hooks.changed(record.entry, false);
      this.#start(record);
    }
  }

  entries(): OutboxEntry[] {
    return [...this.#records.values()].map((record) => record.entry);
  }

  get(tempId: string): OutboxEntry | undefined {
    return this.#records.get(tempId)?.entry;
  }

  /** Queues a message; the Promise settles with its ack or its failure. */
  add(conversationId: string, message: MessageContent, tempId: string): Promise<MessageAck> {
    if (this.#records.has(tempId)) throw new LiveChatError('invalid_argument', `duplicate tempId ${tempId}`);
    this.#checkRoom();
    const now = Date.now();
    const record: Pending = {
      entry: { tempId, conversationId, message, createdAt: now, expiresAt: now + this.#options.ttlMs, status: 'pending' },
      settle: [],
      sent: 0,
    };
    this.#records.set(tempId, record);
    const promise = this.#promise(record);
    this.#update(record, record.entry);
    return promise;
  }

  /** Sends a frame now if online, else keeps it until the connection is authenticated. */
  addFrame(type: string, payload: unknown): void {
    if (this.#transmit) return this.#transmit(type, payload);
    this.#checkRoom();
    this.#frames.push([type, payload]);
  }

  /** Starts TTL timers (the client is active) without sending anything yet. */
  activate(): void {
    this.#active = true;
    for (const record of this.#records.values()) this.#start(record);
  }

  /** Stops every timer and sending; entries are kept for the next activation. */
  deactivate(): void {
    this.#active = false;
    this.offline();
    for (const record of this.#records.values()) record.ttlTimer = clear(record.ttlTimer);
  }

  /** The connection is authenticated: flush frames, then (re-)send every pending message in order. */
  online(transmit: Transmit): void {
    this.#transmit = transmit;
    for (const [type, payload] of this.#frames.splice(0)) transmit(type, payload);
    for (const record of this.#records.values()) this.#send(record);
  }

  /** The connection is gone: stop waiting for acks; pending messages go out again on `online`. */
  offline(): void {
    this.#transmit = undefined;
    for (const record of this.#records.values()) {
      record.ackTimer = clear(record.ackTimer);
      record.sent = 0;
    }
  }

  /** Resolves the message acked by `ack`; false if it was not waiting. */
  ack(ack: MessageAck): boolean {
    const record = this.#records.get(ack.tempId);
    if (record?.entry.status !== 'pending') return false;
    this.#remove(record);
    for (const { resolve } of record.settle) resolve(ack);
    return true;
  }

  /** Ends a pending message as failed; it stays (and is stored) until retried or discarded. */
  fail(tempId: string, error: LiveChatError): void {
    const record = this.#records.get(tempId);
    if (record?.entry.status !== 'pending') return;
    const settle = record.settle.splice(0);
    this.#update(record, { ...record.entry, status: 'failed', error: { code: error.code, message: error.message } });
    for (const { reject } of settle) reject(error);
  }

  /** Sends a failed message again, with a fresh TTL and the same `temp_id`. */
  retry(tempId: string): Promise<MessageAck> {
    const record = this.#records.get(tempId);
    if (!record) throw new LiveChatError('invalid_argument', `unknown tempId ${tempId}`);
    const promise = this.#promise(record);
    if (record.entry.status === 'failed') {
      const { error: _error, ...entry } = record.entry;
      this.#update(record, { ...entry, status: 'pending', expiresAt: Date.now() + this.#options.ttlMs });
    }
    return promise;
  }

  /** Removes a message; a pending one rejects with `discarded`. False if there was none. */
  discard(tempId: string): boolean {
    const record = this.#records.get(tempId);
    if (!record) return false;
    this.#remove(record);
    for (const { reject } of record.settle) reject(new DeliveryError('discarded', 'discarded', tempId));
    return true;
  }

  #checkRoom(): void {
    if (this.#records.size + this.#frames.length >= this.#options.maxSize) {
      throw new LiveChatError('queue_full', `outbox full (${this.#options.maxSize})`);
    }
  }

  #promise(record: Pending): Promise<MessageAck> {
    return new Promise((resolve, reject) => record.settle.push({ resolve, reject }));
  }

  /** Stores a new state of the entry, tells the owner, and (if pending) starts its timers and sending. */
  #update(record: Pending, entry: OutboxEntry): void {
    record.entry = entry;
    this.#hooks.changed(entry, false);
    this.#persist();
    this.#start(record);
  }

  #remove(record: Pending): void {
    record.ackTimer = clear(record.ackTimer);
    record.ttlTimer = clear(record.ttlTimer);
    this.#records.delete(record.entry.tempId);
    this.#hooks.changed(record.entry, true);
    this.#persist();
  }

  /** Arms the TTL timer (while active) and sends (while online) a pending message. */
  #start(record: Pending): void {
    const { entry } = record;
    if (entry.status !== 'pending') {
      record.ackTimer = clear(record.ackTimer);
      record.ttlTimer = clear(record.ttlTimer);
      return;
    }
    if (this.#active && !record.ttlTimer) {
      record.ttlTimer = setTimeout(
        () => this.fail(entry.tempId, new DeliveryError('ttl_expired', 'ttl expired', entry.tempId)),
        Math.max(0, entry.expiresAt - Date.now()),
      );
    }
    this.#send(record);
  }

  #send(record: Pending): void {
    const { entry } = record;
    if (!this.#transmit || entry.status !== 'pending') return;
    clear(record.ackTimer);
    record.ackTimer = setTimeout(() => {
      if (record.sent > this.#options.maxRetries) {
        this.fail(entry.tempId, new DeliveryError('ack_timeout', `no ack after ${record.sent} sends`, entry.tempId));
      } else {
        this.#hooks.ackTimedOut();
        this.#send(record);
      }
    }, this.#options.ackTimeoutMs);
    record.sent++;
    this.#transmit('message_send', { line_user_id: entry.conversationId, message: entry.message, temp_id: entry.tempId });
  }

  #persist(): void {
    if (!this.#storage || this.#saveQueued) return;
    this.#saveQueued = true;
    queueMicrotask(() => {
      this.#saveQueued = false;
      // Storage is best effort (quota, private mode): the messages are still in memory.
      try {
        void Promise.resolve(this.#storage?.save(this.entries())).catch(clear);
      } catch {
        // a storage that throws synchronously: same as above
      }
    });
  }
}

function clear(timer: Timer | undefined): undefined {
  clearTimeout(timer);
  return undefined;
}
