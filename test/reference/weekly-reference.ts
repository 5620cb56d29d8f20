/**
 * An independent, deliberately plain reference for the weekly report, written from the contract
 * alone (loops and Maps over record objects, luxon for the timezone day and week math; no SQL).
 *
 * Interpretation choices where the contract is silent:
 * - A property value that is missing, null, not a string, or the empty string counts as missing
 *   (the lookup falls through to the next place). The same goes for `distinct_id`.
 * - Protocol: lower-cased first, then `proxy_db` -> `db` (so `PROXY_DB` is `db` too).
 * - OS: the mapping is applied to the raw value as given (no lower-casing, no trimming).
 * - "Latest event that carries an OS" looks at every usable event of the installation, whatever
 *   its name, with a timestamp strictly before the report week's end. Ties at the latest instant
 *   with different OS values are refused (the contract does not say which one wins).
 * - Deduplication by `uuid`: the first usable record of a uuid is kept (test data only repeats
 *   identical records). Records without a string uuid are all kept.
 * - A timestamp is usable when luxon parses it as ISO 8601 (an offset or `Z` is honoured).
 * - Events are in a day/week when start <= t < end (local midnights in the timezone).
 * - Ratios with a zero denominator (stickiness, adoption or share when WAU is 0) are null
 *   ("undefined"); `change` is null (empty) when `previous` is 0, or when the report week or the
 *   week before is not fully covered (weekFullyCovered, issue 14).
 * - Ordering "ascending" for names is by UTF-16 code units (plain `<`).
 * Values are returned unrounded; the comparison rounds to 4 decimals.
 */
import { DateTime } from 'luxon';

export type Cell = string | number | null;

export interface Table {
  header: string[];
  rows: Cell[][];
}

export interface WeeklyTables {
  summary: Table;
  dau: Table;
  features: Table;
  protocols: Table;
  platforms: Table;
}

export interface Catalog {
  features: Array<{ id: string; events: string[] }>;
}

/** One usable event after validation and deduplication. */
export interface UsableEvent {
  uuid: string | undefined;
  name: string;
  user: string;
  ms: number;
  props: Record<string, unknown>;
  personProps: Record<string, unknown>;
}

export const OS_ROWS = ['macos', 'windows', 'linux', 'other', 'unknown'] as const;

function asObject(v: unknown): Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

