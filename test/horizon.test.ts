/**
 * PostHog look-backs bounded by history.horizonWeeks (issue 13): the query text is the same, only
 * history_from is raised to the report's end minus the horizon. What the figures then mean
 * (docs/metrics.md): the same definitions over the events since the horizon's start. The reference
 * is the embedded engine over export files that hold only those events.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostHogStandIn, type StandIn } from './standins/posthog/index.ts';
import { tempDir, writeExport, type TestEvent } from './helpers/fixtures.ts';
import { boundHistory, HorizonEngine, ALL_HISTORY } from '../src/engine/horizon.ts';
import { PostHogEngine } from '../src/engine/posthog-engine.ts';
import { ChdbEngine } from '../src/engine/chdb-engine.ts';
import { EventStore } from '../src/sources/event-store.ts';
import { discoverFiles } from '../src/sources/discover.ts';
import { EXPORT_KINDS, exportFormatOf } from '../src/sources/posthog-export.ts';
import { runQuery } from '../src/engine/run-query.ts';
import { queries } from '../src/queries/index.ts';
import type { QueryDefinition } from '../src/engine/query.ts';
import { standardParams } from '../src/jobs/weekly-report.ts';
import { loadCatalog } from '../src/config/catalog.ts';
import { DEFAULT_CATALOG, DEFAULT_CLUSTER_SHARE, DEFAULT_TRACKING_PLAN } from '../src/config/config.ts';
import { loadTrackingPlan } from '../src/config/tracking-plan.ts';
import { silentLogger } from '../src/lib/logger.ts';
import { computeWeeklyReport } from '../src/jobs/weekly-report.ts';
import { emptyDataQuality } from '../src/reports/data-quality.ts';
import { parseWeek } from '../src/reports/period.ts';
import { horizonFootnote, weeklyDigest } from '../src/render/digest.ts';

describe('boundHistory', () => {
  it('raises history_from to `to` minus the horizon, and never lowers it', () => {
    const to = '2026-11-23 08:00:00.000000';
    expect(boundHistory({ to, history_from: ALL_HISTORY }, 52).history_from).toBe('2025-11-24 08:00:00.000000');
    expect(boundHistory({ to, history_from: ALL_HISTORY }, 13).history_from).toBe('2026-08-24 08:00:00.000000');
    expect(boundHistory({ to, history_from: '2026-10-01 00:00:00.000000' }, 13).history_from).toBe('2026-10-01 00:00:00.000000');
    // A query without a look-back keeps its values as they are.
    const plain = { to, from: '2026-11-09 08:00:00.000000' };
    expect(boundHistory(plain, 13)).toBe(plain);
  });
});

// Report weeks: the 12 weeks to 2026-W47 (Nov 16-22) start Aug 31. A 16-week horizon starts
// Aug 3 (Nov 23 minus 112 days).
const HORIZON = 16;
const HORIZON_START = '2026-08-03T00:00:00Z';
const ev = (distinct_id: string, timestamp: string, properties: Record<string, unknown> = {}, event = 'connect.cluster.login'): TestEvent => ({
  event,
  distinct_id,
  timestamp,
  properties,
});
const EVENTS: TestEvent[] = [
  // Seen in March (beyond the horizon), back in W12: new, as far as the horizon can tell; its OS
  // from March is beyond it too (unknown), its version 18.0.0 too (a release in the 12 weeks).
  ev('old', '2026-03-02T10:00:00Z', { 'connect.os': 'darwin', 'connect.app_version': '18.0.0' }),
  ev('old', '2026-11-17T10:00:00Z', {}, 'connect.protocol.use'),
  // Seen in the horizon before the 12 weeks, active in W11 and W12.
  ev('mid', '2026-08-10T10:00:00Z', { 'connect.os': 'win32', 'connect.app_version': '18.0.0' }),
  ev('mid', '2026-11-10T10:00:00Z', {}, 'connect.protocol.use'),
  ev('mid', '2026-11-18T10:00:00Z', { 'connect.app_version': '18.1.0' }, 'connect.protocol.use'),
  // New in W11 with an OS.
  ev('new', '2026-11-11T10:00:00Z', { 'connect.os': 'linux', 'connect.app_version': '18.1.0' }),
  ev('new', '2026-11-19T10:00:00Z', {}, 'connect.protocol.use'),
];

let dir: string;
let standIn: StandIn;
let local: ChdbEngine;
let params: Record<string, unknown>;

beforeAll(async () => {
  dir = await tempDir('cm-horizon-');
  await writeExport(join(dir, 'all', 'events.jsonl'), EVENTS);
  await writeExport(join(dir, 'horizon', 'events.jsonl'), EVENTS.filter((e) => e.timestamp >= HORIZON_START));
  const catalog = await loadCatalog(DEFAULT_CATALOG);
  params = standardParams({ catalog, eventPrefix: 'connect.' }, { from: '2026-08-31 00:00:00.000000', to: '2026-11-23 00:00:00.000000' }, 'UTC');
  standIn = await startPostHogStandIn({ eventsPaths: [join(dir, 'all')], projectTimezone: 'UTC' });
  local = ChdbEngine.open(join(dir, 'data', 'clickhouse'));
  const store = new EventStore(local, join(dir, 'data'), silentLogger);
  await store.init();
  const found = await discoverFiles([join(dir, 'horizon')], (n) => exportFormatOf(n) !== undefined, { flag: '--events', kinds: EXPORT_KINDS });
  await store.select(await store.load(found.files));
}, 120_000);
afterAll(async () => {
  local?.close();
  await standIn?.close();
});

describe('PostHog with history longer than the horizon', () => {
  it('gives the figures of the events since the horizon start, with the same query text', async () => {
    const posthog = new HorizonEngine(
      new PostHogEngine({ host: standIn.url, projectId: String(standIn.projectId), apiKey: standIn.apiKey, logger: silentLogger, backoffBaseMs: 5 }),
      HORIZON,
    );
    for (const q of [queries.growth_weekly, queries.version_adoption, queries.platform_share] as QueryDefinition[]) {
      const remote = await runQuery(posthog, q, q.id === 'platform_share' ? { ...params, from: '2026-11-09 00:00:00.000000' } : params);
      const reference = await runQuery(local, q, q.id === 'platform_share' ? { ...params, from: '2026-11-09 00:00:00.000000' } : params);
      expect(remote).toEqual(reference);
    }
    // By hand: `old` counts as new in W12 (its March event is beyond the horizon) and `mid` as first
    // seen before the 12 weeks.
    const growth = await runQuery(posthog, queries.growth_weekly, params);
    expect(growth.find((r) => r.week === '2026-11-16')).toMatchObject({ new: 1, returning: 2, new_unknown: 1 });
    expect(growth.find((r) => r.week === '1970-01-01')).toMatchObject({ new: 1 });
    // The request carried the bounded value, not the text's.
    const sent = (await standIn.requests()).filter((r) => r.name === 'growth_weekly').at(-1);
    expect(sent?.values?.history_from).toBe('2026-08-03 00:00:00.000000');
  });
});

describe('the digest under a horizon', () => {
  it('says what new and the latest OS and version mean, only when the source has a horizon', async () => {
    const client = new PostHogEngine({ host: standIn.url, projectId: String(standIn.projectId), apiKey: standIn.apiKey, logger: silentLogger, backoffBaseMs: 5 });
    const catalog = await loadCatalog(DEFAULT_CATALOG);
    const plan = await loadTrackingPlan(DEFAULT_TRACKING_PLAN);
    const week = parseWeek('2026-W47', 'UTC', new Date());
    const build = (engine: PostHogEngine | HorizonEngine) =>
      computeWeeklyReport(
        { engine, catalog, eventPrefix: 'connect.', plan, clusterShare: DEFAULT_CLUSTER_SHARE, logger: silentLogger },
        { week, dataQuality: emptyDataQuality('PostHog'), generatedAt: new Date('2026-11-23T09:00:00Z') },
      );
    const bounded = await build(new HorizonEngine(client, HORIZON));
    expect(bounded.horizonWeeks).toBe(HORIZON);
    expect(weeklyDigest(bounded).context).toContain(horizonFootnote(HORIZON));
    expect(horizonFootnote(HORIZON)).toMatch(/16 weeks.*counts as new when it returns.*else unknown/);
    const unbounded = await build(client);
    expect(unbounded.horizonWeeks).toBeUndefined();
    expect(weeklyDigest(unbounded).context.join('\n')).not.toMatch(/history\.horizonWeeks/);
  }, 60_000);
});
