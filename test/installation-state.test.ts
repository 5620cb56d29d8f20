/**
 * Bounded reads on the embedded engine (issue 13): a report over a selection reads its weeks plus
 * the selection's derived per-installation state (src/sources/installation-state.ts). The reference
 * is the same queries over every event of the selection (the engine with no window): on randomized
 * long histories (OS and version changes, old versions coming back, person-property fallbacks,
 * installations that go quiet for months, non-connect events, several timezones) every row of every
 * report query must be identical, for report weeks early, in the middle and at the end of the data.
 */
import { join } from 'node:path';
import { DateTime } from 'luxon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir, writeExport, type TestEvent } from './helpers/fixtures.ts';
import { mulberry32 } from './helpers/random.ts';
import { everyEventOf, openStore, selectExports } from './helpers/selection.ts';
import { ChdbEngine } from '../src/engine/chdb-engine.ts';
import { EventStore, type Selection } from '../src/sources/event-store.ts';
import { SelectionEngine, stateTable } from '../src/sources/installation-state.ts';
import { collectWeeklyResults } from '../src/jobs/weekly-report.ts';
import { loadCatalog, type Catalog } from '../src/config/catalog.ts';
import { DEFAULT_CATALOG, DEFAULT_CLUSTER_SHARE, DEFAULT_TRACKING_PLAN } from '../src/config/config.ts';
import { loadTrackingPlan } from '../src/config/tracking-plan.ts';
import { memoryLogger, silentLogger } from '../src/lib/logger.ts';
import { parseWeek } from '../src/reports/period.ts';
import type { Engine } from '../src/engine/engine.ts';
import { weeklyFromGrowth } from '../src/reports/growth.ts';

const START = DateTime.fromISO('2025-06-02T00:00:00Z'); // a Monday; 40 weeks of data
const WEEKS = 40;
const OSES = ['darwin', 'win32', 'linux', 'freebsd'];
const VERSIONS = ['17.0.0', '17.1.0', '18.0.0', '18.1.0', '18.2.0', '19.0.0'];
const NAMES = ['connect.cluster.login', 'connect.protocol.use', 'connect.fileTransfer.run', 'connect.accessRequest.create'];

function history(seed: number): TestEvent[] {
  const rnd = mulberry32(seed);
  const pick = <T,>(xs: T[]) => xs[Math.floor(rnd() * xs.length)]!;
  const out: TestEvent[] = [];
  const used = new Set<number>();
  for (let i = 0; i < 70; i++) {
    const id = `inst-${seed}-${i}`;
    let os = pick(OSES);
    let v = Math.floor(rnd() * 3);
    const first = Math.floor(rnd() * WEEKS);
    // Active in bursts with long gaps, so some come back after months.
    for (let w = first; w < WEEKS; w += 1 + Math.floor(rnd() * rnd() * 14)) {
      const n = 1 + Math.floor(rnd() * 4);
      for (let k = 0; k < n; k++) {
        // Distinct seconds across the whole history: ties in time have no defined "latest".
        let at: number;
        do at = START.toSeconds() + w * 7 * 86400 + Math.floor(rnd() * 7 * 86400);
        while (used.has(at));
        used.add(at);
        // Like Connect: few events carry the OS or the version (logins), so the latest one is often
        // months old and a report must find it before its weeks.
        const props: Record<string, unknown> = {};
        const person: Record<string, unknown> = {};
        const carry = rnd();
        if (carry < 0.12) {
          if (rnd() < 0.4) os = pick(OSES);
          const where = rnd();
          if (where < 0.6) props['connect.os'] = os;
          else if (where < 0.8) props.os = os;
          else person['connect.os'] = os;
        } else if (carry < 0.15) props['connect.os'] = '';
        const carryV = rnd();
        if (carryV < 0.15) {
          if (rnd() < 0.4) v = Math.min(VERSIONS.length - 1, Math.max(0, v + (rnd() < 0.7 ? 1 : -1)));
          const where = rnd();
          if (where < 0.6) props['connect.app_version'] = VERSIONS[v];
          else if (where < 0.8) props.connect_version = VERSIONS[v];
          else person['connect.app_version'] = VERSIONS[v];
        }
        const event = rnd() < 0.1 ? '$pageview' : pick(NAMES);
        out.push({
          event,
          distinct_id: id,
          timestamp: DateTime.fromSeconds(at, { zone: 'UTC' }).toISO()!,
          properties: props,
          person_properties: person,
        });
      }
    }
  }
  return out;
}

let dir: string;
let engine: ChdbEngine;
let store: EventStore;
let selection: Selection;
let catalog: Catalog;

