/**
 * The production PostHog path, over real HTTP, against the loopback stand-in: the same report as
 * from export files, the request budget, the closed-week cache, and every status PostHog answers.
 */
import { join } from 'node:path';
import { readdir, readFile } from 'node:fs/promises';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startPostHogStandIn, type StandIn } from './standins/posthog/index.ts';
import { runCli, tempDir } from './helpers/fixtures.ts';
import { writeDemoExport, generateDemoEvents } from '../src/demo/generator.ts';
import { PostHogEngine } from '../src/engine/posthog-engine.ts';
import { ChdbEngine } from '../src/engine/chdb-engine.ts';
import { EventStore } from '../src/sources/event-store.ts';
import { discoverFiles } from '../src/sources/discover.ts';
import { EXPORT_KINDS, exportFormatOf } from '../src/sources/posthog-export.ts';
import { runQuery } from '../src/engine/run-query.ts';
import { eventQueries as allQueries, queries } from '../src/queries/index.ts';
import type { QueryDefinition } from '../src/engine/query.ts';
import { standardParams } from '../src/jobs/weekly-report.ts';
import { loadCatalog } from '../src/config/catalog.ts';
import { DEFAULT_CATALOG, DEFAULT_CLUSTER_SHARE, DEFAULT_TRACKING_PLAN } from '../src/config/config.ts';
import { loadTrackingPlan } from '../src/config/tracking-plan.ts';
import { memoryLogger, silentLogger } from '../src/lib/logger.ts';
import {
  PostHogAuthError,
  PostHogQueryRejectedError,
  PostHogQuotaError,
  PostHogThrottledError,
  PostHogTooHeavyError,
  PostHogUnavailableError,
} from '../src/engine/posthog-errors.ts';

const CSVS = [
  'summary.csv',
  'dau.csv',
  'features.csv',
  'protocols.csv',
  'platforms.csv',
  'lifecycle.csv',
  'retention.csv',
  'versions.csv',
  'releases.csv',
  'new_installations.csv',
  'connect_share.csv',
  'connect_share_by_connector.csv',
  'tracking_plan.csv',
];
let dir: string;
let events: string;
let standIn: StandIn;

beforeAll(async () => {
  dir = await tempDir('cm-posthog-');
  events = join(dir, 'export');
  // Realistic data (the demo generator) over five weeks around the autumn DST change in Los Angeles.
  await writeDemoExport(events, {
    seed: 11,
    start: new Date('2026-10-12T00:00:00Z'),
    end: new Date('2026-11-23T12:00:00Z'),
    installations: 250,
    badRecords: true,
  });
  // The project's timezone differs from every report timezone used here, so a query that leaned on
  // PostHog's default conversion would shift days.
  standIn = await startPostHogStandIn({ eventsPaths: [events], projectTimezone: 'Asia/Tokyo' });
}, 120_000);
afterAll(async () => {
  await standIn?.close();
});

function env(s: StandIn, key = s.apiKey): Record<string, string> {
  return { POSTHOG_HOST: s.url, POSTHOG_PROJECT_ID: String(s.projectId), POSTHOG_API_KEY: key };
}

async function readCsvs(out: string): Promise<Record<string, string>> {
  return Object.fromEntries(await Promise.all(CSVS.map(async (f) => [f, await readFile(join(out, f), 'utf8')] as const)));
}

describe('--source posthog and --source files give identical reports', () => {
  it.each([
    ['2026-W47', 'UTC'],
    ['2026-W44', 'America/Los_Angeles'], // 169-hour week: DST ends Sunday Nov 1
    ['2026-W45', 'Asia/Kolkata'],
  ])('%s in %s', async (week, zone) => {
    await standIn.reset();
    const data = join(dir, `data-${zone.replace('/', '_')}`);
    const filesOut = join(dir, `files-${week}-${zone.replace('/', '_')}`);
    const posthogOut = join(dir, `posthog-${week}-${zone.replace('/', '_')}`);
    const a = await runCli(['report', '--source', 'files', '--events', events, '--week', week, '--timezone', zone, '--out', filesOut, '--data-dir', data]);
    expect(a.code, a.stderr).toBe(0);
    const b = await runCli(['report', '--source', 'posthog', '--week', week, '--timezone', zone, '--out', posthogOut, '--data-dir', data], {
      env: env(standIn),
    });
    expect(b.code, b.stderr).toBe(0);
    const files = await readCsvs(filesOut);
    const posthog = await readCsvs(posthogOut);
    expect(posthog).toEqual(files);
    // Not trivially equal: the week has activity.
    expect(files['summary.csv']).toMatch(/^wau,[1-9]/m);
  });
});

