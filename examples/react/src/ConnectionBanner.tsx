import { useLiveChat } from '@org/live-chat-client/react';
import { useEffect, useState } from 'react';
import { secondsUntil } from '../../shared/console.js';

/** Connected / reconnecting in N s (Retry now) / offline, and the number of queued messages. */
export function ConnectionBanner() {
  const { connectionState, snapshot, connect } = useLiveChat();
  const now = useNow(snapshot.nextRetryAt !== undefined);
  const seconds = secondsUntil(snapshot.nextRetryAt, now);
  const queued = snapshot.pendingCount;
  return (
    <div className={`banner ${connectionState}`} data-testid="connection" data-state={connectionState}>
      {connectionState === 'connected' && 'Connected'}
      {connectionState === 'connecting' && 'Connecting…'}
      {connectionState === 'reconnecting' && (
        <>
          {seconds === undefined ? 'Reconnecting…' : `Reconnecting in ${seconds} s`}{' '}
          <button type="button" data-testid="retry-now" onClick={connect}>
            Retry now
          </button>
        </>
      )}
      {connectionState === 'disconnected' && (
        <>
          Offline{snapshot.lastError ? `: ${snapshot.lastError.message}` : ''}{' '}
          <button type="button" onClick={connect}>
            Reconnect
          </button>
        </>
      )}
      {queued > 0 && (
        <span className="queued" data-testid="queued">
          {queued} queued
        </span>
      )}
    </div>
  );
}

/** The current time, refreshed every second while `ticking`. */
function useNow(ticking: boolean): number {
  const [now, setNow] = useState(Date.now);
  useEffect(() => {
    if (!ticking) return;
    setNow(Date.now());
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [ticking]);
  return now;
}
