/**
 * Connect's own event stream (the connect.* events of opted-in installations) in PostHog's S3
 * batch-export JSONLines schema, generated from the shared population (population.ts).
 *
 * How it works, and why:
 * - Events are generated one *local* calendar date at a time (working hours in each installation's own
 *   UTC offset), into compact columnar stores (day-store.ts) keyed by the UTC day of `_inserted_at`.
 * - An ingestion day is handed out (sorted by `_inserted_at`) as soon as no later local date can still
 *   produce rows for it, so memory holds about one day of events in typed arrays, never the whole range.
 * - Other kinds of rows in the same project (the clusters' logins, tracking-plan violations) come from
 *   side streams (`SideStream`) that see every Connect login and add their own rows to each day.
 * - Date math is done on epoch milliseconds; `encode` writes JSON bytes directly from cached fragments
 *   (no luxon, no JSON.stringify on the hot path).
 */
import { hash44, hashWords, latin1, putB64, putBytes, putUuid, uuidFromCounter, uuidWords } from './ids.ts';
import { DayStore } from './day-store.ts';
import {
  ARCHS,
  buildPopulation,
  CONNECTORS,
  DRAFT_VERSIONS,
  APP_VERSIONS,
  F_ACCESS,
  F_CMC,
  F_FILE,
  F_REVIEW,
  F_VNET,
  JOB_ROLES,
  MAX_OFFSET_MS,
  OS_NAMES,
  OS_VERSIONS,
  P_APP,
  P_DB,
  P_DESKTOP,
  P_SSH,
  PP_AFTER_LOGIN,
  PP_ALWAYS,
  RELEASE_INDEX,
  RELEASES,
  versionAt,
  type Population,
} from './population.ts';
import { cumulative, makeRng, pick, STREAM_EVENTS, STREAM_POPULATION, STREAM_SALTS, type Rng } from './random.ts';
import { DAY, HOUR, iso, putIso, SECOND } from './time.ts';

export interface ExportRecord {
  // PostHog batch-export JSONL row
  uuid: string;
  event: string;
  distinct_id: string;
  person_id: string;
  properties: Record<string, unknown>;
  person_properties: Record<string, unknown>;
  elements_chain: string;
  timestamp: string; // ISO 8601 UTC with 'Z', like the three below
  created_at: string;
  _inserted_at: string;
}

/**
 * A row of a side stream: its `_inserted_at` as epoch ms (the order rows are merged in) and its JSON
 * line (held as text, not as an object: rows wait up to a day to be written, and a few hundred
 * thousand live objects cost the garbage collector more than the text).
 */
export interface SideRow {
  inserted: number;
  line: string;
}

/**
 * Rows of another kind in the same export. `login` sees every Connect login as it is generated (in a
 * deterministic order); `day` is asked once per UTC ingestion day, in order, for its rows inserted
 * that day, in `_inserted_at` order. A side row's `_inserted_at` must not be before the timestamp of
 * the Connect login it follows (the day is handed out once no later login can fall in it).
 */
export interface SideStream {
  login?(i: number, slot: number, ts: number): void;
  day(dayStart: number): SideRow[];
}

/** A side stream's row: an event without person properties or elements, times as epoch ms. */
export function sideRow(
  row: { uuid: string; event: string; distinctId: string; personId: string; properties: Record<string, unknown> },
  times: { ts: number; created: number; inserted: number },
): SideRow {
  const record: ExportRecord = {
    uuid: row.uuid,
    event: row.event,
    distinct_id: row.distinctId,
    person_id: row.personId,
    properties: row.properties,
    person_properties: {},
    elements_chain: '',
    timestamp: iso(times.ts),
    created_at: iso(times.created),
    _inserted_at: iso(times.inserted),
  };
  return { inserted: times.inserted, line: JSON.stringify(record) + '\n' };
}

/** One ingestion day: Connect rows 0..store.len-1 and the side streams' rows, each in `_inserted_at` order. */
export interface DayBatch {
  dayStart: number;
  store: DayStore;
  side: SideRow[];
}

/** The per-seed salts of every identifier and hash in the demo data. */
export interface DemoSalts {
  uuid: number;
  distinctId: number;
  personId: number;
  cluster: number;
  user: number;
  account: number;
}

