/**
 * A selection grown from another (last Monday's files plus new ones) derives its installation state
 * and event fingerprints from the parent's and the new files' events (src/sources/parent-selection.ts,
 * installation-state.ts, selection-fingerprint.ts). Both must equal what a derivation from every
 * event gives: the same state events, the same fingerprints, and the same reports as every event
 * gives. The new files hold later events, new installations, late events (older than the
 * installation's last one in the parent, changing which later events are change-points), and copies
 * of the parent's events (the parent is then valid or not depending on file order: equal either way).
 */
import { join } from 'node:path';
import { DateTime } from 'luxon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir, writeExport, type TestEvent } from './helpers/fixtures.ts';
import { mulberry32 } from './helpers/random.ts';
import { everyEventOf, openStore, selectExports } from './helpers/selection.ts';
import { ChdbEngine } from '../src/engine/chdb-engine.ts';
import { EventStore, type Selection } from '../src/sources/event-store.ts';
import { deriveState, lastTable, selectionEngine, stateTable } from '../src/sources/installation-state.ts';
import { selectionFingerprint } from '../src/sources/selection-fingerprint.ts';
import { collectWeeklyResults } from '../src/jobs/weekly-report.ts';
import { loadCatalog } from '../src/config/catalog.ts';
import { DEFAULT_CATALOG, DEFAULT_CLUSTER_SHARE, DEFAULT_TRACKING_PLAN } from '../src/config/config.ts';
import { loadTrackingPlan } from '../src/config/tracking-plan.ts';
import { memoryLogger, silentLogger } from '../src/lib/logger.ts';
import { parseWeek } from '../src/reports/period.ts';

const START = DateTime.fromISO('2025-09-01T00:00:00Z'); // a Monday
const OSES = ['darwin', 'win32', 'linux'];
const VERSIONS = ['17.0.0', '17.1.0', '18.0.0', '18.1.0'];
const NAMES = ['connect.cluster.login', 'connect.protocol.use', '$pageview'];
const PREFIX = 'connect.';

const rnd = mulberry32(4242);
const pick = <T,>(xs: T[]) => xs[Math.floor(rnd() * xs.length)]!;
const used = new Set<number>();
/** A moment in week w (0-based) no other event has: ties in time have no defined "latest". */
function moment(week: number): string {
  let at: number;
  do at = START.toMillis() + week * 7 * 86_400_000 + Math.floor(rnd() * 7 * 86_400) * 1000;
  while (used.has(at));
  used.add(at);
  return DateTime.fromMillis(at, { zone: 'UTC' }).toISO()!;
}
function event(id: string, week: number): TestEvent {
  const props: Record<string, unknown> = {};
  if (rnd() < 0.4) props['connect.os'] = pick(OSES);
  if (rnd() < 0.4) props['connect.app_version'] = pick(VERSIONS);
  return { event: pick(NAMES), distinct_id: id, timestamp: moment(week), properties: props };
}

let dir: string;
let engine: ChdbEngine;
let store: EventStore;
const files: Record<string, TestEvent[]> = { 'a.jsonl': [], 'b.jsonl': [], 'dup.jsonl': [], 'c.jsonl': [] };

beforeAll(async () => {
  dir = await tempDir('cm-incr-');
  // a: weeks 0-11 of 40 installations. b: weeks 12-15 of them and of 10 new ones, plus late events
  // (weeks 2-10) of a few installations of a. dup: copies of some of a's events, and one new event.
  for (let i = 0; i < 40; i++) for (let w = Math.floor(rnd() * 6); w < 12; w += 1 + Math.floor(rnd() * 3)) files['a.jsonl']!.push(event(`inst-${i}`, w));
  for (let i = 0; i < 50; i++) for (let w = 12; w < 16; w += 1 + Math.floor(rnd() * 2)) files['b.jsonl']!.push(event(`inst-${i}`, w));
  for (let i = 0; i < 8; i++) for (let k = 0; k < 3; k++) files['b.jsonl']!.push(event(`inst-${i}`, 2 + Math.floor(rnd() * 9)));
  // Installations only in a (none of b's events), on darwin every week: their only OS state event is
  // the first. c brings, for each, a linux event in week 6 (late: a has later ones, which that makes
  // a change-point back to darwin) and one in week 16. Their last time in a+b is in a's week 11,
  // which a+b's derivation (from a's state events only, for them) must have kept.
  const darwin = (id: string, week: number): TestEvent => ({ event: 'connect.cluster.login', distinct_id: id, timestamp: moment(week), properties: { 'connect.os': 'darwin' } });
  for (let i = 100; i < 110; i++) for (let w = 0; w < 12; w++) files['a.jsonl']!.push(darwin(`inst-${i}`, w));
  for (let i = 100; i < 110; i++) files['c.jsonl']!.push({ ...darwin(`inst-${i}`, 6), properties: { 'connect.os': 'linux' } }, event(`inst-${i}`, 16));
  files['a.jsonl'] = files['a.jsonl']!.map((e, i) => ({ ...e, uuid: `aaaaaaaa-0000-4000-8000-${String(i + 1).padStart(12, '0')}` }));
  files['dup.jsonl'] = [...files['a.jsonl']!.filter((_, i) => i % 17 === 0).map((e) => ({ ...e, properties: { ...e.properties, copy: true } })), event('inst-99', 13)];
  for (const [name, events] of Object.entries(files)) await writeExport(join(dir, 'events', name), events);
  engine = ChdbEngine.open(join(dir, 'data', 'clickhouse'));
  store = await openStore(engine, join(dir, 'data'));
}, 120_000);
afterAll(() => engine?.close());

