/**
 * Growth, retention and release adoption on hand-built histories, on the embedded engine and on the
 * PostHog stand-in (same rows from both), against figures worked out by hand in the comments below.
 */
import { join } from 'node:path';
import { DateTime } from 'luxon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostHogStandIn, type StandIn } from './standins/posthog/index.ts';
import { tempDir, writeExport, type TestEvent } from './helpers/fixtures.ts';
import { ChdbEngine } from '../src/engine/chdb-engine.ts';
import { PostHogEngine } from '../src/engine/posthog-engine.ts';
import type { Engine } from '../src/engine/engine.ts';
import { EventStore } from '../src/sources/event-store.ts';
import { discoverFiles } from '../src/sources/discover.ts';
import { EXPORT_KINDS, exportFormatOf } from '../src/sources/posthog-export.ts';
import { runQuery } from '../src/engine/run-query.ts';
import { queries } from '../src/queries/index.ts';
import { standardParams, TREND_WEEKS } from '../src/jobs/weekly-report.ts';
import { loadCatalog } from '../src/config/catalog.ts';
import { DEFAULT_CATALOG } from '../src/config/config.ts';
import { silentLogger } from '../src/lib/logger.ts';
import { parseWeek, toInstant } from '../src/reports/period.ts';
import { buildGrowth, type GrowthRow, type GrowthSection, type VersionRow } from '../src/reports/growth.ts';
import { growthHighlights } from '../src/reports/growth-highlights.ts';
import { growthCsvTables } from '../src/render/growth.ts';
import { toCsv } from '../src/render/csv.ts';
import { growthCharts } from '../src/render/charts.ts';
import type { WeeklyReport } from '../src/reports/weekly-report.ts';
import type { DownloadsSection } from '../src/reports/downloads.ts';

const week = parseWeek('2026-W47', 'UTC', new Date()); // Mon 2026-11-16; the 12 weeks start Mon 2026-08-31

// Weeks: W0 = Aug 24 (before the 12), W1 = Aug 31, W2 = Sep 7, W3 = Sep 14, ..., W10 = Nov 2,
// W11 = Nov 9, W12 = Nov 16 (the report week).
// Installation  active weeks (a connect.* event)     first seen     versions / OS
//   a           Jun 1, W10, W11, W12                 June (before)  18.0.0 Jun; 18.2.0 Nov 3; 18.3.0 Nov 18; darwin
//   b           W11                                  W11            os (draft name) linux
//   c           W12                                  W12            person properties: win32, 18.3.0 (Nov 16)
//   d           W1, W2, W12                          W1             darwin, 17.0.0 on Aug 31
//   e           W0                                   W0 (before)    -
//   g           W11, W12                             W11            darwin in W11, linux in W12; 18.2.0 Nov 10; connect_version 18.3.0 Nov 19
//   h           Jul 1, W10                           July (before)  17.0.0 in July
//   h2          Jul 2, W10                           July (before)  -
//   k           W12                                  W12            nothing
//   f           only a $pageview in W12: never active
const ev = (distinct_id: string, timestamp: string, props: Partial<TestEvent> = {}, event = 'connect.protocol.use'): TestEvent => ({
  event,
  distinct_id,
  timestamp,
  ...props,
});
const login = 'connect.cluster.login';
const HISTORY: TestEvent[] = [
  ev('a', '2026-06-01T10:00:00Z', { properties: { 'connect.os': 'darwin', 'connect.app_version': '18.0.0' } }, login),
  ev('a', '2026-11-03T10:00:00Z', { properties: { 'connect.os': 'darwin', 'connect.app_version': '18.2.0' } }, login),
  ev('a', '2026-11-12T10:00:00Z'),
  ev('a', '2026-11-18T10:00:00Z', { properties: { 'connect.os': 'darwin', 'connect.app_version': '18.3.0' } }, login),
  ev('b', '2026-11-11T10:00:00Z', { properties: { os: 'linux' } }),
  ev('c', '2026-11-16T08:00:00Z', { person_properties: { 'connect.os': 'win32', 'connect.app_version': '18.3.0' } }),
  ev('c', '2026-11-20T08:00:00Z', { person_properties: { 'connect.os': 'win32', 'connect.app_version': '18.3.0' } }),
  ev('d', '2026-08-31T09:00:00Z', { properties: { 'connect.os': 'darwin', 'connect.app_version': '17.0.0' } }, login),
  ev('d', '2026-09-08T09:00:00Z'),
  ev('d', '2026-11-17T09:00:00Z'),
  ev('e', '2026-08-25T09:00:00Z', {}, login),
  ev('g', '2026-11-10T09:00:00Z', { properties: { 'connect.os': 'darwin', 'connect.app_version': '18.2.0' } }, login),
  ev('g', '2026-11-19T09:00:00Z', { properties: { 'connect.os': 'linux', connect_version: '18.3.0' } }),
  ev('h', '2026-07-01T09:00:00Z', { properties: { 'connect.app_version': '17.0.0' } }, login),
  ev('h', '2026-11-04T09:00:00Z'),
  ev('h2', '2026-07-02T09:00:00Z', {}, login),
  ev('h2', '2026-11-05T09:00:00Z'),
  ev('k', '2026-11-20T09:00:00Z'),
  ev('f', '2026-11-17T09:00:00Z', { properties: { 'connect.os': 'darwin' } }, '$pageview'),
];
// The same history seen from Nov 9 (W11) on: the data's first covered week is W11.
const SHORT = HISTORY.filter((e) => e.timestamp >= '2026-11-09');