export function demoSalts(seedLo: number, seedHi: number): DemoSalts {
  const salts = makeRng(seedLo, seedHi, STREAM_SALTS);
  const salt = (): number => Math.floor(salts() * 4294967296) >>> 0;
  // In this order: the first five are what the generator always used, so ids stay as they were.
  return { uuid: salt(), distinctId: salt(), personId: salt(), cluster: salt(), user: salt(), account: salt() };
}

/** The anonymized name of the user of installation `i` on its cluster slot: the same HMAC a cluster's own events carry. */
export function userHash(salts: DemoSalts, i: number, slot: number): string {
  return hash44(i * 3 + slot, salts.user);
}

// Event kinds (stored in 4 bits).
const K_LOGIN = 0;
const K_PROTOCOL = 1;
const K_AR_CREATE = 2;
const K_AR_REVIEW = 3;
const K_AR_ASSUME = 4;
const K_FILE = 5;
const K_CMC_SETUP = 6;
const K_CMC_AGENT = 7;
const K_VNET = 8; // not in the catalog: exercises the "unknown event" path

const EVENT_NAMES = [
  'connect.cluster.login',
  'connect.protocol.use',
  'connect.accessRequest.create',
  'connect.accessRequest.review',
  'connect.accessRequest.assumeRole',
  'connect.fileTransfer.run',
  'connect.connectMyComputer.setup',
  'connect.connectMyComputer.agentStart',
  'connect.vnet.start',
];
const DRAFT_EVENT_NAMES = [
  'connect.cluster.login',
  'connect.protcol.run',
  'connect.accessRequests.create',
  'connect.accessRequests.review',
  'connect.accessRequests.assumeRole',
  'connect.fileTransfer.run',
  'connect.connectMyComputer.setup',
  'connect.connectMyComputer.agentStart',
  'connect.vnet.start',
];

/** Relative weights of non-first events, gated by features (a missing feature's weight is dropped). */
const KIND_WEIGHTS: readonly [kind: number, weight: number, feature: number][] = [
  [K_PROTOCOL, 100, 0],
  [K_LOGIN, 2, 0],
  [K_AR_CREATE, 10, F_ACCESS],
  [K_AR_REVIEW, 8, F_REVIEW],
  [K_AR_ASSUME, 7, F_ACCESS],
  [K_FILE, 12, F_FILE],
  [K_CMC_AGENT, 8, F_CMC],
  [K_CMC_SETUP, 1, F_CMC],
  [K_VNET, 5, F_VNET],
];
const KIND_TABLES: { kinds: Uint8Array; cum: Float64Array }[] = Array.from({ length: 32 }, (_, mask) => {
  const rows = KIND_WEIGHTS.filter(([, , f]) => f === 0 || (mask & f) !== 0);
  return { kinds: Uint8Array.from(rows.map(([k]) => k)), cum: cumulative(rows.map(([, w]) => w)) };
});

// Protocols (index, as P_* in population.ts), with per-event weights among the protocols an installation uses.
const PROTOCOLS = ['ssh', 'db', 'kube', 'app', 'desktop'];
const DRAFT_PROTOCOLS = ['ssh', 'proxy_db', 'kube', 'ssh', 'ssh'];
const PROTOCOL_WEIGHTS = [8, 3, 3, 1.5, 1.5];
const PROTOCOL_TABLES: Float64Array[] = Array.from({ length: 32 }, (_, mask) =>
  cumulative(PROTOCOL_WEIGHTS.map((w, i) => ((mask || 1) & (1 << i) ? w : 0))),
);

const ORIGINS = ['resource_table', 'search_bar', 'connection_list', 'reopened_session', 'vnet'];
const ORIGIN_CUM = cumulative([50, 20, 15, 10]);
const ACCESS_THROUGH = ['proxy_service', 'local_proxy', 'vnet'];
const FAILED_STEPS = ['setting_up_role', 'downloading_agent', 'generating_config_file', 'joining_cluster'];

/** Local-hour activity profile: working hours, a lunch dip, a little evening and night use. */
const HOUR_CUM = cumulative([
  0.3, 0.2, 0.15, 0.1, 0.1, 0.2, 0.6, 1.5, 4, 8, 10, 10, 7, 8, 10, 10, 9, 6, 3.5, 2.5, 2, 1.8, 1.2, 0.6,
]);

