import { describe, expect, it } from 'vitest';
import { DateTime } from 'luxon';
import { directionOf, weeklyHighlights, MIN_USERS } from '../src/reports/highlights.ts';
import { buildWeeklyReport, type WeeklyResults } from '../src/reports/weekly-report.ts';
import { parseWeek, previousWeek } from '../src/reports/period.ts';
import { parseCatalog } from '../src/config/catalog.ts';
import { emptyDataQuality } from '../src/reports/data-quality.ts';
import { readFileSync } from 'node:fs';
import { DEFAULT_CATALOG } from '../src/config/config.ts';

const catalog = parseCatalog(readFileSync(DEFAULT_CATALOG, 'utf8'), 'catalog');
const week = parseWeek('2026-W47', 'UTC', new Date());
const prev = previousWeek(week);

/** A report from hand-made rows: `wau` this week and last; DAU spread evenly. */
function reportWith(opts: { wau: [number, number]; dau: [number, number]; ssh: [number, number]; linux?: [number, number] }) {
  const day = (w: typeof week, n: number) => w.days.map((d) => ({ day: d, active_users: n, events: n, late_events: 0, first_event: `${d}T08:00:00Z`, last_event: `${d}T20:00:00Z` }));
  // The input starts the day before the week before (a Sunday), so both weeks are fully covered
  // (src/reports/coverage.ts): otherwise no change would be called at all.
  const sundayBefore = DateTime.fromISO(prev.days[0]!).minus({ days: 1 }).toISODate()!;
  const results: WeeklyResults = {
    daily: [{ day: sundayBefore, active_users: 1, events: 1, late_events: 0, first_event: `${sundayBefore}T08:00:00Z`, last_event: `${sundayBefore}T08:00:00Z` }, ...day(prev, opts.dau[1]), ...day(week, opts.dau[0])],
    weekly: [
      { week: prev.days[0]!, active_users: opts.wau[1], events: 100 },
      { week: week.days[0]!, active_users: opts.wau[0], events: 100 },
    ],
    features: [],
    protocols: [
      { week: prev.days[0]!, protocol: 'ssh', events: 9, users: opts.ssh[1] },
      { week: week.days[0]!, protocol: 'ssh', events: 9, users: opts.ssh[0] },
      { week: prev.days[0]!, protocol: 'db', events: 9, users: 30 },
      { week: week.days[0]!, protocol: 'db', events: 9, users: 31 },
    ],
    platforms: opts.linux
      ? [
          { week: prev.days[0]!, os: 'linux', users: opts.linux[1] },
          { week: week.days[0]!, os: 'linux', users: opts.linux[0] },
        ]
      : [],
  };
  return buildWeeklyReport({ week, previousWeek: prev, source: 'files', eventPrefix: 'connect.', catalog, results, dataQuality: emptyDataQuality('test'), generatedAt: DateTime.utc().toJSDate() });
}

