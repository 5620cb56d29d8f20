import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allQueries, queries } from '../src/queries/index.ts';
import { placeholdersOf, toClickHousePlaceholders } from '../src/engine/params.ts';
import { ChdbEngine } from '../src/engine/chdb-engine.ts';
import { EventStore, EVENTS_COLUMN_NAMES } from '../src/sources/event-store.ts';
import { SLIM_TABLE_COLUMNS } from '../src/sources/installation-state.ts';
import { discoverFiles } from '../src/sources/discover.ts';
import { exportFormatOf } from '../src/sources/posthog-export.ts';
import { runQuery } from '../src/engine/run-query.ts';
import { standardParams } from '../src/jobs/weekly-report.ts';
import { loadCatalog } from '../src/config/catalog.ts';
import { DEFAULT_CATALOG, DEFAULT_CLUSTER_SHARE, DEFAULT_TRACKING_PLAN } from '../src/config/config.ts';
import { loadTrackingPlan } from '../src/config/tracking-plan.ts';
import { silentLogger } from '../src/lib/logger.ts';
import { QueryError } from '../src/lib/errors.ts';
import { EVENT_OS, EVENT_VERSION } from '../src/engine/event-fields.ts';
import { tempDir, writeExport } from './helpers/fixtures.ts';

const HASH_A = `${'a'.repeat(42)}A=`;
const HASH_B = `${'b'.repeat(42)}A=`;
const QUERY_DIR = join(import.meta.dirname, '..', 'src', 'queries');

