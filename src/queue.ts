import { DeliveryError, LiveChatError, type LiveChatErrorCode } from './errors.js';
import type { MessageContent } from './protocol.js';
import { Timer } from './timer.js';

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

interface Pending {
  entry: OutboxEntry;
  settle: { resolve(ack: MessageAck): void; reject(error: LiveChatError): void }[];
  /** Transmissions on the current connection; compared with `maxRetries`. */
  sent: number;
  ack: Timer;
  ttl: Timer;
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
  #restored: Promise<void> | undefined;
  #saveQueued = false;

  constructor({ storage, ...options }: QueueOptions, hooks: OutboxHooks) {
    this.#options = { ...queueDefaults, ...options };
    this.#storage = storage;
    this.#hooks = hooks;
  }

  /**
   * Loads the stored entries once, ahead of any added since (those were created later). Every
   * save waits for it, so a message written before the load never overwrites the stored ones.
   */
  restore(): Promise<void> {
    return (this.#restored ??= (async () => {
      const stored = (await this.#storage?.load()) ?? [];
      const records = new Map<string, Pending>();
      for (const entry of stored) {
        if (typeof entry?.tempId !== 'string' || typeof entry.message !== 'object' || this.#records.has(entry.tempId)) continue;
        // JSON has no Infinity: an unlimited TTL comes back as null.
        records.set(entry.tempId, record({ ...entry, expiresAt: entry.expiresAt ?? Infinity }));
      }
      const restored = [...records.values()];
      for (const [tempId, pending] of this.#records) records.set(tempId, pending);
      this.#records = records;
      for (const pending of restored) {
        this.#hooks.changed(pending.entry, false);
        this.#start(pending);
      }
    })());
  }

  entries(): OutboxEntry[] {
    return [...this.#records.values()].map((pending) => pending.entry);
  }

  get(tempId: string): OutboxEntry | undefined {
    return this.#records.get(tempId)?.entry;
  }

  /** Queues a message; the Promise settles with its ack or its failure. */
  add(conversationId: string, message: MessageContent, tempId: string): Promise<MessageAck> {
    if (this.#records.has(tempId)) throw new LiveChatError('invalid_argument', `duplicate tempId ${tempId}`);
    this.#checkRoom();
    const now = Date.now();
    const pending = record({ tempId, conversationId, message, createdAt: now, expiresAt: now + this.#options.ttlMs, status: 'pending' });
    this.#records.set(tempId, pending);
    const promise = this.#promise(pending);
    this.#update(pending, pending.entry);
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
    for (const pending of this.#records.values()) this.#start(pending);
  }

  /** Stops every timer and sending; entries are kept for the next activation. */
  deactivate(): void {
    this.#active = false;
    this.offline();
    for (const pending of this.#records.values()) pending.ttl.clear();
  }

  /** The connection is authenticated: flush frames, then (re-)send every pending message in order. */
  online(transmit: Transmit): void {
    this.#transmit = transmit;
    for (const [type, payload] of this.#frames.splice(0)) transmit(type, payload);
    for (const pending of this.#records.values()) this.#send(pending);
  }

  /** The connection is gone: stop waiting for acks; pending messages go out again on `online`. */
  offline(): void {
    this.#transmit = undefined;
    for (const pending of this.#records.values()) {
      pending.ack.clear();
      pending.sent = 0;
    }
  }

  /** Resolves the message acked by `ack` (a late ack also settles a failed one); false if unknown. */
  ack(ack: MessageAck): boolean {
    const pending = this.#records.get(ack.tempId);
    if (!pending) return false;
    this.#remove(pending);
    for (const { resolve } of pending.settle) resolve(ack);
    return true;
  }

  /** Ends a pending message as failed; it stays (and is stored) until retried or discarded. */
  fail(tempId: string, error: LiveChatError): void {
    const pending = this.#records.get(tempId);
    if (pending?.entry.status !== 'pending') return;
    const settle = pending.settle.splice(0);
    this.#update(pending, { ...pending.entry, status: 'failed', error: { code: error.code, message: error.message } });
    for (const { reject } of settle) reject(error);
  }

  /** Sends a message again at once, with a fresh TTL and the same `temp_id` (failed or still pending). */
  retry(tempId: string): Promise<MessageAck> {
    const pending = this.#records.get(tempId);
    if (!pending) throw new LiveChatError('invalid_argument', `unknown tempId ${tempId}`);
    const promise = this.#promise(pending);
    const { error: _error, ...entry } = pending.entry;
    pending.ttl.clear();
    pending.sent = 0;
    this.#update(pending, { ...entry, status: 'pending', expiresAt: Date.now() + this.#options.ttlMs });
    return promise;
  }

  /** Removes a message; a pending one rejects with `discarded`. False if there was none. */
  discard(tempId: string): boolean {
    const pending = this.#records.get(tempId);
    if (!pending) return false;
    this.#remove(pending);
    for (const { reject } of pending.settle) reject(new DeliveryError('discarded', 'discarded', tempId));
    return true;
  }

  #checkRoom(): void {
    if (this.#records.size + this.#frames.length >= this.#options.maxSize) {
      throw new LiveChatError('queue_full', `outbox full (${this.#options.maxSize})`);
    }
  }

  #promise(pending: Pending): Promise<MessageAck> {
    return new Promise((resolve, reject) => pending.settle.push({ resolve, reject }));
  }

  /** Stores a new state of the entry, tells the owner, and (if pending) starts its timers and sending. */
  #update(pending: Pending, entry: OutboxEntry): void {
    pending.entry = entry;
    this.#hooks.changed(entry, false);
    this.#persist();
    this.#start(pending);
  }

  #remove(pending: Pending): void {
    pending.ack.clear();
    pending.ttl.clear();
    this.#records.delete(pending.entry.tempId);
    this.#hooks.changed(pending.entry, true);
    this.#persist();
  }

  /** Arms the TTL timer (while active) and sends (while online) a pending message. */
  #start(pending: Pending): void {
    const { entry } = pending;
    if (entry.status !== 'pending') {
      pending.ack.clear();
      pending.ttl.clear();
      return;
    }
    if (this.#active && !pending.ttl.pending) this.#expireAt(pending, entry);
    this.#send(pending);
  }

  #expireAt(pending: Pending, entry: OutboxEntry): void {
    if (entry.expiresAt === Infinity) return;
    pending.ttl.set(() => {
      // A TTL beyond the timer limit fires early: wait again for the rest.
      if (Date.now() < entry.expiresAt) this.#expireAt(pending, entry);
      else this.fail(entry.tempId, new DeliveryError('ttl_expired', 'ttl expired', entry.tempId));
    }, entry.expiresAt - Date.now());
  }

  #send(pending: Pending): void {
    const { entry } = pending;
    if (!this.#transmit || entry.status !== 'pending') return;
    pending.ack.set(() => {
      if (pending.sent > this.#options.maxRetries) {
        this.fail(entry.tempId, new DeliveryError('ack_timeout', `no ack after ${pending.sent} sends`, entry.tempId));
      } else {
        this.#hooks.ackTimedOut();
        this.#send(pending);
      }
    }, this.#options.ackTimeoutMs);
    pending.sent++;
    this.#transmit('message_send', { line_user_id: entry.conversationId, message: entry.message, temp_id: entry.tempId });
  }

  #persist(): void {
    if (!this.#storage || this.#saveQueued) return;
    this.#saveQueued = true;
    void this.restore().then(() => {
      this.#saveQueued = false;
      // Storage is best effort (quota, private mode): the messages are still in memory.
      try {
        void Promise.resolve(this.#storage?.save(this.entries())).catch(noop);
      } catch {
        // a storage that throws synchronously: same as above
      }
    }, noop);
  }
}

function record(entry: OutboxEntry): Pending {
  return { entry, settle: [], sent: 0, ack: new Timer(), ttl: new Timer() };
}

function noop(): void {}
