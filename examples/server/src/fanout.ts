import { encodeConversation } from './protocol.js';
import type { ConversationSummary } from './store/types.js';

/** An event for operators: to one conversation's room, or to every operator. Encoded once. */
export interface Broadcast {
  /** The conversation whose room receives it; absent: every authenticated connection. */
  room?: string;
  frame: string;
  /** The connection that caused it, which must not get it back (typing is never echoed). */
  except?: string;
}

/**
 * Carries broadcasts to every server process: in one process it is a direct call; with Redis it
 * is pub/sub, so operators on different processes see each other.
 */
export interface Bus {
  publish(broadcast: Broadcast): Promise<void>;
  /**
   * A conversation's new summary after an append, for `conversation_updated` to every operator:
   * once per conversation and turn of the event loop, with the newest summary (a burst into one
   * conversation announces only its last message).
   */
  announce(conversation: ConversationSummary): void;
  subscribe(deliver: (broadcast: Broadcast) => void): void;
  close(): Promise<void>;
}

/** Who is present in each room, across every process. */
export interface Presence {
  /** Adds a connection; resolves with the operators now present (distinct admin ids). */
  join(room: string, connectionId: string, adminId: string): Promise<string[]>;
  /** Removes a connection; resolves with the operators still present. */
  leave(room: string, connectionId: string): Promise<string[]>;
  close(): Promise<void>;
}

export class LocalBus implements Bus {
  #deliver: ((broadcast: Broadcast) => void) | undefined;
  readonly announce = newestPerTurn((conversation) => this.#deliver?.({ frame: encodeConversation(conversation) }));

  async publish(broadcast: Broadcast): Promise<void> {
    this.#deliver?.(broadcast);
  }

  subscribe(deliver: (broadcast: Broadcast) => void): void {
    this.#deliver = deliver;
  }

  async close(): Promise<void> {
    this.#deliver = undefined;
  }
}

export class LocalPresence implements Presence {
  readonly #rooms = new Map<string, Map<string, string>>();

  async join(room: string, connectionId: string, adminId: string): Promise<string[]> {
    let members = this.#rooms.get(room);
    if (!members) this.#rooms.set(room, (members = new Map()));
    members.set(connectionId, adminId);
    return distinct(members.values());
  }

  async leave(room: string, connectionId: string): Promise<string[]> {
    const members = this.#rooms.get(room);
    members?.delete(connectionId);
    if (members?.size === 0) this.#rooms.delete(room);
    return distinct(members?.values() ?? []);
  }

  async close(): Promise<void> {
    this.#rooms.clear();
  }
}

export function distinct(ids: Iterable<string>): string[] {
  return [...new Set(ids)].sort();
}

/**
 * Collects conversation summaries during one turn of the event loop and hands on the newest of
 * each conversation (by `lastSeq`) at its end.
 */
export function newestPerTurn(handOn: (conversation: ConversationSummary) => void): (conversation: ConversationSummary) => void {
  const waiting = new Map<string, ConversationSummary>();
  return (conversation) => {
    const queued = waiting.get(conversation.id);
    if (queued && queued.lastSeq > conversation.lastSeq) return;
    if (waiting.size === 0) {
      setImmediate(() => {
        const newest = [...waiting.values()];
        waiting.clear();
        for (const summary of newest) handOn(summary);
      });
    }
    waiting.set(conversation.id, conversation);
  };
}
