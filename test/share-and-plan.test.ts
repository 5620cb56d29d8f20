/**
 * Issue 15, items 1 and 2: Connect's share of cluster logins and the tracking plan, on hand-made
 * events, through the CLI on export files (embedded engine) and on the PostHog stand-in: the CSV
 * files must be identical and equal to the values worked out by hand below. Also: no offending value
 * and no hash reaches any output file, the daily check's privacy alerts, and the plan's validation.
 */
import { join } from 'node:path';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostHogStandIn, type StandIn } from './standins/posthog/index.ts';
import { parseCsv, runCli, tempDir, writeExport, type TestEvent } from './helpers/fixtures.ts';
import { evaluateDailyCheck } from '../src/jobs/daily-check.ts';
import { loadTrackingPlan, parseTrackingPlan, trackingPlanParams } from '../src/config/tracking-plan.ts';
import { combineConnectors } from '../src/reports/privacy.ts';
import { PostHogEngine } from '../src/engine/posthog-engine.ts';
import { runQuery } from '../src/engine/run-query.ts';
import { queries } from '../src/queries/index.ts';
import { standardParams } from '../src/jobs/weekly-report.ts';
import { loadCatalog } from '../src/config/catalog.ts';
import { DEFAULT_CATALOG, DEFAULT_CLUSTER_SHARE, DEFAULT_TRACKING_PLAN } from '../src/config/config.ts';
import { memoryLogger, silentLogger } from '../src/lib/logger.ts';
import { dailyCheckJob } from '../src/jobs/scheduled.ts';
import { loadConfig } from '../src/config/config.ts';

// Hashes: 44-character base64 of 32 bytes (the 43rd character carries 2 bits, hence A/Q/g/w).
const h = (c: string, last = 'A') => `${c.repeat(42)}${last}=`;
const CLUSTER1 = h('c');
const CLUSTER2 = h('d');
// One person on two clusters: two hashes (the HMAC is keyed by the cluster).
const P1 = h('p');
const P2 = h('q');
const S = h('s'); // SSO (github)
const L = h('l'); // local (no connector property)
const E = h('e'); // connector property present but empty: local
const M = h('m'); // local on Thursday, saml on Friday: counted under both connectors
const X = h('x'); // cluster login in W47, Connect login only in W46
const N = h('n'); // Connect logins only: the cluster does not report usage
const HASHES = [CLUSTER1, CLUSTER2, P1, P2, S, L, E, M, X, N];

const I1 = 'connect.11111111-1111-4111-8111-111111111111';
const I2 = 'connect.22222222-2222-4222-8222-222222222222';
const I3 = 'connect.33333333-3333-4333-8333-333333333333';
const I4 = 'connect.44444444-4444-4444-8444-444444444444';

let n = 0;
const id = () => `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`;
const ev = (event: string, distinct_id: string, timestamp: string, properties: Record<string, unknown>, uuid = id()): TestEvent => ({ uuid, event, distinct_id, timestamp, properties });
const clusterLogin = (account: string, user: string, timestamp: string, connector?: string) =>
  ev('tp.user.login', `tp.${account}`, timestamp, { 'tp.user_name': user, ...(connector === undefined ? {} : { 'tp.connector_type': connector }) });
const connectLogin = (installation: string, user: string, cluster: string, timestamp: string) =>
  ev('connect.cluster.login', installation, timestamp, {
    'tp.cluster_name': cluster,
    'tp.user_name': user,
    'tp.connector_type': 'local',
    'connect.os': 'darwin',
    'connect.arch': 'arm64',
    'connect.os_version': '23.1.0',
    'connect.app_version': '17.0.0',
  });
const tp = (user = P1) => ({ 'tp.cluster_name': CLUSTER1, 'tp.user_name': user });