// Detail word layout: kind (bits 0-3), cluster slot (4-5), person properties set (6),
// a (8-11: protocol / request kind / upload / setup success), b (12-15: origin / failed step),
// c (16-17: access_through).
const PP_BIT = 1 << 6;

export interface DemoOptions {
  seed: number; // same seed + options => byte-identical output
  start: Date; // first instant covered (UTC), inclusive
  end: Date; // last instant covered (UTC), exclusive
  installations: number; // size of the installed base over the whole range (growth: not all exist at start)
  /** Rough mean events per active installation per active day (default 6). */
  eventsPerActiveDay?: number;
  /** Share of records that are deliberately bad (bad JSON, no distinct_id, unparsable timestamp). Default: a handful per file, 0 disables. */
  badRecords?: boolean;
  /**
   * Whether some bad records are truncated lines (bad JSON). Default true. Off, every bad record is
   * whole JSON (no distinct_id, unparsable timestamp): the load bench's files that a plain
   * JSONEachRow reader can read to the end (a truncated line makes it skip the lines after it).
   */
  truncatedLines?: boolean;
  /** The clusters' own `tp.user.login` events in the same project (cluster-logins.ts). Default off. */
  clusterLogins?: boolean;
  /** A few events that break the tracking plan, of every kind (violations.ts). Default off. */
  violations?: boolean;
}

export interface Resolved {
  seedLo: number;
  seedHi: number;
  startMs: number;
  endMs: number;
  installations: number;
  eventsPerActiveDay: number;
  badRecords: boolean;
  truncatedLines: boolean;
  clusterLogins: boolean;
  violations: boolean;
}

export function resolve(opts: DemoOptions): Resolved {
  const startMs = opts.start instanceof Date ? opts.start.getTime() : NaN;
  const endMs = opts.end instanceof Date ? opts.end.getTime() : NaN;
  if (!Number.isFinite(opts.seed)) throw new RangeError(`demo: seed must be a finite number, got ${opts.seed}`);
  if (!Number.isFinite(startMs)) throw new RangeError('demo: start must be a valid Date');
  if (!Number.isFinite(endMs)) throw new RangeError('demo: end must be a valid Date');
  if (endMs <= startMs) throw new RangeError(`demo: end (${opts.end.toISOString()}) must be after start (${opts.start.toISOString()})`);
  if (!Number.isInteger(opts.installations) || opts.installations < 0 || opts.installations > 5_000_000) {
    throw new RangeError(`demo: installations must be an integer between 0 and 5,000,000, got ${opts.installations}`);
  }
  const epd = opts.eventsPerActiveDay ?? 6;
  if (!Number.isFinite(epd) || epd < 1) throw new RangeError(`demo: eventsPerActiveDay must be >= 1, got ${epd}`);
  const seed = Math.trunc(opts.seed);
  return {
    seedLo: seed >>> 0,
    seedHi: Math.floor(seed / 4294967296) >>> 0,
    startMs: Math.floor(startMs),
    endMs: Math.floor(endMs),
    installations: opts.installations,
    eventsPerActiveDay: epd,
    badRecords: opts.badRecords ?? true,
    truncatedLines: opts.truncatedLines ?? true,
    clusterLogins: opts.clusterLogins ?? false,
    violations: opts.violations ?? false,
  };
}

/** Installations generated between two chances for the event loop to run (about 10 ms of work). */
const INSTALLATION_SLICE = 4096;

/**
 * The engine: builds the population, generates local date after local date, and yields every UTC
 * ingestion day in [start, end) (empty ones too) with its rows in `_inserted_at` order.
 */
export class DemoStream {
  readonly pop: Population;
  readonly r: Resolved;
  readonly salts: DemoSalts;
  private readonly rng: Rng;
  private seq = 0;
  private readonly stores = new Map<number, DayStore>();
  private readonly times = new Float64Array(512);
  private readonly sides: SideStream[] = [];

