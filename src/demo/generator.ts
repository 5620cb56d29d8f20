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
 * - Date math is done on epoch milliseconds; the file writer encodes JSON bytes directly from cached
 *   fragments (no luxon, no JSON.stringify on the hot path) and gzips several days at once in libuv's pool.
 *
 * What a consumer sees:
 * - Event timestamps lie in [start, end); rows whose `_inserted_at` would fall at or after `end` are not
 *   exported yet (as in a real export cut at `end`), so the last hours before `end` are a little thin.
 * - Duplicates (~0.5%) repeat a row in a later day's file with the same uuid and content but a later
 *   `_inserted_at` (the row was inserted again); dedupe on `uuid`.
 * - Bad records exist only in the files written by `writeDemoExport`; `generateDemoEvents` yields only
 *   well-formed records (duplicates included).
 * - Files are named by whole UTC days even when `start`/`end` are not midnight; a partial day's file
 *   simply holds fewer rows. Every UTC day overlapping [start, end) gets a file, empty ones included.
 * - Volume (two-week range): about 0.30 x eventsPerActiveDay events per installation per day on average,
 *   0.38x on weekdays and 0.12x on weekends; weekday DAU about 41% of `installations`, weekend about 16%.
 *   10M events from 200k installations over two weeks needs eventsPerActiveDay of about 11.8.
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

/** Independent streams per purpose (and per day for bad records), so e.g. turning bad records on does not change the good ones. */
function makeRng(seedLo: number, seedHi: number, stream: number, sub = 0): Rng {
  const base = hash3(hash3(seedLo, seedHi, stream), sub >>> 0, 0x5bd1e995);
  const rng = sfc32(hash3(base, 1, stream), hash3(base, 2, stream), hash3(base, 3, stream), hash3(base, 4, stream));
  for (let i = 0; i < 16; i++) rng();
  return rng;
}

// Identifiers and hashes are written as bytes straight into the output buffer (the hot path), and the
// string forms used by `generateDemoEvents` are decoded from those same bytes, so both always agree.

const HEX = Buffer.from('0123456789abcdef', 'latin1');
const B64 = Buffer.from('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/', 'latin1');
const WORDS = new Uint32Array(8);
const SCRATCH = Buffer.alloc(64);

/** Four words of a UUIDv4-shaped id into WORDS[0..3]; unique for distinct n < 2^32 (WORDS[0] is a bijection of n). */
function uuidWords(n: number, salt: number): void {
  const w0 = fmix32((n ^ salt) >>> 0);
  const w1 = fmix32((w0 ^ 0x68e31da4 ^ salt) >>> 0);
  const w2 = fmix32((w1 + 0xb5297a4d + salt) >>> 0);
  WORDS[0] = w0;
  WORDS[1] = (w1 & 0xffff0fff) | 0x4000; // version 4
  WORDS[2] = (w2 & 0x3fffffff) | 0x80000000; // RFC 4122 variant
  WORDS[3] = fmix32((w2 ^ 0x1b56c4e9 ^ n) >>> 0);
}

/** Random words from the PRNG (used for bad records, which must not collide with real uuids). */
function randomUuidWords(rng: Rng): void {
  for (let j = 0; j < 4; j++) WORDS[j] = Math.floor(rng() * 4294967296);
  WORDS[1] = (WORDS[1]! & 0xffff0fff) | 0x4000;
  WORDS[2] = (WORDS[2]! & 0x3fffffff) | 0x80000000;
}

function putHexWord(out: Uint8Array, off: number, w: number, from: number, to: number): number {
  for (let sh = 28 - from * 4; sh >= 32 - to * 4; sh -= 4) out[off++] = HEX[(w >>> sh) & 15]!;
  return off;
}

/** Writes the UUID in WORDS[0..3] (36 bytes). */
function putUuid(out: Uint8Array, off: number): number {
  const w1 = WORDS[1]!;
  const w2 = WORDS[2]!;
  off = putHexWord(out, off, WORDS[0]!, 0, 8);
  out[off++] = 45;
  off = putHexWord(out, off, w1, 0, 4);
  out[off++] = 45;
  off = putHexWord(out, off, w1, 4, 8);
  out[off++] = 45;
  off = putHexWord(out, off, w2, 0, 4);
  out[off++] = 45;
  off = putHexWord(out, off, w2, 4, 8);
  return putHexWord(out, off, WORDS[3]!, 0, 8);
}