function text(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** Parses an ISO 8601 timestamp to epoch milliseconds, or undefined when unusable. */
export function parseTimestamp(v: unknown): number | undefined {
  if (typeof v !== 'string') return undefined;
  const dt = DateTime.fromISO(v, { setZone: true });
  return dt.isValid ? dt.toMillis() : undefined;
}

/** Keeps usable records (has distinct_id, event name and a parsable timestamp), deduplicated by uuid. */
export function usableEvents(records: unknown[]): UsableEvent[] {
  const seen = new Set<string>();
  const out: UsableEvent[] = [];
  for (const raw of records) {
    const r = asObject(raw);
    const user = text(r['distinct_id']);
    const name = text(r['event']);
    const ms = parseTimestamp(r['timestamp']);
    if (user === undefined || name === undefined || ms === undefined) continue;
    const uuid = typeof r['uuid'] === 'string' ? r['uuid'] : undefined;
    if (uuid !== undefined) {
      if (seen.has(uuid)) continue;
      seen.add(uuid);
    }
    out.push({ uuid, name, user, ms, props: asObject(r['properties']), personProps: asObject(r['person_properties']) });
  }
  return out;
}

export function isConnectEvent(name: string): boolean {
  return name.startsWith('connect.');
}

/** Monday 00:00 of an ISO week ('2026-W47') in the timezone. */
export function weekStart(week: string, zone: string): DateTime {
  const m = /^(\d{4})-W(\d{2})$/.exec(week);
  if (!m) throw new Error(`bad week ${week}`);
  const start = DateTime.fromObject({ weekYear: Number(m[1]), weekNumber: Number(m[2]), weekday: 1, hour: 0 }, { zone });
  if (!start.isValid) throw new Error(`bad week/zone ${week} ${zone}: ${start.invalidExplanation}`);
  return start;
}

/** The 7 local days of the week starting at `start`: ISO date and [startMs, endMs). */
export function weekDays(start: DateTime): Array<{ date: string; startMs: number; endMs: number }> {
  const days = [];
  for (let i = 0; i < 7; i++) {
    const d = start.plus({ days: i });
    const next = start.plus({ days: i + 1 });
    days.push({ date: d.toISODate()!, startMs: d.toMillis(), endMs: next.toMillis() });
  }
  return days;
}

interface WeekActivity {
  dates: string[];
  dau: number[];
  wau: number;
  avgDau: number;
  peakDau: number;
  stickiness: number | null;
  events: number;
  /** The connect.* events of the week. */
  connectEvents: UsableEvent[];
  activeUsers: Set<string>;
  endMs: number;
}

function weekActivity(events: UsableEvent[], start: DateTime): WeekActivity {
  const days = weekDays(start);
  const startMs = start.toMillis();
  const endMs = start.plus({ weeks: 1 }).toMillis();
  const perDay = days.map(() => new Set<string>());
  const activeUsers = new Set<string>();
  const connectEvents: UsableEvent[] = [];
  for (const e of events) {
    if (!isConnectEvent(e.name)) continue;
    if (e.ms < startMs || e.ms >= endMs) continue;
    connectEvents.push(e);
    activeUsers.add(e.user);
    let placed = false;
    for (let i = 0; i < days.length; i++) {
      const day = days[i]!;
      if (e.ms >= day.startMs && e.ms < day.endMs) {
        perDay[i]!.add(e.user);
        placed = true;
      }
    }
    if (!placed) throw new Error('event in the week but in none of its days');
  }
  const dau = perDay.map((s) => s.size);
  let sum = 0;
  let peak = 0;
  for (const n of dau) {
    sum += n;
    if (n > peak) peak = n;
  }
  const avgDau = sum / 7;
  const wau = activeUsers.size;
  return {
    dates: days.map((d) => d.date),
    dau,
    wau,
    avgDau,
    peakDau: peak,
    stickiness: wau === 0 ? null : avgDau / wau,
    events: connectEvents.length,
    connectEvents,
    activeUsers,
    endMs,
  };
}

export function protocolOf(props: Record<string, unknown>): string {
  const raw = text(props['connect.protocol']) ?? text(props['protocol']);
  if (raw === undefined) return 'unknown';
  const lower = raw.toLowerCase();
  return lower === 'proxy_db' ? 'db' : lower;
}

/** The raw OS value an event carries, in the contract's lookup order, or undefined. */
export function rawOsOf(e: UsableEvent): string | undefined {
  return text(e.props['connect.os']) ?? text(e.props['os']) ?? text(e.personProps['connect.os']) ?? text(e.personProps['os']);
}

export function mapOs(raw: string | undefined): (typeof OS_ROWS)[number] {
  if (raw === undefined) return 'unknown';
  if (raw === 'darwin' || raw === 'macos') return 'macos';
  if (raw === 'win32' || raw === 'windows') return 'windows';
  if (raw === 'linux') return 'linux';
  return 'other';
}

function ratio(n: number, d: number): number | null {
  return d === 0 ? null : n / d;
}

function changeOf(value: number | null, previous: number | null): number | null {
  if (value === null || previous === null || previous === 0) return null;
  return value / previous - 1;
}

function byUsersThenName(a: { key: string; users: number }, b: { key: string; users: number }): number {
  if (a.users !== b.users) return b.users - a.users;
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

/**
 * Issue 14's "fully covered": the connect.* events of the input start at or before the week's
 * start, one falls in its first 24 hours, and each of its 7 local days has one. Plain loops over
 * the events, not the daily rows the tool uses.
 */
export function weekFullyCovered(events: UsableEvent[], start: DateTime): boolean {
  const connect = events.filter((e) => isConnectEvent(e.name));
  if (connect.length === 0) return false;
  let earliest = Infinity;
  for (const e of connect) earliest = Math.min(earliest, e.ms);
  const startMs = start.toMillis();
  if (earliest > startMs) return false;
  if (!connect.some((e) => e.ms >= startMs && e.ms < startMs + 24 * 3_600_000)) return false;
  return weekDays(start).every((d) => connect.some((e) => e.ms >= d.startMs && e.ms < d.endMs));
}

export function weeklyReference(records: unknown[], week: string, timezone: string, catalog: Catalog): WeeklyTables {
  const events = usableEvents(records);
  const start = weekStart(week, timezone);
  const prevStart = start.minus({ weeks: 1 });
  const cur = weekActivity(events, start);
  const prev = weekActivity(events, prevStart);
  // Changes only between fully covered weeks (issue 14): otherwise empty.
  const comparable = weekFullyCovered(events, start) && weekFullyCovered(events, prevStart);
  const change = (value: number | null, previous: number | null) => (comparable ? changeOf(value, previous) : null);

  // summary.csv
  const metrics: Array<[string, number | null, number | null]> = [
    ['wau', cur.wau, prev.wau],
    ['avg_dau', cur.avgDau, prev.avgDau],
    ['peak_dau', cur.peakDau, prev.peakDau],
    ['stickiness', cur.stickiness, prev.stickiness],
    ['events', cur.events, prev.events],
  ];
  const summary: Table = {
    header: ['metric', 'value', 'previous', 'change'],
    rows: metrics.map(([metric, value, previous]) => [metric, value, previous, change(value, previous)]),
  };

  // dau.csv
  const dau: Table = { header: ['date', 'active_users'], rows: cur.dates.map((d, i) => [d, cur.dau[i]!]) };

  // features.csv
  const featureOfEvent = new Map<string, string>();
  for (const f of catalog.features) for (const name of f.events) featureOfEvent.set(name, f.id);
  const featureStats = new Map<string, { events: number; users: Set<string> }>();
  for (const e of cur.connectEvents) {
    const key = featureOfEvent.get(e.name) ?? e.name;
    let s = featureStats.get(key);
    if (!s) featureStats.set(key, (s = { events: 0, users: new Set() }));
    s.events += 1;
    s.users.add(e.user);
  }
  const featureRows: Cell[][] = [];
  const catalogIds = new Set(catalog.features.map((f) => f.id));
  for (const f of catalog.features) {
    const s = featureStats.get(f.id);
    const users = s ? s.users.size : 0;
    featureRows.push([f.id, s ? s.events : 0, users, ratio(users, cur.wau)]);
  }
  const uncatalogued = [...featureStats.entries()]
    .filter(([key]) => !catalogIds.has(key))
    .map(([key, s]) => ({ key, events: s.events, users: s.users.size }))
    .sort(byUsersThenName);
  for (const u of uncatalogued) featureRows.push([u.key, u.events, u.users, ratio(u.users, cur.wau)]);
  const features: Table = { header: ['feature', 'events', 'users', 'adoption'], rows: featureRows };

  // protocols.csv
  const protocolEvents = new Set(catalog.features.find((f) => f.id === 'protocol_use')?.events ?? []);
  const protoStats = new Map<string, { events: number; users: Set<string> }>();
  for (const e of cur.connectEvents) {
    if (!protocolEvents.has(e.name)) continue;
    const p = protocolOf(e.props);
    let s = protoStats.get(p);
    if (!s) protoStats.set(p, (s = { events: 0, users: new Set() }));
    s.events += 1;
    s.users.add(e.user);
  }
  const protocols: Table = {
    header: ['protocol', 'events', 'users', 'share'],
    rows: [...protoStats.entries()]
      .map(([key, s]) => ({ key, events: s.events, users: s.users.size }))
      .sort(byUsersThenName)
      .map((p) => [p.key, p.events, p.users, ratio(p.users, cur.wau)]),
  };

  // platforms.csv
  const latestOs = new Map<string, { ms: number; raw: string }>();
  for (const e of events) {
    if (!cur.activeUsers.has(e.user) || e.ms >= cur.endMs) continue;
    const raw = rawOsOf(e);
    if (raw === undefined) continue;
    const had = latestOs.get(e.user);
    if (had && had.ms === e.ms && had.raw !== raw) {
      throw new Error(`reference: OS tie for ${e.user} at ${new Date(e.ms).toISOString()} (${had.raw} / ${raw})`);
    }
    if (!had || e.ms > had.ms) latestOs.set(e.user, { ms: e.ms, raw });
  }
  const osUsers = new Map<string, number>(OS_ROWS.map((o) => [o, 0]));
  for (const user of cur.activeUsers) {
    const os = mapOs(latestOs.get(user)?.raw);
    osUsers.set(os, osUsers.get(os)! + 1);
  }
  const platforms: Table = {
    header: ['os', 'users', 'share'],
    rows: OS_ROWS.map((os) => [os, osUsers.get(os)!, ratio(osUsers.get(os)!, cur.wau)]),
  };

  return { summary, dau, features, protocols, platforms };
}

/**
 * The privacy rule of issue 6, written from its text for the tests (independently of
 * src/reports/privacy.ts): in features.csv and protocols.csv every row with 1..k-1 users leaves its
 * place and is added up into one `other` row at the end (events and users summed, share = users /
 * WAU); in platforms.csv such a row (not `other` itself) keeps its place with empty figures and its
 * users are added to `other`. Zero-user rows stay.
 */
export function withPrivacy(tables: WeeklyTables, k: number): WeeklyTables {
  const wau = Number(tables.summary.rows.find((r) => r[0] === 'wau')![1]);
  const share = (users: number) => (wau === 0 ? 0 : users / wau);
  const small = (u: number) => u >= 1 && u < k;
  // Small rows (and a row named other) go into one other row at the end; an other of 1 to k-1
  // installations is written empty (issue 14: no small cell reappears as other).
  const fold = (t: Table): Table => {
    const users = (row: Cell[]) => Number(row[2]);
    const into = t.rows.filter((row) => row[0] === 'other' || small(users(row)));
    if (!into.some((row) => row[0] !== 'other') && !into.some((row) => small(users(row)))) return t;
    const sum = (rows: Cell[][], col: number) => rows.reduce((s, row) => s + Number(row[col]), 0);
    const u = sum(into, 2);
    const other: Cell[] = small(u) ? ['other', null, null, null] : ['other', sum(into, 1), u, share(u)];
    return { header: t.header, rows: [...t.rows.filter((row) => !into.includes(row)), other] };
  };
  const hidden = new Set<string>();
  let other = 0;
  for (const row of tables.platforms.rows) {
    const u = Number(row[1]);
    if (row[0] === 'other') other += u;
    else if (small(u)) {
      hidden.add(String(row[0]));
      other += u;
    }
  }
  const changed = hidden.size > 0 || small(other);
  const platforms = {
    header: tables.platforms.header,
    rows: tables.platforms.rows.map((row): Cell[] => {
      if (hidden.has(String(row[0]))) return [row[0]!, null, null, ...row.slice(3)];
      if (row[0] === 'other' && changed) return small(other) ? ['other', null, null, ...row.slice(3)] : ['other', other, share(other), ...row.slice(3)];
      return row;
    }),
  };
  return { ...tables, features: fold(tables.features), protocols: fold(tables.protocols), platforms };
}
