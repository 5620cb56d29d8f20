/**
 * The PostHog stand-in's child process: a loopback HTTP server that answers like PostHog's Query
 * API and capture `/batch/` endpoint, and runs the HogQL it receives on the embedded ClickHouse
 * engine over a table shaped like PostHog's `events`.
 *
 *   node --import tsx test/standins/posthog/server.ts '<StandInConfig JSON>'
 *
 * Prints `listening <port>` on stdout when ready; exits when stdin closes or on SIGTERM.
 * chdb allows one session per process, hence a process of its own; every engine call is async,
 * so the server stays responsive (polls, admin calls, hung requests) while a query runs.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { gunzipSync, inflateSync } from 'node:zlib';
import { createHash, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { ChdbEngine, firstLine } from '../../../src/engine/chdb-engine.ts';
import { discoverFiles } from '../../../src/sources/discover.ts';
import { EventStore, EVENTS_COLUMNS } from '../../../src/sources/event-store.ts';
import { EXPORT_KINDS, exportFormatOf } from '../../../src/sources/posthog-export.ts';
import { streamLogger } from '../../../src/lib/logger.ts';
import { bodies, defaultBodyFor, type ErrorBody } from './bodies.ts';
import {
  HogQLError,
  dateTimeZoneOf,
  engineInstant,
  fillPlaceholders,
  isSelect,
  parseInstant,
  planLimit,
  quoteString,
  renderDateTime,
} from './hogql.ts';
import type { FaultRule, LoggedRequest, StandInConfig } from './types.ts';
import { checkHogQL, hogqlParser, printToDates, valueType, type HogQLCheck } from './hogql-check.ts';

const config = JSON.parse(process.argv[2] ?? '{}') as StandInConfig;
const engine = ChdbEngine.open(join(config.dataDir, 'clickhouse'));

/** The one table every view reads; /batch/ appends to it. */
const BASE = 'standin.events_base';
/**
 * `events` with `timestamp` in the project's timezone, or in UTC (modifiers.convertToProjectTimezone:
 * false); and with `person.properties` as stored on each event (persons on events), or the person's
 * latest properties joined in (personsOnEventsMode disabled / person_id_override_properties_joined).
 */
const DATABASES = {
  project: { onEvents: 'hogql_project', joined: 'hogql_project_joined' },
  utc: { onEvents: 'hogql_utc', joined: 'hogql_utc_joined' },
} as const;
/** HogQLQueryModifiers' PersonsOnEventsMode (posthog/schema.py). */
const POE_MODES = ['disabled', 'person_id_no_override_properties_on_events', 'person_id_override_properties_on_events', 'person_id_override_properties_joined'];
const JOINED_MODES = new Set(['disabled', 'person_id_override_properties_joined']);
/** HogQLQueryModifiers' fields (posthog/schema.py; the model has extra="forbid": anything else is refused). */
const MODIFIERS = new Set([
  'bounceRateDurationSeconds', 'bounceRatePageViewMode', 'convertToProjectTimezone', 'customChannelTypeRules', 'dataWarehouseEventsModifiers',
  'debug', 'formatCsvAllowDoubleQuotes', 'inCohortVia', 'materializationMode', 'optimizeJoinedFilters', 'personsArgMaxVersion', 'personsJoinMode',
  'personsOnEventsMode', 'propertyGroupsMode', 's3TableUseInvalidColumns', 'sessionTableVersion', 'sessionsV2JoinMode', 'timings',
  'useMaterializedViews', 'usePreaggregatedTableTransforms', 'usePresortedEventsTable', 'useWebAnalyticsPreAggregatedTables',
]);

const COLUMNS = EVENTS_COLUMNS;
const INSERT_STRUCTURE = COLUMNS.replace('LowCardinality(String)', 'String').replace(/\s+/g, ' ');

// ---------------------------------------------------------------------------------------------
// Engine

/**
 * A query runs as SET session_timezone + USE + SELECT; those must not interleave with
 * another query's. chdb runs one statement at a time per session anyway, so this costs nothing.
 */
let engineQueue: Promise<unknown> = Promise.resolve();
function serial<T>(fn: () => Promise<T>): Promise<T> {
  const run = engineQueue.then(fn, fn);
  engineQueue = run.catch(() => {});
  return run;
}

