import { createTimer } from './timer.js';

/** Options of the heartbeat; pass `heartbeat: false` to the client to turn it off. */
export interface HeartbeatOptions {
  /**
   * Send a `ping` this long after the last one.
   * @default 25000
   */
  intervalMs?: number;
  /**
   * Declare the connection dead when no frame at all (pong or other) arrives this long after a ping.
   * Browsers cannot see a half-open TCP connection; this is how the client notices one.
   * @default 10000
   */
  timeoutMs?: number;
}

/** Pings on an interval and declares the connection dead when nothing answers in time. */
export interface Heartbeat {
  start(): void;
  stop(): void;
  /** Any inbound frame proves the connection alive. */
  alive(): void;
  /** Pings now and expects an answer within the timeout (tab became visible, network changed, ack late). */
  check(): void;
}

export function createHeartbeat(
  { intervalMs = 25_000, timeoutMs = 10_000 }: HeartbeatOptions = {},
  ping: () => void,
  onDead: () => void,
): Heartbeat {
  const tick = createTimer();
  const deadline = createTimer();
  let pingedAt = 0;
  const heartbeat: Heartbeat = {
    start() {
      tick.set(() => {
        heartbeat.start();
        heartbeat.check();
      }, intervalMs);
    },
    stop() {
      tick.clear();
      deadline.clear();
    },
    alive: deadline.clear,
    check() {
      if (!tick.pending || deadline.pending) return;
      ping();
      pingedAt = Date.now();
      deadline.set(() => {
        // The timer fired far later than asked: the machine slept (or a background tab was frozen)
        // and the answer may be queued behind this callback. Ask once more instead of dropping a live link.
        if (Date.now() - pingedAt > 2 * timeoutMs) return heartbeat.check();
        heartbeat.stop();
        onDead();
      }, timeoutMs);
    },
  };
  return heartbeat;
}
