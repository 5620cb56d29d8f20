/**
 * The demo's installed base, drawn once and shared by every kind of demo data: Connect events
 * (events.ts), the CloudFront logs of the same installers (cdn-logs.ts) and the clusters' own logins
 * (cluster-logins.ts). Columnar typed arrays, one entry per installation, so a few hundred thousand
 * installations stay cheap.
 *
 * Versions: every installation starts on one of the builds out before the range (a few upgrade once
 * to the next one); two releases come out inside the range and spread through the base as the in-app
 * updater installs them (see RELEASES), so release adoption and time to 50% have something to show.
 */
import { cumulative, exponential, gaussian, pick, type Rng } from './random.ts';
import { DAY, HOUR, WEEK } from './time.ts';

/** UTC offsets (hours) with weights: Americas ~46%, Europe/Africa ~30%, Asia-Pacific ~24%. */
const OFFSETS_H = [-8, -7, -6, -5, -3, 0, 1, 2, 3, 5.5, 7, 8, 9, 10];
const OFFSET_CUM = cumulative([14, 5, 8, 15, 4, 7, 15, 6, 2, 6, 2, 7, 5, 4]);
export const MAX_OFFSET_MS = Math.max(...OFFSETS_H) * HOUR;

export const OS_NAMES = ['darwin', 'win32', 'linux', 'freebsd'] as const;
export const OS_DARWIN = 0;
export const OS_WIN32 = 1;
export const OS_LINUX = 2;
const OS_CUM = cumulative([55, 30, 14, 1]);
/** Kernel releases (`os.release()`), per OS. */
export const OS_VERSIONS: readonly (readonly string[])[] = [
  ['22.6.0', '23.6.0', '24.1.0', '24.6.0', '25.0.0'],
  ['10.0.19045', '10.0.22631', '10.0.26100'],
  ['5.15.0-126-generic', '6.8.0-49-generic', '6.11.0-1-amd64', '6.11.5-300.fc41.x86_64'],
  ['14.1-RELEASE', '14.2-RELEASE'],
];
/** Probability of arm64 per OS. */
const ARM_SHARE = [0.75, 0.05, 0.15, 0];
export const ARCHS = ['x64', 'arm64'] as const;

/** Builds out before the range (the first INSTALLED), then the releases inside it, in release order. */
export const APP_VERSIONS = ['17.4.10', '17.5.4', '17.7.3', '18.0.2', '18.1.5', '18.2.1', '18.3.0', '18.3.1', '18.4.0'];
const INSTALLED = 6;
const INSTALLED_CUM = cumulative([6, 10, 16, 18, 25, 25]);
/** Builds old enough to emit the draft-RFD event and property names (they never update). */
export const DRAFT_VERSIONS = ['12.0.2', '12.0.5', '12.1.0'];

/**
 * The releases inside the range: when each comes out (relative to the range's end) and how many
 * installations ever take it. The first is out 8 weeks before the end of a demo range (inside the
 * report's 12 weeks, after its first covered week) and passes half of the active installations; a
 * patch follows 3 weeks before the end; the last is out 4 days before the end: still on its way up,
 * with many update fetches in the report week.
 */
export const RELEASES = [
  { version: APP_VERSIONS[INSTALLED]!, beforeEnd: 8 * WEEK, share: 0.85 },
  { version: APP_VERSIONS[INSTALLED + 1]!, beforeEnd: 3 * WEEK, share: 0.8 },
  { version: APP_VERSIONS[INSTALLED + 2]!, beforeEnd: 4 * DAY, share: 0.85 },
] as const;
/**
 * The updater's wait after a release: most installations take it within days (the app restarts
 * often), a long tail weeks later (left running, or updates deferred), so update fetches go on
 * between releases.
 */
const FAST_SHARE = 0.65;
const FAST_MEAN = 4 * DAY;
const SLOW_MEAN = 20 * DAY;
export const RELEASE_INDEX = INSTALLED; // APP_VERSIONS index of RELEASES[0]

/** Release times for a range: as RELEASES says when the range is long enough, else spread inside it (afternoons, UTC). */
export function releaseTimes(startMs: number, endMs: number): number[] {
  const span = endMs - startMs;
  let previous = -Infinity;
  return RELEASES.map((r, k) => {
    const spread = startMs + Math.floor(span * (0.25 + (0.6 * k) / Math.max(1, RELEASES.length - 1)));
    const at = Math.max(span > r.beforeEnd + WEEK ? endMs - r.beforeEnd : spread, previous + DAY);
    previous = Math.floor(at / DAY) * DAY + 17 * HOUR;
    return previous;
  });
}

export const CONNECTORS = ['local', 'passwordless', 'github', 'saml', 'oidc'] as const;
const CONNECTOR_CUM = cumulative([15, 10, 25, 30, 20]);

export const JOB_ROLES = ['Software Engineer', 'DevOps Engineer', 'SRE', 'Engineering Manager', 'Security Engineer', 'Other'];
const JOB_ROLE_CUM = cumulative([40, 25, 12, 8, 5, 10]);