// The offending values: none may appear in any output.
const RAW_USER = 'alice.smith';
const RAW_CLUSTER = 'teleport.example.com';
const RAW_UNKNOWN_USER = 'bob.jones';
const BAD_DISTINCT_ID = 'alice@example.com';
const BAD_PROTOCOL = 'telnet';
const EXAMPLE_NOT_ANONYMIZED = '00000000-0000-4000-8000-0000000000a1';
const EXAMPLE_BAD_ID = '00000000-0000-4000-8000-0000000000b1';

// Report week 2026-W47 (Mon Nov 16, UTC); W46 = Nov 9; W45 = Nov 2 has Connect events only.
const EVENTS: TestEvent[] = [
  // W45: no cluster event at all; N logs in with Connect (its cluster does not report).
  connectLogin(I4, N, CLUSTER2, '2026-11-03T09:00:00Z'),
  // W46: X (github) and L (local) log in to the cluster; X also with Connect. A violation here is not W47's.
  clusterLogin('acct1', X, '2026-11-10T09:00:00Z', 'github'),
  clusterLogin('acct1', L, '2026-11-11T09:00:00Z'),
  connectLogin(I3, X, CLUSTER1, '2026-11-11T10:00:00Z'),
  ev('connect.protocol.use', I3, '2026-11-12T10:00:00Z', { ...tp(), 'connect.protocol': BAD_PROTOCOL }),
  // W47, the cluster side: 7 users.
  clusterLogin('acct1', P1, '2026-11-17T09:00:00Z', 'saml'),
  clusterLogin('acct2', P2, '2026-11-17T09:05:00Z'),
  clusterLogin('acct1', S, '2026-11-18T09:00:00Z', 'github'),
  clusterLogin('acct1', L, '2026-11-18T09:30:00Z'),
  clusterLogin('acct1', E, '2026-11-19T09:00:00Z', ''),
  clusterLogin('acct1', M, '2026-11-19T09:30:00Z'),
  clusterLogin('acct1', M, '2026-11-20T09:30:00Z', 'saml'),
  clusterLogin('acct1', X, '2026-11-16T08:00:00Z', 'github'),
  // W47, Connect's side: P on both clusters from one installation, S, M, and N (not reporting): 5 conforming logins.
  connectLogin(I1, P1, CLUSTER1, '2026-11-17T09:10:00Z'),
  connectLogin(I1, P2, CLUSTER2, '2026-11-17T09:11:00Z'),
  connectLogin(I2, S, CLUSTER1, '2026-11-18T09:10:00Z'),
  connectLogin(I3, M, CLUSTER1, '2026-11-20T09:40:00Z'),
  connectLogin(I4, N, CLUSTER2, '2026-11-20T12:00:00Z'),
  // W47, the tracking plan. connect.protocol.use (aliases folded): 5 events, 2 conform.
  ev('connect.protocol.use', I1, '2026-11-17T10:00:00Z', { ...tp(), 'connect.protocol': 'ssh', origin: 'search_bar' }),
  ev('connect.protcol.run', I2, '2026-11-17T10:00:00Z', { ...tp(S), protocol: 'proxy_db' }), // a draft build: conforms
  ev('connect.protocol.use', I1, '2026-11-18T10:00:00Z', { ...tp() }), // missing_required connect.protocol
  ev('connect.protocol.use', I2, '2026-11-18T11:00:00Z', { ...tp(S), 'connect.protocol': null }), // null is no value: missing
  ev('connect.protocol.use', I3, '2026-11-18T12:00:00Z', { ...tp(M), 'connect.protocol': BAD_PROTOCOL }), // not_allowed_value
  // A raw user and cluster name where the HMACs belong: one event, two properties.
  ev('connect.accessRequest.create', I1, '2026-11-19T10:00:00Z', { 'tp.cluster_name': RAW_CLUSTER, 'tp.user_name': RAW_USER, 'connect.access_request_kind': 'role' }, EXAMPLE_NOT_ANONYMIZED),
  // A distinct_id that is not connect. + a UUID.
  ev('connect.accessRequest.review', BAD_DISTINCT_ID, '2026-11-19T11:00:00Z', { ...tp() }, EXAMPLE_BAD_ID),
  // A boolean sent as a string.
  ev('connect.fileTransfer.run', I2, '2026-11-19T12:00:00Z', { ...tp(S), 'connect.file_transfer_is_upload': 'yes' }),
  // An event the plan does not know, with a raw user name (the plan's global anonymized rule).
  ev('connect.vnet.start', I3, '2026-11-20T10:00:00Z', { 'tp.user_name': RAW_UNKNOWN_USER }),
  // Not connect.*: never checked.
  ev('$pageview', I1, '2026-11-20T10:00:00Z', { 'tp.user_name': 'whoever' }),
];