  // Caches. User-name hashes are recomputed per row (cheap) rather than held for every installation and cluster.
  private readonly clusterNames: string[];
  private readonly clusterBytes: Buffer;
  private readonly ppCache = new Map<number, Buffer>();
  private readonly suffixCache = new Map<number, Buffer>();
  /**
   * One 144-byte row per installation with everything `encode` reads, so that rendering rows in
   * `_inserted_at` order (random installations) touches two or three cache lines, not a dozen arrays:
   * bytes 0-86 `<distinct uuid>","person_id":"<person uuid>` (filled on first use), 87 filled flag,
   * 88 draft, 89 os, 90 arch, 91 os version, 92 app version, 93 job role,
   * 96-107 three cluster ids (uint32), 112-119 upgrade time, 120-143 the releases' times (float64).
   */
  private readonly rowU8: Uint8Array;
  private readonly rowU32: Uint32Array;
  private readonly rowF64: Float64Array;

  constructor(r: Resolved) {
    this.r = r;
    this.pop = buildPopulation(r.installations, r.startMs, r.endMs, r.eventsPerActiveDay, makeRng(r.seedLo, r.seedHi, STREAM_POPULATION));
    this.rng = makeRng(r.seedLo, r.seedHi, STREAM_EVENTS);
    this.salts = demoSalts(r.seedLo, r.seedHi);
    const nc = this.pop.nClusterPool;
    this.clusterNames = Array.from({ length: nc }, (_, k) => hash44(k, this.salts.cluster));
    this.clusterBytes = Buffer.from(this.clusterNames.join(''), 'latin1');
    const rows = new ArrayBuffer(r.installations * ROW);
    this.rowU8 = new Uint8Array(rows);
    this.rowU32 = new Uint32Array(rows);
    this.rowF64 = new Float64Array(rows);
    const pop = this.pop;
    for (let i = 0; i < r.installations; i++) {
      const b = i * ROW;
      this.rowU8[b + R_DRAFT] = pop.draft[i]!;
      this.rowU8[b + R_OS] = pop.os[i]!;
      this.rowU8[b + R_ARCH] = pop.arch[i]!;
      this.rowU8[b + R_OS_VERSION] = pop.osVersion[i]!;
      this.rowU8[b + R_APP_VERSION] = pop.appVersion[i]!;
      this.rowU8[b + R_JOB] = pop.jobRole[i]!;
      for (let c = 0; c < 3; c++) this.rowU32[(b + R_CLUSTERS) / 4 + c] = pop.clusters[i * 3 + c]!;
      this.rowF64[(b + R_UPGRADE) / 8] = pop.upgrade[i]!;
      for (let k = 0; k < RELEASES.length; k++) this.rowF64[(b + R_RELEASES) / 8 + k] = pop.release[i * RELEASES.length + k]!;
    }
  }

  /** Adds a side stream (before the first day is asked for). */
  addSide(side: SideStream): void {
    this.sides.push(side);
  }

  /**
   * Ingestion days in order. Between slices of installations it yields `null`: a point where an async
   * caller can let the event loop run (the writer's gzip streams need it to keep the pool busy).
   */
  *days(): Generator<DayBatch | null> {
    const { startMs, endMs } = this.r;
    const firstDay = Math.floor(startMs / DAY);
    const lastDay = Math.floor((endMs - 1) / DAY);
    const n = this.pop.n;
    let nextFlush = firstDay;
    // Local dates whose working day can overlap [start, end) for any offset within +-14 h.
    for (let local = firstDay - 1; local <= lastDay + 1; local++) {
      for (let from = 0; from < n; from += INSTALLATION_SLICE) {
        this.generateLocalDate(local, from, Math.min(n, from + INSTALLATION_SLICE));
        yield null;
      }
      // Rows from later local dates have timestamps >= this bound, hence `_inserted_at` too.
      const minFutureTs = (local + 1) * DAY - MAX_OFFSET_MS;
      while (nextFlush <= lastDay && (nextFlush + 1) * DAY <= minFutureTs) yield this.flush(nextFlush++);
    }
    while (nextFlush <= lastDay) yield this.flush(nextFlush++);
  }

  private flush(day: number): DayBatch {
    const store = this.stores.get(day) ?? new DayStore(1);
    this.stores.delete(day);
    const side = this.sides.flatMap((s) => s.day(day * DAY));
    if (this.sides.length > 1) side.sort((a, b) => a.inserted - b.inserted); // stable: ties keep stream order
    return { dayStart: day * DAY, store: store.sorted(day * DAY), side };
  }

