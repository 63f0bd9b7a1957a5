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

export const typingDefaults = { throttleMs: 3000, idleMs: 5000, remoteTimeoutMs: 8000 } as const;

type Timer = ReturnType<typeof setTimeout>;

/** The local operator's typing state per conversation: throttles starts, stops by itself when idle. */
export class LocalTyping {
  readonly #options: Required<TypingOptions>;
  readonly #send: (type: 'typing_start' | 'typing_stop', conversationId: string) => void;
  /** Conversation id → [time the last typing_start went out, idle timer]. */
  readonly #active = new Map<string, [sentAt: number, idle: Timer]>();

  constructor(
    options: Required<TypingOptions>,
    send: (type: 'typing_start' | 'typing_stop', conversationId: string) => void,
  ) {
    this.#options = options;
    this.#send = send;
  }

  start(conversationId: string): void {
    const [sentAt = -Infinity, idle] = this.#active.get(conversationId) ?? [];
    clearTimeout(idle);
    const now = Date.now();
    const resend = now - sentAt >= this.#options.throttleMs;
    this.#active.set(conversationId, [
      resend ? now : sentAt,
      setTimeout(() => this.stop(conversationId), this.#options.idleMs),
    ]);
    if (resend) this.#send('typing_start', conversationId);
  }

  stop(conversationId: string): void {
    const current = this.#active.get(conversationId);
    if (!current) return;
    clearTimeout(current[1]);
    this.#active.delete(conversationId);
    this.#send('typing_stop', conversationId);
  }

  /** Forgets every typing state without sending anything (the connection is gone; the server clears it). */
  reset(): void {
    for (const [, idle] of this.#active.values()) clearTimeout(idle);
    this.#active.clear();
  }
}