// ---------------------------------------------------------------------------------------------
// Expected files, worked out by hand from the table above.

// W47: cluster users P1 P2 S L E M X = 7; of them with a Connect login in W47: P1 P2 S M = 4 (X's is
// in W46, N has no cluster login). W46: X, L = 2; X on Connect = 1. W45 and before: no cluster event.
const weeks = ['2026-08-31', '2026-09-07', '2026-09-14', '2026-09-21', '2026-09-28', '2026-10-05', '2026-10-12', '2026-10-19', '2026-10-26', '2026-11-02'];
const CONNECT_SHARE = ['week,cluster_users,connect_users,share', ...weeks.map((w) => `${w},0,0,`), '2026-11-09,2,1,0.5', '2026-11-16,7,4,0.5714', ''].join('\n');
// local: P2 (absent), L (absent), E (empty), M (Thursday) = 4, on Connect P2 M = 2; github: S X = 2, S = 1;
// saml: P1 M = 2, both on Connect. Cluster users descending, then name.
const BY_CONNECTOR = ['connector_type,cluster_users,connect_users,share', 'local,4,2,0.5', 'github,2,1,0.5', 'saml,2,2,1', ''].join('\n');
// With k = 5 every row is small (4, 2, 2 cluster users): all in other = 8 cluster users, 5 on Connect.
const BY_CONNECTOR_K5 = ['connector_type,cluster_users,connect_users,share', 'other,8,5,0.625', ''].join('\n');
const TRACKING_PLAN = [
  'event,events,conforming,violation,count',
  'connect.cluster.login,5,5,none,5',
  'connect.protocol.use,5,2,none,2',
  'connect.protocol.use,5,2,missing_required,2',
  'connect.protocol.use,5,2,not_allowed_value,1',
  'connect.accessRequest.create,1,0,none,0',
  'connect.accessRequest.create,1,0,not_anonymized,1',
  'connect.accessRequest.review,1,0,none,0',
  'connect.accessRequest.review,1,0,bad_distinct_id,1',
  'connect.accessRequest.assumeRole,0,0,none,0',
  'connect.fileTransfer.run,1,0,none,0',
  'connect.fileTransfer.run,1,0,wrong_type,1',
  'connect.connectMyComputer.setup,0,0,none,0',
  'connect.connectMyComputer.agentStart,0,0,none,0',
  'connect.vnet.start,1,0,none,0',
  'connect.vnet.start,1,0,not_anonymized,1',
  'connect.vnet.start,1,0,unknown_event,1',
  '',
].join('\n');
const FILES = ['connect_share.csv', 'connect_share_by_connector.csv', 'tracking_plan.csv'];

let dir: string;
let standIn: StandIn;

beforeAll(async () => {
  dir = await tempDir('cm-share-plan-');
  await writeExport(join(dir, 'events', 'events.jsonl'), EVENTS);
  // The stand-in's project timezone differs from the report's: a query leaning on it would shift weeks.
  standIn = await startPostHogStandIn({ eventsPaths: [join(dir, 'events')], projectTimezone: 'Asia/Tokyo' });
}, 120_000);
afterAll(async () => {
  await standIn?.close();
});

const env = () => ({ POSTHOG_HOST: standIn.url, POSTHOG_PROJECT_ID: String(standIn.projectId), POSTHOG_API_KEY: standIn.apiKey });

