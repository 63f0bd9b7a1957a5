/**
 * What the three example consoles share, kept out of .vue/.svelte/.tsx files so that `tsc` checks
 * it once: the session, the client (one per session), and the small pure helpers they render.
 */
import { type ChatMessage, LiveChatClient, localStorageOutbox } from '@org/live-chat-client';
import { type ConversationRow, type Session, socketUrl } from './api.js';

/** Which console: its storage keys are its own, so the consoles can run side by side on one origin. */
export type Flavour = 'react' | 'vue' | 'svelte';

const sessionKey = (flavour: Flavour) => `live-chat-console-${flavour}:session`;

export function loadSession(flavour: Flavour): Session | undefined {
  try {
    return JSON.parse(localStorage.getItem(sessionKey(flavour)) ?? 'null') ?? undefined;
  } catch {
    return undefined;
  }
}

export function saveSession(flavour: Flavour, session: Session | undefined): void {
  if (session) localStorage.setItem(sessionKey(flavour), JSON.stringify(session));
  else localStorage.removeItem(sessionKey(flavour));
}

/** The client of one signed-in operator; its outbox survives a reload under the operator's own key. */
export function createClient(flavour: Flavour, session: Session): LiveChatClient {
  return new LiveChatClient({
    url: socketUrl(),
    token: session.token,
    queue: { storage: localStorageOutbox(`live-chat-console-${flavour}:outbox:${session.adminId}`) },
  });
}

/** A row from `conversation_updated` goes to the top, replacing its old self. */
export function upsertRow(rows: readonly ConversationRow[], row: ConversationRow): ConversationRow[] {
  return [row, ...rows.filter((other) => other.line_user_id !== row.line_user_id)];
}

/**
 * The fetched list, except where a live update already gave a newer row (it may have arrived while
 * the request was in flight), newest first.
 */
export function mergeRows(current: readonly ConversationRow[], fetched: readonly ConversationRow[]): ConversationRow[] {
  const byId = new Map(fetched.map((row) => [row.line_user_id, row]));
  for (const row of current) {
    const other = byId.get(row.line_user_id);
    if (!other || row.last_seq > other.last_seq) byId.set(row.line_user_id, row);
  }
  return [...byId.values()].sort((a, b) => (a.updated_at < b.updated_at ? 1 : a.updated_at > b.updated_at ? -1 : 0));
}

/** Whole seconds until `nextRetryAt` (never negative), or undefined when no retry is scheduled. */
export function secondsUntil(nextRetryAt: number | undefined, now: number): number | undefined {
  return nextRetryAt === undefined ? undefined : Math.max(0, Math.ceil((nextRetryAt - now) / 1000));
}

/** "alice is typing…", "alice, bob are typing…", or '' when nobody is. */
export function typingText(typing: readonly string[]): string {
  if (typing.length === 0) return '';
  return `${typing.join(', ')} ${typing.length > 1 ? 'are' : 'is'} typing…`;
}

/** Who else has this conversation open. */
export function viewersText(operators: readonly string[], me: string): string {
  const others = operators.filter((id) => id !== me);
  return others.length > 0 ? `Also here: ${others.join(', ')}` : 'Only you are here';
}

/** Sent by this operator (a pending message has no adminId yet). */
export function isMine(message: ChatMessage, me: string): boolean {
  return message.sender === 'operator' && (message.adminId === undefined || message.adminId === me);
}

/** The text of a message; other content types show as `[type]`. Rendered as text, never as HTML. */
export function messageText(message: ChatMessage): string {
  return message.content.text ?? `[${message.content.type}]`;
}

/** The seq of the oldest stored message, the cursor for "Load older messages". */
export function oldestSeq(messages: readonly ChatMessage[]): number | undefined {
  return messages.find((message) => message.seq !== undefined)?.seq;
}