const select = (...names: string[]) => selectExports(store, names.map((n) => join(dir, 'events', n)));
const stateUuids = async (s: Selection) =>
  (await engine.objects<{ u: string }>(`SELECT toString(uuid) AS u FROM ${stateTable(s.database, PREFIX)} ORDER BY u`)).map((r) => r.u);
const INSTANTS = ['2025-09-01T00:00:00Z', '2025-10-06T00:00:00Z', '2025-11-24T00:00:00Z', '2025-12-15T00:00:00Z', '2026-01-05T00:00:00Z'].map(Date.parse);

async function fromEveryEvent(child: Selection, parent: Selection): Promise<{ state: string[]; fingerprints: Array<string | undefined> }> {
  // Without the parent's derived tables, the child's are derived from every event.
  for (const db of [child.database, parent.database]) {
    await engine.exec(`DROP TABLE IF EXISTS ${stateTable(db, PREFIX)}`);
    await engine.exec(`DROP TABLE IF EXISTS ${db}.event_fingerprints`);
  }
  const logger = memoryLogger();
  await deriveState(engine, child.database, PREFIX, logger);
  expect(logger.records.find((r) => r.msg === 'derived installation state')?.fields?.from).toBe('every event');
  const fingerprint = selectionFingerprint(engine, child.database);
  return { state: await stateUuids(child), fingerprints: await Promise.all(INSTANTS.map(fingerprint)) };
}

