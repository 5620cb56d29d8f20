import { z } from 'zod';
import { count, defineQuery } from '../engine/query.ts';
import { param } from '../engine/params.ts';
import { inBucket } from '../engine/split.ts';
import { EVENT_OS, WEEK_OR_BEFORE, osClass, INSTALLATION } from '../engine/event-fields.ts';

export default defineQuery({
  id: 'platform_share',
  description: "Active installations per OS and ISO week; each installation's OS is the one on its latest event before the week's end that carries one",
  params: {
    from: param.instant('start of the period (inclusive), UTC; a Monday 00:00 in the timezone'),
    to: param.instant('end of the period (exclusive), UTC; a Monday 00:00 in the timezone'),
    history_from: param.instant('start of the look-back for the OS (inclusive), UTC: 1970 for all history; PostHog: the horizon (docs/metrics.md)'),
    timezone: param.timezone('timezone whose weeks are counted'),
    prefix: param.string("event name prefix that makes an installation active, e.g. 'connect.'"),
    user_buckets: param.int('split the installations into this many disjoint buckets (1 = all); see split'),
    user_bucket: param.int('which bucket, 0 to user_buckets - 1'),
  },
  split: { grain: 'week', keys: ['week', 'os'] },
  // Reads properties only through EVENT_OS, as the latest OS carried (src/engine/query.ts).
  servedByState: true,
  row: z.object({ week: z.string(), os: z.string(), users: count() }),
  // Only login events carry the OS, so an installation's OS is looked up in its history before the
  // week's end (since {history_from}), not only in the week. Per installation and week, the latest OS
  // seen in that week; then carried forward week by week (anyLast skips NULL) from one bucket (the
  // Monday before the period) that holds everything before the period. Event property connect.os,
  // then os (draft name), then the same two person properties stored on the event. Values are matched
  // exactly as sent (Connect sends process.platform: darwin, win32, linux); unlike protocols, the
  // definition does not lower-case them. Before the period only OS-carrying events matter (on the
  // embedded engine, served from the store's derived state). Installations not active in the period
  // get rows too, which WHERE active drops: restricting the events to the active ones beforehand
  // (distinct_id IN a subquery over the period) read the period twice and hashed every id twice, 4 of
  // 8 CPU s at 10M events (issue 13), to save grouping a few more installations.
  sql: `
SELECT
    week,
    ${osClass('os_raw')} AS os,
    count() AS users
FROM (
    SELECT
        week,
        active,
        ifNull(anyLast(os_seen) OVER (PARTITION BY installation ORDER BY week ASC
                                     ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW), '') AS os_raw
    FROM (
        SELECT
            installation,
            ${WEEK_OR_BEFORE} AS week,
            countIf(startsWith(event, {prefix}) AND timestamp >= toDateTime64({from}, 6, 'UTC')) > 0 AS active,
            nullIf(argMaxIf(event_os, timestamp, event_os != ''), '') AS os_seen
        FROM (
            SELECT
                ${INSTALLATION} AS installation,
                event,
                timestamp,
                ${EVENT_OS} AS event_os
            FROM events
            WHERE timestamp >= toDateTime64({history_from}, 6, 'UTC')
                AND timestamp < toDateTime64({to}, 6, 'UTC')
                AND ${inBucket()}
        )
        GROUP BY installation, week
    )
)
WHERE active
GROUP BY week, os
ORDER BY week, os`,
});