describe('highlights', () => {
  it('the trend rule: both weeks at least 20 installations and a change of at least 10%', () => {
    expect(MIN_USERS).toBe(20);
    expect(directionOf(110, 100, 110, 100)).toBe('up');
    expect(directionOf(109, 100, 109, 100)).toBe('steady');
    expect(directionOf(89, 100, 89, 100)).toBe('down');
    expect(directionOf(19, 10, 19, 10)).toBe('too-few');
    expect(directionOf(40, 19, 40, 19)).toBe('too-few');
  });

  it('says WAU rose, with the size, when it did; and follows the figure when it changes', () => {
    const up = weeklyHighlights(reportWith({ wau: [1200, 1000], dau: [500, 500], ssh: [300, 300] }));
    expect(up.find((h) => h.subject === 'wau')!.text).toBe('Weekly active installations rose 20% (1,000 → 1,200).');
    const down = weeklyHighlights(reportWith({ wau: [850, 1000], dau: [500, 500], ssh: [300, 300] }));
    expect(down.find((h) => h.subject === 'wau')!.text).toBe('Weekly active installations fell 15% (1,000 → 850).');
    const flat = weeklyHighlights(reportWith({ wau: [1050, 1000], dau: [500, 500], ssh: [300, 300] }));
    expect(flat.find((h) => h.subject === 'wau')!.text).toBe('Weekly active installations held steady (1,000 → 1,050, +5%).');
    const small = weeklyHighlights(reportWith({ wau: [15, 5], dau: [3, 1], ssh: [3, 1] }));
    expect(small.find((h) => h.subject === 'wau')!.direction).toBe('too-few');
    expect(small.find((h) => h.subject === 'wau')!.text).toMatch(/too few installations to call a trend/);
  });

  it('stickiness in words: average DAU / WAU', () => {
    // 500/1000 = 50% last week, 300/1000 = 30% this week: a 40% relative fall.
    const h = weeklyHighlights(reportWith({ wau: [1000, 1000], dau: [300, 500], ssh: [300, 300] })).find((x) => x.subject === 'stickiness')!;
    expect(h.direction).toBe('down');
    expect(h.text).toBe('Stickiness fell 40% (50% → 30%).');
  });

  it('names the protocol and platform that moved most, ignoring small or steady ones', () => {
    const hs = weeklyHighlights(reportWith({ wau: [1000, 1000], dau: [500, 500], ssh: [260, 200], linux: [60, 100] }));
    expect(hs.find((h) => h.subject.startsWith('protocol:'))!.text).toBe('Protocol that grew most: `ssh`, 200 → 260 installations (+30%).');
    expect(hs.find((h) => h.subject.startsWith('platform:'))!.text).toBe('Platform that shrank most: `linux`, 100 → 60 installations (−40%).');
    // db moved 30 -> 31 (steady): never named. A steady ssh leaves no protocol highlight at all.
    const none = weeklyHighlights(reportWith({ wau: [1000, 1000], dau: [500, 500], ssh: [300, 305] }));
    expect(none.some((h) => h.subject.startsWith('protocol:'))).toBe(false);
  });
});

/** A daily row with events for every day from `from` to `to` (inclusive): the data covers them all. */
function everyDay(from: string, to: string, skip: string[] = []) {
  const out: WeeklyResults['daily'] = [];
  for (let d = DateTime.fromISO(from); d.toISODate()! <= to; d = d.plus({ days: 1 })) {
    const day = d.toISODate()!;
    if (!skip.includes(day)) out.push({ day, active_users: 1, events: 1, late_events: 0, first_event: `${day}T08:00:00Z`, last_event: `${day}T08:00:00Z` });
  }
  return out;
}

describe('history highlights: the 12-week trend and new events', () => {
  const trendReport = (firstWau: number, lastWau: number, firstSeen: Array<{ event: string; first_seen: string; users: number }>) => {
    const weeks = Array.from({ length: 12 }, (_, i) => week.start.minus({ weeks: 11 - i }).toISODate()!);
    const results: WeeklyResults = {
      daily: everyDay(week.start.minus({ weeks: 12 }).toISODate()!, week.days[6]!),
      weekly: weeks.map((w, i) => ({ week: w, active_users: i === 0 ? firstWau : i === 11 ? lastWau : 100, events: 1 })),
      features: [],
      protocols: [],
      platforms: [],
      firstSeen,
    };
    return buildWeeklyReport({ week, previousWeek: prev, source: 'files', eventPrefix: 'connect.', catalog, results, dataQuality: emptyDataQuality('t'), generatedAt: new Date() });
  };
  // The look-back starts 12 weeks before 2026-W47: Monday 2026-08-24.
  const old = { event: 'connect.cluster.login', first_seen: '2026-08-25', users: 900 };

  it('calls the 12-week trend when the data covers it, and names events first seen this week', () => {
    const r = trendReport(400, 600, [old, { event: 'connect.vnet.start', first_seen: '2026-11-18', users: 42 }]);
    expect(r.historyCovered).toBe(true);
    const hs = weeklyHighlights(r);
    expect(hs.find((h) => h.subject === 'trend')!.text).toBe('Over 12 weeks, weekly active installations rose 50% (400 in the week of 2026-08-31 → 600).');
    expect(hs.find((h) => h.subject === 'new-events')!.text).toBe('New this week, never seen in the 12 weeks before: `connect.vnet.start` (42 installations).');
  });

  it('follows the figures: a fall, and no new events when none is new', () => {
    const hs = weeklyHighlights(trendReport(600, 300, [old]));
    expect(hs.find((h) => h.subject === 'trend')!.text).toMatch(/^Over 12 weeks, weekly active installations fell 50%/);
    expect(hs.some((h) => h.subject === 'new-events')).toBe(false);
  });

  it('says so, and claims nothing, when the data starts inside the 12 weeks', () => {
    const r = trendReport(400, 600, [{ event: 'connect.cluster.login', first_seen: '2026-10-20', users: 900 }, { event: 'connect.vnet.start', first_seen: '2026-11-18', users: 42 }]);
    expect(r.historyCovered).toBe(false);
    expect(r.newEvents).toEqual([]);
    const hs = weeklyHighlights(r);
    expect(hs.find((h) => h.subject === 'history')!.text).toMatch(/covers less than 12 weeks/);
    expect(hs.some((h) => h.subject === 'trend' || h.subject === 'new-events')).toBe(false);
  });
});