const reports = new Map<string, Promise<{ out: string; files: Record<string, string> }>>();
/** One CLI run per source and k (runs are slow: the tests share them). */
function report(source: 'files' | 'posthog', k: string): Promise<{ out: string; files: Record<string, string> }> {
  const key = `${source}/${k}`;
  if (!reports.has(key)) reports.set(key, runReport(source, k));
  return reports.get(key)!;
}

async function runReport(source: 'files' | 'posthog', k: string): Promise<{ out: string; files: Record<string, string> }> {
  const out = join(dir, `out-${source}-k${k}`);
  const args = ['report', '--source', source, '--week', '2026-W47', '--timezone', 'UTC', '--out', out, '--data-dir', join(dir, `data-${source}`), '--privacy-k', k];
  const run = source === 'files' ? await runCli([...args, '--events', join(dir, 'events')]) : await runCli(args, { env: env() });
  expect(run.code, run.stderr).toBe(0);
  const files = Object.fromEntries(await Promise.all(FILES.map(async (f) => [f, await readFile(join(out, f), 'utf8')] as const)));
  return { out, files };
}

describe("Connect's share of cluster logins and the tracking plan, files and PostHog", () => {
  it('both engines write the hand-computed files (suppression off)', async () => {
    const files = await report('files', '1');
    const posthog = await report('posthog', '1');
    expect(files.files['connect_share.csv']).toBe(CONNECT_SHARE);
    expect(files.files['connect_share_by_connector.csv']).toBe(BY_CONNECTOR);
    expect(files.files['tracking_plan.csv']).toBe(TRACKING_PLAN);
    expect(posthog.files).toEqual(files.files);
  });

  it('with the default privacy threshold the connector rows fold into other; the weekly totals stay', async () => {
    // (Both engines' rows are the same: the test above; the folding is the report's, after the engine.)
    const files = await report('files', '5');
    expect(files.files['connect_share_by_connector.csv']).toBe(BY_CONNECTOR_K5);
    expect(files.files['connect_share.csv']).toBe(CONNECT_SHARE);
    expect(files.files['tracking_plan.csv']).toBe(TRACKING_PLAN);
  });

  it('the report names each violation with its property, count and example uuid; no offending value and no hash leaves the engine', async () => {
    const { out } = await report('files', '5');
    const json = JSON.parse(await readFile(join(out, 'report.json'), 'utf8'));
    expect(json.trackingPlan.problems).toEqual(
      expect.arrayContaining([
        { event: 'connect.accessRequest.create', violation: 'not_anonymized', property: 'tp.cluster_name', count: 1, example: EXAMPLE_NOT_ANONYMIZED },
        { event: 'connect.accessRequest.create', violation: 'not_anonymized', property: 'tp.user_name', count: 1, example: EXAMPLE_NOT_ANONYMIZED },
        { event: 'connect.accessRequest.review', violation: 'bad_distinct_id', property: 'distinct_id', count: 1, example: EXAMPLE_BAD_ID },
        expect.objectContaining({ event: 'connect.protocol.use', violation: 'missing_required', property: 'connect.protocol', count: 2 }),
        expect.objectContaining({ event: 'connect.fileTransfer.run', violation: 'wrong_type', property: 'connect.file_transfer_is_upload', count: 1 }),
        expect.objectContaining({ event: 'connect.vnet.start', violation: 'not_anonymized', property: 'tp.user_name', count: 1 }),
      ]),
    );
    expect(json.trackingPlan.problems).toHaveLength(8);
    // The share's change follows the summary's covered-weeks rule (src/reports/coverage.ts): these
    // hand-made weeks have days without any event, so no change is claimed for either figure; the
    // shares themselves are still (4/7) and (1/2).
    expect(json.comparison.comparable).toBe(false);
    expect(json.connectShare.share.change).toBeNull();
    expect(json.summary.wau.change).toBeNull();
    expect(json.connectShare.share.value).toBeCloseTo(4 / 7, 12);
    expect(json.connectShare.share.previous).toBeCloseTo(0.5, 12);
    // Every file written: text files must not hold a raw value or a hash.
    const texts = await Promise.all((await readdir(out)).filter((f) => !f.endsWith('.png')).map(async (f) => [f, await readFile(join(out, f), 'utf8')] as const));
    expect(texts.map(([f]) => f)).toEqual(expect.arrayContaining(['report.html', 'report.json', 'slack.json', 'tracking_plan.csv']));
    for (const [f, text] of texts) {
      // (BAD_PROTOCOL is not among them: the protocols breakdown names every protocol value, by design.)
      for (const secret of [RAW_USER, RAW_CLUSTER, RAW_UNKNOWN_USER, BAD_DISTINCT_ID, ...HASHES]) expect(text.includes(secret), `${secret} in ${f}`).toBe(false);
    }
    // The 12-week chart (a PNG), with the other charts.
    expect(await readdir(out)).toContain('connect-share.png');
    const html = texts.find(([f]) => f === 'report.html')![1];
    expect(html).toContain('id="tracking-plan"');
    expect(html).toContain(EXAMPLE_NOT_ANONYMIZED);
    // The digest: the share with its change, one (warning) line about the plan, the caveats.
    const slack = JSON.stringify(JSON.parse(texts.find(([f]) => f === 'slack.json')![1]));
    expect(slack).toContain("Connect's share of cluster logins*\\n57.1% (–)"); // no change: the weeks are not fully covered
    expect(slack).toMatch(/Tracking plan: 7 of 14 events break it/);
    expect(slack).toContain('a lower bound');
    expect(slack).toContain('one person on two clusters counts once on each');
  });

  it('a week with no cluster login says the share cannot be computed, and shows no share', async () => {
    const out = join(dir, 'out-w45');
    const run = await runCli(['report', '--week', '2026-W45', '--timezone', 'UTC', '--events', join(dir, 'events'), '--out', out, '--data-dir', join(dir, 'data-files')]);
    expect(run.code, run.stderr).toBe(0);
    expect(await readFile(join(out, 'connect_share_by_connector.csv'), 'utf8')).toBe('connector_type,cluster_users,connect_users,share\n');
    const csv = parseCsv(await readFile(join(out, 'connect_share.csv'), 'utf8'));
    expect(csv.at(-1)).toEqual(['2026-11-02', '0', '0', '']);
    const slack = JSON.stringify(JSON.parse(await readFile(join(out, 'slack.json'), 'utf8')));
    expect(slack).toContain("Connect's share of cluster logins*\\n– (no cluster logins)");
    expect(slack).toContain('no tp.user.login event in the 12 weeks');
    // No table of zeros and no chart: nothing the data can support.
    expect(slack).not.toContain('by connector');
    expect(await readdir(out)).not.toContain('connect-share.png');
  });
});

