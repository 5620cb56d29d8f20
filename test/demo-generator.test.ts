import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { generateDemoEvents, writeDemoExport, type DemoOptions, type ExportRecord } from '../src/demo/generator.ts';
import { writeDemoCdnLogs } from '../src/demo/cdn-logs.ts';
import { downloadsReference, type CdnRecord } from './reference/downloads-reference.ts';
import { parseCsv, runCli, tempDir, writeExport } from './helpers/fixtures.ts';

const DAY = 86_400_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const HASH44 = /^[A-Za-z0-9+/]{43}=$/;

const EVENTS = new Set([
  'connect.cluster.login',
  'connect.protocol.use',
  'connect.accessRequest.create',
  'connect.accessRequest.review',
  'connect.accessRequest.assumeRole',
  'connect.fileTransfer.run',
  'connect.connectMyComputer.setup',
  'connect.connectMyComputer.agentStart',
  'connect.vnet.start',
  // draft-RFD names from old builds
  'connect.protcol.run',
  'connect.accessRequests.create',
  'connect.accessRequests.review',
  'connect.accessRequests.assumeRole',
]);

const isoString = z.string().regex(ISO).refine((s) => new Date(s).toISOString() === s, 'not a real instant');
const recordSchema = z.strictObject({
  uuid: z.string().regex(UUID),
  event: z.string().refine((e) => EVENTS.has(e), 'unexpected event name'),
  distinct_id: z.string().regex(/^connect\.[0-9a-f-]{36}$/),
  person_id: z.string().regex(UUID),
  properties: z.record(z.string(), z.unknown()),
  person_properties: z.record(z.string(), z.unknown()),
  elements_chain: z.literal(''),
  timestamp: isoString,
  created_at: isoString,
  _inserted_at: isoString,
});

// Two weeks starting on a Monday.
const TWO_WEEKS: DemoOptions = {
  seed: 20261109,
  start: new Date('2026-11-09T00:00:00Z'),
  end: new Date('2026-11-23T00:00:00Z'),
  installations: 2000,
};
const big = [...generateDemoEvents(TWO_WEEKS)];

const ms = (iso: string): number => Date.parse(iso);
const osOf = (r: ExportRecord): unknown => r.properties['connect.os'] ?? r.properties['os'];

