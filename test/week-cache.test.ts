/**
 * Reuse of closed weeks (src/engine/week-cache.ts): a report through the selection's engine, run
 * cold, run again (its weeks reused), and run for the next week (eleven of its twelve weeks reused),
 * must equal the report over every event of the selection, row for row, in several timezones; a
 * late event in an old week must make exactly the weeks from it on be computed again; a damaged
 * kept week is computed again.
 */
import { join } from 'node:path';
import { readdir, stat, utimes, writeFile } from 'node:fs/promises';
import { DateTime } from 'luxon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir, writeExport, type TestEvent } from './helpers/fixtures.ts';
import { mulberry32 } from './helpers/random.ts';
import { everyEventOf, openStore, selectExports } from './helpers/selection.ts';
import { ChdbEngine } from '../src/engine/chdb-engine.ts';
import { EventStore, type Selection } from '../src/sources/event-store.ts';
import { selectionEngine } from '../src/sources/installation-state.ts';
import { collectWeeklyResults } from '../src/jobs/weekly-report.ts';
import { loadCatalog, type Catalog } from '../src/config/catalog.ts';
import { DEFAULT_CATALOG, DEFAULT_CLUSTER_SHARE, DEFAULT_TRACKING_PLAN } from '../src/config/config.ts';
import { loadTrackingPlan } from '../src/config/tracking-plan.ts';
import { silentLogger } from '../src/lib/logger.ts';
import { parseWeek } from '../src/reports/period.ts';
import type { Engine } from '../src/engine/engine.ts';
import { weekParts } from '../src/engine/week-cache.ts';
import { selectionFingerprint } from '../src/sources/selection-fingerprint.ts';

const START = DateTime.fromISO('2025-09-01T00:00:00Z'); // a Monday; 20 weeks of data
const WEEKS = 20;
const OSES = ['darwin', 'win32', 'linux'];
const VERSIONS = ['17.0.0', '17.1.0', '18.0.0', '18.1.0'];
const NAMES = ['connect.cluster.login', 'connect.protocol.use', 'connect.fileTransfer.run'];

function history(seed: number, installations: number): TestEvent[] {
  const rnd = mulberry32(seed);
  const pick = <T,>(xs: T[]) => xs[Math.floor(rnd() * xs.length)]!;
  const out: TestEvent[] = [];
  for (let i = 0; i < installations; i++) {
    const id = `inst-${seed}-${i}`;
    let os = pick(OSES);
    let v = 0;
    for (let w = Math.floor(rnd() * WEEKS); w < WEEKS; w += 1 + Math.floor(rnd() * rnd() * 6)) {
      for (let k = 0; k < 1 + Math.floor(rnd() * 3); k++) {
        // Distinct milliseconds per installation: ties in time have no defined "latest".
        const at = START.toMillis() + w * 7 * 86_400_000 + Math.floor(rnd() * 7 * 86_400_000);
        const props: Record<string, unknown> = {};
        if (rnd() < 0.2) {
          if (rnd() < 0.3) os = pick(OSES);
          if (rnd() < 0.4) v = Math.min(VERSIONS.length - 1, v + 1);
          props['connect.os'] = os;
          props['connect.app_version'] = VERSIONS[v];
        }
        out.push({ event: rnd() < 0.1 ? '$pageview' : pick(NAMES), distinct_id: id, timestamp: DateTime.fromMillis(at, { zone: 'UTC' }).toISO()!, properties: props });
      }
    }
  }
  return out;
}

let dir: string;
let engine: ChdbEngine;
let store: EventStore;
let catalog: Catalog;

const selectFiles = (...names: string[]): Promise<Selection> => selectExports(store, names.map((n) => join(dir, 'events', n)));

beforeAll(async () => {
  dir = await tempDir('cm-weeks-');
  await writeExport(join(dir, 'events', 'a.jsonl'), history(21, 80));
  // A late file: one installation's events in an old week (2025-W41) and the newest.
  await writeExport(join(dir, 'events', 'late.jsonl'), [
    { event: 'connect.cluster.login', distinct_id: 'inst-late', timestamp: '2025-10-08T10:00:00Z', properties: { 'connect.os': 'linux', 'connect.app_version': '18.1.0' } },
    { event: 'connect.protocol.use', distinct_id: 'inst-late', timestamp: '2026-01-14T10:00:00Z', properties: {} },
  ]);
  catalog = await loadCatalog(DEFAULT_CATALOG);
  engine = ChdbEngine.open(join(dir, 'data', 'clickhouse'));
  store = await openStore(engine, join(dir, 'data'));
}, 120_000);
afterAll(() => engine?.close());

/** Every event of the selection, no window, no reuse: the reference. */
const everyEvent = (selection: Selection): Engine => everyEventOf(engine, () => selection);

