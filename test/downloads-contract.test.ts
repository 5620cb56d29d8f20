/**
 * Contract check of installer-download counting: hand-built CloudFront log files (legacy gzip W3C
 * and standard logging v2 w3c, json, plain, parquet) run through the CLI, and every cell of
 * downloads.csv, of the download columns of platforms.csv, of the download rows of summary.csv
 * and of log_files.csv compared with test/reference/downloads-reference.ts (an independent plain
 * computation written from the contract alone); small cases are also checked against values
 * written by hand.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { parseCsv, runCli, tempDir, writeExport } from './helpers/fixtures.ts';
import { request, writeJsonLog, writePlain, writeW3c, type LogRecord } from './helpers/cdn-logs.ts';
import { LEGACY_FIELDS } from '../src/sources/cloudfront/formats.ts';
import { ChdbEngine } from '../src/engine/chdb-engine.ts';
import {
  PLATFORM_ROWS,
  compareVersions,
  downloadsReference,
  fullyDecode,
  parseInstaller,
  type CdnRecord,
  type DownloadsReference,
} from './reference/downloads-reference.ts';
import { mulberry32 } from './helpers/random.ts';

const WEEK = '2026-W47'; // Mon 2026-11-16 .. Sun 2026-11-22; the week before: 2026-11-09 .. 2026-11-15
const LA = 'America/Los_Angeles'; // PST (UTC-8) all November 2026: local Monday 00:00 = 08:00 UTC
const KOLKATA = 'Asia/Kolkata'; // UTC+5:30

// ---------------------------------------------------------------------------------------------
// Records and log files

/** A request (helpers' defaults: 2026-11-17 10:00:00 UTC, 200 GET of `/Teleport%2520Connect-18.2.0.dmg`). */
function rec(overrides: CdnRecord = {}): CdnRecord {
  const base = request() as CdnRecord;
  return { ...base, ...overrides };
}

const MOZ_MAC = 'Mozilla/5.0%20(Macintosh;%20Intel%20Mac%20OS%20X%2010_15_7)';
const MOZ_WIN = 'Mozilla/5.0%20(Windows%20NT%2010.0;%20Win64;%20x64)';
const EB = 'electron-builder%2F24.13.3';

type Kind = 'legacy' | 'v2-w3c' | 'json' | 'plain' | 'parquet' | 'garbage-gz' | 'truncated-gz';

interface LogFile {
  /** Path below the logs folder. */
  path: string;
  kind: Kind;
  records: CdnRecord[];
  /** Unparsable raw lines (written after the first record; plain: at the end). */
  bad?: string[];
  /** The file's own field list (v2 w3c, json, parquet); default: the legacy list. */
  fields?: string[];
  /** W3C: every record line ends with one empty column. */
  trailingEmpty?: boolean;
}

const V2_W3C_FIELDS = [
  'x-edge-request-id', 'cs(User-Agent)', 'sc-range-start', 'c-ip', 'date', 'x-host-header', 'sc-status',
  'cs-uri-stem', 'time', 'cs-method', 'sc-bytes', 'x-edge-location', 'c-country',
];
const JSON_FIELDS = [
  'date', 'time', 'c-ip', 'cs-method', 'cs-uri-stem', 'sc-status', 'cs(User-Agent)', 'x-edge-request-id',
  'x-host-header', 'sc-range-start', 'sc-range-end', 'x-edge-location', 'DistributionId',
];
const PARQUET_FIELDS = [
  'cs-uri-stem', 'date', 'time', 'sc-status', 'c-ip', 'cs(User-Agent)', 'cs-method', 'x-host-header',
  'x-edge-request-id', 'sc-range-start', 'sc-bytes',
];
const PARQUET_TYPES: Record<string, string> = { 'sc-status': 'Int32', 'sc-range-start': 'Nullable(Int64)', 'sc-bytes': 'Int64' };

/** The helpers' string form: numbers as text, null/undefined as `-`. */
function asStrings(r: CdnRecord): LogRecord {
  const out: LogRecord = {};
  for (const [k, v] of Object.entries(r)) out[k] = v === null || v === undefined ? '-' : String(v);
  return out;
}

function w3cLine(r: CdnRecord, fields: string[] = LEGACY_FIELDS): string {
  const s = asStrings(r);
  return fields.map((f) => s[f] ?? '-').join('\t');
}

const sqlString = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/** A Parquet file written by the embedded engine (opened and closed here; the CLI opens its own). */
async function writeParquet(path: string, records: CdnRecord[], fields: string[]): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const structure = fields.map((f) => `\`${f}\` ${PARQUET_TYPES[f] ?? 'String'}`).join(', ');
  const rows = records.map((r) => {
    const o: Record<string, unknown> = {};
    for (const f of fields) {
      const v = r[f];
      if (PARQUET_TYPES[f]) o[f] = v === undefined || v === null || v === '-' ? null : Number(v);
      else o[f] = v === undefined || v === null ? '-' : String(v);
    }
    return JSON.stringify(o);
  });
  const engine = ChdbEngine.open(await tempDir('cm-dl-parquet-'));
  try {
    await engine.exec(
      `INSERT INTO FUNCTION file(${sqlString(path)}, 'Parquet', ${sqlString(structure)}) ` +
        `SELECT * FROM format(JSONEachRow, ${sqlString(structure)}, ${sqlString(rows.join('\n'))})`,
    );
  } finally {
    engine.close();
  }
}