describe('a query PostHog finds too heavy is split, and the parts add up exactly', () => {
  it('tracking_plan in installation buckets (first days and examples keep the least), connect_share in user buckets', async () => {
    const catalog = await loadCatalog(DEFAULT_CATALOG);
    const plan = await loadTrackingPlan(DEFAULT_TRACKING_PLAN);
    const params = {
      ...standardParams({ catalog, eventPrefix: 'connect.', plan, clusterShare: DEFAULT_CLUSTER_SHARE }, { from: '2026-11-02 00:00:00.000000', to: '2026-11-23 00:00:00.000000' }, 'UTC'),
      check_from: '2026-11-16 00:00:00.000000',
    };
    const engine = new PostHogEngine({ host: standIn.url, projectId: String(standIn.projectId), apiKey: standIn.apiKey, logger: silentLogger, backoffBaseMs: 5 });
    await standIn.reset();
    const whole = { plan: await runQuery(engine, queries.tracking_plan, params), share: await runQuery(engine, queries.connect_share, params) };
    expect(whole.plan.length).toBeGreaterThan(10);
    await standIn.setFaults([{ status: 513, times: -1, when: { belowUserBuckets: 4 } }]);
    try {
      expect(await runQuery(engine, queries.tracking_plan, params)).toEqual(whole.plan);
      expect(await runQuery(engine, queries.connect_share, params)).toEqual(whole.share);
      expect((await standIn.requests()).some((r) => r.status === 200 && Number(r.values?.user_buckets) === 4)).toBe(true);
    } finally {
      await standIn.reset();
    }
  });
});

