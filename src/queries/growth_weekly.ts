import { z } from 'zod';
import { count, defineQuery } from '../engine/query.ts';
import { param } from '../engine/params.ts';
import { inBucket } from '../engine/split.ts';
import { EVENT_OS, osClass, INSTALLATION } from '../engine/event-fields.ts';

const COHORT_LAGS = [1, 2, 3, 4, 5, 6, 7, 8] as const;
const NEW_OS = ['macos', 'windows', 'linux', 'other', 'unknown'] as const;

export default defineQuery({
  id: 'growth_weekly',
  description:
    'Growth accounting per ISO week (new, returning, resurrecting, dormant installations), retention counted on the later week (its active installations per cohort of 1 to 8 weeks before), and new installations per OS; first seen over the history since history_from',
  params: {
    from: param.instant('first week of the period (inclusive), UTC; a Monday 00:00 in the timezone'),
    to: param.instant('end of the period (exclusive), UTC; a Monday 00:00 in the timezone'),
    history_from: param.instant('start of the look-back for first weeks and OS (inclusive), UTC: 1970 for all history; PostHog: the horizon (docs/metrics.md)'),
    timezone: param.timezone('timezone whose weeks are counted'),
    prefix: param.string("event name prefix that makes an installation active, e.g. 'connect.'"),
    user_buckets: param.int('split the installations into this many disjoint buckets (1 = all); see split'),
    user_bucket: param.int('which bucket, 0 to user_buckets - 1'),
  },
  // "First seen" needs an installation's history, so a remote engine never cuts the query by time;
  // buckets of installations keep each installation's weeks together, and every column is a count
  // that adds up. Every column of a week's row depends only on events before that week's end (first
  // weeks and OS are as of then; retention sits on the later week's row, cohort_wK), so the embedded
  // engine may run it one week at a time and keep the closed weeks (weekParts); the 1970-01-01 row
  // depends on the part's `from` and is taken from the earliest part.
  // Installations first seen before week X+1 are those first seen before X plus X's new ones (fold).
  split: { grain: 'installation', keys: ['week'], weekParts: { column: 'week', fold: { sum: ['new'] } } },
  // Reads properties only through EVENT_OS, as the latest OS carried (src/engine/query.ts).
  servedByState: true,
  row: z.object({
    week: z.string(),
    new: count(),
    returning: count(),
    resurrecting: count(),
    dormant: count(),
    cohort_w1: count(),
    cohort_w2: count(),
    cohort_w3: count(),
    cohort_w4: count(),
    cohort_w5: count(),
    cohort_w6: count(),
    cohort_w7: count(),
    cohort_w8: count(),
    new_macos: count(),
    new_windows: count(),
    new_linux: count(),
    new_other: count(),
    new_unknown: count(),
    // The weekly active counts (active_users_weekly's columns), so a report can drop that request.
    active_users: count(),
    events: count(),
  }),
  // Per installation: its active weeks (a connect.* event) since {history_from}, its first active
  // week, and its OS as of that week (the platform_share rule: latest event carrying one, carried
  // forward week by week). Then one row per installation and week of the period in which it was
  // active or was active the week before, classified:
  //   new          active, first active week = this week
  //   returning    active this week and the week before
  //   resurrecting active, not the week before, first seen earlier
  //   dormant      active the week before, not this week
  // cohort_wK: the installations active this week whose first active week is K weeks before it. The
  // retention of week W's cohort in week W+K is thus read from W+K's row: kept on W's own row it would
  // change for 8 weeks after W ended, and a closed week's row could not be kept (weekParts). Cohorts
  // before the period count too: a part run for one week has every cohort before it.
  // The row for week 1970-01-01 counts in `new` the installations first seen before the period: if it
  // is 0, the data starts inside the period (its first covered week cannot tell new from resurrecting).
  // Reads: the period and the week before it in full; before that only what decides a first week and
  // an OS (on the embedded engine the store serves that part from derived state: docs/architecture.md).
  // No date is computed from a parameter with toDate (HogQL prints that as toDateOrNull): the period's
  // weeks come from toMonday over the instants.
  sql: `
SELECT
    if(wk < from_week, '1970-01-01', toString(wk)) AS week,
    countIf(wk < from_week OR cohort) AS new,
    countIf(act AND prev) AS returning,
    countIf(act AND NOT prev AND NOT cohort) AS resurrecting,
    countIf(prev AND NOT act) AS dormant,
${COHORT_LAGS.map((k) => `    countIf(act AND first_week = subtractDays(wk, ${7 * k})) AS cohort_w${k},`).join('\n')}
${NEW_OS.map((os) => `    countIf(cohort AND first_os = '${os}') AS new_${os},`).join('\n')}
    countIf(act) AS active_users,
    sumIf(arrayElement(counts, indexOf(weeks, wk)), act) AS events
FROM (
    SELECT
        wk,
        weeks,
        counts,
        first_week,
        first_os,
        from_week,
        wk >= from_week AND has(weeks, wk) AS act,
        wk >= from_week AND has(weeks, subtractDays(wk, 7)) AS prev,
        wk >= from_week AND first_week = wk AS cohort
    FROM (
        SELECT
            weeks,
            counts,
            first_week,
            ${osClass('first_os_raw')} AS first_os,
            toMonday(toTimeZone(toDateTime64({from}, 6, 'UTC'), {timezone})) AS from_week,
            toMonday(toTimeZone(toDateTime64({to}, 6, 'UTC'), {timezone})) AS to_week,
            arrayJoin(arrayConcat(
                arrayFilter(x -> first_week < from_week, [subtractDays(from_week, 7)]),
                arrayFilter(w -> w >= from_week AND w < to_week,
                            arrayDistinct(arrayConcat(weeks, arrayMap(w -> addDays(w, 7), weeks)))))) AS wk
        FROM (
            SELECT
                installation,
                groupArrayIf(week, active) AS weeks,
                groupArrayIf(week_events, active) AS counts,
                minIf(week, active) AS first_week,
                argMinIf(os_raw, week, active) AS first_os_raw
            FROM (
                SELECT
                    installation,
                    week,
                    active,
                    week_events,
                    ifNull(anyLast(os_seen) OVER (PARTITION BY installation ORDER BY week ASC
                                                 ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW), '') AS os_raw
                FROM (
                    SELECT
                        installation,
                        toMonday(toDate(toTimeZone(timestamp, {timezone}))) AS week,
                        countIf(startsWith(event, {prefix})) AS week_events,
                        week_events > 0 AS active,
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
            GROUP BY installation
            HAVING countIf(active) > 0
        )
    )
)
GROUP BY week
ORDER BY week`,
});
