import { DeliveryError, LiveChatError, type LiveChatErrorCode } from './errors.js';
import type { MessageContent } from './protocol.js';
import { createTimer } from './timer.js';

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
  entry_: OutboxEntry;
  /** What `add_` and `retry_` return until the message is acked or fails; none for restored messages. */
  promise_?: Promise<MessageAck> | undefined;
  resolve_?: (ack: MessageAck) => void;
  reject_?: (error: LiveChatError) => void;
  /** Transmissions on the current connection; compared with `maxRetries`. */
  sent_: number;
  /** When the ack of the last transmission is due (epoch ms); 0 while not awaiting one. */
  due_: number;
}

type Transmit = (type: string, payload: unknown) => void;

/** A server's rate limit, as announced in `auth_success`. */
export interface RateLimit {
  per_second?: number;
  burst?: number;
}

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
  restore_(): Promise<void>;
  entries_(): OutboxEntry[];
  /** How many entries are pending and how many failed: kept as they change, so reading is O(1). */
  counts_(): [pending: number, failed: number];
  /** Queues a message; the Promise settles with its ack or its failure. */
  add_(conversationId: string, message: MessageContent, tempId: string): Promise<MessageAck>;
  /** Sends a frame now if online, else keeps it until the connection is authenticated. */
  addFrame_(type: string, payload: unknown): void;
  /** Starts TTL timers (the client is active) without sending anything yet. */
  activate_(): void;
  /**
   * Stops every timer and sending; entries are kept for the next activation. With an `error` (a
   * fatal stop: nothing can be delivered), pending messages fail with it first.
   */
  deactivate_(error: LiveChatError | undefined): void;
  /**
   * With `transmit`, the connection is authenticated: flush frames, then (re-)send every pending
   * message in order, paced under `limit` when the server announced one. Without, it is gone: stop waiting for acks; pending messages go out again later.
   */
  online_(transmit?: Transmit, limit?: RateLimit): void;
  /** Resolves the message acked by `ack` (a late ack also settles a failed one); ignored if unknown. */
  ack_(ack: MessageAck): void;
  /** Ends a pending message as failed; it stays (and is stored) until retried or discarded. */
  fail_(tempId: string, code: LiveChatErrorCode, message: string, cause?: LiveChatError): void;
  /** Sends a message again at once, with a fresh TTL and the same `temp_id` (failed or still pending). */
  retry_(tempId: string): Promise<MessageAck>;
  /** Removes a message; a pending one rejects with `discarded`. False if there was none. */
  discard_(tempId: string): boolean;
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
  let pace: { rate: number; burst: number; tokens: number; at: number } | undefined;
  const pacer = createTimer();
  const deadline = createTimer();
  let timerAt = Infinity;
  /** Failed entries in `records` (the others are pending). */
  let failed = 0;

  const entries = () => [...records.values()].map((pending) => pending.entry_);

  const checkRoom = () => {
    if (records.size + frames.length >= maxSize) throw new LiveChatError('queue_full', `outbox full (${maxSize})`);
  };

  const promise = (pending: Pending) =>
    (pending.promise_ ??= new Promise<MessageAck>((resolve, reject) => {
      pending.resolve_ = resolve;
      pending.reject_ = reject;
    }));

  const notify = ({ tempId, conversationId, error }: OutboxEntry, status: DeliveryUpdate['status'], seq?: number) => {
    // Assigned, not spread: this runs twice per message, and a conditional spread is a slow clone.
    const update: { -readonly [K in keyof DeliveryUpdate]: DeliveryUpdate[K] } = { tempId, conversationId, status };
    if (seq !== undefined) update.seq = seq;
    if (error && status === 'failed') update.error = new DeliveryError(error.code, error.message, tempId);
    changed(update);
  };

  /**
   * One timer for the whole outbox (no timer per message): it is armed for the earliest deadline
   * (an ack due, or a TTL running out while the client is active) and, when it fires, looks at
   * every entry, handles those that are due and arms itself for the next. A deadline later than
   * the armed one (the common case: a newer message) costs nothing.
   */
  const schedule = (at: number) => {
    if (at >= timerAt) return;
    timerAt = at;
    deadline.set_(expire, at - Date.now());
  };

  const expire = () => {
    timerAt = Infinity;
    const now = Date.now();
    for (const pending of records.values()) {
      const { tempId, status, expiresAt } = pending.entry_;
      if (status !== 'pending') continue;
      if (now >= expiresAt) {
        outbox.fail_(tempId, 'ttl_expired', 'ttl expired');
        continue;
      }
      if (pending.due_ && now >= pending.due_) {
        if (pending.sent_ > maxRetries) {
          outbox.fail_(tempId, 'ack_timeout', `no ack after ${pending.sent_} sends`);
          continue;
        }
        ackTimedOut();
        send(pending);
      }
      arm(pending);
    }
  };

  /** Schedules the entry's next deadline: its ack (if sent) and its TTL (while active). */
  const arm = (pending: Pending) => {
    if (active && pending.entry_.status === 'pending') schedule(Math.min(pending.entry_.expiresAt, pending.due_ || Infinity));
  };

  /** Stores a new state of the entry, tells the owner, and (if pending) arms its deadline and sends it. */
  const update = (pending: Pending, entry: OutboxEntry) => {
    failed += +(entry.status === 'failed') - +(pending.entry_.status === 'failed');
    pending.entry_ = entry;
    notify(entry, entry.status);
    persist();
    start(pending);
  };

  const remove = (pending: Pending, status: 'sent' | 'discarded', seq?: number) => {
    records.delete(pending.entry_.tempId);
    failed -= +(pending.entry_.status === 'failed');
    notify(pending.entry_, status, seq);
    persist();
  };

  const start = (pending: Pending) => {
    arm(pending);
    pump(pending);
  };

  /**
   * Sends the pending messages not sent on this connection yet, in order. When the server
   * announced its rate limit, they are paced to half of it (the other half is left for typing,
   * pings and joins), so flushing a large backlog after an outage is never cut off as a flood.
   * With no backlog waiting for the pacer, every other pending message went out already: only
   * `only` is looked at, so a send costs the same however many messages await their ack.
   */
  const pump = (only?: Pending) => {
    for (const pending of only && !pacer.pending_ ? [only] : (pacer.clear_(), records.values())) {
      if (!transmit) return;
      if (pending.entry_.status !== 'pending' || pending.sent_) continue;
      if (pace) {
        // A token bucket: `burst` tokens, refilled at `rate` per millisecond.
        const now = Date.now();
        pace.tokens = Math.min(pace.burst, pace.tokens + (now - pace.at) * pace.rate);
        pace.at = now;
        if (pace.tokens < 1) return pacer.set_(pump, (1 - pace.tokens) / pace.rate);
        pace.tokens--;
      }
      send(pending);
    }
  };

  const send = (pending: Pending) => {
    const { entry_: entry } = pending;
    if (!transmit || entry.status !== 'pending') return;
    pending.due_ = Date.now() + ackTimeoutMs;
    pending.sent_++;
    arm(pending);
    transmit('message_send', { line_user_id: entry.conversationId, message: entry.message, temp_id: entry.tempId });
  };

  const persist = () => {
    if (!storage || saveQueued) return;
    saveQueued = true;
    outbox
      .restore_()
      .then(() => {
        saveQueued = false;
        return storage.save(entries());
      })
      // Storage is best effort (quota, private mode): the messages are still in memory.
      .catch(noop);
  };

  const outbox: Outbox = {
    restore_: () =>
      (restored ??= (async () => {
        const loaded = new Map<string, Pending>();
        for (const entry of (await storage?.load()) ?? []) {
          if (typeof entry?.tempId !== 'string' || typeof entry.message !== 'object' || records.has(entry.tempId)) continue;
          // JSON has no Infinity: an unlimited TTL comes back as null. Anything but `failed` (a
          // status written by hand or by another version) is sent again: the server deduplicates.
          const status = entry.status === 'failed' ? 'failed' : 'pending';
          loaded.set(entry.tempId, record({ ...entry, status, expiresAt: entry.expiresAt ?? Infinity }));
          failed += +(status === 'failed');
        }
        records = new Map([...loaded, ...records]);
        for (const pending of loaded.values()) {
          notify(pending.entry_, pending.entry_.status);
          start(pending);
        }
      })()),

    entries_: entries,

    counts_: () => [records.size - failed, failed],

    add_(conversationId, message, tempId) {
      if (records.has(tempId)) throw new LiveChatError('invalid_argument', `duplicate tempId ${tempId}`);
      checkRoom();
      const now = Date.now();
      const pending = record({ tempId, conversationId, message, createdAt: now, expiresAt: now + ttlMs, status: 'pending' });
      records.set(tempId, pending);
      const result = promise(pending);
      update(pending, pending.entry_);
      return result;
    },

    addFrame_(type, payload) {
      if (transmit) return transmit(type, payload);
      checkRoom();
      frames.push([type, payload]);
    },

    activate_() {
      active = true;
      for (const pending of records.values()) start(pending);
    },

    deactivate_(error) {
      if (error) for (const { tempId } of entries()) outbox.fail_(tempId, error.code, error.message, error);
      active = false;
      outbox.online_();
      deadline.clear_();
      timerAt = Infinity;
    },

    online_(next, limit) {
      transmit = next;
      const { per_second: perSecond = 0, burst = 0 } = limit ?? {};
      pace = next && perSecond > 0 && burst >= 2 ? { rate: perSecond / 2000, burst: burst / 2, tokens: burst / 2, at: Date.now() } : undefined;
      if (next) for (const [type, payload] of frames.splice(0)) next(type, payload);
      for (const pending of records.values()) pending.sent_ = pending.due_ = 0;
      pump();
    },

    ack_(ack) {
      const pending = records.get(ack.tempId);
      if (pending?.entry_.conversationId !== ack.conversationId) return;
      remove(pending, 'sent', ack.seq);
      pending.resolve_?.(ack);
    },

    fail_(tempId, code, message, cause) {
      const pending = records.get(tempId);
      if (pending?.entry_.status !== 'pending') return;
      const { reject_: reject } = pending;
      // A retry waits on a new Promise; a late ack resolves the settled one to no effect.
      pending.promise_ = undefined;
      update(pending, { ...pending.entry_, status: 'failed', error: { code, message } });
      reject?.(new DeliveryError(code, message, tempId, cause && { cause }));
    },

    retry_(tempId) {
      const pending = records.get(tempId);
      if (!pending) throw new LiveChatError('invalid_argument', `unknown tempId ${tempId}`);
      const result = promise(pending);
      const { error: _error, ...entry } = pending.entry_;
      pending.sent_ = pending.due_ = 0;
      update(pending, { ...entry, status: 'pending', expiresAt: Date.now() + ttlMs });
      return result;
    },

    discard_(tempId) {
      const pending = records.get(tempId);
      if (!pending) return false;
      remove(pending, 'discarded');
      pending.reject_?.(new DeliveryError('discarded', 'discarded', tempId));
      return true;
    },
  };
  return outbox;
}

function record(entry: OutboxEntry): Pending {
  return { entry_: entry, sent_: 0, due_: 0 };
}

function noop(): void {}
