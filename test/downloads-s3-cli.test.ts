/**
 * `report --downloads s3://bucket/prefix` end to end: the CLI lists and fetches the period's log
 * objects from an S3-compatible server on loopback (s3rver), then counts them like local files.
 */
import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startS3StandIn, type S3StandIn } from './standins/s3/index.ts';
import { parseCsv, runCli, tempDir, writeExport } from './helpers/fixtures.ts';
import { useAwsCredentials } from './helpers/aws-env.ts';
import { request, writeW3c } from './helpers/cdn-logs.ts';

let s3: S3StandIn;
let restoreEnv: (() => void) | undefined;

beforeAll(async () => {
  s3 = await startS3StandIn({ buckets: ['logs'] });
  // The production client takes credentials from the standard AWS chain: here, the environment.
  restoreEnv = useAwsCredentials(s3.credentials);
}, 60_000);
afterAll(async () => {
  restoreEnv?.();
  await s3?.close();
});

describe('report --downloads s3://', () => {
  it('counts the period\'s objects, skips the others, and reports the same as from a folder', async () => {
    const dir = await tempDir();
    const client = new S3Client({ ...s3.clientOptions, credentials: s3.credentials, requestChecksumCalculation: 'WHEN_REQUIRED' });
    const put = async (key: string, path: string) => client.send(new PutObjectCommand({ Bucket: 'logs', Key: key, Body: await readFile(path) }));
    // W47 (the report week) and W46; one object a month earlier that must not even be fetched.
    const cases: Array<[string, string, Parameters<typeof request>[0]]> = [
      ['cf/E1ABC.2026-11-17-10.a1.gz', '2026-11-17', { 'c-ip': '10.0.0.1' }],
      ['cf/E1ABC.2026-11-18-09.b2.gz', '2026-11-18', { 'c-ip': '10.0.0.2', 'cs-uri-stem': '/Teleport%20Connect%20Setup-18.2.0.exe' }],
      ['cf/E1ABC.2026-11-10-12.c3.gz', '2026-11-10', { 'c-ip': '10.0.0.3' }],
      ['cf/E1ABC.2026-10-01-12.d4.gz', '2026-10-01', { 'c-ip': '10.0.0.4' }],
    ];
    for (const [key, date, overrides] of cases) {
      const local = await writeW3c(join(dir, 'local', key), [request({ date, ...overrides })]);
      await put(key, local);
    }
    await writeExport(join(dir, 'ev', 'e.jsonl'), [{ event: 'connect.cluster.login', distinct_id: 'a', timestamp: '2026-11-17T10:00:00Z' }]);
    const config = join(dir, 'config.json');
    await (await import('node:fs/promises')).writeFile(
      config,
      JSON.stringify({ downloads: { s3: { endpoint: s3.endpoint, forcePathStyle: true, region: 'us-east-1' } } }),
    );
    const common = ['report', '--week', '2026-W47', '--events', join(dir, 'ev'), '--data-dir', join(dir, 'data'), '--config', config];
    const fromS3 = await runCli([...common, '--downloads', 's3://logs/cf/', '--out', join(dir, 'out-s3')]);
    expect(fromS3.code, fromS3.stderr).toBe(0);
    // The October object is not even listed: only the days the period touches are.
    expect(fromS3.stderr).toMatch(/s3:\/\/logs\/cf\/: 3 log objects listed for the period .*; fetched 3 /);
    const fromFolder = await runCli([...common, '--downloads', join(dir, 'local'), '--out', join(dir, 'out-local')]);
    expect(fromFolder.code, fromFolder.stderr).toBe(0);
    for (const f of ['downloads.csv', 'summary.csv', 'platforms.csv']) {
      expect(await readFile(join(dir, 'out-s3', f), 'utf8')).toBe(await readFile(join(dir, 'out-local', f), 'utf8'));
    }
    // By hand: W47 has one macOS and one Windows download, W46 one macOS download.
    expect(parseCsv(await readFile(join(dir, 'out-s3', 'downloads.csv'), 'utf8'))).toEqual([
      ['date', 'platform', 'version', 'downloads', 'updates'],
      ['2026-11-17', 'macos', '18.2.0', '1', '0'],
      ['2026-11-18', 'windows', '18.2.0', '1', '0'],
    ]);
    const summary = parseCsv(await readFile(join(dir, 'out-s3', 'summary.csv'), 'utf8'));
    expect(summary.find((r) => r[0] === 'downloads')).toEqual(['downloads', '2', '1', '1']);
  });

  it('a bucket that does not exist is a clear error', async () => {
    const dir = await tempDir();
    await writeExport(join(dir, 'ev', 'e.jsonl'), [{ event: 'connect.cluster.login', distinct_id: 'a', timestamp: '2026-11-17T10:00:00Z' }]);
    const config = join(dir, 'config.json');
    await (await import('node:fs/promises')).writeFile(config, JSON.stringify({ downloads: { s3: { endpoint: s3.endpoint, forcePathStyle: true } } }));
    const run = await runCli(['report', '--week', '2026-W47', '--events', join(dir, 'ev'), '--data-dir', join(dir, 'data'), '--config', config, '--downloads', 's3://no-such-bucket/x', '--out', join(dir, 'o')]);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/no-such-bucket/);
  });
});