const report = async (e: Engine, label: string, timezone: string) =>
  collectWeeklyResults(
    { engine: e, catalog, eventPrefix: 'connect.', plan: await loadTrackingPlan(DEFAULT_TRACKING_PLAN), clusterShare: DEFAULT_CLUSTER_SHARE, logger: silentLogger },
    parseWeek(label, timezone, new Date()),
  );

describe('closed weeks are reused, and the report stays the report over every event', () => {
  for (const timezone of ['UTC', 'America/Los_Angeles', 'Asia/Kolkata']) {
    it(`cold, again, and the next week (${timezone})`, async () => {
      const selection = await selectFiles('a.jsonl');
      const cache = join(dir, `cache-${timezone.replace('/', '-')}`);
      const e = selectionEngine(engine, selection.database, { dataDir: cache, logger: silentLogger });
      const w2 = await report(everyEvent(selection), '2026-W02', timezone);
      expect(await report(e, '2026-W02', timezone)).toEqual(w2);
      expect(e.stats.reused).toBe(0);
      const computed = e.stats.computed;
      // Several queries, each over its weeks (12 or 13): that many weeks were kept.
      expect(computed).toBeGreaterThan(3 * 12);
      expect(await report(e, '2026-W02', timezone)).toEqual(w2);
      expect(e.stats.reused).toBe(computed);
      // The next week: every query cut by weeks (daily, features, protocols, platforms, growth,
      // versions, cluster share: 7) computes only its newest week. Growth's and versions' rows dated
      // before the period are carried on from the week before the first (weekParts.fold), which last
      // week's report computed first, instead of computing the first week again.
      const w3 = await report(everyEvent(selection), '2026-W03', timezone);
      const before = { ...e.stats };
      expect(await report(e, '2026-W03', timezone)).toEqual(w3);
      expect(e.stats.computed - before.computed).toBe(7);
      expect(w3.growth!.find((r) => r.week === '1970-01-01')?.new ?? 0).toBeGreaterThan(0);
      expect(w3.versions!.some((r) => r.kind === 'first_day' && r.period === '1970-01-01')).toBe(true);
    }, 120_000);
  }

  it('a late event in an old week: the weeks from it on are computed again, the ones before reused', async () => {
    const cache = join(dir, 'cache-late');
    const first = await selectFiles('a.jsonl');
    await report(selectionEngine(engine, first.database, { dataDir: cache, logger: silentLogger }), '2026-W03', 'UTC');
    const withLate = await selectFiles('a.jsonl', 'late.jsonl');
    const e = selectionEngine(engine, withLate.database, { dataDir: cache, logger: silentLogger });
    const got = await report(e, '2026-W03', 'UTC');
    expect(got).toEqual(await report(everyEvent(withLate), '2026-W03', 'UTC'));
    // The late installation is in the answer (not a stale week's).
    expect(got.versions!.some((r) => r.kind === 'week' && r.period === '2026-01-12' && r.version === '18.1.0')).toBe(true);
    // 2026-W03's 12 weeks start at 2025-10-27 (daily: 13 weeks, from 2025-10-20): the late event
    // (2025-10-08) lies before them all, so every week is computed again...
    expect(e.stats.reused).toBe(0);
    // ...while for a report whose weeks end before the late event, nothing changed.
    const early = selectionEngine(engine, withLate.database, { dataDir: cache, logger: silentLogger });
    const earlyFirst = selectionEngine(engine, first.database, { dataDir: cache, logger: silentLogger });
    await report(earlyFirst, '2025-W40', 'UTC');
    expect(await report(early, '2025-W40', 'UTC')).toEqual(await report(everyEvent(withLate), '2025-W40', 'UTC'));
    expect(early.stats.computed).toBe(0);
    expect(early.stats.reused).toBe(earlyFirst.stats.computed);
  }, 120_000);

  it('a damaged kept week is computed again', async () => {
    const selection = await selectFiles('a.jsonl');
    const cache = join(dir, 'cache-damaged');
    const e = selectionEngine(engine, selection.database, { dataDir: cache, logger: silentLogger });
    await report(e, '2025-W50', 'UTC');
    const files = (await readdir(join(cache, 'week-cache'))).filter((f) => f.endsWith('.json'));
    for (const f of files) await writeFile(join(cache, 'week-cache', f), '{"rows": [[1, 2');
    const again = selectionEngine(engine, selection.database, { dataDir: cache, logger: silentLogger });
    expect(await report(again, '2025-W50', 'UTC')).toEqual(await report(everyEvent(selection), '2025-W50', 'UTC'));
    expect(again.stats.reused).toBe(0);
  }, 120_000);
});

