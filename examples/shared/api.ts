/** The reference server's HTTP API, as the console uses it. */
import type { HistoryMessage, MessageContent } from '@org/live-chat-client';

export interface Session {
  token: string;
  adminId: string;
  name: string;
}

export interface ConversationRow {
  line_user_id: string;
  display_name?: string;
  last_seq: number;
  unread_count: number;
  status: 'waiting' | 'answered';
  updated_at: string;
  last_message?: WireMessage;
}

export interface WireMessage {
  seq: number;
  sender: 'customer' | 'operator';
  admin_id?: string;
  temp_id?: string;
  message: MessageContent;
  timestamp: string;
}

/** The WebSocket URL of the server that served this page (ws: or wss: as the page). */
export function socketUrl(): string {
  const { protocol, host } = window.location;
  return `${protocol === 'https:' ? 'wss:' : 'ws:'}//${host}/api/v1/ws/live-chat`;
}

export async function signIn(name: string): Promise<Session> {
  const response = await fetch('/api/v1/dev/token', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name }),
  });
  if (!response.ok) throw new Error(`sign-in failed (${response.status})`);
  const body = (await response.json()) as { token: string; admin_id: string; name: string };
  return { token: body.token, adminId: body.admin_id, name: body.name };
}

async function get<T>(path: string, token: string): Promise<T> {
  const response = await fetch(path, { headers: { authorization: `Bearer ${token}` } });
  if (!response.ok) throw new Error(`${path}: ${response.status}`);
  return (await response.json()) as T;
}

export async function conversations(token: string): Promise<ConversationRow[]> {
  return (await get<{ conversations: ConversationRow[] }>('/api/v1/conversations', token)).conversations;
}

export async function history(
  token: string,
  conversationId: string,
  beforeSeq?: number,
): Promise<{ messages: HistoryMessage[]; hasMore: boolean }> {
  const query = new URLSearchParams({ limit: '30' });
  if (beforeSeq !== undefined) query.set('before_seq', String(beforeSeq));
  const page = await get<{ messages: WireMessage[]; has_more: boolean }>(
    `/api/v1/conversations/${encodeURIComponent(conversationId)}/messages?${query}`,
    token,
  );
  return { messages: page.messages.map(toHistory), hasMore: page.has_more };
}

export function toHistory(message: WireMessage): HistoryMessage {
  return {
    seq: message.seq,
    sender: message.sender,
    adminId: message.admin_id,
    tempId: message.temp_id,
    content: message.message,
    timestamp: message.timestamp,
  };
}