async function writeLogFile(root: string, f: LogFile): Promise<void> {
  const path = join(root, f.path);
  await mkdir(dirname(path), { recursive: true });
  const withBad = <T>(items: T[]): Array<T | string> => {
    const out: Array<T | string> = [...items];
    out.splice(Math.min(1, out.length), 0, ...(f.bad ?? []));
    return out;
  };
  switch (f.kind) {
    case 'legacy':
    case 'v2-w3c':
      await writeW3c(path, withBad(f.records.map(asStrings)), f.fields ?? LEGACY_FIELDS, { trailingEmpty: f.trailingEmpty ?? false });
      return;
    case 'json': {
      const fields = f.fields ?? JSON_FIELDS;
      // records with numbers (e.g. a numeric sc-status) are written as raw JSON lines
      const items = f.records.map((r) =>
        Object.values(r).some((v) => typeof v === 'number')
          ? JSON.stringify(Object.fromEntries(fields.map((k) => [k, r[k] ?? '-'])))
          : asStrings(r),
      );
      await writeJsonLog(path, withBad(items), fields);
      return;
    }
    case 'plain':
      await writePlain(path, f.records.map(asStrings));
      if (f.bad?.length) await appendFile(path, f.bad.join('\n') + '\n');
      return;
    case 'parquet':
      await writeParquet(path, f.records, f.fields ?? PARQUET_FIELDS);
      return;
    case 'garbage-gz':
      // a gzip header, then bytes that are not deflate data
      await writeFile(path, Buffer.concat([Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]), Buffer.from([0xff, 0xff, 0xff, 0xfe, 0x00, 0x13, 0x37]), Buffer.from('not deflate '.repeat(50))]));
      return;
    case 'truncated-gz': {
      const text = ['#Version: 1.0', `#Fields: ${LEGACY_FIELDS.join(' ')}`, ...f.records.map((r) => w3cLine(r))].join('\n') + '\n';
      const gz = gzipSync(text);
      await writeFile(path, gz.subarray(0, Math.floor(gz.length * 0.6)));
      return;
    }
  }
}

const readable = (f: LogFile) => f.kind !== 'garbage-gz' && f.kind !== 'truncated-gz';
const FORMAT_NAME: Record<Kind, string> = { legacy: 'w3c', 'v2-w3c': 'w3c', json: 'json', plain: 'plain', parquet: 'parquet', 'garbage-gz': '', 'truncated-gz': '' };

// ---------------------------------------------------------------------------------------------
// Running the CLI

interface Output {
  downloads: string[][];
  platforms: string[][];
  summary: string[][];
  logFiles: string[][];
}

interface RunOptions {
  timezone: string;
  hosts?: string[];
  /** `--downloads` arguments (default: the logs folder). */
  downloads?: string[];
}

async function runReport(logsRoot: string, options: RunOptions): Promise<Output> {
  const dir = await tempDir('cm-dl-run-');
  const eventsDir = join(dir, 'events');
  await writeExport(join(eventsDir, 'e.jsonl'), [{ event: 'connect.app_launched', distinct_id: 'inst-1', timestamp: '2026-11-17T10:00:00Z' }]);
  const args = ['report', '--week', WEEK, '--events', eventsDir, '--downloads', ...(options.downloads ?? [logsRoot])];
  args.push('--out', join(dir, 'out'), '--data-dir', join(dir, 'data'), '--timezone', options.timezone);
  if (options.hosts) {
    const config = join(dir, 'config.json');
    await writeFile(config, JSON.stringify({ downloads: { hosts: options.hosts } }));
    args.push('--config', config);
  }
  const run = await runCli(args);
  expect(run.code, `exit code; stderr:\n${run.stderr}`).toBe(0);
  const read = async (name: string) => parseCsv(await readFile(join(dir, 'out', name), 'utf8'));
  return {
    downloads: await read('downloads.csv'),
    platforms: await read('platforms.csv'),
    summary: await read('summary.csv'),
    logFiles: await read('log_files.csv'),
  };
}

// ---------------------------------------------------------------------------------------------
// Comparing

const near = (got: string, want: number) => got.trim() !== '' && Number.isFinite(Number(got)) && Math.abs(Number(got) - want) <= 5e-5 + 1e-12;

/** Every mismatch between the tool's CSV files and the reference, as readable lines. */
function mismatches(out: Output, ref: DownloadsReference, files: LogFile[]): string[] {
  const errors: string[] = [];

  // downloads.csv
  const [dHeader, ...dRows] = out.downloads;
  if (JSON.stringify(dHeader) !== JSON.stringify(['date', 'platform', 'version', 'downloads', 'updates'])) errors.push(`downloads.csv header: ${JSON.stringify(dHeader)}`);
  const want = ref.rows.map((r) => [r.date, r.platform, r.version, String(r.downloads), String(r.updates)]);
  for (let i = 0; i < Math.max(want.length, dRows.length); i++) {
    const w = want[i];
    const g = dRows[i];
    if (JSON.stringify(w) !== JSON.stringify(g)) errors.push(`downloads.csv row ${i + 1}: expected ${w ? w.join(',') : '(none)'}, got ${g ? g.join(',') : '(none)'}`);
  }

  // platforms.csv: the two appended columns
  const [pHeader, ...pRows] = out.platforms;
  if (!pHeader || pHeader.slice(-2).join(',') !== 'downloads,download_share') errors.push(`platforms.csv header: ${JSON.stringify(pHeader)}`);
  const di = pHeader?.indexOf('downloads') ?? -1;
  const si = pHeader?.indexOf('download_share') ?? -1;
  for (const p of PLATFORM_ROWS) {
    const row = pRows.find((r) => r[0] === p);
    if (!row) {
      errors.push(`platforms.csv: no row ${p}`);
      continue;
    }
    if (row[di] !== String(ref.platforms[p].downloads)) errors.push(`platforms.csv ${p} downloads: expected ${ref.platforms[p].downloads}, got ${row[di]}`);
    if (!near(row[si] ?? '', ref.platforms[p].share)) errors.push(`platforms.csv ${p} download_share: expected ${ref.platforms[p].share}, got ${row[si]}`);
  }

  // summary.csv
  for (const metric of ['downloads', 'updates'] as const) {
    const row = out.summary.find((r) => r[0] === metric);
    if (!row) {
      errors.push(`summary.csv: no row ${metric}`);
      continue;
    }
    if (row[1] !== String(ref.week[metric])) errors.push(`summary.csv ${metric} value: expected ${ref.week[metric]}, got ${row[1]}`);
    if (row[2] !== String(ref.previous[metric])) errors.push(`summary.csv ${metric} previous: expected ${ref.previous[metric]}, got ${row[2]}`);
    const c = ref.change[metric];
    if (c === null ? row[3] !== '' : !near(row[3] ?? '', c)) errors.push(`summary.csv ${metric} change: expected ${c === null ? '(empty)' : c}, got ${JSON.stringify(row[3])}`);
  }

  // log_files.csv
  const [lHeader, ...lRows] = out.logFiles;
  if (JSON.stringify(lHeader) !== JSON.stringify(['file', 'format', 'lines', 'unparsable', 'error'])) errors.push(`log_files.csv header: ${JSON.stringify(lHeader)}`);
  if (lRows.length !== files.length) errors.push(`log_files.csv: ${lRows.length} rows for ${files.length} files`);
  for (const f of files) {
    const row = lRows.find((r) => (r[0] ?? '').endsWith('/' + f.path));
    if (!row) {
      errors.push(`log_files.csv: no row for ${f.path}`);
      continue;
    }
    if (!readable(f)) {
      if (!row[4]) errors.push(`log_files.csv ${f.path}: corrupt file without an error (${row.join(',')})`);
      continue;
    }
    const bad = f.bad?.length ?? 0;
    const expected = [FORMAT_NAME[f.kind], String(f.records.length + bad), String(bad), ''];
    if (JSON.stringify(row.slice(1)) !== JSON.stringify(expected)) errors.push(`log_files.csv ${f.path}: expected ${expected.join(',')}, got ${row.slice(1).join(',')}`);
  }
  return errors;
}