  private add(ts: number, created: number, inserted: number, inst: number, detail: number, seq: number, dup: number): void {
    const day = Math.floor(inserted / DAY);
    let s = this.stores.get(day);
    if (s === undefined) {
      s = new DayStore(4096);
      this.stores.set(day, s);
    }
    s.push(ts, created, inserted, inst, detail, seq, dup);
  }

  /** Events of installations [from, to) on one local calendar date (their own UTC offset). */
  private generateLocalDate(local: number, from: number, to: number): void {
    const pop = this.pop;
    const rng = this.rng;
    const { startMs, endMs } = this.r;
    const weekend = (local + 3) % 7 >= 5; // epoch day 0 was a Thursday; Monday = 0
    const times = this.times;
    const MAX_EVENTS = times.length;

    for (let i = from; i < to; i++) {
      const dayStart = local * DAY - pop.offset[i]!;
      const dayEnd = dayStart + DAY;
      if (dayEnd <= startMs || dayStart >= endMs) continue;
      const created = pop.created[i]!;
      const churn = pop.churn[i]!;
      if (created >= dayEnd || churn <= dayStart) continue;
      const installDay = created >= dayStart;
      if (!installDay && rng() >= (weekend ? pop.pWeekend[i]! : pop.pWeekday[i]!)) continue;

      let count = 1 + Math.floor(Math.log(1 - rng()) / pop.lnQ[i]!);
      if (!(count <= MAX_EVENTS)) count = MAX_EVENTS;

      if (installDay) {
        // First event is the login right after installing; the rest follow within a few hours.
        const window = Math.min(8 * HOUR, dayEnd - created);
        times[0] = created;
        for (let k = 1; k < count; k++) times[k] = created + Math.floor(rng() * window);
      } else {
        for (let k = 0; k < count; k++) {
          const h = pick(HOUR_CUM, rng());
          times[k] = dayStart + h * HOUR + Math.floor(rng() * HOUR);
        }
      }
      if (count > 1) {
        if (count <= 24) {
          for (let a = 1; a < count; a++) {
            const v = times[a]!;
            let b = a - 1;
            while (b >= 0 && times[b]! > v) {
              times[b + 1] = times[b]!;
              b--;
            }
            times[b + 1] = v;
          }
        } else {
          times.subarray(0, count).sort();
        }
      }

      const firstIsLogin = installDay || (pop.loginRate[i]! > 0 && rng() < pop.loginRate[i]!);
      for (let k = 0; k < count; k++) {
        const ts = times[k]!;
        if (ts >= churn) break;
        if (ts < startMs || ts >= endMs) continue;
        this.generateEvent(i, ts, k === 0 && firstIsLogin);
      }
    }
  }

  private generateEvent(i: number, ts: number, login: boolean): void {
    const pop = this.pop;
    const rng = this.rng;
    let kind: number;
    if (login) kind = K_LOGIN;
    else {
      const table = KIND_TABLES[pop.features[i]!]!;
      kind = table.kinds[pick(table.cum, rng())]!;
      if (kind === K_LOGIN && pop.loginRate[i] === 0) kind = K_PROTOCOL;
    }
    if (kind === K_LOGIN) pop.loggedIn[i] = 1;

    const nc = pop.nClusters[i]!;
    const slot = nc === 1 ? 0 : rng() < 0.8 ? 0 : 1 + Math.floor(rng() * (nc - 1));
    let a = 0;
    let b = 0;
    let c = 0;
    switch (kind) {
      case K_PROTOCOL: {
        a = pick(PROTOCOL_TABLES[pop.protocols[i]!]!, rng());
        const vnetable = (a === P_DB || a === P_APP) && (pop.features[i]! & F_VNET) !== 0;
        b = vnetable && rng() < 0.4 ? 4 : pick(ORIGIN_CUM, rng());
        if (b === 4) c = 2;
        else if (a === P_SSH || a === P_DESKTOP) c = 0;
        else if (a === P_APP) c = rng() < 0.5 ? 0 : 1;
        else c = 1;
        break;
      }
      case K_AR_CREATE:
        a = rng() < 0.6 ? 0 : 1; // role / resource
        break;
      case K_FILE:
        a = rng() < 0.35 ? 1 : 0; // upload
        break;
      case K_CMC_SETUP:
        a = rng() < 0.8 ? 1 : 0; // success
        b = Math.floor(rng() * FAILED_STEPS.length);
        break;
      default:
        break;
    }
    const mode = pop.ppMode[i]!;
    const pp = mode === PP_ALWAYS || (mode === PP_AFTER_LOGIN && pop.loggedIn[i] === 1) ? PP_BIT : 0;
    const detail = kind | (slot << 4) | pp | (a << 8) | (b << 12) | (c << 16);
    // The cluster sees the login whether or not the Connect event is ever exported.
    if (kind === K_LOGIN) for (const side of this.sides) side.login?.(i, slot, ts);

    // tsh daemon batches and flushes at least hourly: mostly minutes, up to about an hour late.
    // ~1% arrive more than a day late (laptop asleep, daemon offline).
    const u = rng();
    const delay = u < 0.01 ? DAY + Math.floor(rng() * 2 * DAY) : 2 * SECOND + Math.floor(HOUR * Math.pow(rng(), 1.7));
    const createdAt = ts + delay;
    const insertedAt = createdAt + 200 + Math.floor(rng() * 20 * SECOND);
    const endMs = this.r.endMs;
    if (insertedAt >= endMs) return; // not exported yet: after the range, like a real export cut at `end`
    const seq = this.seq++;
    this.add(ts, createdAt, insertedAt, i, detail, seq, 0);
    // ~0.5% are exported again in a later day's file. Everything but `_inserted_at` is identical: a
    // re-inserted row (at-least-once ingestion) gets a new insertion time, which is what moves it to a
    // later batch-export interval and keeps each file's rows inside its interval.
    if (rng() < 0.005) {
      const again = (Math.floor(insertedAt / DAY) + 1) * DAY + Math.floor(rng() * 30 * HOUR);
      if (again < endMs) this.add(ts, createdAt, again, i, detail, seq, 1);
    }
  }

