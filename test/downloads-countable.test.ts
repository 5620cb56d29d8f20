/**
 * Issue 14 point 3: no silent zero from CDN logs. A log file whose field list lacks a field the
 * counting rules need, or whose header is not a CloudFront field list, is "not countable" with the
 * missing field named (log_files.csv, the digest's data-quality line, stderr); when no file can be
 * counted the run fails. Standard logging v2 Parquet is read with either column naming
 * (`cs-uri-stem` or AWS Athena's `cs_uri_stem`), and v2 W3C and plain files with the configured
 * field delimiter (reference cloudfront-logs.md, "Standard logging v2 details that bite").
 * Expected values are written by hand from the records below.
 */
import { describe, expect, it } from 'vitest';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { parseCsv, runCli, tempDir, writeExport } from './helpers/fixtures.ts';
import { request, writePlain, writeW3c, type LogRecord } from './helpers/cdn-logs.ts';
import { LEGACY_FIELDS, fieldKey, inspectLogHead, notCountableReason } from '../src/sources/cloudfront/formats.ts';
import { ChdbEngine } from '../src/engine/chdb-engine.ts';

const WEEK = '2026-W47'; // Mon 2026-11-16 .. Sun 2026-11-22

const sql = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/** A Parquet log with the given column names (values from the records by CloudFront name). */
async function writeParquet(path: string, records: LogRecord[], columns: Array<[column: string, field: string]>): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const structure = columns.map(([c]) => `\`${c}\` String`).join(', ');
  const rows = records.map((r) => JSON.stringify(Object.fromEntries(columns.map(([c, f]) => [c, r[f] ?? '-']))));
  const engine = ChdbEngine.open(await tempDir('cm-dl-pq-'));
  try {
    await engine.exec(`INSERT INTO FUNCTION file(${sql(path)}, 'Parquet', ${sql(structure)}) SELECT * FROM format(JSONEachRow, ${sql(structure)}, ${sql(rows.join('\n'))})`);
  } finally {
    engine.close();
  }
}

async function run(logs: string, config: object = {}) {
  const dir = await tempDir('cm-dl-countable-');
  await writeExport(join(dir, 'events', 'e.jsonl'), [{ event: 'connect.app_launched', distinct_id: 'inst-1', timestamp: '2026-11-17T10:00:00Z' }]);
  await writeFile(join(dir, 'config.json'), JSON.stringify(config));
  const out = join(dir, 'out');
  const cli = await runCli(['report', '--week', WEEK, '--events', join(dir, 'events'), '--downloads', logs, '--out', out, '--data-dir', join(dir, 'data'), '--config', join(dir, 'config.json')]);
  return { cli, out };
}