// Feature flags per installation: which non-protocol events it can emit.
export const F_ACCESS = 1;
export const F_REVIEW = 2;
export const F_FILE = 4;
export const F_CMC = 8;
export const F_VNET = 16;

// Protocols (bit index).
export const P_SSH = 0;
export const P_DB = 1;
export const P_KUBE = 2;
export const P_APP = 3;
export const P_DESKTOP = 4;

// Person-properties modes.
export const PP_NEVER = 0; // empty person_properties throughout
export const PP_ALWAYS = 1; // set by logins before the range
export const PP_AFTER_LOGIN = 2; // new installation: set by its first login

export interface Population {
  n: number;
  created: Float64Array; // epoch ms the installation appeared (-Infinity: before the range)
  churn: Float64Array; // epoch ms it stops being active (Infinity: never)
  upgrade: Float64Array; // epoch ms it moves to the next installed build (Infinity: never)
  /** epoch ms it runs each release (RELEASES.length per installation; Infinity: never) */
  release: Float64Array;
  pWeekday: Float32Array;
  pWeekend: Float32Array;
  lnQ: Float64Array; // geometric parameter for the number of extra events on an active day
  loginRate: Float32Array; // chance an active day starts with a login (0: never logs in within the range)
  offset: Float64Array; // UTC offset in ms
  os: Uint8Array;
  arch: Uint8Array;
  osVersion: Uint8Array;
  appVersion: Uint8Array; // index into APP_VERSIONS (DRAFT_VERSIONS for draft builds) at its start
  draft: Uint8Array;
  ppMode: Uint8Array;
  jobRole: Uint8Array; // 0: none, else index + 1
  features: Uint8Array;
  protocols: Uint8Array;
  nClusters: Uint8Array;
  clusters: Uint32Array; // 3 slots per installation
  loggedIn: Uint8Array; // mutable state during generation
  nClusterPool: number;
  connector: Uint8Array; // per cluster
  /** release times of the range (epoch ms), one per RELEASES entry */
  releaseAt: number[];
}

/** The APP_VERSIONS index an (implemented-names) installation runs at `ts`. */
export function versionAt(pop: Population, i: number, ts: number): number {
  for (let r = RELEASES.length - 1; r >= 0; r--) if (ts >= pop.release[i * RELEASES.length + r]!) return RELEASE_INDEX + r;
  return pop.appVersion[i]! + (ts >= pop.upgrade[i]! ? 1 : 0);
}

export function buildPopulation(n: number, startMs: number, endMs: number, eventsPerActiveDay: number, rng: Rng): Population {
  const span = endMs - startMs;
  const nClusterPool = Math.max(1, Math.round(n / 25));
  const R = RELEASES.length;
  const p: Population = {
    n,
    created: new Float64Array(n),
    churn: new Float64Array(n),
    upgrade: new Float64Array(n),
    release: new Float64Array(n * R),
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
    releaseAt: releaseTimes(startMs, endMs),
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
    p.upgrade[i] = Infinity;
    for (let r = 0; r < R; r++) p.release[i * R + r] = Infinity;
    if (draft) p.appVersion[i] = Math.floor(rng() * DRAFT_VERSIONS.length);
    else assignVersions(p, i, startMs, span, rng);

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
    if (!draft && rng() < (os === OS_WIN32 ? 0.2 : 0.03)) protocols |= 1 << P_DESKTOP;
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

/**
 * The builds an implemented-names installation runs: the one it was installed with (the newest
 * release out at its creation for new ones), maybe one upgrade to the next older build, and each
 * release after it comes out, when the updater installs it (the app fetches it while running and runs
 * it from the next start: an exponential wait after the release).
 */
function assignVersions(p: Population, i: number, startMs: number, span: number, rng: Rng): void {
  const R = RELEASES.length;
  const created = p.created[i]!;
  let newest = -1; // the newest release out when the installation appeared
  for (let r = 0; r < R; r++) if (created >= p.releaseAt[r]!) newest = r;
  const v = pick(INSTALLED_CUM, rng());
  const upgrades = rng() < 0.2;
  const at = startMs + Math.floor(rng() * span);
  if (newest >= 0) {
    p.appVersion[i] = RELEASE_INDEX + newest;
  } else {
    p.appVersion[i] = v;
    if (v < INSTALLED - 1 && upgrades) p.upgrade[i] = at;
  }
  let from = created;
  for (let r = newest + 1; r < R; r++) {
    const take = rng() < RELEASES[r]!.share;
    const wait = exponential(rng, rng() < FAST_SHARE ? FAST_MEAN : SLOW_MEAN);
    if (take) {
      const t = Math.max(p.releaseAt[r]!, from) + wait;
      p.release[i * R + r] = t;
      from = t;
    }
  }
  // A later release installed first makes the earlier one never run.
  for (let r = 0; r < R - 1; r++) {
    for (let q = r + 1; q < R; q++) if (p.release[i * R + q]! <= p.release[i * R + r]!) p.release[i * R + r] = Infinity;
  }
}
