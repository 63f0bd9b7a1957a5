import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { type MessageContent, isoNow } from '../../../../src/protocol.js';
import { BackgroundCheckpointer, type CheckpointResult } from './checkpointer.js';
import type { AppendResult, ConversationSummary, HistoryPage, Store, StoredMessage } from './types.js';

interface MessageRow {
  conversation_id: string;
  seq: number;
  sender: 'customer' | 'operator';
  admin_id: string | null;
  temp_id: string | null;
  body: string;
  created_at: string;
}

interface ConversationRow {
  id: string;
  display_name: string | null;
  last_seq: number;
  unread_count: number;
  status: 'waiting' | 'answered';
  updated_at: string;
}

const schema = `
CREATE TABLE IF NOT EXISTS conversations (
  id TEXT PRIMARY KEY,
  display_name TEXT,
  last_seq INTEGER NOT NULL DEFAULT 0,
  unread_count INTEGER NOT NULL DEFAULT 0,
  status TEXT NOT NULL DEFAULT 'waiting',
  updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS messages (
  conversation_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  sender TEXT NOT NULL,
  admin_id TEXT,
  temp_id TEXT,
  external_id TEXT,
  body TEXT NOT NULL,
  created_at TEXT NOT NULL,
  PRIMARY KEY (conversation_id, seq)
) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS messages_operator_dedup ON messages (admin_id, temp_id) WHERE temp_id IS NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS messages_external_dedup ON messages (external_id) WHERE external_id IS NOT NULL;
`;

export interface SqliteStoreOptions {
  /**
   * Committed appends between two checkpoints of the WAL, which a worker thread runs on a
   * connection of its own (see BackgroundCheckpointer); 0 leaves checkpoints to SQLite, inside
   * the commits of the event loop's thread.
   * @default 500
   */
  checkpointEvery?: number;
  /** Called after each background checkpoint (diagnostics, tests). */
  onCheckpoint?: (result: CheckpointResult) => void;
  /** Where a failure of the background checkpointer is reported. */
  log?: (message: string) => void;
}

/**
 * Above this many WAL pages the writer checkpoints by itself, as SQLite does by default at 1000:
 * a backstop for a background checkpointer that cannot keep up (it is normally far below).
 */
const backstopCheckpointPages = 4000;

/**
 * The embedded store: one SQLite file (WAL), seq assigned inside the insert transaction, dedup by
 * unique indexes.
 *
 * Group commit: the appends requested in one turn of the event loop are queued and written in one
 * transaction (one BEGIN IMMEDIATE … COMMIT, so one write to the WAL for all of them), flushed from
 * a microtask. Each caller's promise settles only after that transaction committed, so an ack is
 * never sent for a message that is not stored. Inside the batch each append sees the ones before
 * it (seqs stay consecutive per conversation, a repeated temp_id or LINE id is a duplicate of the
 * first); if the batch throws, it is rolled back whole and every append is retried in a
 * transaction of its own, so each caller gets its own result or its own error.
 */
export class SqliteStore implements Store {
  readonly #db: Database.Database;
  /** Appends in one transaction (BEGIN IMMEDIATE … COMMIT). */
  readonly #write: (inputs: readonly AppendInput[]) => AppendResult[];
  readonly #statements;
  readonly #checkpointer: BackgroundCheckpointer | undefined;
  /** Appends waiting for the next flush (this turn of the event loop). */
  #pending: PendingAppend[] = [];
  /**
   * Each conversation's head (last seq, unread count, status…), so that an append needs no read of
   * it: updated by the appends of a transaction and cleared when one fails (it was rolled back), so
   * that between transactions it holds what is committed. A head made stale by another writer on
   * the same file shows as a taken seq, and is read again. One entry per conversation written to.
   */
  readonly #heads = new Map<string, ConversationHead>();
  /** Heads changed by the transaction under way: written once each at its end (see #writeHeads). */
  readonly #dirty = new Set<ConversationHead>();

