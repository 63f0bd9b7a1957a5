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
  readonly #active = new Map<string, { sentAt: number; idle: Timer }>();

  constructor(
    options: Required<TypingOptions>,
    send: (type: 'typing_start' | 'typing_stop', conversationId: string) => void,
  ) {
    this.#options = options;
    this.#send = send;
  }

  start(conversationId: string): void {
    const now = Date.now();
    const current = this.#active.get(conversationId);
    if (current) clearTimeout(current.idle);
    const resend = !current || now - current.sentAt >= this.#options.throttleMs;
    const idle = setTimeout(() => this.stop(conversationId), this.#options.idleMs);
    this.#active.set(conversationId, { sentAt: resend ? now : (current?.sentAt ?? now), idle });
    if (resend) this.#send('typing_start', conversationId);
  }

  stop(conversationId: string): void {
    const current = this.#active.get(conversationId);
    if (!current) return;
    clearTimeout(current.idle);
    this.#active.delete(conversationId);
    this.#send('typing_stop', conversationId);
  }

  isTyping(conversationId: string): boolean {
    return this.#active.has(conversationId);
  }

  /** Forgets every typing state without sending anything (the connection is gone; the server clears it). */
  reset(): void {
    for (const { idle } of this.#active.values()) clearTimeout(idle);
    this.#active.clear();
  }
}

/** Remote typers of one conversation, each expiring by itself. */
export class RemoteTyping {
  readonly #timeoutMs: number;
  readonly #onChange: () => void;
  readonly #typers = new Map<string, Timer>();

  constructor(timeoutMs: number, onChange: () => void) {
    this.#timeoutMs = timeoutMs;
    this.#onChange = onChange;
  }

  start(adminId: string): void {
    const had = this.#typers.has(adminId);
    clearTimeout(this.#typers.get(adminId));
    this.#typers.set(
      adminId,
      setTimeout(() => this.stop(adminId), this.#timeoutMs),
    );
    if (!had) this.#onChange();
  }

  stop(adminId: string): void {
    if (!this.#typers.has(adminId)) return;
    clearTimeout(this.#typers.get(adminId));
    this.#typers.delete(adminId);
    this.#onChange();
  }

  clear(): void {
    if (this.#typers.size === 0) return;
    for (const timer of this.#typers.values()) clearTimeout(timer);
    this.#typers.clear();
    this.#onChange();
  }

  list(): string[] {
    return [...this.#typers.keys()];
  }
}