  // ---- rendering ------------------------------------------------------------------------------------
  // Two renderers: `record` builds objects (generateDemoEvents); `encode` writes the JSON line bytes
  // directly (writeDemoExport). Every fragment `encode` copies is either a fixed literal or was produced
  // by JSON.stringify of the objects `record` builds; a test holds the two to byte equality.

  /** The anonymized name of cluster `c` of the pool. */
  clusterName(c: number): string {
    return this.clusterNames[c]!;
  }

  distinctId(i: number): string {
    return 'connect.' + uuidFromCounter(i, this.salts.distinctId);
  }

  personId(i: number): string {
    return uuidFromCounter(i, this.salts.personId);
  }

  private versionIndex(i: number, ts: number): number {
    const pop = this.pop;
    return pop.draft[i] === 1 ? pop.appVersion[i]! : versionAt(pop, i, ts);
  }

  private appVersion(i: number, ts: number): string {
    return (this.pop.draft[i] === 1 ? DRAFT_VERSIONS : APP_VERSIONS)[this.versionIndex(i, ts)]!;
  }

  /** Person properties (empty until known); draft builds use the draft names. */
  personProperties(i: number, ts: number, detail: number): Record<string, unknown> {
    if ((detail & PP_BIT) === 0) return {};
    const pop = this.pop;
    const os = OS_NAMES[pop.os[i]!]!;
    const [osKey, , , versionKey] = PLATFORM_KEYS[pop.draft[i]!]!;
    const out: Record<string, unknown> = { [osKey]: os, [versionKey]: this.appVersion(i, ts) };
    const job = pop.jobRole[i]!;
    if (job > 0) out['connect.user.job_role'] = JOB_ROLES[job - 1]!;
    return out;
  }

  /** Cached JSON of `personProperties`; `key` identifies its content (see `encode`). */
  private personPropertiesBytes(key: number, i: number, ts: number, detail: number): Buffer {
    let b = this.ppCache.get(key);
    if (b === undefined) {
      b = Buffer.from(JSON.stringify(this.personProperties(i, ts, detail)), 'latin1');
      this.ppCache.set(key, b);
    }
    return b;
  }

