/**
 * An independent, deliberately plain reference for installer-download counting from CloudFront
 * access logs, written from the contract alone (loops, Maps and regular expressions over the
 * record objects a test generated; luxon only for timezone day and week math; no SQL, nothing
 * imported from src/).
 *
 * Contract rules, as implemented here:
 * - A record qualifies when `cs-method` is `GET`, `sc-status` is `200`, or `206` with
 *   `sc-range-start` `0`, `x-host-header` is one of the configured hosts (no hosts configured:
 *   any host, also an empty one), and the fully URL-decoded `cs-uri-stem` (decoded until it no
 *   longer changes) ends in a Teleport Connect installer name.
 * - The same `x-edge-request-id` counts once (an empty id is never deduplicated).
 * - Then one download per (client IP, decoded User-Agent, decoded path, day in the report timezone),
 *   the day taken from the record's `date` + `time` (UTC).
 * - Platform from the extension; version (and arch) from the name.
 * - Update: a `-mac.zip` file, or a decoded User-Agent starting with `electron-builder`.
 *
 * Interpretation choices where the contract is silent (or which the tool's author chose):
 * - CloudFront's `-` (and null/undefined) means empty; numbers (JSON, Parquet) are compared as
 *   their decimal text, so `200` and `"200"` are the same status.
 * - "Ends in an installer name" means the last path segment (after the last `/` of the decoded
 *   path) is exactly the installer name.
 * - A version is `MAJOR.MINOR.PATCH` with an optional `-prerelease` (dot-separated identifiers of
 *   `[0-9A-Za-z-]`). The arch of `-<arch>.dmg` and `-<arch>.tar.gz` is one of ARCHES; the deb and
 *   rpm arch is any run of `[0-9A-Za-z_]` characters. When a name fits two patterns, the one with
 *   an arch (and `-linux-<arch>` before `-<arch>`) wins, so `teleport-connect-18.2.0-linux-x64.tar.gz`
 *   is version `18.2.0`, not `18.2.0-linux`.
 * - URL decoding: every `%HH` (hex) is a byte; other characters stay as they are (`+` is not a
 *   space); the bytes are read as UTF-8. Repeated until the text no longer changes.
 * - Dedupe groups: the whole group shares IP, UA and path, so "update or download" is the same for
 *   every member; the first member is counted.
 * - Sorting: date ascending, platform by plain string order (`linux` < `macos` < `windows`),
 *   version by semantic-versioning precedence (numeric parts numerically; a prerelease sorts
 *   before its release; prerelease identifiers: numeric < alphanumeric, numeric numerically).
 * - `platforms.csv` `downloads` and `download_share` count downloads only (not updates); share is
 *   0 when the week has no downloads; `other` and `unknown` are always 0.
 * - Summary `change` = value / previous - 1, null (empty) when previous is 0.
 * Values are returned unrounded; a comparison rounds to 4 decimals.
 */
import { DateTime } from 'luxon';

export type FieldValue = string | number | null | undefined;
/** One log record: CloudFront field name -> value, as the test wrote it. */
export type CdnRecord = Record<string, FieldValue>;

export type Platform = 'macos' | 'windows' | 'linux';
export const PLATFORM_ROWS = ['macos', 'windows', 'linux', 'other', 'unknown'] as const;
export type PlatformRow = (typeof PLATFORM_ROWS)[number];

export const ARCHES = ['x64', 'arm64', 'universal', 'amd64', 'aarch64', 'x86_64', 'arm', 'armv7l', 'ia32', 'i386'];

export interface Installer {
  platform: Platform;
  version: string;
  arch: string;
  kind: 'dmg' | 'zip' | 'exe' | 'deb' | 'rpm' | 'tar.gz';
}

export interface DownloadRow {
  date: string;
  platform: Platform;
  version: string;
  downloads: number;
  updates: number;
}

export interface Totals {
  downloads: number;
  updates: number;
}

export interface DownloadsReference {
  /** downloads.csv rows, in order. */
  rows: DownloadRow[];
  /** platforms.csv: downloads (not updates) of the week per row, and the share. */
  platforms: Record<PlatformRow, { downloads: number; share: number }>;
  week: Totals;
  previous: Totals;
  /** summary.csv `change` per metric (null = empty). */
  change: { downloads: number | null; updates: number | null };
  /** For diagnosis: the qualifying, deduplicated downloads with their day. */
  counted: Array<{ day: string; ip: string; ua: string; path: string; installer: Installer; update: boolean }>;
}

export interface ReferenceOptions {
  /** ISO week, e.g. `2026-W47`. */
  week: string;
  timezone: string;
  /** Configured hosts; empty = any host. */
  hosts?: string[];
}