describe('generateDemoEvents', () => {
  it('is deterministic for a seed and differs across seeds', () => {
    const opts: DemoOptions = { ...TWO_WEEKS, installations: 300, end: new Date('2026-11-13T00:00:00Z') };
    const a = [...generateDemoEvents(opts)].map((r) => JSON.stringify(r));
    const iterable = generateDemoEvents(opts);
    const b = [...iterable].map((r) => JSON.stringify(r));
    const again = [...iterable].map((r) => JSON.stringify(r)); // re-iterable
    expect(a.length).toBeGreaterThan(1000);
    expect(b).toEqual(a);
    expect(again).toEqual(a);

    const c = [...generateDemoEvents({ ...opts, seed: opts.seed + 1 })];
    const uuidsA = new Set(a.map((l) => (JSON.parse(l) as ExportRecord).uuid));
    expect(c.filter((r) => uuidsA.has(r.uuid))).toHaveLength(0);
    expect(new Set(c.map((r) => r.distinct_id)).size).toBeGreaterThan(100);
    expect(c.some((r) => a[0]!.includes(r.distinct_id))).toBe(false);
  });

  it('produces records valid per the batch-export schema, inside the range', () => {
    const start = TWO_WEEKS.start.getTime();
    const end = TWO_WEEKS.end.getTime();
    expect(big.length).toBeGreaterThan(30_000);
    const problems: string[] = [];
    for (const r of big) {
      const parsed = recordSchema.safeParse(r);
      if (!parsed.success) problems.push(`${r.uuid}: ${parsed.error.message}`);
      const t = ms(r.timestamp);
      if (!(t >= start && t < end)) problems.push(`${r.uuid}: timestamp ${r.timestamp} outside the range`);
      if (!(ms(r.created_at) >= t && ms(r._inserted_at) >= ms(r.created_at))) problems.push(`${r.uuid}: times not ordered`);
      if (!(ms(r._inserted_at) < end)) problems.push(`${r.uuid}: inserted after the end`);
      if (!HASH44.test(String(r.properties['tp.cluster_name'])) || !HASH44.test(String(r.properties['tp.user_name']))) {
        problems.push(`${r.uuid}: tp.* hashes`);
      }
      if (problems.length > 5) break;
    }
    expect(problems).toEqual([]);
  });

  it('is in ingestion order', () => {
    for (let k = 1; k < big.length; k++) {
      if (big[k]!._inserted_at < big[k - 1]!._inserted_at) throw new Error(`out of order at ${k}`);
    }
  });

  it('keeps one distinct_id and person_id per installation', () => {
    const person = new Map<string, string>();
    let mismatches = 0;
    for (const r of big) {
      const p = person.get(r.distinct_id);
      if (p === undefined) person.set(r.distinct_id, r.person_id);
      else if (p !== r.person_id) mismatches++;
    }
    expect(mismatches).toBe(0);
    expect(new Set(person.values()).size).toBe(person.size);
    expect(person.size).toBeLessThanOrEqual(TWO_WEEKS.installations);
    expect(person.size).toBeGreaterThan(TWO_WEEKS.installations * 0.7);
  });

  it('repeats ~0.5% of rows in a later day, identical but for _inserted_at', () => {
    const first = new Map<string, ExportRecord>();
    let dups = 0;
    for (const r of big) {
      const o = first.get(r.uuid);
      if (o === undefined) {
        first.set(r.uuid, r);
        continue;
      }
      dups++;
      expect({ ...r, _inserted_at: '' }).toEqual({ ...o, _inserted_at: '' });
      expect(r._inserted_at.slice(0, 10) > o._inserted_at.slice(0, 10)).toBe(true);
    }
    expect(dups / big.length).toBeGreaterThan(0.002);
    expect(dups / big.length).toBeLessThan(0.008);
  });

  it('delivers most rows within about an hour and ~1% more than a day late', () => {
    const delays = big.map((r) => ms(r.created_at) - ms(r.timestamp));
    const late = delays.filter((d) => d > DAY).length / big.length;
    const withinHour = delays.filter((d) => d <= 3_700_000).length / big.length;
    expect(late).toBeGreaterThan(0.005);
    expect(late).toBeLessThan(0.02);
    expect(withinHour).toBeGreaterThan(0.97);
    expect(delays.filter((d) => d < 60_000).length / big.length).toBeLessThan(0.2);
  });

  it('has weekends at roughly a third of a weekday, and a growing base', () => {
    const dau = new Map<string, Set<string>>();
    const events = new Map<string, number>();
    for (const r of big) {
      const d = r.timestamp.slice(0, 10);
      let s = dau.get(d);
      if (s === undefined) dau.set(d, (s = new Set()));
      s.add(r.distinct_id);
      events.set(d, (events.get(d) ?? 0) + 1);
    }
    expect(dau.size).toBe(14);
    const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
    const isWeekend = (d: string): boolean => [0, 6].includes(new Date(d).getUTCDay());
    const days = [...dau.keys()];
    const weekdayDau = mean(days.filter((d) => !isWeekend(d)).map((d) => dau.get(d)!.size));
    const weekendDau = mean(days.filter(isWeekend).map((d) => dau.get(d)!.size));
    const weekdayEvents = mean(days.filter((d) => !isWeekend(d)).map((d) => events.get(d)!));
    const weekendEvents = mean(days.filter(isWeekend).map((d) => events.get(d)!));
    expect(weekendDau / weekdayDau).toBeGreaterThan(0.25);
    expect(weekendDau / weekdayDau).toBeLessThan(0.5);
    expect(weekendEvents / weekdayEvents).toBeGreaterThan(0.2);
    expect(weekendEvents / weekdayEvents).toBeLessThan(0.45);
    // Active installations on a weekday: a plausible DAU/installed-base ratio.
    expect(weekdayDau / TWO_WEEKS.installations).toBeGreaterThan(0.25);
    expect(weekdayDau / TWO_WEEKS.installations).toBeLessThan(0.6);
    // Growth outweighs churn: the second week's weekdays are busier than the first's.
    const weekdayOf = (week: number): number[] =>
      days.filter((d, k) => Math.floor(k / 7) === week && !isWeekend(d)).map((d) => dau.get(d)!.size);
    expect(mean(weekdayOf(1))).toBeGreaterThan(mean(weekdayOf(0)));
    // Heavy and light users: events per active day differ widely across installations.
    const perInstallation = new Map<string, number>();
    for (const r of big) perInstallation.set(r.distinct_id, (perInstallation.get(r.distinct_id) ?? 0) + 1);
    const counts = [...perInstallation.values()].sort((a, b) => a - b);
    expect(counts[Math.floor(counts.length * 0.9)]! / counts[Math.floor(counts.length * 0.1)]!).toBeGreaterThan(10);
  });

  it('follows working hours in each installation’s own time zone', () => {
    // Installations spread over time zones leave no UTC hour empty...
    const byHour = new Array<number>(24).fill(0);
    const perInstallation = new Map<string, number[]>();
    for (const r of big) {
      const h = new Date(r.timestamp).getUTCHours();
      byHour[h]!++;
      let hours = perInstallation.get(r.distinct_id);
      if (hours === undefined) perInstallation.set(r.distinct_id, (hours = new Array<number>(24).fill(0)));
      hours[h]!++;
    }
    expect(Math.min(...byHour)).toBeGreaterThan(0);
    // ...but each installation's events fall mostly within a 12-hour window of its own (uniform: 50%).
    const shares: number[] = [];
    for (const hours of perInstallation.values()) {
      const total = hours.reduce((a, b) => a + b, 0);
      if (total < 30) continue;
      let best = 0;
      for (let from = 0; from < 24; from++) {
        let sum = 0;
        for (let k = 0; k < 12; k++) sum += hours[(from + k) % 24]!;
        best = Math.max(best, sum);
      }
      shares.push(best / total);
    }
    expect(shares.length).toBeGreaterThan(100);
    expect(shares.reduce((a, b) => a + b, 0) / shares.length).toBeGreaterThan(0.85);
    // The busiest UTC hours are not the same as the quietest ones for different installations.
    const peaks = new Set([...perInstallation.values()].map((h) => h.indexOf(Math.max(...h))));
    expect(peaks.size).toBeGreaterThan(12);
  });

  it('has the expected OS mix, carried only on login events', () => {
    const os = new Map<string, string>();
    for (const r of big) {
      const v = osOf(r);
      if (v !== undefined) {
        expect(r.event).toBe('connect.cluster.login');
        os.set(r.distinct_id, String(v));
      }
    }
    const share = (name: string): number => [...os.values()].filter((v) => v === name).length / os.size;
    expect(share('darwin')).toBeGreaterThan(0.5);
    expect(share('darwin')).toBeLessThan(0.6);
    expect(share('win32')).toBeGreaterThan(0.26);
    expect(share('win32')).toBeLessThan(0.34);
    expect(share('linux')).toBeGreaterThan(0.11);
    expect(share('linux')).toBeLessThan(0.17);
    const other = 1 - share('darwin') - share('win32') - share('linux');
    expect(other).toBeGreaterThan(0.002);
    expect(other).toBeLessThan(0.025);

    const problems: string[] = [];
    for (const r of big.filter((x) => x.event === 'connect.cluster.login')) {
      const draft = r.properties['os'] !== undefined;
      const keys = draft ? ['os', 'arch', 'os_version', 'connect_version'] : ['connect.os', 'connect.arch', 'connect.os_version', 'connect.app_version'];
      if (!keys.every((k) => typeof r.properties[k] === 'string')) problems.push(`${r.uuid}: missing OS fields`);
      if (!['x64', 'arm64'].includes(r.properties[draft ? 'arch' : 'connect.arch'] as string)) problems.push(`${r.uuid}: arch`);
      if (!['local', 'passwordless', 'github', 'saml', 'oidc'].includes(r.properties['tp.connector_type'] as string)) problems.push(`${r.uuid}: connector`);
      if (!draft && !/^1[78]\.\d+\.\d+$/.test(r.properties['connect.app_version'] as string)) problems.push(`${r.uuid}: app version`);
    }
    expect(problems.slice(0, 5)).toEqual([]);

    // Some active installations stay unknown: no login in range and no person properties.
    const active = new Set(big.map((r) => r.distinct_id));
    const withPersonOs = new Set(big.filter((r) => r.person_properties['connect.os'] ?? r.person_properties['os']).map((r) => r.distinct_id));
    const unknown = [...active].filter((d) => !os.has(d) && !withPersonOs.has(d)).length / active.size;
    expect(unknown).toBeGreaterThan(0.01);
    expect(unknown).toBeLessThan(0.2);
    expect(big.some((r) => Object.keys(r.person_properties).length === 0)).toBe(true);
    expect(big.some((r) => r.person_properties['connect.os'] !== undefined && r.person_properties['connect.app_version'] !== undefined)).toBe(true);
  });

  it('mixes events, protocols and draft-RFD names like the real stream', () => {
    const count = new Map<string, number>();
    for (const r of big) count.set(r.event, (count.get(r.event) ?? 0) + 1);
    const sorted = [...count].sort((a, b) => b[1] - a[1]);
    expect(sorted[0]![0]).toBe('connect.protocol.use');
    for (const e of EVENTS) expect(count.get(e) ?? 0, e).toBeGreaterThan(0);

    const protocols = new Map<string, number>();
    const origins = new Set<unknown>();
    const accessThrough = new Set<unknown>();
    for (const r of big) {
      if (r.event !== 'connect.protocol.use') continue;
      const p = String(r.properties['connect.protocol']);
      protocols.set(p, (protocols.get(p) ?? 0) + 1);
      origins.add(r.properties['origin']);
      accessThrough.add(r.properties['access_through']);
    }
    expect([...protocols.keys()].sort()).toEqual(['app', 'db', 'desktop', 'kube', 'ssh']);
    expect([...origins].sort()).toEqual(['connection_list', 'reopened_session', 'resource_table', 'search_bar', 'vnet']);
    expect([...accessThrough].sort()).toEqual(['local_proxy', 'proxy_service', 'vnet']);
    expect([...protocols].sort((a, b) => b[1] - a[1])[0]![0]).toBe('ssh');

    const draftProtocols = new Set(big.filter((r) => r.event === 'connect.protcol.run').map((r) => r.properties['protocol']));
    expect(draftProtocols).toContain('proxy_db');
    expect(big.filter((r) => r.event === 'connect.accessRequests.create').every((r) => ['role', 'resource'].includes(r.properties['kind'] as string))).toBe(true);
    expect(big.filter((r) => r.event === 'connect.accessRequest.create').every((r) => ['role', 'resource'].includes(r.properties['connect.access_request_kind'] as string))).toBe(true);
    expect(big.filter((r) => r.event === 'connect.fileTransfer.run' && 'connect.file_transfer_is_upload' in r.properties).every((r) => typeof r.properties['connect.file_transfer_is_upload'] === 'boolean')).toBe(true);
    for (const r of big.filter((x) => x.event === 'connect.connectMyComputer.setup')) {
      expect(typeof r.properties['connect.setup.success']).toBe('boolean');
      if (r.properties['connect.setup.success'] === false) expect(typeof r.properties['connect.setup.failed_step']).toBe('string');
    }

    // About 5% of installations run the old build.
    const all = new Set(big.map((r) => r.distinct_id));
    const draftInstalls = new Set(
      big.filter((r) => r.event === 'connect.protcol.run' || r.properties['connect_version'] !== undefined).map((r) => r.distinct_id),
    );
    expect(draftInstalls.size / all.size).toBeGreaterThan(0.02);
    expect(draftInstalls.size / all.size).toBeLessThan(0.09);
    // An old build never emits implemented names.
    expect(big.some((r) => draftInstalls.has(r.distinct_id) && r.event === 'connect.protocol.use')).toBe(false);
  });

  it('scales the volume with eventsPerActiveDay', () => {
    const base: DemoOptions = { ...TWO_WEEKS, installations: 400, end: new Date('2026-11-16T00:00:00Z') };
    const n3 = [...generateDemoEvents({ ...base, eventsPerActiveDay: 3 })].length;
    const n12 = [...generateDemoEvents({ ...base, eventsPerActiveDay: 12 })].length;
    expect(n12 / n3).toBeGreaterThan(3);
    expect(n12 / n3).toBeLessThan(5);
  });

  it('rejects invalid options', () => {
    const ok = { ...TWO_WEEKS, installations: 10 };
    expect(() => generateDemoEvents({ ...ok, end: ok.start })).toThrow(RangeError);
    expect(() => generateDemoEvents({ ...ok, installations: -1 })).toThrow(RangeError);
    expect(() => generateDemoEvents({ ...ok, installations: 1.5 })).toThrow(RangeError);
    expect(() => generateDemoEvents({ ...ok, start: new Date('nope') })).toThrow(RangeError);
    expect(() => generateDemoEvents({ ...ok, eventsPerActiveDay: 0.5 })).toThrow(RangeError);
    expect([...generateDemoEvents({ ...ok, installations: 0 })]).toEqual([]);
  });
});