describe('query registry', () => {
  const files = readdirSync(QUERY_DIR)
    .filter((f) => f.endsWith('.ts') && f !== 'index.ts')
    .map((f) => f.replace(/\.ts$/, ''))
    .sort();

  it('lists exactly the query files of src/queries (and there are some)', () => {
    expect(files.length).toBeGreaterThanOrEqual(5);
    expect(allQueries.map((q) => q.id).sort()).toEqual(files);
  });

  it.each(files)('%s: id is its file name and it has a description', async (file) => {
    const mod = (await import(join(QUERY_DIR, `${file}.ts`))) as { default: { id: string; description: string } };
    expect(mod.default.id).toBe(file);
    expect(mod.default.description.length).toBeGreaterThan(20);
  });

  it.each(allQueries.map((q) => [q.id, q] as const))('%s: every placeholder is declared and every parameter used', (_id, q) => {
    expect(placeholdersOf(q.sql).sort()).toEqual(Object.keys(q.params).sort());
  });

  it.each(allQueries.map((q) => [q.id, q] as const))('%s: values only through placeholders (no literal dates or prefixes in the text)', (_id, q) => {
    expect(q.sql).not.toMatch(/'\d{4}-\d{2}-\d{2}[ T]\d/);
    expect(q.sql).not.toMatch(/startsWith\(event, '|event\s*(=|IN)\s*[('\[]/);
  });

  // servedByState (src/engine/query.ts): the embedded engine may withhold the properties of every
  // event but the state events, which is exact only for a look-back that reads properties solely
  // through the OS and version lookups (the rules the state events keep).
  it.each(allQueries.filter((q) => q.servedByState).map((q) => [q.id, q] as const))(
    '%s: served by state, so it reads properties only through EVENT_OS / EVENT_VERSION, with a look-back and a prefix',
    (_id, q) => {
      expect(q.params).toHaveProperty('history_from');
      expect(q.params).toHaveProperty('prefix');
      const rest = q.sql.split(EVENT_OS).join('').split(EVENT_VERSION).join('');
      expect(rest).not.toMatch(/properties|JSON/i);
      // The state view's table keeps only some columns of the other events (installation-state.ts).
      const withheld = EVENTS_COLUMN_NAMES.split(', ').filter((c) => !SLIM_TABLE_COLUMNS.includes(c) && !c.includes('properties'));
      expect(withheld.length).toBeGreaterThan(0);
      for (const column of withheld) expect(rest).not.toMatch(new RegExp(`\\b${column}\\b`));
    },
  );

  it('the queries served by state are the three look-backs', () => {
    expect(allQueries.filter((q) => q.servedByState).map((q) => q.id).sort()).toEqual(['growth_weekly', 'platform_share', 'version_adoption']);
  });

  it('rewrites placeholders mechanically for ClickHouse, and refuses an undeclared one', () => {
    const q = queries.protocol_usage;
    const rewritten = toClickHousePlaceholders(q.sql, q.params);
    expect(rewritten).toContain('{protocol_events:Array(String)}');
    expect(rewritten).toContain('{timezone:String}');
    expect(rewritten.replace(/\{(\w+):[^}]+\}/g, '{$1}')).toBe(q.sql);
    expect(() => toClickHousePlaceholders('SELECT {nope}', q.params)).toThrow(/nope/);
  });

  // Pinned text: a change to a query shows up as a diff in review (Cube's practice).
  it.each(allQueries.map((q) => [q.id, q] as const))('%s: SQL text is pinned', (_id, q) => {
    expect(q.sql).toMatchSnapshot();
  });
});

describe('every query on the embedded engine', () => {
  let engine: ChdbEngine;
  let params: Record<string, unknown>;

  beforeAll(async () => {
    const dir = await tempDir();
    const ev = join(dir, 'events');
    // Week 2026-W47 (Mon Nov 16) and the week before, UTC. Expected values below are worked out by hand.
    await writeExport(join(ev, 'a.jsonl'), [
      { event: 'connect.cluster.login', distinct_id: 'a', timestamp: '2026-11-16T10:00:00Z', properties: { 'connect.os': 'darwin', 'connect.app_version': '18.2.1', 'tp.user_name': HASH_A } },
      // The cluster's side of a's login (Connect's share of cluster logins), and a local user who only logs in to the cluster.
      { event: 'tp.user.login', distinct_id: 'tp.acct', timestamp: '2026-11-16T09:59:00Z', properties: { 'tp.user_name': HASH_A, 'tp.connector_type': 'saml' } },
      { event: 'tp.user.login', distinct_id: 'tp.acct', timestamp: '2026-11-12T09:59:00Z', properties: { 'tp.user_name': HASH_B } },
      { event: 'connect.protocol.use', distinct_id: 'a', timestamp: '2026-11-17T10:00:00Z', properties: { 'connect.protocol': 'ssh' } },
      { event: 'connect.protcol.run', distinct_id: 'b', timestamp: '2026-11-16T11:00:00Z', properties: { protocol: 'proxy_db' }, person_properties: { os: 'win32' } },
      { event: '$pageview', distinct_id: 'c', timestamp: '2026-11-16T12:00:00Z' },
      { event: 'connect.protocol.use', distinct_id: 'd', timestamp: '2026-11-10T09:00:00Z' },
      { event: 'connect.cluster.login', distinct_id: 'd', timestamp: '2026-11-01T09:00:00Z', properties: { 'connect.os': 'linux', connect_version: '17.0.0' } },
      // Arrived two days late.
      { event: 'connect.vnet.start', distinct_id: 'e', timestamp: '2026-11-18T23:59:59Z', created_at: '2026-11-20T23:59:59Z' },
      { event: 'connect.vnet.start', distinct_id: 'e', timestamp: '2026-11-23T00:00:00Z' },
    ]);
    engine = ChdbEngine.open(join(dir, 'data', 'clickhouse'));
    const store = new EventStore(engine, join(dir, 'data'), silentLogger);
    await store.init();
    const found = await discoverFiles([ev], (n) => exportFormatOf(n) !== undefined, { flag: '--events', kinds: 'x' });
    await store.select(await store.load(found.files));
    const catalog = await loadCatalog(DEFAULT_CATALOG);
    const plan = await loadTrackingPlan(DEFAULT_TRACKING_PLAN);
    params = standardParams(
      { catalog, eventPrefix: 'connect.', plan, clusterShare: DEFAULT_CLUSTER_SHARE },
      { from: '2026-11-09 00:00:00.000000', to: '2026-11-23 00:00:00.000000' },
      'UTC',
    );
  });
  afterAll(() => engine?.close());

  const eventQueries = allQueries.filter((q) => (q.reads ?? 'events') === 'events');
  it.each(eventQueries.map((q) => [q.id, q] as const))('%s runs with the standard parameters and returns rows of its schema', async (_id, q) => {
    const rows = await runQuery(engine, q, params);
    expect(rows.length).toBeGreaterThan(0);
  });

  // A new query needs its own hand-checked test below; this list makes forgetting one fail.
  it('every registered events query has a hand-checked test in this block', () => {
    expect(eventQueries.map((q) => q.id).sort()).toEqual([
      'active_users_daily',
      'active_users_weekly',
      'connect_share',
      'feature_usage',
      'growth_weekly',
      'platform_share',
      'protocol_usage',
      'tracking_plan',
      'version_adoption',
    ]);
    expect(allQueries.filter((q) => q.reads === 'cdn_requests').map((q) => q.id)).toEqual(['downloads_daily']); // test/downloads.test.ts
  });

  it('active_users_daily', async () => {
    expect(await runQuery(engine, queries.active_users_daily, params)).toEqual([
      { day: '2026-11-10', active_users: 1, events: 1, late_events: 0, first_event: '2026-11-10T09:00:00Z', last_event: '2026-11-10T09:00:00Z' },
      // a's login at 10:00 and b's draft-named protocol event at 11:00 (c's $pageview is not connect.*)
      { day: '2026-11-16', active_users: 2, events: 2, late_events: 0, first_event: '2026-11-16T10:00:00Z', last_event: '2026-11-16T11:00:00Z' },
      { day: '2026-11-17', active_users: 1, events: 1, late_events: 0, first_event: '2026-11-17T10:00:00Z', last_event: '2026-11-17T10:00:00Z' },
      { day: '2026-11-18', active_users: 1, events: 1, late_events: 1, first_event: '2026-11-18T23:59:59Z', last_event: '2026-11-18T23:59:59Z' },
    ]);
  });

  it('active_users_weekly', async () => {
    expect(await runQuery(engine, queries.active_users_weekly, params)).toEqual([
      { week: '2026-11-09', active_users: 1, events: 1 },
      { week: '2026-11-16', active_users: 3, events: 4 },
    ]);
  });

  it('feature_usage maps aliases to their feature and keeps unknown events by name', async () => {
    expect(await runQuery(engine, queries.feature_usage, params)).toEqual([
      { week: '2026-11-09', feature: 'protocol_use', events: 1, users: 1 },
      { week: '2026-11-16', feature: 'connect.vnet.start', events: 1, users: 1 },
      { week: '2026-11-16', feature: 'login', events: 1, users: 1 },
      { week: '2026-11-16', feature: 'protocol_use', events: 2, users: 2 },
    ]);
  });

  it('protocol_usage reads connect.protocol, then protocol; proxy_db is db; missing is unknown', async () => {
    expect(await runQuery(engine, queries.protocol_usage, params)).toEqual([
      { week: '2026-11-09', protocol: 'unknown', events: 1, users: 1 },
      { week: '2026-11-16', protocol: 'db', events: 1, users: 1 },
      { week: '2026-11-16', protocol: 'ssh', events: 1, users: 1 },
    ]);
  });

  it('platform_share takes the latest OS before the week end, from history and person properties', async () => {
    expect(await runQuery(engine, queries.platform_share, params)).toEqual([
      { week: '2026-11-09', os: 'linux', users: 1 },
      { week: '2026-11-16', os: 'macos', users: 1 },
      { week: '2026-11-16', os: 'unknown', users: 1 },
      { week: '2026-11-16', os: 'windows', users: 1 },
    ]);
  });

  it('tracking_plan (first_seen rows): the first day of each connect.* event within the look-back (earlier history ignored)', async () => {
    const rows = await runQuery(engine, queries.tracking_plan, params);
    expect(rows.filter((r) => r.kind === 'first_seen').map((r) => ({ event: r.event, first_seen: r.first_seen, users: r.users, events: r.events }))).toEqual([
      { event: 'connect.cluster.login', first_seen: '2026-11-16', users: 1, events: 1 }, // d's login of Nov 1 is before the look-back
      { event: 'connect.protcol.run', first_seen: '2026-11-16', users: 1, events: 1 },
      { event: 'connect.protocol.use', first_seen: '2026-11-10', users: 2, events: 2 },
      { event: 'connect.vnet.start', first_seen: '2026-11-18', users: 1, events: 1 }, // its Nov 23 event is after the period
    ]);
    // The plan's checks are tested in test/tracking-plan.test.ts; here: every event of the period is counted once.
    expect(rows.filter((r) => r.kind === 'event').reduce((s, r) => s + r.events, 0)).toBe(5);
    // Checking only the second week: first days and events still over the look-back; installations
    // over the checked week, and only for names first seen in it (protocol.use was sent on Nov 10, so
    // its installations are not counted: 0, though a sent it on Nov 17).
    const checked = await runQuery(engine, queries.tracking_plan, { ...params, check_from: '2026-11-16 00:00:00.000000' });
    expect(checked.filter((r) => r.kind === 'first_seen').map((r) => ({ event: r.event, first_seen: r.first_seen, users: r.users, events: r.events }))).toEqual([
      { event: 'connect.cluster.login', first_seen: '2026-11-16', users: 1, events: 1 },
      { event: 'connect.protcol.run', first_seen: '2026-11-16', users: 1, events: 1 },
      { event: 'connect.protocol.use', first_seen: '2026-11-10', users: 0, events: 2 },
      { event: 'connect.vnet.start', first_seen: '2026-11-18', users: 1, events: 1 },
    ]);
  });

  it('connect_share: per week, cluster users and those who also logged in with Connect, in all and per connector', async () => {
    expect(await runQuery(engine, queries.connect_share, params)).toEqual([
      // W46: b logs in to the cluster (local), never with Connect.
      { week: '2026-11-09', connector_type: '', cluster_users: 1, connect_users: 0 },
      { week: '2026-11-09', connector_type: 'local', cluster_users: 1, connect_users: 0 },
      // W47: a logs in to the cluster over SAML and with Connect.
      { week: '2026-11-16', connector_type: '', cluster_users: 1, connect_users: 1 },
      { week: '2026-11-16', connector_type: 'saml', cluster_users: 1, connect_users: 1 },
    ]);
  });

  it('growth_weekly: d first seen before the period (Nov 1) is back in W46 (resurrecting), dormant in W47; a, b, e new in W47', async () => {
    const zero = { new: 0, returning: 0, resurrecting: 0, dormant: 0, cohort_w1: 0, cohort_w2: 0, cohort_w3: 0, cohort_w4: 0, cohort_w5: 0, cohort_w6: 0, cohort_w7: 0, cohort_w8: 0, new_macos: 0, new_windows: 0, new_linux: 0, new_other: 0, new_unknown: 0 };
    expect(await runQuery(engine, queries.growth_weekly, params)).toEqual([
      { ...zero, week: '1970-01-01', new: 1, active_users: 0, events: 0 },
      // cohort_wK counts on the active week's row: d's first week is that of Sun Nov 1, Mon Oct 26,
      // and Nov 9 - 14 days = Oct 26, so d is cohort_w2 here (a cohort before the period counts too).
      // W47's active a, b, e are new there (K = 0), so no cohort_wK on W47's row.
      { ...zero, week: '2026-11-09', resurrecting: 1, cohort_w2: 1, active_users: 1, events: 1 },
      // a darwin, b win32 from person properties, e no OS; c only sent a $pageview. Active: a (2
      // events), b (1), e (1; its Nov 23 event is after the period), as active_users_weekly counts them.
      { ...zero, week: '2026-11-16', new: 3, dormant: 1, new_macos: 1, new_windows: 1, new_unknown: 1, active_users: 3, events: 4 },
    ]);
  });

  it('version_adoption: the latest version before each week, from history; first days, earlier ones as 1970-01-01', async () => {
    expect(await runQuery(engine, queries.version_adoption, params)).toEqual([
      { kind: 'first_day', period: '1970-01-01', version: '17.0.0', users: 1 }, // d, draft name connect_version, Nov 1
      { kind: 'first_day', period: '2026-11-16', version: '18.2.1', users: 1 },
      { kind: 'week', period: '2026-11-09', version: '17.0.0', users: 1 },
      { kind: 'week', period: '2026-11-16', version: '18.2.1', users: 1 },
      { kind: 'week', period: '2026-11-16', version: 'unknown', users: 2 },
    ]);
  });

  it('names the query and the parameter when a value is wrong', async () => {
    await expect(runQuery(engine, queries.active_users_daily, { ...params, timezone: 'Mars/Olympus' })).rejects.toThrow(
      /query active_users_daily: parameter timezone/,
    );
    await expect(runQuery(engine, queries.active_users_daily, { ...params, from: '2026-11-09' })).rejects.toBeInstanceOf(QueryError);
  });
});
