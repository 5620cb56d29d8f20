import { z } from 'zod';
import { count, defineQuery } from '../engine/query.ts';
import { param } from '../engine/params.ts';
import { inBucket } from '../engine/split.ts';

export default defineQuery({
  id: 'connect_share',
  description:
    "Connect's share of cluster logins per ISO week: users (anonymized user names) with a cluster login, those of them that also logged in with Connect in the same week, in all and per connector type",
  params: {
    from: param.instant('first week of the period (inclusive), UTC; a Monday 00:00 in the timezone'),
    to: param.instant('end of the period (exclusive), UTC; a Monday 00:00 in the timezone'),
    timezone: param.timezone('timezone whose weeks are counted'),
    cluster_login_event: param.string("the cluster's login event, e.g. 'tp.user.login'"),
    connect_login_events: param.stringArray("Connect's login events, e.g. ['connect.cluster.login']"),
    user_property: param.string("the anonymized user name, the same HMAC on both sides, e.g. 'tp.user_name'"),
    connector_property: param.string("the SSO connector of a cluster login, e.g. 'tp.connector_type' (absent: local)"),
    user_buckets: param.int('split the users into this many disjoint buckets (1 = all); see split'),
    user_bucket: param.int('which bucket, 0 to user_buckets - 1'),
  },
  // A user's cluster and Connect logins come from different distinct_ids (tp.<account>, connect.<uuid>),
  // so buckets are of user names, not of installations: each user is in one bucket, and counts add up.
  split: { grain: 'week', keys: ['week', 'connector_type'] },
  // connector_type '' is the week's total; every other row is the users who logged in to the cluster
  // with that connector in the week ('local' when the property is absent or empty). A user who used two
  // connectors counts under each. Users only seen in Connect logins (a cluster that does not report
  // usage) count on neither side. Rows are per week and connector: the hashes never leave the engine.
  row: z.object({ week: z.string(), connector_type: z.string(), cluster_users: count(), connect_users: count() }),
  sql: `
SELECT week, connector_type, count() AS cluster_users, countIf(on_connect) AS connect_users
FROM (
    SELECT week, on_connect, arrayJoin(arrayConcat([''], arrayFilter(c -> c != '', connectors))) AS connector_type
    FROM (
        SELECT
            toString(toMonday(toDate(toTimeZone(timestamp, {timezone})))) AS week,
            JSONExtractString(properties, {user_property}) AS user,
            countIf(event = {cluster_login_event}) > 0 AS on_cluster,
            countIf(event IN {connect_login_events}) > 0 AS on_connect,
            groupUniqArray(if(event = {cluster_login_event},
                              if(JSONExtractString(properties, {connector_property}) = '', 'local', JSONExtractString(properties, {connector_property})),
                              '')) AS connectors
        FROM events
        WHERE (event = {cluster_login_event} OR event IN {connect_login_events})
            AND timestamp >= toDateTime64({from}, 6, 'UTC')
            AND timestamp < toDateTime64({to}, 6, 'UTC')
            AND JSONExtractString(properties, {user_property}) != ''
            AND ${inBucket('JSONExtractString(properties, {user_property})')}
        GROUP BY week, user
    )
    WHERE on_cluster
)
GROUP BY week, connector_type
ORDER BY week, connector_type
LIMIT 50000`,
});
