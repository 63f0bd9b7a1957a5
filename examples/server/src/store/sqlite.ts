import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { MessageContent } from '../../../../src/protocol.js';
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

/**
 * The embedded store: one SQLite file (WAL), seq assigned inside the insert transaction, dedup by
 * unique indexes. better-sqlite3 is synchronous, so each append is atomic within the process.
 */
export class SqliteStore implements Store {
  readonly #db: Database.Database;
  readonly #append: (input: AppendInput) => AppendResult;
  readonly #statements;

  constructor(path: string) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.#db = new Database(path);
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma('synchronous = NORMAL');
    this.#db.exec(schema);
    const db = this.#db;
    this.#statements = {
      byOperator: db.prepare<[string, string], MessageRow>('SELECT * FROM messages WHERE admin_id = ? AND temp_id = ?'),
      byExternal: db.prepare<[string], MessageRow>('SELECT * FROM messages WHERE external_id = ?'),
      conversation: db.prepare<[string], ConversationRow>('SELECT * FROM conversations WHERE id = ?'),
      upsertConversation: db.prepare(
        `INSERT INTO conversations (id, display_name, last_seq, unread_count, status, updated_at)
         VALUES (@id, @display_name, @last_seq, @unread_count, @status, @updated_at)
         ON CONFLICT (id) DO UPDATE SET display_name = COALESCE(excluded.display_name, display_name),
           last_seq = excluded.last_seq, unread_count = excluded.unread_count, status = excluded.status,
           updated_at = excluded.updated_at`,
      ),
      insert: db.prepare(
        `INSERT INTO messages (conversation_id, seq, sender, admin_id, temp_id, external_id, body, created_at)
         VALUES (@conversation_id, @seq, @sender, @admin_id, @temp_id, @external_id, @body, @created_at)`,
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
    this.#append = db.transaction((input: AppendInput): AppendResult => {
      const existing = input.tempId
        ? this.#statements.byOperator.get(input.adminId ?? '', input.tempId)
        : input.externalId
          ? this.#statements.byExternal.get(input.externalId)
          : undefined;
      if (existing) return { message: toMessage(existing), duplicate: true };
      const conversation = this.#statements.conversation.get(input.conversationId);
      const seq = (conversation?.last_seq ?? 0) + 1;
      const createdAt = new Date().toISOString();
      const customer = input.sender === 'customer';
      this.#statements.insert.run({
        conversation_id: input.conversationId,
        seq,
        sender: input.sender,
        admin_id: input.adminId ?? null,
        temp_id: input.tempId ?? null,
        external_id: input.externalId ?? null,
        body: JSON.stringify(input.message),
        created_at: createdAt,
      });
      this.#statements.upsertConversation.run({
        id: input.conversationId,
        display_name: input.displayName ?? null,
        last_seq: seq,
        unread_count: customer ? (conversation?.unread_count ?? 0) + 1 : 0,
        status: customer ? 'waiting' : 'answered',
        updated_at: createdAt,
      });
      const message: StoredMessage = {
        conversationId: input.conversationId,
        seq,
        sender: input.sender,
        message: input.message,
        createdAt,
        ...(input.adminId !== undefined && { adminId: input.adminId }),
        ...(input.tempId !== undefined && { tempId: input.tempId }),
      };
      return { message, duplicate: false };
    });
  }

  async appendCustomerMessage(
    conversationId: string,
    message: MessageContent,
    options: { displayName?: string; externalId?: string } = {},
  ): Promise<AppendResult> {
    return this.#append({ conversationId, sender: 'customer', message, ...options });
  }

  async appendOperatorMessage(conversationId: string, adminId: string, tempId: string, message: MessageContent): Promise<AppendResult> {
    return this.#append({ conversationId, sender: 'operator', adminId, tempId, message });
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
    if (this.#db.open) this.#db.close();
  }
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
