/**
 * Scale-out: `report --engine clickhouse://... --downloads s3://...` counts on a ClickHouse server
 * (the loopback stand-in of ClickHouse's HTTP interface, executing on the embedded engine) that
 * reads the logs from S3 (s3rver) itself. The counts must equal the local path's.
 */
import { join } from 'node:path';
import { readFile, writeFile } from 'node:fs/promises';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startS3StandIn, type S3StandIn } from './standins/s3/index.ts';
import { startClickHouseStandIn, type ClickHouseStandIn } from './standins/clickhouse/index.ts';
import { parseCsv, runCli, tempDir, writeExport } from './helpers/fixtures.ts';
import { useAwsCredentials } from './helpers/aws-env.ts';
import { request, writeJsonLog, writeW3c } from './helpers/cdn-logs.ts';

let s3: S3StandIn;
let ch: ClickHouseStandIn;
let restoreEnv: (() => void) | undefined;

beforeAll(async () => {
  [s3, ch] = await Promise.all([startS3StandIn({ buckets: ['logs'] }), startClickHouseStandIn({ password: 'secret-pw' })]);
  restoreEnv = useAwsCredentials(s3.credentials);
}, 60_000);
afterAll(async () => {
  restoreEnv?.();
  await Promise.all([s3?.close(), ch?.close()]);
});

describe('report --engine clickhouse://', () => {
  it('counts on the server from S3 exactly as the embedded engine counts local files', async () => {
    const dir = await tempDir();
    const client = new S3Client({ ...s3.clientOptions, credentials: s3.credentials, requestChecksumCalculation: 'WHEN_REQUIRED' });
    const dup = request({ 'c-ip': '10.9.9.9', 'cs-uri-stem': '/teleport-connect_18.10.0_amd64.deb' });
    const files: Array<[string, () => Promise<string>]> = [
      ['cf/E1ABC.2026-11-17-10.a1.gz', () => writeW3c(join(dir, 'local', 'cf/E1ABC.2026-11-17-10.a1.gz'), [
        request({ 'c-ip': '10.0.0.1' }),
        request({ 'c-ip': '10.0.0.1' }), // same IP, UA, path and day: one download
        request({ 'c-ip': '10.0.0.2', 'cs-uri-stem': '/Teleport%20Connect-18.2.0-mac.zip' }),
        request({ 'c-ip': '10.0.0.3', 'cs-method': 'HEAD' }),
        request({ 'c-ip': '10.0.0.4', 'sc-status': '206', 'sc-range-start': '1048576' }),
        dup,
        'a broken line',
      ])],
      ['cf/E1ABC.2026-11-18-09.b2.gz', () => writeW3c(join(dir, 'local', 'cf/E1ABC.2026-11-18-09.b2.gz'), [
        request({ date: '2026-11-18', 'c-ip': '10.0.0.5', 'cs-uri-stem': '/Teleport%20Connect%20Setup-18.2.0.exe', 'cs(User-Agent)': 'electron-builder%2F24.13.3' }),
        dup, // the same request id again, in another file: counts once
      ])],
      ['cf/E1ABC.2026-11-10-12.c3.gz', () => writeW3c(join(dir, 'local', 'cf/E1ABC.2026-11-10-12.c3.gz'), [request({ date: '2026-11-10', 'c-ip': '10.0.0.6' })])],
      ['cf/E1ABC.2026-11-19-08.d4.json', () => writeJsonLog(join(dir, 'local', 'cf/E1ABC.2026-11-19-08.d4.json'), [request({ date: '2026-11-19', 'c-ip': '10.0.0.7' })])],
    ];
    for (const [key, write] of files) {
      const path = await write();
      await client.send(new PutObjectCommand({ Bucket: 'logs', Key: key, Body: await readFile(path) }));
    }
    await writeExport(join(dir, 'ev', 'e.jsonl'), [{ event: 'connect.cluster.login', distinct_id: 'a', timestamp: '2026-11-17T10:00:00Z' }]);
    const config = join(dir, 'config.json');
    await writeFile(
      config,
      JSON.stringify({ downloads: { s3: { endpoint: s3.endpoint, forcePathStyle: true, region: 'us-east-1' }, clickhouse: { passCredentials: true } } }),
    );
    const chPort = new URL(ch.url).port;
    const common = ['report', '--week', '2026-W47', '--events', join(dir, 'ev'), '--data-dir', join(dir, 'data'), '--config', config];
    const server = await runCli([...common, '--downloads', 's3://logs/cf/', '--engine', `clickhouse://default:secret-pw@127.0.0.1:${chPort}/default`, '--out', join(dir, 'out-server')]);
    expect(server.code, server.stderr).toBe(0);
    expect(server.stderr).toMatch(/counted on clickhouse:\/\/default:\*\*\*@127\.0\.0\.1/);
    expect(server.stderr).not.toContain('secret-pw');
    const local = await runCli([...common, '--downloads', join(dir, 'local'), '--out', join(dir, 'out-local')]);
    expect(local.code, local.stderr).toBe(0);
    for (const f of ['downloads.csv', 'summary.csv', 'platforms.csv']) {
      expect(await readFile(join(dir, 'out-server', f), 'utf8'), f).toBe(await readFile(join(dir, 'out-local', f), 'utf8'));
    }
    // By hand: W47 macOS 18.2.0 one download (10.0.0.1) and one update (mac.zip); Windows one update
    // (electron-builder); Linux 18.10.0 one download (the duplicated request); Nov 19 macOS one download.
    expect(parseCsv(await readFile(join(dir, 'out-server', 'downloads.csv'), 'utf8'))).toEqual([
      ['date', 'platform', 'version', 'downloads', 'updates'],
      ['2026-11-17', 'linux', '18.10.0', '1', '0'],
      ['2026-11-17', 'macos', '18.2.0', '1', '1'],
      ['2026-11-18', 'windows', '18.2.0', '0', '1'],
      ['2026-11-19', 'macos', '18.2.0', '1', '0'],
    ]);
    // The broken line is counted per object, named as s3://bucket/key.
    const logFiles = parseCsv(await readFile(join(dir, 'out-server', 'log_files.csv'), 'utf8'));
    expect(logFiles.find((r) => r[0] === 's3://logs/cf/E1ABC.2026-11-17-10.a1.gz')?.slice(1, 4)).toEqual(['w3c', '7', '1']);
    // The server did the reading: its request log shows s3() statements.
    expect((await ch.requests()).some((r) => /s3\(/.test(r.query))).toBe(true);
  });

  it('needs exactly one s3:// location, and says so', async () => {
    const run = await runCli(['report', '--week', '2026-W47', '--events', '/x', '--engine', 'clickhouse://127.0.0.1:1/default']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--engine counts downloads on a ClickHouse server: it needs --downloads s3:\/\/bucket\/prefix/);
  });
});
