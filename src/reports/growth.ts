/**
 * Growth, retention and release adoption (pure): lifecycle per week (new, returning, resurrecting,
 * dormant), weekly cohorts' retention, version shares and each new release's time to reach half of
 * the active installations, and downloads beside new installations. Built from the aggregates of the
 * growth_weekly and version_adoption queries; definitions in docs/metrics.md.
 */
import { DateTime } from 'luxon';
import type { RowOf } from '../engine/query.ts';
import type growth_weekly from '../queries/growth_weekly.ts';
import type version_adoption from '../queries/version_adoption.ts';
import type { Week } from './period.ts';
import type { DownloadsSection } from './downloads.ts';
import { compareSemver } from './semver.ts';

export type GrowthRow = RowOf<typeof growth_weekly>;
export type VersionRow = RowOf<typeof version_adoption>;

/** Weeks of lifecycle, cohorts and releases; cells of retention after a cohort's week. */
export const GROWTH_WEEKS = 12;
export const RETENTION_WEEKS = 8;
/** The version_adoption query's LIMIT: a result this long may have been cut, so it is refused. */
export const VERSION_ROWS_LIMIT = 50_000;

const BEFORE = '1970-01-01';
/** growth_weekly's cohort_wK columns, K = 1..RETENTION_WEEKS. */
const COHORT_COLUMNS = ['cohort_w1', 'cohort_w2', 'cohort_w3', 'cohort_w4', 'cohort_w5', 'cohort_w6', 'cohort_w7', 'cohort_w8'] as const satisfies ReadonlyArray<keyof GrowthRow>;
const NEW_OS = ['macos', 'windows', 'linux', 'other', 'unknown'] as const;
export type NewOs = (typeof NEW_OS)[number];

/**
 * `covered`: the data reaches the week before, so every state is known. `first-covered`: the week
 * holds the earliest event the query saw: every installation looks new, so new, returning,
 * resurrecting and dormant cannot be told and are left empty. `no-data`: before the data starts.
 */
export type Coverage = 'covered' | 'first-covered' | 'no-data';

export interface LifecycleRow {
  /** the Monday, YYYY-MM-DD */
  week: string;
  coverage: Coverage;
  /** installations active in the week (new + returning + resurrecting); known in every week */
  active: number;
  new: number | null;
  returning: number | null;
  resurrecting: number | null;
  /** active the week before, not this week; a count (charts draw it below zero) */
  dormant: number | null;
  /** (new + resurrecting) / dormant; null when dormant is 0 or the week is not covered */
  quickRatio: number | null;
}

export interface RetentionRow {
  /** the cohort's week (its installations' first active week), the Monday */
  cohort: string;
  coverage: Coverage;
  /** installations first seen in the week; null when the week is not covered */
  size: number | null;
  /** w1..w8: share of the cohort active 1..8 weeks later; null when that week has not ended or size is 0 or unknown */
  shares: Array<number | null>;
  /** the same as counts of installations */
  retained: Array<number | null>;
}

export interface VersionShare {
  version: string;
  users: number;
  /** users / active installations of the week */
  share: number;
}

export interface ReleaseAdoption {
  version: string;
  /** first day (report timezone) an installation sent a connect.* event carrying it */
  firstSeen: string;
  /** first day on which the installations that had run it reached half of that week's active installations; null if not (yet) */
  reachedHalf: string | null;
  /** days from firstSeen to reachedHalf */
  daysToHalf: number | null;
  /** installations that had run it by the report week's end, and that as a share of the report week's active installations */
  installations: number;
  share: number;
  /** in-app update fetches of this version in the report week, from the CDN logs; null without logs */
  updates: number | null;
}

export interface AdoptionPoint {
  version: string;
  date: string;
  /** installations that had run the version by the end of the day */
  installations: number;
  /** installations / active installations of the day's week */
  share: number;
}

export interface DownloadsVsNew {
  week: string;
  os: NewOs;
  /** installer downloads from the CDN (no installer for other/unknown: null); null without logs */
  downloads: number | null;
  /** installations first seen in the week with this OS; null when the week is not covered */
  newInstallations: number | null;
}

