/**
 * The hand-written baseline: the weekly report's aggregates (DAU per day, WAU and events per week,
 * features, protocols, platforms, for the week and the one before) as ONE ClickHouse query, written
 * for this engine alone (literal values, native functions, a two-week special case for platforms).
 * Both result sets are normalized to the same sorted lines so the bench can check they agree.
 */
import type { Week } from '../src/reports/period.ts';
import { previousWeek, toInstant } from '../src/reports/period.ts';
import type { WeeklyResults } from '../src/reports/weekly-report.ts';

const lit = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
const arr = (xs: string[]) => `[${xs.map(lit).join(', ')}]`;

export function baselineReportSql(week: Week, catalog: { catalog_events: string[]; catalog_features: string[] }, protocolEvents: string[]): string {
  const prev = previousWeek(week);
  const from = `toDateTime64(${lit(toInstant(prev.start))}, 6, 'UTC')`;
  const mid = `toDateTime64(${lit(toInstant(week.start))}, 6, 'UTC')`;
  const to = `toDateTime64(${lit(toInstant(week.end))}, 6, 'UTC')`;
  const tz = lit(week.timezone);
  const inRange = `startsWith(event, 'connect.') AND timestamp >= ${from} AND timestamp < ${to}`;
  return `
SELECT 'daily' AS kind, toString(toDate(timestamp, ${tz})) AS k1, '' AS k2, uniqExact(distinct_id) AS users, count() AS events
FROM events WHERE ${inRange} GROUP BY k1
UNION ALL
SELECT 'weekly', toString(toMonday(toDate(timestamp, ${tz}))), '', uniqExact(distinct_id), count()
FROM events WHERE ${inRange} GROUP BY 2
UNION ALL
SELECT 'feature', toString(toMonday(toDate(timestamp, ${tz}))), transform(event, ${arr(catalog.catalog_events)}, ${arr(catalog.catalog_features)}, event),
       uniqExact(distinct_id), count()
FROM events WHERE ${inRange} GROUP BY 2, 3
UNION ALL
SELECT 'protocol', toString(toMonday(toDate(timestamp, ${tz}))),
       multiIf(p = '', 'unknown', p = 'proxy_db', 'db', p),
       uniqExact(distinct_id), count()
FROM (SELECT timestamp, distinct_id,
             lower(if(JSONExtractString(properties, 'connect.protocol') != '', JSONExtractString(properties, 'connect.protocol'),
                      JSONExtractString(properties, 'protocol'))) AS p
      FROM events WHERE event IN ${arr(protocolEvents)} AND timestamp >= ${from} AND timestamp < ${to})
GROUP BY 2, 3
UNION ALL
SELECT 'platform', w.1, multiIf(w.2 IN ('darwin', 'macos'), 'macos', w.2 IN ('win32', 'windows'), 'windows', w.2 = 'linux', 'linux', w.2 = '', 'unknown', 'other'),
       count(), 0
FROM (
    SELECT distinct_id,
           argMaxIf(os, timestamp, os != '' AND timestamp < ${mid}) AS os_prev,
           argMaxIf(os, timestamp, os != '') AS os_cur,
           countIf(startsWith(event, 'connect.') AND timestamp >= ${from} AND timestamp < ${mid}) > 0 AS active_prev,
           countIf(startsWith(event, 'connect.') AND timestamp >= ${mid}) > 0 AS active_cur
    FROM (SELECT distinct_id, event, timestamp,
                 multiIf(JSONExtractString(properties, 'connect.os') != '', JSONExtractString(properties, 'connect.os'),
                         JSONExtractString(properties, 'os') != '', JSONExtractString(properties, 'os'),
                         JSONExtractString(\`person.properties\`, 'connect.os') != '', JSONExtractString(\`person.properties\`, 'connect.os'),
                         JSONExtractString(\`person.properties\`, 'os')) AS os
          FROM events WHERE timestamp < ${to})
    GROUP BY distinct_id
    HAVING active_prev OR active_cur
)
ARRAY JOIN [(${lit(prev.days[0]!)}, os_prev, active_prev), (${lit(week.days[0]!)}, os_cur, active_cur)] AS w
WHERE w.3
GROUP BY 2, 3`;
}

/** Sorted `kind|key|key|users|events` lines. */
export function normalizeBaseline(rows: unknown[][]): string[] {
  return rows.map((r) => r.map(String).join('|')).sort();
}

export function normalizeOurs(r: WeeklyResults): string[] {
  return [
    ...r.daily.map((x) => `daily|${x.day}||${x.active_users}|${x.events}`),
    ...r.weekly.map((x) => `weekly|${x.week}||${x.active_users}|${x.events}`),
    ...r.features.map((x) => `feature|${x.week}|${x.feature}|${x.users}|${x.events}`),
    ...r.protocols.map((x) => `protocol|${x.week}|${x.protocol}|${x.users}|${x.events}`),
    ...r.platforms.map((x) => `platform|${x.week}|${x.os}|${x.users}|0`),
  ].sort();
}
