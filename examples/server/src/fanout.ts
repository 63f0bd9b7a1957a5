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