async function prepare(): Promise<void> {
  let selected: string | undefined;
  if (config.eventsPaths.length) {
    const { files } = await discoverFiles(config.eventsPaths, (n) => exportFormatOf(n) !== undefined, {
      flag: 'eventsPaths',
      kinds: EXPORT_KINDS,
    });
    const store = new EventStore(engine, config.dataDir, streamLogger('warn'));
    await store.init();
    selected = (await store.select(await store.load(files))).database;
  }
  await engine.exec('CREATE DATABASE IF NOT EXISTS standin');
  await engine.exec(`CREATE TABLE IF NOT EXISTS ${BASE} (${COLUMNS}) ENGINE = MergeTree ORDER BY (event, timestamp)`);
  if (selected) {
    await engine.exec(
      `INSERT INTO ${BASE} SELECT uuid, event, distinct_id, person_id, properties, \`person.properties\`, timestamp, created_at, elements_chain
       FROM ${selected}.events`,
    );
    // Only `events` is visible to queries, as in HogQL.
    await engine.exec(`DROP DATABASE IF EXISTS ${selected}`);
    await engine.exec('DROP DATABASE IF EXISTS store');
  }
  for (const [dbs, zone] of [
    [DATABASES.project, config.projectTimezone],
    [DATABASES.utc, 'UTC'],
  ] as const) {
    const tz = quoteString(zone);
    await engine.exec(`CREATE DATABASE IF NOT EXISTS ${dbs.onEvents}`);
    await engine.exec(`CREATE OR REPLACE VIEW ${dbs.onEvents}.events AS
      SELECT uuid, event, distinct_id, person_id, properties, \`person.properties\`,
             toTimeZone(timestamp, ${tz}) AS timestamp, toTimeZone(created_at, ${tz}) AS created_at, elements_chain
      FROM ${BASE}`);
    // The person's current properties: those stored on its latest ingested event.
    await engine.exec(`CREATE DATABASE IF NOT EXISTS ${dbs.joined}`);
    await engine.exec(`CREATE OR REPLACE VIEW ${dbs.joined}.events AS
      SELECT e.uuid AS uuid, e.event AS event, e.distinct_id AS distinct_id, e.person_id AS person_id, e.properties AS properties,
             p.props AS \`person.properties\`,
             toTimeZone(e.timestamp, ${tz}) AS timestamp, toTimeZone(e.created_at, ${tz}) AS created_at, e.elements_chain AS elements_chain
      FROM ${BASE} AS e
      LEFT JOIN (SELECT distinct_id, argMax(\`person.properties\`, tuple(ifNull(created_at, timestamp), timestamp)) AS props
                 FROM ${BASE} GROUP BY distinct_id) AS p ON e.distinct_id = p.distinct_id`);
  }
  // Numbers stay JSON numbers; DateTime values come out as UTC ISO text and are rendered per column below.
  await engine.exec('SET output_format_json_quote_64bit_integers = 0');
  await engine.exec('SET output_format_json_quote_decimals = 0');
  await engine.exec("SET date_time_output_format = 'iso'");
}

// ---------------------------------------------------------------------------------------------
// State

const log: LoggedRequest[] = [];
/** The stand-in's clock: real time plus what tests moved it forward (POST /_standin/clock), so a throttle window passes without waiting. */
let clockOffsetMs = 0;
const now = () => Date.now() + clockOffsetMs;
let faults: Array<{ rule: FaultRule; remaining: number }> = [];
const hits = new Map<string, number[]>();
let running = 0;
const hung = new Set<ServerResponse>();

interface Job {
  id: string;
  name?: string;
  values?: Record<string, unknown>;
  startTime: string;
  endTime?: string;
  pollsLeft: number;
  /** An injected async fault answers exactly `pollsLeft` 202s, then waits for the query (deterministic polls). */
  exactPolls: boolean;
  finished: boolean;
  /** Settles when the query has run. */
  done?: Promise<void>;
  results?: QueryResults;
  failure?: { status: number; message: string | null };
}
const jobs = new Map<string, Job>();

interface Person {
  id: string;
  properties: Record<string, unknown>;
}
const persons = new Map<string, Person>();
let ingestQueue: Promise<unknown> = Promise.resolve();

// ---------------------------------------------------------------------------------------------
// HTTP plumbing

type Send = (status: number, body?: unknown, headers?: Record<string, string>) => void;

function respond(res: ServerResponse, status: number, body: unknown, headers: Record<string, string>): void {
  if (res.headersSent || res.destroyed) return;
  let text = '';
  const head: Record<string, string> = {};
  if (typeof body === 'string') {
    text = body;
    head['Content-Type'] = body.trimStart().startsWith('<') ? 'text/html; charset=utf-8' : 'text/plain; charset=utf-8';
  } else if (body !== undefined) {
    text = JSON.stringify(body);
    head['Content-Type'] = 'application/json';
  }
  res.writeHead(status, { ...head, ...headers });
  res.end(text);
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

const server = createServer((req, res) => {
  handle(req, res).catch((error: unknown) => {
    process.stderr.write(`posthog stand-in: ${error instanceof Error ? error.stack : String(error)}\n`);
    respond(res, 500, bodies.serverError(), {});
  });
});

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const path = url.pathname;
  const method = req.method ?? 'GET';
  const raw = await readBody(req);
  if (path.startsWith('/_standin/')) return admin(method, path, raw, res);

  const entry: LoggedRequest = { method, path, status: 0, authorized: false, at: now() };
  log.push(entry);
  const send: Send = (status, body, headers = {}) => {
    entry.status = status;
    respond(res, status, body, headers);
  };
  const fault = (rule: FaultRule): boolean => applyFault(rule, req, res, send);

  let m: RegExpExecArray | null;
  if (/^\/api\/users\/@me\/?$/.test(path)) {
    if (method !== 'GET') return send(405, bodies.methodNotAllowed(method));
    return me(req, entry, send);
  }
  if ((m = /^\/api\/(?:projects|environments)\/([^/]+)\/query\/?$/.exec(path))) {
    if (method !== 'POST') return send(405, bodies.methodNotAllowed(method));
    if (!authorize(req, m[1]!, entry, send)) return;
    return postQuery(raw, entry, send, fault);
  }
  if ((m = /^\/api\/(?:projects|environments)\/([^/]+)\/query\/([^/]+)\/?$/.exec(path))) {
    if (method !== 'GET' && method !== 'DELETE') return send(405, bodies.methodNotAllowed(method));
    if (!authorize(req, m[1]!, entry, send)) return;
    return poll(method, decodeURIComponent(m[2]!), entry, send, fault);
  }
  if (/^\/batch\/?$/.test(path)) {
    if (method !== 'POST') return send(405, bodies.methodNotAllowed(method));
    return batch(req, url, raw, entry, send, fault);
  }
  return send(404, bodies.notFound());
}

