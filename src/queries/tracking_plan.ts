import { z } from 'zod';
import { count, defineQuery } from '../engine/query.ts';
import { param } from '../engine/params.ts';
import { inBucket } from '../engine/split.ts';
import { INSTALLATION } from '../engine/event-fields.ts';

/*
 * The property check reads each event's JSON once (issue 13: at 10M events a week the check was most
 * of the weekly report, 46 of 102 CPU seconds, with a JSON parse per plan entry and per value read,
 * about eight per event). JSONExtractKeysAndValues(properties, 'String') gives every non-null
 * property as text (strings unescaped, other values as their JSON text), and the plan entry of each
 * is found by a hash lookup of (plan event, name). Only a value whose text could be another JSON
 * type (true/false, an object or array: it starts with { or [, a number: only a number's
 * characters; MAYBE_NOT_STRING) has its type read exactly with JSONType; every other value is a string. A property sent twice on one event:
 * its first non-null value is checked (arrayEnumerateUniq numbers the occurrences of a position;
 * PostHog's HogQL takes it with two arrays at least, so the positions are given twice).
 *
 * Each per-value step is one arrayMap over the event's values with its inputs passed as arrays, not
 * captured from the row: a lambda copies every row value it captures once per array element (the
 * check's first version built a (position, value, type) tuple per value, capturing the row's arrays,
 * then checked those: 12-14 CPU s at 10M events against 10-11 now; the outputs are the same).
 *
 * The plan's positions are found through constant arrays built from the parameters (folded once
 * per query, never per event): ENTRY_KEYS[j] = prop_events[j] TAB prop_names[j] (names carry no
 * control characters: src/config/tracking-plan.ts), and the positions of one plan event are
 * consecutive (trackingPlanParams writes them so), from FIRST for COUNT positions.
 */
const SEP = `'\\t'`;
const ENTRY_KEYS = `arrayMap((e, n) -> concat(e, ${SEP}, n), {prop_events}, {prop_names})`;
const EVENT_KEYS = 'arrayDistinct({prop_events})';
const FIRST = `transform(key, ${EVENT_KEYS}, arrayMap(e -> indexOf({prop_events}, e), ${EVENT_KEYS}), 0)`;
const COUNT = `transform(key, ${EVENT_KEYS}, arrayMap(e -> countEqual({prop_events}, e), ${EVENT_KEYS}), 0)`;
/**
 * Whether each entry is required, as numbers: the event's required entries are picked from its own
 * first (two or three of about seven), and only those are looked up among the present ones (a lambda
 * copies the present positions once per element it runs over; 1 CPU s at 10M events).
 */
const REQUIRED = `arrayMap(r -> r != '', {prop_required})`;
/** Position of each entry's alternate (its draft name) among the same event's entries; 0 when none. */
const ALTERNATE = `arrayMap((e, a) -> if(a = '', 0, indexOf(${ENTRY_KEYS}, concat(e, ${SEP}, a))), {prop_events}, {prop_alternates})`;
/**
 * Whether a value's text could be JSON other than a string (then its type is read exactly): a
 * non-string comes as its JSON text, so it is true or false, starts with { or [, or is a number,
 * whose text has only the characters of one. Anonymized values are HMACs, a sixth of which begin
 * with a digit: read by their first character alone, half the check week's values had their type
 * read again from the event's JSON (2.6M of 25.8M on the 10M bench week, against 170k non-strings).
 */
const MAYBE_NOT_STRING = (v: string) =>
  `(${v} IN ('true', 'false') OR (${v} != '' AND (position('{[', substring(${v}, 1, 1)) > 0 OR match(${v}, '^-?[0-9][-+.eE0-9]*$'))))`;

/**
 * What is wrong with a property the event carries (not null) at position `j` of the plan
 * (src/config/tracking-plan.ts), given its value as text and its JSON type: another JSON type:
 * wrong_type; a string outside its allowed values: not_allowed_value; an anonymized string that is
 * not an HMAC: not_anonymized; '' when it conforms. Absent or null required ones are found from the
 * positions (missing_required below). Only what is wrong leaves the engine, never the value.
 */
