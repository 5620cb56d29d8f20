import { z } from 'zod';
import { count, defineQuery } from '../engine/query.ts';
import { param } from '../engine/params.ts';

export default defineQuery({
  id: 'event_first_seen',
  description: 'Each connect.* event name with the first day (report timezone) it was seen since the start of the look-back, to name new events',
  params: {
    from: param.instant('start of the look-back (inclusive), UTC: names first seen before it are not new'),
    to: param.instant('end of the report week (exclusive), UTC'),
    timezone: param.timezone('timezone of the days'),
    prefix: param.string("event name prefix, e.g. 'connect.'"),
  },
  // No split: a first-seen day is a minimum, which parts over installations cannot add up.
  row: z.object({ event: z.string(), first_seen: z.string(), users: count() }),
  sql: `
SELECT
    event,
    toString(min(toDate(toTimeZone(timestamp, {timezone})))) AS first_seen,
    count(DISTINCT distinct_id) AS users
FROM events
WHERE startsWith(event, {prefix})
    AND timestamp >= toDateTime64({from}, 6, 'UTC')
    AND timestamp < toDateTime64({to}, 6, 'UTC')
GROUP BY event
ORDER BY event`,
});