async function check(files: LogFile[], options: RunOptions & { logsRoot?: string }): Promise<{ out: Output; ref: DownloadsReference }> {
  const root = options.logsRoot ?? (await tempDir('cm-dl-logs-'));
  if (!options.logsRoot) for (const f of files) await writeLogFile(root, f);
  const out = await runReport(root, { ...options, downloads: options.downloads?.map((d) => join(root, d)) });
  const ref = downloadsReference(files.filter(readable).flatMap((f) => f.records), { week: WEEK, timezone: options.timezone, hosts: options.hosts ?? [] });
  expect(mismatches(out, ref, files)).toEqual([]);
  return { out, ref };
}

// ---------------------------------------------------------------------------------------------
// The reference's own building blocks

describe('downloads reference (self-check)', () => {
  it('decodes until stable and parses every installer name', () => {
    expect(fullyDecode('/Teleport%252520Connect-18.2.0.dmg')).toBe('/Teleport Connect-18.2.0.dmg');
    expect(fullyDecode('electron-builder%252F24.13.3')).toBe('electron-builder/24.13.3');
    const cases: Array<[string, string, string] | [string]> = [
      ['Teleport Connect-18.2.0.dmg', 'macos', '18.2.0'],
      ['Teleport Connect-18.2.0-arm64.dmg', 'macos', '18.2.0'],
      ['Teleport Connect-18.0.0-beta.1.dmg', 'macos', '18.0.0-beta.1'],
      ['Teleport Connect-18.0.0-beta.1-x64.dmg', 'macos', '18.0.0-beta.1'],
      ['Teleport Connect-18.2.0-mac.zip', 'macos', '18.2.0'],
      ['Teleport Connect Setup-18.2.0.exe', 'windows', '18.2.0'],
      ['teleport-connect_18.2.0_amd64.deb', 'linux', '18.2.0'],
      ['teleport-connect-18.2.0.x86_64.rpm', 'linux', '18.2.0'],
      ['teleport-connect-18.2.0-x64.tar.gz', 'linux', '18.2.0'],
      ['teleport-connect-18.2.0-linux-x64.tar.gz', 'linux', '18.2.0'],
      ['Teleport Connect-18.2.0.dmg.sha256'],
      ['Teleport Connect-18.2.0.dmg.blockmap'],
      ['latest-mac.yml'],
      ['teleport-18.2.0-linux-amd64-bin.tar.gz'],
      ['teleport-ent-18.2.0-linux-amd64-bin.tar.gz'],
      ['tsh-18.2.0.pkg'],
    ];
    for (const [name, platform, version] of cases) {
      const got = parseInstaller('/' + name);
      expect(got && [got.platform, got.version], name).toEqual(platform ? [platform, version] : undefined);
    }
    const sorted = ['18.10.0', '18.0.0', '18.2.0', '9.3.1', '18.0.0-beta.10', '18.0.0-beta.1', '18.0.0-rc.1', '18.0.0-beta.2'].sort(compareVersions);
    expect(sorted).toEqual(['9.3.1', '18.0.0-beta.1', '18.0.0-beta.2', '18.0.0-beta.10', '18.0.0-rc.1', '18.0.0', '18.2.0', '18.10.0']);
  });
});

// ---------------------------------------------------------------------------------------------
// A small case, checked by hand