describe('completeness of the week', () => {
  /** `weeksBefore[0]` is the week before, `[1]` two weeks before, ...: events per day Mon..Sun. */
  const build = (thisWeek: number[], weeksBefore: number[][], late: number[] = [0, 0, 0, 0, 0, 0, 0]) => {
    const earlier = weeksBefore.flatMap((days, w) =>
      week.days.map((d, i) => ({ day: DateTime.fromISO(d).minus({ weeks: w + 1 }).toISODate()!, active_users: 1, events: days[i]!, late_events: 0, first_event: `${d}T08:00:00Z`, last_event: `${d}T20:00:00Z` })),
    );
    const results: WeeklyResults = {
      daily: [
        ...earlier.filter((r) => r.events > 0),
        ...week.days.map((d, i) => ({ day: d, active_users: 1, events: thisWeek[i]!, late_events: late[i]!, first_event: `${d}T08:00:00Z`, last_event: `${d}T20:00:00Z` })).filter((r) => r.events > 0),
      ],
      weekly: [],
      features: [],
      protocols: [],
      platforms: [],
    };
    return buildWeeklyReport({ week, previousWeek: prev, source: 'files', eventPrefix: 'connect.', catalog, results, dataQuality: emptyDataQuality('t'), generatedAt: new Date() }).completeness;
  };

  it('flags a day with no events, and a day under half the same weekday of the week before when the data starts there', () => {
    // Mon..Sun. Saturday is quiet both weeks (weekends are): not flagged. Wednesday has nothing;
    // Friday has 40 against 100.
    const c = build([100, 100, 0, 100, 40, 30, 30], [[100, 100, 100, 100, 100, 30, 30]], [1, 0, 0, 2, 0, 0, 0]);
    expect(c.suspectDays).toEqual([
      { date: '2026-11-18', events: 0, trailingMedian: 100 },
      { date: '2026-11-20', events: 40, trailingMedian: 100 },
    ]);
    expect(c.lateEvents).toBe(3);
    expect(c.firstDay).toBe('2026-11-16');
    expect(c.lastDay).toBe('2026-11-22');
    // Wednesday had no event: the week's first and last event times come from Monday and Sunday.
    expect(c.firstEvent).toBe('2026-11-16T08:00:00Z');
    expect(c.lastEvent).toBe('2026-11-22T20:00:00Z');
  });

  it('compares with the median of the same weekday over the 4 trailing weeks, not one week alone', () => {
    // Fridays before: 300 (a spike), 100, 100, 90 -> median 100. This Friday 100: fine, though it is a
    // third of the week before. Tuesdays before: 100, 100, 20 (an outage), 100 -> median 100; this Tuesday 45: flagged.
    const c = build([100, 45, 100, 100, 100, 30, 30], [
      [100, 100, 100, 100, 300, 30, 30],
      [100, 100, 100, 100, 100, 30, 30],
      [100, 20, 100, 100, 100, 30, 30],
      [100, 100, 100, 100, 90, 30, 30],
    ]);
    expect(c.suspectDays).toEqual([{ date: '2026-11-17', events: 45, trailingMedian: 100 }]);
  });

  it('a normal week raises nothing', () => {
    const c = build([90, 100, 110, 100, 95, 30, 35], [[100, 100, 100, 100, 100, 30, 30]]);
    expect(c.suspectDays).toEqual([]);
  });
});

