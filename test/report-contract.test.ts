/**
 * Contract check of the weekly report: hand-built PostHog export files run through the CLI, and
 * every CSV cell compared with test/reference/weekly-reference.ts (an independent plain
 * computation written from the contract alone) and, for the small cases, with values written by hand.
 */
import { describe, expect, it } from 'vitest';
import { mkdtemp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { DateTime } from 'luxon';
import { main } from '../src/cli/main.ts';
import { weekDays, weekStart, weeklyReference, withPrivacy, type Catalog, type Cell, type Table, type WeeklyTables } from './reference/weekly-reference.ts';
import { mulberry32 } from './helpers/random.ts';

const catalog = JSON.parse(readFileSync(new URL('../config/event-catalog.json', import.meta.url), 'utf8')) as Catalog;
const LA = 'America/Los_Angeles';
const KOLKATA = 'Asia/Kolkata';
const TABLES = ['summary', 'dau', 'features', 'protocols', 'platforms'] as const;
type TableName = (typeof TABLES)[number];

// ---------------------------------------------------------------------------------------------
// Building export files

interface Rec {
  uuid: string;
  event: string;
  distinct_id?: string;
  timestamp: string;
  properties?: Record<string, unknown>;
  person_properties?: Record<string, unknown>;
}

let uuidCounter = 0;
function uuid(): string {
  uuidCounter += 1;
  return `0192aaaa-0000-7000-8000-${String(uuidCounter).padStart(12, '0')}`;
}

function ev(distinct_id: string | undefined, event: string, timestamp: string, properties: Record<string, unknown> = {}, person_properties: Record<string, unknown> = {}): Rec {
  const r: Rec = { uuid: uuid(), event, timestamp, properties, person_properties };
  if (distinct_id !== undefined) r.distinct_id = distinct_id;
  return r;
}

/** The full PostHog batch-export line of a record. */
function line(r: Rec): string {
  const o: Record<string, unknown> = { uuid: r.uuid, event: r.event };
  if (r.distinct_id !== undefined) o['distinct_id'] = r.distinct_id;
  Object.assign(o, {
    person_id: '0192bbbb-0000-7000-8000-000000000001',
    properties: r.properties ?? {},
    person_properties: r.person_properties ?? {},
    elements_chain: '',
    timestamp: r.timestamp,
    created_at: r.timestamp,
    _inserted_at: r.timestamp,
  });
  return JSON.stringify(o);
}

/** The export line of a record with some fields replaced (undefined removes the field). */
function rawLine(r: Rec, overrides: Record<string, unknown>): string {
  const o = JSON.parse(line(r)) as Record<string, unknown>;
  for (const [k, v] of Object.entries(overrides)) {
    if (v === undefined) delete o[k];
    else o[k] = v;
  }
  return JSON.stringify(o);
}

/** Writes records (or raw text lines) as JSON Lines; gzip when the name ends in .gz. */
async function writeExport(path: string, lines: Array<Rec | string>): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const body = lines.map((l) => (typeof l === 'string' ? l : line(l))).join('\n') + '\n';
  await writeFile(path, path.endsWith('.gz') ? gzipSync(body) : body);
}

/** What the reference sees: the parsed objects of every line that is valid JSON. */
function parsedLines(lines: Array<Rec | string>): unknown[] {
  const out: unknown[] = [];
  for (const l of lines) {
    const text = typeof l === 'string' ? l : line(l);
    try {
      out.push(JSON.parse(text));
    } catch {
      // invalid JSON: unusable
    }
  }
  return out;
}

/** Local wall time in a zone -> UTC ISO string with milliseconds. */
function local(wall: string, zone: string): string {
  const dt = DateTime.fromISO(wall, { zone });
  if (!dt.isValid) throw new Error(`bad local time ${wall}`);
  return dt.toUTC().toISO()!;
}

// ---------------------------------------------------------------------------------------------
// Running the CLI

/**
 * Runs `report`. The issue-3 cases check every figure, so they turn small-cell suppression off
 * (`--privacy-k 1`); `privacyK: null` runs with the default (5), checked against withPrivacy.
 */
async function runReport(
  eventsDir: string,
  week: string,
  timezone: string | undefined,
  sharedDataDir?: string,
  privacyK: string | null = '1',
): Promise<Record<TableName, string>> {
  const outDir = await mkdtemp(join(tmpdir(), 'cm-contract-out-'));
  const dataDir = sharedDataDir ?? (await mkdtemp(join(tmpdir(), 'cm-contract-data-')));
  const out: string[] = [];
  const err: string[] = [];
  const args = ['report', '--week', week, '--events', eventsDir, '--out', outDir, '--data-dir', dataDir];
  if (timezone !== undefined) args.push('--timezone', timezone);
  if (privacyK !== null) args.push('--privacy-k', privacyK);
  const code = await main(args, {
    stdout: (t) => out.push(t),
    stderr: (t) => err.push(t),
    clock: { now: () => new Date('2026-11-24T12:00:00Z') },
    env: {},
  });
  expect(code, `exit code; stderr:\n${err.join('')}`).toBe(0);
  const files = {} as Record<TableName, string>;
  for (const t of TABLES) files[t] = await readFile(join(outDir, `${t}.csv`), 'utf8');
  return files;
}

// ---------------------------------------------------------------------------------------------
// Reading and comparing CSV

/** Minimal RFC 4180 reader: quoted fields, doubled quotes, CRLF or LF row ends. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
      } else field += c;
      i += 1;
      continue;
    }
    if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || (c === '\r' && text[i + 1] === '\n')) {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      if (c === '\r') i += 1;
    } else field += c;
    i += 1;
  }
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

const round4 = (n: number) => Math.round(n * 1e4) / 1e4;
const DANGEROUS = /^[=+\-@\t\r]/;

/** Count cells: written as plain integers. */
function isIntCell(table: TableName, row: Cell[], col: number): boolean {
  switch (table) {
    case 'summary':
      return (col === 1 || col === 2) && ['wau', 'peak_dau', 'events'].includes(String(row[0]));
    case 'dau':
      return col === 1;
    case 'features':
    case 'protocols':
      return col === 1 || col === 2;
    case 'platforms':
      return col === 1;
  }
}