/**
 * Personal API key (Bearer), then the project, then the key's scope: PostHog's order (DRF
 * authenticates first; APIScopePermission in posthog/permissions.py checks the team, then the
 * scopes, where `x:write` also grants `x:read` and `*` grants everything). The query endpoint's
 * scope object is `query` (QueryViewSet in posthog/api/query.py): every action needs `query:read`.
 */
function authenticate(req: IncomingMessage, entry: LoggedRequest, send: Send): boolean {
  const header = req.headers.authorization;
  const m = header ? /^Bearer\s+(\S.*)$/.exec(header) : null;
  // posthog/exceptions.py exception_handler: a 401 advertises the OAuth resource metadata.
  const challenge = { 'WWW-Authenticate': `Bearer resource_metadata="http://${req.headers.host ?? '127.0.0.1'}/.well-known/oauth-protected-resource"` };
  if (!m) {
    send(401, bodies.notAuthenticated(), challenge);
    return false;
  }
  if (m[1]!.trim() !== config.apiKey) {
    send(401, bodies.authenticationFailed(), challenge);
    return false;
  }
  entry.authorized = true;
  return true;
}

function hasScope(scope: string): boolean {
  return config.scopes.includes('*') || config.scopes.includes(scope) || (scope.endsWith(':read') && config.scopes.includes(scope.replace(':read', ':write')));
}

function authorize(req: IncomingMessage, project: string, entry: LoggedRequest, send: Send): boolean {
  if (!authenticate(req, entry, send)) return false;
  if (project !== String(config.projectId) && project !== '@current') {
    send(404, bodies.notFound());
    return false;
  }
  if (!hasScope('query:read')) {
    send(403, bodies.missingScope('query:read'));
    return false;
  }
  return true;
}

/** GET /api/users/@me/: scope object `user` (exempt from project scoping), so it needs `user:read`. */
function me(req: IncomingMessage, entry: LoggedRequest, send: Send): void {
  if (!authenticate(req, entry, send)) return;
  if (!hasScope('user:read')) return send(403, bodies.missingScope('user:read'));
  send(200, {
    uuid: '01900000-0000-7000-8000-00000000beef',
    distinct_id: 'standin-user',
    first_name: 'Stand-in',
    email: 'standin@example.com',
    team: { id: config.projectId, name: 'Stand-in project', timezone: config.projectTimezone },
    organization: { id: '01900000-0000-7000-8000-00000000cafe', name: 'Stand-in organization' },
  });
}

// ---------------------------------------------------------------------------------------------
// Faults

function takeFault(path: 'query' | 'poll' | 'batch', name: string | undefined, values: Record<string, unknown> | undefined): FaultRule | undefined {
  for (const slot of faults) {
    if (slot.remaining === 0) continue;
    const when = slot.rule.when ?? {};
    if (when.path !== undefined && when.path !== path) continue;
    if (when.queryName !== undefined && when.queryName !== name) continue;
    if (when.minRangeDays !== undefined) {
      const from = parseInstant(values?.from);
      const to = parseInstant(values?.to);
      if (from === undefined || to === undefined || !((to - from) / 86_400_000 > when.minRangeDays)) continue;
    }
    if (when.belowUserBuckets !== undefined) {
      const buckets = values?.user_buckets;
      if (typeof buckets === 'number' && buckets >= when.belowUserBuckets) continue;
    }
    if (slot.remaining > 0) slot.remaining -= 1;
    return slot.rule;
  }
  return undefined;
}

/** Answers with a status/reset/hang fault; returns false for rules that only change the normal answer. */
function applyFault(rule: FaultRule, req: IncomingMessage, res: ServerResponse, send: Send): boolean {
  if (rule.kind === 'network-reset') {
    req.socket.destroy();
    return true;
  }
  if (rule.kind === 'hang') {
    hung.add(res);
    res.on('close', () => hung.delete(res));
    return true;
  }
  if (rule.kind === undefined && rule.preset !== undefined) {
    const answer = presetAnswer(rule);
    send(answer.status, rule.body !== undefined ? rule.body : answer.body, { ...answer.headers, ...(rule.headers ?? {}) });
    return true;
  }
  if (rule.kind === undefined && rule.status !== undefined) {
    const headers = rule.headers ?? {};
    send(rule.status, rule.body !== undefined ? rule.body : defaultBodyFor(rule.status), headers);
    return true;
  }
  return false;
}