describe('the daily check alerts on a value that may not be anonymized', () => {
  const base = { timezone: 'UTC', prefix: 'connect.', threshold: 0.3, weeks: 4, dauByDay: new Map<string, number>(), eventsLast24h: 10 };
  const at = new Date('2026-11-20T08:00:00Z'); // yesterday: Thursday 2026-11-19
  it('once per day and kind, naming event, property, count and example, never the value', () => {
    const alerts = evaluateDailyCheck({
      ...base,
      scheduledFor: at,
      privacyProblems: [
        { event: 'connect.accessRequest.create', violation: 'not_anonymized', property: 'tp.cluster_name', count: 1, example: EXAMPLE_NOT_ANONYMIZED },
        { event: 'connect.accessRequest.create', violation: 'not_anonymized', property: 'tp.user_name', count: 2, example: EXAMPLE_NOT_ANONYMIZED },
        { event: 'connect.accessRequest.review', violation: 'bad_distinct_id', property: 'distinct_id', count: 1, example: EXAMPLE_BAD_ID },
      ],
      // Two events: one with both names raw, one with a raw user name only.
      privacyEvents: { not_anonymized: 2, bad_distinct_id: 1 },
    });
    expect(alerts.map((a) => a.id)).toEqual(['2026-11-19/not_anonymized/UTC', '2026-11-19/bad_distinct_id/UTC']);
    expect(alerts[0]!.text).toContain('2 connect.* events in the 24 hours to 2026-11-20 08:00 UTC');
    expect(alerts[0]!.text).toContain('`tp.user_name`');
    expect(alerts[0]!.text).toContain(EXAMPLE_NOT_ANONYMIZED);
    expect(alerts[1]!.text).toContain(EXAMPLE_BAD_ID);
    expect(evaluateDailyCheck({ ...base, scheduledFor: at, privacyProblems: [] })).toEqual([]);
  });

  it('the daily-check job finds them in the 24 hours before the run (Slack not configured: logged as a warning)', async () => {
    const config = await loadConfig({ dataDir: join(dir, 'data-daily'), timezone: 'UTC', env: {} });
    const catalog = await loadCatalog(DEFAULT_CATALOG);
    const logger = memoryLogger();
    const job = dailyCheckJob({ config, catalog, clock: { now: () => at }, logger, source: 'files', events: [join(dir, 'events')] });
    const summary = await job.run({ scheduledFor: at, attempt: 1, trigger: 'scheduled', logger, signal: new AbortController().signal });
    // Nov 19 08:00 to Nov 20 08:00: the raw user and cluster names (one event) and the e-mail distinct_id.
    expect(summary).toContain('2026-11-19/not_anonymized/UTC');
    expect(summary).toContain('2026-11-19/bad_distinct_id/UTC');
    const warnings = logger.records.filter((r) => r.level === 'warn').map((r) => r.msg).join('\n');
    expect(warnings).toContain('1 connect.* event in the 24 hours to 2026-11-20 08:00 UTC carried a value that is not an HMAC');
    expect(warnings).toContain(EXAMPLE_NOT_ANONYMIZED);
    for (const secret of [RAW_USER, RAW_CLUSTER, BAD_DISTINCT_ID]) expect(warnings).not.toContain(secret);
  });
});