describe('the fingerprint of the events before an instant', () => {
  it('is their count and the sum of their content hashes modulo 2^64, computed plainly here', async () => {
    const selection = await selectFiles('a.jsonl', 'late.jsonl');
    const fingerprint = selectionFingerprint(engine, selection.database);
    for (const at of ['2025-08-01T00:00:00Z', '2025-10-08T10:00:00Z', '2025-10-08T10:15:00Z', '2025-12-01T05:45:00Z', '2026-01-14T10:15:00Z', '2027-01-01T00:00:00Z']) {
      const ms = Date.parse(at);
      const rows = await engine.objects<{ n: string; h: string }>(
        `SELECT toString(count()) AS n, toString(cityHash64(uuid, event, distinct_id, person_id, timestamp, properties, \`person.properties\`, created_at, elements_chain)) AS h
         FROM ${selection.database}.events WHERE toUnixTimestamp64Milli(timestamp) < {ms:Int64} GROUP BY h`,
        { ms },
      );
      // Added up here, in BigInt: the count, and the hashes modulo 2^64.
      const n = rows.reduce((sum, r) => sum + BigInt(r.n), 0n);
      const h = rows.reduce((sum, r) => (sum + BigInt(r.h) * BigInt(r.n)) % (1n << 64n), 0n);
      expect(await fingerprint(ms), at).toBe(`${n}:${h}`);
    }
    // Not on a quarter hour: cannot be told from the buckets.
    expect(await fingerprint(Date.parse('2025-10-08T10:07:00Z'))).toBeUndefined();
  });
});

describe('kept weeks do not pile up', () => {
  it('a week not used for 8 weeks is removed before the run; one read is kept 8 weeks more', async () => {
    const selection = await selectFiles('a.jsonl');
    const cache = join(dir, 'cache-prune');
    const kept = join(cache, 'week-cache');
    const day = 86_400_000;
    const t0 = Date.UTC(2026, 0, 5);
    const at = (days: number) => selectionEngine(engine, selection.database, { dataDir: cache, logger: silentLogger, now: () => t0 + days * day });
    const first = at(0);
    const want = await report(everyEvent(selection), '2025-W50', 'UTC');
    expect(await report(first, '2025-W50', 'UTC')).toEqual(want);
    const weeks = (await readdir(kept)).filter((f) => f.endsWith('.json'));
    expect(weeks).toHaveLength(first.stats.computed);
    // Left by something else long ago: a week of another query text, a write cut short; and a file that is not a kept week.
    const old = new Date(t0 - 100 * day);
    for (const name of ['growth_weekly-0123.json', '.growth_weekly-0123.json.1.ab.tmp', 'notes.txt']) {
      await writeFile(join(kept, name), '{}');
      await utimes(join(kept, name), old, old);
    }
    // Seven weeks later the same report reads every week (and so keeps them); the old files go.
    const later = at(49);
    expect(await report(later, '2025-W50', 'UTC')).toEqual(want);
    expect(later.stats.reused).toBe(first.stats.computed);
    expect((await readdir(kept)).sort()).toEqual([...weeks, 'notes.txt'].sort());
    expect((await stat(join(kept, weeks[0]!))).mtimeMs).toBe(t0 + 49 * day);
    // Two weeks after that use they are all still there...
    const again = at(63);
    expect(await report(again, '2025-W50', 'UTC')).toEqual(want);
    expect(again.stats.reused).toBe(first.stats.computed);
    // ...and 57 days after the last use (day 63) they are gone: computed again, the same rows.
    const gone = at(63 + 57);
    expect(await report(gone, '2025-W50', 'UTC')).toEqual(want);
    expect(gone.stats.reused).toBe(0);
    expect(gone.stats.computed).toBe(first.stats.computed);
  }, 120_000);
});

describe('weekParts', () => {
  it('cuts at local Mondays, across a DST change, and refuses a range that does not start at a local midnight', () => {
    // 2026-03-02 .. 2026-03-23 in Los Angeles (DST starts 2026-03-08): three weeks of 168, 167, 168 hours.
    const parts = weekParts({ from: '2026-03-02 08:00:00.000000', to: '2026-03-23 07:00:00.000000', timezone: 'America/Los_Angeles' })!;
    expect(parts.map((p) => [p.fromDate, p.toDate])).toEqual([
      ['2026-03-02', '2026-03-09'],
      ['2026-03-09', '2026-03-16'],
      ['2026-03-16', '2026-03-23'],
    ]);
    expect(parts.map((p) => p.to.diff(p.from, 'hours').hours)).toEqual([167, 168, 168]);
    // A Wednesday start: the first part runs to the Monday.
    expect(weekParts({ from: '2026-03-04 00:00:00.000000', to: '2026-03-16 00:00:00.000000', timezone: 'UTC' })!.map((p) => p.fromDate)).toEqual(['2026-03-04', '2026-03-09']);
    expect(weekParts({ from: '2026-03-02 01:00:00.000000', to: '2026-03-16 00:00:00.000000', timezone: 'UTC' })).toBeUndefined();
  });
});
