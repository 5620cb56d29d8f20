/**
 * Time for the demo generators: epoch-millisecond constants and ISO 8601 text written straight into
 * byte buffers (the event writer's hot path), with the string form decoded from the same bytes so the
 * two never disagree.
 */
export const SECOND = 1_000;
export const MINUTE = 60_000;
export const HOUR = 3_600_000;
export const DAY = 86_400_000;
export const WEEK = 7 * DAY;

const dayPrefixes = new Map<number, string>();

/** "2026-11-16T" for an epoch day (cached: rows of one day share it). */
export function dayPrefix(day: number): string {
  let p = dayPrefixes.get(day);
  if (p === undefined) {
    p = new Date(day * DAY).toISOString().slice(0, 11);
    if (dayPrefixes.size > 10_000) dayPrefixes.clear();
    dayPrefixes.set(day, p);
  }
  return p;
}

let isoDay = NaN;
const isoDayBytes = Buffer.alloc(11);

/** Writes epoch ms as "2026-11-16T09:12:33.123Z" (24 bytes) at `off`; returns the new offset. */
export function putIso(out: Uint8Array, off: number, ms: number): number {
  const day = Math.floor(ms / DAY);
  if (day !== isoDay) {
    isoDay = day;
    isoDayBytes.write(dayPrefix(day), 0, 'latin1');
  }
  for (let j = 0; j < 11; j++) out[off + j] = isoDayBytes[j]!;
  let r = ms - day * DAY;
  const h = (r / HOUR) | 0;
  r -= h * HOUR;
  const m = (r / MINUTE) | 0;
  r -= m * MINUTE;
  const s = (r / SECOND) | 0;
  r -= s * SECOND;
  out[off + 11] = 48 + ((h / 10) | 0);
  out[off + 12] = 48 + (h % 10);
  out[off + 13] = 58;
  out[off + 14] = 48 + ((m / 10) | 0);
  out[off + 15] = 48 + (m % 10);
  out[off + 16] = 58;
  out[off + 17] = 48 + ((s / 10) | 0);
  out[off + 18] = 48 + (s % 10);
  out[off + 19] = 46;
  out[off + 20] = 48 + ((r / 100) | 0);
  out[off + 21] = 48 + (((r / 10) | 0) % 10);
  out[off + 22] = 48 + (r % 10);
  out[off + 23] = 90;
  return off + 24;
}

const ISO_SCRATCH = Buffer.alloc(24);

/** Epoch ms as "2026-11-16T09:12:33.123Z": the same text `putIso` writes. */
export function iso(ms: number): string {
  putIso(ISO_SCRATCH, 0, ms);
  return ISO_SCRATCH.toString('latin1');
}

/** "2026-11-16T00:00:00Z": the interval bound format in PostHog batch-export keys. */
export function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19) + 'Z';
}
