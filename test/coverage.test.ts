/**
 * Issue 14, point 1: comparisons only between fully covered weeks. A week is not fully covered when
 * no connect.* event falls in its first 24 hours, a day has none, or the input starts after the week
 * begins. Then no change is claimed: summary.csv's change is empty, the digest and the page show "–"
 * with the reason, no highlight compares the two weeks; the 12-week trend and the growth highlights
 * follow the same rule. Expected figures are worked out by hand in the comments.
 */
import { describe, expect, it } from 'vitest';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DateTime } from 'luxon';
import { main } from '../src/cli/main.ts';
import { weekCoverage } from '../src/reports/coverage.ts';
import { parseWeek, previousWeek } from '../src/reports/period.ts';
import { buildWeeklyReport, type WeeklyResults } from '../src/reports/weekly-report.ts';
import { weeklyHighlights } from '../src/reports/highlights.ts';
import { growthHighlights } from '../src/reports/growth-highlights.ts';
import type { GrowthSection } from '../src/reports/growth.ts';
import { emptyDataQuality } from '../src/reports/data-quality.ts';
import { parseCatalog } from '../src/config/catalog.ts';
import { DEFAULT_CATALOG } from '../src/config/config.ts';

const catalog = parseCatalog(readFileSync(DEFAULT_CATALOG, 'utf8'), 'catalog');
let n = 0;
const line = (user: string, at: string) =>
  JSON.stringify({ uuid: `0192cccc-0000-7000-8000-${String(++n).padStart(12, '0')}`, event: 'connect.cluster.login', distinct_id: user, properties: {}, timestamp: at, created_at: at });

/** One login per user per day at 10:00 UTC, for each day listed. */
function logins(users: string[], days: string[]): string[] {
  return days.flatMap((d) => users.map((u) => line(u, `${d}T10:00:00.000Z`)));
}
const W46 = ['2026-11-09', '2026-11-10', '2026-11-11', '2026-11-12', '2026-11-13', '2026-11-14', '2026-11-15'];
const W47 = ['2026-11-16', '2026-11-17', '2026-11-18', '2026-11-19', '2026-11-20', '2026-11-21', '2026-11-22'];

async function report(lines: string[]) {
  const dir = await mkdtemp(join(tmpdir(), 'cm-cov-ev-'));
  await writeFile(join(dir, 'export.jsonl'), lines.join('\n') + '\n');
  const out = await mkdtemp(join(tmpdir(), 'cm-cov-out-'));
  const stdout: string[] = [];
  const stderr: string[] = [];
  const code = await main(['report', '--week', '2026-W47', '--events', dir, '--out', join(out, 'w'), '--data-dir', join(out, 'data'), '--timezone', 'UTC', '--privacy-k', '1'], {
    stdout: (t) => stdout.push(t),
    stderr: (t) => stderr.push(t),
    clock: { now: () => new Date('2026-11-24T12:00:00Z') },
    env: {},
  });
  expect(code, stderr.join('')).toBe(0);
  const summary = (await readFile(join(out, 'w', 'summary.csv'), 'utf8')).trim().split('\n').slice(1).map((r) => r.split(','));
  return { summary, stdout: stdout.join(''), html: await readFile(join(out, 'w', 'report.html'), 'utf8'), json: JSON.parse(await readFile(join(out, 'w', 'report.json'), 'utf8')) };
}

