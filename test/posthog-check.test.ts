/**
 * `connect-metrics posthog check` against the PostHog stand-in: passes when everything is in
 * place, and for each thing a new key can get wrong, fails naming the fix. Never more than
 * (number of queries + 3) requests, and nothing run (no HogQLQuery but `SELECT 1`).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostHogStandIn, type StandIn } from './standins/posthog/index.ts';
import { runCli } from './helpers/fixtures.ts';
import { eventQueries, queries } from '../src/queries/index.ts';
import { checkPostHog, formatCheckLines } from '../src/engine/posthog-check.ts';
import { standardParams } from '../src/jobs/weekly-report.ts';
import { loadCatalog } from '../src/config/catalog.ts';
import { DEFAULT_CATALOG } from '../src/config/config.ts';

let standIn: StandIn;
let noScope: StandIn;

beforeAll(async () => {
  [standIn, noScope] = await Promise.all([startPostHogStandIn({ projectTimezone: 'Europe/Berlin' }), startPostHogStandIn({ scopes: ['insight:read'] })]);
}, 60_000);
afterAll(async () => {
  await Promise.all([standIn?.close(), noScope?.close()]);
});

const env = (s: StandIn, over: Record<string, string> = {}) => ({
  POSTHOG_HOST: s.url,
  POSTHOG_PROJECT_ID: String(s.projectId),
  POSTHOG_API_KEY: s.apiKey,
  ...over,
});
const check = (s: StandIn, over: Record<string, string> = {}) => runCli(['posthog', 'check', '--data-dir', '/tmp/issue-12-check-data'], { env: env(s, over) });
const line = (stdout: string, name: string) => stdout.split('\n').find((l) => new RegExp(`^(PASS|FAIL|SKIP)  ${name}\\s`).test(l));

describe('posthog check', () => {
  it('passes against PostHog with a query:read key, one line per check, at most queries + 3 requests, nothing run', async () => {
    await standIn.reset();
    const run = await check(standIn);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    for (const name of ['host', 'key', 'scope', 'project', 'timezone', 'persons-on-events', 'modifiers', ...eventQueries.map((q) => `query ${q.id}`)]) {
      expect(line(run.stdout, name), name).toMatch(/^PASS/);
    }
    expect(line(run.stdout, 'timezone')).toContain('Europe/Berlin');
    expect(line(run.stdout, 'persons-on-events')).toContain("the project's mode is person_id_override_properties_on_events");
    const log = await standIn.requests();
    expect(log.length).toBeLessThanOrEqual(eventQueries.length + 3);
    // Every query checked through HogQLMetadata; the only HogQLQuery is the probe, which reads no table.
    expect(log.filter((r) => r.kind === 'HogQLMetadata')).toHaveLength(eventQueries.length);
    expect(log.filter((r) => r.kind === 'HogQLQuery').map((r) => r.name)).toEqual(['posthog_check', 'posthog_check_modifiers']);
    expect(run.stdout).toMatch(/all \d+ checks passed/);
  });

  it('a wrong key: fails at the key, naming the fix', async () => {
    const run = await check(standIn, { POSTHOG_API_KEY: 'phx_not_the_key_0000' });
    expect(run.code).toBe(1);
    expect(line(run.stdout, 'host')).toMatch(/^PASS/);
    expect(line(run.stdout, 'key')).toMatch(/^FAIL  key\s+PostHog refused the key: Incorrect authentication credentials\. -> fix: POSTHOG_API_KEY is wrong, expired or revoked/);
    expect(line(run.stdout, 'scope')).toMatch(/^SKIP  scope\s+not checked \(key failed\)/);
    expect(run.stdout + run.stderr).not.toContain('phx_not_the_key_0000');
  });

  it('a key without the query:read scope: fails at the scope, naming the fix', async () => {
    const run = await check(noScope);
    expect(run.code).toBe(1);
    expect(line(run.stdout, 'key')).toMatch(/^PASS/);
    expect(line(run.stdout, 'scope')).toMatch(/^FAIL  scope\s+the key cannot query: API key missing required scope 'query:read' -> fix: give the key the query:read scope/);
  });

  it('a wrong project id: fails at the project, naming the fix', async () => {
    const run = await check(standIn, { POSTHOG_PROJECT_ID: '999999' });
    expect(run.code).toBe(1);
    expect(line(run.stdout, 'project')).toMatch(/^FAIL  project\s+PostHog has no project 999999 for this key -> fix: POSTHOG_PROJECT_ID is the number in the project URL/);
  });

  it('a host that is not PostHog, and one that does not answer', async () => {
    const { createServer } = await import('node:http');
    const other = createServer((_req, res) => {
      res.writeHead(404, { 'Content-Type': 'text/html' });
      res.end('<html>nope</html>');
    });
    await new Promise<void>((ok) => other.listen(0, '127.0.0.1', () => ok()));
    const port = (other.address() as { port: number }).port;
    try {
      const run = await check(standIn, { POSTHOG_HOST: `http://127.0.0.1:${port}` });
      expect(run.code).toBe(1);
      expect(line(run.stdout, 'host')).toMatch(/^FAIL  host\s+.*does not answer like PostHog \(HTTP 404, text\/html\) -> fix: POSTHOG_HOST is the app host/);
    } finally {
      await new Promise((ok) => other.close(ok));
    }
    const down = await check(standIn, { POSTHOG_HOST: `http://127.0.0.1:${port}` });
    expect(line(down.stdout, 'host')).toMatch(/^FAIL  host\s+cannot reach .*ECONNREFUSED -> fix: check POSTHOG_HOST/);
  });

  it("a query PostHog's parser rejects: fails at that query, naming its file", async () => {
    const catalog = await loadCatalog(DEFAULT_CATALOG);
    const values = standardParams({ catalog, eventPrefix: 'connect.' }, { from: '2026-11-09 08:00:00.000000', to: '2026-11-23 08:00:00.000000' }, 'UTC');
    const broken = { ...queries.active_users_weekly, sql: queries.active_users_weekly.sql.replace('count(DISTINCT cityHash64(distinct_id))', 'uniqCombined(distinct_id)') };
    const syntax = { ...queries.feature_usage, sql: queries.feature_usage.sql.replace('GROUP BY week, feature', 'GROUP week, feature') };
    const { lines, requests } = await checkPostHog({
      host: standIn.url,
      projectId: String(standIn.projectId),
      apiKey: standIn.apiKey,
      queries: [broken, syntax, queries.protocol_usage],
      values,
    });
    const text = formatCheckLines(lines);
    expect(line(text, 'query active_users_weekly')).toMatch(
      /^FAIL  query active_users_weekly\s+PostHog rejects src\/queries\/active_users_weekly\.ts: Unsupported function call 'uniqCombined\(\.\.\.\)' -> fix: change src\/queries\/active_users_weekly\.ts/,
    );
    expect(line(text, 'query feature_usage')).toMatch(/^FAIL  query feature_usage\s+PostHog rejects src\/queries\/feature_usage\.ts: /);
    expect(line(text, 'query protocol_usage')).toMatch(/^PASS/);
    expect(requests).toBe(3 + 3);
  });

  it('refuses a missing setting before any request (exit 2)', async () => {
    await standIn.reset();
    const run = await runCli(['posthog', 'check', '--data-dir', '/tmp/issue-12-check-data'], { env: { POSTHOG_HOST: standIn.url, POSTHOG_API_KEY: standIn.apiKey } });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/POSTHOG_PROJECT_ID is not set/);
    expect(await standIn.requests()).toEqual([]);
  });
});
