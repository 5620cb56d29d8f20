import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startPostHogStandIn, type StandIn } from './standins/posthog/index.ts';
import { tempDir, writeExport } from './helpers/fixtures.ts';

// The stand-in is exercised with plain fetch: these tests pin what it answers on the wire.

interface Answer {
  status: number;
  headers: Headers;
  json: any;
}

async function call(url: string, init: RequestInit = {}): Promise<Answer> {
  const res = await fetch(url, init);
  const text = await res.text();
  return { status: res.status, headers: res.headers, json: text ? JSON.parse(text) : undefined };
}

function post(s: StandIn, body: unknown, opts: { key?: string | null; project?: number | string } = {}): Promise<Answer> {
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  if (opts.key !== null) headers.Authorization = `Bearer ${opts.key ?? s.apiKey}`;
  return call(`${s.url}/api/projects/${opts.project ?? s.projectId}/query/`, {
    method: 'POST',
    headers,
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

function hogql(
  query: string,
  values: Record<string, unknown> = {},
  extra: { modifiers?: Record<string, unknown>; refresh?: string; name?: string; client_query_id?: string } = {},
): unknown {
  const { modifiers, ...rest } = extra;
  return { query: { kind: 'HogQLQuery', query, values, ...(modifiers ? { modifiers } : {}) }, ...rest };
}

const run = (s: StandIn, query: string, values: Record<string, unknown> = {}, extra: Parameters<typeof hogql>[2] = {}) =>
  post(s, hogql(query, values, extra));

function pollUrl(s: StandIn, id: string): string {
  return `${s.url}/api/projects/${s.projectId}/query/${id}/`;
}

const auth = (s: StandIn) => ({ Authorization: `Bearer ${s.apiKey}` });

describe('PostHog stand-in', () => {
  let main: StandIn;
  let limits: StandIn;
  let scoped: StandIn;

  beforeAll(async () => {
    const dir = await tempDir('cm-posthog-');
    // Two export files; the second is gzip and repeats one uuid (the loader keeps one copy).
    await writeExport(join(dir, 'export', '2026-11-16.jsonl'), [
      { uuid: 'u-1', event: 'connect.login', distinct_id: 'a', timestamp: '2026-11-15T23:30:00Z', properties: { 'connect.os': 'linux' } },
      { uuid: 'u-2', event: 'connect.login', distinct_id: 'b', timestamp: '2026-11-16T10:00:00Z', person_properties: { os: 'darwin' } },
      { uuid: 'u-3', event: 'connect.ssh', distinct_id: 'a', timestamp: '2026-11-16T22:59:59Z' },
      { uuid: 'u-4', event: 'other.event', distinct_id: 'c', timestamp: '2026-11-16T12:00:00Z' },
    ]);
    await writeExport(join(dir, 'export', '2026-11-17.jsonl.gz'), [
      { uuid: 'u-2', event: 'connect.login', distinct_id: 'b', timestamp: '2026-11-16T10:00:00Z', person_properties: { os: 'darwin' } },
      { uuid: 'u-5', event: 'connect.db', distinct_id: 'b', timestamp: '2026-11-17T00:30:00Z', person_properties: { os: 'darwin' } },
      { uuid: 'u-6', event: 'connect.login', distinct_id: 'b', timestamp: '2026-11-16T11:00:00Z', person_properties: { os: 'darwin' } },
    ]);
    [main, limits, scoped] = await Promise.all([
      startPostHogStandIn({ eventsPaths: [join(dir, 'export')], projectTimezone: 'Europe/Berlin', defaultLimit: 5, maxLimit: 8 }),
      startPostHogStandIn({ ratePerMinute: 3, maxConcurrent: 1, queryDelayMs: 400 }),
      startPostHogStandIn({ scopes: ['insight:read'] }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([main?.close(), limits?.close(), scoped?.close()]);
  });
  beforeEach(async () => {
    await main.reset();
  });

  it('runs HogQL with values over the preloaded export and answers like PostHog', async () => {
    const query = `SELECT distinct_id, count() AS events
FROM events
WHERE startsWith(event, {prefix})
    AND timestamp >= toDateTime64({from}, 6, 'UTC')
    AND timestamp < toDateTime64({to}, 6, 'UTC')
    AND distinct_id IN {ids}
GROUP BY distinct_id
ORDER BY distinct_id`;
    const values = { prefix: 'connect.', from: '2026-11-16 00:00:00.000000', to: '2026-11-17 00:00:00.000000', ids: ['a', 'b', 'c'] };
    const { status, json } = await run(main, query, values, { name: 'per_user', client_query_id: 'cq-1' });
    expect(status).toBe(200);
    // In [11-16, 11-17) UTC with a connect.* event: a (u-3); b (u-2 once, u-6). u-1 and u-5 fall outside.
    expect(json.results).toEqual([
      ['a', 1],
      ['b', 2],
    ]);
    expect(json).toMatchObject({
      columns: ['distinct_id', 'events'],
      types: [
        ['distinct_id', 'String'],
        ['events', 'UInt64'],
      ],
      hasMore: false,
      limit: 5,
      offset: 0,
      hogql: query,
      timings: [],
      is_cached: false,
      timezone: 'Europe/Berlin',
      query_status: null,
    });
    expect(json.clickhouse).toContain("startsWith(event, 'connect.')");
    expect(json.clickhouse).toContain("distinct_id IN ['a', 'b', 'c']");
    expect(json.clickhouse).not.toContain('{');
  });

  it("converts timestamp to the project's timezone unless convertToProjectTimezone is false", async () => {
    const perDay = "SELECT toDate(timestamp) AS day, count() AS n FROM events WHERE startsWith(event, 'connect.') GROUP BY day ORDER BY day";
    const berlin = await run(main, perDay);
    const utc = await run(main, perDay, {}, { modifiers: { convertToProjectTimezone: false } });
    // u-1 is 23:30 UTC on the 15th = 00:30 on the 16th in Berlin; u-3 is 23:59:59 Berlin, still the 16th.
    expect(berlin.json.results).toEqual([
      ['2026-11-16', 4],
      ['2026-11-17', 1],
    ]);
    expect(utc.json.results).toEqual([
      ['2026-11-15', 1],
      ['2026-11-16', 3],
      ['2026-11-17', 1],
    ]);
    const one = 'SELECT timestamp FROM events WHERE uuid = {u}';
    const local = await run(main, one, { u: 'u-1' });
    const inUtc = await run(main, one, { u: 'u-1' }, { modifiers: { convertToProjectTimezone: false } });
    expect(local.json.types).toEqual([['timestamp', "DateTime64(6, 'Europe/Berlin')"]]);
    expect(local.json.results).toEqual([['2026-11-16T00:30:00+01:00']]);
    expect(inUtc.json.types).toEqual([['timestamp', "DateTime64(6, 'UTC')"]]);
    expect(inUtc.json.results).toEqual([['2026-11-15T23:30:00Z']]);
  });

  it('fills placeholders as constants and refuses a placeholder without a value', async () => {
    const ok = await run(main, "SELECT {s} AS s, {n} + 1 AS n, {ids} AS ids, {flag} AS flag, '{literal}' AS lit", {
      s: "it's a \\ back\nslash",
      n: 41,
      ids: ['x', "y'z"],
      flag: true,
    });
    expect(ok.status).toBe(200);
    expect(ok.json.results).toEqual([["it's a \\ back\nslash", 42, ['x', "y'z"], true, '{literal}']]);

    const missing = await run(main, 'SELECT count() FROM events WHERE event = {event_name}', { prefix: 'connect.', from: 'x' });
    expect(missing.status).toBe(400);
    expect(missing.json).toEqual({
      type: 'validation_error',
      code: 'hogql_query_error',
      detail: 'Placeholder {event_name} is not available in this context. You can use the following: prefix, from',
      attr: null,
    });
  });

  it('limits rows like PostHog: default limit with hasMore; an explicit LIMIT capped, and nothing says more rows exist', async () => {
    const noLimit = await run(main, 'SELECT number FROM numbers(12)');
    expect(noLimit.json).toMatchObject({ results: [[0], [1], [2], [3], [4]], hasMore: true, limit: 5, offset: 0 });

    const exact = await run(main, 'SELECT number FROM numbers(5)');
    expect(exact.json).toMatchObject({ hasMore: false, limit: 5 });
    expect(exact.json.results).toHaveLength(5);

    // hogql_query_runner.py paginates only a query without a LIMIT: with one, no hasMore at all.
    const page = await run(main, 'SELECT number FROM numbers(12) ORDER BY number LIMIT 3 OFFSET 8');
    expect(page.json.results).toEqual([[8], [9], [10]]);
    expect(page.json).not.toHaveProperty('hasMore');
    const lastPage = await run(main, 'SELECT number FROM numbers(12) ORDER BY number LIMIT 3 OFFSET 9;');
    expect(lastPage.json.results).toEqual([[9], [10], [11]]);
    expect(lastPage.json).not.toHaveProperty('hasMore');

    // LIMIT 50 capped at the maximum (8 here, 50,000 on PostHog): 8 rows, and no word of the 92 others.
    const capped = await run(main, 'SELECT number FROM numbers(100) LIMIT 50');
    expect(capped.json.results).toHaveLength(8);
    expect(capped.json).not.toHaveProperty('hasMore');

    // A LIMIT inside a subquery is not the query's LIMIT.
    const inner = await run(main, 'SELECT number FROM (SELECT number FROM numbers(100) LIMIT 50)');
    expect(inner.json).toMatchObject({ hasMore: true, limit: 5 });
  });

  it('answers authentication, project, scope, body and engine errors with PostHog bodies', async () => {
    const q = hogql('SELECT 1');
    const none = await post(main, q, { key: null });
    expect(none.status).toBe(401);
    expect(none.json).toMatchObject({ type: 'authentication_error', code: 'not_authenticated' });

    const wrong = await post(main, q, { key: 'phx_wrong' });
    expect(wrong.status).toBe(401);
    expect(wrong.json).toEqual({
      type: 'authentication_error',
      code: 'authentication_failed',
      detail: 'Incorrect authentication credentials.',
      attr: null,
    });

    const project = await post(main, q, { project: 999 });
    expect(project.status).toBe(404);
    expect(project.json).toEqual({ type: 'invalid_request', code: 'not_found', detail: 'Not found.', attr: null });

    const scope = await post(scoped, q);
    expect(scope.status).toBe(403);
    expect(scope.json).toEqual({
      type: 'authentication_error',
      code: 'permission_denied',
      detail: "API key missing required scope 'query:read'",
      attr: null,
    });

    const notJson = await post(main, '{"query":');
    expect(notJson.status).toBe(400);
    expect(notJson.json).toMatchObject({ type: 'invalid_request', code: 'parse_error' });
    const badKind = await post(main, { query: { kind: 'TrendsQuery' } });
    expect(badKind.status).toBe(400);
    expect(badKind.json).toMatchObject({ type: 'validation_error', code: 'invalid_input', attr: 'query__kind' });
    const badRefresh = await post(main, { query: { kind: 'HogQLQuery', query: 'SELECT 1' }, refresh: 'sometimes' });
    expect(badRefresh.status).toBe(400);
    expect(badRefresh.json).toMatchObject({ type: 'validation_error', attr: 'refresh' });

    const unknownColumn = await run(main, 'SELECT nope FROM events');
    expect(unknownColumn.status).toBe(400);
    expect(unknownColumn.json).toEqual({ type: 'validation_error', code: 'hogql_query_error', detail: 'Unable to resolve field: nope', attr: null });
    const syntax = await run(main, 'SELEC 1');
    expect(syntax.status).toBe(400);
    expect(syntax.json).toMatchObject({ type: 'validation_error', code: 'hogql_syntax_error', attr: null });
    expect(syntax.json.detail).toMatch(/mismatched input 'SELEC'/);
  });

  it('refuses what PostHog refuses: functions outside HogQL or with the wrong arity, fields events lack, unknown modifiers', async () => {
    const refused: Array<[string, string]> = [
      ['SELECT uniqCombined(distinct_id) FROM events', "Unsupported function call 'uniqCombined(...)'"],
      ['SELECT toDate(timestamp, 1) FROM events', "Function 'toDate' expects 1 argument, found 2"],
      ['SELECT countIf(1, 2, 3) FROM events', "Aggregation 'countIf' expects at most 2 arguments, found 3"],
      ["SELECT JSONExtractString(person_properties, 'os') FROM events", 'Unable to resolve field: person_properties'],
      ['SELECT 1 FROM evnts', 'Unknown table `evnts`.'],
    ];
    for (const [query, detail] of refused) {
      const answer = await run(main, query);
      expect(answer.status, query).toBe(400);
      expect(answer.json, query).toEqual({ type: 'validation_error', code: 'hogql_query_error', detail, attr: null });
    }
    // The same query with HogQL's field name runs.
    expect((await run(main, "SELECT JSONExtractString(person.properties, 'os') AS os FROM events WHERE uuid = 'u-2'")).json.results).toEqual([['darwin']]);

    const unknownModifier = await run(main, 'SELECT 1', {}, { modifiers: { convertToProjectTimezone: false, personOnEventsMode: 'disabled' } });
    expect(unknownModifier.status).toBe(400);
    expect(unknownModifier.json).toEqual({
      type: 'validation_error',
      code: 'invalid_input',
      detail: 'Extra inputs are not permitted',
      attr: 'query__modifiers__personOnEventsMode',
    });
    const badMode = await run(main, 'SELECT 1', {}, { modifiers: { personsOnEventsMode: 'on' } });
    expect(badMode.status).toBe(400);
    expect(badMode.json.attr).toBe('query__modifiers__personsOnEventsMode');
  });

  it('runs toDate over an argument PostHog cannot type as toDateOrNull: ClickHouse refuses it, with its code name', async () => {
    const utc = { modifiers: { convertToProjectTimezone: false } };
    // The field itself is typed: toDate.
    const typed = await run(main, "SELECT toDate(toTimeZone(timestamp, 'UTC')) AS d FROM events WHERE uuid = 'u-1'", {}, utc);
    expect(typed.json.results).toEqual([['2026-11-15']]);
    // An aggregate is not: toDateOrNull(DateTime64), which ClickHouse refuses.
    const untyped = await run(main, "SELECT toDate(toTimeZone(min(timestamp), 'UTC')) AS d FROM events", {}, utc);
    expect(untyped.status).toBe(400);
    expect(untyped.json).toMatchObject({ type: 'validation_error', attr: null });
    expect(untyped.json.code).toMatch(/^[a-z_]+$/);
    expect(untyped.json.code).not.toBe('hogql_query_error');
    expect(untyped.json.detail).toMatch(/toDateOrNull/);
    // A string constant: toDateOrNull('1970-01-01') is still that date.
    const constant = await run(main, "SELECT toString(toDate('1970-01-01')) AS d");
    expect(constant.json.results).toEqual([['1970-01-01']]);
  });

  it("person.properties as the team's persons-on-events mode says, unless the request pins it", async () => {
    // Person p sets os=darwin on its first event, then os=linux on a later one.
    const send = await call(`${main.url}/batch/`, {
      method: 'POST',
      body: JSON.stringify({
        api_key: main.projectApiKey,
        batch: [
          { event: 'connect.login', distinct_id: 'poe-p', uuid: 'poe-1', properties: { $set: { os: 'darwin' } }, timestamp: '2026-10-01T09:00:00.000Z' },
          { event: 'connect.login', distinct_id: 'poe-p', uuid: 'poe-2', properties: { $set: { os: 'linux' } }, timestamp: '2026-10-01T10:00:00.000Z' },
        ],
      }),
    });
    expect(send.status).toBe(200);
    const q = "SELECT JSONExtractString(person.properties, 'os') AS os FROM events WHERE uuid = 'poe-1'";
    const onEvents = await run(main, q, {}, { modifiers: { personsOnEventsMode: 'person_id_no_override_properties_on_events' } });
    const joined = await run(main, q, {}, { modifiers: { personsOnEventsMode: 'person_id_override_properties_joined' } });
    expect(onEvents.json.results).toEqual([['darwin']]); // as it was when poe-1 was ingested
    expect(joined.json.results).toEqual([['linux']]); // the person's properties now
    // The answer says which mode ran; unpinned, the team's (this stand-in: properties on events).
    expect(joined.json.modifiers.personsOnEventsMode).toBe('person_id_override_properties_joined');
    const unpinned = await run(main, q);
    expect(unpinned.json.modifiers.personsOnEventsMode).toBe('person_id_override_properties_on_events');
    expect(unpinned.json.results).toEqual([['darwin']]);
  });

  it('HogQLMetadata: checks a query without running it', async () => {
    const meta = (query: string) => post(main, { query: { kind: 'HogQLMetadata', language: 'hogQL', query } });
    const ok = await meta("SELECT count() FROM events WHERE timestamp >= toDateTime64('2026-11-16 00:00:00', 6, 'UTC')");
    expect(ok.status).toBe(200);
    expect(ok.json).toMatchObject({ isValid: true, errors: [], warnings: [], notices: [] });
    const bad = await meta('SELECT uniqCombined(distinct_id) FROM events');
    expect(bad.status).toBe(200);
    expect(bad.json.isValid).toBe(false);
    expect(bad.json.errors).toEqual([{ message: "Unsupported function call 'uniqCombined(...)'", start: 7, end: 32, fix: null }]);
    const withPlaceholder = await meta('SELECT {x}');
    expect(withPlaceholder.json.isValid).toBe(false);
    // Nothing ran: no query was counted as running or executed (no ClickHouse text in the answer).
    expect(ok.json).not.toHaveProperty('results');
    expect((await main.requests()).map((r) => r.kind)).toEqual(['HogQLMetadata', 'HogQLMetadata', 'HogQLMetadata']);
  });

  it('GET /api/users/@me/ needs the user:read scope (a query:read key is refused, not unknown)', async () => {
    const get = (s: StandIn, key = s.apiKey) => call(`${s.url}/api/users/@me/`, { headers: { Authorization: `Bearer ${key}` } });
    const refused = await get(main);
    expect(refused.status).toBe(403);
    expect(refused.json).toEqual({ type: 'authentication_error', code: 'permission_denied', detail: "API key missing required scope 'user:read'", attr: null });
    expect((await get(main, 'phx_wrong')).status).toBe(401);
    const both = await startPostHogStandIn({ scopes: ['query:read', 'user:read'] });
    try {
      const me = await get(both);
      expect(me.status).toBe(200);
      expect(me.json.team).toMatchObject({ id: both.projectId, timezone: 'UTC' });
    } finally {
      await both.close();
    }
  });

  it('injects statuses with their PostHog bodies, and only for matching requests', async () => {
    const expected: Array<[number, string, string, RegExp]> = [
      [402, 'server_error', 'api_queries_quota_exceeded', /API queries/],
      [500, 'server_error', 'error', /^A server error occurred\.$/],
      [503, 'server_error', 'error', /too busy/],
      [504, 'server_error', 'error', /^Query has hit the max execution time before completing\. See our docs for how to improve your query performance\./],
      [512, 'server_error', 'error', /^Estimated query execution time is too long\. Try reducing its scope by changing the time range\.$/],
      [513, 'server_error', 'clickhouse_memory_limit_exceeded', /ran out of memory/],
    ];
    for (const [status, type, code, detail] of expected) {
      await main.setFaults([{ status }]);
      const answer = await run(main, 'SELECT 1');
      expect(answer.status).toBe(status);
      expect(answer.json).toMatchObject({ type, code, attr: null });
      expect(answer.json.detail).toMatch(detail);
      // times defaults to 1: the next request is served.
      expect((await run(main, 'SELECT 1')).status).toBe(200);
    }

    const week = { from: '2026-11-16 00:00:00.000000', to: '2026-11-23 00:00:00.000000' };
    const day = { from: '2026-11-16 08:00:00.000000', to: '2026-11-17 08:00:00.000000' };
    await main.setFaults([
      { status: 512, times: Infinity, when: { path: 'query', minRangeDays: 1 } },
      { status: 513, times: -1, when: { queryName: 'buckets', belowUserBuckets: 4 } },
    ]);
    const sql = "SELECT count() FROM events WHERE timestamp >= toDateTime64({from}, 6, 'UTC') AND timestamp < toDateTime64({to}, 6, 'UTC')";
    expect((await run(main, sql, week)).status).toBe(512);
    expect((await run(main, sql, week)).status).toBe(512);
    expect((await run(main, sql, day)).status).toBe(200);
    expect((await run(main, 'SELECT {user_buckets}', { user_buckets: 2 }, { name: 'buckets' })).status).toBe(513);
    expect((await run(main, 'SELECT {user_buckets}', { user_buckets: 8 }, { name: 'buckets' })).status).toBe(200);
    expect((await run(main, 'SELECT 1', {}, { name: 'buckets' })).status).toBe(513);
    expect((await run(main, 'SELECT 1', {}, { name: 'other' })).status).toBe(200);

    await main.setFaults([
      { preset: 'throttled', waitSeconds: 7 },
      { preset: 'too-many-bytes' },
      { preset: 'cluster-memory' },
      { preset: 'database-unavailable' },
      { kind: 'slow', runMs: 12_000 },
      { kind: 'slow', runMs: 9_000 },
      { status: 418, body: '<html>teapot</html>' },
    ]);
    const injected = await run(main, 'SELECT 1');
    expect(injected.status).toBe(429);
    // The wait is only in the detail: no Retry-After header (posthog/exceptions.py).
    expect(injected.headers.get('retry-after')).toBeNull();
    expect(injected.json).toEqual({ type: 'throttled_error', code: 'throttled', detail: 'Request was throttled. Expected available in 7 seconds.', attr: null });
    const bytes = await run(main, 'SELECT 1');
    expect(bytes.status).toBe(400);
    expect(bytes.json).toMatchObject({ type: 'validation_error', code: 'too_many_bytes' });
    const cluster = await run(main, 'SELECT 1');
    expect(cluster.status).toBe(513);
    expect(cluster.json).toMatchObject({ code: 'clickhouse_memory_limit_exceeded', detail: expect.stringMatching(/under heavy load/) });
    const database = await run(main, 'SELECT 1');
    expect(database.status).toBe(503);
    expect(database.headers.get('retry-after')).toBe('1');
    expect(database.json.code).toBe('database_unavailable');
    // max_execution_time is 10 s for a personal API key: 12 s is a 504, 9 s is fine.
    const slow = await run(main, 'SELECT 1');
    expect(slow.status).toBe(504);
    expect(slow.json.detail).toMatch(/max execution time/);
    expect((await run(main, 'SELECT 1')).status).toBe(200);
    const html = await fetch(`${main.url}/api/projects/${main.projectId}/query/`, {
      method: 'POST',
      headers: auth(main),
      body: JSON.stringify(hogql('SELECT 1')),
    });
    expect(html.status).toBe(418);
    expect(await html.text()).toBe('<html>teapot</html>');
  });

  it('resets the connection or never answers when told to', async () => {
    await main.setFaults([{ kind: 'network-reset' }, { kind: 'hang' }]);
    await expect(run(main, 'SELECT 1')).rejects.toThrow();
    await expect(
      fetch(`${main.url}/api/projects/${main.projectId}/query/`, {
        method: 'POST',
        headers: auth(main),
        body: JSON.stringify(hogql('SELECT 1')),
        signal: AbortSignal.timeout(300),
      }),
    ).rejects.toThrow();
    expect((await run(main, 'SELECT 1')).status).toBe(200);
    expect((await main.requests()).map((r) => r.status)).toEqual([0, 0, 200]);
  });

  it('throttles beyond the rate with the wait only in the detail, and refuses a query beyond maxConcurrent with no hint', async () => {
    await limits.reset();
    const [first, second] = await Promise.all([run(limits, 'SELECT 1'), run(limits, 'SELECT 2')]);
    const statuses = [first.status, second.status].sort();
    expect(statuses).toEqual([200, 429]);
    const refused = first.status === 429 ? first : second;
    expect(refused.headers.get('retry-after')).toBeNull();
    expect(refused.json).toEqual({
      type: 'throttled_error',
      code: 'throttled',
      detail: 'Too many concurrent queries, please try again later.',
      attr: null,
    });

    await limits.reset();
    for (let i = 0; i < 3; i++) expect((await run(limits, 'SELECT 1')).status).toBe(200);
    const throttled = await run(limits, 'SELECT 1');
    expect(throttled.status).toBe(429);
    expect(throttled.headers.get('retry-after')).toBeNull();
    const wait = Number(/Expected available in (\d+) seconds\./.exec(throttled.json.detail)?.[1]);
    expect(wait).toBeGreaterThanOrEqual(59);
    expect(wait).toBeLessThanOrEqual(60);
    expect(throttled.json).toEqual({ type: 'throttled_error', code: 'throttled', detail: `Request was throttled. Expected available in ${wait} seconds.`, attr: null });
    // The window is real on the stand-in's clock: just before it ends, still throttled; at its end, served.
    await limits.advanceClock((wait - 2) * 1000);
    expect((await run(limits, 'SELECT 1')).status).toBe(429);
    await limits.advanceClock(2000);
    expect((await run(limits, 'SELECT 1')).status).toBe(200);
    // reset() clears the counters.
    await limits.reset();
    expect((await run(limits, 'SELECT 1')).status).toBe(200);
  });

  it('answers 202 for async queries and serves the results to polling; DELETE forgets', async () => {
    const started = await run(main, "SELECT count() AS n FROM events WHERE uuid LIKE 'u-%'", {}, { refresh: 'async', client_query_id: 'cq-async' });
    expect(started.status).toBe(202);
    expect(started.json.query_status).toMatchObject({ id: 'cq-async', team_id: 4242, complete: false, error: false, query_async: true });
    expect(typeof started.json.query_status.start_time).toBe('string');
    let done: Answer;
    do done = await call(pollUrl(main, 'cq-async'), { headers: auth(main) });
    while (done.status === 202);
    expect(done.status).toBe(200);
    expect(done.json.query_status).toMatchObject({ id: 'cq-async', complete: true, error: false });
    expect(done.json.query_status.results).toMatchObject({ results: [[6]], columns: ['n'], hasMore: false });

    // A blocking request told to go async: two 202 polls (one of them failing first), then 200.
    await main.setFaults([{ kind: 'async', pollsUntilDone: 2, when: { queryName: 'slow' } }, { status: 503, when: { path: 'poll' } }]);
    const slow = await run(main, 'SELECT 42 AS answer', {}, { name: 'slow' });
    expect(slow.status).toBe(202);
    const id = slow.json.query_status.id as string;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    const polls: number[] = [];
    let last: Answer;
    do {
      last = await call(pollUrl(main, id), { headers: auth(main) });
      polls.push(last.status);
    } while (last.status !== 200 && polls.length < 10);
    expect(polls).toEqual([503, 202, 202, 200]);
    expect(last.json.query_status.results.results).toEqual([[42]]);
    // DELETE answers 200 with what cancel_query did.
    const cancelled = await call(pollUrl(main, id), { method: 'DELETE', headers: auth(main) });
    expect(cancelled.status).toBe(200);
    expect(cancelled.json).toEqual({ message: 'Query already complete' });
    expect((await call(pollUrl(main, id), { headers: auth(main) })).status).toBe(404);
    expect((await call(pollUrl(main, 'no-such-query'), { headers: auth(main) })).status).toBe(404);

    // A query that fails while async: 400 with the error in its status.
    const broken = await run(main, 'SELECT nope FROM events', {}, { refresh: 'force_async' });
    expect(broken.status).toBe(202);
    let failed: Answer;
    do failed = await call(pollUrl(main, broken.json.query_status.id), { headers: auth(main) });
    while (failed.status === 202);
    expect(failed.status).toBe(400);
    expect(failed.json.query_status).toMatchObject({ complete: true, error: true });
    expect(failed.json.query_status.error_message).toContain('nope');
  });

  it('ingests a gzip /batch/ and keeps person properties as of each event', async () => {
    const send = (body: unknown, path = '/batch/') =>
      call(`${main.url}${path}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' },
        body: gzipSync(JSON.stringify(body)),
      });
    const sentAt = new Date().toISOString();
    const wrongKey = await send({ api_key: 'phc_wrong', batch: [{ event: 'x', distinct_id: 'z', properties: {} }], sent_at: sentAt });
    expect(wrongKey.status).toBe(401);
    expect(wrongKey.json).toEqual({
      type: 'authentication_error',
      code: 'invalid_api_key',
      detail: 'Project API key invalid. You can find your project API key in your PostHog project settings.',
      attr: null,
    });

    const before = Date.now();
    const ok = await send({
      api_key: main.projectApiKey,
      batch: [
        {
          event: '$identify',
          distinct_id: 'z',
          properties: { $set: { os: 'linux', plan: 'free' }, $set_once: { first_seen: 'x' }, $lib: 'posthog-node' },
          timestamp: '2026-11-18T09:00:00.000Z',
          uuid: '01900000-0000-7000-8000-000000000001',
        },
        {
          event: 'connect.login',
          distinct_id: 'z',
          properties: { $set: { plan: 'pro' }, $set_once: { first_seen: 'y' } },
          timestamp: '2026-11-18T10:00:00.000Z',
        },
        { event: 'connect.ssh', distinct_id: 'z', properties: { 'connect.protocol': 'ssh' }, timestamp: '2026-11-18T11:00:00.000Z' },
        // b's person starts from the person properties stored on its preloaded events.
        { event: 'connect.login', distinct_id: 'b', properties: { $set: { plan: 'team' } }, timestamp: '2026-11-18T12:00:00.000Z' },
      ],
      sent_at: sentAt,
    });
    expect(ok.status).toBe(200);
    expect(ok.json).toEqual({ status: 1 });

    const rows = await run(
      main,
      `SELECT distinct_id, event, JSONExtractString(person.properties, 'plan') AS plan, JSONExtractString(person.properties, 'first_seen') AS first_seen,
              JSONExtractString(person.properties, 'os') AS os, JSONExtractString(properties, 'connect.protocol') AS protocol, uuid != '' AS has_uuid
       FROM events WHERE timestamp >= toDateTime64({from}, 6, 'UTC') ORDER BY timestamp`,
      { from: '2026-11-18 00:00:00.000000' },
      { modifiers: { convertToProjectTimezone: false } },
    );
    expect(rows.json.results).toEqual([
      ['z', '$identify', 'free', 'x', 'linux', '', 1],
      ['z', 'connect.login', 'pro', 'x', 'linux', '', 1],
      ['z', 'connect.ssh', 'pro', 'x', 'linux', 'ssh', 1],
      ['b', 'connect.login', 'team', '', 'darwin', '', 1],
    ]);
    const meta = await run(main, "SELECT uuid, timestamp, created_at, person_id FROM events WHERE distinct_id = 'z' ORDER BY timestamp", {}, {
      modifiers: { convertToProjectTimezone: false },
    });
    const [identify, login] = meta.json.results as string[][];
    expect(identify![0]).toBe('01900000-0000-7000-8000-000000000001');
    expect(identify![1]).toBe('2026-11-18T09:00:00Z');
    expect(Date.parse(identify![2]!)).toBeGreaterThanOrEqual(before - 1000);
    expect(login![0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(login![3]).toBe(identify![3]);

    // Without the trailing slash and uncompressed; a uuid sent again is not stored twice.
    const again = await call(`${main.url}/batch`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        api_key: main.projectApiKey,
        batch: [{ event: '$identify', distinct_id: 'z', properties: {}, timestamp: '2026-11-18T09:00:00.000Z', uuid: '01900000-0000-7000-8000-000000000001' }],
      }),
    });
    expect(again.status).toBe(200);
    const count = await run(main, "SELECT count() FROM events WHERE distinct_id = 'z'");
    expect(count.json.results).toEqual([[3]]);
  });

  it('logs every request in order, without the key', async () => {
    await run(main, 'SELECT {x}', { x: 1 }, { name: 'logged', refresh: 'blocking', modifiers: { convertToProjectTimezone: false } });
    await post(main, hogql('SELECT 1'), { key: 'phx_wrong' });
    await call(`${main.url}/batch/`, { method: 'POST', body: JSON.stringify({ api_key: main.projectApiKey, batch: [] }) });
    const log = await main.requests();
    expect(log).toEqual([
      {
        method: 'POST',
        path: `/api/projects/${main.projectId}/query/`,
        status: 200,
        name: 'logged',
        values: { x: 1 },
        refresh: 'blocking',
        modifiers: { convertToProjectTimezone: false },
        kind: 'HogQLQuery',
        authorized: true,
        at: expect.any(Number),
      },
      { method: 'POST', path: `/api/projects/${main.projectId}/query/`, status: 401, authorized: false, at: expect.any(Number) },
      { method: 'POST', path: '/batch/', status: 200, authorized: true, at: expect.any(Number) },
    ]);
    expect(log[0]!.at).toBeLessThanOrEqual(log[1]!.at);
    expect(JSON.stringify(log)).not.toContain(main.apiKey);
    await main.reset();
    expect(await main.requests()).toEqual([]);
  });
});
