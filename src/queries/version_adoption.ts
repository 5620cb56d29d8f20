import { z } from 'zod';
import { count, defineQuery } from '../engine/query.ts';
import { param } from '../engine/params.ts';
import { EVENT_VERSION } from '../engine/event-fields.ts';

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
  split: { grain: 'installation', keys: ['kind', 'period', 'version'], weekParts: { column: 'period' } },
  row: z.object({ kind: z.enum(['week', 'first_day']), period: z.string(), version: z.string(), users: count() }),
  // 'week': the platform_share rule with the version in place of the OS (latest event before the
  // week's end that carries one, since {history_from}). 'first_day': per installation and version,
  // the first day one of its connect.* events carried that version. Rows are per version and week or
  // day, never per installation; the explicit LIMIT lets PostHog answer them in one request (its
  // default is 100 rows) and the report refuses a result that reaches it. Before the period only the
  // latest version-carrying event and each version's first carrying connect.* event matter (on the
  // embedded engine, served from the store's derived state).
  sql: `
SELECT kind, period, version, users
FROM (
    SELECT 'week' AS kind, toString(week) AS period, if(version_raw = '', 'unknown', version_raw) AS version, count() AS users
    FROM (
        SELECT
            week,
            active,
            ifNull(anyLast(version_seen) OVER (PARTITION BY distinct_id ORDER BY week ASC
                                              ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW), '') AS version_raw
        FROM (
            SELECT
                distinct_id,
                if(timestamp < toDateTime64({from}, 6, 'UTC'),
                   subtractDays(toMonday(toTimeZone(toDateTime64({from}, 6, 'UTC'), {timezone})), 7),
                   toMonday(toDate(toTimeZone(timestamp, {timezone})))) AS week,
                countIf(startsWith(event, {prefix}) AND timestamp >= toDateTime64({from}, 6, 'UTC')) > 0 AS active,
                nullIf(argMaxIf(event_version, timestamp, event_version != ''), '') AS version_seen
            FROM (
                SELECT distinct_id, event, timestamp, ${EVENT_VERSION} AS event_version
                FROM events
                WHERE timestamp >= toDateTime64({history_from}, 6, 'UTC')
                    AND timestamp < toDateTime64({to}, 6, 'UTC')
                    AND cityHash64(distinct_id) % {user_buckets} = {user_bucket}
                    AND distinct_id IN (
                        SELECT distinct_id FROM events
                        WHERE startsWith(event, {prefix})
                            AND timestamp >= toDateTime64({from}, 6, 'UTC')
                            AND timestamp < toDateTime64({to}, 6, 'UTC'))
            )
            GROUP BY distinct_id, week
        )
    )
    WHERE active
    GROUP BY week, version
    UNION ALL
    SELECT 'first_day' AS kind, if(before, '1970-01-01', toString(first_day)) AS period, version, count() AS users
    FROM (
        SELECT
            distinct_id,
            event_version AS version,
            min(timestamp) < toDateTime64({from}, 6, 'UTC') AS before,
            min(toDate(toTimeZone(timestamp, {timezone}))) AS first_day
        FROM (
            SELECT distinct_id, timestamp, ${EVENT_VERSION} AS event_version
            FROM events
            WHERE startsWith(event, {prefix})
                AND timestamp >= toDateTime64({history_from}, 6, 'UTC')
                AND timestamp < toDateTime64({to}, 6, 'UTC')
                AND cityHash64(distinct_id) % {user_buckets} = {user_bucket}
        )
        WHERE event_version != ''
        GROUP BY distinct_id, version
    )
    GROUP BY period, version
)
ORDER BY kind, period, version
LIMIT 50000`,
});