function cellMismatch(table: TableName, expectedRow: Cell[], col: number, got: string | undefined): string | undefined {
  const want = expectedRow[col];
  if (got === undefined) return `missing cell (expected ${JSON.stringify(want)})`;
  if (want === null || want === undefined) return got === '' ? undefined : `expected empty, got ${JSON.stringify(got)}`;
  if (typeof want === 'string') {
    if (DANGEROUS.test(want)) {
      // Formula injection: the cell must be escaped (not start with the dangerous character) and keep the value.
      if (got === want || DANGEROUS.test(got) || !got.endsWith(want)) return `expected ${JSON.stringify(want)} escaped, got ${JSON.stringify(got)}`;
      return undefined;
    }
    return got === want ? undefined : `expected ${JSON.stringify(want)}, got ${JSON.stringify(got)}`;
  }
  if (isIntCell(table, expectedRow, col)) {
    if (!/^-?\d+$/.test(got)) return `expected integer ${want}, got ${JSON.stringify(got)}`;
    return Number(got) === want ? undefined : `expected ${want}, got ${got}`;
  }
  if (got.trim() === '' || !Number.isFinite(Number(got))) return `expected number ${round4(want)} (${want}), got ${JSON.stringify(got)}`;
  if (got.includes('.') && got.split('.')[1]!.length > 4) return `more than 4 decimals: ${got}`;
  return Math.abs(Number(got) - round4(want)) <= 1e-4 + 1e-9 ? undefined : `expected ${round4(want)} (${want}), got ${got}`;
}

function tableMismatches(table: TableName, csv: string, expected: Table): string[] {
  const rows = parseCsv(csv);
  const problems: string[] = [];
  const header = rows[0] ?? [];
  if (header.join(',') !== expected.header.join(',')) problems.push(`${table}: header ${JSON.stringify(header)} != ${JSON.stringify(expected.header)}`);
  const body = rows.slice(1);
  if (body.length !== expected.rows.length) {
    problems.push(`${table}: ${body.length} rows, expected ${expected.rows.length}\n  got: ${JSON.stringify(body)}\n  want: ${JSON.stringify(expected.rows)}`);
  }
  for (let r = 0; r < Math.min(body.length, expected.rows.length); r++) {
    const want = expected.rows[r]!;
    const got = body[r]!;
    if (got.length !== expected.header.length) problems.push(`${table} row ${r + 1}: ${got.length} cells: ${JSON.stringify(got)}`);
    for (let c = 0; c < expected.header.length; c++) {
      const m = cellMismatch(table, want, c, got[c]);
      if (m) problems.push(`${table} row ${r + 1} (${String(want[0])}) ${expected.header[c]}: ${m}`);
    }
  }
  return problems;
}

function allMismatches(files: Record<TableName, string>, expected: WeeklyTables, skip: (t: TableName, row: Cell[], col: number) => boolean = () => false): string[] {
  const problems: string[] = [];
  for (const t of TABLES) {
    const exp = expected[t];
    // Skipped cells are replaced by what the tool wrote (checked separately by the caller).
    const rows = parseCsv(files[t]).slice(1);
    const patched: Table = {
      header: exp.header,
      rows: exp.rows.map((row, r) => row.map((cell, c) => (skip(t, row, c) ? ((rows[r]?.[c] ?? '') as Cell) : cell))),
    };
    problems.push(...tableMismatches(t, files[t], patched));
  }
  return problems;
}

/** The previous week's stickiness when its WAU is 0 (0 / 0): the contract leaves it open. */
const stickinessPrevious = (t: TableName, row: Cell[], c: number) => t === 'summary' && row[0] === 'stickiness' && c === 2;

/** Accepts 0 or empty for that cell; its change must be empty (previous is 0 or nothing). */
function expectStickinessPreviousUndefinedCell(files: Record<TableName, string>): void {
  const stick = parseCsv(files.summary).find((r) => r[0] === 'stickiness');
  expect(['', '0', '0.0000']).toContain(stick?.[2]);
  expect(stick?.[3]).toBe('');
}

// ---------------------------------------------------------------------------------------------
// (0) The reference's own calendar math

describe('reference calendar (sanity of the reference itself)', () => {
  it('ISO weeks and DST week lengths in America/Los_Angeles', () => {
    const w47 = weekStart('2026-W47', 'UTC');
    expect(w47.toUTC().toISO()).toBe('2026-11-16T00:00:00.000Z');
    const fall = weekStart('2026-W44', LA); // DST ends Sunday 2026-11-01
    expect(fall.toUTC().toISO()).toBe('2026-10-26T07:00:00.000Z');
    expect(fall.plus({ weeks: 1 }).toUTC().toISO()).toBe('2026-11-02T08:00:00.000Z');
    expect(fall.plus({ weeks: 1 }).diff(fall, 'hours').hours).toBe(169);
    const spring = weekStart('2026-W10', LA); // DST starts Sunday 2026-03-08
    expect(spring.toUTC().toISO()).toBe('2026-03-02T08:00:00.000Z');
    expect(spring.plus({ weeks: 1 }).diff(spring, 'hours').hours).toBe(167);
    const days = weekDays(fall);
    expect(days.map((d) => d.date)).toEqual(['2026-10-26', '2026-10-27', '2026-10-28', '2026-10-29', '2026-10-30', '2026-10-31', '2026-11-01']);
    expect((days[6]!.endMs - days[6]!.startMs) / 3_600_000).toBe(25);
    expect(weekStart('2026-W47', KOLKATA).toUTC().toISO()).toBe('2026-11-15T18:30:00.000Z');
  });
});

// ---------------------------------------------------------------------------------------------
// (a) A tiny case with expected values written by hand

