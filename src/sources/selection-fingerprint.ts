/**
 * A fingerprint of a selection's events before any instant, for reusing closed weeks
 * (src/engine/week-cache.ts). Derived once per selection (kept in its database, dropped with it):
 * per 15 minutes, the number of events and the sum of a hash of each event's content. The
 * fingerprint before T adds the buckets before T, so it changes when any event before T is added,
 * removed or altered, and not when events after T arrive. 15 minutes: every timezone's midnight
 * falls on such a boundary (offsets are whole quarter hours), so a week's end never splits a bucket.
 */
import type { ChdbEngine } from '../engine/chdb-engine.ts';
import type { EventsFingerprint } from '../engine/week-cache.ts';
import { findParentSelection } from './parent-selection.ts';

const BUCKET_MS = 15 * 60_000;

/**
 * The buckets come back as three arrays in one row, the running sums made by the engine (counts,
 * and hashes added modulo 2^64: arrayCumSum over UInt64 wraps like the sums it replaces, so weeks
 * kept by an earlier run keep their keys): loading a row per bucket and adding them up in Node cost
 * 0.2 s at 104 weeks of history (70k buckets), more every week.
 */
export function selectionFingerprint(engine: ChdbEngine, database: string): EventsFingerprint {
  let buckets: Promise<{ starts: number[]; counts: string[]; hashes: string[] }> | undefined;
  const load = async () => {
    const table = `${database}.event_fingerprints`;
    if (!(await engine.hasTable(table))) {
      const building = `${table}_building`;
      await engine.exec(`DROP TABLE IF EXISTS ${building}`);
      // Every column a query reads is in the hash: two selections that agree on it agree on every answer.
      const buckets = (where: string) =>
        `SELECT toInt64(floor(toUnixTimestamp64Milli(timestamp) / ${BUCKET_MS})) * ${BUCKET_MS} AS bucket, count() AS n,
                sum(cityHash64(uuid, event, distinct_id, person_id, timestamp, properties, \`person.properties\`, created_at, elements_chain)) AS h
         FROM ${database}.events ${where} GROUP BY bucket`;
      // Grown from last Monday's selection (src/sources/parent-selection.ts): its buckets plus the
      // new files' (the sums add up the same), instead of a pass over every event.
      const parent = await findParentSelection(engine, database, (candidate) => engine.hasTable(`${candidate}.event_fingerprints`));
      await engine.exec(
        `CREATE TABLE ${building} ENGINE = MergeTree ORDER BY bucket AS ` +
          (parent
            ? `SELECT bucket, sum(n) AS n, sum(h) AS h FROM (
                 SELECT bucket, n, h FROM ${parent.database}.event_fingerprints
                 UNION ALL
                 ${buckets('WHERE file_id NOT IN {parent_files:Array(String)}')})
               GROUP BY bucket`
            : buckets('')),
        parent ? { parent_files: parent.files } : {},
      );
      await engine.exec(`RENAME TABLE ${building} TO ${table}`);
    }
    const [row] = await engine.objects<{ starts: number[]; counts: string[]; hashes: string[] }>(
      `SELECT groupArray(toFloat64(bucket)) AS starts,
              arrayMap(x -> toString(x), arrayCumSum(groupArray(n))) AS counts,
              arrayMap(x -> toString(x), arrayCumSum(groupArray(h))) AS hashes
       FROM (SELECT bucket, n, h FROM ${table} ORDER BY bucket)`,
    );
    return { starts: (row?.starts ?? []).map(Number), counts: row?.counts ?? [], hashes: row?.hashes ?? [] };
  };
  return async (beforeMs) => {
    if (beforeMs % BUCKET_MS !== 0) return undefined;
    const { starts, counts, hashes } = await (buckets ??= load());
    // The buckets that start before the instant (binary search for the first that does not).
    let lo = 0;
    let hi = starts.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (starts[mid]! < beforeMs) lo = mid + 1;
      else hi = mid;
    }
    return lo === 0 ? '0:0' : `${counts[lo - 1]}:${hashes[lo - 1]}`;
  };
}
