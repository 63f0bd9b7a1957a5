import { useLiveChatEvent } from '@org/live-chat-client/react';
import { useEffect, useState } from 'react';
import { type ConversationRow, conversations } from '../../shared/api.js';
import { mergeRows, upsertRow } from '../../shared/console.js';

/** The conversations, newest first, with unread counts and the last message, kept live by `conversation_updated`. */
export function ConversationList({
  token,
  selected,
  onSelect,
}: {
  token: string;
  selected: string | undefined;
  onSelect: (id: string) => void;
}) {
  const [rows, setRows] = useState<ConversationRow[]>([]);
  // `conversation_updated` is not replayed: what changed while the socket was down (or before the
  // first connection) is only in the HTTP list, so it is loaded again on every (re)connection.
  const [connections, setConnections] = useState(0);
  useLiveChatEvent('state', ({ current }) => {
    if (current === 'connected') setConnections((count) => count + 1);
  });
  useEffect(() => {
    let cancelled = false;
    conversations(token).then(
      (list) => !cancelled && setRows((current) => mergeRows(current, list)),
      () => undefined,
    );
    return () => {
      cancelled = true;
    };
  }, [token, connections]);
  useLiveChatEvent('conversation_updated', (payload) => {
    const row = payload as unknown as ConversationRow;
    setRows((current) => upsertRow(current, row));
  });
  return (
    <nav className="conversations" data-testid="conversations">
      {rows.length === 0 && <p className="hint">No conversations yet. Run `npm run simulate`.</p>}
      {rows.map((row) => (
        <button
          type="button"
          key={row.line_user_id}
          data-testid="conversation"
          data-id={row.line_user_id}
          className={row.line_user_id === selected ? 'selected' : undefined}
          onClick={() => onSelect(row.line_user_id)}
        >
          <span className="who">{row.display_name ?? row.line_user_id}</span>
          {row.unread_count > 0 && row.line_user_id !== selected && (
            <span className="unread" data-testid="unread">
              {row.unread_count}
            </span>
          )}
          <span className="last">{row.last_message?.message.text ?? ''}</span>
        </button>
      ))}
    </nav>
  );
}
