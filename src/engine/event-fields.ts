/**
 * SQL expressions for the values an event carries, by the rules of docs/metrics.md, shared by the
 * query files that read them and by the embedded store's derived per-installation state
 * (src/sources/installation-state.ts), so both apply the same rule. HogQL that is also ClickHouse SQL.
 */

/**
 * The first non-empty string among the properties `names` of `json` columns, in order; '' when none.
 *
 * Each lookup is guarded by a text search (issue 13: three report queries read the OS or version of
 * every event, and a JSON parse per name and event was most of their cost): a JSON object has the
 * key `k` only if its text holds `"k"`, unless a key is written with a \u escape (the only other
 * way to write the characters of these names), so a JSON text holding neither `"k"` nor `\u` has no
 * such key and is not parsed for it. The answer is exactly that of the unguarded lookups.
 */
function firstOf(lookups: Array<[json: string, name: string]>): string {
  const has = (json: string, name: string) => `(position(${json}, '"${name}"') > 0 OR position(${json}, '\\\\u') > 0)`;
  const value = (json: string, name: string) => `JSONExtractString(${json}, '${name}')`;
  const branches = lookups.slice(0, -1).map(([json, name]) => `${has(json, name)} AND ${value(json, name)} != '', ${value(json, name)}`);
  const [lastJson, lastName] = lookups.at(-1)!;
  return `multiIf(${branches.join(',\n        ')},\n        ${has(lastJson, lastName)}, ${value(lastJson, lastName)},\n        '')`;
}

/**
 * An installation as the queries count and group them: the 64-bit CityHash of its distinct_id.
 * Counting distinct strings is what cost most in the report's simple queries (issue 13): ClickHouse's
 * exact distinct count (uniqExact, what count(DISTINCT) runs) hashes each string with SipHash-128,
 * and grouping by a string keeps and compares it; over a number both are several times cheaper
 * (10M events: count(DISTINCT) per day 1.8 -> 0.8 CPU s, feature_usage 2.0 -> 0.9, protocol_usage
 * 3.5 -> 2.5; grouping by installation and week 1.1 -> 0.65). uniqExact itself compares 128-bit
 * hashes, not the strings; this compares 64-bit ones, so two installations count as one only if
 * their ids share a CityHash64: for n installations about n^2 / 2^65, 3 in 100 million at a million
 * installations (docs/metrics.md). The same hash splits installations into buckets (split.ts), so
 * an installation stays in one bucket whatever it is grouped by.
 */
export const INSTALLATION = 'cityHash64(distinct_id)';

/** The OS an event carries: event property connect.os, else os, else the same two person properties on the event; '' when none. */
export const EVENT_OS = firstOf([
  ['properties', 'connect.os'],
  ['properties', 'os'],
  ['person.properties', 'connect.os'],
  ['person.properties', 'os'],
]);

/** The Connect version an event carries: connect.app_version, else connect_version (draft name), else the same two person properties; '' when none. */
export const EVENT_VERSION = firstOf([
  ['properties', 'connect.app_version'],
  ['properties', 'connect_version'],
  ['person.properties', 'connect.app_version'],
  ['person.properties', 'connect_version'],
]);

/**
 * The week an event is counted in by the look-back queries that carry a value forward week by week
 * (platform_share, version_adoption): its Monday in {timezone}, and one bucket, the Monday before
 * the period, for everything before {from}.
 */
export const WEEK_OR_BEFORE = `if(timestamp < toDateTime64({from}, 6, 'UTC'),
               subtractDays(toMonday(toTimeZone(toDateTime64({from}, 6, 'UTC'), {timezone})), 7),
               toMonday(toDate(toTimeZone(timestamp, {timezone}))))`;

/** The OS classes of platforms.csv from the value as sent (Connect sends Node's process.platform). */
export const osClass = (raw: string) => `multiIf(${raw} IN ('darwin', 'macos'), 'macos',
            ${raw} IN ('win32', 'windows'), 'windows',
            ${raw} = 'linux', 'linux',
            ${raw} = '', 'unknown',
            'other')`;