export interface GrowthSection {
  /** The Mondays of the 12 weeks, oldest first; the last is the report week. */
  weeks: string[];
  /**
   * The first covered week (the week of the earliest connect.* event the engine saw) when it falls in
   * the 12 weeks or there is no data; null when the data starts before them.
   */
  firstCoveredWeek: string | null;
  lifecycle: LifecycleRow[];
  retention: RetentionRow[];
  /** Active installations per version in the report week (semantic version order; unknown last). */
  versions: VersionShare[];
  /** The same, per week of the 12 (oldest first). */
  versionTrend: Array<{ week: string; active: number; versions: VersionShare[] }>;
  /** Versions first seen in the 12 weeks, after the first covered week (semantic version order). */
  releases: ReleaseAdoption[];
  /** Daily share of each release, from its first day to the report week's end. */
  adoption: AdoptionPoint[];
  /** The report week and the week before, per OS. */
  downloadsVsNew: DownloadsVsNew[];
  /** Whether CDN logs were given (else the downloads and update columns are empty). */
  cdnCounted: boolean;
}

const addDays = (day: string, n: number) => DateTime.fromISO(day, { zone: 'UTC' }).plus({ days: n }).toISODate()!;
const mondayOf = (day: string) => DateTime.fromISO(day, { zone: 'UTC' }).startOf('week').toISODate()!;
const daysBetween = (from: string, to: string) =>
  Math.round(DateTime.fromISO(to, { zone: 'UTC' }).diff(DateTime.fromISO(from, { zone: 'UTC' }), 'days').days);