/** A field's text: `-`, null and undefined are empty; numbers are their decimal text. */
export function fieldText(r: CdnRecord, field: string): string {
  const v = r[field];
  if (v === undefined || v === null) return '';
  const s = typeof v === 'number' ? String(v) : v;
  return s === '-' ? '' : s;
}

function hexValue(c: string): number {
  const code = c.charCodeAt(0);
  if (code >= 48 && code <= 57) return code - 48; // 0-9
  if (code >= 65 && code <= 70) return code - 55; // A-F
  if (code >= 97 && code <= 102) return code - 87; // a-f
  return -1;
}

/** One round of percent-decoding: `%HH` -> byte, everything else unchanged; bytes read as UTF-8. */
export function decodeOnce(s: string): string {
  const bytes: number[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (c === '%' && i + 2 < s.length) {
      const hi = hexValue(s[i + 1]!);
      const lo = hexValue(s[i + 2]!);
      if (hi >= 0 && lo >= 0) {
        bytes.push(hi * 16 + lo);
        i += 3;
        continue;
      }
    }
    const cp = s.codePointAt(i)!;
    const ch = String.fromCodePoint(cp);
    for (const b of Buffer.from(ch, 'utf8')) bytes.push(b);
    i += ch.length;
  }
  return Buffer.from(bytes).toString('utf8');
}

/** Decodes until the text no longer changes. */
export function fullyDecode(s: string): string {
  let current = s;
  for (let round = 0; round < 50; round++) {
    const next = decodeOnce(current);
    if (next === current) return current;
    current = next;
  }
  return current;
}

const V = String.raw`(\d+\.\d+\.\d+(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?)`;
const ARCH = `(${ARCHES.join('|')})`;

/** Patterns in priority order: [regex, platform, kind, arch when the name has none]. */
const PATTERNS: Array<[RegExp, Platform, Installer['kind'], string]> = [
  [new RegExp(`^Teleport Connect-${V}-${ARCH}\\.dmg$`), 'macos', 'dmg', ''],
  [new RegExp(`^Teleport Connect-${V}-mac\\.zip$`), 'macos', 'zip', ''],
  [new RegExp(`^Teleport Connect-${V}\\.dmg$`), 'macos', 'dmg', 'universal'],
  [new RegExp(`^Teleport Connect Setup-${V}\\.exe$`), 'windows', 'exe', ''],
  [new RegExp(`^teleport-connect_${V}_([0-9A-Za-z_]+)\\.deb$`), 'linux', 'deb', ''],
  [new RegExp(`^teleport-connect-${V}\\.([0-9A-Za-z_]+)\\.rpm$`), 'linux', 'rpm', ''],
  [new RegExp(`^teleport-connect-${V}-linux-${ARCH}\\.tar\\.gz$`), 'linux', 'tar.gz', ''],
  [new RegExp(`^teleport-connect-${V}-${ARCH}\\.tar\\.gz$`), 'linux', 'tar.gz', ''],
];

/** The installer a decoded path names, or undefined. */
export function parseInstaller(decodedPath: string): Installer | undefined {
  const slash = decodedPath.lastIndexOf('/');
  const name = decodedPath.slice(slash + 1);
  for (const [re, platform, kind, defaultArch] of PATTERNS) {
    const m = re.exec(name);
    if (m) return { platform, kind, version: m[1]!, arch: m[2] ?? defaultArch };
  }
  return undefined;
}