describe('installer downloads: hand-checked small case (UTC)', () => {
  it('counts, dedupes and splits downloads from updates as written by hand', async () => {
    const ip = (n: number) => `198.51.100.${n}`;
    const upd = rec({ 'c-ip': ip(1), 'cs(User-Agent)': EB, 'cs-uri-stem': '/Teleport%2520Connect%2520Setup-18.10.0.exe' });
    const files: LogFile[] = [
      {
        path: 'E2ABC.2026-11-17-10.aaaa1111.gz',
        kind: 'legacy',
        bad: ['this is not a log line'],
        records: [
          rec({ 'c-ip': ip(1) }), // macos 18.2.0 download, 11-17
          rec({ 'c-ip': ip(1), time: '15:00:00' }), // same IP+UA+path+day: not again
          rec({ 'c-ip': ip(1), date: '2026-11-18' }), // next day: again
          upd, // windows 18.10.0 update (electron-builder UA)
          rec({ 'c-ip': ip(2), 'cs-uri-stem': '/Teleport%20Connect-18.2.0-mac.zip' }), // macos 18.2.0 update (zip)
          rec({ 'c-ip': ip(2), 'cs-method': 'HEAD' }), // HEAD: no
          rec({ 'c-ip': ip(3), 'cs(User-Agent)': 'curl/8.4.0', 'sc-status': '206', 'sc-range-start': '0', 'sc-range-end': '1048575', 'cs-uri-stem': '/teleport-connect_18.2.0_amd64.deb' }), // linux download
          rec({ 'c-ip': ip(3), 'sc-status': '206', 'sc-range-start': '1048576', 'sc-range-end': '2097151', 'cs-uri-stem': '/teleport-connect-18.2.0.x86_64.rpm' }), // later range: no
          rec({ 'c-ip': ip(4), 'cs-uri-stem': '/Teleport%2520Connect-18.2.0.dmg.blockmap' }), // sidecar: no
          rec({ 'c-ip': ip(4), date: '2026-11-10' }), // the week before: 1 download
        ],
      },
      { path: 'v2/part-0001.json', kind: 'json', records: [upd, rec({ 'c-ip': ip(5), 'cs-uri-stem': '/tsh-18.2.0.pkg' })] }, // upd again: same request id
    ];
    const { out, ref } = await check(files, { timezone: 'UTC' });
    const byHand = [
      ['date', 'platform', 'version', 'downloads', 'updates'],
      ['2026-11-17', 'linux', '18.2.0', '1', '0'],
      ['2026-11-17', 'macos', '18.2.0', '1', '1'],
      ['2026-11-17', 'windows', '18.10.0', '0', '1'],
      ['2026-11-18', 'macos', '18.2.0', '1', '0'],
    ];
    expect(out.downloads).toEqual(byHand);
    expect(ref.rows.map((r) => [r.date, r.platform, r.version, String(r.downloads), String(r.updates)])).toEqual(byHand.slice(1));
    const platform = (os: string) => out.platforms.find((r) => r[0] === os)!.slice(-2).map(Number);
    expect(platform('macos')[0]).toBe(2);
    expect(platform('macos')[1]).toBeCloseTo(2 / 3, 4);
    expect(platform('linux')[0]).toBe(1);
    expect(platform('linux')[1]).toBeCloseTo(1 / 3, 4);
    expect(platform('windows')).toEqual([0, 0]);
    expect(platform('other')).toEqual([0, 0]);
    expect(platform('unknown')).toEqual([0, 0]);
    const summary = (m: string) => out.summary.find((r) => r[0] === m)!.slice(1);
    expect(summary('downloads').slice(0, 2)).toEqual(['3', '1']);
    expect(Number(summary('downloads')[2])).toBeCloseTo(2, 4);
    expect(summary('updates')).toEqual(['2', '0', '']);
    const logRow = (p: string) => out.logFiles.find((r) => r[0]!.endsWith(p))!.slice(1);
    expect(logRow('E2ABC.2026-11-17-10.aaaa1111.gz')).toEqual(['w3c', '11', '1', '']);
    expect(logRow('part-0001.json')).toEqual(['json', '2', '0', '']);
  });
});

// ---------------------------------------------------------------------------------------------
// Every rule, every format

let ipCounter = 0;
const nextIp = () => `10.0.${Math.floor(ipCounter / 250)}.${(ipCounter++ % 250) + 1}`;

interface Case {
  name: string;
  records: CdnRecord[];
  /** Limits the case to files of these kinds (e.g. literal spaces and numbers: json only). */
  kinds?: Kind[];
}

