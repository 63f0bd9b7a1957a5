import { LiveChatProvider } from '@org/live-chat-client/react';
import { useEffect, useMemo, useState } from 'react';
import { type Session, signIn } from '../../shared/api.js';
import { createClient, loadSession, saveSession } from '../../shared/console.js';
import { ConnectionBanner } from './ConnectionBanner.js';
import { ConversationList } from './ConversationList.js';
import { ChatPane } from './ChatPane.js';

export function App() {
  const [session, setSession] = useState<Session | undefined>(() => loadSession('react'));
  if (!session) {
    return (
      <SignIn
        onSignedIn={(next) => {
          saveSession('react', next);
          setSession(next);
        }}
      />
    );
  }
  return (
    <Console
      session={session}
      onSignOut={() => {
        saveSession('react', undefined);
        setSession(undefined);
      }}
    />
  );
}

function SignIn({ onSignedIn }: { onSignedIn: (session: Session) => void }) {
  const [name, setName] = useState('');
  const [error, setError] = useState<string>();
  return (
    <form
      className="sign-in"
      data-testid="sign-in"
      onSubmit={(event) => {
        event.preventDefault();
        signIn(name).then(onSignedIn, (reason: Error) => setError(reason.message));
      }}
    >
      <h1>Live chat console</h1>
      <label>
        Operator name <input name="operator" value={name} onChange={(event) => setName(event.target.value)} required autoFocus />
      </label>
      <button type="submit">Sign in</button>
      {error && <p className="error">{error}</p>}
    </form>
  );
}

function Console({ session, onSignOut }: { session: Session; onSignOut: () => void }) {
  // One client per signed-in operator; its outbox survives a reload under the operator's own key.
  // One client per signed-in operator; its outbox survives a reload under the operator's own key.
  const client = useMemo(() => createClient('react', session), [session]);
  useEffect(() => {
    client.connect();
    return () => client.disconnect();
  }, [client]);
  const [selected, setSelected] = useState<string>();
  return (
    <LiveChatProvider client={client}>
      <div className="console">
        <header>
          <strong>Live chat</strong>
          <ConnectionBanner />
          <span className="me" data-testid="me">
            {session.name}
          </span>
          <button type="button" onClick={onSignOut}>
            Sign out
          </button>
        </header>
        <ConversationList token={session.token} selected={selected} onSelect={setSelected} />
        {selected ? (
          <ChatPane key={selected} conversationId={selected} session={session} />
        ) : (
          <main className="empty">Pick a conversation</main>
        )}
      </div>
    </LiveChatProvider>
  );
}
