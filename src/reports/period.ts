import { DateTime } from 'luxon';
import { UsageError } from '../lib/errors.ts';

/**
 * An ISO week in a timezone: Monday 00:00 to the next Monday 00:00, local time. Across a DST
 * change the week has 167 or 169 hours; it always has 7 calendar days.
 */
export interface Week {
  /** `2026-W47` */
  label: string;
  timezone: string;
  start: DateTime;
  end: DateTime;
  /** The 7 calendar days, `YYYY-MM-DD`, Monday first. */
  days: string[];
}

const WEEK_SPEC = /^(\d{4})-W(\d{2})$/;

/** A week from `2026-W47` or `last` (the last complete week in the timezone at `now`). */
/** Years a week may be in: the engines' dates start in 1970, and nothing of Connect predates 2000. */
const FIRST_YEAR = 2000;
const LAST_YEAR = 2099;

/** `flag` names the option in messages (`--week`, or backfill's `--from` / `--to`). */
export function parseWeek(spec: string, timezone: string, now: Date, flag = '--week'): Week {
  if (spec === 'last') {
    const thisMonday = DateTime.fromJSDate(now, { zone: timezone }).startOf('week');
    return weekStarting(thisMonday.minus({ weeks: 1 }), timezone);
  }
  const match = WEEK_SPEC.exec(spec);
  if (!match) throw new UsageError(`${flag} ${spec}: expected an ISO week like 2026-W47, or last`);
  const year = Number(match[1]);
  const week = Number(match[2]);
  if (year < FIRST_YEAR || year > LAST_YEAR) {
    throw new UsageError(`${flag} ${spec}: expected a week of a year from ${FIRST_YEAR} to ${LAST_YEAR}`, { hint: `for example ${flag} 2026-W47, or ${flag} last` });
  }
  const probe = DateTime.fromObject({ weekYear: year, weekNumber: 1 }, { zone: timezone });
  if (week < 1 || week > probe.weeksInWeekYear) {
    throw new UsageError(`${flag} ${spec}: ${year} has weeks W01 to W${probe.weeksInWeekYear}`, {
      hint: `try ${flag} ${year}-W${String(probe.weeksInWeekYear).padStart(2, '0')} or ${flag} last`,
    });
  }
  return weekStarting(DateTime.fromObject({ weekYear: year, weekNumber: week, weekday: 1 }, { zone: timezone }), timezone);
}

export function weekStarting(monday: DateTime, timezone: string): Week {
  const start = monday.setZone(timezone).startOf('day');
  const end = start.plus({ weeks: 1 });
  const days = Array.from({ length: 7 }, (_, i) => start.plus({ days: i }).toISODate()!);
  return { label: `${start.weekYear}-W${String(start.weekNumber).padStart(2, '0')}`, timezone, start, end, days };
}

export function previousWeek(week: Week): Week {
  return weekStarting(week.start.minus({ weeks: 1 }), week.timezone);
}

/** The instant format query parameters take: UTC, microseconds. */
export function toInstant(at: DateTime): string {
  return at.toUTC().toFormat("yyyy-MM-dd HH:mm:ss.SSS'000'");
}

/** Calendar days from `from` to `to` (both `YYYY-MM-DD`, `to` exclusive) as a half-open instant range. */
export function dayRange(from: string, to: string, timezone: string): { from: string; to: string } {
  const start = DateTime.fromISO(from, { zone: timezone });
  const end = DateTime.fromISO(to, { zone: timezone });
  if (!start.isValid) throw new UsageError(`--from ${from}: expected a date like 2026-11-16`);
  if (!end.isValid) throw new UsageError(`--to ${to}: expected a date like 2026-11-23`);
  if (end <= start) throw new UsageError(`--to ${to} must be after --from ${from}`);
  return { from: toInstant(start), to: toInstant(end) };
}

/**
 * A week that has not ended (the current one, a future one) has no complete figures: refused as a
 * usage error naming the last complete week, unless a partial week is asked for on purpose
 * (`--allow-incomplete`; the report then marks every figure of it "partial").
 */
export function requireEnded(week: Week, now: Date, options: { allowIncomplete?: boolean | undefined; flag?: string } = {}): void {
  if (options.allowIncomplete || week.end.toMillis() <= now.getTime()) return;
  const last = parseWeek('last', week.timezone, now).label;
  const when = week.start.toMillis() > now.getTime() ? 'has not begun' : 'has not ended';
  throw new UsageError(`${options.flag ?? '--week'} ${week.label}: the week ${when} (${week.timezone}); the last complete week is ${last}`, {
    hint: `try --week ${last}, or add --allow-incomplete to report the week so far (marked partial)`,
  });
}