/** Every contract rule as a named case; records spread over the readable files below. */
function ruleCases(): Case[] {
  const cases: Case[] = [];
  const add = (name: string, records: CdnRecord[], kinds?: Kind[]) => cases.push(kinds ? { name, records, kinds } : { name, records });
  const one = (name: string, o: CdnRecord, kinds?: Kind[]) => add(name, [rec({ 'c-ip': nextIp(), ...o })], kinds);

  // every installer pattern; versions chosen to test semantic order (17.7.3 < 18.0.0-beta.1 < -beta.2 < -beta.10 < -rc.1 < 18.0.0 < 18.2.0 < 18.10.0; 9.3.1 first)
  const installers = [
    '/Teleport%2520Connect-18.2.0.dmg', // double-encoded
    '/Teleport%252520Connect-18.10.0.dmg', // triple-encoded
    '/Teleport%20Connect-18.0.0-beta.1.dmg', // prerelease, no arch
    '/Teleport%20Connect-18.0.0.dmg',
    '/Teleport%20Connect-18.0.0-beta.2-arm64.dmg',
    '/Teleport%20Connect-18.0.0-beta.10-x64.dmg',
    '/Teleport%20Connect-18.0.0-rc.1-universal.dmg',
    '/Teleport%20Connect-17.7.3-arm64.dmg',
    '/Teleport%20Connect%20Setup-18.2.0.exe',
    '/Teleport%2520Connect%2520Setup-18.10.0.exe',
    '/Teleport%20Connect%20Setup-18.0.0-beta.1.exe',
    '/teleport-connect_18.2.0_amd64.deb',
    '/teleport-connect_18.10.0_arm64.deb',
    '/teleport-connect-18.2.0.x86_64.rpm',
    '/teleport-connect-18.0.0-beta.1.aarch64.rpm',
    '/teleport-connect-18.2.0-x64.tar.gz',
    '/teleport-connect-18.2.0-linux-arm64.tar.gz', // 18.2.0, not 18.2.0-linux
    '/teleport-connect-9.3.1-linux-x64.tar.gz',
    '/teleport-connect-18.0.0-beta.1-x64.tar.gz',
    '/teleport/teleport-connect-18.10.0-x64.tar.gz', // below a folder
    '/teleport-connect%2D18.2.0%2Damd64.tar.gz', // needless escapes
  ];
  for (const path of installers) one(`installer ${path}`, { 'cs-uri-stem': path, 'cs(User-Agent)': MOZ_MAC });

  // updates
  one('update: -mac.zip', { 'cs-uri-stem': '/Teleport%20Connect-18.2.0-mac.zip', 'cs(User-Agent)': 'Teleport%20Connect/18.0.0' });
  one('update: -mac.zip, double-encoded', { 'cs-uri-stem': '/Teleport%2520Connect-18.10.0-mac.zip' });
  one('update: electron-builder UA on exe', { 'cs-uri-stem': '/Teleport%20Connect%20Setup-18.2.0.exe', 'cs(User-Agent)': EB });
  one('update: double-encoded electron-builder UA on deb', { 'cs-uri-stem': '/teleport-connect_18.2.0_amd64.deb', 'cs(User-Agent)': 'electron-builder%252F24.13.3' });
  one('update: bare electron-builder UA on rpm', { 'cs-uri-stem': '/teleport-connect-18.2.0.x86_64.rpm', 'cs(User-Agent)': 'electron-builder' });
  one('download: UA containing electron-builder later', { 'cs-uri-stem': '/Teleport%20Connect%20Setup-18.2.0.exe', 'cs(User-Agent)': 'Mozilla/5.0%20electron-builder' });

  // statuses and methods
  one('206 from byte 0 counts', { 'sc-status': '206', 'sc-range-start': '0', 'sc-range-end': '1048575', 'cs-uri-stem': '/Teleport%20Connect%20Setup-18.10.0.exe' });
  one('206 from byte 1048576 does not', { 'sc-status': '206', 'sc-range-start': '1048576', 'sc-range-end': '2097151' });
  one('206 from byte 1 does not', { 'sc-status': '206', 'sc-range-start': '1', 'sc-range-end': '100' });
  one('HEAD does not', { 'cs-method': 'HEAD' });
  one('POST does not', { 'cs-method': 'POST' });
  one('304 does not', { 'sc-status': '304' });
  one('403 does not', { 'sc-status': '403' });
  one('404 does not', { 'sc-status': '404' });
  one('000 does not', { 'sc-status': '000' });
  one('503 does not', { 'sc-status': '503' });
  // numbers in JSON (numeric sc-status and sc-range-start)
  one('json numeric 200 counts', { 'sc-status': 200, 'cs-uri-stem': '/teleport-connect_18.10.0_arm64.deb' }, ['json']);
  one('json numeric 206 from 0 counts', { 'sc-status': 206, 'sc-range-start': 0, 'sc-range-end': 99, 'cs-uri-stem': '/teleport-connect-18.2.0.x86_64.rpm' }, ['json']);
  one('json numeric 206 from 500 does not', { 'sc-status': 206, 'sc-range-start': 500, 'sc-range-end': 999 }, ['json']);
  one('json numeric 304 does not', { 'sc-status': 304 }, ['json']);
  one('json literal spaces in path and UA', { 'cs-uri-stem': '/Teleport Connect Setup-18.0.0.exe', 'cs(User-Agent)': 'Mozilla/5.0 (Windows NT 10.0)' }, ['json']);

  // not installers
  const others = [
    '/Teleport%20Connect-18.2.0.dmg.blockmap',
    '/Teleport%20Connect-18.2.0.dmg.sha256',
    '/Teleport%2520Connect-18.2.0-mac.zip.blockmap',
    '/Teleport%20Connect%20Setup-18.2.0.exe.blockmap',
    '/Teleport%20Connect%20Setup-18.2.0.exe.sha512',
    '/teleport-connect-18.2.0-x64.tar.gz.sha512',
    '/teleport-connect_18.2.0_amd64.deb.sha256',
    '/latest-mac.yml',
    '/latest.yml',
    '/latest-linux.yml',
    '/teleport-18.2.0-linux-amd64-bin.tar.gz',
    '/teleport-ent-18.2.0-linux-amd64-bin.tar.gz',
    '/teleport-ent_18.2.0_amd64.deb',
    '/teleport-18.2.0-1.x86_64.rpm',
    '/tsh-18.2.0.pkg',
    '/teleport-18.2.0.pkg',
    '/tsh-18.2.0-linux-amd64-bin.tar.gz',
    '/Teleport%20Connect-18.2.dmg', // not MAJOR.MINOR.PATCH
    '/teleport-connect-18.2.0-sparc64.tar.gz', // not an arch
    '/Teleport%20Connect-18.2.0.dmg.zip',
    '/',
  ];
  for (const path of others) one(`not an installer ${path}`, { 'cs-uri-stem': path });

  // hosts (default: any host, also none)
  one('host: another name counts by default', { 'x-host-header': 'downloads.example.com', 'cs-uri-stem': '/Teleport%20Connect-18.0.0.dmg' });
  one('host: none counts by default', { 'x-host-header': '-', 'cs-uri-stem': '/teleport-connect-18.2.0-x64.tar.gz' });
  one('host: the cloudfront name', { 'x-host-header': 'd111111abcdef8.cloudfront.net', 'cs-uri-stem': '/Teleport%20Connect%20Setup-18.2.0.exe' });

  // one download per IP + UA + path + day
  {
    const ip = nextIp();
    add('same IP+UA+path twice in a day, and on the next day', [
      rec({ 'c-ip': ip, date: '2026-11-18', time: '10:00:00' }),
      rec({ 'c-ip': ip, date: '2026-11-18', time: '23:59:59' }),
      rec({ 'c-ip': ip, date: '2026-11-19', time: '00:00:00' }),
    ]);
  }
  {
    const ip = nextIp();
    add('same IP, different UA', [rec({ 'c-ip': ip, 'cs(User-Agent)': MOZ_MAC }), rec({ 'c-ip': ip, 'cs(User-Agent)': MOZ_WIN })]);
  }
  {
    const ip = nextIp();
    add('same IP+UA, path encoded differently', [
      rec({ 'c-ip': ip, 'cs-uri-stem': '/Teleport%2520Connect-18.2.0.dmg' }),
      rec({ 'c-ip': ip, 'cs-uri-stem': '/Teleport%20Connect-18.2.0.dmg' }),
      rec({ 'c-ip': ip, 'cs-uri-stem': '/Teleport%252520Connect-18.2.0.dmg', time: '11:00:00' }),
    ]);
  }
  {
    const ip = nextIp();
    add('same IP+path, UA encoded differently', [
      rec({ 'c-ip': ip, 'cs(User-Agent)': EB, 'cs-uri-stem': '/teleport-connect-18.10.0.aarch64.rpm' }),
      rec({ 'c-ip': ip, 'cs(User-Agent)': 'electron-builder%252F24.13.3', 'cs-uri-stem': '/teleport-connect-18.10.0.aarch64.rpm' }),
    ]);
  }
  {
    const ip = nextIp();
    add("same IP+path, UA with '+' (literal, not a space) and with %20: two UAs", [
      rec({ 'c-ip': ip, 'cs(User-Agent)': 'Wget/1.21+(linux-gnu)', 'cs-uri-stem': '/teleport-connect_18.2.0_amd64.deb' }),
      rec({ 'c-ip': ip, 'cs(User-Agent)': 'Wget/1.21%20(linux-gnu)', 'cs-uri-stem': '/teleport-connect_18.2.0_amd64.deb' }),
    ]);
  }
  {
    const ip = nextIp();
    add('same IP+UA+path on two hosts', [
      rec({ 'c-ip': ip, 'cs-uri-stem': '/Teleport%20Connect-18.10.0.dmg' }),
      rec({ 'c-ip': ip, 'cs-uri-stem': '/Teleport%20Connect-18.10.0.dmg', 'x-host-header': 'mirror.example.com', time: '12:00:00' }),
    ]);
  }
  {
    const ip = nextIp();
    add('same IP+UA, different paths', [rec({ 'c-ip': ip }), rec({ 'c-ip': ip, 'cs-uri-stem': '/Teleport%2520Connect-18.10.0.dmg' })]);
  }
  {
    const ip = nextIp();
    add('a HEAD, then a GET: the GET counts', [rec({ 'c-ip': ip, 'cs-method': 'HEAD', time: '09:00:00' }), rec({ 'c-ip': ip, time: '09:00:01' })]);
  }

  // week boundaries (UTC) and the week before
  one('week before: Mon 11-09 00:00:00', { date: '2026-11-09', time: '00:00:00', 'cs-uri-stem': '/Teleport%20Connect-18.0.0.dmg' });
  one('week before: Thu 11-12', { date: '2026-11-12', time: '13:00:00', 'cs-uri-stem': '/Teleport%20Connect%20Setup-18.2.0.exe' });
  one('week before: zip update', { date: '2026-11-12', time: '13:00:00', 'cs-uri-stem': '/Teleport%20Connect-18.2.0-mac.zip' });
  one('week before: Sun 11-15 23:59:59', { date: '2026-11-15', time: '23:59:59', 'cs-uri-stem': '/teleport-connect_18.2.0_amd64.deb' });
  one('week: Mon 11-16 00:00:00', { date: '2026-11-16', time: '00:00:00', 'cs-uri-stem': '/teleport-connect_18.2.0_amd64.deb' });
  one('week: Sun 11-22 23:59:59', { date: '2026-11-22', time: '23:59:59', 'cs-uri-stem': '/teleport-connect-18.2.0.x86_64.rpm' });
  one('week: Sun 11-22 electron-builder update', { date: '2026-11-22', time: '12:00:00', 'cs-uri-stem': '/teleport-connect-18.2.0.x86_64.rpm', 'cs(User-Agent)': EB });
  one('after: Mon 11-23 00:00:00', { date: '2026-11-23', time: '00:00:00' });
  one('two weeks before: Sun 11-08 23:59:59', { date: '2026-11-08', time: '23:59:59' });
  return cases;
}