describe('a selection grown from last Monday\'s derives from it, and equals a derivation from every event', () => {
  it('later events, new installations and late events', async () => {
    const parent = await select('a.jsonl');
    await deriveState(engine, parent.database, PREFIX, silentLogger);
    await selectionFingerprint(engine, parent.database)(INSTANTS[0]!);
    const child = await select('a.jsonl', 'b.jsonl');
    const logger = memoryLogger();
    await deriveState(engine, child.database, PREFIX, logger);
    // The incremental path was taken (else this test would prove less than it says).
    expect(String(logger.records.find((r) => r.msg === 'derived installation state')?.fields?.from)).toContain(parent.database);
    const fingerprint = selectionFingerprint(engine, child.database);
    const grown = { state: await stateUuids(child), fingerprints: await Promise.all(INSTANTS.map(fingerprint)) };
    // Reports over the grown state equal reports over every event.
    const catalog = await loadCatalog(DEFAULT_CATALOG);
    const plan = await loadTrackingPlan(DEFAULT_TRACKING_PLAN);
    for (const week of ['2025-W48', '2025-W51']) {
      const run = (e: Parameters<typeof collectWeeklyResults>[0]['engine']) =>
        collectWeeklyResults({ engine: e, catalog, eventPrefix: PREFIX, plan, clusterShare: DEFAULT_CLUSTER_SHARE, logger: silentLogger }, parseWeek(week, 'UTC', new Date()));
      expect(await run(selectionEngine(engine, child.database, { dataDir: join(dir, `kept-${week}`), logger: silentLogger }))).toEqual(await run(everyEventOf(engine, () => child)));
    }
    expect(grown.state.length).toBeGreaterThan(50);
    expect(await fromEveryEvent(child, parent)).toEqual(grown);
  }, 120_000);

  it('copies of the parent\'s events in a new file', async () => {
    const parent = await select('a.jsonl');
    await deriveState(engine, parent.database, PREFIX, silentLogger);
    await selectionFingerprint(engine, parent.database)(INSTANTS[0]!);
    const child = await select('a.jsonl', 'dup.jsonl');
    await deriveState(engine, child.database, PREFIX, silentLogger);
    const fingerprint = selectionFingerprint(engine, child.database);
    const grown = { state: await stateUuids(child), fingerprints: await Promise.all(INSTANTS.map(fingerprint)) };
    expect(await fromEveryEvent(child, parent)).toEqual(grown);
  }, 120_000);

  it('a parent whose state was kept without its last-event table (derived by an earlier version): the same state, and the child keeps every installation\'s last time', async () => {
    const parent = await select('a.jsonl');
    await deriveState(engine, parent.database, PREFIX, silentLogger);
    await selectionFingerprint(engine, parent.database)(INSTANTS[0]!);
    await engine.exec(`DROP TABLE IF EXISTS ${lastTable(stateTable(parent.database, PREFIX))}`);
    const child = await select('a.jsonl', 'b.jsonl');
    await engine.exec(`DROP TABLE IF EXISTS ${stateTable(child.database, PREFIX)}`);
    const logger = memoryLogger();
    await deriveState(engine, child.database, PREFIX, logger);
    expect(String(logger.records.find((r) => r.msg === 'derived installation state')?.fields?.from)).toContain(parent.database);
    const grown = await stateUuids(child);
    // The child's own last-event times hold every installation: equal to a plain max per installation.
    const lastTimes = async (table: string) =>
      (await engine.objects<{ k: string }>(`SELECT concat(distinct_id, ' ', toString(last)) AS k FROM ${table} ORDER BY k`)).map((r) => r.k);
    const plain = (await engine.objects<{ k: string }>(
      `SELECT concat(distinct_id, ' ', toString(max(timestamp))) AS k FROM ${child.database}.events GROUP BY distinct_id ORDER BY k`,
    )).map((r) => r.k);
    expect(await lastTimes(lastTable(stateTable(child.database, PREFIX)))).toEqual(plain);
    expect((await fromEveryEvent(child, parent)).state).toEqual(grown);
  }, 120_000);

  it('three Mondays: a selection grown from one that was itself grown (its last event times kept)', async () => {
    const first = await select('a.jsonl');
    await deriveState(engine, first.database, PREFIX, silentLogger);
    await selectionFingerprint(engine, first.database)(INSTANTS[0]!);
    const second = await select('a.jsonl', 'b.jsonl');
    await engine.exec(`DROP TABLE IF EXISTS ${stateTable(second.database, PREFIX)}`);
    await deriveState(engine, second.database, PREFIX, silentLogger);
    await selectionFingerprint(engine, second.database)(INSTANTS[0]!);
    const third = await select('a.jsonl', 'b.jsonl', 'c.jsonl');
    await engine.exec(`DROP TABLE IF EXISTS ${stateTable(third.database, PREFIX)}`);
    const logger = memoryLogger();
    await deriveState(engine, third.database, PREFIX, logger);
    expect(String(logger.records.find((r) => r.msg === 'derived installation state')?.fields?.from)).toContain(second.database);
    const grown = await stateUuids(third);
    // From every event: no selection of a subset of its files may serve as a parent.
    await engine.exec(`DROP TABLE IF EXISTS ${stateTable(first.database, PREFIX)}`);
    await engine.exec(`DROP TABLE IF EXISTS ${first.database}.event_fingerprints`);
    expect((await fromEveryEvent(third, second)).state).toEqual(grown);
  }, 120_000);

  it('derived in many passes (installations split by a hash of their id), the same state events as in one', async () => {
    const all = await select('a.jsonl', 'b.jsonl', 'dup.jsonl');
    const derive = async (eventsPerPass?: number) => {
      await engine.exec(`DROP TABLE IF EXISTS ${stateTable(all.database, PREFIX)}`);
      await deriveState(engine, all.database, PREFIX, silentLogger, eventsPerPass ? { eventsPerPass } : {});
      return stateUuids(all);
    };
    const one = await derive();
    // About 12 passes over this data: every installation must still be whole in one of them, or
    // its change-points would be found against the wrong previous value.
    expect(await derive(Math.ceil(all.events / 12))).toEqual(one);
    expect(one.length).toBeGreaterThan(50);
  }, 120_000);
});
