/** Options of the typing indicator. */
export interface TypingOptions {
  /**
   * `startTyping` sends at most one `typing_start` per conversation in this window, however often
   * it is called (call it on every keystroke). It is re-sent after the window while typing goes on,
   * so a server that expires typing keeps showing it.
   * @default 3000
   */
  throttleMs?: number;
  /**
   * Typing stops by itself (a `typing_stop` is sent) after this long without a `startTyping` call.
   * @default 5000
   */
  idleMs?: number;
  /**
   * Another operator's typing indicator is cleared after this long without a new `typing_started`,
   * in case their `typing_stopped` never arrives.
   * @default 8000
   */
  remoteTimeoutMs?: number;
}

/** The local operator's typing state per conversation: throttles starts, stops by itself when idle. */
export interface LocalTyping {
  start_(conversationId: string): void;
  stop_(conversationId: string): void;
  /** Forgets every typing state without sending anything (the connection is gone; the server clears it). */
  reset_(): void;
}

export function createLocalTyping(
  { throttleMs = 3000, idleMs = 5000 }: TypingOptions = {},
  send: (type: 'typing_start' | 'typing_stop', conversationId: string) => void,
): LocalTyping {
  /** Conversation id → [time the last typing_start went out, idle timer]. */
  const active = new Map<string, [sentAt: number, idle: ReturnType<typeof setTimeout>]>();
  const typing: LocalTyping = {
    start_(conversationId) {
      const [sentAt = -Infinity, idle] = active.get(conversationId) ?? [];
      clearTimeout(idle);
      const now = Date.now();
      const resend = now - sentAt >= throttleMs;
      active.set(conversationId, [resend ? now : sentAt, setTimeout(() => typing.stop_(conversationId), idleMs)]);
      if (resend) send('typing_start', conversationId);
    },
    stop_(conversationId) {
      const current = active.get(conversationId);
      if (!current) return;
      clearTimeout(current[1]);
      active.delete(conversationId);
      send('typing_stop', conversationId);
    },
    reset_() {
      for (const [, idle] of active.values()) clearTimeout(idle);
      active.clear();
    },
  };
  return typing;
}