describe('the tracking plan file', () => {
  it('the shipped plan loads, and knows every event of the catalog', async () => {
    const plan = parseTrackingPlan(await readFile(DEFAULT_TRACKING_PLAN, 'utf8'), DEFAULT_TRACKING_PLAN);
    const catalog = JSON.parse(await readFile(join(import.meta.dirname, '..', 'config', 'event-catalog.json'), 'utf8')) as { features: Array<{ events: string[] }> };
    const known = new Set(plan.events.flatMap((e) => [e.event, ...e.aliases]));
    for (const name of catalog.features.flatMap((f) => f.events)) expect(known.has(name), name).toBe(true);
    const params = trackingPlanParams(plan);
    // Every parallel array has one entry per position.
    for (const key of ['prop_names', 'prop_types', 'prop_values', 'prop_anonymized', 'prop_required', 'prop_alternates'] as const) expect(params[key]).toHaveLength(params.prop_events.length);
    // The positions of one event are consecutive (the query reads them as a range), and an alternate is one of them.
    const runs = params.prop_events.filter((e, j) => j === 0 || params.prop_events[j - 1] !== e);
    expect(new Set(runs).size).toBe(runs.length);
    params.prop_alternates.forEach((alt, j) => {
      if (alt) expect(params.prop_names.some((n, k) => n === alt && params.prop_events[k] === params.prop_events[j]), alt).toBe(true);
    });
    expect(new RegExp(plan.hashPattern).test(h('Z', 'w'))).toBe(true);
    expect(new RegExp(plan.hashPattern).test(h('Z', 'B'))).toBe(false); // not 32 bytes
    expect(new RegExp(plan.hashPattern).test('alice')).toBe(false);
  });

  it('a bad entry is a one-line error naming the file and the key', async () => {
    const path = join(dir, 'plan.json');
    const bad = (o: unknown) => () => parseTrackingPlan(JSON.stringify(o), path);
    const ok = { distinctIdPattern: '^connect\\.', hashPattern: '^x$', events: [{ event: 'connect.a', properties: [{ name: 'p', type: 'string' }] }] };
    expect(() => parseTrackingPlan(JSON.stringify(ok), path)).not.toThrow();
    expect(bad({ ...ok, events: [{ event: 'connect.a', properties: [{ name: 'p', type: 'text' }] }] })).toThrow(`tracking plan ${path}: events.0.properties.0.type`);
    expect(bad({ ...ok, events: [{ event: 'connect.a', properties: [{ name: 'p', type: 'boolean', values: ['x'] }] }] })).toThrow(/allowed values are for string properties/);
    expect(bad({ ...ok, events: [{ event: 'connect.a' }, { event: 'connect.b', aliases: ['connect.a'] }] })).toThrow(/connect.a already belongs to connect.a/);
    expect(bad({ ...ok, hashPattern: '(' })).toThrow(/hashPattern: not a valid regular expression/);
    // The query keys positions by event TAB name.
    expect(bad({ ...ok, events: [{ event: 'connect.a', properties: [{ name: 'p\tq', type: 'string' }] }] })).toThrow(/events.0.properties.0.name: a name cannot contain a control character/);
    await writeFile(path, '{');
    const run = await runCli(['report', '--week', '2026-W47', '--events', join(dir, 'events'), '--out', join(dir, 'out-bad'), '--data-dir', join(dir, 'data-bad'), '--config', await config(path)]);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain(`tracking plan ${path}: not valid JSON`);
  });
});

async function config(planPath: string): Promise<string> {
  const path = join(dir, 'config.json');
  await writeFile(path, JSON.stringify({ trackingPlan: planPath }));
  return path;
}

describe('connector folding (privacy)', () => {
  it('folds a row whose cluster or Connect users are small; keeps zero and large rows', () => {
    const r = (connectorType: string, clusterUsers: number, connectUsers: number) => ({ connectorType, clusterUsers, connectUsers, share: clusterUsers ? connectUsers / clusterUsers : null });
    expect(combineConnectors([r('local', 40, 20), r('github', 30, 2), r('saml', 3, 0), r('oidc', 10, 0)], 5)).toEqual([r('local', 40, 20), r('oidc', 10, 0), r('other', 33, 2)]);
  });
});
