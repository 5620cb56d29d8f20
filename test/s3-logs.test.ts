/**
 * CloudFront logs from S3 (src/sources/cloudfront/s3.ts) against a real S3-compatible server
 * (s3rver in a child process, test/standins/s3): which keys are listed and fetched for a period,
 * that files arrive intact, the errors a person sees, best-effort fetching, and the counts the
 * downloads query gives over the fetched files.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { PassThrough } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChdbEngine } from '../src/engine/chdb-engine.ts';
import { runQuery } from '../src/engine/run-query.ts';
import { UsageError } from '../src/lib/errors.ts';
import { memoryLogger, silentLogger } from '../src/lib/logger.ts';
import { queries } from '../src/queries/index.ts';
import { stageLogFiles } from '../src/sources/cloudfront/logs.ts';
import { createS3Client, fetchS3Logs, isS3Url, parseS3Url, S3SourceError, S3UrlError, type S3FetchResult } from '../src/sources/cloudfront/s3.ts';
import { LEGACY_FIELDS } from '../src/sources/cloudfront/formats.ts';
import { request, type LogRecord } from './helpers/cdn-logs.ts';
import { recordCalls, startS3StandIn, type RecordedCall, type S3StandIn } from './standins/s3/index.ts';

const E1 = 'E1AAAAAAAAAAAA';
const E2 = 'E2BBBBBBBBBBBB';
const E3 = 'E3CCCCCCCCCCCC';
const E4 = 'E4DDDDDDDDDDDD';
const BUCKET = 'logs';
const URL = `s3://${BUCKET}/cf/`;
const PERIOD = { from: new Date('2026-11-16T00:00:00Z'), to: new Date('2026-11-18T00:00:00Z') };
const BULK = 1100; // more than one listing page (1000 keys) for one distribution and day

/** gzip W3C log bytes, as CloudFront writes them. */
function w3c(records: LogRecord[]): Buffer {
  const lines = ['#Version: 1.0', `#Fields: ${LEGACY_FIELDS.join(' ')}`, ...records.map((r) => LEGACY_FIELDS.map((f) => r[f] ?? '-').join('\t'))];
  return gzipSync(lines.join('\n') + '\n');
}

const at = (iso: string) => ({ date: iso.slice(0, 10), time: iso.slice(11, 19) });
const EXE = '/Teleport%2520Connect%2520Setup-18.2.0.exe';
const r3 = request({ ...at('2026-11-16T10:00:00'), 'c-ip': '192.0.2.3', 'cs-uri-stem': EXE });