const W = (i: number) => week.start.minus({ weeks: 12 - i }).toISODate()!;
const nulls = (n: number) => Array.from({ length: n }, () => null);

let dir: string;
let local: ChdbEngine;
let store: EventStore;
let selections: { long: Awaited<ReturnType<EventStore['load']>>; short: Awaited<ReturnType<EventStore['load']>> };
const standIns: Record<'long' | 'short', StandIn | undefined> = { long: undefined, short: undefined };
let params: Record<string, unknown>;

beforeAll(async () => {
  dir = await tempDir('cm-growth-');
  await writeExport(join(dir, 'long', 'events.jsonl'), HISTORY);
  await writeExport(join(dir, 'short', 'events.jsonl'), SHORT);
  const catalog = await loadCatalog(DEFAULT_CATALOG);
  // What the weekly report passes: the 12 weeks to the report week's end.
  params = standardParams({ catalog, eventPrefix: 'connect.' }, { from: toInstant(week.start.minus({ weeks: TREND_WEEKS - 1 })), to: toInstant(week.end) }, 'UTC');
  local = ChdbEngine.open(join(dir, 'data', 'clickhouse'));
  store = new EventStore(local, join(dir, 'data'), silentLogger);
  await store.init();
  const load = async (name: string) => {
    const found = await discoverFiles([join(dir, name)], (n) => exportFormatOf(n) !== undefined, { flag: '--events', kinds: EXPORT_KINDS });
    return store.load(found.files);
  };
  selections = { long: await load('long'), short: await load('short') };
  // The stand-ins' project timezone differs from the report's: a query leaning on it would shift weeks.
  [standIns.long, standIns.short] = await Promise.all([
    startPostHogStandIn({ eventsPaths: [join(dir, 'long')], projectTimezone: 'Asia/Tokyo' }),
    startPostHogStandIn({ eventsPaths: [join(dir, 'short')], projectTimezone: 'Asia/Tokyo' }),
  ]);
}, 120_000);
afterAll(async () => {
  local?.close();
  await Promise.all([standIns.long?.close(), standIns.short?.close()]);
});

function posthog(s: StandIn): PostHogEngine {
  return new PostHogEngine({ host: s.url, projectId: String(s.projectId), apiKey: s.apiKey, logger: silentLogger, backoffBaseMs: 5 });
}

