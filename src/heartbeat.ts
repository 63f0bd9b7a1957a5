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

/** Pings on an interval and declares the connection dead when nothing answers in time; does nothing when turned off. */
export interface Heartbeat {
  start_(): void;
  stop_(): void;
  /** Any inbound frame proves the connection alive. */
  alive_(): void;
  /** Pings now and expects an answer within the timeout (tab became visible, network changed, ack late). */
  check_(): void;
}

export function createHeartbeat(options: HeartbeatOptions | false | undefined, ping: () => void, onDead: () => void): Heartbeat {
  const { intervalMs = 25_000, timeoutMs = 10_000 } = options || {};
  const tick = createTimer();
  const deadline = createTimer();
  let pingedAt = 0;
  const heartbeat: Heartbeat = {
    start_() {
      if (options === false) return;
      tick.set_(() => {
        heartbeat.start_();
        heartbeat.check_();
      }, intervalMs);
    },
    stop_() {
      tick.clear_();
      deadline.clear_();
    },
    alive_: deadline.clear_,
    // Only while started: a stopped (or turned off) heartbeat has no tick pending.
    check_() {
      if (!tick.pending_ || deadline.pending_) return;
      ping();
      pingedAt = Date.now();
      deadline.set_(() => {
        // The timer fired far later than asked: the machine slept (or a background tab was frozen)
        // and the answer may be queued behind this callback. Ask once more instead of dropping a live
        // link. Mere event-loop lag (under a second or so) is no sleep: the link is judged as usual.
        if (Date.now() - pingedAt > timeoutMs + Math.max(timeoutMs, 5_000)) return heartbeat.check_();
        heartbeat.stop_();
        onDead();
      }, timeoutMs);
    },
  };
  return heartbeat;
}
