import { z } from 'zod';
import { count, defineQuery } from '../engine/query.ts';
import { param } from '../engine/params.ts';
import { inBucket } from '../engine/split.ts';
import { INSTALLATION } from '../engine/event-fields.ts';

export default defineQuery({
  id: 'protocol_usage',
  description: "Events and distinct installations per protocol and ISO week, from the protocol_use feature's events",
  params: {
    from: param.instant('start of the period (inclusive), UTC; a Monday 00:00 in the timezone'),
    to: param.instant('end of the period (exclusive), UTC; a Monday 00:00 in the timezone'),
    timezone: param.timezone('timezone whose weeks are counted'),
    protocol_events: param.stringArray("the protocol_use feature's event names, aliases included"),
    user_buckets: param.int('split the installations into this many disjoint buckets (1 = all); see split'),
    user_bucket: param.int('which bucket, 0 to user_buckets - 1'),
  },
  split: { grain: 'week', keys: ['week', 'protocol'] },
  row: z.object({ week: z.string(), protocol: z.string(), events: count(), users: count() }),
  // The implemented property is connect.protocol, the draft RFD's is protocol (used when the first
  // is missing or empty); the draft's proxy_db is the implementation's db.
  sql: `
SELECT
    week,
    multiIf(raw_protocol = '', 'unknown', raw_protocol = 'proxy_db', 'db', raw_protocol) AS protocol,
    count() AS events,
    count(DISTINCT ${INSTALLATION}) AS users
FROM (
    SELECT
        toMonday(toDate(toTimeZone(timestamp, {timezone}))) AS week,
        distinct_id,
        lower(if(JSONExtractString(properties, 'connect.protocol') != '',
                 JSONExtractString(properties, 'connect.protocol'),
                 JSONExtractString(properties, 'protocol'))) AS raw_protocol
    FROM events
    WHERE event IN {protocol_events}
        AND timestamp >= toDateTime64({from}, 6, 'UTC')
        AND timestamp < toDateTime64({to}, 6, 'UTC')
        AND ${inBucket()}
)
GROUP BY week, protocol
ORDER BY week, protocol`,
});