/** Objects fetched for the period, with the records that decide the expected counts below. */
const FETCHED: Record<string, Buffer> = {
  // Margin hour before the period: only the request that finished inside it counts.
  [`cf/${E1}.2026-11-15-23.c1.gz`]: w3c([
    request({ ...at('2026-11-15T23:59:59'), 'c-ip': '192.0.2.1' }),
    request({ ...at('2026-11-16T00:00:05'), 'c-ip': '192.0.2.2' }), // 11-16 macos 18.2.0
  ]),
  [`cf/${E1}.2026-11-16-10.d1.gz`]: w3c([
    r3, // 11-16 windows 18.2.0
    request({ ...at('2026-11-16T10:05:00'), 'c-ip': '192.0.2.3', 'cs-uri-stem': EXE }), // same client, file and day: same download
    request({ ...at('2026-11-16T10:06:00'), 'cs-method': 'HEAD' }),
    request({ ...at('2026-11-16T10:07:00'), 'sc-status': '404', 'c-ip': '192.0.2.20' }),
  ]),
  [`cf/${E1}.2026-11-16-10.d2.gz`]: w3c([
    { ...r3 }, // the same request (x-edge-request-id) in another file: once
    request({ ...at('2026-11-16T10:30:00'), 'c-ip': '192.0.2.4', 'cs-uri-stem': '/teleport-connect_18.2.0_amd64.deb', 'sc-status': '206', 'sc-range-start': '0', 'sc-range-end': '999' }), // 11-16 linux
    request({ ...at('2026-11-16T10:31:00'), 'c-ip': '192.0.2.5', 'cs-uri-stem': '/teleport-connect_18.2.0_amd64.deb', 'sc-status': '206', 'sc-range-start': '1000', 'sc-range-end': '1999' }),
  ]),
  [`cf/${E1}.2026-11-17-08.e1.gz`]: w3c([
    request({ ...at('2026-11-17T08:00:00'), 'c-ip': '192.0.2.6', 'cs-uri-stem': '/Teleport%2520Connect-18.2.0-mac.zip' }), // 11-17 macos update
    request({ ...at('2026-11-17T08:10:00'), 'c-ip': '192.0.2.7', 'cs-uri-stem': '/teleport-connect-18.1.0.x86_64.rpm' }), // 11-17 linux 18.1.0
  ]),
  // Margin hour after the period.
  [`cf/${E1}.2026-11-18-00.f1.gz`]: w3c([
    request({ ...at('2026-11-17T23:59:58'), 'c-ip': '192.0.2.8' }), // 11-17 macos 18.2.0
    request({ ...at('2026-11-18T00:00:10'), 'c-ip': '192.0.2.18' }),
  ]),
  [`cf/${E2}.2026-11-16-12.x1.gz`]: w3c([request({ ...at('2026-11-16T12:00:00'), 'c-ip': '192.0.2.9', 'cs-uri-stem': EXE })]), // 11-16 windows
  // No date in the name: cannot be placed, so it is read (the query filters by each record's time).
  'cf/manual-export.log.gz': w3c([
    request({ ...at('2026-11-16T15:00:00'), 'c-ip': '192.0.2.10' }), // 11-16 macos 18.2.0
    request({ ...at('2026-11-20T15:00:00'), 'c-ip': '192.0.2.19' }),
  ]),
  // Standard logging v2, partitioned {DistributionId}/{yyyy}/{MM}/{dd}/{HH}/.
  [`cf/${E3}/2026/11/16/10/${E3}.2026-11-16-10.p1.gz`]: w3c([
    request({ ...at('2026-11-16T10:20:00'), 'c-ip': '192.0.2.11', 'cs-uri-stem': '/teleport-connect-18.2.0-x64.tar.gz' }), // 11-16 linux
  ]),
  // Hive style, file names without a date: the hour comes from the folder.
  [`cf/${E4}/year=2026/month=11/day=17/hour=03/part-0001.gz`]: w3c([request({ ...at('2026-11-17T03:10:00'), 'c-ip': '192.0.2.12', 'cs-uri-stem': EXE })]), // 11-17 windows
  [`cf/${E4}/year=2026/month=11/day=18/hour=00/part-0002.gz`]: w3c([request({ ...at('2026-11-18T00:20:00'), 'c-ip': '192.0.2.13' })]),
};

const EXPECTED_ROWS = [
  { day: '2026-11-16', platform: 'linux', version: '18.2.0', downloads: 2, updates: 0 },
  { day: '2026-11-16', platform: 'macos', version: '18.2.0', downloads: 2, updates: 0 },
  { day: '2026-11-16', platform: 'windows', version: '18.2.0', downloads: 2, updates: 0 },
  { day: '2026-11-17', platform: 'linux', version: '18.1.0', downloads: 1, updates: 0 },
  { day: '2026-11-17', platform: 'macos', version: '18.2.0', downloads: 1, updates: 1 },
  { day: '2026-11-17', platform: 'windows', version: '18.2.0', downloads: 1, updates: 0 },
];

const bulkKeys = Array.from({ length: BULK }, (_, i) => `cf/${E1}.2026-11-15-05.bulk${String(i).padStart(4, '0')}.gz`);
/** Listed (their day is touched) but outside the period and its one-hour margin: never fetched. */
const OUTSIDE = [
  `cf/${E1}.2026-11-15-22.b1.gz`,
  `cf/${E1}.2026-11-18-01.g1.gz`,
  `cf/${E3}/2026/11/15/22/${E3}.2026-11-15-22.p0.gz`,
  `cf/${E4}/year=2026/month=11/day=18/hour=02/part-0003.gz`,
  ...bulkKeys,
];
/** Never listed: other days, months, years, folders, or not log files. */
const UNLISTED = [
  `cf/${E1}.2026-11-14-10.a1.gz`,
  `cf/${E1}.2026-11-19-10.h1.gz`,
  `cf/${E2}.2026-11-13-00.y1.gz`,
  `cf/${E3}/2026/11/14/10/${E3}.2026-11-14-10.p2.gz`,
  `cf/${E3}/2026/10/31/23/${E3}.2026-10-31-23.p3.gz`,
  `cf/${E3}/2025/12/31/23/${E3}.2025-12-31-23.p4.gz`,
  'cf/other-app/2026/11/16/x.gz',
  'cf/README.md',
  `elsewhere/${E1}.2026-11-16-10.z1.gz`,
];