beforeAll(async () => {
  dir = await tempDir('cm-state-');
  await writeExport(join(dir, 'events', 'a.jsonl'), history(11));
  await writeExport(join(dir, 'events', 'b.jsonl'), history(12));
  catalog = await loadCatalog(DEFAULT_CATALOG);
  engine = ChdbEngine.open(join(dir, 'data', 'clickhouse'));
  store = await openStore(engine, join(dir, 'data'));
  selection = await selectExports(store, [join(dir, 'events')]);
}, 120_000);
afterAll(() => engine?.close());

/** The engine with no window: every event of the selection (the reference). */
const everyEvent = (): Engine => everyEventOf(engine, () => selection);

const report = async (e: Engine, label: string, timezone: string) =>
  collectWeeklyResults({ engine: e, catalog, eventPrefix: 'connect.', plan: await loadTrackingPlan(DEFAULT_TRACKING_PLAN), clusterShare: DEFAULT_CLUSTER_SHARE, logger: silentLogger }, parseWeek(label, timezone, new Date()));

describe('a report over derived state equals the report over every event', () => {
  // 2025-W23 is the data's first week: W26 starts inside the 12 weeks, W40 and W50 long after.
  // The data ends in 2026-W10 (2026-03-08): the state view's table holds its last 16 weeks, so a
  // report on W10 (windows from 2025-12-07) reads it, and the reports on W50 and W02, whose windows
  // start before it (September, October), tell the state events apart event by event.
  for (const [label, timezone, before, viewFrom] of [
    ['2025-W50', 'UTC', true, 'events'],
    ['2026-W10', 'America/Los_Angeles', true, 'slim table'],
    ['2026-W02', 'Asia/Kolkata', true, 'events'],
    ['2025-W30', 'UTC', false, undefined],
  ] as const) {
    it(`${label} (${timezone})`, async () => {
      const expected = await report(everyEvent(), label, timezone);
      const logger = memoryLogger();
      const bounded = new SelectionEngine(engine, selection.database, logger);
      const got = await report(bounded, label, timezone);
      expect(got).toEqual(expected);
      // The look-backs read the state view (every event but the state events without properties)
      // wherever the state is there, and no other query did.
      const views = logger.records.filter((r) => r.msg === 'events view').map((r) => r.fields);
      if (before) expect(views.some((v) => v?.slim === true)).toBe(true);
      if (viewFrom) expect(views.filter((v) => v?.slim === true).map((v) => v?.from)).toContain(viewFrom);
      // growth_weekly's active counts are active_users_weekly's (so a report may drop that request).
      expect(weeklyFromGrowth(got.growth!)).toEqual(expected.weekly.map((r) => ({ week: r.week, active_users: r.active_users, events: r.events })));
      // Not vacuous: the report's look-backs had something to find before the window, and the
      // queries read fewer events than the selection holds.
      if (before) {
        expect(expected.growth!.find((r) => r.week === '1970-01-01')?.new ?? 0).toBeGreaterThan(0);
        const [seen] = await engine.objects<{ n: number }>(`SELECT count() AS n FROM ${selection.database}_window.events`);
        expect(Number(seen!.n)).toBeLessThan(selection.events);
      }
    }, 60_000);
  }

  it('serves the look-backs the state view also when nothing lies before the window, once the state is there', async () => {
    // 2025-W24: the data's second week, so every look-back's window starts before the first event.
    const expected = await report(everyEvent(), '2025-W24', 'UTC');
    const logger = memoryLogger();
    const got = await report(new SelectionEngine(engine, selection.database, logger), '2025-W24', 'UTC');
    expect(got).toEqual(expected);
    const views = logger.records.filter((r) => r.msg === 'events view').map((r) => r.fields);
    expect(views).toContainEqual({ window: 'every event', state: 'connect.', slim: true, from: 'events' });
    expect(views).toContainEqual({ window: 'every event', state: null, slim: false });
  }, 60_000);

  it('keeps only a few events per installation before the window, and derives them once', async () => {
    const [state] = await engine.objects<{ n: number; ids: number }>(
      `SELECT count() AS n, count(DISTINCT distinct_id) AS ids FROM ${stateTable(selection.database, 'connect.')}`,
    );
    expect(Number(state!.n)).toBeLessThan(selection.events / 2);
    // Every installation with a connect.* event keeps at least its first one.
    const [active] = await engine.objects<{ n: number }>(
      `SELECT count(DISTINCT distinct_id) AS n FROM ${selection.database}.events WHERE startsWith(event, 'connect.')`,
    );
    expect(Number(state!.ids)).toBeGreaterThanOrEqual(Number(active!.n));
    const [tables] = await engine.objects<{ n: number }>(
      "SELECT count() AS n FROM system.tables WHERE database = {db:String} AND startsWith(name, 'state_')",
      { db: selection.database },
    );
    expect(Number(tables!.n)).toBe(1);
  });
});
