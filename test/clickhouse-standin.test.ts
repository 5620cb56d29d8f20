/**
 * The ClickHouse stand-in (test/standins/clickhouse), driven by the real @clickhouse/client: what
 * production code will send to a ClickHouse server must work against it unchanged.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClickHouseError, ClickHouseLogLevel, createClient as createRealClient, type ClickHouseClient } from '@clickhouse/client';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { gzipSync } from 'node:zlib';
import { startClickHouseStandIn, type ClickHouseStandIn } from './standins/clickhouse/index.ts';
import { startS3StandIn } from './standins/s3/index.ts';

/** The real client; its own error log is switched off (the failures below are deliberate). */
const createClient: typeof createRealClient = (config) => createRealClient({ log: { level: ClickHouseLogLevel.OFF }, ...config });

let standIn: ClickHouseStandIn;
let client: ClickHouseClient;
let startupMs = 0;

beforeAll(async () => {
  const t0 = Date.now();
  standIn = await startClickHouseStandIn({ username: 'metrics', password: 's3cret' });
  startupMs = Date.now() - t0;
  client = createClient({ url: standIn.url, username: standIn.username, password: standIn.password });
});

afterAll(async () => {
  await client?.close();
  await standIn?.close();
});

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe('ClickHouse stand-in through @clickhouse/client', () => {
  it('starts quickly and answers ping', async () => {
    expect(startupMs).toBeLessThan(15_000);
    expect(await client.ping()).toEqual({ success: true });
    const res = await fetch(`${standIn.url}/ping`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('Ok.\n');
  });

  it('runs commands: CREATE TABLE, then INSERT ... SELECT (200, empty body)', async () => {
    await client.command({
      query: 'CREATE TABLE events (user_id String, n Int64, tag String) ENGINE = MergeTree ORDER BY (user_id, n)',
    });
    const inserted = await client.command({
      query: `INSERT INTO events SELECT concat('u', toString(number % 3)), number, if(number % 2 = 0, 'even', 'odd') FROM numbers(10)`,
    });
    expect(inserted.query_id).toMatch(/\S/);
    expect(inserted.summary).toMatchObject({ read_rows: expect.any(String), elapsed_ns: expect.any(String) });

    // exec (raw response stream) on the same kind of statement: an empty body.
    const exec = await client.exec({ query: 'CREATE TABLE IF NOT EXISTS events (user_id String) ENGINE = Memory' });
    let bytes = 0;
    for await (const chunk of exec.stream) bytes += (chunk as Buffer).length;
    expect(bytes).toBe(0);

    const rs = await client.query({ query: 'SELECT count() AS c, sum(n) AS s FROM events', format: 'JSONEachRow' });
    expect(await rs.json()).toEqual([{ c: 10, s: 45 }]);
  });

  it('binds query_params of String, Int64 and Array(String) server-side, JSONEachRow rows', async () => {
    // u1 holds n = 1, 4, 7 (odd, even, odd); n >= 4 and tag in the array keep 4 and 7.
    const rs = await client.query({
      query: `SELECT user_id, n, tag FROM events
              WHERE user_id = {user:String} AND n >= {min:Int64} AND tag IN {tags:Array(String)}
              ORDER BY n`,
      query_params: { user: 'u1', min: 4, tags: ['even', 'odd', "it's"] },
      format: 'JSONEachRow',
    });
    expect(await rs.json()).toEqual([
      { user_id: 'u1', n: 4, tag: 'even' },
      { user_id: 'u1', n: 7, tag: 'odd' },
    ]);
    expect(rs.response_headers['content-type']).toBe('application/json; charset=UTF-8');
    expect(rs.response_headers['x-clickhouse-format']).toBe('JSONEachRow');
    expect(rs.response_headers['x-clickhouse-query-id']).toBe(rs.query_id);
    expect(JSON.parse(String(rs.response_headers['x-clickhouse-summary']))).toMatchObject({ result_rows: '2' });
  });

  it('passes values in ClickHouse text form through unchanged (quotes, backslashes, tabs, 64-bit)', async () => {
    const tricky = "it's a \\ back\tslash";
    const rs = await client.query({
      query: 'SELECT {s:String} AS s, {n:Int64} AS n, {a:Array(String)} AS a, {u:Nullable(String)} AS u',
      query_params: { s: tricky, n: -9007199254740993n, a: [tricky, 'b'], u: null },
      clickhouse_settings: { output_format_json_quote_64bit_integers: 1 },
      format: 'JSONEachRow',
    });
    expect(await rs.json()).toEqual([{ s: tricky, n: '-9007199254740993', a: [tricky, 'b'], u: null }]);

    // URL settings apply to that query only.
    const after = await client.query({ query: 'SELECT toInt64(7) AS n', format: 'JSONEachRow' });
    expect(await after.json()).toEqual([{ n: 7 }]);
  });

  it('answers JSON and JSONCompactEachRow, and insert() data (query in the URL, rows in the body)', async () => {
    await client.insert({ table: 'events', values: [{ user_id: 'u9', n: 100, tag: 'even' }], format: 'JSONEachRow' });
    const json = await client.query({ query: "SELECT user_id, n FROM events WHERE user_id = 'u9'", format: 'JSON' });
    const doc = await json.json<{ user_id: string; n: number }>();
    expect(doc.data).toEqual([{ user_id: 'u9', n: 100 }]);
    expect(doc.meta).toEqual([
      { name: 'user_id', type: 'String' },
      { name: 'n', type: 'Int64' },
    ]);
    const compact = await client.query({ query: 'SELECT user_id, count() FROM events GROUP BY user_id ORDER BY user_id', format: 'JSONCompactEachRow' });
    expect(await compact.json()).toEqual([
      ['u0', 4],
      ['u1', 3],
      ['u2', 3],
      ['u9', 1],
    ]);
  });

  it('uses the database of the client for that request only', async () => {
    await client.command({ query: 'CREATE DATABASE IF NOT EXISTS analytics' });
    const scoped = createClient({ url: standIn.url, username: standIn.username, password: standIn.password, database: 'analytics' });
    try {
      const rs = await scoped.query({ query: 'SELECT currentDatabase() AS db', format: 'JSONEachRow' });
      expect(await rs.json()).toEqual([{ db: 'analytics' }]);
    } finally {
      await scoped.close();
    }
    const rs = await client.query({ query: 'SELECT currentDatabase() AS db', format: 'JSONEachRow' });
    expect(await rs.json()).toEqual([{ db: 'default' }]);
  });

  it('works with gzip request and response compression', async () => {
    const gz = createClient({
      url: standIn.url,
      username: standIn.username,
      password: standIn.password,
      compression: { request: true, response: true },
    });
    try {
      await gz.insert({ table: 'events', values: [['u8', 200, 'even']], format: 'JSONCompactEachRow' });
      const rs = await gz.query({ query: "SELECT sum(n) AS s FROM events WHERE user_id = 'u8'", format: 'JSONEachRow' });
      expect(rs.response_headers['content-encoding']).toBe('gzip');
      expect(await rs.json()).toEqual([{ s: 200 }]);
    } finally {
      await gz.close();
    }
  });

  it('sends large params as multipart when asked, and runs GET queries as readonly', async () => {
    const rs = await client.query({
      query: 'SELECT length({xs:Array(String)}) AS n, {s:String} AS s',
      query_params: { xs: ['a', "b'c", 'd;e'], s: 'SELECT 1; SELECT 2' },
      use_multipart_params: true,
      format: 'JSONEachRow',
    });
    expect(await rs.json()).toEqual([{ n: 3, s: 'SELECT 1; SELECT 2' }]);

    const auth = { 'X-ClickHouse-User': standIn.username, 'X-ClickHouse-Key': standIn.password };
    const get = await fetch(`${standIn.url}/?query=${encodeURIComponent("SELECT ';' AS x; -- trailing")}&default_format=JSONEachRow`, { headers: auth });
    expect(get.status).toBe(200);
    expect(get.headers.get('x-clickhouse-format')).toBe('JSONEachRow');
    expect(await get.text()).toBe('{"x":";"}\n');
    const write = await fetch(`${standIn.url}/?query=${encodeURIComponent('CREATE TABLE t_get (a Int8) ENGINE = Memory')}`, { headers: auth });
    expect(write.status).toBe(500);
    expect(write.headers.get('x-clickhouse-exception-code')).toBe('164');
  });

  it('reads S3 through the s3() table function (loopback S3 stand-in)', async () => {
    const s3 = await startS3StandIn({ buckets: ['logs'] });
    try {
      const put = new S3Client({ ...s3.clientOptions, credentials: s3.credentials, requestChecksumCalculation: 'WHEN_REQUIRED' });
      await put.send(new PutObjectCommand({ Bucket: 'logs', Key: 'day/part-1.tsv.gz', Body: gzipSync('a\t1\nb\t2\nc\t3\n') }));
      put.destroy();
      const rs = await client.query({
        query: `SELECT count() AS rows, sum(n) AS total
                FROM s3({url:String}, {key:String}, {secret:String}, 'TSV', 'k String, n Int64')`,
        query_params: { url: `${s3.endpoint}/logs/day/*.tsv.gz`, key: s3.credentials.accessKeyId, secret: s3.credentials.secretAccessKey },
        format: 'JSONEachRow',
      });
      expect(await rs.json()).toEqual([{ rows: 3, total: 6 }]);
    } finally {
      await s3.close();
    }
  });

  it('turns a failing query into a ClickHouseError with the code and type', async () => {
    const missing = await rejection(client.query({ query: 'SELECT * FROM no_such_table', format: 'JSONEachRow' }));
    expect(missing).toBeInstanceOf(ClickHouseError);
    expect(missing).toMatchObject({ code: '60', type: 'UNKNOWN_TABLE' });
    expect((missing as Error).message).toContain('no_such_table');

    const syntax = await rejection(client.command({ query: 'SELEC 1' }));
    expect(syntax).toMatchObject({ code: '62', type: 'SYNTAX_ERROR' });

    const multi = await rejection(client.command({ query: 'SELECT 1; SELECT 2' }));
    expect(multi).toMatchObject({ code: '62', type: 'SYNTAX_ERROR' });
    expect((multi as Error).message).toContain('Multi-statements are not allowed');

    const setting = await rejection(client.query({ query: 'SELECT 1', clickhouse_settings: { no_such_setting: 1 } as never }));
    expect(setting).toMatchObject({ code: '115', type: 'UNKNOWN_SETTING' });

    // The raw answer: status per ClickHouse's mapping, the code in a header, the body's form.
    const res = await fetch(`${standIn.url}/?query_id=raw-1`, {
      method: 'POST',
      body: 'SELECT * FROM no_such_table',
      headers: { 'X-ClickHouse-User': standIn.username, 'X-ClickHouse-Key': standIn.password },
    });
    expect(res.status).toBe(404);
    expect(res.headers.get('x-clickhouse-exception-code')).toBe('60');
    expect(await res.text()).toMatch(/^Code: 60\. DB::Exception: .*\. \(UNKNOWN_TABLE\) \(version 26\.7\.[\d.]+ \(official build\)\)\n$/s);
  });

  it('refuses a wrong password with AUTHENTICATION_FAILED (516)', async () => {
    const bad = createClient({ url: standIn.url, username: standIn.username, password: 'wrong' });
    try {
      const error = await rejection(bad.query({ query: 'SELECT 1', format: 'JSONEachRow' }));
      expect(error).toBeInstanceOf(ClickHouseError);
      expect(error).toMatchObject({ code: '516', type: 'AUTHENTICATION_FAILED' });
      expect((error as Error).message).toContain('metrics: Authentication failed: password is incorrect, or there is no user with such name');
      // /ping needs no credentials, as on a real server.
      expect(await bad.ping()).toEqual({ success: true });
    } finally {
      await bad.close();
    }
    const res = await fetch(`${standIn.url}/`, {
      method: 'POST',
      body: 'SELECT 1',
      headers: { Authorization: `Basic ${Buffer.from('default:').toString('base64')}` },
    });
    expect(res.status).toBe(403);
    expect(res.headers.get('x-clickhouse-exception-code')).toBe('516');
    expect(await res.text()).toMatch(/^Code: 516\. DB::Exception: default: Authentication failed: .*\(AUTHENTICATION_FAILED\) \(version /);
  });

  it('logs every request: method, SQL, status and URL parameters', async () => {
    const log = await standIn.requests();
    expect(log[0]).toMatchObject({ method: 'GET', path: '/ping', status: 200, query: '' });

    const bound = log.find((r) => r.params.param_user === 'u1');
    expect(bound).toMatchObject({
      method: 'POST',
      status: 200,
      params: { param_user: 'u1', param_min: '4', param_tags: "['even','odd','it\\'s']", query_id: expect.any(String) },
    });
    expect(bound!.query).toMatch(/WHERE user_id = \{user:String\}[\s\S]*\nFORMAT JSONEachRow$/);

    const settings = log.find((r) => r.params.output_format_json_quote_64bit_integers !== undefined);
    expect(settings?.params.output_format_json_quote_64bit_integers).toBe('1');

    const insert = log.find((r) => r.params.query?.startsWith('INSERT INTO events'));
    expect(insert?.query).toMatch(/^INSERT INTO events FORMAT JSONEachRow\n\{"user_id":"u9"/);

    expect(log.find((r) => r.status === 404 && r.query === 'SELECT * FROM no_such_table')).toBeDefined();
    const denied = log.filter((r) => r.status === 403);
    expect(denied.map((r) => r.query)).toEqual(['SELECT 1 \nFORMAT JSONEachRow', 'SELECT 1']);
    expect(log.every((r) => !('password' in r.params))).toBe(true);

    await standIn.clearRequests();
    expect(await standIn.requests()).toEqual([]);
  });
});
