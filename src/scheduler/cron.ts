/**
 * Cron schedules as pure functions of time: which instants a 5-field cron expression fires at in a
 * timezone, between two instants. The scheduler, catch-up, `status` and the soak test all ask this
 * one function, so the real trigger (node-cron) and the fake clock agree on what "scheduled" means.
 *
 * Fields: minute hour day-of-month month day-of-week (0-7, 0 and 7 = Sunday; names MON..SUN and
 * JAN..DEC allowed), each `*`, a number, a range `a-b`, a step `*\/n` or `a-b/n`, or a list of those.
 * Day-of-month and day-of-week: when both are restricted, either may match (as in cron and node-cron).
 *
 * Daylight saving time, as node-cron and Vixie cron do for wall-clock schedules:
 * - a local time that does not exist (spring forward, e.g. 02:30 in Europe/Berlin on the last Sunday
 *   of March) does not fire that day (as node-cron: test/cron.test.ts compares the two);
 * - a local time that happens twice (fall back) fires once, at its second occurrence (as node-cron).
 * A 09:00 schedule therefore stays at 09:00 local all year (08:00 or 07:00 UTC in Berlin).
 */
import { DateTime } from 'luxon';
import { ConfigError } from '../lib/errors.ts';
import { isValidTimeZone } from '../engine/params.ts';

export interface CronSchedule {
  expression: string;
  timezone: string;
  minutes: ReadonlySet<number>;
  hours: ReadonlySet<number>;
  daysOfMonth: ReadonlySet<number>;
  months: ReadonlySet<number>;
  /** 1 = Monday .. 7 = Sunday (luxon's weekday numbers). */
  weekdays: ReadonlySet<number>;
  domRestricted: boolean;
  dowRestricted: boolean;
}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

/**
 * Parses `expression` for `timezone`. `setting` names where the expression came from (a config key or
 * a flag), so an error says which setting to fix.
 */
export function parseCron(expression: string, timezone: string, setting = 'schedule'): CronSchedule {
  const fail = (why: string): never => {
    throw new ConfigError(`${setting} "${expression}": ${why}`, {
      hint: 'five fields: minute hour day-of-month month day-of-week, e.g. "0 9 * * MON" for Mondays at 09:00',
    });
  };
  if (!isValidTimeZone(timezone)) {
    throw new ConfigError(`${setting}: timezone ${timezone} is not an IANA timezone`, { hint: 'use a name such as UTC, Europe/Berlin or America/Los_Angeles' });
  }
  const fields = expression.trim().split(/\s+/);
  if (fields.length !== 5) fail(`expected 5 fields, found ${fields.length}${fields.length === 6 ? ' (seconds are not supported)' : ''}`);
  const [min, hour, dom, mon, dow] = fields as [string, string, string, string, string];
  const field = (text: string, name: string, lo: number, hi: number, names?: string[], nameBase = 0): Set<number> => {
    const out = new Set<number>();
    const value = (t: string): number => {
      const upper = t.toUpperCase();
      if (names && names.includes(upper)) return names.indexOf(upper) + nameBase;
      if (!/^\d+$/.test(t)) return fail(`${name} field: "${t}" is not a number${names ? ` or a name (${names.join(', ')})` : ''}`);
      const n = Number(t);
      if (n < lo || n > hi) fail(`${name} field: ${n} is outside ${lo}-${hi}`);
      return n;
    };
    for (const part of text.split(',')) {
      const m = /^([^/]+)(?:\/(\d+))?$/.exec(part);
      if (!m) fail(`${name} field: "${part}" is not understood`);
      const [, range, stepText] = m!;
      const step = stepText === undefined ? 1 : Number(stepText);
      if (step < 1) fail(`${name} field: step ${stepText} must be at least 1`);
      let a: number;
      let b: number;
      if (range === '*') [a, b] = [lo, hi];
      else if (range!.includes('-')) {
        const [x, y, ...rest] = range!.split('-');
        if (rest.length || x === undefined || y === undefined) return fail(`${name} field: "${range}" is not a range`);
        [a, b] = [value(x), value(y)];
        if (a > b) fail(`${name} field: range ${range} runs backwards`);
      } else {
        a = value(range!);
        b = stepText === undefined ? a : hi;
      }
      for (let i = a; i <= b; i += step) out.add(i);
    }
    return out;
  };
  const minutes = field(min, 'minute', 0, 59);
  const hours = field(hour, 'hour', 0, 23);
  const daysOfMonth = field(dom, 'day-of-month', 1, 31);
  const months = field(mon, 'month', 1, 12, MONTHS, 1);
  const cronDays = field(dow, 'day-of-week', 0, 7, DAYS, 0);
  const weekdays = new Set([...cronDays].map((d) => (d === 0 ? 7 : d)));
  return {
    expression,
    timezone,
    minutes,
    hours,
    daysOfMonth,
    months,
    weekdays,
    domRestricted: dom.trim() !== '*',
    dowRestricted: dow.trim() !== '*',
  };
}

