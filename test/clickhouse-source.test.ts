/**
 * Past one machine: `report --source clickhouse://...` runs the same query files on a ClickHouse
 * server (the loopback stand-in of ClickHouse's HTTP interface, executing on the embedded engine),
 * over PostHog export files it reads from S3 (s3rver) itself, or over an `events` table of the
 * store's shape. Every report CSV must equal `--source files` over the same files.
 */
import { join } from 'node:path';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startS3StandIn, type S3StandIn } from './standins/s3/index.ts';
import { startClickHouseStandIn, type ClickHouseStandIn } from './standins/clickhouse/index.ts';
import { parseCsv, runCli, tempDir, writeExport } from './helpers/fixtures.ts';
import { useAwsCredentials } from './helpers/aws-env.ts';
import { writeDemoExport } from '../src/demo/generator.ts';
import { EVENTS_COLUMNS } from '../src/sources/event-store.ts';

let s3: S3StandIn;
let ch: ClickHouseStandIn;
let restoreEnv: (() => void) | undefined;
let dir: string;
let config: string;

/** The CSVs that hold the report's figures (data_quality.csv names the files, which differ by source). */
const FIGURES = (names: string[]) => names.filter((n) => n.endsWith('.csv') && n !== 'data_quality.csv').sort();

beforeAll(async () => {
  [s3, ch] = await Promise.all([startS3StandIn({ buckets: ['exports'] }), startClickHouseStandIn({ password: 'pw' })]);
  restoreEnv = useAwsCredentials(s3.credentials);
  dir = await tempDir();
  // Three weeks of a small installed base (with the generator's bad records and duplicates), plus
  // a hand-made file with one record of each reject reason and a uuid repeated across files.
  await writeDemoExport(join(dir, 'local'), {
    seed: 11,
    start: new Date('2026-11-02T00:00:00Z'),
    end: new Date('2026-11-23T00:00:00Z'),
    installations: 150,
    badRecords: true,
  });
  await writeExport(join(dir, 'local', 'extra', 'hand.jsonl'), [
    { uuid: 'h-1', event: 'connect.cluster.login', distinct_id: 'hand-a', timestamp: '2026-11-17T10:00:00Z', properties: { 'connect.os': 'linux' } },
    '{"uuid": "h-2", "event": "connect.cluster.login"', // bad JSON, line 2
    { uuid: 'h-3', event: 'connect.cluster.login', timestamp: '2026-11-17T10:00:00Z' }, // no distinct_id
    { uuid: 'h-4', event: 'connect.cluster.login', distinct_id: 'hand-b', timestamp: 'yesterday' }, // bad timestamp
  ]);
  await writeExport(join(dir, 'local', 'extra', 'again.jsonl.gz'), [
    { uuid: 'h-1', event: 'connect.cluster.login', distinct_id: 'hand-a', timestamp: '2026-11-17T10:00:00Z', properties: { 'connect.os': 'linux' } },
  ]);
  const client = new S3Client({ ...s3.clientOptions, credentials: s3.credentials, requestChecksumCalculation: 'WHEN_REQUIRED' });
  const walk = async (sub: string): Promise<string[]> => {
    const out: string[] = [];
    for (const e of await readdir(join(dir, 'local', sub), { withFileTypes: true })) {
      const rel = sub ? `${sub}/${e.name}` : e.name;
      if (e.isDirectory()) out.push(...(await walk(rel)));
      else out.push(rel);
    }
    return out;
  };
  for (const rel of await walk('')) {
    await client.send(new PutObjectCommand({ Bucket: 'exports', Key: `posthog/${rel}`, Body: await readFile(join(dir, 'local', rel)) }));
  }
  config = join(dir, 'config.json');
  await writeFile(config, JSON.stringify({ downloads: { s3: { endpoint: s3.endpoint, forcePathStyle: true, region: 'us-east-1' }, clickhouse: { passCredentials: true } } }));
}, 120_000);

afterAll(async () => {
  restoreEnv?.();
  await Promise.all([s3?.close(), ch?.close()]);
});

async function report(name: string, extra: string[]): Promise<string> {
  const out = join(dir, `out-${name}`);
  const run = await runCli(['report', '--week', '2026-W47', '--data-dir', join(dir, `data-${name}`), '--config', config, '--sinks', 'csv', '--out', out, ...extra]);
  expect(run.code, run.stderr).toBe(0);
  expect(run.stderr).not.toContain(':pw@');
  return out;
}

async function expectSameFigures(a: string, b: string): Promise<void> {
  const names = FIGURES(await readdir(a));
  expect(names.length).toBeGreaterThan(5);
  expect(FIGURES(await readdir(b))).toEqual(names);
  for (const n of names) expect(await readFile(join(b, n), 'utf8'), n).toBe(await readFile(join(a, n), 'utf8'));
}

describe('report --source clickhouse://', () => {
  const url = () => `clickhouse://default:pw@127.0.0.1:${new URL(ch.url).port}`;

  it('over export files in S3, read by the server with s3(): the same CSVs as --source files, the same rejects', async () => {
    const local = await report('files', ['--source', 'files', '--events', join(dir, 'local')]);
    const server = await report('s3', ['--source', `${url()}/default`, '--events', 's3://exports/posthog/']);
    await expectSameFigures(local, server);
    // The rejects are counted per object as per file: same reasons, same line numbers.
    const dq = (d: string) => readFile(join(d, 'data_quality.csv'), 'utf8').then(parseCsv);
    const [l, s] = [await dq(local), await dq(server)];
    const key = (rows: string[][]) => rows.slice(1).map((r) => r.map((c) => c.replace(/^s3:\/\/exports\/posthog\//, '').replace(join(dir, 'local') + '/', '')).join('|')).sort();
    expect(key(s)).toEqual(key(l));
    expect(key(s).some((r) => r.includes('extra/hand.jsonl'))).toBe(true);
    // The server did the reading.
    expect((await ch.requests()).some((r) => /s3\(/.test(r.query))).toBe(true);
  }, 120_000);

  it('over an events table shaped like the store\'s: the same CSVs', async () => {
    // A plain events table (EVENTS_COLUMNS only) filled on the server from the loaded exports.
    const client = createClient({ url: ch.url, username: 'default', password: 'pw' });
    try {
      await client.command({ query: 'CREATE DATABASE IF NOT EXISTS analytics' });
      await client.command({ query: `CREATE TABLE analytics.events (${EVENTS_COLUMNS}) ENGINE = MergeTree ORDER BY (event, timestamp)` });
      await client.command({
        query: `INSERT INTO analytics.events SELECT uuid, event, distinct_id, person_id, properties, \`person.properties\`, timestamp, created_at, elements_chain
                FROM connect_metrics_events.events`,
      });
    } finally {
      await client.close();
    }
    const local = join(dir, 'out-files');
    const server = await report('table', ['--source', `${url()}/analytics`]);
    await expectSameFigures(local, server);
  }, 120_000);

  it('names what is wrong: no events table, local paths with a server', async () => {
    const none = await runCli(['report', '--week', '2026-W47', '--data-dir', join(dir, 'data-x'), '--config', config, '--source', `${url()}/nothing_here`]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/no (table events in )?database nothing_here/);
    expect(none.stderr).not.toContain(':pw@');
    const localPaths = await runCli(['report', '--week', '2026-W47', '--data-dir', join(dir, 'data-x'), '--source', `${url()}/default`, '--events', join(dir, 'local')]);
    expect(localPaths.code).toBe(2);
    expect(localPaths.stderr).toMatch(/give exactly one s3:\/\/bucket\/prefix/);
  });
});