function ruleFiles(withParquet: boolean): { files: LogFile[]; cases: Case[] } {
  const files: LogFile[] = [
    {
      path: 'cf/E2ABC.2026-11-17-10.1a2b3c4d.gz',
      kind: 'legacy',
      records: [],
      bad: [
        'garbage',
        w3cLine(rec()).split('\t').slice(0, -1).join('\t'), // one field short
        w3cLine(rec()) + '\textra', // one field too many
        w3cLine(rec()) + '\t\t', // two trailing empty columns
      ],
    },
    { path: 'cf/E2ABC.2026-11-17-11.5e6f7a8b.gz', kind: 'legacy', records: [], trailingEmpty: true, bad: [w3cLine(rec()) + '\t\t\t'] },
    { path: 'v2/w3c/E2ABC/2026/11/17/part-0001.log', kind: 'v2-w3c', fields: V2_W3C_FIELDS, records: [], bad: [w3cLine(rec(), V2_W3C_FIELDS.slice(1))] },
    { path: 'v2/json/E2ABC/2026/11/17/part-0001.json', kind: 'json', records: [], bad: ['{"date": "2026-11-17", broken'] },
    { path: 'v2/plain/E2ABC/2026/11/17/part-0001.txt', kind: 'plain', records: [], bad: ['2026-11-17\t10:00:00\tFRA56-P1\t1\t10.9.9.9'] },
  ];
  if (withParquet) files.push({ path: 'single/part-0001.parquet', kind: 'parquet', fields: PARQUET_FIELDS, records: [] });
  const cases = ruleCases();
  let i = 0;
  for (const c of cases) {
    for (const r of c.records) {
      const candidates = files.filter((f) => !c.kinds || c.kinds.includes(f.kind));
      candidates[i++ % candidates.length]!.records.push(r);
    }
  }
  // the same request (same x-edge-request-id) in several files, of several formats
  const sharedA = rec({ 'c-ip': nextIp(), 'cs-uri-stem': '/Teleport%20Connect%20Setup-18.2.0.exe', 'cs(User-Agent)': MOZ_WIN });
  const sharedB = rec({ 'c-ip': nextIp(), 'cs-uri-stem': '/teleport-connect-18.2.0-linux-arm64.tar.gz', 'cs(User-Agent)': EB });
  const sharedC = rec({ 'c-ip': nextIp(), 'cs-uri-stem': '/Teleport%2520Connect-18.10.0.dmg', date: '2026-11-20' });
  files[0]!.records.push(sharedA, sharedB);
  files[1]!.records.push(sharedA, sharedC);
  files[2]!.records.push(sharedB);
  files[3]!.records.push(sharedA, sharedC);
  files[4]!.records.push(sharedB);
  if (files[5]) files[5].records.push(sharedA, sharedC);
  cases.push({ name: 'same request id in several files', records: [sharedA, sharedB, sharedC] });
  // corrupt files: one not deflate at all, one cut short (its records repeat request ids of readable files)
  files.push({ path: 'cf/E2ABC.2026-11-17-12.deadbeef.gz', kind: 'garbage-gz', records: [] });
  const truncated = [...files[0]!.records, ...files[3]!.records].filter((r) => typeof r['sc-status'] !== 'number');
  files.push({ path: 'cf/E2ABC.2026-11-17-13.0badf00d.gz', kind: 'truncated-gz', records: truncated });
  return { files, cases };
}

const VARIANTS = [
  { label: 'all formats (legacy gzip W3C, v2 w3c, json, plain, parquet)', parquet: true },
  { label: 'text formats only (legacy gzip W3C, v2 w3c, json, plain): isolates Parquet', parquet: false },
];