function presetAnswer(rule: FaultRule): { status: number; body: ErrorBody; headers: Record<string, string> } {
  switch (rule.preset) {
    case 'throttled':
      return { status: 429, body: bodies.throttled(rule.waitSeconds ?? 60), headers: {} };
    case 'too-many-bytes':
      return { status: 400, body: bodies.tooManyBytes(), headers: {} };
    case 'cluster-memory':
      return { status: 513, body: bodies.clusterMemory(), headers: {} };
    case 'database-unavailable':
      return { status: 503, body: bodies.databaseUnavailable(), headers: { 'Retry-After': '1' } };
    default:
      return { status: 500, body: bodies.serverError(), headers: {} };
  }
}

// ---------------------------------------------------------------------------------------------
// Query API

interface ParsedQuery {
  kind: 'HogQLQuery' | 'HogQLMetadata';
  hogql: string;
  values: Record<string, unknown>;
  modifiers: Record<string, unknown>;
  refresh: string;
  name?: string;
  clientQueryId?: string;
}

interface QueryResults {
  results: unknown[][];
  columns: string[];
  types: Array<[string, string]>;
  /** Only for a query without its own LIMIT (PostHog's paginator); absent otherwise. */
  hasMore?: boolean;
  limit?: number;
  offset?: number;
  hogql: string;
  clickhouse: string;
  timings: unknown[];
  is_cached: false;
  last_refresh: string;
  cache_key: string;
  timezone: string;
  modifiers: Record<string, unknown>;
  error: null;
  query_status: null;
}

class Failure extends Error {
  constructor(
    readonly status: number,
    readonly body: ErrorBody,
  ) {
    super(body.detail);
  }
}

const REFRESH = ['blocking', 'async', 'lazy_async', 'force_blocking', 'force_async', 'force_cache', 'async_except_on_cache_miss'];
const ASYNC_REFRESH = new Set(['async', 'lazy_async', 'force_async']);

function parseQueryBody(raw: Buffer): ParsedQuery {
  let body: unknown;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch (error) {
    throw new Failure(400, bodies.parseError((error as Error).message));
  }
  const invalid = (detail: string, attr: string | null) => new Failure(400, bodies.invalidInput(detail, attr));
  if (!isObject(body)) throw invalid('Expected a JSON object.', null);
  const query = body.query;
  if (!isObject(query)) throw invalid('Field required', 'query');
  if (query.kind !== 'HogQLQuery' && query.kind !== 'HogQLMetadata') {
    throw invalid(`The PostHog stand-in runs only HogQLQuery and HogQLMetadata, not ${JSON.stringify(query.kind)}`, 'query__kind');
  }
  // HogQLMetadata: newer PostHog sends `query` (with `language`), older `select`.
  if (query.kind === 'HogQLMetadata' && typeof query.query !== 'string' && typeof query.select === 'string') query.query = query.select;
  if (query.kind === 'HogQLMetadata' && query.language !== undefined && query.language !== 'hogQL') {
    throw invalid(`The PostHog stand-in checks only language 'hogQL', not ${JSON.stringify(query.language)}`, 'query__language');
  }
  if (typeof query.query !== 'string') throw invalid('Input should be a valid string', 'query__query');
  if (query.values !== undefined && query.values !== null && !isObject(query.values)) {
    throw invalid('Input should be a valid dictionary', 'query__values');
  }
  if (query.modifiers !== undefined && query.modifiers !== null && !isObject(query.modifiers)) {
    throw invalid('Input should be a valid dictionary', 'query__modifiers');
  }
  let refresh: string;
  if (body.refresh === undefined || body.refresh === null || body.refresh === false) refresh = 'blocking';
  else if (body.refresh === true) refresh = 'force_blocking';
  else if (typeof body.refresh === 'string' && REFRESH.includes(body.refresh)) refresh = body.refresh;
  else throw invalid(`Input should be ${REFRESH.map((r) => `'${r}'`).join(', ')}`, 'refresh');
  if (body.name !== undefined && body.name !== null && typeof body.name !== 'string') throw invalid('Input should be a valid string', 'name');
  if (body.client_query_id !== undefined && body.client_query_id !== null && typeof body.client_query_id !== 'string') {
    throw invalid('Input should be a valid string', 'client_query_id');
  }
  for (const [key, value] of Object.entries((query.modifiers as Record<string, unknown> | null | undefined) ?? {})) {
    if (!MODIFIERS.has(key)) throw invalid('Extra inputs are not permitted', `query__modifiers__${key}`);
    if (key === 'personsOnEventsMode' && value !== null && !POE_MODES.includes(String(value))) {
      throw invalid(`Input should be ${POE_MODES.map((m) => `'${m}'`).join(', ')}`, 'query__modifiers__personsOnEventsMode');
    }
    if (key === 'convertToProjectTimezone' && value !== null && typeof value !== 'boolean') {
      throw invalid('Input should be a valid boolean', 'query__modifiers__convertToProjectTimezone');
    }
  }
  return {
    kind: query.kind,
    hogql: query.query,
    values: (query.values as Record<string, unknown> | undefined) ?? {},
    modifiers: (query.modifiers as Record<string, unknown> | undefined) ?? {},
    refresh,
    ...(typeof body.name === 'string' ? { name: body.name } : {}),
    ...(typeof body.client_query_id === 'string' ? { clientQueryId: body.client_query_id } : {}),
  };
}

