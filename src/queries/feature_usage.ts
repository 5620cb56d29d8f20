import { z } from 'zod';
import { count, defineQuery } from '../engine/query.ts';
import { param } from '../engine/params.ts';
import { inBucket } from '../engine/split.ts';
import { INSTALLATION } from '../engine/event-fields.ts';

export default defineQuery({
  id: 'feature_usage',
  description: 'Events and distinct installations per feature and ISO week; catalog aliases count as their feature, other connect.* events under their own name',
  params: {
    from: param.instant('start of the period (inclusive), UTC; a Monday 00:00 in the timezone'),
    to: param.instant('end of the period (exclusive), UTC; a Monday 00:00 in the timezone'),
    timezone: param.timezone('timezone whose weeks are counted'),
    prefix: param.string("event name prefix that makes an event count, e.g. 'connect.'"),
    catalog_events: param.stringArray('event names of the catalog (implemented names and aliases)'),
    catalog_features: param.stringArray('the feature id of each name in catalog_events, position by position'),
    user_buckets: param.int('split the installations into this many disjoint buckets (1 = all); see split'),
    user_bucket: param.int('which bucket, 0 to user_buckets - 1'),
  },
  split: { grain: 'week', keys: ['week', 'feature'] },
  row: z.object({ week: z.string(), feature: z.string(), events: count(), users: count() }),
  sql: `
SELECT
    toMonday(toDate(toTimeZone(timestamp, {timezone}))) AS week,
    transform(event, {catalog_events}, {catalog_features}, event) AS feature,
    count() AS events,
    count(DISTINCT ${INSTALLATION}) AS users
FROM events
WHERE startsWith(event, {prefix})
    AND timestamp >= toDateTime64({from}, 6, 'UTC')
    AND timestamp < toDateTime64({to}, 6, 'UTC')
    AND ${inBucket()}
GROUP BY week, feature
ORDER BY week, feature`,
});
