import { z } from 'zod';
import { count, defineQuery } from '../engine/query.ts';
import { param } from '../engine/params.ts';
import { inBucket } from '../engine/split.ts';
import { EVENT_VERSION, WEEK_OR_BEFORE, INSTALLATION } from '../engine/event-fields.ts';

export default defineQuery({
  id: 'version_adoption',
  description:
    "Connect versions: active installations per ISO week by the version of their latest event that carries one (kind 'week'), and installations by the day they first sent a connect.* event carrying each version (kind 'first_day'; days before the period as 1970-01-01)",
  params: {
    from: param.instant('first week of the period (inclusive), UTC; a Monday 00:00 in the timezone'),
    to: param.instant('end of the period (exclusive), UTC; a Monday 00:00 in the timezone'),
    history_from: param.instant('start of the look-back for versions and first days (inclusive), UTC: 1970 for all history; PostHog: the horizon (docs/metrics.md)'),
    timezone: param.timezone('timezone whose days and weeks are counted'),
    prefix: param.string("event name prefix that makes an installation active, e.g. 'connect.'"),
    user_buckets: param.int('split the installations into this many disjoint buckets (1 = all); see split'),
    user_bucket: param.int('which bucket, 0 to user_buckets - 1'),
  },
  // A first day needs an installation's history: a remote engine splits it only into installation
  // buckets. Yet every row depends only on events before the end of the week it is dated in (a week's
  // latest version, a day's first carriers), so the embedded engine can run it a week at a time and
  // reuse closed weeks (weekParts; the days-before row comes from the earliest week).
  // Versions first carried before week X+1 are those before X plus X's first days (fold).
  split: {
    grain: 'installation',
    keys: ['kind', 'period', 'version'],
    weekParts: { column: 'period', fold: { sum: ['users'], when: { kind: 'first_day' } } },
  },
  // Reads properties only through EVENT_VERSION: the latest version carried, each first carrier (src/engine/query.ts).
  servedByState: true,
  row: z.object({ kind: z.enum(['week', 'first_day']), period: z.string(), version: z.string(), users: count() }),
  // 'week': the platform_share rule with the version in place of the OS (latest event before the
  // week's end that carries one, since {history_from}). 'first_day': per installation and version,
  // the first day one of its connect.* events carried that version. Rows are per version and week or
  // day, never per installation; the explicit LIMIT lets PostHog answer them in one request (its
  // default is 100 rows) and the report refuses a result that reaches it.
  // One read of the events (each event's version is extracted from its JSON once, the costliest part):
  // per installation, week and version the latest carrying instant and the first connect.* one; per
  // installation and week the version of the latest and the first instant of each version; per
  // installation its weeks in order with the version carried forward (arrayFill keeps the last
  // non-empty one) and each version's first instant; then both kinds of rows from those arrays.
  // Events before the period fall in one bucket, the Monday before it. Before the period only the
  // latest version-carrying event and each version's first carrying connect.* event matter (on the
  // embedded engine, served from the store's derived state).
  sql: `
SELECT kind, period, version, users
FROM (
    SELECT tupleElement(r, 1) AS kind, tupleElement(r, 2) AS period, tupleElement(r, 3) AS version, count() AS users
    FROM (
        SELECT
            arrayJoin(arrayConcat(
                arrayMap(i -> tuple('week', toString(tupleElement(weeks[i], 1)), if(carried[i] = '', 'unknown', carried[i])),
                         arrayFilter(i -> tupleElement(weeks[i], 2) = 1, arrayEnumerate(weeks))),
                arrayMap(f -> tuple('first_day', if(tupleElement(f, 2) < toDateTime64({from}, 6, 'UTC'), '1970-01-01', toString(tupleElement(f, 3))), tupleElement(f, 1)),
                         arrayFilter((f, i) -> i = 1 OR tupleElement(firsts[i - 1], 1) != tupleElement(f, 1), firsts, arrayEnumerate(firsts))))) AS r
        FROM (
            SELECT
                arraySort(w -> tupleElement(w, 1), groupArray(tuple(week, active, version_seen))) AS weeks,
                arrayFill(v -> v != '', arrayMap(w -> tupleElement(w, 3), weeks)) AS carried,
                arraySort(arrayFlatten(groupArray(week_firsts))) AS firsts
            FROM (
                SELECT
                    installation,
                    week,
                    max(week_active) AS active,
                    argMaxIf(event_version, last_at, event_version != '') AS version_seen,
                    groupArrayIf(tuple(event_version, first_at, first_day), event_version != '' AND prefixed) AS week_firsts
                FROM (
                    SELECT
                        installation,
                        ${WEEK_OR_BEFORE} AS week,
                        event_version,
                        if(countIf(startsWith(event, {prefix}) AND timestamp >= toDateTime64({from}, 6, 'UTC')) > 0, 1, 0) AS week_active,
                        max(timestamp) AS last_at,
                        countIf(startsWith(event, {prefix})) > 0 AS prefixed,
                        minIf(timestamp, startsWith(event, {prefix})) AS first_at,
                        minIf(toDate(toTimeZone(timestamp, {timezone})), startsWith(event, {prefix})) AS first_day
                    FROM (
                        SELECT ${INSTALLATION} AS installation, event, timestamp, ${EVENT_VERSION} AS event_version
                        FROM events
                        WHERE timestamp >= toDateTime64({history_from}, 6, 'UTC')
                            AND timestamp < toDateTime64({to}, 6, 'UTC')
                            AND ${inBucket()}
                    )
                    GROUP BY installation, week, event_version
                )
                GROUP BY installation, week
            )
            GROUP BY installation
        )
    )
    GROUP BY kind, period, version
)
ORDER BY kind, period, version
LIMIT 50000`,
});