export function buildGrowth(input: { growthRows: GrowthRow[]; versionRows: VersionRow[]; week: Week; downloads?: DownloadsSection | undefined }): GrowthSection {
  const { growthRows, versionRows, week } = input;
  if (versionRows.length >= VERSION_ROWS_LIMIT) {
    throw new Error(`version_adoption returned ${versionRows.length} rows, its limit: the result may be cut, so no version figures are given`);
  }
  const reportMonday = week.days[0]!;
  const weeks = Array.from({ length: GROWTH_WEEKS }, (_, i) => addDays(reportMonday, -7 * (GROWTH_WEEKS - 1 - i)));
  const byWeek = new Map(growthRows.map((r) => [r.week, r]));
  for (const r of growthRows) {
    if (r.week !== BEFORE && !weeks.includes(r.week)) throw new Error(`growth_weekly returned week ${r.week}, outside the 12 weeks to ${reportMonday}`);
  }

  // The data starts before the 12 weeks when some installation was first seen before them; else in
  // the first week in which anyone was first seen (every installation active then is "new").
  const seenBefore = (byWeek.get(BEFORE)?.new ?? 0) > 0;
  const firstCoveredWeek = seenBefore ? null : (weeks.find((w) => (byWeek.get(w)?.new ?? 0) > 0) ?? null);
  const coverageOf = (w: string): Coverage => {
    if (seenBefore) return 'covered';
    if (firstCoveredWeek === null || w < firstCoveredWeek) return 'no-data';
    return w === firstCoveredWeek ? 'first-covered' : 'covered';
  };

  const lifecycle: LifecycleRow[] = weeks.map((w) => {
    const r = byWeek.get(w);
    const coverage = coverageOf(w);
    const n = r?.new ?? 0;
    const ret = r?.returning ?? 0;
    const res = r?.resurrecting ?? 0;
    const dormant = r?.dormant ?? 0;
    const known = coverage === 'covered';
    return {
      week: w,
      coverage,
      active: n + ret + res,
      new: known ? n : null,
      returning: known ? ret : null,
      resurrecting: known ? res : null,
      dormant: known ? dormant : null,
      quickRatio: known && dormant > 0 ? (n + res) / dormant : null,
    };
  });

  // growth_weekly counts a cohort's retained installations on the row of the week they are active in
  // (cohort_wK on week W+K's row), so that a week's row never changes once the week has ended.
  const retention: RetentionRow[] = weeks.map((w) => {
    const r = byWeek.get(w);
    const coverage = coverageOf(w);
    const size = coverage === 'covered' ? (r?.new ?? 0) : null;
    const retained: Array<number | null> = [];
    const shares: Array<number | null> = [];
    for (let k = 1; k <= RETENTION_WEEKS; k++) {
      const later = addDays(w, 7 * k);
      const happened = later <= reportMonday;
      // No row for the later week: nobody was active in it (nor the week before), so none retained.
      const count = byWeek.get(later)?.[COHORT_COLUMNS[k - 1]!] ?? 0;
      retained.push(size !== null && happened ? count : null);
      shares.push(size !== null && size > 0 && happened ? count / size : null);
    }
    return { cohort: w, coverage, size, shares, retained };
  });

  // Versions per week: each active installation once, so a week's rows add up to its WAU.
  const weekRows = versionRows.filter((r) => r.kind === 'week');
  const versionTrend = weeks.map((w) => {
    const rows = weekRows.filter((r) => r.period === w);
    const active = rows.reduce((s, r) => s + r.users, 0);
    const versions = rows
      .map((r) => ({ version: r.version, users: r.users, share: active === 0 ? 0 : r.users / active }))
      .sort((a, b) => versionOrder(a.version, b.version));
    return { week: w, active, versions };
  });
  for (const r of weekRows) {
    if (!weeks.includes(r.period)) throw new Error(`version_adoption returned week ${r.period}, outside the 12 weeks to ${reportMonday}`);
  }
  const activeOf = new Map(versionTrend.map((t) => [t.week, t.active]));
  const current = versionTrend.at(-1)!;

  // Releases: versions whose first day falls in the 12 weeks (none of their installations ran them before).
  const firstDays = new Map<string, Map<string, number>>();
  for (const r of versionRows) {
    if (r.kind !== 'first_day') continue;
    const days = firstDays.get(r.version) ?? new Map<string, number>();
    days.set(r.period, (days.get(r.period) ?? 0) + r.users);
    firstDays.set(r.version, days);
  }
  const lastDay = week.days[6]!;
  const updates = updatesByVersion(input.downloads);
  const releases: ReleaseAdoption[] = [];
  const adoption: AdoptionPoint[] = [];
  for (const [version, days] of [...firstDays.entries()].sort((a, b) => versionOrder(a[0], b[0]))) {
    if (days.has(BEFORE)) continue;
    const firstSeen = [...days.keys()].sort()[0]!;
    if (firstSeen < weeks[0]! || firstSeen > lastDay) continue;
    // In the first covered week every version looks first seen: only later first days are releases.
    if (firstCoveredWeek !== null && firstSeen < addDays(firstCoveredWeek, 7)) continue;
    let cumulative = 0;
    let reachedHalf: string | null = null;
    for (let d = firstSeen; d <= lastDay; d = addDays(d, 1)) {
      cumulative += days.get(d) ?? 0;
      const active = activeOf.get(mondayOf(d)) ?? 0;
      adoption.push({ version, date: d, installations: cumulative, share: active === 0 ? 0 : cumulative / active });
      if (reachedHalf === null && active > 0 && 2 * cumulative >= active) reachedHalf = d;
    }
    releases.push({
      version,
      firstSeen,
      reachedHalf,
      daysToHalf: reachedHalf === null ? null : daysBetween(firstSeen, reachedHalf),
      installations: cumulative,
      share: current.active === 0 ? 0 : cumulative / current.active,
      updates: updates ? (updates.get(version) ?? 0) : null,
    });
  }

  const dl = input.downloads;
  const downloadsVsNew: DownloadsVsNew[] = [weeks.at(-2)!, weeks.at(-1)!].flatMap((w) =>
    NEW_OS.map((os) => {
      const r = byWeek.get(w);
      const isReport = w === reportMonday;
      const downloads = !dl || os === 'other' || os === 'unknown' ? null : ((isReport ? dl.byPlatform[os]?.downloads : dl.byPlatform[os]?.previous) ?? 0);
      return { week: w, os, downloads, newInstallations: coverageOf(w) === 'covered' ? (r?.[`new_${os}`] ?? 0) : null };
    }),
  );

  return {
    weeks,
    firstCoveredWeek,
    lifecycle,
    retention,
    versions: current.versions,
    versionTrend,
    releases,
    adoption,
    downloadsVsNew,
    cdnCounted: dl !== undefined,
  };
}

/**
 * active_users_weekly's rows from growth_weekly's (same weeks, same counts: test/installation-state.test.ts),
 * so a report can spare PostHog that request: weeks with an active installation, oldest first.
 */
export function weeklyFromGrowth(rows: GrowthRow[]): Array<{ week: string; active_users: number; events: number }> {
  return rows
    .filter((r) => r.week !== BEFORE && r.active_users > 0)
    .map((r) => ({ week: r.week, active_users: r.active_users, events: r.events }))
    .sort((a, b) => (a.week < b.week ? -1 : a.week > b.week ? 1 : 0));
}

/** Semantic version order; `unknown` (no version found) last. */
export function versionOrder(a: string, b: string): number {
  if (a === 'unknown' || b === 'unknown') return a === b ? 0 : a === 'unknown' ? 1 : -1;
  return compareSemver(a, b);
}

/** In-app update fetches per version in the report week (all platforms). */
function updatesByVersion(dl: DownloadsSection | undefined): Map<string, number> | undefined {
  if (!dl) return undefined;
  const out = new Map<string, number>();
  for (const r of dl.daily) out.set(r.version, (out.get(r.version) ?? 0) + r.updates);
  return out;
}
