/**
 * Makes default `temp_id`s in the UUIDv7 layout (RFC 9562, method 1): 48 bits of Unix time in
 * milliseconds, a 12-bit counter ordering the ids of one millisecond, then 62 random bits drawn
 * once per maker (one per client). Time-ordered ids keep a server's dedup index growing at one end
 * (random UUIDs land on random index pages: about 1.3–1.5× the cost per message in the reference
 * server's SQLite store). Unique per operator: time and counter never repeat within a client, and
 * the random bits tell two tabs or two page loads apart. Per id: one string join, no random draw.
 */
export function createIdMaker(): () => string {
  let ms = -1;
  let counter = 0;
  let prefix = '';
  // Outside secure contexts there is no randomUUID; Math.random is enough there (see above).
  const tail = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto?.randomUUID?.().slice(18) ?? Math.random().toString(36).slice(1);
  return () => {
    const now = Date.now();
    // A clock set back keeps the ids on the last millisecond; the 4,097th of one borrows the next.
    if (now > ms || counter > 4095) {
      ms = Math.max(now, ms + 1);
      counter = 0;
      const time = ms.toString(16).padStart(12, '0');
      prefix = `${time.slice(0, 8)}-${time.slice(8)}-7`;
    }
    return prefix + (4096 + counter++).toString(16).slice(1) + tail;
  };
}