function compareIdentifiers(a: string, b: string): number {
  const an = /^\d+$/.test(a);
  const bn = /^\d+$/.test(b);
  if (an && bn) return Number(a) - Number(b);
  if (an) return -1;
  if (bn) return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Semantic-versioning precedence of `MAJOR.MINOR.PATCH[-prerelease]`. */
export function compareVersions(a: string, b: string): number {
  const [aCore, ...aRest] = a.split('-');
  const [bCore, ...bRest] = b.split('-');
  const ap = aCore!.split('.').map(Number);
  const bp = bCore!.split('.').map(Number);
  for (let i = 0; i < 3; i++) {
    const d = (ap[i] ?? 0) - (bp[i] ?? 0);
    if (d !== 0) return d;
  }
  const aPre = aRest.join('-');
  const bPre = bRest.join('-');
  if (aPre === bPre) return 0;
  if (aPre === '') return 1;
  if (bPre === '') return -1;
  const ai = aPre.split('.');
  const bi = bPre.split('.');
  for (let i = 0; i < Math.max(ai.length, bi.length); i++) {
    if (ai[i] === undefined) return -1;
    if (bi[i] === undefined) return 1;
    const d = compareIdentifiers(ai[i]!, bi[i]!);
    if (d !== 0) return d;
  }
  return 0;
}

/** The local calendar day (YYYY-MM-DD) of a record's UTC `date` + `time`, or undefined. */
export function localDay(r: CdnRecord, timezone: string): string | undefined {
  const date = fieldText(r, 'date');
  const time = fieldText(r, 'time');
  const dt = DateTime.fromISO(`${date}T${time}`, { zone: 'UTC' });
  if (!dt.isValid) return undefined;
  return dt.setZone(timezone).toISODate() ?? undefined;
}

/** The 7 local dates of an ISO week (Monday first). */
export function weekDates(week: string, timezone: string): string[] {
  const monday = DateTime.fromISO(`${week}-1`, { zone: timezone });
  if (!monday.isValid) throw new Error(`bad week ${week}`);
  const out: string[] = [];
  for (let i = 0; i < 7; i++) out.push(monday.plus({ days: i }).toISODate()!);
  return out;
}

function previousWeekDates(week: string, timezone: string): string[] {
  const monday = DateTime.fromISO(`${week}-1`, { zone: timezone }).minus({ days: 7 });
  const out: string[] = [];
  for (let i = 0; i < 7; i++) out.push(monday.plus({ days: i }).toISODate()!);
  return out;
}

/** The expected downloads tables for the records of every readable file (bad lines left out). */
export function downloadsReference(records: CdnRecord[], options: ReferenceOptions): DownloadsReference {
  const hosts = options.hosts ?? [];
  const seenIds = new Set<string>();
  const seenKeys = new Set<string>();
  const counted: DownloadsReference['counted'] = [];

  for (const r of records) {
    if (fieldText(r, 'cs-method') !== 'GET') continue;
    const status = fieldText(r, 'sc-status');
    const ok = status === '200' || (status === '206' && fieldText(r, 'sc-range-start') === '0');
    if (!ok) continue;
    if (hosts.length > 0 && !hosts.includes(fieldText(r, 'x-host-header'))) continue;
    const path = fullyDecode(fieldText(r, 'cs-uri-stem'));
    const installer = parseInstaller(path);
    if (!installer) continue;
    const id = fieldText(r, 'x-edge-request-id');
    if (id !== '') {
      if (seenIds.has(id)) continue;
      seenIds.add(id);
    }
    const day = localDay(r, options.timezone);
    if (day === undefined) continue;
    const ip = fieldText(r, 'c-ip');
    const ua = fullyDecode(fieldText(r, 'cs(User-Agent)'));
    const key = [ip, ua, path, day].join('\u0000');
    if (seenKeys.has(key)) continue;
    seenKeys.add(key);
    const update = installer.kind === 'zip' || ua.startsWith('electron-builder');
    counted.push({ day, ip, ua, path, installer, update });
  }

  const days = weekDates(options.week, options.timezone);
  const previousDays = previousWeekDates(options.week, options.timezone);
  const inWeek = new Set(days);
  const inPrevious = new Set(previousDays);

  const byRow = new Map<string, DownloadRow>();
  const week: Totals = { downloads: 0, updates: 0 };
  const previous: Totals = { downloads: 0, updates: 0 };
  const platformDownloads: Record<PlatformRow, number> = { macos: 0, windows: 0, linux: 0, other: 0, unknown: 0 };
  for (const c of counted) {
    if (inPrevious.has(c.day)) {
      if (c.update) previous.updates += 1;
      else previous.downloads += 1;
    }
    if (!inWeek.has(c.day)) continue;
    if (c.update) week.updates += 1;
    else {
      week.downloads += 1;
      platformDownloads[c.installer.platform] += 1;
    }
    const k = [c.day, c.installer.platform, c.installer.version].join('\u0000');
    let row = byRow.get(k);
    if (!row) {
      row = { date: c.day, platform: c.installer.platform, version: c.installer.version, downloads: 0, updates: 0 };
      byRow.set(k, row);
    }
    if (c.update) row.updates += 1;
    else row.downloads += 1;
  }

  const rows = [...byRow.values()].filter((r) => r.downloads + r.updates > 0);
  rows.sort((a, b) => {
    if (a.date !== b.date) return a.date < b.date ? -1 : 1;
    if (a.platform !== b.platform) return a.platform < b.platform ? -1 : 1;
    return compareVersions(a.version, b.version);
  });

  const platforms = {} as DownloadsReference['platforms'];
  for (const p of PLATFORM_ROWS) {
    platforms[p] = { downloads: platformDownloads[p], share: week.downloads === 0 ? 0 : platformDownloads[p] / week.downloads };
  }
  const change = {
    downloads: previous.downloads === 0 ? null : week.downloads / previous.downloads - 1,
    updates: previous.updates === 0 ? null : week.updates / previous.updates - 1,
  };
  return { rows, platforms, week, previous, change, counted };
}