describe('a week before covered only from Thursday (the issue\'s case)', () => {
  // W46: u1 and u2 Thursday to Sunday only (the export starts Thursday). W47: u1, u2, u3 every day.
  const lines = [...logins(['u1', 'u2'], W46.slice(3)), ...logins(['u1', 'u2', 'u3'], W47)];

  it('claims no change anywhere, and says why', async () => {
    const r = await report(lines);
    // value and previous stay (WAU 3 and 2; 21 and 8 events), change is empty in every row.
    expect(r.summary.map((row) => [row[0], row[3]])).toEqual([['wau', ''], ['avg_dau', ''], ['peak_dau', ''], ['stickiness', ''], ['events', '']]);
    expect(r.summary[0]!.slice(1, 3)).toEqual(['3', '2']);
    expect(r.summary[4]!.slice(1, 3)).toEqual(['21', '8']);
    // The digest: "–" in place of every change, and the reason.
    expect(r.stdout).toMatch(/Weekly active installations\s+3\s+–/);
    expect(r.stdout).toContain('the week before, 2026-W46, is not fully covered');
    expect(r.stdout).toContain('no event in its first 24 hours');
    expect(r.stdout).toContain('no event on Mon Nov 9, Tue Nov 10, Wed Nov 11');
    expect(r.stdout).toContain('the input starts after the week begins');
    // No highlight compares the weeks: no "+50.0%", no "rose", "fell" or "held steady".
    expect(r.stdout).not.toMatch(/[+−]\d+(\.\d)?%|\brose\b|\bfell\b|held steady|grew most|shrank most/);
    expect(r.stdout).toContain('No week-over-week change is called');
    // The page: the same reason, and "–" in the summary's change column.
    expect(r.html).toContain('No week-over-week change is claimed');
    expect(r.html).toMatch(/<td class="num[^"]*" data-value="">–<\/td>/);
    expect(r.json.comparison.comparable).toBe(false);
  });

  it('with the whole week before (and the input starting the Sunday before) the changes come back', async () => {
    // W46: u1 every day, u2 Thursday to Sunday; u1 also on Sunday Nov 8 (the input starts before W46).
    const covered = [line('u1', '2026-11-08T10:00:00.000Z'), ...logins(['u1'], W46), ...logins(['u2'], W46.slice(3)), ...logins(['u1', 'u2', 'u3'], W47)];
    const r = await report(covered);
    // By hand: W46 DAU 1,1,1,2,2,2,2 (avg 11/7), WAU 2, peak 2, 11 events, stickiness 11/14;
    // W47 DAU 3 a day, WAU 3, peak 3, 21 events, stickiness 1.
    const want = { wau: 3 / 2 - 1, avg_dau: 3 / (11 / 7) - 1, peak_dau: 3 / 2 - 1, stickiness: 1 / (11 / 14) - 1, events: 21 / 11 - 1 };
    for (const row of r.summary) expect(Number(row[3]), row[0]).toBeCloseTo(want[row[0] as keyof typeof want], 4);
    expect(r.stdout).toMatch(/Weekly active installations\s+3\s+\+50\.0%/);
    expect(r.stdout).not.toContain('No week-over-week change');
    expect(r.json.comparison.comparable).toBe(true);
  });
});

