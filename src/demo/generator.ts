/**
 * Deterministic synthetic Teleport Connect event stream in PostHog's S3 batch-export JSONLines schema.
 *
 * Feeds `connect-metrics demo`, the benchmark and the `seed` command. Everything comes from seeded
 * PRNGs (no Math.random, no clock), so the same seed and options give byte-identical output.
 *
 * How it works, and why:
 * - A population of installations is drawn once (OS, time zone, activity level, clusters, features...).
 * - Events are generated one *local* calendar date at a time (working hours in each installation's own
 *   UTC offset), into compact columnar stores keyed by the UTC day of `_inserted_at`.
 * - An ingestion day is emitted (sorted by `_inserted_at`) as soon as no later local date can still
 *   produce rows for it, so memory holds about one day of events in typed arrays, never the whole range.
 * - Date math is done on epoch milliseconds and JSON lines are built from cached fragments: the hot path
 *   makes no luxon calls and no JSON.stringify calls.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';

export interface DemoOptions {
  seed: number;             // same seed + options => byte-identical output
  start: Date;              // first instant covered (UTC), inclusive
  end: Date;                // last instant covered (UTC), exclusive
  installations: number;    // size of the installed base over the whole range (growth: not all exist at start)
  /** Rough mean events per active installation per active day (default 6). */
  eventsPerActiveDay?: number;
  /** Share of records that are deliberately bad (bad JSON, no distinct_id, unparsable timestamp). Default: a handful per file, 0 disables. */
  badRecords?: boolean;
}

export interface ExportRecord {   // PostHog batch-export JSONL row
  uuid: string; event: string; distinct_id: string; person_id: string;
  properties: Record<string, unknown>; person_properties: Record<string, unknown>;
  elements_chain: string; timestamp: string; created_at: string; _inserted_at: string; // ISO 8601 UTC with 'Z'
}

// ---------------------------------------------------------------------------------------------------
// Time constants and fast ISO formatting (epoch ms -> "2026-11-16T09:12:33.123Z")

const SECOND = 1_000;
const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

const P2: readonly string[] = Array.from({ length: 100 }, (_, i) => String(i).padStart(2, '0'));
const P3: readonly string[] = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));
const dayPrefixes = new Map<number, string>();

function dayPrefix(day: number): string {
  let p = dayPrefixes.get(day);
  if (p === undefined) {
    p = new Date(day * DAY).toISOString().slice(0, 11); // "2026-11-16T"
    if (dayPrefixes.size > 10_000) dayPrefixes.clear();
    dayPrefixes.set(day, p);
  }
  return p;
}

function iso(ms: number): string {
  const day = Math.floor(ms / DAY);
  let r = ms - day * DAY;
  const h = (r / HOUR) | 0;
  r -= h * HOUR;
  const m = (r / MINUTE) | 0;
  r -= m * MINUTE;
  const s = (r / SECOND) | 0;
  r -= s * SECOND;
  return dayPrefix(day) + P2[h]! + ':' + P2[m]! + ':' + P2[s]! + '.' + P3[r]! + 'Z';
}

/** "2026-11-16T00:00:00Z": the interval bound format in PostHog batch-export keys. */
function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19) + 'Z';
}

// ---------------------------------------------------------------------------------------------------
// PRNG and hashing

type Rng = () => number;

/** murmur3 finalizer: a bijection on uint32, so distinct inputs give distinct outputs. */
function fmix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

function hash3(a: number, b: number, c: number): number {
  return fmix32((a ^ fmix32((b ^ fmix32((c + 0x9e3779b9) >>> 0)) >>> 0)) >>> 0);
}

/** sfc32: small, fast, passes PractRand; returns floats in [0, 1). */
function sfc32(a: number, b: number, c: number, d: number): Rng {
  return () => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
}

/** Independent streams per purpose, so e.g. turning bad records on does not change the good ones. */
function makeRng(seedLo: number, seedHi: number, stream: number): Rng {
  const base = hash3(seedLo, seedHi, stream);
  const rng = sfc32(hash3(base, 1, stream), hash3(base, 2, stream), hash3(base, 3, stream), hash3(base, 4, stream));
  for (let i = 0; i < 16; i++) rng();
  return rng;
}

const HEX2: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

function hex8(w: number): string {
  return HEX2[w >>> 24]! + HEX2[(w >>> 16) & 255]! + HEX2[(w >>> 8) & 255]! + HEX2[w & 255]!;
}

function hex4(w: number): string {
  return HEX2[(w >>> 8) & 255]! + HEX2[w & 255]!;
}