  /** Event properties: the two hashed tp.* fields first, then the event's own. */
  properties(i: number, ts: number, detail: number): Record<string, unknown> {
    const pop = this.pop;
    const kind = detail & 15;
    const slot = (detail >>> 4) & 3;
    const a = (detail >>> 8) & 15;
    const b = (detail >>> 12) & 15;
    const c = (detail >>> 16) & 3;
    const draft = pop.draft[i] === 1;
    const cluster = pop.clusters[i * 3 + slot]!;
    const props: Record<string, unknown> = {
      'tp.cluster_name': this.clusterNames[cluster]!,
      'tp.user_name': userHash(this.salts, i, slot),
    };
    switch (kind) {
      case K_LOGIN: {
        props['tp.connector_type'] = CONNECTORS[pop.connector[cluster]!]!;
        const os = pop.os[i]!;
        const osName = OS_NAMES[os]!;
        const arch = ARCHS[pop.arch[i]!]!;
        const osVersion = OS_VERSIONS[os]![pop.osVersion[i]!]!;
        const values = [osName, arch, osVersion, this.appVersion(i, ts)];
        PLATFORM_KEYS[pop.draft[i]!]!.forEach((key, k) => (props[key] = values[k]));
        break;
      }
      case K_PROTOCOL:
        if (draft) props['protocol'] = DRAFT_PROTOCOLS[a]!;
        else {
          props['connect.protocol'] = PROTOCOLS[a]!;
          props['origin'] = ORIGINS[b]!;
          props['access_through'] = ACCESS_THROUGH[c]!;
        }
        break;
      case K_AR_CREATE:
        props[draft ? 'kind' : 'connect.access_request_kind'] = a === 0 ? 'role' : 'resource';
        break;
      case K_FILE:
        if (draft) props['direction'] = a === 1 ? 'upload' : 'download';
        else props['connect.file_transfer_is_upload'] = a === 1;
        break;
      case K_CMC_SETUP:
        props['connect.setup.success'] = a === 1;
        if (a === 0) props['connect.setup.failed_step'] = FAILED_STEPS[b]!;
        break;
      default:
        break;
    }
    return props;
  }

  /** Cached JSON of `properties` after the tp.* fields, e.g. `,"connect.protocol":"ssh",...}` (or `}`). */
  private propertiesSuffix(key: number, i: number, ts: number, detail: number): Buffer {
    let buf = this.suffixCache.get(key);
    if (buf === undefined) {
      const json = JSON.stringify(this.properties(i, ts, detail));
      const userKey = '"tp.user_name":"';
      buf = Buffer.from(json.slice(json.indexOf(userKey) + userKey.length + 44 + 1), 'latin1');
      this.suffixCache.set(key, buf);
    }
    return buf;
  }

  eventName(i: number, detail: number): string {
    return (this.pop.draft[i] === 1 ? DRAFT_EVENT_NAMES : EVENT_NAMES)[detail & 15]!;
  }

  record(s: DayStore, k: number): ExportRecord {
    const i = s.inst[k]!;
    const ts = s.ts[k]!;
    const detail = s.detail[k]!;
    return {
      uuid: uuidFromCounter(s.seq[k]!, this.salts.uuid),
      event: this.eventName(i, detail),
      distinct_id: this.distinctId(i),
      person_id: this.personId(i),
      properties: this.properties(i, ts, detail),
      person_properties: this.personProperties(i, ts, detail),
      elements_chain: '',
      timestamp: iso(ts),
      created_at: iso(s.created[k]!),
      _inserted_at: iso(s.inserted[k]!),
    };
  }

  /** `versionAt` from the installation's row (the same answer, one cache line instead of three arrays). */
  private rowVersion(b: number, ts: number): number {
    const f = this.rowF64;
    for (let r = RELEASES.length - 1; r >= 0; r--) if (ts >= f[(b + R_RELEASES) / 8 + r]!) return RELEASE_INDEX + r;
    return this.rowU8[b + R_APP_VERSION]! + (ts >= f[(b + R_UPGRADE) / 8]! ? 1 : 0);
  }