/** Both queries on the embedded engine and on the stand-in; the rows must be identical. */
async function rowsOf(name: 'long' | 'short'): Promise<{ growth: GrowthRow[]; versions: VersionRow[] }> {
  await store.select(selections[name]);
  const run = async (e: Engine) => ({
    growth: await runQuery(e, queries.growth_weekly, params),
    versions: await runQuery(e, queries.version_adoption, params),
  });
  const embedded = await run(local);
  const remote = await run(posthog(standIns[name]!));
  expect(remote).toEqual(embedded);
  return embedded;
}

describe('growth on a history that reaches back before the 12 weeks', () => {
  let g: GrowthSection;
  let rows: { growth: GrowthRow[]; versions: VersionRow[] };
  beforeAll(async () => {
    rows = await rowsOf('long');
    g = buildGrowth({ growthRows: rows.growth, versionRows: rows.versions, week });
  }, 60_000);

  it('returns aggregates only: one row per week, and the row for the weeks before', () => {
    // Weeks with someone active or active the week before: W1, W2, W3, W10, W11, W12; plus 1970-01-01.
    expect(rows.growth.map((r) => r.week)).toEqual(['1970-01-01', W(1), W(2), W(3), W(10), W(11), W(12)]);
    // a, e, h, h2 were first seen before W1.
    expect(rows.growth[0]).toMatchObject({ week: '1970-01-01', new: 4, returning: 0, resurrecting: 0, dormant: 0 });
    expect(g.firstCoveredWeek).toBeNull();
  });

  it('classifies every lifecycle state', () => {
    const at = (i: number) => g.lifecycle[i - 1]!;
    expect(g.lifecycle.map((r) => r.week)).toEqual(Array.from({ length: 12 }, (_, i) => W(i + 1)));
    // W1: d new; e (active W0 only) dormant. Quick ratio (1 + 0) / 1.
    expect(at(1)).toEqual({ week: W(1), coverage: 'covered', active: 1, new: 1, returning: 0, resurrecting: 0, dormant: 1, quickRatio: 1 });
    // W2: d returning; nobody dormant: no quick ratio.
    expect(at(2)).toEqual({ week: W(2), coverage: 'covered', active: 1, new: 0, returning: 1, resurrecting: 0, dormant: 0, quickRatio: null });
    // W3: d dormant; quick ratio 0 / 1.
    expect(at(3)).toMatchObject({ active: 0, new: 0, returning: 0, resurrecting: 0, dormant: 1, quickRatio: 0 });
    // W4-W9: nobody.
    for (let i = 4; i <= 9; i++) expect(at(i)).toMatchObject({ active: 0, new: 0, returning: 0, resurrecting: 0, dormant: 0, quickRatio: null });
    // W10: a, h, h2 back after months: resurrecting.
    expect(at(10)).toMatchObject({ active: 3, new: 0, returning: 0, resurrecting: 3, dormant: 0 });
    // W11: a returning; b and g new; h and h2 dormant. (2 + 0) / 2.
    expect(at(11)).toMatchObject({ active: 3, new: 2, returning: 1, resurrecting: 0, dormant: 2, quickRatio: 1 });
    // W12: c and k new; a and g returning; d resurrecting (last active W2); b dormant. (2 + 1) / 1.
    expect(at(12)).toMatchObject({ active: 5, new: 2, returning: 2, resurrecting: 1, dormant: 1, quickRatio: 3 });
  });

  it('fills the retention triangle', () => {
    const cohort = (i: number) => g.retention[i - 1]!;
    // W1's cohort is d: active in W2 (w1), not in W3-W9 (w2-w8).
    expect(cohort(1)).toMatchObject({ cohort: W(1), size: 1, shares: [1, 0, 0, 0, 0, 0, 0, 0], retained: [1, 0, 0, 0, 0, 0, 0, 0] });
    // W5's cohort is empty: sizes 0, shares unknown; w8 of W5 is W13, after the report week.
    expect(cohort(5)).toMatchObject({ size: 0, shares: nulls(8), retained: [0, 0, 0, 0, 0, 0, 0, null] });
    // W11: b and g; g came back in W12; w2 onwards has not happened.
    expect(cohort(11)).toMatchObject({ size: 2, shares: [0.5, ...nulls(7)], retained: [1, ...nulls(7)] });
    // W12: c and k; nothing has happened yet.
    expect(cohort(12)).toMatchObject({ size: 2, shares: nulls(8) });
  });

  it('takes the OS of a new installation as of its first week', () => {
    // W1: d darwin. W11: b linux (draft property name), g darwin (linux only from W12). W12: c win32 (person properties), k none.
    expect(rows.growth.find((r) => r.week === W(1))).toMatchObject({ new_macos: 1, new_windows: 0, new_linux: 0, new_other: 0, new_unknown: 0 });
    expect(rows.growth.find((r) => r.week === W(11))).toMatchObject({ new_macos: 1, new_windows: 0, new_linux: 1, new_other: 0, new_unknown: 0 });
    expect(rows.growth.find((r) => r.week === W(12))).toMatchObject({ new_macos: 0, new_windows: 1, new_linux: 0, new_other: 0, new_unknown: 1 });
    expect(g.downloadsVsNew.filter((r) => r.week === W(12)).map((r) => [r.os, r.newInstallations, r.downloads])).toEqual([
      ['macos', 0, null],
      ['windows', 1, null],
      ['linux', 0, null],
      ['other', 0, null],
      ['unknown', 1, null],
    ]);
  });

  it('gives each active installation its latest known version, in semantic version order', () => {
    // W12: a 18.3.0 (login Nov 18), c 18.3.0 (person properties), g 18.3.0 (connect_version, Nov 19),
    // d 17.0.0 (carried from Aug 31), k unknown.
    expect(g.versions).toEqual([
      { version: '17.0.0', users: 1, share: 0.2 },
      { version: '18.3.0', users: 3, share: 0.6 },
      { version: 'unknown', users: 1, share: 0.2 },
    ]);
    // W10: a 18.2.0, h 17.0.0 (from July), h2 unknown.
    expect(g.versionTrend[9]!.versions.map((v) => [v.version, v.users])).toEqual([
      ['17.0.0', 1],
      ['18.2.0', 1],
      ['unknown', 1],
    ]);
  });

  it('measures the days until a release ran on half of the active installations', () => {
    // 18.0.0 and 17.0.0 were seen before the 12 weeks: not releases of the period.
    expect(g.releases.map((r) => r.version)).toEqual(['18.2.0', '18.3.0']);
    // 18.2.0: a on Nov 3 (1 of W10's 3 active: a, h, h2); g on Nov 10: 2 of W11's 3 (a, b, g) >= half.
    expect(g.releases[0]).toEqual({
      version: '18.2.0',
      firstSeen: '2026-11-03',
      reachedHalf: '2026-11-10',
      daysToHalf: 7,
      installations: 2,
      share: 0.4,
      updates: null,
    });
    // 18.3.0: c Nov 16 (1 of 5), a Nov 18 (2 of 5), g Nov 19 (3 of 5 >= 2.5).
    expect(g.releases[1]).toMatchObject({ version: '18.3.0', firstSeen: '2026-11-16', reachedHalf: '2026-11-19', daysToHalf: 3, installations: 3, share: 0.6 });
    const curve = g.adoption.filter((p) => p.version === '18.3.0');
    expect(curve.map((p) => [p.date, p.installations])).toEqual([
      ['2026-11-16', 1],
      ['2026-11-17', 1],
      ['2026-11-18', 2],
      ['2026-11-19', 3],
      ['2026-11-20', 3],
      ['2026-11-21', 3],
      ['2026-11-22', 3],
    ]);
    expect(curve.at(-1)!.share).toBe(0.6);
  });

  it('puts the in-app update fetches of each release beside it when CDN logs are given', () => {
    const downloads: DownloadsSection = {
      daily: [
        { date: '2026-11-17', platform: 'macos', version: '18.3.0', downloads: 4, updates: 7 },
        { date: '2026-11-18', platform: 'windows', version: '18.3.0', downloads: 1, updates: 2 },
        { date: '2026-11-18', platform: 'windows', version: '18.1.0', downloads: 1, updates: 5 },
      ],
      byPlatform: { macos: { downloads: 4, previous: 3 }, windows: { downloads: 2, previous: 0 } },
      totals: { downloads: 6, updates: 14, previousDownloads: 3, previousUpdates: 0 },
      files: [],
      origin: 'test',
    };
    const withCdn = buildGrowth({ growthRows: rows.growth, versionRows: rows.versions, week, downloads });
    expect(withCdn.releases.map((r) => [r.version, r.updates])).toEqual([
      ['18.2.0', 0],
      ['18.3.0', 9],
    ]);
    expect(withCdn.downloadsVsNew.filter((r) => r.os === 'macos').map((r) => [r.week, r.newInstallations, r.downloads])).toEqual([
      [W(11), 1, 3],
      [W(12), 0, 4],
    ]);
  });

  it('draws the lifecycle, retention and adoption charts as PNGs', async () => {
    const charts = await growthCharts({ growth: g, week: { label: '2026-W47' } } as WeeklyReport);
    expect(charts.map((c) => c.filename)).toEqual(['2026-W47-lifecycle.png', '2026-W47-retention.png', '2026-W47-adoption.png']);
    for (const c of charts) {
      expect(c.png.subarray(1, 4).toString()).toBe('PNG');
      expect(c.png.readUInt32BE(16)).toBeGreaterThanOrEqual(1000); // width, at twice the 640-pixel layout
      expect(c.alt.length).toBeGreaterThan(40);
    }
    expect(charts[2]!.title).toBe('Release adoption');
  });

  it('writes lifecycle.csv and retention.csv with empty cells for unknowns', () => {
    const t = growthCsvTables({ growth: g, privacy: { k: 1 } } as WeeklyReport);
    const lifecycle = toCsv(t['lifecycle.csv']!).split('\n');
    expect(lifecycle[0]).toBe('week,new,returning,resurrecting,dormant,quick_ratio');
    expect(lifecycle[2]).toBe(`${W(2)},0,1,0,0,`);
    // dormant written as a negative: b went dormant in W12.
    expect(lifecycle[12]).toBe(`${W(12)},2,2,1,-1,3`);
    const retention = toCsv(t['retention.csv']!).split('\n');
    expect(retention[0]).toBe('cohort,size,w1,w2,w3,w4,w5,w6,w7,w8');
    expect(retention[11]).toBe(`${W(11)},2,0.5,,,,,,,`);
    expect(toCsv(t['versions.csv']!)).toBe('version,users,share\n17.0.0,1,0.2\n18.3.0,3,0.6\nunknown,1,0.2\n');
  });
});