describe('request budget and the closed-week cache', () => {
  // Issue 12: at most 8 requests with no fault, one per report query.
  it('a weekly report takes at most 8 requests, one per report query; re-running a closed week takes none', async () => {
    await standIn.reset();
    const data = join(dir, 'data-budget');
    const args = ['report', '--source', 'posthog', '--week', '2026-W47', '--out', join(dir, 'out-budget'), '--data-dir', data];
    // Tuesday 2026-11-24 12:00 UTC: W47 ended 36 hours ago, not closed yet.
    const first = await runCli(args, { env: env(standIn), now: '2026-11-24T12:00:00Z' });
    expect(first.code, first.stderr).toBe(0);
    const firstCount = (await standIn.requests()).length;
    expect(firstCount).toBeGreaterThan(0);
    expect(firstCount).toBeLessThanOrEqual(8);
    // Each query answered in one request: no paging, whatever the number of installations.
    expect((await standIn.requests()).map((r) => r.name).sort()).toEqual(
      // tracking_plan replaced event_first_seen (issue 15) and connect_share is new; weekly active
      // installations come from growth_weekly (issue 13), so active_users_weekly is not asked for.
      ['active_users_daily', 'connect_share', 'feature_usage', 'growth_weekly', 'platform_share', 'protocol_usage', 'tracking_plan', 'version_adoption'],
    );
    expect(first.stderr).toMatch(new RegExp(`PostHog: ${firstCount} requests in`));
    // Still open: asked again.
    await runCli(args, { env: env(standIn), now: '2026-11-24T13:00:00Z' });
    expect((await standIn.requests()).length).toBe(2 * firstCount);
    // Thursday: closed more than 48 h ago; the first run after closing fetches and caches...
    await runCli(args, { env: env(standIn), now: '2026-11-26T12:00:00Z' });
    expect((await standIn.requests()).length).toBe(3 * firstCount);
    // ... and every later run sends nothing, with the same CSVs.
    const before = await readCsvs(join(dir, 'out-budget'));
    const again = await runCli(args, { env: env(standIn), now: '2026-12-01T12:00:00Z' });
    expect(again.code).toBe(0);
    expect((await standIn.requests()).length).toBe(3 * firstCount);
    expect(again.stderr).toMatch(/PostHog: 0 requests in/);
    expect(await readCsvs(join(dir, 'out-budget'))).toEqual(before);
  });
});

describe('the API key stays secret', () => {
  it('appears in no output, log, error or file, whatever happens', async () => {
    await standIn.reset();
    const data = join(dir, 'data-secret');
    const secretKey = 'phx_thisisthesecretkey0123456789';
    // Wrong key: 401 from the stand-in.
    const denied = await runCli(['report', '--source', 'posthog', '--week', '2026-W47', '--out', join(dir, 'out-secret'), '--data-dir', data, '-v'], {
      env: env(standIn, secretKey),
    });
    expect(denied.code).toBe(1);
    expect(denied.stderr).toMatch(/PostHog refused the API key \(401\)/);
    expect(denied.stderr).toMatch(/create a personal API key with the query:read scope/);
    // A good key with faults along the way, then written files and cache.
    await standIn.setFaults([{ status: 503 }, { status: 400, when: { queryName: 'feature_usage' } }]);
    const failed = await runCli(['report', '--source', 'posthog', '--week', '2026-W40', '--out', join(dir, 'out-secret'), '--data-dir', data, '-v'], {
      env: env(standIn),
      now: '2026-11-24T12:00:00Z',
    });
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/feature_usage: \(src\/queries\/feature_usage\.ts\) PostHog rejected the query \(400/);
    // The other queries were cancelled with it: nothing goes on retrying after the run ended.
    const afterFailure = (await standIn.requests()).length;
    await new Promise((r) => setTimeout(r, 2500));
    expect((await standIn.requests()).length).toBe(afterFailure);
    const ok = await runCli(['report', '--source', 'posthog', '--week', '2026-W40', '--out', join(dir, 'out-secret'), '--data-dir', data, '-v'], {
      env: env(standIn),
      now: '2026-11-24T12:00:00Z',
    });
    expect(ok.code, ok.stderr).toBe(0);
    for (const run of [denied, failed, ok]) {
      expect(run.stdout + run.stderr).not.toContain(secretKey);
      expect(run.stdout + run.stderr).not.toContain(standIn.apiKey);
    }
    const written = [
      ...(await readdir(join(dir, 'out-secret'))).map((f) => join(dir, 'out-secret', f)),
      ...(await readdir(join(data, 'query-cache'))).map((f) => join(data, 'query-cache', f)),
    ];
    expect(written.length).toBeGreaterThan(5);
    for (const file of written) {
      const text = await readFile(file, 'utf8');
      expect(text).not.toContain(standIn.apiKey);
    }
  });
});