/** UUIDv4-shaped string from four words (version and variant bits forced). */
function uuidFromWords(w0: number, w1: number, w2: number, w3: number): string {
  w1 = ((w1 & 0xffff0fff) | 0x4000) >>> 0;
  w2 = ((w2 & 0x3fffffff) | 0x80000000) >>> 0;
  return hex8(w0) + '-' + hex4(w1 >>> 16) + '-' + hex4(w1) + '-' + hex4(w2 >>> 16) + '-' + hex4(w2) + hex8(w3);
}

/** Unique for distinct n < 2^32: the first word is a bijection of n. */
function uuidFromCounter(n: number, salt: number): string {
  const w0 = fmix32((n ^ salt) >>> 0);
  const w1 = fmix32((w0 ^ 0x68e31da4 ^ salt) >>> 0);
  const w2 = fmix32((w1 + 0xb5297a4d + salt) >>> 0);
  const w3 = fmix32((w2 ^ 0x1b56c4e9 ^ n) >>> 0);
  return uuidFromWords(w0, w1, w2, w3);
}

/** 44-character base64 string, shaped like an HMAC-SHA256 digest. */
function hash44(n: number, salt: number): string {
  const bytes = Buffer.allocUnsafe(32);
  let w = fmix32((n ^ salt) >>> 0);
  for (let i = 0; i < 8; i++) {
    w = fmix32((w + 0x9e3779b9 + i + salt) >>> 0);
    bytes.writeUInt32BE(w, i * 4);
  }
  return bytes.toString('base64');
}

// ---------------------------------------------------------------------------------------------------
// Weighted tables

function cumulative(weights: readonly number[]): Float64Array {
  const out = new Float64Array(weights.length);
  let sum = 0;
  for (const w of weights) sum += w;
  let acc = 0;
  weights.forEach((w, i) => {
    acc += w / sum;
    out[i] = acc;
  });
  out[out.length - 1] = 1;
  return out;
}

function pick(cum: Float64Array, u: number): number {
  const n = cum.length - 1;
  for (let i = 0; i < n; i++) if (u < cum[i]!) return i;
  return n;
}

/** UTC offsets (hours) with weights: Americas ~46%, Europe/Africa ~30%, Asia-Pacific ~24%. */
const OFFSETS_H = [-8, -7, -6, -5, -3, 0, 1, 2, 3, 5.5, 7, 8, 9, 10];
const OFFSET_CUM = cumulative([14, 5, 8, 15, 4, 7, 15, 6, 2, 6, 2, 7, 5, 4]);
const MAX_OFFSET_MS = Math.max(...OFFSETS_H) * HOUR;

/** Local-hour activity profile: working hours, a lunch dip, a little evening and night use. */
const HOUR_CUM = cumulative([
  0.3, 0.2, 0.15, 0.1, 0.1, 0.2, 0.6, 1.5, 4, 8, 10, 10, 7, 8, 10, 10, 9, 6, 3.5, 2.5, 2, 1.8, 1.2, 0.6,
]);

const OS_NAMES = ['darwin', 'win32', 'linux', 'freebsd'] as const;
const OS_CUM = cumulative([55, 30, 14, 1]);
/** Kernel releases (`os.release()`), per OS. */
const OS_VERSIONS: readonly (readonly string[])[] = [
  ['22.6.0', '23.6.0', '24.1.0', '24.6.0', '25.0.0'],
  ['10.0.19045', '10.0.22631', '10.0.26100'],
  ['5.15.0-126-generic', '6.8.0-49-generic', '6.11.0-1-amd64', '6.11.5-300.fc41.x86_64'],
  ['14.1-RELEASE', '14.2-RELEASE'],
];
/** Probability of arm64 per OS. */
const ARM_SHARE = [0.75, 0.05, 0.15, 0];
const ARCHS = ['x64', 'arm64'] as const;

const APP_VERSIONS = ['17.4.10', '17.5.4', '17.7.3', '18.0.2', '18.1.5', '18.2.1'];
const APP_VERSION_CUM = cumulative([6, 10, 16, 18, 25, 25]);
/** Builds old enough to emit the draft-RFD event and property names. */
const DRAFT_VERSIONS = ['12.0.2', '12.0.5', '12.1.0'];

const CONNECTORS = ['local', 'passwordless', 'github', 'saml', 'oidc'];
const CONNECTOR_CUM = cumulative([15, 10, 25, 30, 20]);

const JOB_ROLES = ['Software Engineer', 'DevOps Engineer', 'SRE', 'Engineering Manager', 'Security Engineer', 'Other'];
const JOB_ROLE_CUM = cumulative([40, 25, 12, 8, 5, 10]);

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

// Feature flags per installation: which non-protocol events it can emit.
const F_ACCESS = 1;
const F_REVIEW = 2;
const F_FILE = 4;
const F_CMC = 8;
const F_VNET = 16;

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