let standIn: S3StandIn;
let uploader: S3Client;
let work: string;
let engine: ChdbEngine;
const savedEnv: Record<string, string | undefined> = {};

/** A production client for the stand-in, with every command it sends recorded. */
function recordedClient(): { client: S3Client; calls: RecordedCall[] } {
  const client = createS3Client(standIn.clientOptions);
  return { client, calls: recordCalls(client) };
}

const listCalls = (calls: RecordedCall[]) => calls.filter((c) => c.command === 'ListObjectsV2Command');
const fetchedKeys = (calls: RecordedCall[]) => calls.filter((c) => c.command === 'GetObjectCommand').map((c) => String(c.input.Key)).sort();
const sorted = (xs: string[]) => [...xs].sort();

async function put(entries: Array<[string, Buffer]>, concurrency = 16): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < entries.length) {
        const [key, body] = entries[next++]!;
        await uploader.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
      }
    }),
  );
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) out.push(relative(dir, join(entry.parentPath, entry.name)));
  }
  return out.sort();
}

beforeAll(async () => {
  // s3rver accepts only these; the production code reads them through the SDK's default chain.
  for (const name of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE', 'AWS_REGION']) savedEnv[name] = process.env[name];
  process.env.AWS_ACCESS_KEY_ID = 'S3RVER';
  process.env.AWS_SECRET_ACCESS_KEY = 'S3RVER';
  delete process.env.AWS_SESSION_TOKEN;
  delete process.env.AWS_PROFILE;
  delete process.env.AWS_REGION;
  work = await mkdtemp(join(tmpdir(), 's3-logs-test-'));
  standIn = await startS3StandIn({ buckets: [BUCKET] });
  uploader = createS3Client(standIn.clientOptions);
  const tiny = w3c([]);
  await put([
    ...Object.entries(FETCHED),
    ...OUTSIDE.map((k): [string, Buffer] => [k, tiny]),
    ...UNLISTED.map((k): [string, Buffer] => [k, k.endsWith('.md') ? Buffer.from('# not a log\n') : tiny]),
  ]);
  engine = ChdbEngine.open(join(work, 'engine'));
});

afterAll(async () => {
  engine?.close();
  uploader?.destroy();
  await standIn?.close();
  if (work) await rm(work, { recursive: true, force: true });
  for (const [name, value] of Object.entries(savedEnv)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});

describe('fetchS3Logs against an S3-compatible server', () => {
  let result: S3FetchResult;
  let calls: RecordedCall[];
  let dir: string;

  beforeAll(async () => {
    dir = join(work, 'fetched');
    const rec = recordedClient();
    calls = rec.calls;
    result = await fetchS3Logs(URL, PERIOD, dir, { client: rec.client, concurrency: 4, logger: silentLogger });
  });

  it('fetches exactly the objects whose hour can hold requests of the period', () => {
    expect(fetchedKeys(calls)).toEqual(sorted(Object.keys(FETCHED)));
    expect(result.failed).toEqual([]);
    expect(result.outside).toBe(OUTSIDE.length);
    expect(result.listed).toBe(Object.keys(FETCHED).length + OUTSIDE.length);
  });

  it('lists per distribution and day, and per partition day, paginating', () => {
    const lists = listCalls(calls);
    const prefixes = lists.map((c) => String(c.input.Prefix));
    // Discovery under the prefix: one full page of E1's 1000 first keys, then a jump past E1.
    expect(lists.filter((c) => c.input.Prefix === 'cf/')).toEqual([
      { command: 'ListObjectsV2Command', input: { Bucket: BUCKET, Prefix: 'cf/', Delimiter: '/' } },
      { command: 'ListObjectsV2Command', input: { Bucket: BUCKET, Prefix: 'cf/', Delimiter: '/', StartAfter: `cf/${E1}/` } },
    ]);
    const days = ['2026-11-15', '2026-11-16', '2026-11-17', '2026-11-18'];
    const legacy = [...days.map((d) => `cf/${E1}.${d}-`), ...days.map((d) => `cf/${E2}.${d}-`)];
    const partitioned = [
      `cf/${E3}/`, `cf/${E3}/2026/`, `cf/${E3}/2026/11/`, `cf/${E3}/2026/11/15/`, `cf/${E3}/2026/11/16/`,
      `cf/${E4}/`, `cf/${E4}/year=2026/`, `cf/${E4}/year=2026/month=11/`, `cf/${E4}/year=2026/month=11/day=17/`, `cf/${E4}/year=2026/month=11/day=18/`,
    ];
    // The 1,102 keys of E1 on 11-15 take two pages (continuation token); every other prefix one.
    expect(sorted(prefixes)).toEqual(sorted(['cf/', 'cf/', ...legacy, `cf/${E1}.2026-11-15-`, ...partitioned]));
    const second = lists.filter((c) => c.input.Prefix === `cf/${E1}.2026-11-15-`);
    expect(second[0]!.input.ContinuationToken).toBeUndefined();
    expect(typeof second[1]!.input.ContinuationToken).toBe('string');
    expect(lists).toHaveLength(21);
  });

  it('writes each object intact under the folder, mirroring its key, with no temporary files left', async () => {
    expect(result.files.map((f) => relative(dir, f.path))).toEqual(sorted(Object.keys(FETCHED)));
    expect(await filesUnder(dir)).toEqual(sorted(Object.keys(FETCHED)));
    for (const file of result.files) {
      const key = relative(dir, file.path);
      const bytes = await readFile(file.path);
      expect(bytes.equals(FETCHED[key]!), key).toBe(true);
      expect(file.size).toBe(FETCHED[key]!.length);
      expect(file.mtimeMs).toBeGreaterThan(0);
    }
  });

  it('counts downloads over the fetched files as worked out by hand', async () => {
    const logger = memoryLogger();
    const stats = await stageLogFiles(engine, result.files, { logger });
    expect(stats.filter((s) => s.error)).toEqual([]);
    expect(stats.reduce((n, s) => n + s.lines, 0)).toBe(19); // 2+4+3+2+2+1+2+1+1+1 records
    const rows = await runQuery(engine, queries.downloads_daily, {
      from: '2026-11-16 00:00:00.000000',
      to: '2026-11-18 00:00:00.000000',
      timezone: 'UTC',
      hosts: ['cdn.teleport.dev'],
      update_user_agents: [],
    });
    expect(rows).toEqual(EXPECTED_ROWS);
  });

  it('accepts the prefix without its trailing slash, and keeps to the concurrency', async () => {
    const { client, calls: rec } = recordedClient();
    let active = 0;
    let peak = 0;
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName !== 'GetObjectCommand') return next(args);
        active += 1;
        peak = Math.max(peak, active);
        await new Promise((r) => setTimeout(r, 20));
        try {
          const out = await next(args);
          const body = (out.output as { Body?: NodeJS.ReadableStream }).Body;
          if (body) body.once('close', () => (active -= 1));
          else active -= 1;
          return out;
        } catch (error) {
          active -= 1;
          throw error;
        }
      },
      { step: 'initialize', name: 'countActive' },
    );
    const again = await fetchS3Logs(`s3://${BUCKET}/cf`, PERIOD, join(work, 'again'), { client, concurrency: 2, logger: silentLogger });
    expect(fetchedKeys(rec)).toEqual(sorted(Object.keys(FETCHED)));
    expect(again.files.map((f) => relative(join(work, 'again'), f.path))).toEqual(sorted(Object.keys(FETCHED)));
    expect(listCalls(rec)).toHaveLength(22); // one more: `cf` -> `cf/`
    expect(peak).toBe(2);
  });
});