/** Rate limits per key, as DRF's throttles count: a refused request does not count. Returns seconds to wait. */
function throttle(key: string): number | undefined {
  const t = now();
  const hour = (hits.get(key) ?? []).filter((h) => h > t - 3_600_000);
  const minute = hour.filter((h) => h > t - 60_000);
  let wait = 0;
  if (minute.length >= config.ratePerMinute) wait = Math.max(wait, (minute[0]! + 60_000 - t) / 1000);
  if (hour.length >= config.ratePerHour) wait = Math.max(wait, (hour[0]! + 3_600_000 - t) / 1000);
  hits.set(key, hour);
  if (wait > 0) return Math.max(1, Math.ceil(wait));
  hour.push(t);
  return undefined;
}

async function postQuery(raw: Buffer, entry: LoggedRequest, send: Send, fault: (rule: FaultRule) => boolean): Promise<void> {
  // The wait is only in `detail`: PostHog's exception handler drops DRF's Retry-After (posthog/exceptions.py).
  const wait = throttle(config.apiKey);
  if (wait !== undefined) return send(429, bodies.throttled(wait));

  let q: ParsedQuery;
  try {
    q = parseQueryBody(raw);
  } catch (error) {
    if (error instanceof Failure) return send(error.status, error.body);
    throw error;
  }
  if (q.name !== undefined) entry.name = q.name;
  entry.values = q.values;
  entry.refresh = q.refresh;
  entry.kind = q.kind;
  if (Object.keys(q.modifiers).length) entry.modifiers = q.modifiers;
  // HogQLMetadata parses, resolves and prints without running anything (posthog/hogql/metadata.py).
  if (q.kind === 'HogQLMetadata') return send(200, await metadata(q));

  const rule = takeFault('query', q.name, q.values);
  if (rule && fault(rule)) return;
  const extraHeaders = rule?.headers ?? {};

  if (running >= config.maxConcurrent) return send(429, bodies.concurrency(), extraHeaders);

  if (rule?.kind === 'async' || ASYNC_REFRESH.has(q.refresh)) {
    const job: Job = {
      id: q.clientQueryId ?? randomUUID(),
      ...(q.name !== undefined ? { name: q.name } : {}),
      values: q.values,
      startTime: new Date().toISOString(),
      pollsLeft: rule?.kind === 'async' ? (rule.pollsUntilDone ?? 2) : 0,
      exactPolls: rule?.kind === 'async',
      finished: false,
    };
    jobs.set(job.id, job);
    const forcedStatus = rule?.kind === 'async' ? rule.status : undefined;
    job.done = counted(() => execute(q, rule)).then(
      (results) => {
        if (forcedStatus !== undefined) job.failure = failureOf(forcedStatus);
        else job.results = results;
      },
      (error: unknown) => {
        job.failure = error instanceof Failure ? { status: error.status, message: error.body.detail } : { status: 500, message: null };
      },
    ).finally(() => {
      job.finished = true;
      job.endTime = new Date().toISOString();
    });
    void job.done;
    return send(202, { query_status: statusOf(job, false) }, extraHeaders);
  }

  try {
    const results = await counted(() => execute(q, rule));
    return send(200, results, extraHeaders);
  } catch (error) {
    if (error instanceof Failure) return send(error.status, error.body, extraHeaders);
    throw error;
  }
}

/** How an async query that failed with `status` shows in its status: 400 with a message PostHog can show, 500 without. */
function failureOf(status: number): { status: number; message: string | null } {
  return status === 500 ? { status: 500, message: null } : { status: 400, message: defaultBodyFor(status).detail };
}

async function counted<T>(fn: () => Promise<T>): Promise<T> {
  running += 1;
  try {
    if (config.queryDelayMs > 0) await sleep(config.queryDelayMs);
    return await fn();
  } finally {
    running -= 1;
  }
}

/** The modifiers a query runs with: the team's, then the request's (create_default_modifiers_for_team). */
function effectiveModifiers(q: ParsedQuery): Record<string, unknown> {
  const given = Object.fromEntries(Object.entries(q.modifiers).filter(([, v]) => v !== null && v !== undefined));
  return { convertToProjectTimezone: true, personsOnEventsMode: config.personsOnEventsMode, ...given };
}

/**
 * HogQLMetadata (posthog/hogql/metadata.py): parse, resolve and print against the project's
 * schema, never run. Errors are `{message, start, end}` notices. Placeholders have no values here:
 * PostHog cannot print them.
 */
async function metadata(q: ParsedQuery): Promise<Record<string, unknown>> {
  const check = checkHogQL(await hogqlParser(), q.hogql);
  const errors = check.errors.map((e) => ({ message: e.message, start: e.start ?? null, end: e.end ?? null, fix: null }));
  const placeholder = /\{\s*([A-Za-z_$][A-Za-z0-9_$]*)\s*\}/.exec(q.hogql.replace(/'(?:[^'\\]|\\.)*'/g, "''"));
  if (!errors.length && placeholder) errors.push({ message: `Placeholders, such as {${placeholder[1]}}, are not supported in this context`, start: null, end: null, fix: null });
  return { isValid: errors.length === 0, isValidView: false, query: q.hogql, errors, warnings: [], notices: [] };
}