const PROPERTY_VIOLATION = (j: string, value: string, type: string) => `multiIf(
                            ${type} != {prop_types}[${j}] AND NOT has(splitByChar('|', {prop_types}[${j}]), ${type}), 'wrong_type',
                            {prop_values}[${j}] != '' AND NOT has(splitByChar('|', {prop_values}[${j}]), ${value}), 'not_allowed_value',
                            {prop_anonymized}[${j}] != '' AND NOT match(${value}, {hash_pattern}), 'not_anonymized',
                            '')`;

export default defineQuery({
  id: 'tracking_plan',
  description:
    'The tracking plan checked: per plan event (aliases folded) events, conforming events and events per violation kind and property with one example uuid; and each connect.* event name with its first day over the look-back and its installations in the checked period (new events)',
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
  // kind 'first_seen': per connect.* event name (as sent), its first day and events over [from, to), and,
  // for a name first seen in [check_from, to) (none of its events before check_from), its installations
  // there; 0 for the other names. The report reads installations only for names first seen in the
  // checked week; counting them for every name was most of this part's cost (over the whole look-back:
  // 0.3 of 0.35 CPU s at 100k events a week; over the checked week: 1.3 CPU s at 10M events). The set
  // of names seen before check_from is read from the event column alone.
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
        uniqExactIf(${INSTALLATION}, timestamp >= toDateTime64({check_from}, 6, 'UTC') AND event NOT IN (
            SELECT event FROM events
            WHERE startsWith(event, {prefix})
                AND timestamp >= toDateTime64({from}, 6, 'UTC')
                AND timestamp < toDateTime64({check_from}, 6, 'UTC'))) AS users,
        toString(min(toDate(toTimeZone(timestamp, {timezone})))) AS first_seen,
        '' AS example
    FROM events
    WHERE startsWith(event, {prefix})
        AND timestamp >= toDateTime64({from}, 6, 'UTC')
        AND timestamp < toDateTime64({to}, 6, 'UTC')
        AND ${inBucket()}
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
                    arrayMap(j -> tuple('missing_required', {prop_names}[j]),
                        arrayFilter(j -> NOT has(present, j) AND NOT has(present, ${ALTERNATE}[j]),
                            arrayFilter(j -> ${REQUIRED}[j], range(first, first + entries)))),
                    arrayFilter(p -> tupleElement(p, 1) != '', arrayMap((v, j) -> tuple(v, {prop_names}[j]), violations, kj))) AS problems
            FROM (
                SELECT
                    event_uuid,
                    event,
                    distinct_id,
                    known,
                    planned,
                    ${FIRST} AS first,
                    ${COUNT} AS entries,
                    JSONExtractKeysAndValues(properties, 'String') AS kv,
                    arrayMap(t -> transform(concat(key, ${SEP}, tupleElement(t, 1)), ${ENTRY_KEYS}, arrayEnumerate({prop_events}), 0), kv) AS kj_all,
                    arrayMap((j, n) -> if(n = 1, j, 0), kj_all, arrayEnumerateUniq(kj_all, kj_all)) AS kj,
                    arrayMap(t -> ${MAYBE_NOT_STRING('tupleElement(t, 2)')}, kv) AS maybe,
                    arrayMap(t -> toString(JSONType(properties, tupleElement(t, 1))), arrayFilter((t, m) -> m, kv, maybe)) AS unsure_types,
                    arrayMap((j, t, m, u) -> if(j = 0, '', ${PROPERTY_VIOLATION('j', 'tupleElement(t, 2)', "if(m, unsure_types[u], 'String')")}),
                             kj, kv, maybe, arrayCumSum(maybe)) AS violations,
                    arrayFilter(j -> j > 0, kj) AS present
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
                        AND ${inBucket()}
                )
            )
        )
    )
    GROUP BY kind, event, violation, property
)
ORDER BY kind, event, violation, property
LIMIT 50000`,
});