describe('growth when the data starts inside the 12 weeks', () => {
  let g: GrowthSection;
  beforeAll(async () => {
    const rows = await rowsOf('short');
    g = buildGrowth({ growthRows: rows.growth, versionRows: rows.versions, week });
  }, 60_000);

  it('says where the history starts and leaves that week and the ones before empty', () => {
    expect(g.firstCoveredWeek).toBe(W(11));
    for (let i = 1; i <= 10; i++) expect(g.lifecycle[i - 1]).toMatchObject({ coverage: 'no-data', new: null, returning: null, resurrecting: null, dormant: null, quickRatio: null });
    // W11: a, b and g all look new; the data cannot tell.
    expect(g.lifecycle[10]).toEqual({ week: W(11), coverage: 'first-covered', active: 3, new: null, returning: null, resurrecting: null, dormant: null, quickRatio: null });
    // W12: d now looks new (its W1-W2 history is not in the data): c, d, k new; a, g returning; b dormant.
    expect(g.lifecycle[11]).toMatchObject({ coverage: 'covered', active: 5, new: 3, returning: 2, resurrecting: 0, dormant: 1, quickRatio: 3 });
    expect(g.retention[10]).toMatchObject({ size: null, shares: nulls(8) });
    expect(g.retention[11]).toMatchObject({ size: 3, shares: nulls(8) });
    const csv = toCsv(growthCsvTables({ growth: g, privacy: { k: 1 } } as WeeklyReport)['lifecycle.csv']!).split('\n');
    expect(csv[11]).toBe(`${W(11)},,,,,`);
  });

  it('a version first seen in the first covered week is not called a release', () => {
    // 18.2.0 (g on Nov 10, in W11) may have run before the data starts; 18.3.0 first ran in W12: c Nov 16, a Nov 18, g Nov 19 (3 of 5).
    expect(g.releases.map((r) => [r.version, r.firstSeen, r.reachedHalf, r.daysToHalf])).toEqual([['18.3.0', '2026-11-16', '2026-11-19', 3]]);
  });

  it('the highlights say the history is too short instead of calling a trend', () => {
    const h = growthHighlights(g);
    expect(h[0]).toMatchObject({ subject: 'lifecycle-history', direction: 'too-few' });
    expect(h[0]!.text).toMatch(/data starts in the week of 2026-11-09/);
    expect(h.some((x) => x.subject === 'new-installations')).toBe(false);
  });
});