/** A ClickHouse error as posthog/errors.py exposes it: ClickHouse's code name in lower case, its message. */
function clickhouseFailure(error: unknown): Failure {
  const line = firstLine(error);
  const code = [...line.matchAll(/\(([A-Z][A-Z0-9_]{2,})\)/g)].at(-1)?.[1];
  const detail = line.replace(/^Code: \d+\. DB::Exception: /, '').replace(/\s*\([A-Z][A-Z0-9_]{2,}\)\s*$/, '');
  return new Failure(400, bodies.queryError(detail, code ? code.toLowerCase() : 'hogql_query_error'));
}

/**
 * The check of a text is a function of the text and the types of its values (the only thing it reads
 * of them), so it is kept per (text, value types): a report sends the same texts every week.
 */
const checks = new Map<string, HogQLCheck>();
async function checked(q: ParsedQuery): Promise<HogQLCheck> {
  const types = Object.fromEntries(Object.entries(q.values ?? {}).map(([k, v]) => [k, valueType(v)]));
  const key = `${q.hogql}\0${JSON.stringify(types)}`;
  let check = checks.get(key);
  if (!check) {
    check = checkHogQL(await hogqlParser(), q.hogql, q.values);
    if (checks.size > 1000) checks.clear();
    checks.set(key, check);
  }
  return check;
}

async function execute(q: ParsedQuery, rule?: FaultRule): Promise<QueryResults> {
  // PostHog parses and resolves the HogQL first: syntax, functions, fields (hogql-check.ts).
  const check = await checked(q);
  const problem = check.errors[0];
  if (problem) throw new Failure(400, bodies.queryError(problem.message, problem.code));
  // max_execution_time (10 s for a personal API key, HogQLGlobalSettings): ClickHouse stops the query.
  if (rule?.kind === 'slow' && config.queryDelayMs + (rule.runMs ?? 0) > config.maxExecutionMs) throw new Failure(504, bodies.timeout());
  let sql: string;
  try {
    // What the printer does to toDate over an argument it cannot type.
    sql = fillPlaceholders(printToDates(q.hogql, check.toDateCalls), q.values);
  } catch (error) {
    if (error instanceof HogQLError) throw new Failure(400, bodies.queryError(error.message));
    throw error;
  }
  if (!isSelect(sql)) throw new Failure(400, bodies.queryError('Only SELECT queries are supported (HogQL).'));
  const plan = planLimit(sql, config.defaultLimit, config.maxLimit);
  const modifiers = effectiveModifiers(q);
  const inProjectZone = modifiers.convertToProjectTimezone !== false;
  const zone = inProjectZone ? config.projectTimezone : 'UTC';
  const dbs = inProjectZone ? DATABASES.project : DATABASES.utc;
  const db = JOINED_MODES.has(String(modifiers.personsOnEventsMode)) ? dbs.joined : dbs.onEvents;
  const { columns, types, rows } = await serial(async () => {
    try {
      await engine.exec(`SET session_timezone = ${quoteString(zone)}`);
      await engine.exec(`USE ${db}`);
      // The result's own column types (JSONCompact's meta), as PostHog returns them: HogQLQueryExecutor
      // takes `types` from the executed query itself (posthog/hogql/query.py, _execute_clickhouse_query:
      // `self.results, self.types = sync_execute(..., with_column_types=True)`). A DESCRIBE of the query
      // beside it analysed every query twice (half the soak test's time).
      const result = await engine.rows(plan.sql);
      const types = result.types ?? [];
      return { columns: result.columns, types: result.columns.map((c, i) => [c, types[i]!] as [string, string]), rows: result.rows };
    } catch (error) {
      throw clickhouseFailure(error);
    }
  });
  const zones = types.map(([, type]) => dateTimeZoneOf(type, zone));
  const results = rows.slice(0, plan.limit).map((row) =>
    row.map((value, i) => {
      const z = zones[i];
      return z !== undefined && typeof value === 'string' ? renderDateTime(value, z) : value;
    }),
  );
  return {
    results,
    columns,
    types,
    // PostHog's paginator (fetch limit + 1, say whether more follow) runs only without a LIMIT of the query's own.
    ...(plan.explicit ? {} : { hasMore: rows.length > plan.limit, limit: plan.limit, offset: plan.offset }),
    hogql: q.hogql,
    clickhouse: plan.sql,
    timings: [],
    is_cached: false,
    last_refresh: new Date().toISOString(),
    cache_key: `cache_${createHash('sha256').update(JSON.stringify([q.hogql, q.values, q.modifiers])).digest('hex').slice(0, 32)}`,
    timezone: config.projectTimezone,
    modifiers,
    error: null,
    query_status: null,
  };
}

function statusOf(job: Job, complete: boolean): Record<string, unknown> {
  const status: Record<string, unknown> = {
    id: job.id,
    team_id: config.projectId,
    query_async: true,
    complete,
    error: complete && job.failure !== undefined,
    error_message: complete && job.failure ? job.failure.message : null,
    start_time: job.startTime,
    end_time: complete ? (job.endTime ?? null) : null,
    expiration_time: null,
    results: null,
  };
  if (complete && job.results) status.results = job.results;
  return status;
}