describe('the coverage rule', () => {
  const week = parseWeek('2026-W47', 'UTC', new Date('2026-12-01T00:00:00Z'));
  const row = (day: string, time = '10:00:00') => ({ day, events: 5, first_event: `${day}T${time}Z` });
  const before = row('2026-11-15');

  it('a week with an event in its first 24 hours, every day, and earlier input is covered', () => {
    expect(weekCoverage({ days: [before, ...W47.map((d) => row(d))] }, week)).toMatchObject({ covered: true, reasons: [] });
  });

  it('a day without events, or none in the first 24 hours, or input starting after the week begins is not', () => {
    const noWed = weekCoverage({ days: [before, ...W47.filter((d) => d !== '2026-11-18').map((d) => row(d))] }, week);
    expect(noWed).toMatchObject({ covered: false, reasons: ['no event on Wed Nov 18'] });
    const noMonday = weekCoverage({ days: [before, ...W47.slice(1).map((d) => row(d))] }, week);
    expect(noMonday.reasons).toEqual(['no event in its first 24 hours', 'no event on Mon Nov 16']);
    // The export starts Monday 05:00: every day has events, but the first hours may be missing.
    const lateStart = weekCoverage({ days: [row(W47[0]!, '05:00:00'), ...W47.slice(1).map((d) => row(d))] }, week);
    expect(lateStart.covered).toBe(false);
    expect(lateStart.reasons[0]).toMatch(/^the input starts after the week begins \(first event Mon Nov 16 05:00\)/);
    // An event at the very first instant counts as the input starting with the week.
    expect(weekCoverage({ days: [row(W47[0]!, '00:00:00'), ...W47.slice(1).map((d) => row(d))] }, week).covered).toBe(true);
  });

  it('first 24 hours are hours, not the calendar Monday (Los Angeles, no DST change that week)', () => {
    const la = parseWeek('2026-W47', 'America/Los_Angeles', new Date('2026-12-01T00:00:00Z'));
    // Monday 00:00 PST = 08:00Z. A first Monday event at 07:59Z is Sunday in LA: not in the week.
    const days = [{ day: '2026-11-15', events: 1, first_event: '2026-11-16T07:59:00Z' }, ...la.days.slice(1).map((d) => ({ day: d, events: 1, first_event: `${d}T20:00:00Z` }))];
    expect(weekCoverage({ days }, la).reasons).toEqual(['no event in its first 24 hours', 'no event on Mon Nov 16']);
  });
});

describe('the 12-week trend and the growth highlights follow the rule', () => {
  const week = parseWeek('2026-W47', 'UTC', new Date('2026-12-01T00:00:00Z'));
  const prev = previousWeek(week);
  const mondays = Array.from({ length: 12 }, (_, i) => week.start.minus({ weeks: 11 - i }).toISODate()!);
  const everyDay = (skip: string[]) => {
    const out: WeeklyResults['daily'] = [];
    for (let d = week.start.minus({ weeks: 12 }); d < week.end; d = d.plus({ days: 1 })) {
      const day = d.toISODate()!;
      if (!skip.includes(day)) out.push({ day, active_users: 1, events: 1, late_events: 0, first_event: `${day}T08:00:00Z`, last_event: `${day}T08:00:00Z` });
    }
    return out;
  };
  const build = (skip: string[]) =>
    buildWeeklyReport({
      week,
      previousWeek: prev,
      source: 'files',
      eventPrefix: 'connect.',
      catalog,
      results: {
        daily: everyDay(skip),
        weekly: mondays.map((w, i) => ({ week: w, active_users: i === 0 ? 400 : i === 11 ? 600 : 500, events: 10 })),
        features: [],
        protocols: [],
        platforms: [],
        firstSeen: [{ event: 'connect.cluster.login', first_seen: '2026-08-25', users: 900 }],
      },
      dataQuality: emptyDataQuality('t'),
      generatedAt: new Date('2026-11-24T00:00:00Z'),
    });

  it('a partly covered week is not a point of the trend; a partly covered end calls no trend', () => {
    const full = build([]);
    expect(full.trend.every((t) => t.covered)).toBe(true);
    expect(weeklyHighlights(full).find((h) => h.subject === 'trend')!.text).toBe('Over 12 weeks, weekly active installations rose 50% (400 in the week of 2026-08-31 → 600).');
    // A day missing in the fifth week: that week is left out, the ends still give the trend.
    const middle = build([DateTime.fromISO(mondays[4]!).plus({ days: 2 }).toISODate()!]);
    expect(middle.trend.filter((t) => !t.covered).map((t) => t.week)).toEqual([mondays[4]]);
    expect(weeklyHighlights(middle).find((h) => h.subject === 'trend')!.direction).toBe('up');
    // A day missing in the first week: no 12-week trend is called.
    const first = build([DateTime.fromISO(mondays[0]!).plus({ days: 3 }).toISODate()!]);
    const t = weeklyHighlights(first).find((h) => h.subject === 'trend')!;
    expect(t.direction).toBe('too-few');
    expect(t.text).toBe(`No 12-week trend is called: the week of ${mondays[0]} is not fully covered by the data.`);
  });

  it('growth: new installations, dormancy and the cohort comparison only between covered weeks', () => {
    const life = (i: number, nNew: number, dormant: number) => ({ week: mondays[i]!, coverage: 'covered' as const, active: 100, new: nNew, returning: 50, resurrecting: 10, dormant, quickRatio: 1 });
    const g: GrowthSection = {
      weeks: mondays,
      firstCoveredWeek: null,
      lifecycle: mondays.map((_, i) => life(i, i === 11 ? 59 : 50, i === 11 ? 40 : 41)),
      retention: mondays.map((w, i) => ({ cohort: w, coverage: 'covered' as const, size: 40, shares: [i === 11 ? null : i === 10 ? 0.5 : 0.3, null, null, null, null, null, null, null], retained: [] })),
      versions: [],
      versionTrend: [],
      releases: [],
      adoption: [],
      downloadsVsNew: [],
      cdnCounted: false,
    };
    const covered = build([]).coverage;
    const hs = growthHighlights(g, covered);
    expect(hs.find((h) => h.subject === 'new-installations')!.text).toBe('New installations up 18% week over week (50 → 59).');
    expect(hs.find((h) => h.subject === 'retention-w1')!.text).toMatch(/\(up from 30% for the cohort before\)/);
    // The week before loses a day: nothing is compared.
    const partly = build([prev.days[2]!]).coverage;
    const hp = growthHighlights(g, partly);
    expect(hp.some((h) => h.subject === 'new-installations' || h.subject === 'dormant')).toBe(false);
    expect(hp.find((h) => h.subject === 'lifecycle-coverage')!.text).toContain(`${prev.label} (no event on Wed Nov 11)`);
    expect(hp.find((h) => h.subject === 'retention-w1')!.text).not.toMatch(/cohort before/);
    expect(hp.find((h) => h.subject === 'retention-w1')!.direction).toBe('too-few');
  });
});

