/**
 * growth_weekly is week-decomposable (its split's `weekParts`): every row depends only on events
 * before the end of the week it is dated in, so running it one week at a time ([X, X+1 week) each)
 * and putting the rows together (the 1970-01-01 row from the earliest part only) gives the rows of
 * one run over the 12 weeks. That is what lets the embedded engine keep a closed week's rows.
 * And the report's retention, built from those rows, equals a plain computation over the raw events.
 *
 * Randomized histories (installations that go quiet for weeks and come back, OS changes, events
 * that are not connect.*, events exactly on week boundaries), in timezones with a daylight-saving
 * change inside the 12 weeks, for report weeks whose data starts before the 12 weeks and inside them.
 */
import { join } from 'node:path';
import { DateTime } from 'luxon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir, writeExport, type TestEvent } from './helpers/fixtures.ts';
import { mulberry32 } from './helpers/random.ts';
import { everyEventOf, openStore, selectExports } from './helpers/selection.ts';
import { ChdbEngine } from '../src/engine/chdb-engine.ts';
import type { Engine } from '../src/engine/engine.ts';
import { runQuery } from '../src/engine/run-query.ts';
import type { Selection } from '../src/sources/event-store.ts';
import { SelectionEngine } from '../src/sources/installation-state.ts';
import { queries } from '../src/queries/index.ts';
import { standardParams, TREND_WEEKS } from '../src/jobs/weekly-report.ts';
import { loadCatalog, type Catalog } from '../src/config/catalog.ts';
import { DEFAULT_CATALOG } from '../src/config/config.ts';
import { silentLogger } from '../src/lib/logger.ts';
import { parseWeek, toInstant, type Week } from '../src/reports/period.ts';
import { buildGrowth, RETENTION_WEEKS, type GrowthRow } from '../src/reports/growth.ts';

const START = DateTime.fromISO('2026-03-02T00:00:00Z'); // a Monday
const WEEKS = 36; // to Nov 9, 2026
const OSES = ['darwin', 'win32', 'linux', 'freebsd'];
const NAMES = ['connect.cluster.login', 'connect.protocol.use', 'connect.fileTransfer.run'];
const ZONES = ['UTC', 'America/Los_Angeles', 'Europe/Berlin'];