// Protocols (index), with per-event weights among the protocols an installation uses.
const PROTOCOLS = ['ssh', 'db', 'kube', 'app', 'desktop'];
const DRAFT_PROTOCOLS = ['ssh', 'proxy_db', 'kube', 'ssh', 'ssh'];
const P_SSH = 0;
const P_DB = 1;
const P_KUBE = 2;
const P_APP = 3;
const P_DESKTOP = 4;
const PROTOCOL_WEIGHTS = [8, 3, 3, 1.5, 1.5];
const PROTOCOL_TABLES: Float64Array[] = Array.from({ length: 32 }, (_, mask) =>
  cumulative(PROTOCOL_WEIGHTS.map((w, i) => ((mask || 1) & (1 << i) ? w : 0))),
);

const ORIGINS = ['resource_table', 'search_bar', 'connection_list', 'reopened_session', 'vnet'];
const ORIGIN_CUM = cumulative([50, 20, 15, 10]);
const ACCESS_THROUGH = ['proxy_service', 'local_proxy', 'vnet'];
const FAILED_STEPS = ['setting_up_role', 'downloading_agent', 'generating_config_file', 'joining_cluster'];

// Detail word layout: kind (bits 0-3), cluster slot (4-5), person properties set (6),
// a (8-11: protocol / request kind / upload / setup success), b (12-15: origin / failed step),
// c (16-17: access_through).
const PP_BIT = 1 << 6;

// Person-properties modes.
const PP_NEVER = 0;   // empty person_properties throughout
const PP_ALWAYS = 1;  // set by logins before the range
const PP_AFTER_LOGIN = 2; // new installation: set by its first login

// ---------------------------------------------------------------------------------------------------
// Population

interface Population {
  n: number;
  created: Float64Array;   // epoch ms the installation appeared (-Infinity: before the range)
  churn: Float64Array;     // epoch ms it stops being active (Infinity: never)
  upgrade: Float64Array;   // epoch ms it moves to the next app version (Infinity: never)
  pWeekday: Float32Array;
  pWeekend: Float32Array;
  lnQ: Float64Array;       // geometric parameter for the number of extra events on an active day
  loginRate: Float32Array; // chance an active day starts with a login (0: never logs in within the range)
  offset: Float64Array;    // UTC offset in ms
  os: Uint8Array;
  arch: Uint8Array;
  osVersion: Uint8Array;
  appVersion: Uint8Array;
  draft: Uint8Array;
  ppMode: Uint8Array;
  jobRole: Uint8Array;     // 0: none, else index + 1
  features: Uint8Array;
  protocols: Uint8Array;
  nClusters: Uint8Array;
  clusters: Uint32Array;   // 3 slots per installation
  loggedIn: Uint8Array;    // mutable state during generation
  nClusterPool: number;
  connector: Uint8Array;   // per cluster
}

function gaussian(rng: Rng): number {
  const u = 1 - rng();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
}