  /**
   * Writes JSON.stringify(record(s, k)) + '\n' into `out` at `off` (room for MAX_LINE_BYTES needed);
   * returns the new offset.
   */
  encode(out: Uint8Array, off: number, s: DayStore, k: number): number {
    const i = s.inst[k]!;
    const ts = s.ts[k]!;
    const detail = s.detail[k]!;
    const kind = detail & 15;
    const slot = (detail >>> 4) & 3;
    const row = this.rowU8;
    const b = i * ROW;
    if (row[b + R_FILLED] === 0) {
      uuidWords(i, this.salts.distinctId);
      let o = putUuid(row, b);
      o = putBytes(row, o, L_PERSON);
      uuidWords(i, this.salts.personId);
      putUuid(row, o);
      row[b + R_FILLED] = 1;
    }
    const draft = row[b + R_DRAFT]!;
    const os = row[b + R_OS]!;
    const version = draft === 1 ? row[b + R_APP_VERSION]! : this.rowVersion(b, ts);
    const cluster = this.rowU32[(b + R_CLUSTERS) / 4 + slot]!;

    off = putBytes(out, off, L_UUID);
    uuidWords(s.seq[k]!, this.salts.uuid);
    off = putUuid(out, off);
    off = putBytes(out, off, L_EVENT[draft * 16 + kind]!);
    for (let j = 0; j < ID_BYTES; j++) out[off + j] = row[b + j]!;
    off += ID_BYTES;
    off = putBytes(out, off, L_CLUSTER);
    const cb = this.clusterBytes;
    const c0 = cluster * 44;
    for (let j = 0; j < 44; j++) out[off + j] = cb[c0 + j]!;
    off += 44;
    off = putBytes(out, off, L_USER);
    hashWords(i * 3 + slot, this.salts.user);
    off = putB64(out, off);
    out[off++] = 34; // closing quote of the user name
    // Cache keys: everything the cached JSON depends on, and nothing else.
    const suffixKey =
      kind === K_LOGIN
        ? -1 - (((((os * 8 + row[b + R_OS_VERSION]!) * 2 + row[b + R_ARCH]!) * 16 + version) * 8 + this.pop.connector[cluster]!) * 2 + draft)
        : (detail & 0x3ff0f) * 2 + draft; // kind and a/b/c; not the cluster slot or person-properties bit
    off = putBytes(out, off, this.propertiesSuffix(suffixKey, i, ts, detail));
    off = putBytes(out, off, L_PERSON_PROPS);
    const ppKey = (detail & PP_BIT) === 0 ? -1 : ((os * 16 + version) * 16 + row[b + R_JOB]!) * 2 + draft;
    off = putBytes(out, off, this.personPropertiesBytes(ppKey, i, ts, detail));
    off = putBytes(out, off, L_TIMESTAMP);
    off = putIso(out, off, ts);
    off = putBytes(out, off, L_CREATED);
    off = putIso(out, off, s.created[k]!);
    off = putBytes(out, off, L_INSERTED);
    off = putIso(out, off, s.inserted[k]!);
    return putBytes(out, off, L_END);
  }
}

/** Login properties and person properties naming the platform: implemented names, then the draft RFD's. */
const PLATFORM_KEYS = [
  ['connect.os', 'connect.arch', 'connect.os_version', 'connect.app_version'],
  ['os', 'arch', 'os_version', 'connect_version'],
] as const;

// Fixed fragments of a JSON line, in order.
const L_UUID = latin1('{"uuid":"');
const L_EVENT: Buffer[] = [];
for (let draft = 0; draft < 2; draft++) {
  for (let kind = 0; kind < 16; kind++) {
    const name = (draft === 1 ? DRAFT_EVENT_NAMES : EVENT_NAMES)[kind] ?? '';
    L_EVENT.push(latin1('","event":"' + name + '","distinct_id":"connect.'));
  }
}
const L_PERSON = latin1('","person_id":"');
const ID_BYTES = 36 + L_PERSON.length + 36; // 87
const ROW = 144;
const R_FILLED = 87;
const R_DRAFT = 88;
const R_OS = 89;
const R_ARCH = 90;
const R_OS_VERSION = 91;
const R_APP_VERSION = 92;
const R_JOB = 93;
const R_CLUSTERS = 96;
const R_UPGRADE = 112;
const R_RELEASES = 120; // RELEASES.length float64s
if (R_RELEASES + 8 * RELEASES.length > ROW) throw new Error('demo: an installation row is too short for the releases');
const L_CLUSTER = latin1('","properties":{"tp.cluster_name":"');
const L_USER = latin1('","tp.user_name":"');
const L_PERSON_PROPS = latin1(',"person_properties":');
const L_TIMESTAMP = latin1(',"elements_chain":"","timestamp":"');
const L_CREATED = latin1('","created_at":"');
const L_INSERTED = latin1('","_inserted_at":"');
const L_END = latin1('"}\n');