describe('failures', () => {
  it('reports an object that keeps failing, retries a passing failure, and fetches the rest', async () => {
    const { client, calls } = recordedClient();
    const broken = `cf/${E1}.2026-11-16-10.d2.gz`;
    const flaky = `cf/${E2}.2026-11-16-12.x1.gz`;
    const denied = `cf/${E1}.2026-11-17-08.e1.gz`;
    let flakyFailures = 0;
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const key = (args.input as { Key?: string }).Key;
        if (context.commandName !== 'GetObjectCommand') return next(args);
        if (key === flaky && flakyFailures++ === 0) throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
        if (key === denied) throw Object.assign(new Error('Access Denied'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
        const out = await next(args);
        if (key === broken) {
          // The connection breaks in the middle of the body.
          const body = new PassThrough();
          body.write(Buffer.from([0x1f, 0x8b, 0x08]));
          setTimeout(() => body.destroy(new Error('aborted: connection reset mid-body')), 5);
          (out.output as { Body?: unknown }).Body = body;
        }
        return out;
      },
      { step: 'initialize', name: 'faults' },
    );
    const logger = memoryLogger();
    const dir = join(work, 'faults');
    const result = await fetchS3Logs(URL, PERIOD, dir, { client, concurrency: 3, logger });
    expect(result.failed).toEqual([
      { key: broken, error: expect.stringContaining('connection reset mid-body') },
      { key: denied, error: expect.stringContaining(`s3:GetObject on arn:aws:s3:::${BUCKET}/${denied}`) },
    ]);
    const attempts = (key: string) => calls.filter((c) => c.command === 'GetObjectCommand' && c.input.Key === key).length;
    expect(attempts(broken)).toBe(3); // retried twice
    expect(attempts(denied)).toBe(1); // permanent: not retried
    expect(attempts(flaky)).toBe(2);
    const expected = sorted(Object.keys(FETCHED).filter((k) => k !== broken && k !== denied));
    expect(result.files.map((f) => relative(dir, f.path))).toEqual(expected);
    expect(await filesUnder(dir)).toEqual(expected); // no partial or temporary file left behind
    expect(result.listed).toBe(Object.keys(FETCHED).length + OUTSIDE.length);
    const warnings = logger.records.filter((r) => r.level === 'warn').map((r) => r.msg);
    expect(warnings).toHaveLength(2);
    expect(warnings).toEqual(expect.arrayContaining([expect.stringContaining(broken), expect.stringContaining(denied)]));
  });

  it('names a missing bucket', async () => {
    const error = await fetchS3Logs('s3://no-such-bucket/cf/', PERIOD, join(work, 'x'), { ...standIn.clientOptions, logger: silentLogger }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(S3SourceError);
    expect(error).toMatchObject({ code: 'NoSuchBucket', bucket: 'no-such-bucket' });
    expect((error as Error).message).toContain('the bucket no-such-bucket does not exist');
  });

  it('says which credentials were refused and what permission is needed', async () => {
    process.env.AWS_ACCESS_KEY_ID = 'AKIAWRONGKEY';
    try {
      const error = await fetchS3Logs(URL, PERIOD, join(work, 'y'), { ...standIn.clientOptions, logger: silentLogger }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(S3SourceError);
      expect(error).toMatchObject({ code: 'AccessDenied', bucket: BUCKET });
      expect((error as Error).message).toMatch(/access denied \(InvalidAccessKeyId\).*access key AKIAWRONGKEY/);
      expect((error as S3SourceError).hint).toContain(`s3:ListBucket on arn:aws:s3:::${BUCKET}`);
      expect((error as S3SourceError).hint).toContain('s3:GetObject');
    } finally {
      process.env.AWS_ACCESS_KEY_ID = 'S3RVER';
    }
  });

  it('rejects malformed URLs with a usage error', async () => {
    for (const url of ['s3://', 's3:///cf/', 's3://Bad_Bucket/cf/', 's3://logs/cf/*.gz', 's3://ab/']) {
      expect(() => parseS3Url(url), url).toThrow(S3UrlError);
      const error = await fetchS3Logs(url, PERIOD, join(work, 'z'), { logger: silentLogger }).catch((e: unknown) => e);
      expect(error, url).toBeInstanceOf(UsageError);
    }
    expect(parseS3Url('s3://logs')).toEqual({ bucket: 'logs', prefix: '' });
    expect(parseS3Url('s3://my.logs-1/cf/v2/')).toEqual({ bucket: 'my.logs-1', prefix: 'cf/v2/' });
    expect(isS3Url('s3://logs/cf/')).toBe(true);
    expect(isS3Url('S3://logs')).toBe(true);
    expect(isS3Url('./logs/s3://x')).toBe(false);
    expect(isS3Url('/var/logs')).toBe(false);
  });
});