describe('the index page compares only covered, adjacent weeks', () => {
  it('shows – beside a week whose week before is not fully covered', async () => {
    const { indexPage } = await import('../src/render/html.ts');
    const entry = (label: string, start: string, wau: number, covered: boolean) => ({
      href: label, label, start, timezone: 'UTC', source: 'files', wau, avgDau: 1, stickiness: 0.5, events: 10, downloads: null, incomplete: false, covered, partial: false, trend: [],
    });
    const cell = (html: string, label: string) => new RegExp(`${label}</a></td><td>[^<]*</td><td class="num" data-value="[^"]*">[^<]*</td><td class="num[^"]*" data-value="([^"]*)">([^<]*)</td>`).exec(html);
    // W47 (20) after W46 (16), both covered: +25%.
    const both = indexPage([entry('2026-W47', '2026-11-16T00:00:00.000Z', 20, true), entry('2026-W46', '2026-11-09T00:00:00.000Z', 16, true)], undefined, []);
    expect(cell(both, '2026-W47')?.slice(1)).toEqual(['0.25', '+25.0%']);
    // W46 not fully covered: no change.
    const partly = indexPage([entry('2026-W47', '2026-11-16T00:00:00.000Z', 20, true), entry('2026-W46', '2026-11-09T00:00:00.000Z', 16, false)], undefined, []);
    expect(partly).toContain('2026-W46 (not fully covered)');
    expect(cell(partly, '2026-W47')?.slice(1)).toEqual(['', '–']);
    // Weeks apart (W45 missing between W47 and W44): no week-over-week change either.
    const gap = indexPage([entry('2026-W47', '2026-11-16T00:00:00.000Z', 20, true), entry('2026-W44', '2026-10-26T00:00:00.000Z', 16, true)], undefined, []);
    expect(cell(gap, '2026-W47')?.slice(1)).toEqual(['', '–']);
  });
});