  constructor(path: string, options: SqliteStoreOptions = {}) {
    const file = path !== ':memory:';
    if (file) mkdirSync(dirname(path), { recursive: true });
    const db = new Database(path);
    this.#db = db;
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.exec(schema);
    const checkpointEvery = options.checkpointEvery ?? 500;
    if (file && checkpointEvery > 0) {
      db.pragma(`wal_autocheckpoint = ${backstopCheckpointPages}`);
      this.#checkpointer = new BackgroundCheckpointer(path, {
        every: checkpointEvery,
        ...(options.onCheckpoint && { onCheckpoint: options.onCheckpoint }),
        onFailure: (error) => {
          options.log?.(`sqlite: background checkpoints stopped (${error.message}); checkpointing in the commits again`);
          if (db.open) db.pragma('wal_autocheckpoint = 1000');
        },
      });
    }
    this.#statements = {
      byOperator: db.prepare<[string, string], MessageRow>('SELECT * FROM messages WHERE admin_id = ? AND temp_id = ?'),
      byExternal: db.prepare<[string], MessageRow>('SELECT * FROM messages WHERE external_id = ?'),
      conversation: db.prepare<[string], ConversationRow>('SELECT * FROM conversations WHERE id = ?'),
      // Positional parameters: binding by name costs a lookup per parameter, on every append.
      upsertConversation: db.prepare<[string, string | null, number, number, string, string]>(
        `INSERT INTO conversations (id, display_name, last_seq, unread_count, status, updated_at)
         VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET display_name = COALESCE(excluded.display_name, display_name),
           last_seq = excluded.last_seq, unread_count = excluded.unread_count, status = excluded.status,
           updated_at = excluded.updated_at`,
      ),
      insert: db.prepare<[string, number, string, string | null, string | null, string | null, string, string]>(
        `INSERT OR IGNORE INTO messages (conversation_id, seq, sender, admin_id, temp_id, external_id, body, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      after: db.prepare<[string, number, number], MessageRow>(
        'SELECT * FROM messages WHERE conversation_id = ? AND seq > ? ORDER BY seq LIMIT ?',
      ),
      before: db.prepare<[string, number, number], MessageRow>(
        'SELECT * FROM messages WHERE conversation_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?',
      ),
      last: db.prepare<[string, number], MessageRow>('SELECT * FROM messages WHERE conversation_id = ? AND seq = ?'),
      list: db.prepare<[], ConversationRow>('SELECT * FROM conversations ORDER BY updated_at DESC, id'),
    };
    // IMMEDIATE: the write lock is taken at BEGIN, so a writer on another connection waits (busy
    // timeout) instead of failing when its read snapshot turns out to be stale at the first write.
    this.#write = db.transaction((inputs: readonly AppendInput[]) => {
      const results = inputs.map((input) => this.#append(input));
      this.#writeHeads();
      return results;
    }).immediate;
  }

  async appendCustomerMessage(
    conversationId: string,
    message: MessageContent,
    options: { displayName?: string; externalId?: string } = {},
  ): Promise<AppendResult> {
    return this.#enqueue({ conversationId, sender: 'customer', message, ...options });
  }

  async appendOperatorMessage(conversationId: string, adminId: string, tempId: string, message: MessageContent): Promise<AppendResult> {
    return this.#enqueue({ conversationId, sender: 'operator', adminId, tempId, message });
  }

  async messagesAfter(conversationId: string, afterSeq: number, limit: number): Promise<StoredMessage[]> {
    return this.#statements.after.all(conversationId, afterSeq, limit).map(toMessage);
  }

  async history(conversationId: string, { beforeSeq, limit }: { beforeSeq?: number; limit: number }): Promise<HistoryPage> {
    const rows = this.#statements.before.all(conversationId, beforeSeq ?? Number.MAX_SAFE_INTEGER, limit + 1);
    return { messages: rows.slice(0, limit).reverse().map(toMessage), hasMore: rows.length > limit };
  }

  async listConversations(): Promise<ConversationSummary[]> {
    return this.#statements.list.all().map((row) => this.#summary(row));
  }

  async getConversation(conversationId: string): Promise<ConversationSummary | undefined> {
    const row = this.#statements.conversation.get(conversationId);
    return row && this.#summary(row);
  }

  #enqueue(input: AppendInput): Promise<AppendResult> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ input, resolve, reject });
      if (this.#pending.length === 1) queueMicrotask(() => this.#flush());
    });
  }

  /** Commits every queued append in one transaction; settles each caller after the commit. */
  #flush(): void {
    const batch = this.#pending;
    if (batch.length === 0) return;
    this.#pending = [];
    let results: AppendResult[];
    try {
      results = this.#write(batch.map((pending) => pending.input));
    } catch {
      this.#forgetHeads();
      // Rolled back whole: nothing of it is stored. One transaction each, so that one bad append
      // (or a failure that hits them all) reaches its own caller and the others are still stored.
      let committed = 0;
      for (const { input, resolve, reject } of batch) {
        let result: AppendResult;
        try {
          result = this.#write([input])[0]!;
        } catch (error) {
          this.#forgetHeads();
          reject(error);
          continue;
        }
        committed++;
        resolve(result);
      }
      this.#checkpointer?.committed(committed);
      return;
    }
    for (const [index, { resolve }] of batch.entries()) resolve(results[index]!);
    this.#checkpointer?.committed(batch.length);
  }

  /**
   * One append, inside a transaction. One statement in the common case: the insert, whose unique
   * indexes are the dedup check (a retried temp_id or LINE id is ignored, then read back). The
   * conversation's head comes from #heads and is written back once per transaction.
   */
  #append(input: AppendInput): AppendResult {
    const statements = this.#statements;
    const { conversationId, sender, adminId, tempId, externalId } = input;
    const head = this.#head(conversationId);
    const seq = head.lastSeq + 1;
    const createdAt = isoNow();
    const { changes } = statements.insert.run(
      conversationId,
      seq,
      sender,
      adminId ?? null,
      tempId ?? null,
      externalId ?? null,
      JSON.stringify(input.message),
      createdAt,
    );
    if (changes === 0) {
      const existing = tempId ? statements.byOperator.get(adminId ?? '', tempId) : externalId ? statements.byExternal.get(externalId) : undefined;
      // Not a duplicate: the seq was taken, so #heads is stale (another writer on the file). The
      // batch is rolled back, #heads cleared, and each append retried on fresh reads.
      if (!existing) throw new Error(`seq ${seq} of ${conversationId} is taken: the cached head is stale`);
      this.#writeHeads(); // the summary is read from the row
      const row = statements.conversation.get(existing.conversation_id)!;
      return { message: toMessage(existing), duplicate: true, conversation: this.#summary(row) };
    }
    const customer = sender === 'customer';
    const displayName = input.displayName ?? head.displayName;
    const unreadCount = customer ? head.unreadCount + 1 : 0;
    const status = customer ? 'waiting' : 'answered';
    Object.assign(head, { lastSeq: seq, unreadCount, displayName, status, updatedAt: createdAt });
    this.#dirty.add(head);
    // Keys in the order toMessage gives them (the same JSON whichever way a message is read).
    const message: StoredMessage =
      adminId === undefined || tempId === undefined
        ? { conversationId, seq, sender, message: input.message, createdAt }
        : { conversationId, seq, sender, message: input.message, createdAt, adminId, tempId };
    return {
      message,
      duplicate: false,
      conversation: { id: conversationId, displayName, lastMessage: message, lastSeq: seq, unreadCount, status, updatedAt: createdAt },
    };
  }

  /** What an append needs of a conversation: read once, then kept (see #heads). */
  #head(id: string): ConversationHead {
    let head = this.#heads.get(id);
    if (!head) {
      const row = this.#statements.conversation.get(id);
      head = {
        id,
        lastSeq: row?.last_seq ?? 0,
        unreadCount: row?.unread_count ?? 0,
        displayName: row?.display_name ?? undefined,
        status: row?.status ?? 'waiting',
        updatedAt: row?.updated_at ?? '',
      };
      this.#heads.set(id, head);
    }
    return head;
  }

  /** Writes the heads the transaction changed: one upsert per conversation, however many appends. */
  #writeHeads(): void {
    for (const { id, displayName, lastSeq, unreadCount, status, updatedAt } of this.#dirty) {
      this.#statements.upsertConversation.run(id, displayName ?? null, lastSeq, unreadCount, status, updatedAt);
    }
    this.#dirty.clear();
  }

  /** After a rollback: what #heads holds may not be stored. */
  #forgetHeads(): void {
    this.#heads.clear();
    this.#dirty.clear();
  }

  #summary(row: ConversationRow): ConversationSummary {
    const last = this.#statements.last.get(row.id, row.last_seq);
    return {
      id: row.id,
      displayName: row.display_name ?? undefined,
      lastMessage: last && toMessage(last),
      lastSeq: row.last_seq,
      unreadCount: row.unread_count,
      status: row.status,
      updatedAt: row.updated_at,
    };
  }

  async close(): Promise<void> {
    // Appends already asked for are committed (or fail) before the file is closed.
    this.#flush();
    await this.#checkpointer?.close();
    // The last connection to close checkpoints what is left and removes the WAL.
    if (this.#db.open) this.#db.close();
  }
}

interface PendingAppend {
  input: AppendInput;
  resolve(result: AppendResult): void;
  reject(error: unknown): void;
}

interface ConversationHead {
  id: string;
  lastSeq: number;
  unreadCount: number;
  displayName: string | undefined;
  status: ConversationRow['status'];
  updatedAt: string;
}

interface AppendInput {
  conversationId: string;
  sender: 'customer' | 'operator';
  message: MessageContent;
  adminId?: string;
  tempId?: string;
  externalId?: string;
  displayName?: string;
}

function toMessage(row: MessageRow): StoredMessage {
  return {
    conversationId: row.conversation_id,
    seq: row.seq,
    sender: row.sender,
    message: JSON.parse(row.body) as MessageContent,
    createdAt: row.created_at,
    ...(row.admin_id !== null && { adminId: row.admin_id }),
    ...(row.temp_id !== null && { tempId: row.temp_id }),
  };
}