describe('writeDemoExport', () => {
  const dirs: string[] = [];
  const tempDir = async (): Promise<string> => {
    const d = await mkdtemp(path.join(tmpdir(), 'demo-export-'));
    dirs.push(d);
    return d;
  };
  afterAll(async () => {
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  const SMALL: DemoOptions = {
    seed: 7,
    start: new Date('2026-11-14T00:00:00Z'),
    end: new Date('2026-11-18T00:00:00Z'),
    installations: 500,
  };
  const NAME = /^(\d{4}-\d{2}-\d{2}T00:00:00Z)-(\d{4}-\d{2}-\d{2}T00:00:00Z)\.jsonl\.gz$/;

  const readLines = async (file: string): Promise<string[]> => {
    const text = gunzipSync(await readFile(file)).toString('utf8');
    expect(text.endsWith('\n')).toBe(true);
    return text.slice(0, -1).split('\n');
  };

  it('writes one gzip JSONL file per UTC day that round-trips to the generated records', async () => {
    const dir = await tempDir();
    const res = await writeDemoExport(dir, SMALL);
    expect(res.files.map((f) => path.basename(f))).toEqual([
      '2026-11-14T00:00:00Z-2026-11-15T00:00:00Z.jsonl.gz',
      '2026-11-15T00:00:00Z-2026-11-16T00:00:00Z.jsonl.gz',
      '2026-11-16T00:00:00Z-2026-11-17T00:00:00Z.jsonl.gz',
      '2026-11-17T00:00:00Z-2026-11-18T00:00:00Z.jsonl.gz',
    ]);
    expect((await readdir(dir)).sort()).toEqual(res.files.map((f) => path.basename(f)).sort()); // no temp files left

    const expected = [...generateDemoEvents(SMALL)].map((r) => JSON.stringify(r));
    const good: string[] = [];
    let truncated = 0;
    let noDistinctId = 0;
    let badTime = 0;
    for (const file of res.files) {
      const [, from, to] = NAME.exec(path.basename(file))!;
      const kinds = new Set<string>();
      for (const line of await readLines(file)) {
        let rec: Record<string, unknown>;
        try {
          rec = JSON.parse(line) as Record<string, unknown>;
        } catch {
          truncated++;
          kinds.add('truncated');
          continue;
        }
        if (rec['distinct_id'] === undefined) {
          noDistinctId++;
          kinds.add('no distinct_id');
          continue;
        }
        if (rec['timestamp'] === 'not-a-time') {
          badTime++;
          kinds.add('bad timestamp');
          continue;
        }
        const ins = rec['_inserted_at'] as string;
        expect(ins >= from!.replace('Z', '.000Z') && ins < to!.replace('Z', '.000Z')).toBe(true);
        good.push(line);
      }
      expect(kinds.size, path.basename(file)).toBe(3);
    }
    // Byte-for-byte the same rows as the iterator, in the same order.
    expect(good).toEqual(expected);
    expect(res.records).toBe(expected.length);
    expect(res.badRecords).toBe(truncated + noDistinctId + badTime);
    expect(res.badRecords).toBeGreaterThanOrEqual(3 * res.files.length);
    expect(res.badRecords).toBeLessThanOrEqual(6 * res.files.length);
    const uuids = good.map((l) => (JSON.parse(l) as ExportRecord).uuid);
    expect(res.duplicates).toBe(uuids.length - new Set(uuids).size);
  });

  it('writes bad records only when enabled, without changing the good ones, byte-identically per seed', async () => {
    const [a, b, c] = [await tempDir(), await tempDir(), await tempDir()];
    const withBad = await writeDemoExport(a, SMALL);
    const again = await writeDemoExport(b, SMALL);
    const clean = await writeDemoExport(c, { ...SMALL, badRecords: false });
    expect(clean.badRecords).toBe(0);
    expect(clean.records).toBe(withBad.records);
    expect(clean.duplicates).toBe(withBad.duplicates);
    for (let k = 0; k < withBad.files.length; k++) {
      expect(await readFile(again.files[k]!)).toEqual(await readFile(withBad.files[k]!));
      const cleanLines = await readLines(clean.files[k]!);
      for (const line of cleanLines) {
        const rec = recordSchema.parse(JSON.parse(line));
        expect(rec.timestamp).not.toBe('not-a-time');
      }
      const goodOfBad = (await readLines(withBad.files[k]!)).filter((l) => {
        try {
          const r = JSON.parse(l) as Record<string, unknown>;
          return r['distinct_id'] !== undefined && r['timestamp'] !== 'not-a-time';
        } catch {
          return false;
        }
      });
      expect(goodOfBad).toEqual(cleanLines);
    }
  });

  it('writes an empty file for a day with no rows', async () => {
    const dir = await tempDir();
    const res = await writeDemoExport(dir, { ...SMALL, installations: 0 });
    expect(res).toMatchObject({ records: 0, badRecords: 0, duplicates: 0 });
    expect(res.files).toHaveLength(4);
    expect(gunzipSync(await readFile(res.files[0]!)).length).toBe(0);
  });
});

// ---------------------------------------------------------------------------------------------------
// The demo's other kinds of data: CDN logs, a release, the clusters' logins, tracking-plan violations.
// Every expectation below is computed here from the generated data, never read from the project's output.

const UUID_BODY = '[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}';
const CONNECT_ID = new RegExp(`^connect\\.${UUID_BODY}$`);

/** 13 weeks like `npm start`, a small base, with everything the demo turns on. */
const THIRTEEN_WEEKS: DemoOptions = {
  seed: 42,
  start: new Date('2026-08-31T00:00:00Z'),
  end: new Date('2026-11-30T00:00:00Z'),
  installations: 400,
  clusterLogins: true,
  violations: true,
};
const full = [...generateDemoEvents(THIRTEEN_WEEKS)];
const mondayOf = (iso: string): string => {
  const d = new Date(iso.slice(0, 10) + 'T00:00:00Z');
  d.setUTCDate(d.getUTCDate() - ((d.getUTCDay() + 6) % 7));
  return d.toISOString().slice(0, 10);
};
/** The version an event carries (event property, draft name, or the person properties on it). */
const versionOf = (r: ExportRecord): string | undefined =>
  (r.properties['connect.app_version'] ?? r.properties['connect_version'] ?? r.person_properties['connect.app_version'] ?? r.person_properties['connect_version']) as string | undefined;

describe('demo release', () => {
  it('brings out a release inside the last 12 weeks that reaches half of the active installations', () => {
    // Plain adoption: per day, installations that have sent an event carrying 18.3.0 so far, over the
    // installations active (any connect.* event) in that day's week.
    const connect = full.filter((r) => r.event.startsWith('connect.') && CONNECT_ID.test(r.distinct_id));
    const activeByWeek = new Map<string, Set<string>>();
    for (const r of connect) {
      const w = mondayOf(r.timestamp);
      if (!activeByWeek.has(w)) activeByWeek.set(w, new Set());
      activeByWeek.get(w)!.add(r.distinct_id);
    }
    const firstRun = new Map<string, string>();
    for (const r of connect) {
      if (versionOf(r) !== '18.3.0') continue;
      const day = r.timestamp.slice(0, 10);
      const seen = firstRun.get(r.distinct_id);
      if (seen === undefined || day < seen) firstRun.set(r.distinct_id, day);
    }
    const days = [...new Set(firstRun.values())].sort();
    const firstSeen = days[0]!;
    // Inside the 12 weeks to the last one, after the first (which a report cannot tell from "always there").
    expect(firstSeen > '2026-09-07').toBe(true);
    expect(firstSeen < '2026-11-23').toBe(true);
    let reachedHalf: string | undefined;
    for (let d = new Date(firstSeen + 'T00:00:00Z'); d < THIRTEEN_WEEKS.end; d.setUTCDate(d.getUTCDate() + 1)) {
      const day = d.toISOString().slice(0, 10);
      const ran = [...firstRun.values()].filter((f) => f <= day).length;
      if (ran / activeByWeek.get(mondayOf(day))!.size >= 0.5) {
        reachedHalf = day;
        break;
      }
    }
    expect(reachedHalf).toBeDefined();
    const daysToHalf = (Date.parse(reachedHalf!) - Date.parse(firstSeen)) / DAY;
    expect(daysToHalf).toBeGreaterThan(2);
    expect(daysToHalf).toBeLessThan(28);
    // Nobody runs it before it is out; another release comes out in the last week.
    expect(connect.filter((r) => versionOf(r) === '18.3.0').every((r) => r.timestamp.slice(0, 10) >= firstSeen)).toBe(true);
    expect(connect.filter((r) => versionOf(r) === '18.4.0').every((r) => r.timestamp >= '2026-11-23')).toBe(true);
    expect(connect.some((r) => versionOf(r) === '18.4.0')).toBe(true);
  });
});

describe('demo cluster logins', () => {
  const clusterLogins = full.filter((r) => r.event === 'tp.user.login');
  const connectLogins = full.filter((r) => r.event === 'connect.cluster.login' && CONNECT_ID.test(r.distinct_id));

  it('are shaped like Teleport usage events', () => {
    expect(clusterLogins.length).toBeGreaterThan(1000);
    for (const r of clusterLogins.slice(0, 2000)) {
      expect(r.distinct_id).toMatch(new RegExp(`^tp\\.${UUID_BODY}$`));
      expect(r.properties['tp.user_name']).toMatch(HASH44);
      const connector = r.properties['tp.connector_type'];
      if (connector !== undefined) expect(['github', 'saml', 'oidc']).toContain(connector);
      expect(Object.keys(r.properties).every((k) => k === 'tp.user_name' || k === 'tp.connector_type')).toBe(true);
    }
    // SSO and local logins both occur.
    expect(clusterLogins.some((r) => r.properties['tp.connector_type'] === undefined)).toBe(true);
    expect(new Set(clusterLogins.map((r) => r.properties['tp.connector_type']).filter(Boolean)).size).toBe(3);
    // Their uuids are nobody else's.
    const uuids = new Set(full.filter((r) => r.event !== 'tp.user.login').map((r) => r.uuid));
    expect(clusterLogins.some((r) => uuids.has(r.uuid))).toBe(false);
  });

  it('carry the same hash as the Connect login of the same user, a few seconds before it', () => {
    const clusterTimes = new Map<string, number[]>();
    for (const r of clusterLogins) {
      const u = r.properties['tp.user_name'] as string;
      if (!clusterTimes.has(u)) clusterTimes.set(u, []);
      clusterTimes.get(u)!.push(ms(r.timestamp));
    }
    let mirrored = 0;
    let unmatched = 0;
    const clustersWithout = new Set<string>();
    for (const r of connectLogins) {
      const times = clusterTimes.get(r.properties['tp.user_name'] as string);
      if (times === undefined) {
        unmatched++;
        clustersWithout.add(r.properties['tp.cluster_name'] as string);
        continue;
      }
      const t = ms(r.timestamp);
      if (times.some((c) => c <= t && t - c <= 10_000)) mirrored++;
    }
    const matched = connectLogins.length - unmatched;
    // Logins to clusters that report are all seen by the cluster (when it happened inside the range).
    expect(mirrored / matched).toBeGreaterThan(0.99);
    // Some Connect users log in to clusters that never report.
    expect(unmatched).toBeGreaterThan(0);
    expect(clustersWithout.size).toBeGreaterThan(1);
  });

  it('give a share of Connect users among cluster users, with users on two clusters', () => {
    // The share as issue 15 defines it, per week: distinct tp.user_name with a tp.user.login, and of
    // them those that also have a connect.cluster.login in the same week.
    const clusterUsers = new Map<string, Set<string>>();
    const connectUsers = new Map<string, Set<string>>();
    const add = (m: Map<string, Set<string>>, r: ExportRecord): void => {
      const w = mondayOf(r.timestamp);
      if (!m.has(w)) m.set(w, new Set());
      m.get(w)!.add(r.properties['tp.user_name'] as string);
    };
    clusterLogins.forEach((r) => add(clusterUsers, r));
    connectLogins.forEach((r) => add(connectUsers, r));
    const shares = [...clusterUsers].map(([w, users]) => [...users].filter((u) => connectUsers.get(w)?.has(u)).length / users.size);
    expect(shares.length).toBe(13);
    for (const s of shares) {
      expect(s).toBeGreaterThan(0.1);
      expect(s).toBeLessThan(0.9);
    }
    // One installation logs in to two clusters that report: two hashes, each seen by its cluster.
    const hashesByInstallation = new Map<string, Set<string>>();
    const reported = new Set(clusterLogins.map((r) => r.properties['tp.user_name'] as string));
    for (const r of connectLogins) {
      const u = r.properties['tp.user_name'] as string;
      if (!reported.has(u)) continue;
      if (!hashesByInstallation.has(r.distinct_id)) hashesByInstallation.set(r.distinct_id, new Set());
      hashesByInstallation.get(r.distinct_id)!.add(u);
    }
    expect([...hashesByInstallation.values()].some((s) => s.size >= 2)).toBe(true);
  });
});

describe('demo tracking-plan violations', () => {
  const ORIGINS = new Set(['resource_table', 'search_bar', 'connection_list', 'reopened_session', 'vnet']);
  /** Each record's violations by kind, from the plan's rules as RFD 97 states them (written here, not imported). */
  const kindsOf = (r: ExportRecord): string[] => {
    const out: string[] = [];
    const p = r.properties;
    if (!r.event.startsWith('connect.')) return out;
    if (!CONNECT_ID.test(r.distinct_id)) out.push('bad_distinct_id');
    if (!EVENTS.has(r.event)) out.push('unknown_event');
    for (const key of ['tp.cluster_name', 'tp.user_name']) if (key in p && !HASH44.test(String(p[key]))) out.push('not_anonymized');
    if (r.event === 'connect.accessRequest.create' && !('connect.access_request_kind' in p)) out.push('missing_required');
    if (r.event === 'connect.protocol.use' && !('connect.protocol' in p)) out.push('missing_required');
    if ('connect.access_request_kind' in p && !['role', 'resource'].includes(p['connect.access_request_kind'] as string)) out.push('not_allowed_value');
    if ('origin' in p && !ORIGINS.has(p['origin'] as string)) out.push('not_allowed_value');
    for (const key of ['connect.file_transfer_is_upload', 'connect.setup.success']) if (key in p && typeof p[key] !== 'boolean') out.push('wrong_type');
    return out;
  };

  it('has a few of each kind, with obviously fake values only', () => {
    const counts = new Map<string, number>();
    const offending: string[] = [];
    for (const r of full) {
      for (const k of kindsOf(r)) {
        counts.set(k, (counts.get(k) ?? 0) + 1);
        if (k === 'not_anonymized') offending.push(String(r.properties['tp.cluster_name']), String(r.properties['tp.user_name']));
        if (k === 'bad_distinct_id') offending.push(r.distinct_id);
      }
    }
    for (const kind of ['missing_required', 'not_allowed_value', 'wrong_type', 'not_anonymized', 'bad_distinct_id', 'unknown_event']) {
      expect(counts.get(kind) ?? 0, kind).toBeGreaterThanOrEqual(3);
      expect(counts.get(kind) ?? 0, kind).toBeLessThan(80);
    }
    // Any value that is not a hash reads as made up: 'demo' in it, or an example.com address.
    const leaks = offending.filter((v) => !HASH44.test(v) && !/demo/.test(v));
    expect(leaks).toEqual([]);
  });

  it('are off by default and leave the Connect events as they were', () => {
    const opts: DemoOptions = { ...THIRTEEN_WEEKS, end: new Date('2026-09-14T00:00:00Z') };
    const plain = [...generateDemoEvents({ ...opts, clusterLogins: false, violations: false })];
    const withSide = [...generateDemoEvents(opts)];
    expect(plain.some((r) => kindsOf(r).length > 0 || r.event === 'tp.user.login')).toBe(false);
    const isSide = (r: ExportRecord): boolean => r.event === 'tp.user.login' || kindsOf(r).length > 0;
    expect(withSide.filter((r) => !isSide(r))).toEqual(plain.filter((r) => !isSide(r)));
    // Merged in ingestion order.
    for (let k = 1; k < withSide.length; k++) expect(withSide[k]!._inserted_at >= withSide[k - 1]!._inserted_at).toBe(true);
  });

  it('are written to the export files exactly as generated', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'demo-side-'));
    try {
      const opts: DemoOptions = { ...THIRTEEN_WEEKS, start: new Date('2026-11-16T00:00:00Z'), end: new Date('2026-11-20T00:00:00Z'), badRecords: false };
      const res = await writeDemoExport(dir, opts);
      const lines: string[] = [];
      for (const f of res.files) lines.push(...gunzipSync(await readFile(f)).toString('utf8').split('\n').filter((l) => l !== ''));
      const expected = [...generateDemoEvents(opts)].map((r) => JSON.stringify(r));
      expect(lines).toEqual(expected);
      expect(res.sideRecords).toBe(expected.filter((l) => (JSON.parse(l) as ExportRecord).event === 'tp.user.login' || kindsOf(JSON.parse(l) as ExportRecord).length > 0).length);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('demo CDN logs', () => {
  /** Two weeks ending with 2026-W47, a release in each. */
  const CDN: DemoOptions = { seed: 11, start: new Date('2026-11-09T00:00:00Z'), end: new Date('2026-11-23T00:00:00Z'), installations: 1000 };

  /** A plain reading of legacy W3C files: the `#Fields` header names the tab-separated columns. */
  const readLogs = async (files: string[]): Promise<CdnRecord[]> => {
    const records: CdnRecord[] = [];
    for (const f of files) {
      let fields: string[] = [];
      for (const line of gunzipSync(await readFile(f)).toString('utf8').split('\n')) {
        if (line.startsWith('#Fields:')) fields = line.slice(8).trim().split(' ');
        if (line === '' || line.startsWith('#')) continue;
        const values = line.split('\t');
        expect(values.length).toBe(fields.length);
        records.push(Object.fromEntries(fields.map((name, k) => [name, values[k]])));
      }
    }
    return records;
  };

  it('count, by the reader and by a plain reference, to what they were made to count', async () => {
    const dir = await tempDir('demo-cdn-');
    try {
      const logs = await writeDemoCdnLogs(path.join(dir, 'cdn'), CDN);
      expect(logs.files.length).toBe(14);
      const records = await readLogs(logs.files);
      expect(records.length).toBe(logs.lines);
      const ref = downloadsReference(records, { week: '2026-W47', timezone: 'UTC' });
      const previous = downloadsReference(records, { week: '2026-W46', timezone: 'UTC' });

      // 1. The plain reference finds exactly the downloads and updates the generator meant.
      const meant = [...logs.truth].map(([key, v]) => [...key.split('\t'), String(v.downloads), String(v.updates)]).sort();
      const counted = [...previous.rows, ...ref.rows].map((r) => [r.date, r.platform, r.version, String(r.downloads), String(r.updates)]).sort();
      expect(counted).toEqual(meant);
      // ...with something to see: every platform, updates of both releases, and noise the rules drop.
      expect(new Set(ref.rows.map((r) => r.platform))).toEqual(new Set(['macos', 'windows', 'linux']));
      expect(ref.rows.filter((r) => r.version === '18.3.1').reduce((s, r) => s + r.updates, 0)).toBeGreaterThan(50);
      expect(previous.rows.filter((r) => r.version === '18.3.0').reduce((s, r) => s + r.updates, 0)).toBeGreaterThan(50);
      expect(ref.week.downloads).toBeGreaterThan(20);
      // (`counted` holds the counted requests of every day in the logs, not only the week's.)
      expect(records.length).toBeGreaterThan(1.5 * ref.counted.length);
      expect(records.some((r) => r['cs-method'] === 'HEAD')).toBe(true);
      expect(records.some((r) => r['sc-status'] === '206' && r['sc-range-start'] !== '0')).toBe(true);
      expect(records.some((r) => String(r['cs-uri-stem']).includes('%2520'))).toBe(true);
      const ids = records.map((r) => r['x-edge-request-id']);
      expect(new Set(ids).size).toBeLessThan(ids.length); // some delivered twice

      // 2. The project's reader, through the CLI, writes the same downloads.csv.
      const events = path.join(dir, 'events');
      await writeExport(path.join(events, 'e.jsonl'), [{ event: 'connect.cluster.login', distinct_id: 'inst-1', timestamp: '2026-11-17T10:00:00Z' }]);
      const run = await runCli([
        'report', '--week', '2026-W47', '--events', events, '--downloads', path.join(dir, 'cdn'),
        '--out', path.join(dir, 'out'), '--data-dir', path.join(dir, 'data'), '--timezone', 'UTC',
      ]);
      expect(run.code, run.stderr).toBe(0);
      const [header, ...rows] = parseCsv(await readFile(path.join(dir, 'out', 'downloads.csv'), 'utf8'));
      expect(header).toEqual(['date', 'platform', 'version', 'downloads', 'updates']);
      expect(rows).toEqual(ref.rows.map((r) => [r.date, r.platform, r.version, String(r.downloads), String(r.updates)]));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('are deterministic and follow the same installations as the events', async () => {
    const [a, b] = [await tempDir('demo-cdn-a-'), await tempDir('demo-cdn-b-')];
    try {
      const small = { ...CDN, installations: 300 };
      const x = await writeDemoCdnLogs(a, small);
      const y = await writeDemoCdnLogs(b, small);
      for (let k = 0; k < x.files.length; k++) expect(await readFile(y.files[k]!)).toEqual(await readFile(x.files[k]!));
      // Every new opted-in installation that ran a build the CDN serves downloaded it first: the
      // days of the events' first logins are days with downloads of that platform (or the day before).
      const records = await readLogs(x.files);
      const downloadDays = new Set(
        records.filter((r) => r['cs(User-Agent)'] !== 'electron-builder' && r['sc-status'] === '200').map((r) => String(r['date'])),
      );
      const events = [...generateDemoEvents(small)];
      const firstDay = new Map<string, string>();
      for (const e of events) if (!firstDay.has(e.distinct_id)) firstDay.set(e.distinct_id, e.timestamp.slice(0, 10));
      const newDays = [...firstDay.values()].filter((d) => d > '2026-11-10');
      const covered = newDays.filter((d) => downloadDays.has(d) || downloadDays.has(new Date(Date.parse(d) - DAY).toISOString().slice(0, 10)));
      expect(covered.length / newDays.length).toBeGreaterThan(0.9);
    } finally {
      await rm(a, { recursive: true, force: true });
      await rm(b, { recursive: true, force: true });
    }
  });
});

describe('connect-metrics demo', () => {
  it('reports its own CDN logs beside the events, with a release that reached half', async () => {
    const dir = await tempDir('demo-cli-');
    try {
      const out = path.join(dir, 'out');
      const run = await runCli(['demo', '--installations', '200', '--data-dir', path.join(dir, 'data'), '--out', out], { now: '2026-12-01T09:00:00Z' });
      expect(run.code, run.stderr).toBe(0);
      const csv = async (name: string): Promise<string[][]> => parseCsv(await readFile(path.join(out, name), 'utf8'));
      // The generated logs were counted: downloads.csv has rows, the summary has both figures.
      expect((await csv('downloads.csv')).length).toBeGreaterThan(5);
      const summary = new Map((await csv('summary.csv')).map((r) => [r[0], r]));
      expect(Number(summary.get('downloads')?.[1])).toBeGreaterThan(0);
      expect(Number(summary.get('updates')?.[1])).toBeGreaterThan(0);
      // A release of the last 12 weeks with its time to 50% and its update fetches.
      const [header, ...releases] = await csv('releases.csv');
      const col = (name: string): number => header!.indexOf(name);
      const halfway = releases.filter((r) => r[col('days_to_half')] !== '');
      expect(halfway.length).toBeGreaterThan(0);
      expect(releases.some((r) => Number(r[col('updates')]) > 0)).toBe(true);
      // The cached data has both kinds in their own folders.
      const [cached] = await readdir(path.join(dir, 'data', 'demo'));
      expect((await readdir(path.join(dir, 'data', 'demo', cached!))).sort()).toEqual(['.complete', 'cdn', 'events']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
