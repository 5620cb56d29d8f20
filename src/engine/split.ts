/**
 * Splitting a query that PostHog found too heavy (504/512/513), so that the parts combine EXACTLY.
 *
 * 1. By time: a range of several days (or weeks) is cut at the query's grain boundaries in its
 *    timezone. A group (a day, a week) then lies in exactly one part, so the parts' rows are simply
 *    put together; nothing is added across parts.
 * 2. By installation: a single day or week that is still too heavy is cut into disjoint buckets of
 *    installations (`cityHash64(distinct_id) % {user_buckets} = {user_bucket}`). An installation is in
 *    exactly one bucket, so every count, distinct counts included, is the sum of the parts' counts.
 *    (Summing distinct counts of day parts into a week would count a person active on two days twice;
 *    that is why weekly groups are never split by day.)
 */
import { DateTime } from 'luxon';
import type { EngineResult } from './engine.ts';
import type { SplitSpec } from './query.ts';
import { toInstant } from '../reports/period.ts';

export const MAX_USER_BUCKETS = 64;

/**
 * The installation-bucket filter of a query's events, on the installation id `id` (distinct_id, or
 * a property that stands for one). With one bucket (every run that is not a split part) it is true
 * before any row is read: `{user_buckets} = 1` is a constant once the values are in, and the engine
 * drops the OR; hashing every id to keep every row cost 0.3 CPU s per 10M events read, in each of the
 * report's reads (issue 13).
 */
export const inBucket = (id = 'distinct_id') => `({user_buckets} = 1 OR cityHash64(${id}) % {user_buckets} = {user_bucket})`;

/** `2026-11-16 08:00:00.000000` (the instant parameter format) as a UTC DateTime. */
function parseInstant(value: unknown): DateTime {
  return DateTime.fromISO(String(value).replace(' ', 'T').slice(0, 23), { zone: 'UTC' });
}

/** The range's grain boundaries in the timezone; one part per day or week ([from, to) each). */
export function timeParts(values: Record<string, unknown>, split: SplitSpec): Array<Record<string, unknown>> {
  const zone = String(values.timezone ?? 'UTC');
  const from = parseInstant(values.from);
  const to = parseInstant(values.to);
  // A query over all of its history (first-seen weeks) cannot be cut by time: only by installation.
  if (split.grain === 'installation' || !from.isValid || !to.isValid) return [values];
  const unit = split.grain === 'week' ? 'week' : 'day';
  const parts: Array<Record<string, unknown>> = [];
  let start: DateTime = from;
  while (start < to) {
    let end: DateTime = start.setZone(zone).startOf(unit).plus({ [unit === 'week' ? 'weeks' : 'days']: 1 }).toUTC();
    if (end > to) end = to;
    parts.push({ ...values, from: toInstant(start), to: toInstant(end) });
    start = end;
  }
  return parts;
}

/** Bucket `b` of `n` becomes buckets `b` and `b + n` of `2n` (same installations, in two halves). */
export function halveUsers(values: Record<string, unknown>): Array<Record<string, unknown>> | undefined {
  const n = Number(values.user_buckets ?? 1);
  const b = Number(values.user_bucket ?? 0);
  if (!Number.isInteger(n) || n * 2 > MAX_USER_BUCKETS) return undefined;
  return [
    { ...values, user_buckets: n * 2, user_bucket: b },
    { ...values, user_buckets: n * 2, user_bucket: b + n },
  ];
}

/**
 * Puts parts together: rows with the same keys have their other columns (counts) added, except the
 * split's `min`/`max` columns (ISO times, compared as text), which keep the least / greatest; rows
 * are ordered by the keys, as the queries order them.
 */
export function combineParts(parts: EngineResult[], split: Pick<SplitSpec, 'keys' | 'min' | 'max'>): EngineResult {
  const keys = split.keys;
  const columns = parts.find((p) => p.columns.length)?.columns ?? [];
  const keyIdx = keys.map((k) => columns.indexOf(k));
  if (keyIdx.some((i) => i < 0)) throw new Error(`split keys ${keys.join(', ')} are not all columns of ${columns.join(', ')}`);
  const merged = new Map<string, unknown[]>();
  for (const part of parts) {
    for (const row of part.rows) {
      const key = JSON.stringify(keyIdx.map((i) => row[i]));
      const seen = merged.get(key);
      if (!seen) {
        merged.set(key, [...row]);
        continue;
      }
      columns.forEach((name, i) => {
        if (keyIdx.includes(i)) return;
        if (split.min?.includes(name)) seen[i] = String(row[i]) < String(seen[i]) ? row[i] : seen[i];
        else if (split.max?.includes(name)) seen[i] = String(row[i]) > String(seen[i]) ? row[i] : seen[i];
        else seen[i] = Number(seen[i]) + Number(row[i]);
      });
    }
  }
  const rows = [...merged.values()].sort((a, b) => {
    for (const i of keyIdx) {
      const x = String(a[i]);
      const y = String(b[i]);
      if (x !== y) return x < y ? -1 : 1;
    }
    return 0;
  });
  return { columns, rows };
}