function buildPopulation(n: number, startMs: number, endMs: number, eventsPerActiveDay: number, rng: Rng): Population {
  const span = endMs - startMs;
  const nClusterPool = Math.max(1, Math.round(n / 25));
  const p: Population = {
    n,
    created: new Float64Array(n),
    churn: new Float64Array(n),
    upgrade: new Float64Array(n),
    pWeekday: new Float32Array(n),
    pWeekend: new Float32Array(n),
    lnQ: new Float64Array(n),
    loginRate: new Float32Array(n),
    offset: new Float64Array(n),
    os: new Uint8Array(n),
    arch: new Uint8Array(n),
    osVersion: new Uint8Array(n),
    appVersion: new Uint8Array(n),
    draft: new Uint8Array(n),
    ppMode: new Uint8Array(n),
    jobRole: new Uint8Array(n),
    features: new Uint8Array(n),
    protocols: new Uint8Array(n),
    nClusters: new Uint8Array(n),
    clusters: new Uint32Array(n * 3),
    loggedIn: new Uint8Array(n),
    nClusterPool,
    connector: new Uint8Array(nClusterPool),
  };
  for (let k = 0; k < nClusterPool; k++) p.connector[k] = pick(CONNECTOR_CUM, rng());

  const rawIntensity = new Float64Array(n);
  let weightedSum = 0;
  let weightSum = 0;
  for (let i = 0; i < n; i++) {
    // Growth: ~75% installed before the range, the rest appear at an increasing rate.
    p.created[i] = rng() < 0.75 ? -Infinity : startMs + Math.floor(Math.sqrt(rng()) * span); // integer ms throughout
    // Churn: ~12% stop being active somewhere in the range.
    p.churn[i] = rng() < 0.12 ? Math.max(p.created[i]!, startMs) + Math.floor(rng() * (endMs - Math.max(p.created[i]!, startMs))) : Infinity;

    // Heavy, medium and light users.
    const level = rng();
    const pw = level < 0.3 ? 0.75 + 0.2 * rng() : level < 0.65 ? 0.35 + 0.3 * rng() : 0.05 + 0.2 * rng();
    const weekendFactor = 0.12 + 0.2 * rng(); // local days; UTC days blur weekends (Friday evening in the Americas)
    p.pWeekday[i] = pw;
    p.pWeekend[i] = pw * weekendFactor;
    const raw = Math.exp(0.7 * gaussian(rng) - 0.245) * (0.5 + pw);
    rawIntensity[i] = raw;
    const activeDays = pw * (5 + 2 * weekendFactor);
    weightedSum += activeDays * raw;
    weightSum += activeDays;

    p.offset[i] = OFFSETS_H[pick(OFFSET_CUM, rng())]! * HOUR;
    const os = pick(OS_CUM, rng());
    p.os[i] = os;
    p.arch[i] = rng() < ARM_SHARE[os]! ? 1 : 0;
    p.osVersion[i] = Math.floor(rng() * OS_VERSIONS[os]!.length);

    const draft = rng() < 0.05;
    p.draft[i] = draft ? 1 : 0;
    if (draft) {
      p.appVersion[i] = Math.floor(rng() * DRAFT_VERSIONS.length);
      p.upgrade[i] = Infinity;
    } else {
      const v = pick(APP_VERSION_CUM, rng());
      p.appVersion[i] = v;
      p.upgrade[i] = v < APP_VERSIONS.length - 1 && rng() < 0.2 ? startMs + Math.floor(rng() * span) : Infinity;
    }

    const isNew = p.created[i]! > -Infinity;
    // ~9% of the existing base never logs in within the range (long-lived certificates); new ones must.
    const neverLogsIn = !isNew && rng() < 0.09;
    p.loginRate[i] = neverLogsIn ? 0 : 0.3 + 0.6 * rng();
    if (neverLogsIn) p.ppMode[i] = PP_NEVER;
    else if (rng() < 0.05) p.ppMode[i] = PP_NEVER;
    else p.ppMode[i] = isNew ? PP_AFTER_LOGIN : PP_ALWAYS;
    p.jobRole[i] = rng() < 0.4 ? 1 + pick(JOB_ROLE_CUM, rng()) : 0;

    let features = 0;
    if (rng() < 0.3) features |= F_ACCESS;
    if (rng() < 0.12) features |= F_REVIEW;
    if (rng() < 0.35) features |= F_FILE;
    if (!draft && rng() < 0.06) features |= F_CMC;
    if (!draft && rng() < 0.1) features |= F_VNET;
    p.features[i] = features;

    let protocols = 0;
    if (rng() < 0.88) protocols |= 1 << P_SSH;
    if (rng() < 0.38) protocols |= 1 << P_DB;
    if (rng() < 0.3) protocols |= 1 << P_KUBE;
    if (!draft && rng() < 0.2) protocols |= 1 << P_APP;
    if (!draft && rng() < (os === 1 ? 0.2 : 0.03)) protocols |= 1 << P_DESKTOP;
    p.protocols[i] = protocols || 1 << P_SSH;

    const c = rng();
    const nc = c < 0.7 ? 1 : c < 0.95 ? 2 : 3;
    p.nClusters[i] = nc;
    for (let s = 0; s < nc; s++) p.clusters[i * 3 + s] = Math.floor(nClusterPool * rng() * rng()); // skewed: big orgs
  }

  // Scale so that an active day averages `eventsPerActiveDay` events: 1 + geometric extra.
  const norm = weightSum > 0 ? weightedSum / weightSum : 1;
  const extraMean = Math.max(0, eventsPerActiveDay - 1);
  for (let i = 0; i < n; i++) {
    const m = (rawIntensity[i]! / norm) * extraMean;
    p.lnQ[i] = m > 0 ? Math.log(m / (m + 1)) : -Infinity;
  }
  return p;
}

// ---------------------------------------------------------------------------------------------------
// Columnar store of events for one ingestion day

class DayStore {
  len = 0;
  ts: Float64Array;
  created: Float64Array;
  inserted: Float64Array;
  inst: Uint32Array;
  detail: Uint32Array;
  seq: Uint32Array;
  dup: Uint8Array;

  constructor(cap = 1024) {
    this.ts = new Float64Array(cap);
    this.created = new Float64Array(cap);
    this.inserted = new Float64Array(cap);
    this.inst = new Uint32Array(cap);
    this.detail = new Uint32Array(cap);
    this.seq = new Uint32Array(cap);
    this.dup = new Uint8Array(cap);
  }