describe('contract: tiny hand-computed case (UTC, 2026-W47)', () => {
  const lines: Rec[] = [
    // previous week 2026-W46 (Nov 9-15)
    ev('u1', 'connect.cluster.login', '2026-11-10T10:00:00.000Z', { os: 'darwin' }),
    ev('u2', 'connect.protocol.use', '2026-11-12T10:00:00.000Z', { 'connect.protocol': 'ssh' }),
    // report week 2026-W47 (Nov 16-22)
    ev('u1', 'connect.cluster.login', '2026-11-16T09:00:00.000Z'),
    ev('u1', 'connect.protocol.use', '2026-11-16T10:00:00.000Z', { 'connect.protocol': 'SSH' }),
    ev('u1', 'connect.protocol.use', '2026-11-18T12:00:00.000Z', { protocol: 'proxy_db' }),
    ev('u2', 'connect.protcol.run', '2026-11-16T11:00:00.000Z', { protocol: 'ssh', os: 'win32' }),
    ev('u2', 'connect.fileTransfer.run', '2026-11-17T08:00:00.000Z'),
    ev('u3', '$pageview', '2026-11-20T12:00:00.000Z', { os: 'darwin' }),
    ev('u3', 'connect.foo.bar', '2026-11-22T23:59:59.999Z', { 'connect.os': 'linux' }),
    ev('u3', 'connect.cluster.login', '2026-11-23T00:00:00.000Z', { 'connect.os': 'darwin' }), // after the week
    ev('u4', '$pageview', '2026-11-18T12:00:00.000Z', { os: 'linux' }), // never active
    ev('u5', 'connect.accessRequests.create', '2026-11-19T15:00:00.000Z'),
  ];

  // Written by hand from the contract. No change: neither week is fully covered (issue 14: the week
  // before has events on Tuesday and Thursday only, none in its first 24 hours, and the input starts
  // on that Tuesday; this week has no connect.* event on Friday or Saturday). Were they covered, the
  // changes would be 1, 2, 1, 0.5 and 2.5: the next case checks those.
  const hand: WeeklyTables = {
    summary: {
      header: ['metric', 'value', 'previous', 'change'],
      rows: [
        ['wau', 4, 2, null],
        ['avg_dau', 6 / 7, 2 / 7, null],
        ['peak_dau', 2, 1, null],
        ['stickiness', 6 / 7 / 4, 1 / 7, null],
        ['events', 7, 2, null],
      ],
    },
    dau: {
      header: ['date', 'active_users'],
      rows: [
        ['2026-11-16', 2],
        ['2026-11-17', 1],
        ['2026-11-18', 1],
        ['2026-11-19', 1],
        ['2026-11-20', 0],
        ['2026-11-21', 0],
        ['2026-11-22', 1],
      ],
    },
    features: {
      header: ['feature', 'events', 'users', 'adoption'],
      rows: [
        ['login', 1, 1, 0.25],
        ['protocol_use', 3, 2, 0.5],
        ['access_request_create', 1, 1, 0.25],
        ['access_request_review', 0, 0, 0],
        ['access_request_assume_role', 0, 0, 0],
        ['file_transfer', 1, 1, 0.25],
        ['connect_my_computer_setup', 0, 0, 0],
        ['connect_my_computer_agent_start', 0, 0, 0],
        ['connect.foo.bar', 1, 1, 0.25],
      ],
    },
    protocols: {
      header: ['protocol', 'events', 'users', 'share'],
      rows: [
        ['ssh', 2, 2, 0.5],
        ['db', 1, 1, 0.25],
      ],
    },
    platforms: {
      header: ['os', 'users', 'share'],
      rows: [
        ['macos', 1, 0.25],
        ['windows', 1, 0.25],
        ['linux', 1, 0.25],
        ['other', 0, 0],
        ['unknown', 1, 0.25],
      ],
    },
  };

  it('the reference agrees with the hand-computed values', () => {
    const ref = weeklyReference(parsedLines(lines), '2026-W47', 'UTC', catalog);
    expect(ref).toEqual(hand);
  });

  it('the CLI agrees with the hand-computed values', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cm-contract-ev-'));
    await writeExport(join(dir, 'export.jsonl'), lines);
    const files = await runReport(dir, '2026-W47', 'UTC');
    expect(allMismatches(files, hand)).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// Empty previous week, default timezone (UTC): change is empty

describe('contract: previous week empty, default timezone', () => {
  const lines: Rec[] = [
    ev('a', 'connect.cluster.login', '2026-11-16T00:00:00.000Z', { os: 'linux' }), // first instant of the week
    ev('b', 'connect.tab.open', '2026-11-22T23:59:59.999Z', { os: 'macos' }), // last instant
    ev('b', 'connect.tab.open', '2026-11-23T00:00:00.000Z', { os: 'win32' }), // next week: ignored
    ev('c', 'connect.protocol.use', '2026-11-16T23:59:59.999Z', { protocol: 'desktop', 'connect.os': 'windows' }),
    ev('c', 'connect.protocol.use', '2026-11-17T00:00:00.000Z', { protocol: 'desktop' }),
  ];
  it('writes previous 0 and an empty change; stickiness previous is 0 or empty', async () => {
    const ref = weeklyReference(parsedLines(lines), '2026-W47', 'UTC', catalog);
    // By hand: DAU Mon {a,c}=2, Tue {c}=1, Sun {b}=1; WAU 3; events 4.
    expect(ref.summary.rows).toEqual([
      ['wau', 3, 0, null],
      ['avg_dau', 4 / 7, 0, null],
      ['peak_dau', 2, 0, null],
      ['stickiness', 4 / 7 / 3, null, null],
      ['events', 4, 0, null],
    ]);
    expect(ref.dau.rows.map((r) => r[1])).toEqual([2, 1, 0, 0, 0, 0, 1]);
    expect(ref.platforms.rows.map((r) => r[1])).toEqual([1, 1, 1, 0, 0]);

    const dir = await mkdtemp(join(tmpdir(), 'cm-contract-ev-'));
    await writeExport(join(dir, 'one.jsonl'), lines);
    const files = await runReport(dir, '2026-W47', undefined);
    expectStickinessPreviousUndefinedCell(files);
    expect(allMismatches(files, ref, stickinessPrevious)).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// (b) DST weeks in America/Los_Angeles

describe('contract: DST weeks in America/Los_Angeles', () => {
  const names = ['connect.cluster.login', 'connect.protocol.use', 'connect.tab.open', '$pageview', 'connect.fileTransfer.run'];
  const walls = ['00:05', '00:45', '12:00', '23:15', '23:55'];
  const osValues = ['darwin', 'win32', 'linux', 'freebsd'];
  const protos = ['ssh', 'db', 'kube'];
  const lines: Rec[] = [];

  function pattern(from: string, to: string) {
    let d = DateTime.fromISO(from, { zone: LA });
    const end = DateTime.fromISO(to, { zone: LA });
    let di = 0;
    while (d < end) {
      for (let k = 0; k < 12; k++) {
        if ((di * 7 + k * 3) % 5 >= 2) continue;
        const wall = walls[(di + k) % walls.length]!;
        const ts = local(`${d.toISODate()}T${wall}:00.000`, LA);
        const name = names[(di * 3 + k) % names.length]!;
        const props: Record<string, unknown> = {};
        if (name === 'connect.protocol.use') props['protocol'] = protos[(di + 2 * k) % protos.length];
        if ((di + k) % 4 === 0) props['os'] = osValues[(di + k * 5) % osValues.length];
        lines.push(ev(`dst-${k}`, name, ts, props));
      }
      d = d.plus({ days: 1 });
      di += 1;
    }
  }
  // Fall: W43..W45 (Oct 19 - Nov 8); spring: W09..W11 (Feb 23 - Mar 15).
  pattern('2026-10-19', '2026-11-09');
  pattern('2026-02-23', '2026-03-16');

  // Fall explicit: around the W43/W44 and W44/W45 boundaries and the repeated 01:xx hour of Nov 1.
  lines.push(
    ev('fall-a', 'connect.cluster.login', local('2026-10-25T23:30', LA)), // W43 (Oct 26 06:30Z)
    ev('fall-b', 'connect.cluster.login', local('2026-10-26T00:10', LA)), // W44 (Oct 26 07:10Z)
    ev('fall-c', 'connect.cluster.login', '2026-11-01T01:30:00.000-07:00'), // first 01:30 of Nov 1
    ev('fall-d', 'connect.cluster.login', '2026-11-01T01:30:00.000-08:00'), // second 01:30 of Nov 1
    ev('fall-e', 'connect.tab.open', local('2026-11-01T23:30', LA), { os: 'linux' }), // W44 Sunday (Nov 2 07:30Z)
    ev('fall-e', '$pageview', local('2026-11-02T00:30', LA), { os: 'darwin' }), // W45: not for W44's platforms
    ev('fall-f', 'connect.tab.open', '2026-11-02T07:59:59.999Z'), // W44 last ms
    ev('fall-g', 'connect.tab.open', '2026-11-02T08:00:00.000Z'), // W45 first ms
    ev('fall-h', 'connect.tab.open', local('2026-11-08T23:50', LA)), // W45 last Sunday
    ev('fall-i', 'connect.tab.open', local('2026-10-31T23:50', LA)), // Saturday night before the change
    ev('fall-i', 'connect.tab.open', local('2026-11-01T00:10', LA)), // Sunday just after midnight
  );
  // Spring explicit: around W09/W10 and W10/W11 boundaries and the 02:xx gap of Mar 8.
  lines.push(
    ev('spr-a', 'connect.cluster.login', local('2026-03-01T23:30', LA)), // W09 (Mar 2 07:30Z)
    ev('spr-b', 'connect.cluster.login', local('2026-03-02T00:30', LA)), // W10 (Mar 2 08:30Z)
    ev('spr-c', 'connect.cluster.login', '2026-03-08T09:59:00.000Z'), // 01:59 PST Mar 8
    ev('spr-d', 'connect.cluster.login', '2026-03-08T10:00:00.000Z'), // 03:00 PDT Mar 8
    ev('spr-e', 'connect.tab.open', local('2026-03-08T23:30', LA), { os: 'win32' }), // W10 Sunday (Mar 9 06:30Z)
    ev('spr-e', '$pageview', local('2026-03-09T00:30', LA), { os: 'linux' }), // W11 (Mar 9 07:30Z < start + 168h)
    ev('spr-f', 'connect.tab.open', '2026-03-09T06:59:59.999Z'), // W10 last ms
    ev('spr-g', 'connect.tab.open', '2026-03-09T07:00:00.000Z'), // W11 first ms
    ev('spr-g', 'connect.tab.open', '2026-03-09T07:45:00.000Z'), // W11
  );

  it('a sanity check of the reference on the explicit boundary events', () => {
    const w44 = weeklyReference(parsedLines(lines), '2026-W44', LA, catalog);
    const w10 = weeklyReference(parsedLines(lines), '2026-W10', LA, catalog);
    const all = parsedLines(lines);
    // fall-e is linux in W44 (its darwin event is after the week end)
    const fallE = weeklyReference(
      all.filter((r) => (r as Rec).distinct_id === 'fall-e'),
      '2026-W44',
      LA,
      catalog,
    );
    expect(fallE.platforms.rows.find((r) => r[0] === 'linux')?.[1]).toBe(1);
    expect(fallE.dau.rows[6]).toEqual(['2026-11-01', 1]);
    const sprG = weeklyReference(
      all.filter((r) => (r as Rec).distinct_id === 'spr-g' || (r as Rec).distinct_id === 'spr-f'),
      '2026-W10',
      LA,
      catalog,
    );
    expect(sprG.summary.rows[0]).toEqual(['wau', 1, 0, null]);
    expect(w44.dau.rows.length).toBe(7);
    expect(w10.dau.rows[6]![0]).toBe('2026-03-08');
  });

  for (const week of ['2026-W44', '2026-W45', '2026-W10']) {
    it(`${week}: every cell matches the reference`, async () => {
      const dir = await mkdtemp(join(tmpdir(), 'cm-contract-ev-'));
      await writeExport(join(dir, 'fall', 'dst.jsonl'), lines.slice(0, Math.floor(lines.length / 2)));
      await writeExport(join(dir, 'spring', 'dst.jsonl.gz'), lines.slice(Math.floor(lines.length / 2)));
      const expected = weeklyReference(parsedLines(lines), week, LA, catalog);
      const files = await runReport(dir, week, LA);
      expect(allMismatches(files, expected)).toEqual([]);
    });
  }
});

// ---------------------------------------------------------------------------------------------
// (c) Edge cases: duplicates, aliases, OS lookup, ordering, injection, bad records, nested files

describe('contract: edge cases (America/Los_Angeles, 2026-W47)', () => {
  const L = (wall: string) => local(wall, LA);
  const dup1 = ev('c-dup', 'connect.cluster.login', L('2026-11-17T10:00'), { os: 'darwin' });
  const dup2 = ev('c-dup', 'connect.protocol.use', L('2026-11-17T11:00'), { protocol: 'ssh' });

  const part1: Array<Rec | string> = [
    dup1,
    // c-alias: draft-RFD names; OS only in person_properties
    ev('c-alias', 'connect.protcol.run', L('2026-11-18T09:00'), { protocol: 'proxy_db' }, { 'connect.os': 'win32' }),
    ev('c-alias', 'connect.accessRequests.create', L('2026-11-18T09:05'), {}, { 'connect.os': 'win32' }),
    ev('c-alias', 'connect.accessRequests.review', L('2026-11-18T09:10')),
    ev('c-alias', 'connect.accessRequests.assumeRole', L('2026-11-18T09:15')),
    ev('c-alias', 'connect.protcol.use', L('2026-11-18T09:20'), { 'connect.protocol': 'KUBE', protocol: 'ssh' }),
    ev('c-alias', 'connect.protocol.run', L('2026-11-18T09:25'), { 'connect.protocol': '', protocol: 'app' }),
    ev('c-alias', 'connect.beta.close', L('2026-11-18T09:30')),
    ev('c-alias', 'connect.beta.close', L('2026-11-19T09:30')),
    ev('c-alias', 'connect.beta.close', L('2026-11-20T09:30')),
    // c-person: OS in person_properties; a later event with an empty os carries none
    ev('c-person', 'connect.fileTransfer.run', L('2026-11-19T12:00'), {}, { os: 'linux' }),
    ev('c-person', 'connect.mid.open', L('2026-11-19T13:00'), { os: '' }, { os: 'linux' }),
    ev('c-person', 'connect.mid.open', L('2026-11-20T13:00'), { os: '' }, {}),
    // precedence: event properties before person_properties; connect.os before os
    ev('c-prec', 'connect.alpha.open', L('2026-11-19T08:00'), { os: 'linux' }, { 'connect.os': 'darwin' }),
    ev('c-prec', 'connect.protocol.use', L('2026-11-19T08:10'), { 'connect.protocol': 'ssh' }),
    ev('c-prec', 'connect.protocol.use', L('2026-11-19T08:20'), { 'connect.protocol': 'ssh' }),
    ev('c-prec', 'connect.protocol.use', L('2026-11-19T08:30'), { protocol: 'Proxy_DB' }),
    ev('c-prec2', 'connect.cluster.login', L('2026-11-16T00:01')),
    ev('c-prec2', 'connect.alpha.open', L('2026-11-20T08:00'), { 'connect.os': 'win32', os: 'linux' }, { os: 'darwin' }),
    ev('c-prec2', 'connect.protocol.use', L('2026-11-20T08:10'), { 'connect.protocol': 'kube' }),
  ];
  const part2: Array<Rec | string> = [
    dup1, // same uuid as in part1
    // c-noos: no OS anywhere
    ev('c-noos', 'connect.connectMyComputer.setup', L('2026-11-21T10:00')),
    ev('c-noos', '$pageview', L('2026-11-21T10:01')),
    ev('c-noos', 'connect.mid.open', L('2026-11-21T10:02')),
    ev('c-noos', 'connect.protocol.use', L('2026-11-21T10:03')),
    ev('c-noos', 'connect.protocol.use', L('2026-11-21T10:04'), { protocol: '=cmd' }),
    // c-hist: OS only in an event before the previous week
    ev('c-hist', '$identify', L('2026-11-03T10:00'), { os: 'darwin' }),
    ev('c-hist', 'connect.cluster.login', L('2026-11-17T23:59')),
    ev('c-hist', 'connect.zeta.open', L('2026-11-18T00:01')),
    ev('c-hist', 'connect.protocol.use', L('2026-11-18T00:02'), { protocol: 'we,"ird"' }),
    // c-change: OS changes mid-week, the latest wins
    ev('c-change', 'connect.tab.open', L('2026-11-17T10:00'), { 'connect.os': 'darwin' }),
    ev('c-change', 'connect.tab.open', L('2026-11-19T10:00'), { 'connect.os': 'windows' }),
  ];
  const part3: Array<Rec | string> = [
    dup2,
    dup2, // twice in one file
    rawLine(dup2, { _inserted_at: '2026-11-24T01:00:00.000Z' }), // re-exported later: same uuid
    // c-after: an OS event after the week end is ignored
    ev('c-after', 'connect.cluster.login', L('2026-11-18T10:00'), { os: 'linux' }),
    ev('c-after', 'connect.zeta.open', L('2026-11-18T11:00')),
    ev('c-after', '$pageview', L('2026-11-23T01:00'), { os: 'win32' }),
    ev('c-after', 'connect.cluster.login', L('2026-11-23T01:05'), { os: 'win32' }),
    // c-lastmin: an OS event late on the last local Sunday (after the UTC week end) counts
    ev('c-lastmin', 'connect.cluster.login', L('2026-11-18T10:00'), { os: 'linux' }),
    ev('c-lastmin', '$pageview', L('2026-11-22T23:30'), { os: 'win32' }),
    // c-pageos: the OS comes from a non-connect event
    ev('c-pageos', 'connect.mid.open', L('2026-11-19T10:00')),
    ev('c-pageos', '$pageview', L('2026-11-20T10:00'), { os: 'freebsd' }),
    // c-inactive: only non-connect events
    ev('c-inactive', '$pageview', L('2026-11-19T10:00'), { os: 'linux' }),
    ev('c-inactive', 'connectivity.check', L('2026-11-19T10:05')),
    // c-prevonly: previous week only (Sunday 23:59 local, before the report week)
    ev('c-prevonly', 'connect.cluster.login', L('2026-11-15T23:59'), { os: 'linux' }),
    ev('c-prevonly', 'connect.cluster.login', L('2026-11-10T12:00')),
    // bad records
    'this is not json',
    '{"uuid":"0192aaaa-0000-7000-8000-ffffffffffff","event":"connect.cluster.login"',
    line(ev(undefined, 'connect.cluster.login', L('2026-11-18T10:00'), { os: 'freebsd' })),
    line(ev('c-badts', 'connect.cluster.login', 'not-a-time', { os: 'freebsd' })),
    '',
    'null',
    '[1,2]',
    '42',
    rawLine(ev('x', 'connect.cluster.login', L('2026-11-18T10:00')), { distinct_id: null }),
    rawLine(ev('c-badts2', 'connect.cluster.login', L('2026-11-18T10:00')), { timestamp: undefined }),
    rawLine(ev('c-badts2', 'connect.cluster.login', L('2026-11-18T10:00')), { timestamp: '' }),
    // c-inactive again: names that do not start with "connect."
    ev('c-inactive', 'Connect.cluster.login', L('2026-11-19T10:10')),
    ev('c-inactive', 'connect', L('2026-11-19T10:11')),
    ev('c-inactive', 'connect_cluster.login', L('2026-11-19T10:12')),
    // c-proto: null values fall through; protocols that need escaping; a name that needs quoting
    ev('c-proto', 'connect.protocol.use', L('2026-11-21T09:00'), { 'connect.protocol': null, protocol: 'desktop' }, {}),
    ev('c-proto', 'connect.protocol.use', L('2026-11-21T09:01'), { protocol: '+x' }),
    ev('c-proto', 'connect.protocol.use', L('2026-11-21T09:02'), { protocol: '-x' }),
    ev('c-proto', 'connect.protocol.use', L('2026-11-21T09:03'), { protocol: '@x' }),
    ev('c-proto', 'connect.protocol.use', L('2026-11-21T09:04'), { protocol: '\tx' }),
    ev('c-proto', 'connect.protocol.use', L('2026-11-21T09:05'), { protocol: '\rx' }),
    ev('c-proto', 'connect.weird,"name"', L('2026-11-21T09:06'), { 'connect.os': null, os: 'linux' }),
  ];

  it('every cell matches the reference and the hand-checked points', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cm-contract-ev-'));
    await writeExport(join(dir, 'a', '2026', '11', 'part-1.jsonl'), part1);
    await writeExport(join(dir, 'b', 'nested', 'deeper', 'part-2.jsonl.gz'), part2);
    await writeExport(join(dir, 'part-3.jsonl'), part3);
    const expected = weeklyReference(parsedLines([...part1, ...part2, ...part3]), '2026-W47', LA, catalog);

    // Hand-checked points of the expectation (guards the reference).
    expect(expected.summary.rows[0]!.slice(0, 3)).toEqual(['wau', 12, 1]);
    expect(expected.platforms.rows).toEqual([
      ['macos', 2, 2 / 12],
      ['windows', 4, 4 / 12],
      ['linux', 4, 4 / 12],
      ['other', 1, 1 / 12],
      ['unknown', 1, 1 / 12],
    ]);
    expect(expected.protocols.rows.map((r) => [r[0], r[1], r[2]])).toEqual([
      ['db', 2, 2],
      ['kube', 2, 2],
      ['ssh', 3, 2],
      ['\tx', 1, 1],
      ['\rx', 1, 1],
      ['+x', 1, 1],
      ['-x', 1, 1],
      ['=cmd', 1, 1],
      ['@x', 1, 1],
      ['app', 1, 1],
      ['desktop', 1, 1],
      ['unknown', 1, 1],
      ['we,"ird"', 1, 1],
    ]);
    expect(expected.features.rows.map((r) => [r[0], r[1], r[2]])).toEqual([
      ['login', 5, 5],
      ['protocol_use', 17, 7],
      ['access_request_create', 1, 1],
      ['access_request_review', 1, 1],
      ['access_request_assume_role', 1, 1],
      ['file_transfer', 1, 1],
      ['connect_my_computer_setup', 1, 1],
      ['connect_my_computer_agent_start', 0, 0],
      ['connect.mid.open', 4, 3],
      ['connect.alpha.open', 2, 2],
      ['connect.zeta.open', 2, 2],
      ['connect.beta.close', 3, 1],
      ['connect.tab.open', 2, 1],
      ['connect.weird,"name"', 1, 1],
    ]);

    const files = await runReport(dir, '2026-W47', LA);
    expect(allMismatches(files, expected)).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// Timestamp formats: ISO 8601 with offsets and microseconds (UTC report)

describe('contract: ISO 8601 timestamps with offsets (UTC, 2026-W47)', () => {
  const lines: Rec[] = [
    ev('f1', 'connect.cluster.login', '2026-11-17T23:30:00-02:00'), // Nov 18 01:30Z
    ev('f2', 'connect.cluster.login', '2026-11-16T01:00:00+05:00'), // Nov 15 20:00Z: previous week
    ev('f3', 'connect.cluster.login', '2026-11-20T10:00:00.123000+00:00', { os: 'linux' }),
    ev('f3', 'connect.cluster.login', '2026-11-21T10:00:00Z', { os: 'win32' }),
    ev('f4', 'connect.tab.open', '2026-11-22T23:30:00.000-01:00'), // Nov 23 00:30Z: next week
    ev('f5', 'connect.tab.open', '2026-11-22T20:00:00.000-03:00'), // Nov 22 23:00Z
  ];
  it('every cell matches the reference', async () => {
    const expected = weeklyReference(parsedLines(lines), '2026-W47', 'UTC', catalog);
    // By hand: Mon 0, Tue 0, Wed {f1}, Thu 0, Fri {f3}, Sat {f3}, Sun {f5}; previous {f2}.
    expect(expected.dau.rows.map((r) => r[1])).toEqual([0, 0, 1, 0, 1, 1, 1]);
    // No change: neither week is fully covered (days without events; issue 14).
    expect(expected.summary.rows[0]).toEqual(['wau', 3, 1, null]);
    const dir = await mkdtemp(join(tmpdir(), 'cm-contract-ev-'));
    await writeExport(join(dir, 'formats.jsonl'), lines);
    const files = await runReport(dir, '2026-W47', 'UTC');
    expect(allMismatches(files, expected)).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// Out-of-range times of day are not ISO 8601: unparsable, so excluded

describe('contract: timestamps with an out-of-range time of day are unusable (UTC, 2026-W47)', () => {
  const lines: Rec[] = [
    ev('ok', 'connect.cluster.login', '2026-11-16T10:00:00.000Z'),
    ev('bad-hour', 'connect.cluster.login', '2026-11-17T25:00:00Z'), // hour 25 does not exist
    ev('bad-minute', 'connect.cluster.login', '2026-11-19T10:61:00Z'), // minute 61 does not exist
  ];
  it('they make nobody active', async () => {
    const expected = weeklyReference(parsedLines(lines), '2026-W47', 'UTC', catalog);
    // By hand: only "ok", on Monday.
    expect(expected.summary.rows[0]).toEqual(['wau', 1, 0, null]);
    expect(expected.dau.rows.map((r) => r[1])).toEqual([1, 0, 0, 0, 0, 0, 0]);
    const dir = await mkdtemp(join(tmpdir(), 'cm-contract-ev-'));
    await writeExport(join(dir, 'times.jsonl'), lines);
    const files = await runReport(dir, '2026-W47', 'UTC');
    expectStickinessPreviousUndefinedCell(files);
    expect(allMismatches(files, expected, stickinessPrevious)).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// (d) A seeded random data set, compared in full for three timezones


function randomDataset(seed: number): { files: Array<{ path: string; lines: Array<Rec | string> }>; all: Array<Rec | string> } {
  const rand = mulberry32(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const catalogNames = catalog.features.flatMap((f) => f.events);
  const protocolNames = catalog.features.find((f) => f.id === 'protocol_use')!.events;
  const uncatalogued = ['connect.tab.open', 'connect.tab.close', 'connect.settings.open', 'connect.vnet.start', 'connect.docs.click'];
  const nonConnect = ['$pageview', '$identify', 'connectivity.check', '$autocapture'];
  const osValues = ['darwin', 'macos', 'win32', 'windows', 'linux', 'freebsd', 'ubuntu'];
  const protoValues = ['ssh', 'ssh', 'SSH', 'db', 'proxy_db', 'PROXY_DB', 'kube', 'Kube', 'app', 'desktop', ''];

  const installations = Array.from({ length: 140 }, (_, i) => ({
    id: i % 17 === 0 ? `inst,${i}"q"` : `inst-${String(i).padStart(3, '0')}`,
    weight: 0.2 + rand() * 3,
    os: rand() < 0.15 ? undefined : pick(osValues),
    used: new Set<number>(),
  }));
  const totalWeight = installations.reduce((s, x) => s + x.weight, 0);
  const pickInstallation = () => {
    let r = rand() * totalWeight;
    for (const inst of installations) {
      r -= inst.weight;
      if (r <= 0) return inst;
    }
    return installations[installations.length - 1]!;
  };

  const early = Date.parse('2026-10-19T00:00:00Z');
  const heavy = Date.parse('2026-11-08T00:00:00Z');
  const last = Date.parse('2026-11-24T06:00:00Z');
  const records: Rec[] = [];
  for (let n = 0; n < 3200; n++) {
    const inst = pickInstallation();
    let ms: number;
    do {
      ms = rand() < 0.25 ? early + Math.floor(rand() * (heavy - early)) : heavy + Math.floor(rand() * (last - heavy));
      if (rand() < 0.1) ms -= ms % 60_000; // some whole minutes
    } while (inst.used.has(ms));
    inst.used.add(ms);
    const c = rand();
    const name = c < 0.55 ? pick(catalogNames) : c < 0.7 ? pick(uncatalogued) : pick(nonConnect);
    const props: Record<string, unknown> = { $lib: 'web' };
    const person: Record<string, unknown> = {};
    if (protocolNames.includes(name)) {
      const where = rand();
      if (where < 0.45) props['connect.protocol'] = pick(protoValues);
      else if (where < 0.8) props['protocol'] = pick(protoValues);
      else if (where < 0.9) {
        props['connect.protocol'] = pick(protoValues);
        props['protocol'] = pick(protoValues);
      }
    }
    if (inst.os !== undefined && rand() < 0.4) {
      if (rand() < 0.08) inst.os = pick(osValues); // the OS changes now and then
      const value = rand() < 0.05 ? '' : inst.os;
      const where = rand();
      if (where < 0.3) props['connect.os'] = value;
      else if (where < 0.6) props['os'] = value;
      else if (where < 0.8) person['connect.os'] = value;
      else person['os'] = value;
      if (rand() < 0.1) person['os'] = pick(osValues); // lower precedence, usually shadowed
    }
    const iso = new Date(ms).toISOString();
    const timestamp = rand() < 0.3 ? `${iso.slice(0, 23)}000+00:00` : iso;
    records.push(ev(inst.id, name, timestamp, props, person));
  }

  const fileNames = ['2026/10/a.jsonl', '2026/11/b.jsonl.gz', '2026/11/deep/c.jsonl', 'd.jsonl.gz', 'e.jsonl'];
  const files = fileNames.map((path) => ({ path, lines: [] as Array<Rec | string> }));
  for (const r of records) {
    pick(files).lines.push(r);
    if (rand() < 0.04) pick(files).lines.push(r); // duplicate, same or another file
  }
  const bad = [
    '{"broken json',
    line(ev(undefined, 'connect.cluster.login', '2026-11-18T10:00:00.000Z')),
    line(ev('inst-bad-ts', 'connect.cluster.login', 'not-a-time')),
    line(ev('inst-001', 'connect.protocol.use', 'not-a-time', { protocol: 'ssh' })),
  ];
  for (const b of bad) pick(files).lines.push(b);
  return { files, all: files.flatMap((f) => f.lines) };
}

describe('contract: seeded random data set', () => {
  const data = randomDataset(20261116);
  let dir: string | undefined;
  // One store for the three runs: the store is a cache of the files, not of a timezone's results.
  let dataDir: string | undefined;
  const eventsDir = async () => {
    if (dir) return dir;
    dir = await mkdtemp(join(tmpdir(), 'cm-contract-ev-'));
    for (const f of data.files) await writeExport(join(dir, f.path), f.lines);
    return dir;
  };

  for (const zone of ['UTC', LA, KOLKATA]) {
    it(`${zone}: every cell matches the reference`, async () => {
      const expected = weeklyReference(parsedLines(data.all), '2026-W47', zone, catalog);
      // the data must exercise what it is meant to
      expect(Number(expected.summary.rows[0]![1])).toBeGreaterThan(50);
      expect(expected.features.rows.length).toBeGreaterThan(catalog.features.length);
      expect(expected.protocols.rows.length).toBeGreaterThan(3);
      dataDir ??= await mkdtemp(join(tmpdir(), 'cm-contract-data-'));
      const files = await runReport(await eventsDir(), '2026-W47', zone, dataDir);
      expect(allMismatches(files, expected)).toEqual([]);
    });
  }

  it('with the default privacy threshold (5), small cells are folded into other exactly as the rule says', async () => {
    const t = (h: number) => `2026-11-17T${String(h).padStart(2, '0')}:00:00.000Z`;
    const lines: Rec[] = [];
    const login = (u: string, os?: string) => lines.push(ev(u, 'connect.cluster.login', t(8), os ? { 'connect.os': os } : {}));
    for (let i = 1; i <= 12; i++) login(`u${i}`, 'darwin');
    login('u13', 'win32');
    login('u14', 'win32');
    login('u15', 'freebsd');
    login('u16');
    for (let i = 1; i <= 7; i++) lines.push(ev(`u${i}`, 'connect.protocol.use', t(9), { 'connect.protocol': 'ssh' }));
    for (const u of ['u8', 'u9']) lines.push(ev(u, 'connect.protocol.use', t(9), { 'connect.protocol': 'db' }), ev(u, 'connect.protocol.use', t(10), { 'connect.protocol': 'db' }));
    lines.push(ev('u10', 'connect.protocol.use', t(9), { 'connect.protocol': 'kube' }));
    for (const u of ['u1', 'u2', 'u3']) lines.push(ev(u, 'connect.accessRequest.create', t(11)));
    lines.push(ev('u1', 'connect.foo.bar', t(12)));
    for (let i = 1; i <= 6; i++) lines.push(ev(`u${i}`, 'connect.big.thing', t(12)));
    const dir = await mkdtemp(join(tmpdir(), 'cm-contract-ev-'));
    await writeExport(join(dir, 'small.jsonl'), lines);
    const raw = weeklyReference(parsedLines(lines), '2026-W47', 'UTC', catalog);
    const expected = withPrivacy(raw, 5);
    // By hand: other in features = access requests (3 users) + connect.foo.bar (1) = 4, itself under
    // 5, so written empty (issue 14: no small cell reappears as other); protocols: ssh stays, db (2
    // users) + kube (1) = 3: empty; platforms: windows (2) and unknown (1) join other (freebsd, 1) = 4
    // of 16: empty too.
    expect(expected.features.rows.at(-1)).toEqual(['other', null, null, null]);
    expect(expected.features.rows.at(-2)).toEqual(['connect.big.thing', 6, 6, 6 / 16]);
    expect(expected.protocols.rows).toEqual([['ssh', 7, 7, 7 / 16], ['other', null, null, null]]);
    expect(expected.platforms.rows.map((r) => r.slice(0, 2))).toEqual([['macos', 12], ['windows', null], ['linux', 0], ['other', null], ['unknown', null]]);
    const files = await runReport(dir, '2026-W47', 'UTC', undefined, null);
    expect(allMismatches(files, expected, stickinessPrevious)).toEqual([]);
    // No breakdown cell shows 1 to 4 installations, the combined `other` included.
    for (const [table, col] of [['features', 2], ['protocols', 2], ['platforms', 1]] as const) {
      for (const row of parseCsv(files[table]).slice(1)) {
        const n = Number(row[col]);
        expect(row[col] === '' || n === 0 || n >= 5, `${table} ${row[0]}: ${row[col]}`).toBe(true);
      }
    }
  });
});

// ---------------------------------------------------------------------------------------------
// The store is a cache: a changed file must be read again

describe('contract: a reused --data-dir follows file changes', () => {
  it('appending to a file changes the report', async () => {
    const first: Rec[] = [
      ev('k1', 'connect.cluster.login', '2026-11-17T10:00:00.000Z', { os: 'linux' }),
      ev('k2', 'connect.protocol.use', '2026-11-10T10:00:00.000Z', { protocol: 'ssh' }),
    ];
    const second: Rec[] = [...first, ev('k3', 'connect.protocol.use', '2026-11-18T10:00:00.000Z', { protocol: 'db', os: 'darwin' })];
    const dir = await mkdtemp(join(tmpdir(), 'cm-contract-ev-'));
    const dataDir = await mkdtemp(join(tmpdir(), 'cm-contract-data-'));
    await writeExport(join(dir, 'grow.jsonl'), first);
    const before = await runReport(dir, '2026-W47', 'UTC', dataDir);
    expect(allMismatches(before, weeklyReference(parsedLines(first), '2026-W47', 'UTC', catalog))).toEqual([]);
    await writeExport(join(dir, 'grow.jsonl'), second);
    const after = await runReport(dir, '2026-W47', 'UTC', dataDir);
    expect(allMismatches(after, weeklyReference(parsedLines(second), '2026-W47', 'UTC', catalog))).toEqual([]);
  });
});