describe.each(VARIANTS)('installer downloads: every rule, $label', ({ parquet }) => {
  let root = '';
  let built: { files: LogFile[]; cases: Case[] };
  beforeAll(async () => {
    built = ruleFiles(parquet);
    root = await tempDir('cm-dl-rules-');
    for (const f of built.files) await writeLogFile(root, f);
  });
  const downloadsArgs = () => (parquet ? ['cf', 'v2', 'single/part-0001.parquet'] : ['cf', 'v2']);

  it('matches the reference cell by cell (UTC, any host)', async () => {
    // the data exercises what it should: every readable file carries counted downloads, and the
    // semantic version order is in play
    for (const f of built.files.filter(readable)) {
      const own = downloadsReference(f.records, { week: WEEK, timezone: 'UTC' });
      expect(own.week.downloads, `${f.path} carries counted downloads`).toBeGreaterThan(0);
    }
    const all = downloadsReference(built.files.filter(readable).flatMap((f) => f.records), { week: WEEK, timezone: 'UTC' });
    const versions = (platform: string) => all.rows.filter((r) => r.date === '2026-11-17' && r.platform === platform).map((r) => r.version);
    expect(versions('macos')).toEqual(['17.7.3', '18.0.0-beta.1', '18.0.0-beta.2', '18.0.0-beta.10', '18.0.0-rc.1', '18.0.0', '18.2.0', '18.10.0']);
    expect(versions('linux')).toEqual(['9.3.1', '18.0.0-beta.1', '18.2.0', '18.10.0']);

    // folders (searched recursively) and a single file
    const { out } = await check(built.files, { timezone: 'UTC', logsRoot: root, downloads: downloadsArgs() });
    for (const p of ['E2ABC.2026-11-17-12.deadbeef.gz', 'E2ABC.2026-11-17-13.0badf00d.gz']) {
      expect(out.logFiles.find((r) => r[0]!.endsWith(p))?.[4], `${p} is named with a reason`).toBeTruthy();
    }
  });

  it('only counts the configured hosts', async () => {
    const hosts = ['cdn.teleport.dev'];
    const { ref } = await check(built.files, { timezone: 'UTC', logsRoot: root, downloads: downloadsArgs(), hosts });
    const anyHost = downloadsReference(built.files.filter(readable).flatMap((f) => f.records), { week: WEEK, timezone: 'UTC' });
    expect(ref.week.downloads).toBeLessThan(anyHost.week.downloads); // the host rule changes something
  });
});

// ---------------------------------------------------------------------------------------------
// Week boundaries in a non-UTC timezone, checked by hand

describe('installer downloads: days and weeks in America/Los_Angeles', () => {
  it('puts each record on its local day and week', async () => {
    const ip = (n: number) => `203.0.113.${n}`;
    const at = (n: number, date: string, time: string, o: CdnRecord = {}) => rec({ 'c-ip': ip(n), date, time, ...o });
    const exe = '/Teleport%20Connect%20Setup-18.2.0.exe';
    const files: LogFile[] = [
      {
        path: 'a/E2ABC.2026-11-16-07.aaaa.gz',
        kind: 'legacy',
        records: [
          at(1, '2026-11-16', '07:59:59'), // local Sun 11-15 23:59:59: the week before
          at(2, '2026-11-16', '08:00:00', { 'cs-uri-stem': exe }), // local Mon 11-16 00:00: the week
          at(3, '2026-11-23', '07:59:59', { 'cs-uri-stem': '/teleport-connect_18.2.0_amd64.deb' }), // local Sun 11-22: the week
          at(4, '2026-11-23', '08:00:00', { 'cs-uri-stem': '/teleport-connect-18.2.0.x86_64.rpm' }), // local Mon 11-23: after
          at(5, '2026-11-09', '07:59:59'), // local Sun 11-08: two weeks before
        ],
      },
      {
        path: 'b/part.json',
        kind: 'json',
        records: [
          at(6, '2026-11-09', '08:00:00'), // local Mon 11-09: the week before
          at(7, '2026-11-17', '03:00:00'), // local 11-16 19:00
          at(7, '2026-11-17', '10:00:00'), // local 11-17 02:00: another local day, counts again
          at(8, '2026-11-17', '09:00:00'), // local 11-17 01:00
          at(8, '2026-11-18', '07:00:00'), // local 11-17 23:00: same local day, not again
          at(9, '2026-11-20', '12:00:00', { 'cs-uri-stem': '/Teleport%20Connect-18.2.0-mac.zip' }), // local 11-20 update
        ],
      },
    ];
    const { out } = await check(files, { timezone: LA });
    expect(out.downloads).toEqual([
      ['date', 'platform', 'version', 'downloads', 'updates'],
      ['2026-11-16', 'macos', '18.2.0', '1', '0'],
      ['2026-11-16', 'windows', '18.2.0', '1', '0'],
      ['2026-11-17', 'macos', '18.2.0', '2', '0'],
      ['2026-11-20', 'macos', '18.2.0', '0', '1'],
      ['2026-11-22', 'linux', '18.2.0', '1', '0'],
    ]);
    const summary = (m: string) => out.summary.find((r) => r[0] === m)!.slice(1);
    expect(summary('downloads').slice(0, 2)).toEqual(['5', '2']);
    expect(Number(summary('downloads')[2])).toBeCloseTo(1.5, 4);
    expect(summary('updates')).toEqual(['1', '0', '']);
  });
});

// ---------------------------------------------------------------------------------------------
// A seeded random mix against the reference