  private grow(): void {
    const cap = this.ts.length * 2;
    const g = <T extends Float64Array | Uint32Array | Uint8Array>(a: T, b: T): T => {
      b.set(a);
      return b;
    };
    this.ts = g(this.ts, new Float64Array(cap));
    this.created = g(this.created, new Float64Array(cap));
    this.inserted = g(this.inserted, new Float64Array(cap));
    this.inst = g(this.inst, new Uint32Array(cap));
    this.detail = g(this.detail, new Uint32Array(cap));
    this.seq = g(this.seq, new Uint32Array(cap));
    this.dup = g(this.dup, new Uint8Array(cap));
  }

  push(ts: number, created: number, inserted: number, inst: number, detail: number, seq: number, dup: number): void {
    if (this.len === this.ts.length) this.grow();
    const k = this.len++;
    this.ts[k] = ts;
    this.created[k] = created;
    this.inserted[k] = inserted;
    this.inst[k] = inst;
    this.detail[k] = detail;
    this.seq[k] = seq;
    this.dup[k] = dup;
  }

  /** Indices in `_inserted_at` order (ties: generation order). */
  order(dayStart: number): Uint32Array {
    const n = this.len;
    const out = new Uint32Array(n);
    const SHIFT = 67_108_864; // 2^26: offset-in-day (< 2^27 ms) * 2^26 + index stays below 2^53
    if (n < SHIFT) {
      const keys = new Float64Array(n);
      for (let k = 0; k < n; k++) keys[k] = (this.inserted[k]! - dayStart) * SHIFT + k;
      keys.sort();
      for (let k = 0; k < n; k++) out[k] = keys[k]! % SHIFT;
    } else {
      for (let k = 0; k < n; k++) out[k] = k;
      const ins = this.inserted;
      out.sort((a, b) => ins[a]! - ins[b]! || a - b);
    }
    return out;
  }
}

interface DayBatch {
  dayStart: number;
  store: DayStore;
  order: Uint32Array;
}

// ---------------------------------------------------------------------------------------------------
// Generation

interface Resolved {
  seedLo: number;
  seedHi: number;
  startMs: number;
  endMs: number;
  installations: number;
  eventsPerActiveDay: number;
  badRecords: boolean;
}

function resolve(opts: DemoOptions): Resolved {
  const startMs = opts.start instanceof Date ? opts.start.getTime() : NaN;
  const endMs = opts.end instanceof Date ? opts.end.getTime() : NaN;
  if (!Number.isFinite(opts.seed)) throw new RangeError(`demo: seed must be a finite number, got ${opts.seed}`);
  if (!Number.isFinite(startMs)) throw new RangeError('demo: start must be a valid Date');
  if (!Number.isFinite(endMs)) throw new RangeError('demo: end must be a valid Date');
  if (endMs <= startMs) throw new RangeError(`demo: end (${opts.end.toISOString()}) must be after start (${opts.start.toISOString()})`);
  if (!Number.isInteger(opts.installations) || opts.installations < 0 || opts.installations > 50_000_000) {
    throw new RangeError(`demo: installations must be an integer between 0 and 50,000,000, got ${opts.installations}`);
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
  };
}

const STREAM_POPULATION = 1;
const STREAM_EVENTS = 2;
const STREAM_BAD = 3;

/**
 * The engine: builds the population, generates local date after local date, and yields every UTC
 * ingestion day in [start, end) (empty ones too) with its rows in `_inserted_at` order.
 */
class DemoStream {
  readonly pop: Population;
  readonly r: Resolved;
  private readonly rng: Rng;
  private seq = 0;
  private readonly stores = new Map<number, DayStore>();
  readonly uuidSalt: number;
  private readonly idSaltD: number;
  private readonly idSaltP: number;
  private readonly clusterSalt: number;
  private readonly userSalt: number;

  // Lazily built string caches.
  private readonly distinctIds: (string | undefined)[];
  private readonly personIds: (string | undefined)[];
  private readonly idFragments: (string | undefined)[];
  private readonly userNames: (string | undefined)[];
  private readonly clusterNames: (string | undefined)[];
  private readonly ppFragments = new Map<number, string>();

  constructor(r: Resolved) {
    this.r = r;
    this.pop = buildPopulation(r.installations, r.startMs, r.endMs, r.eventsPerActiveDay, makeRng(r.seedLo, r.seedHi, STREAM_POPULATION));
    this.rng = makeRng(r.seedLo, r.seedHi, STREAM_EVENTS);
    const salts = makeRng(r.seedLo, r.seedHi, 0);
    const salt = (): number => Math.floor(salts() * 4294967296) >>> 0;
    this.uuidSalt = salt();
    this.idSaltD = salt();
    this.idSaltP = salt();
    this.clusterSalt = salt();
    this.userSalt = salt();
    this.distinctIds = new Array<string | undefined>(r.installations);
    this.personIds = new Array<string | undefined>(r.installations);
    this.idFragments = new Array<string | undefined>(r.installations);
    this.userNames = new Array<string | undefined>(r.installations * 3);
    this.clusterNames = new Array<string | undefined>(this.pop.nClusterPool);
  }

