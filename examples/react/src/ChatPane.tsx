import type { ChatMessage } from '@org/live-chat-client';
import { useConversation } from '@org/live-chat-client/react';
import { useEffect, useRef, useState } from 'react';
import { type Session, history } from '../../shared/api.js';
import { isMine, messageText, oldestSeq, typingText, viewersText } from '../../shared/console.js';

/** One conversation: history paged by seq, live messages, pending/sent/failed, typing, viewers, composer. */
export function ChatPane({ conversationId, session }: { conversationId: string; session: Session }) {
  const conversation = useConversation(conversationId);
  const [hasMore, setHasMore] = useState(false);
  const [draft, setDraft] = useState('');
  const { addHistory, resyncRequired } = conversation;

  // The newest page on open, and again whenever the server could not replay a gap.
  useEffect(() => {
    let cancelled = false;
    history(session.token, conversationId).then((page) => {
      if (cancelled) return;
      addHistory(page.messages);
      setHasMore(page.hasMore);
    }, () => undefined);
    return () => {
      cancelled = true;
    };
  }, [session.token, conversationId, addHistory, resyncRequired]);

  const bottom = useRef<HTMLDivElement>(null);
  useEffect(() => {
    // Braces: newer browsers return a Promise from scrollIntoView, which must not become the cleanup.
    void bottom.current?.scrollIntoView?.({ block: 'end' });
  }, [conversation.messages.length]);

  const oldest = oldestSeq(conversation.messages);
  return (
    <main className="chat" data-testid="chat" data-id={conversationId}>
      <div className="viewers" data-testid="viewers">
        {viewersText(conversation.operators, session.adminId)}
      </div>
      <div className="messages">
        {hasMore && oldest !== undefined && (
          <button
            type="button"
            className="older"
            onClick={() =>
              history(session.token, conversationId, oldest).then((page) => {
                addHistory(page.messages);
                setHasMore(page.hasMore);
              })
            }
          >
            Load older messages
          </button>
        )}
        {conversation.messages.map((message) => (
          <Message
            key={message.key}
            message={message}
            mine={isMine(message, session.adminId)}
            onRetry={() => void conversation.retryMessage(message.tempId!).catch(() => undefined)}
            onDiscard={() => conversation.discardMessage(message.tempId!)}
          />
        ))}
        <div ref={bottom} />
      </div>
      <div className="typing" data-testid="typing">
        {typingText(conversation.typing)}
      </div>
      <form
        className="composer"
        onSubmit={(event) => {
          event.preventDefault();
          const text = draft.trim();
          if (!text) return;
          setDraft('');
          // Failures stay in the pane as `failed` with Retry/Discard; nothing to do here.
          conversation.sendMessage(text).catch(() => undefined);
        }}
      >
        <textarea
          data-testid="composer"
          value={draft}
          placeholder="Reply…"
          onChange={(event) => {
            setDraft(event.target.value);
            if (event.target.value) conversation.startTyping();
          }}
          onKeyDown={(event) => {
            // Not while an input method is composing (Japanese and other IME input).
            if (event.key === 'Enter' && !event.shiftKey && !event.nativeEvent.isComposing) {
              event.preventDefault();
              event.currentTarget.form?.requestSubmit();
            }
          }}
        />
        <button type="submit" data-testid="send">
          Send
        </button>
      </form>
    </main>
  );
}

function Message({ message, mine, onRetry, onDiscard }: { message: ChatMessage; mine: boolean; onRetry: () => void; onDiscard: () => void }) {
  return (
    <div
      className={`message ${message.sender} ${mine ? 'mine' : ''} ${message.status}`}
      data-testid="message"
      data-status={message.status}
      data-seq={message.seq ?? ''}
      data-sender={message.sender}
    >
      {message.sender === 'operator' && !mine && <span className="author">{message.adminId}</span>}
      {/* Text is rendered as text: React escapes it, so customer HTML never becomes markup. */}
      <span className="text" data-testid="message-text">
        {messageText(message)}
      </span>
      <span className="status">
        {message.status === 'pending' && 'sending…'}
        {message.status === 'failed' && (
          <>
            failed{message.error ? ` (${message.error.code})` : ''}{' '}
            <button type="button" data-testid="retry" onClick={onRetry}>
              Retry
            </button>
            <button type="button" data-testid="discard" onClick={onDiscard}>
              Discard
            </button>
          </>
        )}
      </span>
    </div>
  );
}