function history(seed: number): TestEvent[] {
  const rnd = mulberry32(seed);
  const pick = <T,>(xs: T[]) => xs[Math.floor(rnd() * xs.length)]!;
  const out: TestEvent[] = [];
  for (let i = 0; i < 90; i++) {
    const id = `inst-${seed}-${i}`;
    let os = pick(OSES);
    // Some arrive in the data's first weeks (so early report weeks start inside the data), the rest any time.
    const first = rnd() < 0.2 ? Math.floor(rnd() * 3) : Math.floor(rnd() * WEEKS);
    // Weekly at times, with gaps of up to ~12 weeks at others: cohorts come back after the 8 weeks too.
    for (let w = first; w < WEEKS; w += 1 + Math.floor(rnd() * rnd() * 13)) {
      const n = 1 + Math.floor(rnd() * 3);
      for (let k = 0; k < n; k++) {
        const at = START.plus({ seconds: w * 7 * 86400 + Math.floor(rnd() * 7 * 86400) });
        const props: Record<string, unknown> = {};
        const person: Record<string, unknown> = {};
        if (rnd() < 0.2) {
          if (rnd() < 0.3) os = pick(OSES);
          if (rnd() < 0.7) props['connect.os'] = os;
          else person['connect.os'] = os;
        }
        out.push({ event: rnd() < 0.1 ? '$pageview' : pick(NAMES), distinct_id: id, timestamp: at.toUTC().toISO()!, properties: props, person_properties: person });
      }
    }
  }
  // On the boundaries of each timezone's weeks: an installation first seen at Monday 00:00:00 (its
  // first week is that one) and one whose last event of a week is a second before it.
  for (const [z, zone] of ZONES.entries()) {
    for (const w of [8, 20, 30]) {
      const monday = DateTime.fromISO(START.toISODate()!, { zone }).plus({ weeks: w });
      out.push({ event: 'connect.cluster.login', distinct_id: `edge-${z}-${w}-a`, timestamp: monday.toUTC().toISO()!, properties: { 'connect.os': 'linux' } });
      out.push({ event: 'connect.protocol.use', distinct_id: `edge-${z}-${w}-a`, timestamp: monday.plus({ weeks: 2 }).toUTC().toISO()! });
      out.push({ event: 'connect.protocol.use', distinct_id: `edge-${z}-${w}-b`, timestamp: monday.minus({ weeks: 1 }).toUTC().toISO()! });
      out.push({ event: 'connect.protocol.use', distinct_id: `edge-${z}-${w}-b`, timestamp: monday.minus({ seconds: 1 }).toUTC().toISO()! });
      out.push({ event: 'connect.protocol.use', distinct_id: `edge-${z}-${w}-b`, timestamp: monday.plus({ weeks: 3 }).toUTC().toISO()! });
    }
  }
  // Los Angeles leaves DST on Sun Nov 1: the week before Mon Nov 2 has 169 hours and starts 7 x 24 h
  // plus an hour before it. Active only in that first hour, this installation is dormant on Nov 2's row
  // (a part run for Nov 2 alone must still read the whole week before it).
  out.push({ event: 'connect.protocol.use', distinct_id: 'dst-hour', timestamp: '2026-10-12T18:00:00Z' });
  out.push({ event: 'connect.protocol.use', distinct_id: 'dst-hour', timestamp: '2026-10-26T07:30:00Z' }); // Mon Oct 26 00:30 PDT
  return out;
}

const EVENTS = [...history(21), ...history(22)];

let dir: string;
let engine: ChdbEngine;
let selection: Selection;
let catalog: Catalog;

beforeAll(async () => {
  dir = await tempDir('cm-growth-parts-');
  await writeExport(join(dir, 'events', 'a.jsonl'), EVENTS);
  catalog = await loadCatalog(DEFAULT_CATALOG);
  engine = ChdbEngine.open(join(dir, 'data', 'clickhouse'));
  selection = await selectExports(await openStore(engine, join(dir, 'data')), [join(dir, 'events')]);
}, 120_000);
afterAll(() => engine?.close());

/** The engine with no window: every event of the selection. */
const everyEvent = (): Engine => everyEventOf(engine, () => selection);

const paramsFor = (from: DateTime, to: DateTime, timezone: string) =>
  standardParams({ catalog, eventPrefix: 'connect.' }, { from: toInstant(from), to: toInstant(to) }, timezone);

/** The 12 weeks one at a time, rows put together by the weekParts rule. */
async function weekByWeek(e: Engine, week: Week): Promise<GrowthRow[]> {
  const rows: GrowthRow[] = [];
  for (let i = TREND_WEEKS - 1; i >= 0; i--) {
    const from = week.start.minus({ weeks: i });
    const monday = from.toISODate()!;
    const part = await runQuery(e, queries.growth_weekly, paramsFor(from, from.plus({ weeks: 1 }), week.timezone));
    // A part has its own week's row and, at most, the row dated before its `from` (1970-01-01).
    expect(part.filter((r) => r.week !== monday).map((r) => r.week)).toEqual(part.some((r) => r.week < monday) ? ['1970-01-01'] : []);
    rows.push(...(i === TREND_WEEKS - 1 ? part : part.filter((r) => r.week >= monday)));
  }
  return rows.sort((a, b) => (a.week < b.week ? -1 : a.week > b.week ? 1 : 0));
}

/**
 * Retention written from docs/metrics.md over the raw events: per cohort week W of the 12 and K =
 * 1..8, the installations whose first week with a connect.* event (all data before the report
 * week's end) is W and that have a connect.* event in week W+K; empty (null) when W+K has not ended
 * by the report week's end, or when W is the data's first covered week or before it.
 */