function uuidString(): string {
  putUuid(SCRATCH, 0);
  return SCRATCH.toString('latin1', 0, 36);
}

function uuidFromCounter(n: number, salt: number): string {
  uuidWords(n, salt);
  return uuidString();
}

/** Eight words of a digest-like hash into WORDS. */
function hashWords(n: number, salt: number): void {
  let w = fmix32((n ^ salt) >>> 0);
  for (let j = 0; j < 8; j++) {
    w = fmix32((w + 0x9e3779b9 + j + salt) >>> 0);
    WORDS[j] = w;
  }
}

function wordByte(j: number): number {
  return (WORDS[j >>> 2]! >>> (24 - 8 * (j & 3))) & 255;
}

/** Writes WORDS as base64 of 32 bytes (44 bytes with the '=' pad): shaped like an HMAC-SHA256 digest. */
function putB64(out: Uint8Array, off: number): number {
  for (let j = 0; j < 30; j += 3) {
    const v = (wordByte(j) << 16) | (wordByte(j + 1) << 8) | wordByte(j + 2);
    out[off++] = B64[v >>> 18]!;
    out[off++] = B64[(v >>> 12) & 63]!;
    out[off++] = B64[(v >>> 6) & 63]!;
    out[off++] = B64[v & 63]!;
  }
  const v = (wordByte(30) << 16) | (wordByte(31) << 8);
  out[off++] = B64[v >>> 18]!;
  out[off++] = B64[(v >>> 12) & 63]!;
  out[off++] = B64[(v >>> 6) & 63]!;
  out[off++] = 61; // '='
  return off;
}

function hash44(n: number, salt: number): string {
  hashWords(n, salt);
  putB64(SCRATCH, 0);
  return SCRATCH.toString('latin1', 0, 44);
}

function putBytes(out: Uint8Array, off: number, src: Uint8Array): number {
  const n = src.length;
  for (let j = 0; j < n; j++) out[off + j] = src[j]!;
  return off + n;
}

let isoDay = NaN;
const isoDayBytes = Buffer.alloc(11);

/** Writes epoch ms as "2026-11-16T09:12:33.123Z" (24 bytes); same text as `iso(ms)`. */
function putIso(out: Uint8Array, off: number, ms: number): number {
  const day = Math.floor(ms / DAY);
  if (day !== isoDay) {
    isoDay = day;
    isoDayBytes.write(dayPrefix(day), 0, 'latin1');
  }
  for (let j = 0; j < 11; j++) out[off + j] = isoDayBytes[j]!;
  let r = ms - day * DAY;
  const h = (r / HOUR) | 0;
  r -= h * HOUR;
  const m = (r / MINUTE) | 0;
  r -= m * MINUTE;
  const s = (r / SECOND) | 0;
  r -= s * SECOND;
  out[off + 11] = 48 + ((h / 10) | 0);
  out[off + 12] = 48 + (h % 10);
  out[off + 13] = 58;
  out[off + 14] = 48 + ((m / 10) | 0);
  out[off + 15] = 48 + (m % 10);
  out[off + 16] = 58;
  out[off + 17] = 48 + ((s / 10) | 0);
  out[off + 18] = 48 + (s % 10);
  out[off + 19] = 46;
  out[off + 20] = 48 + ((r / 100) | 0);
  out[off + 21] = 48 + (((r / 10) | 0) % 10);
  out[off + 22] = 48 + (r % 10);
  out[off + 23] = 90;
  return off + 24;
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

  /** A copy in `_inserted_at` order: rendering then reads the columns sequentially. */
  sorted(dayStart: number): DayStore {
    const order = this.order(dayStart);
    const n = this.len;
    const s = new DayStore(Math.max(1, n));
    s.len = n;
    const gather = <T extends Float64Array | Uint32Array | Uint8Array>(from: T, to: T): void => {
      for (let k = 0; k < n; k++) to[k] = from[order[k]!]!;
    };
    gather(this.ts, s.ts);
    gather(this.created, s.created);
    gather(this.inserted, s.inserted);
    gather(this.inst, s.inst);
    gather(this.detail, s.detail);
    gather(this.seq, s.seq);
    gather(this.dup, s.dup);
    return s;
  }
}

