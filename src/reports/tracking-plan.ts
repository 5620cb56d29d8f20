/**
 * The tracking plan checked (config/tracking-plan.json): per event, how many of the week's events
 * conform, and the violations by kind and property with where one example is (the event's uuid).
 * The offending value itself is never selected by the query, so it cannot reach a report.
 * Also the connect.* event names first seen in the look-back, from the same query (new events).
 */
import type { RowOf } from '../engine/query.ts';
import type tracking_plan from '../queries/tracking_plan.ts';
import type { TrackingPlan } from '../config/tracking-plan.ts';

export type TrackingPlanRow = RowOf<typeof tracking_plan>;

export const TRACKING_PLAN_ROWS_LIMIT = 50_000;

/** The violation kinds, in the order of tracking_plan.csv (after `none`). */
export const VIOLATIONS = ['missing_required', 'not_allowed_value', 'wrong_type', 'not_anonymized', 'bad_distinct_id', 'unknown_event'] as const;
export type Violation = (typeof VIOLATIONS)[number];

/** Kinds that may mean a value that should have been anonymized was not: the daily check alerts on them. */
export const PRIVACY_VIOLATIONS: readonly Violation[] = ['not_anonymized', 'bad_distinct_id'];

export const VIOLATION_LABELS: Record<Violation, string> = {
  missing_required: 'missing required property',
  not_allowed_value: 'value outside the allowed set',
  wrong_type: 'wrong type',
  not_anonymized: 'not an HMAC where one belongs (possibly un-anonymized)',
  bad_distinct_id: 'distinct_id is not connect. + a UUID',
  unknown_event: 'event the plan does not know',
};

export interface PlanEventCheck {
  event: string;
  /** false for a connect.* event the plan does not know */
  known: boolean;
  events: number;
  conforming: number;
  /** Events with at least one violation of each kind. */
  violations: Record<Violation, number>;
}

export interface PlanProblem {
  event: string;
  violation: Violation;
  /** The property ('distinct_id' for its check, '' for an unknown event). */
  property: string;
  /** Events with this violation on this property. */
  count: number;
  /** The uuid of one such event (the least): where to look, never the value. */
  example: string;
}

export interface TrackingPlanSection {
  /** Every plan event in plan order (zeros included), then unknown names by events descending, name ascending. */
  events: PlanEventCheck[];
  /** Every violation by event, kind and property, in the order of `events` then kind then property. */
  problems: PlanProblem[];
  totals: { events: number; conforming: number; violations: Record<Violation, number> };
}

const zero = (): Record<Violation, number> => Object.fromEntries(VIOLATIONS.map((v) => [v, 0])) as Record<Violation, number>;
const isViolation = (v: string): v is Violation => (VIOLATIONS as readonly string[]).includes(v);

export function buildTrackingPlan(rows: readonly TrackingPlanRow[], plan: TrackingPlan): TrackingPlanSection {
  if (rows.length >= TRACKING_PLAN_ROWS_LIMIT) {
    throw new Error(`tracking_plan returned ${rows.length} rows, its limit: too many distinct event names or violations to list`);
  }
  const byEvent = new Map<string, PlanEventCheck>();
  for (const e of plan.events) byEvent.set(e.event, { event: e.event, known: true, events: 0, conforming: 0, violations: zero() });
  const unknown: PlanEventCheck[] = [];
  for (const r of rows.filter((r) => r.kind === 'event')) {
    let check = byEvent.get(r.event);
    if (!check) {
      check = { event: r.event, known: false, events: 0, conforming: 0, violations: zero() };
      byEvent.set(r.event, check);
      unknown.push(check);
    }
    check.events = r.events;
    check.conforming = r.conforming;
  }
  for (const r of rows.filter((r) => r.kind === 'violation')) {
    const check = byEvent.get(r.event);
    if (check && isViolation(r.violation)) check.violations[r.violation] = r.events;
  }
  unknown.sort((a, b) => b.events - a.events || (a.event < b.event ? -1 : a.event > b.event ? 1 : 0));
  const events = [...plan.events.map((e) => byEvent.get(e.event)!), ...unknown];
  const order = new Map(events.map((e, i) => [e.event, i]));
  const problems = rows
    .filter((r) => r.kind === 'property' && isViolation(r.violation))
    .map((r) => ({ event: r.event, violation: r.violation as Violation, property: r.property, count: r.events, example: r.example }))
    .sort(
      (a, b) =>
        (order.get(a.event) ?? 0) - (order.get(b.event) ?? 0) ||
        VIOLATIONS.indexOf(a.violation) - VIOLATIONS.indexOf(b.violation) ||
        (a.property < b.property ? -1 : a.property > b.property ? 1 : 0),
    );
  const totals = { events: 0, conforming: 0, violations: zero() };
  for (const e of events) {
    totals.events += e.events;
    totals.conforming += e.conforming;
    for (const v of VIOLATIONS) totals.violations[v] += e.violations[v];
  }
  return { events, problems, totals };
}

/** The first_seen rows as the new-event detection reads them (event name as sent, first day, installations). */
export function firstSeenOf(rows: readonly TrackingPlanRow[]): Array<{ event: string; first_seen: string; users: number }> {
  return rows.filter((r) => r.kind === 'first_seen').map((r) => ({ event: r.event, first_seen: r.first_seen, users: r.users }));
}

/** Whether anything in the week breaks the plan. */
export function planBroken(section: TrackingPlanSection): boolean {
  return section.totals.events > section.totals.conforming;
}