function poll(method: string, id: string, entry: LoggedRequest, send: Send, fault: (rule: FaultRule) => boolean): void {
  const job = jobs.get(id);
  if (job?.name !== undefined) entry.name = job.name;
  const rule = takeFault('poll', job?.name, job?.values);
  if (rule && fault(rule)) return;
  const headers = rule?.headers ?? {};
  if (method === 'DELETE') {
    // cancel_query (posthog/clickhouse/client/execute_async.py) answers 200 with what it did.
    jobs.delete(id);
    return send(200, { message: job?.finished ? 'Query already complete' : 'Query task revoked' }, headers);
  }
  if (!job) return send(404, bodies.notFound(), headers);
  if (job.pollsLeft > 0 || (!job.finished && !job.exactPolls)) {
    if (job.pollsLeft > 0) job.pollsLeft -= 1;
    return send(202, { query_status: statusOf(job, false) }, headers);
  }
  // An injected async fault promised exactly N polls: a slow machine must not add one.
  void (job.finished ? Promise.resolve() : job.done!).then(() => {
    if (job.failure) return send(job.failure.status, { query_status: statusOf(job, true) }, headers);
    return send(200, { query_status: statusOf(job, true) }, headers);
  });
}

// ---------------------------------------------------------------------------------------------
// Capture: POST /batch/

async function batch(
  req: IncomingMessage,
  url: URL,
  raw: Buffer,
  entry: LoggedRequest,
  send: Send,
  fault: (rule: FaultRule) => boolean,
): Promise<void> {
  let body: unknown;
  try {
    const encoding = String(req.headers['content-encoding'] ?? '').toLowerCase();
    const compression = url.searchParams.get('compression') ?? '';
    let data = raw;
    if (encoding === 'gzip' || compression.startsWith('gzip') || (raw[0] === 0x1f && raw[1] === 0x8b)) data = gunzipSync(raw);
    else if (encoding === 'deflate') data = inflateSync(raw);
    body = JSON.parse(data.toString('utf8'));
  } catch (error) {
    return send(400, { type: 'validation_error', code: 'invalid_payload', detail: `Malformed request data: ${(error as Error).message}`, attr: null });
  }
  const events: unknown[] = isObject(body) && Array.isArray(body.batch) ? body.batch : Array.isArray(body) ? body : [body];
  const first = events.find(isObject);
  const key =
    (isObject(body) && (body.api_key ?? body.token)) ??
    (first && (first.api_key ?? first.token ?? (isObject(first.properties) ? first.properties.token : undefined)));
  if (key !== config.projectApiKey) return send(401, bodies.invalidProjectKey());
  entry.authorized = true;
  const rule = takeFault('batch', undefined, undefined);
  if (rule && fault(rule)) return;
  const run = ingestQueue.then(() => ingest(events));
  ingestQueue = run.catch(() => {});
  await run;
  return send(200, { status: 1 }, rule?.headers ?? {});
}

interface Incoming {
  uuid: string;
  event: string;
  distinctId: string;
  properties: Record<string, unknown>;
  set: Record<string, unknown>;
  setOnce: Record<string, unknown>;
  unset: string[];
  timestamp: number;
  elementsChain: string;
}

function normalize(e: unknown, now: number): Incoming | undefined {
  if (!isObject(e) || typeof e.event !== 'string' || !e.event) return undefined;
  const properties = isObject(e.properties) ? e.properties : {};
  const distinct = e.distinct_id ?? properties.distinct_id ?? e.$distinct_id;
  if ((typeof distinct !== 'string' && typeof distinct !== 'number') || distinct === '') return undefined;
  let timestamp: number | undefined;
  if (typeof e.timestamp === 'string') timestamp = parseInstant(e.timestamp);
  else if (typeof e.timestamp === 'number') timestamp = e.timestamp;
  if (timestamp === undefined && typeof e.offset === 'number') timestamp = now - e.offset;
  const obj = (v: unknown) => (isObject(v) ? v : {});
  return {
    uuid: typeof e.uuid === 'string' && e.uuid ? e.uuid : randomUUID(),
    event: e.event,
    distinctId: String(distinct),
    properties,
    set: { ...obj(e.$set), ...obj(properties.$set) },
    setOnce: { ...obj(e.$set_once), ...obj(properties.$set_once) },
    unset: Array.isArray(properties.$unset) ? properties.$unset.filter((k): k is string => typeof k === 'string') : [],
    timestamp: timestamp ?? now,
    elementsChain: typeof e.elements_chain === 'string' ? e.elements_chain : '',
  };
}

/**
 * Appends events in order of arrival. Person-on-events: each distinct_id has a person whose
 * properties `$set_once` (keys not set yet), `$set` and `$unset` change; every event stores the
 * person's properties as of its own ingestion. A person first seen here starts from the latest
 * person properties stored on its preloaded events. An event whose uuid is already stored is
 * dropped (the stand-in deduplicates on uuid at once; PostHog does it eventually).
 */