/** One ingestion day: rows 0..store.len-1 in `_inserted_at` order. */
interface DayBatch {
  dayStart: number;
  store: DayStore;
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
  };
}

const STREAM_POPULATION = 1;
const STREAM_EVENTS = 2;
const STREAM_BAD = 3;
/** Installations generated between two chances for the event loop to run (about 10 ms of work). */
const INSTALLATION_SLICE = 4096;

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
  private readonly times = new Float64Array(512);
  readonly uuidSalt: number;
  private readonly idSaltD: number;
  private readonly idSaltP: number;
  private readonly clusterSalt: number;
  private readonly userSalt: number;

  // Caches. User-name hashes are recomputed per row (cheap) rather than held for every installation and cluster.
  private readonly clusterNames: string[];
  private readonly clusterBytes: Buffer;
  private readonly ppCache = new Map<number, Buffer>();
  private readonly suffixCache = new Map<number, Buffer>();
  /**
   * One 128-byte row per installation with everything `encode` reads, so that rendering rows in
   * `_inserted_at` order (random installations) touches two cache lines, not a dozen arrays:
   * bytes 0-86 `<distinct uuid>","person_id":"<person uuid>` (filled on first use), 87 filled flag,
   * 88 draft, 89 os, 90 arch, 91 os version, 92 app version, 93 job role,
   * 96-107 three cluster ids (uint32), 112-119 upgrade time (float64).
   */
  private readonly rowU8: Uint8Array;
  private readonly rowU32: Uint32Array;
  private readonly rowF64: Float64Array;

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
    const nc = this.pop.nClusterPool;
    this.clusterNames = Array.from({ length: nc }, (_, k) => hash44(k, this.clusterSalt));
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
    }
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
    return { dayStart: day * DAY, store: store.sorted(day * DAY) };
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

  distinctId(i: number): string {
    return 'connect.' + uuidFromCounter(i, this.idSaltD);
  }

  personId(i: number): string {
    return uuidFromCounter(i, this.idSaltP);
  }

  private versionIndex(i: number, ts: number): number {
    const pop = this.pop;
    return pop.draft[i] === 1 ? pop.appVersion[i]! : pop.appVersion[i]! + (ts >= pop.upgrade[i]! ? 1 : 0);
  }

  private appVersion(i: number, ts: number): string {
    return (this.pop.draft[i] === 1 ? DRAFT_VERSIONS : APP_VERSIONS)[this.versionIndex(i, ts)]!;
  }

  /** Person properties (empty until known); draft builds use the draft names. */
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
      'tp.user_name': hash44(i * 3 + slot, this.userSalt),
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
      uuidWords(i, this.idSaltD);
      let o = putUuid(row, b);
      o = putBytes(row, o, L_PERSON);
      uuidWords(i, this.idSaltP);
      putUuid(row, o);
      row[b + R_FILLED] = 1;
    }
    const draft = row[b + R_DRAFT]!;
    const os = row[b + R_OS]!;
    const version = row[b + R_APP_VERSION]! + (draft === 0 && ts >= this.rowF64[(b + R_UPGRADE) / 8]! ? 1 : 0);
    const cluster = this.rowU32[(b + R_CLUSTERS) / 4 + slot]!;

    off = putBytes(out, off, L_UUID);
    uuidWords(s.seq[k]!, this.uuidSalt);
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
    hashWords(i * 3 + slot, this.userSalt);
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

// Fixed fragments of a JSON line, in order.
const latin1 = (text: string): Buffer => Buffer.from(text, 'latin1');
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
const ROW = 128;
const R_FILLED = 87;
const R_DRAFT = 88;
const R_OS = 89;
const R_ARCH = 90;
const R_OS_VERSION = 91;
const R_APP_VERSION = 92;
const R_JOB = 93;
const R_CLUSTERS = 96;
const R_UPGRADE = 112;
const L_CLUSTER = latin1('","properties":{"tp.cluster_name":"');
const L_USER = latin1('","tp.user_name":"');
const L_PERSON_PROPS = latin1(',"person_properties":');
const L_TIMESTAMP = latin1(',"elements_chain":"","timestamp":"');
const L_CREATED = latin1('","created_at":"');
const L_INSERTED = latin1('","_inserted_at":"');
const L_END = latin1('"}\n');