describe('the Query API client against every answer PostHog gives', () => {
  let params: Record<string, unknown>;
  let expected: Map<string, unknown[]>;
  const logger = memoryLogger();

  const engine = (overrides: Partial<ConstructorParameters<typeof PostHogEngine>[0]> = {}) => {
    let requests = 0;
    const e = new PostHogEngine({
      host: standIn.url,
      projectId: String(standIn.projectId),
      apiKey: standIn.apiKey,
      logger,
      backoffBaseMs: 20,
      maxDelayMs: 2000,
      requestTimeoutMs: 5000,
      onRequest: () => {
        requests++;
      },
      ...overrides,
    });
    return { e, requests: () => requests };
  };

  beforeAll(async () => {
    // The expected rows of every query, computed by the embedded engine over the same export files.
    const catalog = await loadCatalog(DEFAULT_CATALOG);
    const plan = await loadTrackingPlan(DEFAULT_TRACKING_PLAN);
    params = standardParams(
      { catalog, eventPrefix: 'connect.', plan, clusterShare: DEFAULT_CLUSTER_SHARE },
      { from: '2026-11-09 08:00:00.000000', to: '2026-11-23 08:00:00.000000' },
      'America/Los_Angeles',
    );
    const local = ChdbEngine.open(join(dir, 'expected-data', 'clickhouse'));
    try {
      const store = new EventStore(local, join(dir, 'expected-data'), silentLogger);
      await store.init();
      const found = await discoverFiles([events], (n) => exportFormatOf(n) !== undefined, { flag: '--events', kinds: EXPORT_KINDS });
      await store.select(await store.load(found.files));
      expected = new Map();
      for (const q of allQueries) expected.set(q.id, await runQuery(local, q, params));
    } finally {
      local.close();
    }
  });
  beforeEach(async () => {
    await standIn.reset();
  });

  it('200: rows equal the embedded engine for every query; the modifiers pin the timezone and the persons-on-events mode', async () => {
    const { e, requests } = engine();
    for (const q of allQueries) expect(await runQuery(e, q, params)).toEqual(expected.get(q.id));
    expect(requests()).toBe(allQueries.length);
    const log = await standIn.requests();
    for (const r of log) {
      expect(r.modifiers).toEqual({ convertToProjectTimezone: false, personsOnEventsMode: 'person_id_no_override_properties_on_events' });
    }
    expect(log.map((r) => r.name).sort()).toEqual(allQueries.map((q) => q.id).sort());
  });

  it('the same rows on a team whose persons-on-events mode joins current person properties (the pinned mode governs)', async () => {
    const joinedTeam = await startPostHogStandIn({ eventsPaths: [events], projectTimezone: 'Asia/Tokyo', personsOnEventsMode: 'person_id_override_properties_joined' });
    try {
      const e = new PostHogEngine({ host: joinedTeam.url, projectId: String(joinedTeam.projectId), apiKey: joinedTeam.apiKey, logger: silentLogger });
      for (const id of ['platform_share', 'version_adoption'] as const) {
        expect(await runQuery(e, queries[id] as QueryDefinition, params)).toEqual(expected.get(id));
      }
      // Without the pin, the team's mode would have read the person's current OS instead (not what the export holds).
      const unpinned = new PostHogEngine({
        host: joinedTeam.url,
        projectId: String(joinedTeam.projectId),
        apiKey: joinedTeam.apiKey,
        logger: silentLogger,
        modifiers: { personsOnEventsMode: null },
      });
      // Distinct (installation, person properties) pairs: on events, one per state a person went through
      // (new versions); joined, one per installation (its current properties).
      const sql = 'SELECT uniqExact(distinct_id, person.properties) AS pairs, uniqExact(distinct_id) AS installations FROM events';
      const [pinned, joined] = await Promise.all([e.client.query({ name: 'poe', sql, values: {} }), unpinned.client.query({ name: 'poe', sql, values: {} })]);
      expect(joined.results[0]![0]).toBe(joined.results[0]![1]);
      expect(Number(pinned.results[0]![0])).toBeGreaterThan(Number(pinned.results[0]![1]));
    } finally {
      await joinedTeam.close();
    }
  });

  it('202: polls until done', async () => {
    await standIn.setFaults([{ kind: 'async', pollsUntilDone: 3 }]);
    const { e } = engine();
    expect(await runQuery(e, queries.platform_share, params)).toEqual(expected.get('platform_share'));
    const log = await standIn.requests();
    expect(log.map((r) => `${r.method} ${r.status}`)).toEqual(['POST 202', 'GET 202', 'GET 202', 'GET 202', 'GET 200']);
  });

  it('202 past the deadline: cancels the query (DELETE) and says so', async () => {
    await standIn.setFaults([{ kind: 'async', pollsUntilDone: 1000 }]);
    const { e } = engine({ pollDeadlineMs: 600 });
    await expect(runQuery(e, queries.active_users_weekly, params)).rejects.toThrow(/still running after 1 s; cancelled/);
    expect((await standIn.requests()).at(-1)?.method).toBe('DELETE');
  });

  it('429 throttled: waits the time PostHog states in detail (no Retry-After), then succeeds', async () => {
    await standIn.setFaults([{ preset: 'throttled', waitSeconds: 7 }]);
    const slept: number[] = [];
    const { e, requests } = engine({ sleep: async (ms) => void slept.push(ms) });
    expect(await runQuery(e, queries.active_users_weekly, params)).toEqual(expected.get('active_users_weekly'));
    expect(requests()).toBe(2);
    expect(slept).toEqual([7000]);
    expect(logger.records.some((r) => /waiting 7 s as PostHog says/.test(r.msg))).toBe(true);
  });

  it('429 throttled longer than the limit: stops with one line saying until when', async () => {
    await standIn.setFaults([{ preset: 'throttled', waitSeconds: 3600 }]);
    const slept: number[] = [];
    // 13:04:10 UTC + 3600 s = 14:04:10, said as 14:05 (the budget is back by then).
    const { e, requests } = engine({ sleep: async (ms) => void slept.push(ms), now: () => Date.parse('2026-11-24T13:04:10Z') });
    const error = await runQuery(e, queries.active_users_weekly, params).catch((x: unknown) => x);
    expect(error).toBeInstanceOf(PostHogThrottledError);
    expect((error as Error).message).toBe("PostHog's query budget for this key is used up until 14:05 UTC; run again then");
    expect(requests()).toBe(1);
    expect(slept).toEqual([]);
    // With a longer limit (backfill: no limit) the same throttle is waited out.
    await standIn.setFaults([{ preset: 'throttled', waitSeconds: 3600 }]);
    const patient = engine({ sleep: async (ms) => void slept.push(ms), maxThrottleWaitMs: Number.POSITIVE_INFINITY });
    expect(await runQuery(patient.e, queries.active_users_weekly, params)).toEqual(expected.get('active_users_weekly'));
    expect(slept).toEqual([3_600_000]);
  });

  it('a 35-second throttle window is waited out: the wait is the one PostHog states, on its own clock', async () => {
    // PostHog's rate limit on the stand-in's clock: 2 queries a minute. Two at t0, the third 25 s later
    // is refused with "Expected available in 35 seconds." The client's sleep moves the stand-in's clock.
    const limited = await startPostHogStandIn({ ratePerMinute: 2 });
    try {
      const slept: number[] = [];
      const e = new PostHogEngine({
        host: limited.url,
        projectId: String(limited.projectId),
        apiKey: limited.apiKey,
        logger: silentLogger,
        sleep: async (ms) => {
          slept.push(ms);
          await limited.advanceClock(ms);
        },
      });
      const q = queries.active_users_weekly;
      await runQuery(e, q, params);
      await runQuery(e, q, params);
      await limited.advanceClock(25_000);
      expect(await runQuery(e, q, params)).toEqual([]);
      expect(slept).toEqual([35_000]);
      const log = await limited.requests();
      expect(log.map((r) => r.status)).toEqual([200, 200, 429, 200]);
      // The retry came when the window had passed on the stand-in's clock, not before.
      expect(log[3]!.at - log[0]!.at).toBeGreaterThanOrEqual(60_000);
    } finally {
      await limited.close();
    }
  });

  it('429 without Retry-After (no concurrency slot): backs off and succeeds', async () => {
    await standIn.setFaults([{ status: 429, times: 2 }]);
    const { e, requests } = engine();
    expect(await runQuery(e, queries.active_users_weekly, params)).toEqual(expected.get('active_users_weekly'));
    expect(requests()).toBe(3);
    const log = await standIn.requests();
    expect(log.map((r) => r.status)).toEqual([429, 429, 200]);
  });

  it('503 database_unavailable with Retry-After: waits as asked', async () => {
    await standIn.setFaults([{ preset: 'database-unavailable' }]);
    const slept: number[] = [];
    const { e, requests } = engine({ sleep: async (ms) => void slept.push(ms) });
    expect(await runQuery(e, queries.active_users_daily, params)).toEqual(expected.get('active_users_daily'));
    expect(requests()).toBe(2);
    expect(slept).toEqual([1000]);
  });

  it('513 cluster-wide ("under heavy load"): not split, retried minutes later', async () => {
    await standIn.setFaults([{ preset: 'cluster-memory', times: 2 }]);
    const slept: number[] = [];
    const { e, requests } = engine({ sleep: async (ms) => void slept.push(ms) });
    expect(await runQuery(e, queries.active_users_weekly, params)).toEqual(expected.get('active_users_weekly'));
    expect(requests()).toBe(3);
    expect(slept).toEqual([60_000, 60_000]);
    // The same query, unsplit, each time.
    expect((await standIn.requests()).every((r) => r.values?.user_buckets === 1 && r.values?.from === params.from)).toBe(true);
  });

  it('400 too_many_bytes: split like a query too heavy', async () => {
    await standIn.setFaults([{ preset: 'too-many-bytes', times: -1, when: { minRangeDays: 1 } }]);
    const { e } = engine();
    expect(await runQuery(e, queries.active_users_daily, params)).toEqual(expected.get('active_users_daily'));
    expect((await standIn.requests()).filter((r) => r.status === 200)).toHaveLength(14);
  });

  it('504 past the 10-second execution limit of a personal-API-key query: split', async () => {
    await standIn.setFaults([{ kind: 'slow', runMs: 15_000, times: -1, when: { minRangeDays: 1 } }]);
    const { e } = engine();
    expect(await runQuery(e, queries.active_users_daily, params)).toEqual(expected.get('active_users_daily'));
    const log = await standIn.requests();
    expect(log.filter((r) => r.status === 504).length).toBeGreaterThan(0);
    expect(log.filter((r) => r.status === 200)).toHaveLength(14);
  });

  it('a failed async query: its error_message reaches the user with the query name and file', async () => {
    await standIn.setFaults([{ kind: 'async', pollsUntilDone: 1, status: 400 }]);
    const { e } = engine();
    const error = await runQuery(e, queries.protocol_usage, params).catch((x: unknown) => x);
    expect(error).toBeInstanceOf(PostHogQueryRejectedError);
    expect((error as Error).message).toMatch(/^PostHog query protocol_usage: \(src\/queries\/protocol_usage\.ts\) PostHog could not run it: Query error\./);
    // Failed without a message: the poll answers 500; said as such, not retried as if busy.
    await standIn.reset();
    await standIn.setFaults([{ kind: 'async', pollsUntilDone: 1, status: 500 }]);
    const internal = await runQuery(e, queries.protocol_usage, params).catch((x: unknown) => x);
    expect((internal as Error).message).toMatch(/PostHog could not run it: no message \(PostHog query id /);
    expect((await standIn.requests()).map((r) => `${r.method} ${r.status}`)).toEqual(['POST 202', 'GET 202', 'GET 500']);
  });

  it.each([500, 502, 503])('%i: retried with backoff', async (status) => {
    await standIn.setFaults([{ status, times: 2 }]);
    const { e, requests } = engine();
    expect(await runQuery(e, queries.active_users_daily, params)).toEqual(expected.get('active_users_daily'));
    expect(requests()).toBe(3);
  });

  it('503 that persists: gives up after the attempts, saying what to do', async () => {
    await standIn.setFaults([{ status: 503, times: -1 }]);
    const { e, requests } = engine({ maxAttempts: 3 });
    const error = await runQuery(e, queries.active_users_daily, params).catch((x: unknown) => x);
    expect(error).toBeInstanceOf(PostHogUnavailableError);
    expect((error as Error).message).toMatch(/gave up after 3 attempts; last: 503/);
    expect(requests()).toBe(3);
  });

  it.each([504, 512, 513])('%i: splits a multi-day query by time and combines the parts exactly', async (status) => {
    // Any query spanning more than one day is "too heavy".
    await standIn.setFaults([{ status, times: -1, when: { minRangeDays: 1 } }]);
    const { e } = engine();
    expect(await runQuery(e, queries.active_users_daily, params)).toEqual(expected.get('active_users_daily'));
    const log = await standIn.requests();
    expect(log.filter((r) => r.status === 200)).toHaveLength(14); // one per day of the two weeks
  });

  it('a single week still too heavy: splits by installation buckets, distinct counts exact', async () => {
    // Too heavy unless the range is at most 7 days AND the installations are cut into 4 or more buckets.
    await standIn.setFaults([
      { status: 513, times: -1, when: { minRangeDays: 7 } },
      { status: 513, times: -1, when: { belowUserBuckets: 4 } },
    ]);
    const { e } = engine();
    for (const id of ['active_users_weekly', 'feature_usage', 'protocol_usage', 'platform_share'] as const) {
      expect(await runQuery(e, queries[id] as QueryDefinition, params)).toEqual(expected.get(id));
    }
    const ok = (await standIn.requests()).filter((r) => r.status === 200);
    expect(ok.every((r) => Number(r.values?.user_buckets) === 4)).toBe(true);
    expect(ok).toHaveLength(4 * 2 * 4); // 4 queries x 2 weeks x 4 buckets
  });

  it('out of memory even in 64 parts: a clear error', async () => {
    await standIn.setFaults([{ status: 513, times: -1 }]);
    const { e } = engine();
    const error = await runQuery(e, queries.active_users_weekly, params).catch((x: unknown) => x);
    expect(error).toBeInstanceOf(PostHogTooHeavyError);
    expect((error as Error).message).toMatch(/still too heavy after splitting into 64 parts of one week/);
  });

  it('too slow for one week: not cut into installation buckets (each would read as much), explained at once', async () => {
    await standIn.setFaults([{ status: 512, times: -1 }]);
    const { e, requests } = engine();
    const error = await runQuery(e, queries.active_users_weekly, params).catch((x: unknown) => x);
    expect(error).toBeInstanceOf(PostHogTooHeavyError);
    expect((error as Error).message).toMatch(/does not finish within PostHog's time limit \(10 s for a query made with a personal API key\) even for one week \(512\)/);
    expect(requests()).toBe(3); // the two weeks, then each week once
  });

  it("a whole-history query past the 10-second limit: handled and explained, not split 64 ways", async () => {
    await standIn.setFaults([{ kind: 'slow', runMs: 30_000, times: -1, when: { queryName: 'growth_weekly' } }]);
    const { e, requests } = engine();
    const error = await runQuery(e, queries.growth_weekly, params).catch((x: unknown) => x);
    expect(error).toBeInstanceOf(PostHogTooHeavyError);
    expect((error as Error).message).toBe(
      "PostHog query growth_weekly: does not finish within PostHog's time limit (10 s for a query made with a personal API key): it reads every installation's whole history, which no split can shorten (504)",
    );
    expect((error as PostHogTooHeavyError).hint).toMatch(/--source files/);
    expect(requests()).toBe(1);
  });

  it('400: not retried; shows PostHog\'s detail and the query', async () => {
    const { e, requests } = engine();
    await standIn.setFaults([{ status: 400, body: { type: 'validation_error', code: 'hogql_query_error', detail: 'Unknown table `events2`.', attr: null } }]);
    const error = await runQuery(e, queries.feature_usage, params).catch((x: unknown) => x);
    expect(error).toBeInstanceOf(PostHogQueryRejectedError);
    expect((error as Error).message).toBe('PostHog query feature_usage: (src/queries/feature_usage.ts) PostHog rejected the query (400 hogql_query_error): Unknown table `events2`.');
    expect(requests()).toBe(1);
  });

  it('401 and 403: not retried; say the key or its scope is wrong', async () => {
    const wrong = engine({ apiKey: 'phx_not_the_right_key_123' });
    const e401 = await runQuery(wrong.e, queries.active_users_daily, params).catch((x: unknown) => x);
    expect(e401).toBeInstanceOf(PostHogAuthError);
    expect((e401 as PostHogAuthError).hint).toMatch(/wrong, expired or revoked/);
    expect(wrong.requests()).toBe(1);
    const noScope = await startPostHogStandIn({ scopes: ['insight:read'] });
    try {
      const e = new PostHogEngine({ host: noScope.url, projectId: String(noScope.projectId), apiKey: noScope.apiKey, logger: silentLogger });
      const e403 = await runQuery(e, queries.active_users_daily, params).catch((x: unknown) => x);
      expect(e403).toBeInstanceOf(PostHogAuthError);
      expect((e403 as Error).message).toMatch(/403/);
      expect((e403 as PostHogAuthError).hint).toMatch(/query:read/);
      expect((await noScope.requests())).toHaveLength(1);
    } finally {
      await noScope.close();
    }
  });

  it('402: the quota is used up; not retried', async () => {
    await standIn.setFaults([{ status: 402 }]);
    const { e, requests } = engine();
    const error = await runQuery(e, queries.active_users_daily, params).catch((x: unknown) => x);
    expect(error).toBeInstanceOf(PostHogQuotaError);
    expect((error as PostHogQuotaError).code).toBe('api_queries_quota_exceeded');
    expect(requests()).toBe(1);
  });

  it('network errors and timeouts are retried', async () => {
    await standIn.setFaults([{ kind: 'network-reset' }, { kind: 'hang' }]);
    const { e, requests } = engine({ requestTimeoutMs: 500 });
    expect(await runQuery(e, queries.active_users_weekly, params)).toEqual(expected.get('active_users_weekly'));
    expect(requests()).toBe(3);
    expect(logger.records.some((r) => /no answer within 1 s|no answer within 0 s/.test(r.msg))).toBe(true);
  });

  it('a network that stays down: a clear error naming the problem', async () => {
    // A port that was just free: nothing listens there.
    const { createServer } = await import('node:net');
    const port = await new Promise<number>((ok) => {
      const srv = createServer().listen(0, '127.0.0.1', () => {
        const p = (srv.address() as { port: number }).port;
        srv.close(() => ok(p));
      });
    });
    const e = new PostHogEngine({ host: `http://127.0.0.1:${port}`, projectId: '1', apiKey: 'phx_x_123456', logger: silentLogger, backoffBaseMs: 5, maxAttempts: 2 });
    await expect(runQuery(e, queries.active_users_daily, params)).rejects.toThrow(/gave up after 2 attempts; last: network error: ECONNREFUSED/);
  });
});

describe('paging and concurrency', () => {
  let small: StandIn;
  beforeAll(async () => {
    // Pages of 3 rows by default and 5 at most: every report query needs several pages.
    small = await startPostHogStandIn({ eventsPaths: [events], defaultLimit: 3, maxLimit: 20, maxConcurrent: 2, queryDelayMs: 150 });
  }, 60_000);
  afterAll(async () => {
    await small?.close();
  });

  it('fetches every row when hasMore, and never runs more than 2 queries at once', async () => {
    const catalog = await loadCatalog(DEFAULT_CATALOG);
    const plan = await loadTrackingPlan(DEFAULT_TRACKING_PLAN);
    const params = standardParams(
      { catalog, eventPrefix: 'connect.', plan, clusterShare: DEFAULT_CLUSTER_SHARE },
      { from: '2026-11-09 00:00:00.000000', to: '2026-11-23 00:00:00.000000' },
      'UTC',
    );
    const e = new PostHogEngine({ host: small.url, projectId: String(small.projectId), apiKey: small.apiKey, logger: silentLogger, maxAttempts: 1, pageRows: 20 });
    // maxAttempts 1: a concurrency 429 (a third query in flight) would fail the test.
    const all = await Promise.all(allQueries.map((q) => runQuery(e, q, params)));
    const daily = all[allQueries.findIndex((q) => q.id === 'active_users_daily')]!;
    expect(daily).toHaveLength(14);
    expect(new Set(daily.map((r) => (r as { day: string }).day)).size).toBe(14);
    const log = await small.requests();
    expect(log.every((r) => r.status === 200)).toBe(true);
    expect(log.length).toBeGreaterThan(allQueries.length * 2);
  });

  it('a result of more than 50,000 rows comes back whole: ordered pages while a page is full, no row lost or repeated', async () => {
    const big = await startPostHogStandIn({});
    try {
      const e = new PostHogEngine({ host: big.url, projectId: String(big.projectId), apiKey: big.apiKey, logger: silentLogger });
      const N = 120_007;
      // Without a LIMIT (100 rows + hasMore), and with a LIMIT PostHog caps at 50,000 without a word.
      for (const [sql, expectedRows] of [
        [`SELECT number AS n, toString(number % 997) AS s FROM numbers(${N})`, N],
        [`SELECT number AS n FROM numbers(${N}) LIMIT 100000`, 100_000],
      ] as const) {
        await big.reset();
        const r = await e.client.query({ name: 'big', sql, values: {} });
        expect(r.results).toHaveLength(expectedRows);
        const seen = new Set(r.results.map((row) => Number(row[0])));
        expect(seen.size).toBe(expectedRows);
        for (let i = 0; i < expectedRows; i += 9973) expect(seen.has(i)).toBe(true);
        const log = await big.requests();
        // The first answer, then pages of 50,000 until one is short.
        expect(log).toHaveLength(1 + Math.ceil((expectedRows + 1) / 50_000));
      }
    } finally {
      await big.close();
    }
  }, 60_000);
});

describe('seed: posthog-node to the stand-in, read back through the Query API', () => {
  it('every generated event arrives, with person properties set by logins', async () => {
    const empty = await startPostHogStandIn({});
    try {
      const now = '2026-11-24T12:00:00Z';
      const run = await runCli(['seed', '--host', empty.url, '--project-key', empty.projectApiKey, '--days', '3', '--installations', '30'], { now });
      expect(run.code, run.stderr).toBe(0);
      // Independently: the same generator with the same options.
      const end = new Date('2026-11-24T12:00:00Z');
      const start = new Date(end.getTime() - 3 * 86_400_000);
      const generated = [...generateDemoEvents({ seed: 42, start, end, installations: 30 })];
      const uniqueUuids = new Set(generated.map((g) => g.uuid)).size;
      expect(run.stdout).toContain(`sent ${generated.length} events`);
      const res = await fetch(`${empty.url}/api/projects/${empty.projectId}/query/`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${empty.apiKey}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({
          query: {
            kind: 'HogQLQuery',
            query:
              "SELECT count() AS n, count(DISTINCT distinct_id) AS users, countIf(JSONExtractString(person.properties, 'connect.os') != '') AS with_os FROM events",
          },
        }),
      });
      const body = (await res.json()) as { results: number[][] };
      const [n, users, withOs] = body.results[0]!;
      expect(n).toBe(uniqueUuids);
      expect(users).toBe(new Set(generated.map((g) => g.distinct_id)).size);
      expect(withOs).toBeGreaterThan(0);
    } finally {
      await empty.close();
    }
  });
});