describe('splitting by installation on PostHog stays exact', () => {
  it('growth_weekly and version_adoption in 4 installation buckets give the same rows', async () => {
    await store.select(selections.long);
    const expected = {
      growth: await runQuery(local, queries.growth_weekly, params),
      versions: await runQuery(local, queries.version_adoption, params),
    };
    const s = standIns.long!;
    await s.reset();
    await s.setFaults([{ status: 513, times: -1, when: { belowUserBuckets: 4 } }]);
    try {
      const e = posthog(s);
      expect(await runQuery(e, queries.growth_weekly, params)).toEqual(expected.growth);
      expect(await runQuery(e, queries.version_adoption, params)).toEqual(expected.versions);
      const ok = (await s.requests()).filter((r) => r.status === 200);
      // Never cut by time: every part spans the whole period, in 4 buckets.
      expect(ok).toHaveLength(2 * 4);
      expect(ok.every((r) => Number(r.values?.user_buckets) === 4 && r.values?.from === params.from && r.values?.to === params.to)).toBe(true);
    } finally {
      await s.reset();
    }
  });
});

describe('growth highlights follow the figures', () => {
  const base = (newNow: number, newBefore: number, dormantNow: number, dormantBefore: number): GrowthSection => {
    const row = (weekIdx: number, n: number, d: number) => ({
      week: W(weekIdx),
      coverage: 'covered' as const,
      active: n + 50,
      new: n,
      returning: 50,
      resurrecting: 0,
      dormant: d,
      quickRatio: d ? n / d : null,
    });
    return {
      weeks: [W(11), W(12)],
      firstCoveredWeek: null,
      lifecycle: [row(11, newBefore, dormantBefore), row(12, newNow, dormantNow)],
      retention: [],
      versions: [],
      versionTrend: [],
      releases: [],
      adoption: [],
      downloadsVsNew: [],
      cdnCounted: false,
    };
  };

  it('new installations up 18%, dormancy flat', () => {
    const h = growthHighlights(base(59, 50, 40, 41));
    expect(h.find((x) => x.subject === 'new-installations')).toMatchObject({ direction: 'up', text: 'New installations up 18% week over week (50 → 59).' });
    expect(h.find((x) => x.subject === 'dormant')).toMatchObject({ direction: 'steady', text: 'Installations gone dormant flat (41 → 40).' });
  });

  it('changing a figure changes the highlight', () => {
    expect(growthHighlights(base(52, 50, 40, 41)).find((x) => x.subject === 'new-installations')?.direction).toBe('steady');
    expect(growthHighlights(base(40, 50, 40, 41)).find((x) => x.subject === 'new-installations')?.direction).toBe('down');
    expect(growthHighlights(base(59, 50, 60, 41)).find((x) => x.subject === 'dormant')?.direction).toBe('up');
    // Under 20 installations in a week: no trend called.
    expect(growthHighlights(base(19, 12, 40, 41)).find((x) => x.subject === 'new-installations')?.direction).toBe('too-few');
  });
});