// ---------------------------------------------------------------------------------------------------
// Public API

/** Events in ingestion order (`_inserted_at` ascending). */
export function generateDemoEvents(opts: DemoOptions): Iterable<ExportRecord> {
  const r = resolve(opts);
  return {
    *[Symbol.iterator](): Iterator<ExportRecord> {
      const gen = new DemoStream(r);
      for (const batch of gen.days()) {
        if (batch === null) continue;
        const { store } = batch;
        for (let k = 0; k < store.len; k++) yield gen.record(store, k);
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
  randomUuidWords(rng);
  rec['uuid'] = uuidString();
  if (kind === 1) delete rec['distinct_id'];
  if (kind === 2) rec['timestamp'] = 'not-a-time';
  const json = JSON.stringify(rec);
  if (kind === 0) return json.slice(0, Math.floor(json.length * (0.2 + 0.7 * rng()))) + '\n';
  return json + '\n';
}

const CHUNK_BYTES = 1 << 20;
const MAX_LINE_BYTES = 8 << 10; // generous: real lines are under 1 KB
/** Files compressed at once: gzip runs in libuv's pool while the main thread renders the next day. */
const FILES_IN_FLIGHT = 3;

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
  const files: string[] = [];
  const totals = { records: 0, badRecords: 0, duplicates: 0 };

  const writeDay = async ({ dayStart, store }: DayBatch, final: string): Promise<void> => {
    const tmp = `${final}.tmp-${process.pid}`;
    // One bad-record stream per day: files are rendered concurrently, so a shared one would not be deterministic.
    const badRng = makeRng(r.seedLo, r.seedHi, STREAM_BAD, dayStart / DAY);
    const plan = r.badRecords ? planBadRecords(badRng, store.len) : [];

    function* chunks(): Generator<Buffer> {
      let out = Buffer.allocUnsafe(CHUNK_BYTES + MAX_LINE_BYTES);
      let off = 0;
      let p = 0;
      for (let k = 0; k < store.len; k++) {
        while (p < plan.length && plan[p]!.at === k) {
          off += out.write(badLine(gen, store, k, plan[p]!.kind, badRng), off, 'latin1');
          totals.badRecords++;
          p++;
        }
        off = gen.encode(out, off, store, k);
        totals.records++;
        totals.duplicates += store.dup[k]!;
        if (off >= CHUNK_BYTES) {
          yield out.subarray(0, off);
          out = Buffer.allocUnsafe(CHUNK_BYTES + MAX_LINE_BYTES);
          off = 0;
        }
      }
      if (off > 0) yield out.subarray(0, off);
    }

    try {
      await pipeline(
        Readable.from(chunks(), { objectMode: false, highWaterMark: 2 * CHUNK_BYTES }),
        createGzip({ level: 1, memLevel: 9, chunkSize: 1 << 20 }),
        createWriteStream(tmp, { highWaterMark: 1 << 20 }),
      );
      await rename(tmp, final);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  };

  const inFlight: Promise<void>[] = [];
  try {
    for (const batch of gen.days()) {
      if (batch === null) {
        await new Promise<void>((done) => setImmediate(done)); // let zlib and fs callbacks run
        continue;
      }
      const final = path.join(dir, `${isoSeconds(batch.dayStart)}-${isoSeconds(batch.dayStart + DAY)}.jsonl.gz`);
      files.push(final);
      const p = writeDay(batch, final);
      p.catch(() => undefined); // handled below; avoids an unhandled rejection while others run
      inFlight.push(p);
      if (inFlight.length >= FILES_IN_FLIGHT) await inFlight.shift();
    }
    await Promise.all(inFlight);
  } catch (err) {
    await Promise.allSettled(inFlight);
    throw err;
  }
  return { files, ...totals };
}