async function ingest(events: unknown[]): Promise<void> {
  const now = Date.now();
  const items = events.map((e) => normalize(e, now)).filter((e): e is Incoming => e !== undefined);
  if (!items.length) return;
  const stored = await engine.objects<{ uuid: string }>(`SELECT uuid FROM ${BASE} WHERE uuid IN {u:Array(String)}`, {
    u: items.map((i) => i.uuid),
  });
  const seen = new Set(stored.map((r) => r.uuid));
  const unknown = [...new Set(items.map((i) => i.distinctId))].filter((d) => !persons.has(d));
  if (unknown.length) {
    const rows = await engine.objects<{ distinct_id: string; person_id: string; props: string }>(
      `SELECT distinct_id, argMax(person_id, t) AS person_id, argMax(\`person.properties\`, t) AS props
       FROM (SELECT distinct_id, person_id, \`person.properties\`, tuple(ifNull(created_at, timestamp), timestamp) AS t
             FROM ${BASE} WHERE distinct_id IN {ids:Array(String)})
       GROUP BY distinct_id`,
      { ids: unknown },
    );
    for (const r of rows) {
      let properties: Record<string, unknown> = {};
      try {
        const parsed: unknown = JSON.parse(r.props || '{}');
        if (isObject(parsed)) properties = parsed;
      } catch {
        // keep {}
      }
      persons.set(r.distinct_id, { id: r.person_id || randomUUID(), properties });
    }
  }
  const lines: string[] = [];
  const created = engineInstant(now);
  for (const item of items) {
    if (seen.has(item.uuid)) continue;
    seen.add(item.uuid);
    let person = persons.get(item.distinctId);
    if (!person) {
      person = { id: randomUUID(), properties: {} };
      persons.set(item.distinctId, person);
    }
    for (const [k, v] of Object.entries(item.setOnce)) if (!(k in person.properties)) person.properties[k] = v;
    Object.assign(person.properties, item.set);
    for (const k of item.unset) delete person.properties[k];
    lines.push(
      JSON.stringify({
        uuid: item.uuid,
        event: item.event,
        distinct_id: item.distinctId,
        person_id: person.id,
        properties: JSON.stringify(item.properties),
        'person.properties': JSON.stringify(person.properties),
        timestamp: engineInstant(item.timestamp),
        created_at: created,
        elements_chain: item.elementsChain,
      }),
    );
  }
  if (!lines.length) return;
  await engine.exec(`INSERT INTO ${BASE} SELECT * FROM format(JSONEachRow, ${quoteString(INSERT_STRUCTURE)}, {data:String})`, {
    data: lines.join('\n'),
  });
}

// ---------------------------------------------------------------------------------------------
// Admin: /_standin/*

function admin(method: string, path: string, raw: Buffer, res: ServerResponse): void {
  const ok = (body: unknown) => respond(res, 200, body, {});
  if (path === '/_standin/faults' && (method === 'POST' || method === 'PUT')) {
    let rules: FaultRule[];
    try {
      const body = JSON.parse(raw.toString('utf8')) as { rules?: FaultRule[] } | FaultRule[];
      rules = Array.isArray(body) ? body : (body.rules ?? []);
    } catch (error) {
      return respond(res, 400, { error: (error as Error).message }, {});
    }
    faults = rules.map((rule) => ({ rule, remaining: rule.times === undefined || rule.times === null ? 1 : rule.times < 0 ? -1 : rule.times }));
    return ok({ ok: true, rules: faults.length });
  }
  if (path === '/_standin/faults' && method === 'GET') return ok(faults.map((f) => ({ ...f.rule, remaining: f.remaining })));
  if (path === '/_standin/requests' && method === 'GET') return ok(log);
  if (path === '/_standin/clock' && method === 'POST') {
    const body = JSON.parse(raw.toString('utf8') || '{}') as { advanceMs?: number };
    clockOffsetMs += Math.max(0, Number(body.advanceMs ?? 0));
    return ok({ now: new Date(now()).toISOString() });
  }
  if (path === '/_standin/reset' && method === 'POST') {
    faults = [];
    log.length = 0;
    hits.clear();
    return ok({ ok: true });
  }
  if (path === '/_standin/health') return ok({ ok: true, running });
  return respond(res, 404, { error: `no admin endpoint ${method} ${path}` }, {});
}

// ---------------------------------------------------------------------------------------------
// Life cycle

let closing = false;
async function shutdown(code: number): Promise<void> {
  if (closing) return;
  closing = true;
  server.close();
  for (const res of hung) res.destroy();
  server.closeAllConnections();
  // Let a statement in flight finish before the session goes away.
  await Promise.race([Promise.all([engineQueue, ingestQueue]), sleep(3000)]);
  try {
    engine.close();
  } finally {
    process.exit(code);
  }
}

process.on('SIGTERM', () => void shutdown(0));
process.on('SIGINT', () => void shutdown(0));
process.stdin.on('end', () => void shutdown(0));
process.stdin.on('close', () => void shutdown(0));
process.stdin.resume();

try {
  await prepare();
} catch (error) {
  process.stderr.write(`posthog stand-in: cannot start: ${error instanceof Error ? error.message : String(error)}\n`);
  engine.close();
  process.exit(1);
}
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  process.stdout.write(`listening ${port}\n`);
});