describe('growth against a plain reference computation on a random history', () => {
  // A seeded random history: 120 installations from June 1, with pauses, version upgrades through
  // three releases, versions sent on some events only. The reference below is written from
  // docs/metrics.md alone, over the raw events.
  function mulberry32(seed: number) {
    return () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }
  const rnd = mulberry32(8);
  const day0 = Date.parse('2026-06-01T00:00:00Z');
  const DAY = 86_400_000;
  const events: TestEvent[] = [];
  const releases = [
    { version: '18.1.0', from: Date.parse('2026-05-01T00:00:00Z') },
    { version: '18.2.0', from: Date.parse('2026-09-20T00:00:00Z') },
    { version: '18.10.0', from: Date.parse('2026-11-02T00:00:00Z') },
  ];
  for (let i = 0; i < 120; i++) {
    const first = day0 + Math.floor(rnd() * 175) * DAY;
    const lag = Math.floor(rnd() * 20) * DAY;
    let paused = false;
    for (let t = first; t < Date.parse('2026-11-24T00:00:00Z'); t += DAY) {
      if (rnd() < 0.03) paused = !paused;
      if (paused || rnd() > 0.35) continue;
      const at = t + Math.floor(rnd() * 23) * 3_600_000;
      const version = [...releases].reverse().find((r) => at >= r.from + lag)!.version;
      const carries = rnd() < 0.5;
      events.push(ev(`i${i}`, new Date(at).toISOString(), carries ? { properties: { 'connect.app_version': version } } : {}, rnd() < 0.5 ? login : 'connect.protocol.use'));
    }
  }

  const monday = (ms: number) => DateTime.fromMillis(ms, { zone: 'UTC' }).startOf('week').toISODate()!;
  const end = week.end.toMillis();
  const inData = events.filter((e) => Date.parse(e.timestamp) < end);
  const activeWeeks = new Map<string, Set<string>>();
  for (const e of inData) {
    const set = activeWeeks.get(e.distinct_id!) ?? new Set<string>();
    set.add(monday(Date.parse(e.timestamp)));
    activeWeeks.set(e.distinct_id!, set);
  }
  const firstWeek = new Map([...activeWeeks].map(([id, s]) => [id, [...s].sort()[0]!]));
  const weeks = Array.from({ length: 12 }, (_, i) => W(i + 1));
  const plus = (w: string, d: number) => DateTime.fromISO(w, { zone: 'UTC' }).plus({ days: d }).toISODate()!;
  const count = (pred: (id: string, s: Set<string>) => boolean) => [...activeWeeks].filter(([id, s]) => pred(id, s)).length;

  let g: GrowthSection;
  beforeAll(async () => {
    await writeExport(join(dir, 'random', 'events.jsonl'), events);
    const found = await discoverFiles([join(dir, 'random')], (n) => exportFormatOf(n) !== undefined, { flag: '--events', kinds: EXPORT_KINDS });
    await store.select(await store.load(found.files));
    g = buildGrowth({
      growthRows: await runQuery(local, queries.growth_weekly, params),
      versionRows: await runQuery(local, queries.version_adoption, params),
      week,
    });
  }, 60_000);

  it('lifecycle and retention equal the reference', () => {
    expect(g.firstCoveredWeek).toBeNull();
    const lifecycle = weeks.map((w) => {
      const prev = plus(w, -7);
      const n = count((id, s) => s.has(w) && firstWeek.get(id) === w);
      const res = count((id, s) => s.has(w) && !s.has(prev) && firstWeek.get(id)! < w);
      const dormant = count((_, s) => !s.has(w) && s.has(prev));
      return { week: w, new: n, returning: count((_, s) => s.has(w) && s.has(prev)), resurrecting: res, dormant, quickRatio: dormant ? (n + res) / dormant : null };
    });
    expect(g.lifecycle.map(({ week: w, new: n, returning, resurrecting, dormant, quickRatio }) => ({ week: w, new: n, returning, resurrecting, dormant, quickRatio }))).toEqual(lifecycle);
    expect(lifecycle.some((r) => r.new > 0 && r.resurrecting > 0 && r.dormant > 0)).toBe(true); // not trivially equal
    const retention = weeks.map((w) => {
      const size = count((id) => firstWeek.get(id) === w);
      const retained = Array.from({ length: 8 }, (_, k) =>
        plus(w, 7 * (k + 1)) <= week.days[0]! ? count((id, s) => firstWeek.get(id) === w && s.has(plus(w, 7 * (k + 1)))) : null,
      );
      return { cohort: w, size, retained };
    });
    expect(g.retention.map(({ cohort, size, retained }) => ({ cohort, size, retained }))).toEqual(retention);
  });

  it('versions and time to 50% equal the reference', () => {
    // Active installations of a week, and each one's latest version before the week's end.
    const wau = new Map(weeks.map((w) => [w, count((_, s) => s.has(w))]));
    const reportWeek = week.days[0]!;
    const latest = new Map<string, string>();
    for (const e of [...inData].sort((a, b) => a.timestamp.localeCompare(b.timestamp))) {
      const v = e.properties?.['connect.app_version'];
      if (typeof v === 'string') latest.set(e.distinct_id!, v);
    }
    const shares = new Map<string, number>();
    for (const [id, s] of activeWeeks) if (s.has(reportWeek)) shares.set(latest.get(id) ?? 'unknown', (shares.get(latest.get(id) ?? 'unknown') ?? 0) + 1);
    expect(g.versions.map((v) => [v.version, v.users])).toEqual(
      ['18.1.0', '18.2.0', '18.10.0', 'unknown'].filter((v) => shares.has(v)).map((v) => [v, shares.get(v)]),
    );
    // First day each installation ran each version; releases first run inside the 12 weeks.
    const firstRun = new Map<string, Map<string, string>>();
    for (const e of inData) {
      const v = e.properties?.['connect.app_version'];
      if (typeof v !== 'string') continue;
      const day = e.timestamp.slice(0, 10);
      const m = firstRun.get(v) ?? new Map<string, string>();
      if (!m.has(e.distinct_id!) || day < m.get(e.distinct_id!)!) m.set(e.distinct_id!, day);
      firstRun.set(v, m);
    }
    const expected = [...firstRun]
      .map(([version, m]) => ({ version, firstSeen: [...m.values()].sort()[0]!, days: [...m.values()] }))
      .filter((r) => r.firstSeen >= weeks[0]!)
      .map((r) => {
        let reached: string | null = null;
        for (let d = r.firstSeen; d <= week.days[6]! && reached === null; d = plus(d, 1)) {
          const had = r.days.filter((x) => x <= d).length;
          if (had / wau.get(monday(Date.parse(`${d}T00:00:00Z`)))! >= 0.5) reached = d;
        }
        return [r.version, r.firstSeen, reached, r.days.length];
      });
    expect(expected.map((r) => r[0])).toEqual(['18.2.0', '18.10.0']); // semantic order: 18.10 after 18.2
    expect(g.releases.map((r) => [r.version, r.firstSeen, r.reachedHalf, r.installations])).toEqual(expected);
    expect(g.releases[0]!.daysToHalf).not.toBeNull();
  });
});