function dayMatches(s: CronSchedule, day: DateTime): boolean {
  if (!s.months.has(day.month)) return false;
  const dom = s.daysOfMonth.has(day.day);
  const dow = s.weekdays.has(day.weekday);
  if (s.domRestricted && s.dowRestricted) return dom || dow;
  if (s.domRestricted) return dom;
  if (s.dowRestricted) return dow;
  return true;
}

/**
 * The instant a local wall time happens in `zone`: the second one when it happens twice (fall back, as node-cron),
 * none when it does not happen (spring forward).
 */
export function wallTimeInstant(year: number, month: number, day: number, hour: number, minute: number, zone: string): Date | undefined {
  const naive = Date.UTC(year, month - 1, day, hour, minute);
  const offsetAt = (ms: number) => DateTime.fromMillis(ms, { zone }).offset;
  const offsets = new Set([offsetAt(naive - 3 * 3_600_000), offsetAt(naive + 3 * 3_600_000)]);
  const found = [...offsets].map((o) => naive - o * 60_000).filter((t) => offsetAt(t) * 60_000 === naive - t);
  return found.length ? new Date(Math.max(...found)) : undefined;
}

/** The fire instants of one local calendar day, in order (DST rules in the module comment). */
function fireTimesOfDay(s: CronSchedule, day: DateTime): Date[] {
  const out = new Map<number, Date>();
  const hours = [...s.hours].sort((a, b) => a - b);
  const minutes = [...s.minutes].sort((a, b) => a - b);
  // Most days have one offset from start to end: then each wall time is simply naive - offset.
  const naiveMidnight = Date.UTC(day.year, day.month - 1, day.day);
  const offsetAt = (ms: number) => DateTime.fromMillis(ms, { zone: s.timezone }).offset;
  const o1 = offsetAt(naiveMidnight - 14 * 3_600_000);
  const o2 = offsetAt(naiveMidnight + 38 * 3_600_000);
  for (const hour of hours) {
    for (const minute of minutes) {
      const at =
        o1 === o2
          ? new Date(naiveMidnight + (hour * 60 + minute - o1) * 60_000)
          : wallTimeInstant(day.year, day.month, day.day, hour, minute, s.timezone);
      if (!at) continue;
      out.set(at.getTime(), at);
    }
  }
  return [...out.values()].sort((a, b) => a.getTime() - b.getTime());
}

/** Fire instants after `after` (exclusive), oldest first, day by day up to `lastDay` (local). */
function* fireTimesFrom(s: CronSchedule, after: Date, lastDay: DateTime): Generator<Date> {
  let day = DateTime.fromJSDate(after, { zone: s.timezone }).startOf('day');
  while (day <= lastDay) {
    if (dayMatches(s, day)) {
      for (const t of fireTimesOfDay(s, day)) if (t > after) yield t;
    }
    day = day.plus({ days: 1 }).startOf('day');
  }
}

/** Every fire instant `t` with `after < t <= until`, oldest first. */
export function fireTimesBetween(s: CronSchedule, after: Date, until: Date): Date[] {
  const out: Date[] = [];
  if (until <= after) return out;
  for (const t of fireTimesFrom(s, after, DateTime.fromJSDate(until, { zone: s.timezone }).startOf('day'))) {
    if (t > until) break;
    out.push(t);
  }
  return out;
}

/** The first fire instant strictly after `after` (searches up to 5 years ahead; undefined if none, e.g. 30 February). */
export function nextFireTime(s: CronSchedule, after: Date): Date | undefined {
  const lastDay = DateTime.fromJSDate(after, { zone: s.timezone }).startOf('day').plus({ years: 5 });
  for (const t of fireTimesFrom(s, after, lastDay)) return t;
  return undefined;
}

/** The last fire instant at or before `at`, if any within the past `lookbackDays`. */
export function previousFireTime(s: CronSchedule, at: Date, lookbackDays = 400): Date | undefined {
  const found = fireTimesBetween(s, new Date(at.getTime() - lookbackDays * 86_400_000), at);
  return found[found.length - 1];
}
