import { z } from 'zod';
import { count, defineQuery } from '../engine/query.ts';
import { param } from '../engine/params.ts';
import { inBucket } from '../engine/split.ts';
import { INSTALLATION } from '../engine/event-fields.ts';

export default defineQuery({
  id: 'active_users_daily',
  description: 'Active installations (distinct distinct_id with a connect.* event), events and late events per calendar day in the report timezone',
  params: {
    from: param.instant('start of the period (inclusive), UTC'),
    to: param.instant('end of the period (exclusive), UTC'),
    timezone: param.timezone('timezone whose calendar days are counted'),
    prefix: param.string("event name prefix that makes an event count, e.g. 'connect.'"),
    user_buckets: param.int('split the installations into this many disjoint buckets (1 = all); see split'),
    user_bucket: param.int('which bucket, 0 to user_buckets - 1'),
  },
  split: { grain: 'day', keys: ['day'], min: ['first_event'], max: ['last_event'] },
  // late_events: arrived (created_at, PostHog's ingestion time) more than 24 hours after their timestamp.
  // first_event / last_event: the day's earliest and latest event time, UTC, to the second (coverage).
  row: z.object({ day: z.string(), active_users: count(), events: count(), late_events: count(), first_event: z.string(), last_event: z.string() }),
  sql: `
SELECT
    toDate(toTimeZone(timestamp, {timezone})) AS day,
    count(DISTINCT ${INSTALLATION}) AS active_users,
    count() AS events,
    countIf(dateDiff('second', timestamp, created_at) > 86400) AS late_events,
    formatDateTime(min(timestamp), '%Y-%m-%dT%H:%i:%SZ', 'UTC') AS first_event,
    formatDateTime(max(timestamp), '%Y-%m-%dT%H:%i:%SZ', 'UTC') AS last_event
FROM events
WHERE startsWith(event, {prefix})
    AND timestamp >= toDateTime64({from}, 6, 'UTC')
    AND timestamp < toDateTime64({to}, 6, 'UTC')
    AND ${inBucket()}
GROUP BY day
ORDER BY day`,
});