function referenceRetention(week: Week): Array<{ cohort: string; size: number | null; retained: Array<number | null> }> {
  const mondayOf = (ts: string) => DateTime.fromISO(ts, { zone: 'UTC' }).setZone(week.timezone).startOf('week').toISODate()!;
  const plusDays = (day: string, n: number) => DateTime.fromISO(day, { zone: 'UTC' }).plus({ days: n }).toISODate()!;
  const end = week.end.toMillis();
  const active = new Map<string, Set<string>>();
  for (const e of EVENTS) {
    if (!e.event.startsWith('connect.') || Date.parse(e.timestamp!) >= end) continue;
    const set = active.get(e.distinct_id!) ?? new Set<string>();
    set.add(mondayOf(e.timestamp!));
    active.set(e.distinct_id!, set);
  }
  const firstWeek = new Map([...active].map(([id, s]) => [id, [...s].sort()[0]!]));
  const reportMonday = week.days[0]!;
  const weeks = Array.from({ length: TREND_WEEKS }, (_, i) => plusDays(reportMonday, -7 * (TREND_WEEKS - 1 - i)));
  const earliest = [...firstWeek.values()].sort()[0]!;
  const firstCovered = earliest < weeks[0]! ? null : earliest;
  return weeks.map((w) => {
    const covered = firstCovered === null || w > firstCovered;
    const cohort = [...firstWeek].filter(([, f]) => f === w).map(([id]) => id);
    const retained = Array.from({ length: RETENTION_WEEKS }, (_, k) => {
      const later = plusDays(w, 7 * (k + 1));
      return covered && later <= reportMonday ? cohort.filter((id) => active.get(id)!.has(later)).length : null;
    });
    return { cohort: w, size: covered ? cohort.length : null, retained };
  });
}

describe('growth_weekly run a week at a time equals one run over the 12 weeks', () => {
  // W45 and W44: the data (from Mar 2) starts long before the 12 weeks; W16: inside them (W10 is
  // the data's first week). Los Angeles leaves DST on Nov 1, Berlin on Oct 25 and enters it on Mar 29.
  for (const [label, timezone] of [
    ['2026-W45', 'America/Los_Angeles'],
    ['2026-W44', 'UTC'],
    ['2026-W16', 'Europe/Berlin'],
  ] as const) {
    it(`${label} (${timezone})`, async () => {
      const week = parseWeek(label, timezone, new Date('2026-12-01T00:00:00Z'));
      const whole = await runQuery(everyEvent(), queries.growth_weekly, paramsFor(week.start.minus({ weeks: TREND_WEEKS - 1 }), week.end, timezone));
      // On every event, and on the bounded reads the embedded engine runs a report with.
      expect(await weekByWeek(everyEvent(), week)).toEqual(whole);
      expect(await weekByWeek(new SelectionEngine(engine, selection.database, silentLogger), week)).toEqual(whole);

      const retention = buildGrowth({ growthRows: whole, versionRows: [], week }).retention;
      expect(retention.map(({ cohort, size, retained }) => ({ cohort, size, retained }))).toEqual(referenceRetention(week));

      // Not vacuous: retention reaches over several weeks, and a part's rows count cohorts from
      // before its own `from` (a query that kept retention on the cohort's row would give 0 there).
      const cohortColumns = (r: GrowthRow) => [r.cohort_w1, r.cohort_w2, r.cohort_w3, r.cohort_w4, r.cohort_w5, r.cohort_w6, r.cohort_w7, r.cohort_w8];
      expect(retention.some((c) => c.retained.slice(2).some((n) => (n ?? 0) > 0))).toBe(true);
      expect(whole.some((r) => r.week !== '1970-01-01' && cohortColumns(r).some((n) => n > 0))).toBe(true);
      expect(whole.some((r) => r.dormant > 0 && r.resurrecting > 0)).toBe(true);
    }, 120_000);
  }
});
