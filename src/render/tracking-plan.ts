/**
 * The tracking plan checked, as tracking_plan.csv, the digest's one line and the page's section
 * (docs/metrics.md, "Tracking plan"). What is shown of a violation: the event, the property, the
 * count and one example event's uuid; never the offending value (the query never selects it).
 */
import type { WeeklyReport } from '../reports/weekly-report.ts';
import { planBroken, PRIVACY_VIOLATIONS, VIOLATION_LABELS, VIOLATIONS, type TrackingPlanSection } from '../reports/tracking-plan.ts';
import type { Table } from './csv.ts';
import type { DigestTable } from './digest.ts';

const int = (n: number) => Math.round(n).toLocaleString('en-US');

export function trackingPlanCsvTables(report: WeeklyReport): Record<string, Table> {
  const t = report.trackingPlan;
  if (!t) return {};
  // Per event: the `none` row (count = conforming events), then each violation kind that occurred.
  return {
    'tracking_plan.csv': {
      header: ['event', 'events', 'conforming', 'violation', 'count'],
      rows: t.events.flatMap((e) => [
        [e.event, e.events, e.conforming, 'none', e.conforming],
        ...VIOLATIONS.filter((v) => e.violations[v] > 0).map((v) => [e.event, e.events, e.conforming, v, e.violations[v]]),
      ]),
    },
  };
}

/** `connect.cluster.login` as a code span (names come from event data: no formatting, no links). */
const code = (name: string) => `\`${name.replace(/`/g, "'")}\``;

/**
 * The digest's one line about the plan, or none when every event conforms. `privacy` is true when
 * it names a possibly un-anonymized value (shown as a warning, first), false otherwise.
 */
export function trackingPlanLine(t: TrackingPlanSection | undefined): { text: string; privacy: boolean } | undefined {
  if (!t || !planBroken(t)) return undefined;
  const broken = t.totals.events - t.totals.conforming;
  const kinds = VIOLATIONS.filter((v) => t.totals.violations[v] > 0).map((v) => {
    const first = t.problems.find((p) => p.violation === v);
    const where = first ? ` (e.g. ${code(first.event)}${first.property && first.property !== 'distinct_id' ? ` ${code(first.property)}` : ''}, event ${first.example})` : '';
    return `${VIOLATION_LABELS[v]}: ${int(t.totals.violations[v])}${where}`;
  });
  return {
    text: `Tracking plan: ${int(broken)} of ${int(t.totals.events)} events break it; ${kinds.join('; ')}. See tracking_plan.csv and the report page.`,
    privacy: PRIVACY_VIOLATIONS.some((v) => t.totals.violations[v] > 0),
  };
}

/** The page's tables: every event with its counts per kind, and every violation with its example. */
export function trackingPlanPageTables(report: WeeklyReport): DigestTable[] {
  const t = report.trackingPlan;
  if (!t) return [];
  return [
    {
      title: `Tracking plan, ${report.week.label}: events that conform, and events per violation kind`,
      csv: 'tracking_plan.csv',
      header: ['event', 'events', 'conforming', ...VIOLATIONS.map((v) => v.replace(/_/g, ' '))],
      numeric: [false, true, true, ...VIOLATIONS.map(() => true)],
      rows: t.events.map((e) => [e.event, int(e.events), int(e.conforming), ...VIOLATIONS.map((v) => int(e.violations[v]))]),
      values: t.events.map((e) => [null, e.events, e.conforming, ...VIOLATIONS.map((v) => e.violations[v])]),
    },
    {
      title: 'Violations by property, with one example event (its uuid); the value itself is never shown',
      header: ['event', 'violation', 'property', 'events', 'example event'],
      numeric: [false, false, false, true, false],
      rows: t.problems.map((p) => [p.event, VIOLATION_LABELS[p.violation], p.property, int(p.count), p.example]),
      values: t.problems.map((p) => [null, null, null, p.count, null]),
      ...(t.problems.length ? {} : { note: 'Every event conforms to the plan.' }),
    },
  ];
}