describe('CDN log files that cannot be counted are named, never read as zero', () => {
  it('names the missing field or the foreign header, counts the other files, reads both Parquet namings and a configured delimiter', async () => {
    const logs = await tempDir('cm-dl-logs-');
    // counted: two macOS downloads (legacy gzip W3C)
    await writeW3c(join(logs, 'cf/E2ABC.2026-11-17-10.aaaa.gz'), [request({ 'c-ip': '192.0.2.10' }), request({ 'c-ip': '192.0.2.11' })]);
    // not countable: a v2 W3C field list without cs-uri-stem (its request would be a download)
    const noStem = LEGACY_FIELDS.filter((f) => f !== 'cs-uri-stem');
    await writeW3c(join(logs, 'v2/no-stem.log'), [request({ 'c-ip': '192.0.2.12' })], noStem);
    // not countable: a #Fields header that is no CloudFront field list
    await writeFile(join(logs, 'v2/other.log'), '#Version: 1.0\n#Fields: foo bar baz\nteleport-connect 1 2\n');
    // counted: v2 Parquet, Athena's underscore column names: one Windows download
    const underscore = ['date', 'time', 'c-ip', 'cs-method', 'cs-uri-stem', 'sc-status', 'cs(User-Agent)', 'x-edge-request-id', 'x-host-header', 'sc-range-start'];
    await writeParquet(
      join(logs, 'pq/part-0001.parquet'),
      [request({ 'c-ip': '192.0.2.20', 'cs-uri-stem': '/Teleport%20Connect%20Setup-18.2.0.exe' })],
      underscore.map((f) => [fieldKey(f), f]),
    );
    expect(underscore.map(fieldKey)).toContain('cs_user_agent');
    // counted: v2 W3C and plain with the configured delimiter `|`: two Linux downloads
    const w3cFields = ['date', 'time', 'c-ip', 'cs-method', 'cs-uri-stem', 'sc-status', 'cs(User-Agent)', 'x-edge-request-id', 'sc-range-start', 'x-host-header'];
    const r = request({ 'c-ip': '192.0.2.30', 'cs-uri-stem': '/teleport-connect_18.2.0_amd64.deb' });
    await writeFile(join(logs, 'v2/pipe.log'), `#Version: 1.0\n#Fields: ${w3cFields.join(' ')}\n${w3cFields.map((f) => r[f]).join('|')}\n`);
    await writePlain(join(logs, 'v2/pipe.txt'), [request({ 'c-ip': '192.0.2.31', 'cs-uri-stem': '/teleport-connect-18.2.0.x86_64.rpm' })], '|');

    const { cli, out } = await run(logs, { downloads: { fieldDelimiter: '|' } });
    expect(cli.code, cli.stderr).toBe(0);
    const downloads = parseCsv(await readFile(join(out, 'downloads.csv'), 'utf8'));
    expect(downloads).toEqual([
      ['date', 'platform', 'version', 'downloads', 'updates'],
      ['2026-11-17', 'linux', '18.2.0', '2', '0'],
      ['2026-11-17', 'macos', '18.2.0', '2', '0'],
      ['2026-11-17', 'windows', '18.2.0', '1', '0'],
    ]);
    const files = parseCsv(await readFile(join(out, 'log_files.csv'), 'utf8'));
    const row = (name: string) => files.find((f) => f[0]!.endsWith(name))!;
    expect(row('no-stem.log')[4]).toMatch(/^not countable: no cs-uri-stem field/);
    expect(row('other.log')[4]).toMatch(/^not countable: .*foo bar baz.* not a CloudFront field list/);
    expect(row('aaaa.gz').slice(1)).toEqual(['w3c', '2', '0', '']);
    expect(row('part-0001.parquet').slice(1)).toEqual(['parquet', '1', '0', '']);
    expect(row('pipe.log').slice(1)).toEqual(['w3c', '1', '0', '']);
    expect(row('pipe.txt').slice(1)).toEqual(['plain', '1', '0', '']);
    // stderr and the digest's data-quality line name the field too
    expect(cli.stderr).toMatch(/no-stem\.log: not countable: no cs-uri-stem field/);
    expect(cli.stderr).toMatch(/other\.log: not countable/);
    expect(cli.stdout).toMatch(/2 not countable \(no cs-uri-stem field/);
  });

  it('fails the run (exit 1, one line naming file and field) when no file could be counted', async () => {
    const logs = await tempDir('cm-dl-none-');
    await writeW3c(join(logs, 'v2/a.log'), [request()], LEGACY_FIELDS.filter((f) => f !== 'sc-status'));
    const { cli, out } = await run(logs);
    expect(cli.code).toBe(1);
    expect(cli.stderr).toMatch(/^error: --downloads: none of the 1 log file could be counted; .*a\.log: not countable: no sc-status field/m);
    expect(cli.stderr).not.toMatch(/\n\s+at /);
    await expect(readFile(join(out, 'summary.csv'), 'utf8')).rejects.toThrow(/ENOENT/);
  });

  it('tells which field is missing, and when a configured host filter needs x-host-header', () => {
    expect(notCountableReason(LEGACY_FIELDS)).toBeUndefined();
    expect(notCountableReason(LEGACY_FIELDS.filter((f) => f !== 'c-ip' && f !== 'cs(User-Agent)'))).toBe(
      'not countable: no c-ip, no cs(User-Agent) fields (the counting rules need them)',
    );
    const noHost = LEGACY_FIELDS.filter((f) => f !== 'x-host-header');
    expect(notCountableReason(noHost)).toBeUndefined();
    expect(notCountableReason(noHost, { needsHost: true })).toMatch(/no x-host-header/);
    expect(notCountableReason(['timestamp', 'c_ip', 'cs_method', 'cs_uri_stem', 'sc_status', 'cs_user_agent', 'sc_range_start'])).toBeUndefined();
    // a plain file whose lines do not have the plain field list's number of fields is no plain CloudFront log
    const info = inspectLogHead('x.txt', gzipSync('a\tb\tc\n'));
    expect(info.notCountable).toMatch(/first line has 3 fields where the plain field list \(downloads.plainFields\) has 33/);
  });
});