function randomFiles(seed: number, count: number, withParquet: boolean): LogFile[] {
  const rnd = mulberry32(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const enc = (name: string) => {
    const e = pick(['', '%20', '%2520', '%252520']);
    return '/' + (e === '' ? name.replace(/ /g, '%20') : name.replace(/ /g, e));
  };
  const versions = ['17.7.3', '18.0.0-beta.1', '18.0.0', '18.2.0', '18.10.0'];
  const names = (v: string) => [
    `Teleport Connect-${v}.dmg`,
    `Teleport Connect-${v}-arm64.dmg`,
    `Teleport Connect-${v}-mac.zip`,
    `Teleport Connect Setup-${v}.exe`,
    `teleport-connect_${v}_amd64.deb`,
    `teleport-connect-${v}.x86_64.rpm`,
    `teleport-connect-${v}-x64.tar.gz`,
    `teleport-connect-${v}-linux-arm64.tar.gz`,
    `Teleport Connect-${v}.dmg.blockmap`,
    `Teleport Connect Setup-${v}.exe.sha512`,
    `teleport-${v}-linux-amd64-bin.tar.gz`,
    `tsh-${v}.pkg`,
  ];
  const uas = [MOZ_MAC, MOZ_WIN, EB, 'electron-builder%252F24.13.3', 'curl/8.4.0', 'Homebrew/4.4.0%20(Macintosh)', '-'];
  const ips = ['192.0.2.10', '192.0.2.11', '192.0.2.12', '2001:db8::1', '198.51.100.77'];
  const hosts = ['cdn.teleport.dev', 'cdn.teleport.dev', 'cdn.teleport.dev', 'dl.example.com', 'other.example.org', '-'];
  const start = Date.parse('2026-11-07T00:00:00Z');
  const span = Date.parse('2026-11-25T00:00:00Z') - start;
  const files: LogFile[] = [
    { path: 'r/E3XYZ.2026-11-10-01.aa.gz', kind: 'legacy', records: [] },
    { path: 'r/E3XYZ.2026-11-17-02.bb.gz', kind: 'legacy', records: [], trailingEmpty: true, bad: ['x\ty'] },
    { path: 'r/v2/w3c.log', kind: 'v2-w3c', fields: V2_W3C_FIELDS, records: [] },
    { path: 'r/v2/a.json', kind: 'json', records: [] },
    { path: 'r/v2/b.json', kind: 'json', records: [], bad: ['not json'] },
    { path: 'r/v2/plain.txt', kind: 'plain', records: [] },
  ];
  if (withParquet) files.push({ path: 'rp/p.parquet', kind: 'parquet', fields: PARQUET_FIELDS, records: [] });
  const made: CdnRecord[] = [];
  for (let i = 0; i < count; i++) {
    const file = pick(files);
    if (made.length > 0 && rnd() < 0.08) {
      // a copy of an earlier request (same request id), in whichever file
      const copy = pick(made);
      if (file.kind === 'json' || !Object.values(copy).some((v) => typeof v === 'number')) {
        file.records.push(copy);
        continue;
      }
    }
    const t = new Date(start + Math.floor(rnd() * span / 1000) * 1000).toISOString();
    const statusRoll = rnd();
    const [status, rangeStart] =
      statusRoll < 0.6 ? ['200', '-'] : statusRoll < 0.7 ? ['206', '0'] : statusRoll < 0.8 ? ['206', '1048576'] : statusRoll < 0.9 ? ['304', '-'] : [pick(['403', '000', '404']), '-'];
    const r = rec({
      date: t.slice(0, 10),
      time: t.slice(11, 19),
      'c-ip': pick(ips),
      'cs-method': rnd() < 0.85 ? 'GET' : 'HEAD',
      'cs-uri-stem': enc(pick(names(pick(versions)))),
      'sc-status': status,
      'sc-range-start': rangeStart,
      'cs(User-Agent)': pick(uas),
      'x-host-header': pick(hosts),
    });
    if (file.kind === 'json' && rnd() < 0.5) {
      r['sc-status'] = Number(status);
      if (rangeStart !== '-') r['sc-range-start'] = Number(rangeStart);
    }
    made.push(r);
    file.records.push(r);
  }
  return files;
}

describe.each(VARIANTS)('installer downloads: seeded random mix, $label', ({ parquet }) => {
  let root = '';
  let files: LogFile[] = [];
  beforeAll(async () => {
    files = randomFiles(20261117, 600, parquet);
    root = await tempDir('cm-dl-random-');
    for (const f of files) await writeLogFile(root, f);
  });
  const downloadsArgs = () => (parquet ? ['r', 'rp'] : ['r']);

  it('matches the reference in America/Los_Angeles, any host', async () => {
    const { ref } = await check(files, { timezone: LA, logsRoot: root, downloads: downloadsArgs() });
    expect(ref.week.downloads).toBeGreaterThan(20);
    expect(ref.week.updates).toBeGreaterThan(10);
    expect(ref.previous.downloads).toBeGreaterThan(10);
  });

  it('matches the reference in Asia/Kolkata with two configured hosts', async () => {
    await check(files, { timezone: KOLKATA, logsRoot: root, downloads: downloadsArgs(), hosts: ['cdn.teleport.dev', 'dl.example.com'] });
  });
});

// ---------------------------------------------------------------------------------------------
// Minimal cases, checked by hand

describe('installer downloads: Parquet, checked by hand', () => {
  it('counts the requests of a Parquet file (typed columns, reordered subset of fields)', async () => {
    const files: LogFile[] = [
      {
        path: 'p/part-0001.parquet',
        kind: 'parquet',
        fields: PARQUET_FIELDS,
        records: [
          rec({ 'c-ip': '192.0.2.50' }), // 2026-11-17 macos 18.2.0 download
          rec({ 'c-ip': '192.0.2.51', time: '11:00:00', 'cs-uri-stem': '/Teleport%20Connect%20Setup-18.2.0.exe', 'cs(User-Agent)': EB }), // windows update
          rec({ 'c-ip': '192.0.2.52', 'sc-status': '304' }), // not counted
        ],
      },
    ];
    const { out } = await check(files, { timezone: 'UTC' });
    expect(out.downloads).toEqual([
      ['date', 'platform', 'version', 'downloads', 'updates'],
      ['2026-11-17', 'macos', '18.2.0', '1', '0'],
      ['2026-11-17', 'windows', '18.2.0', '0', '1'],
    ]);
  });
});

describe('installer downloads: a letter percent-encoded by the client, checked by hand', () => {
  it('decodes the path fully before matching (`C%6Fnnect`, logged as `C%256Fnnect`)', async () => {
    const files: LogFile[] = [
      {
        path: 'e/E2ABC.2026-11-17-10.cafe.gz',
        kind: 'legacy',
        records: [
          rec({ 'c-ip': '192.0.2.60', 'cs-uri-stem': '/Teleport%2520C%256Fnnect-18.2.0.dmg' }), // decodes to /Teleport Connect-18.2.0.dmg
          rec({ 'c-ip': '192.0.2.61', 'cs-uri-stem': '/teleport-connect_18.2.0_amd64.deb' }),
        ],
      },
    ];
    const { out } = await check(files, { timezone: 'UTC' });
    expect(out.downloads).toEqual([
      ['date', 'platform', 'version', 'downloads', 'updates'],
      ['2026-11-17', 'linux', '18.2.0', '1', '0'],
      ['2026-11-17', 'macos', '18.2.0', '1', '0'],
    ]);
  });
});
