/**
 * Whether the data fully covers a week, so that a figure of it can be compared with another week's.
 * The one rule every week-over-week change and every trend uses (summary change, the digest and the
 * page, the highlights, the 12-week trend, the growth highlights, and any new figure with a change):
 * a week is **fully covered** unless
 *   1. no `connect.*` event falls in its first 24 hours (Monday 00:00 + 24 h, report timezone), or
 *   2. one of its 7 days has no `connect.*` event, or
 *   3. the input starts after the week begins (no `connect.*` event at or before its start).
 * With exports covering Thursday to Sunday of the week before, that week's WAU is not "the week
 * before's" WAU: comparing the two would claim a rise that is only where the files begin.
 *
 * Pure: it reads the active_users_daily rows (each day's event count and earliest event) that the
 * report already has, so it costs no query.
 */
import { DateTime } from 'luxon';
import type { Week } from './period.ts';

/** What coverage needs of a day: the active_users_daily row (day in the report timezone). */
export interface CoverageDay {
  day: string;
  events: number;
  /** the day's earliest connect.* event, UTC, `YYYY-MM-DDTHH:MM:SSZ` */
  first_event: string;
}

export interface WeekCoverage {
  /** ISO week label, e.g. 2026-W46 */
  label: string;
  /** the Monday, YYYY-MM-DD */
  monday: string;
  covered: boolean;
  /** Why not, in words ("no event on Tue Nov 10"); empty when covered. */
  reasons: string[];
}

export interface Comparison {
  comparable: boolean;
  /** Why no change is claimed, in one sentence part ("the week before, 2026-W46, is not fully covered: ..."); null when comparable. */
  reason: string | null;
}

export interface CoverageInput {
  /** Daily rows reaching back at least to the week (earlier rows show where the input starts). */
  days: readonly CoverageDay[];
  /**
   * Other evidence that the input holds connect.* events before a given instant (e.g. installations
   * first seen before the growth window); undefined when there is none.
   */
  dataBefore?: string | undefined;
}

const dayName = (day: string) => DateTime.fromISO(day, { zone: 'UTC' }).toFormat('ccc MMM d');

/** The earliest connect.* event the input shows (ISO instant), undefined when none. */
export function inputStart(input: CoverageInput): string | undefined {
  let min: number | undefined;
  for (const d of input.days) {
    if (d.events <= 0 || !d.first_event) continue;
    const ms = Date.parse(d.first_event);
    if (Number.isFinite(ms) && (min === undefined || ms < min)) min = ms;
  }
  if (input.dataBefore !== undefined) {
    const ms = Date.parse(input.dataBefore);
    if (Number.isFinite(ms) && (min === undefined || ms < min)) min = ms;
  }
  return min === undefined ? undefined : new Date(min).toISOString();
}

/** The rule above for one week. */
export function weekCoverage(input: CoverageInput, week: Week): WeekCoverage {
  const byDay = new Map(input.days.map((d) => [d.day, d]));
  const startMs = week.start.toMillis();
  const firstDayEnd = week.start.plus({ hours: 24 }).toMillis();
  const reasons: string[] = [];

  const start = inputStart(input);
  const startsAfter = start === undefined || Date.parse(start) > startMs;
  if (start === undefined) reasons.push('no event at all');
  else if (startsAfter && Date.parse(start) < week.end.toMillis()) {
    reasons.push(`the input starts after the week begins (first event ${DateTime.fromISO(start, { zone: 'utc' }).setZone(week.timezone).toFormat('ccc MMM d HH:mm')})`);
  } else if (startsAfter) reasons.push('the input starts after the week');

  if (start !== undefined && !(startsAfter && Date.parse(start) >= week.end.toMillis())) {
    // Any day's earliest event in [start, start + 24 h): a DST Monday of 23 hours reaches into Tuesday.
    const inFirst24h = input.days.some((d) => {
      if (d.events <= 0 || !d.first_event) return false;
      const ms = Date.parse(d.first_event);
      return ms >= startMs && ms < firstDayEnd;
    });
    if (!inFirst24h) reasons.push('no event in its first 24 hours');
    const empty = week.days.filter((d) => (byDay.get(d)?.events ?? 0) <= 0);
    if (empty.length) reasons.push(`no event on ${empty.map(dayName).join(', ')}`);
  }
  return { label: week.label, monday: week.days[0]!, covered: reasons.length === 0, reasons };
}

/** Whether a figure of `current` may be compared with one of `previous`, and why not. */
export function compareWeeks(current: WeekCoverage, previous: WeekCoverage, names: { current?: string; previous?: string } = {}): Comparison {
  const parts: string[] = [];
  const describe = (c: WeekCoverage, name: string) => `${name}, ${c.label}, is not fully covered (${c.reasons.join('; ')})`;
  if (!current.covered) parts.push(describe(current, names.current ?? 'this week'));
  if (!previous.covered) parts.push(describe(previous, names.previous ?? 'the week before'));
  return parts.length ? { comparable: false, reason: parts.join(', and ') } : { comparable: true, reason: null };
}

/** A change between two figures, only between covered weeks (null otherwise, or when previous is 0). */
export function coveredChange(value: number, previous: number, comparison: Comparison): number | null {
  return !comparison.comparable || previous === 0 ? null : value / previous - 1;
}