  *days(): Generator<DayBatch> {
    const { startMs, endMs } = this.r;
    const firstDay = Math.floor(startMs / DAY);
    const lastDay = Math.floor((endMs - 1) / DAY);
    let nextFlush = firstDay;
    // Local dates whose working day can overlap [start, end) for any offset within +-14 h.
    for (let local = firstDay - 1; local <= lastDay + 1; local++) {
      this.generateLocalDate(local);
      // Rows from later local dates have timestamps >= this bound, hence `_inserted_at` too.
      const minFutureTs = (local + 1) * DAY - MAX_OFFSET_MS;
      while (nextFlush <= lastDay && (nextFlush + 1) * DAY <= minFutureTs) yield this.flush(nextFlush++);
    }
    while (nextFlush <= lastDay) yield this.flush(nextFlush++);
  }

  private flush(day: number): DayBatch {
    const store = this.stores.get(day) ?? new DayStore(1);
    this.stores.delete(day);
    return { dayStart: day * DAY, store, order: store.order(day * DAY) };
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

  private generateLocalDate(local: number): void {
    const pop = this.pop;
    const rng = this.rng;
    const { startMs, endMs } = this.r;
    const weekend = (local + 3) % 7 >= 5; // epoch day 0 was a Thursday; Monday = 0
    const times = new Float64Array(512);
    const MAX_EVENTS = times.length;

    for (let i = 0; i < pop.n; i++) {
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

    // tsh daemon batches and flushes at least hourly: mostly minutes, up to about an hour late.
    // ~1% arrive more than a day late (laptop asleep, daemon offline).
    const u = rng();
    const delay = u < 0.01 ? DAY + Math.floor(rng() * 2 * DAY) : 2 * SECOND + Math.floor(HOUR * Math.pow(rng(), 1.7));
    const createdAt = ts + delay;
    const insertedAt = createdAt + 200 + Math.floor(rng() * 20 * SECOND);
    const endMs = this.r.endMs;
    if (insertedAt >= endMs) {
      rng(); // keep the stream aligned whatever the range end
      return; // not exported yet
    }
    const seq = this.seq++;
    this.add(ts, createdAt, insertedAt, i, detail, seq, 0);
    // ~0.5% are exported again (same row, re-inserted later) in a later day's file.
    if (rng() < 0.005) {
      const again = (Math.floor(insertedAt / DAY) + 1) * DAY + Math.floor(rng() * 30 * HOUR);
      if (again < endMs) this.add(ts, createdAt, again, i, detail, seq, 1);
    }
  }

  // ---- rendering ------------------------------------------------------------------------------------

  distinctId(i: number): string {
    let s = this.distinctIds[i];
    if (s === undefined) {
      s = 'connect.' + uuidFromCounter(i, this.idSaltD);
      this.distinctIds[i] = s;
    }
    return s;
  }

  personId(i: number): string {
    let s = this.personIds[i];
    if (s === undefined) {
      s = uuidFromCounter(i, this.idSaltP);
      this.personIds[i] = s;
    }
    return s;
  }

  private idFragment(i: number): string {
    let s = this.idFragments[i];
    if (s === undefined) {
      s = '"distinct_id":"' + this.distinctId(i) + '","person_id":"' + this.personId(i) + '"';
      this.idFragments[i] = s;
    }
    return s;
  }

  clusterName(k: number): string {
    let s = this.clusterNames[k];
    if (s === undefined) {
      s = hash44(k, this.clusterSalt);
      this.clusterNames[k] = s;
    }
    return s;
  }

  userName(i: number, slot: number): string {
    const key = i * 3 + slot;
    let s = this.userNames[key];
    if (s === undefined) {
      s = hash44(key, this.userSalt);
      this.userNames[key] = s;
    }
    return s;
  }

  appVersion(i: number, ts: number): string {
    const pop = this.pop;
    if (pop.draft[i] === 1) return DRAFT_VERSIONS[pop.appVersion[i]!]!;
    return APP_VERSIONS[pop.appVersion[i]! + (ts >= pop.upgrade[i]! ? 1 : 0)]!;
  }

  /** Person properties as an object (key order matches the JSON fragment). */
  personProperties(i: number, ts: number, detail: number): Record<string, unknown> {
    if ((detail & PP_BIT) === 0) return {};
    const pop = this.pop;
    const os = OS_NAMES[pop.os[i]!]!;
    const out: Record<string, unknown> = {};
    if (pop.draft[i] === 1) {
      out['os'] = os;
      out['connect_version'] = this.appVersion(i, ts);
    } else {
      out['connect.os'] = os;
      out['connect.app_version'] = this.appVersion(i, ts);
    }
    const job = pop.jobRole[i]!;
    if (job > 0) out['connect.user.job_role'] = JOB_ROLES[job - 1]!;
    return out;
  }

  private personPropertiesJson(i: number, ts: number, detail: number): string {
    if ((detail & PP_BIT) === 0) return '{}';
    const pop = this.pop;
    const draft = pop.draft[i]!;
    const v = draft === 1 ? pop.appVersion[i]! : pop.appVersion[i]! + (ts >= pop.upgrade[i]! ? 1 : 0);
    const key = ((pop.os[i]! * 16 + v) * 16 + pop.jobRole[i]!) * 2 + draft;
    let s = this.ppFragments.get(key);
    if (s === undefined) {
      s = JSON.stringify(this.personProperties(i, ts, detail));
      this.ppFragments.set(key, s);
    }
    return s;
  }

  /** Event properties as an object; the JSON writer below must produce the same keys in the same order. */
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
      'tp.cluster_name': this.clusterName(cluster),
      'tp.user_name': this.userName(i, slot),
    };
    switch (kind) {
      case K_LOGIN: {
        props['tp.connector_type'] = CONNECTORS[pop.connector[cluster]!]!;
        const os = pop.os[i]!;
        const osName = OS_NAMES[os]!;
        const arch = ARCHS[pop.arch[i]!]!;
        const osVersion = OS_VERSIONS[os]![pop.osVersion[i]!]!;
        const version = this.appVersion(i, ts);
        if (draft) {
          props['os'] = osName;
          props['arch'] = arch;
          props['os_version'] = osVersion;
          props['connect_version'] = version;
        } else {
          props['connect.os'] = osName;
          props['connect.arch'] = arch;
          props['connect.os_version'] = osVersion;
          props['connect.app_version'] = version;
        }
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

  private propertiesJson(i: number, ts: number, detail: number): string {
    const pop = this.pop;
    const kind = detail & 15;
    const slot = (detail >>> 4) & 3;
    const a = (detail >>> 8) & 15;
    const b = (detail >>> 12) & 15;
    const c = (detail >>> 16) & 3;
    const draft = pop.draft[i] === 1;
    const cluster = pop.clusters[i * 3 + slot]!;
    const tp = '{"tp.cluster_name":"' + this.clusterName(cluster) + '","tp.user_name":"' + this.userName(i, slot) + '"';
    switch (kind) {
      case K_LOGIN: {
        const os = pop.os[i]!;
        const rest =
          '","' + (draft ? 'os' : 'connect.os') + '":"' + OS_NAMES[os]! +
          '","' + (draft ? 'arch' : 'connect.arch') + '":"' + ARCHS[pop.arch[i]!]! +
          '","' + (draft ? 'os_version' : 'connect.os_version') + '":"' + OS_VERSIONS[os]![pop.osVersion[i]!]! +
          '","' + (draft ? 'connect_version' : 'connect.app_version') + '":"' + this.appVersion(i, ts) + '"}';
        return tp + ',"tp.connector_type":"' + CONNECTORS[pop.connector[cluster]!]! + rest;
      }
      case K_PROTOCOL:
        if (draft) return tp + ',"protocol":"' + DRAFT_PROTOCOLS[a]! + '"}';
        return tp + ',"connect.protocol":"' + PROTOCOLS[a]! + '","origin":"' + ORIGINS[b]! + '","access_through":"' + ACCESS_THROUGH[c]! + '"}';
      case K_AR_CREATE:
        return tp + (draft ? ',"kind":"' : ',"connect.access_request_kind":"') + (a === 0 ? 'role' : 'resource') + '"}';
      case K_FILE:
        if (draft) return tp + ',"direction":"' + (a === 1 ? 'upload' : 'download') + '"}';
        return tp + ',"connect.file_transfer_is_upload":' + (a === 1 ? 'true' : 'false') + '}';
      case K_CMC_SETUP:
        if (a === 1) return tp + ',"connect.setup.success":true}';
        return tp + ',"connect.setup.success":false,"connect.setup.failed_step":"' + FAILED_STEPS[b]! + '"}';
      default:
        return tp + '}';
    }
  }

  eventName(i: number, detail: number): string {
    return (this.pop.draft[i] === 1 ? DRAFT_EVENT_NAMES : EVENT_NAMES)[detail & 15]!;
  }

  record(s: DayStore, k: number): ExportRecord {
    const i = s.inst[k]!;
    const ts = s.ts[k]!;
    const detail = s.detail[k]!;
    return {
      uuid: uuidFromCounter(s.seq[k]!, this.uuidSalt),
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

  /** The record as one JSON line (with '\n'); equal to JSON.stringify(record(s, k)) + '\n'. */
  line(s: DayStore, k: number): string {
    const i = s.inst[k]!;
    const ts = s.ts[k]!;
    const detail = s.detail[k]!;
    return (
      '{"uuid":"' + uuidFromCounter(s.seq[k]!, this.uuidSalt) +
      '","event":"' + this.eventName(i, detail) +
      '",' + this.idFragment(i) +
      ',"properties":' + this.propertiesJson(i, ts, detail) +
      ',"person_properties":' + this.personPropertiesJson(i, ts, detail) +
      ',"elements_chain":"","timestamp":"' + iso(ts) +
      '","created_at":"' + iso(s.created[k]!) +
      '","_inserted_at":"' + iso(s.inserted[k]!) + '"}\n'
    );
  }
}

// ---------------------------------------------------------------------------------------------------
// Public API

/** Events in ingestion order (`_inserted_at` ascending). */
export function generateDemoEvents(opts: DemoOptions): Iterable<ExportRecord> {
  const r = resolve(opts);
  return {
    *[Symbol.iterator](): Iterator<ExportRecord> {
      const gen = new DemoStream(r);
      for (const { store, order } of gen.days()) {
        for (let j = 0; j < order.length; j++) yield gen.record(store, order[j]!);
      }
    },
  };
}

/** Bad lines for one file: at least one of each kind, at random positions. */
function planBadRecords(rng: Rng, rows: number): { at: number; kind: number }[] {
  if (rows === 0) return [];
  const n = 3 + Math.floor(rng() * 4);
  const plan: { at: number; kind: number }[] = [];
  for (let j = 0; j < n; j++) plan.push({ at: Math.floor(rng() * rows), kind: j < 3 ? j : Math.floor(rng() * 3) });
  plan.sort((x, y) => x.at - y.at || x.kind - y.kind);
  return plan;
}

function badLine(gen: DemoStream, s: DayStore, k: number, kind: number, rng: Rng): string {
  const rec = gen.record(s, k) as unknown as Record<string, unknown>;
  // Own uuid so that a reader which drops the bad line still has the real row it was copied from.
  rec['uuid'] = uuidFromWords(
    Math.floor(rng() * 4294967296), Math.floor(rng() * 4294967296),
    Math.floor(rng() * 4294967296), Math.floor(rng() * 4294967296),
  );
  if (kind === 1) delete rec['distinct_id'];
  if (kind === 2) rec['timestamp'] = 'not-a-time';
  const json = JSON.stringify(rec);
  if (kind === 0) return json.slice(0, Math.floor(json.length * (0.2 + 0.7 * rng()))) + '\n';
  return json + '\n';
}

const CHUNK_CHARS = 1 << 20;

/** Writes gzip JSONL files, one per UTC day of `_inserted_at`, named like PostHog batch exports:
 *  `${dir}/${intervalStartISO}-${intervalEndISO}.jsonl.gz` e.g. `2026-11-16T00:00:00Z-2026-11-17T00:00:00Z.jsonl.gz`.
 *  Writes each file to a temp name then renames it. Streams (never builds a whole file in memory).
 *  Bad records (when enabled) are mixed in as raw lines. */
export async function writeDemoExport(
  dir: string,
  opts: DemoOptions,
): Promise<{ files: string[]; records: number; badRecords: number; duplicates: number }> {
  const r = resolve(opts);
  await mkdir(dir, { recursive: true });
  const gen = new DemoStream(r);
  const badRng = makeRng(r.seedLo, r.seedHi, STREAM_BAD);
  const files: string[] = [];
  let records = 0;
  let badRecords = 0;
  let duplicates = 0;

  for (const { dayStart, store, order } of gen.days()) {
    const name = `${isoSeconds(dayStart)}-${isoSeconds(dayStart + DAY)}.jsonl.gz`;
    const final = path.join(dir, name);
    const tmp = `${final}.tmp-${process.pid}`;
    const plan = r.badRecords ? planBadRecords(badRng, order.length) : [];

    function* chunks(): Generator<Buffer> {
      let buf = '';
      let p = 0;
      for (let j = 0; j < order.length; j++) {
        const k = order[j]!;
        while (p < plan.length && plan[p]!.at === j) {
          buf += badLine(gen, store, k, plan[p]!.kind, badRng);
          badRecords++;
          p++;
        }
        buf += gen.line(store, k);
        records++;
        duplicates += store.dup[k]!;
        if (buf.length >= CHUNK_CHARS) {
          yield Buffer.from(buf, 'latin1'); // all ASCII
          buf = '';
        }
      }
      if (buf.length > 0) yield Buffer.from(buf, 'latin1');
    }

    try {
      await pipeline(Readable.from(chunks()), createGzip({ level: Number(process.env.DEMO_GZ_LEVEL ?? 1), chunkSize: Number(process.env.DEMO_CS ?? 16384) }), createWriteStream(tmp));
      await rename(tmp, final);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
    files.push(final);
  }
  return { files, records, badRecords, duplicates };
}
