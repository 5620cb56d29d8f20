import { z } from 'zod';
import { count, defineQuery } from '../engine/query.ts';
import { param } from '../engine/params.ts';

// In the check below, x is (position j in the prop_* arrays, the JSON type of that property on the event).
const J = 'tupleElement(x, 1)';
const TYPE = 'tupleElement(x, 2)';
const VALUE = `JSONExtractString(properties, {prop_names}[${J}])`;

/**
 * What is wrong with the event's property at position j of the plan (src/config/tracking-plan.ts),
 * in one pass over the event's plan entries (each property's JSON read once for its type):
 * absent or JSON null and required (nor its draft name present): missing_required; another JSON
 * type: wrong_type; a string outside its allowed values: not_allowed_value; an anonymized string
 * that is not an HMAC: not_anonymized; '' when it conforms. Only what is wrong leaves the engine,
 * never the value.
 */
const PROPERTY_VIOLATION = `multiIf(
                            ${TYPE} = 'Null',
                                if({prop_required}[${J}] != ''
                                   AND NOT ({prop_alternates}[${J}] != '' AND toString(JSONType(properties, {prop_alternates}[${J}])) != 'Null'),
                                   'missing_required', ''),
                            NOT has(splitByChar('|', {prop_types}[${J}]), ${TYPE}), 'wrong_type',
                            {prop_values}[${J}] != '' AND NOT has(splitByChar('|', {prop_values}[${J}]), ${VALUE}), 'not_allowed_value',
                            {prop_anonymized}[${J}] != '' AND NOT match(${VALUE}, {hash_pattern}), 'not_anonymized',
                            '')`;

export default defineQuery({
  id: 'tracking_plan',
  description:
    'The tracking plan checked: per plan event (aliases folded) events, conforming events and events per violation kind and property with one example uuid; and each connect.* event name with its first day over the look-back (new events)',
  params: {
    from: param.instant('start of the look-back (inclusive), UTC: event names first seen before it are not new'),
    check_from: param.instant('start of the checked period (inclusive), UTC'),
    to: param.instant('end of the period (exclusive), UTC'),
    timezone: param.timezone('timezone of the first-seen days'),
    prefix: param.string("event name prefix of the app's events, e.g. 'connect.'"),
    plan_events: param.stringArray('event names of the plan (implemented names and aliases)'),
    plan_names: param.stringArray('the plan event of each name in plan_events, position by position'),
    prop_events: param.stringArray("per property check: the plan event ('*': events the plan does not know)"),
    prop_names: param.stringArray('per property check: the property name'),
    prop_types: param.stringArray("per property check: the JSONType names it may have, joined by '|'"),
    prop_values: param.stringArray("per property check: its allowed values joined by '|' ('': any)"),
    prop_anonymized: param.stringArray("per property check: '1' when it must be an HMAC"),
    prop_required: param.stringArray("per property check: '1' when the event must carry it (or its alternate)"),
    prop_alternates: param.stringArray('per property check: the draft name that also satisfies required'),
    distinct_id_pattern: param.string('regular expression a distinct_id must match (connect. + a UUID)'),
    hash_pattern: param.string('regular expression an anonymized value must match (44-character base64)'),
    user_buckets: param.int('split the installations into this many disjoint buckets (1 = all); see split'),
    user_bucket: param.int('which bucket, 0 to user_buckets - 1'),
  },
  // A first-seen day is a minimum over the whole look-back: never cut by time, only by installation;
  // counts add up across installation buckets, first days and examples keep the least.
  split: { grain: 'installation', keys: ['kind', 'event', 'violation', 'property'], min: ['first_seen', 'example'] },
  // kind 'first_seen': per connect.* event name (as sent), its first day and installations over [from, to).
  // kind 'event': per plan event over [check_from, to) (unknown names as sent): events, conforming events.
  // kind 'violation': events with at least one violation of that kind; kind 'property': per property too.
  // example: the least uuid among them (the one place the report points to; never a property value).
  row: z.object({
    kind: z.enum(['first_seen', 'event', 'violation', 'property']),
    event: z.string(),
    violation: z.string(),
    property: z.string(),
    events: count(),
    conforming: count(),
    users: count(),
    first_seen: z.string(),
    example: z.string(),
  }),
  sql: `
SELECT kind, event, violation, property, events, conforming, users, first_seen, example
FROM (
    SELECT
        'first_seen' AS kind,
        event,
        '' AS violation,
        '' AS property,
        count() AS events,
        0 AS conforming,
        count(DISTINCT distinct_id) AS users,
        toString(min(toDate(toTimeZone(timestamp, {timezone})))) AS first_seen,
        '' AS example
    FROM events
    WHERE startsWith(event, {prefix})
        AND timestamp >= toDateTime64({from}, 6, 'UTC')
        AND timestamp < toDateTime64({to}, 6, 'UTC')
        AND cityHash64(distinct_id) % {user_buckets} = {user_bucket}
    GROUP BY event
    UNION ALL
    SELECT
        tupleElement(cell, 1) AS kind,
        plan_event AS event,
        tupleElement(cell, 2) AS violation,
        tupleElement(cell, 3) AS property,
        count() AS events,
        countIf(length(problems) = 0) AS conforming,
        0 AS users,
        '' AS first_seen,
        min(event_uuid) AS example
    FROM (
        SELECT
            event_uuid,
            plan_event,
            problems,
            arrayJoin(arrayConcat(
                [tuple('event', '', '')],
                arrayMap(v -> tuple('violation', v, ''), arrayDistinct(arrayMap(p -> tupleElement(p, 1), problems))),
                arrayMap(p -> tuple('property', tupleElement(p, 1), tupleElement(p, 2)), problems))) AS cell
        FROM (
            SELECT
                event_uuid,
                if(known, planned, event) AS plan_event,
                arrayConcat(
                    if(known, [], [tuple('unknown_event', '')]),
                    if(match(distinct_id, {distinct_id_pattern}), [], [tuple('bad_distinct_id', 'distinct_id')]),
                    arrayFilter(p -> tupleElement(p, 1) != '',
                        arrayMap(x -> tuple(${PROPERTY_VIOLATION}, {prop_names}[${J}]),
                            arrayMap(j -> tuple(j, toString(JSONType(properties, {prop_names}[j]))),
                                arrayFilter(j -> {prop_events}[j] = key, arrayEnumerate({prop_events})))))) AS problems
            FROM (
                SELECT
                    toString(uuid) AS event_uuid,
                    event,
                    distinct_id,
                    properties,
                    transform(event, {plan_events}, {plan_names}, '') AS planned,
                    planned != '' AS known,
                    if(known, planned, '*') AS key
                FROM events
                WHERE startsWith(event, {prefix})
                    AND timestamp >= toDateTime64({check_from}, 6, 'UTC')
                    AND timestamp < toDateTime64({to}, 6, 'UTC')
                    AND cityHash64(distinct_id) % {user_buckets} = {user_bucket}
            )
        )
    )
    GROUP BY kind, event, violation, property
)
ORDER BY kind, event, violation, property
LIMIT 50000`,
});
