import { z } from 'zod';
import { count, defineQuery } from '../engine/query.ts';
import { param } from '../engine/params.ts';
import { inBucket } from '../engine/split.ts';
import { INSTALLATION } from '../engine/event-fields.ts';

export default defineQuery({
  id: 'active_users_weekly',
  description: 'Weekly active installations (distinct over the ISO week, Monday 00:00 in the report timezone) and events per week',
  params: {
    from: param.instant('start of the period (inclusive), UTC; a Monday 00:00 in the timezone'),
    to: param.instant('end of the period (exclusive), UTC; a Monday 00:00 in the timezone'),
    timezone: param.timezone('timezone whose weeks are counted'),
    prefix: param.string("event name prefix that makes an event count, e.g. 'connect.'"),
    user_buckets: param.int('split the installations into this many disjoint buckets (1 = all); see split'),
    user_bucket: param.int('which bucket, 0 to user_buckets - 1'),
  },
  split: { grain: 'week', keys: ['week'] },
  row: z.object({ week: z.string(), active_users: count(), events: count() }),
  sql: `
SELECT
    toMonday(toDate(toTimeZone(timestamp, {timezone}))) AS week,
    count(DISTINCT ${INSTALLATION}) AS active_users,
    count() AS events
FROM events
WHERE startsWith(event, {prefix})
    AND timestamp >= toDateTime64({from}, 6, 'UTC')
    AND timestamp < toDateTime64({to}, 6, 'UTC')
    AND ${inBucket()}
GROUP BY week
ORDER BY week`,
});
