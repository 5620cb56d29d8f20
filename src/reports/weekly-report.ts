/**
 * The weekly report: a pure function from query results to plain data. No I/O, no clock: what it
 * needs (the weeks, the catalog, the generation time) is passed in, so the same inputs always give
 * the same report, and tests can build one from hand-made rows.
 */
import { DateTime } from 'luxon';
import type { RowOf } from '../engine/query.ts';
import type active_users_daily from '../queries/active_users_daily.ts';
import type active_users_weekly from '../queries/active_users_weekly.ts';
import type feature_usage from '../queries/feature_usage.ts';
import type protocol_usage from '../queries/protocol_usage.ts';
import type platform_share from '../queries/platform_share.ts';
import type { Catalog } from '../config/catalog.ts';
import type { TrackingPlan } from '../config/tracking-plan.ts';
import type { ClusterShareSettings } from '../config/config.ts';
import { weekStarting, type Week } from './period.ts';
import type { DataQuality } from './data-quality.ts';
import type { DownloadsSection } from './downloads.ts';
import { DEFAULT_PRIVACY_K } from './privacy.ts';
import { buildGrowth, GROWTH_WEEKS, type GrowthRow, type GrowthSection, type VersionRow } from './growth.ts';
import { compareWeeks, coveredChange, weekCoverage, type Comparison, type WeekCoverage } from './coverage.ts';
import { buildConnectShare, type ConnectShareRow, type ConnectShareSection } from './connect-share.ts';
import { buildTrackingPlan, firstSeenOf, type TrackingPlanRow, type TrackingPlanSection } from './tracking-plan.ts';

export interface WeeklyResults {
  daily: Array<RowOf<typeof active_users_daily>>;
  weekly: Array<RowOf<typeof active_users_weekly>>;
  features: Array<RowOf<typeof feature_usage>>;
  protocols: Array<RowOf<typeof protocol_usage>>;
  platforms: Array<RowOf<typeof platform_share>>;
  /**
   * Each connect.* event name's first day over the look-back (the tracking_plan query's first_seen
   * rows); absent: taken from `trackingPlan`, and without either no trend and no new events are claimed.
   */
  firstSeen?: Array<{ event: string; first_seen: string; users: number }>;
  /** tracking_plan over the report week (absent: no tracking-plan section). */
  trackingPlan?: TrackingPlanRow[];
  /** connect_share over the 12 weeks (absent: no share section). */
  connectShare?: ConnectShareRow[];
  /** growth_weekly and version_adoption over the 12 weeks (absent: no growth section). */
  growth?: GrowthRow[];
  versions?: VersionRow[];
}

/**
 * A figure with last week's value; `change` = value / previous - 1, null when previous is 0 or when
 * either week is not fully covered (src/reports/coverage.ts; the report's `comparison` says why).
 */
export interface Figure {
  value: number;
  previous: number;
  change: number | null;
}

export const SUMMARY_METRICS = ['wau', 'avg_dau', 'peak_dau', 'stickiness', 'events'] as const;
export type SummaryMetric = (typeof SUMMARY_METRICS)[number];

export const OS_ORDER = ['macos', 'windows', 'linux', 'other', 'unknown'] as const;
export type Os = (typeof OS_ORDER)[number];

export interface UsageRow {
  events: number;
  users: number;
  /** users / WAU of the same week */
  share: number;
}

export interface FeatureRow extends UsageRow {
  feature: string;
  /** false for a connect.* event that no catalog entry names */
  catalogued: boolean;
  previous: UsageRow;
}

export interface ProtocolRow extends UsageRow {
  protocol: string;
  previous: UsageRow;
}

export interface PlatformRow {
  os: Os;
  users: number;
  share: number;
  previous: { users: number; share: number };
}

export interface WeekInfo {
  label: string;
  start: string;
  end: string;
  days: string[];
}

export interface WeeklyReport {
  /** week + timezone + source: what makes two reports the same report */
  id: string;
  source: string;
  timezone: string;
  eventPrefix: string;
  generatedAt: string;
  week: WeekInfo;
  previousWeek: WeekInfo;
  summary: Record<SummaryMetric, Figure>;
  dau: Array<{ date: string; active_users: number }>;
  previousDau: Array<{ date: string; active_users: number }>;
  features: FeatureRow[];
  protocols: ProtocolRow[];
  platforms: PlatformRow[];
  dataQuality: DataQuality;
  /** Present when the report was given CDN logs (--downloads). */
  downloads?: DownloadsSection;
  /** Weeks the source looked back for first weeks, latest OS and version (PostHog's history.horizonWeeks); absent: all of the data. */
  horizonWeeks?: number;
  /**
   * WAU of each of the last 12 weeks with data (oldest first), for the trend line; `covered` false
   * for a week the data does not fully cover (src/reports/coverage.ts): not a point of a trend.
   */
  trend: Array<{ week: string; wau: number; covered: boolean }>;
  /** Coverage of the 12 weeks to the report week (oldest first; the last is the report week). */
  coverage: WeekCoverage[];
  /** Whether the report week may be compared with the week before (both fully covered), and why not. */
  comparison: Comparison;
  /**
   * The week had not ended when the report was made (`--allow-incomplete`): every figure of it is
   * partial, up to `generatedAt`.
   */
  partial: boolean;
  /** Whether the data reaches back over the whole trend window (else no trend and no "new" is claimed). */
  historyCovered: boolean;
  /** connect.* events first seen in the report week (the data reaching back over the look-back). */
  newEvents: Array<{ event: string; firstSeen: string; users: number }>;
  /** How complete the week looks (src/reports/completeness). */
  completeness: Completeness;
  /** Small-cell suppression applied by the renderers (src/reports/privacy.ts). */
  privacy: { k: number };
  /** Lifecycle, retention, release adoption, downloads beside new installations (src/reports/growth.ts). */
  growth?: GrowthSection;
  /** Connect's share of cluster logins (src/reports/connect-share.ts). */
  connectShare?: ConnectShareSection;
  /** The tracking plan checked over the report week (src/reports/tracking-plan.ts). */
  trackingPlan?: TrackingPlanSection;
}

export interface Completeness {
  /** First and last day of the report week with connect.* events ('' when none). */
  firstDay: string;
  lastDay: string;
  /** The week's earliest and latest connect.* event time (ISO, UTC, to the second; '' when none). */
  firstEvent: string;
  lastEvent: string;
  /** Events of the week that arrived more than 24 hours after their timestamp. */
  lateEvents: number;
  /**
   * Days of the week with no event at all, or under half the median events of the same weekday over
   * the trailing weeks the data covers (up to COMPLETENESS_WEEKS); `trailingMedian` null when none.
   */
  suspectDays: Array<{ date: string; events: number; trailingMedian: number | null }>;
}

export interface BuildInput {
  week: Week;
  previousWeek: Week;
  source: string;
  eventPrefix: string;
  catalog: Catalog;
  results: WeeklyResults;
  dataQuality: DataQuality;
  generatedAt: Date;
  downloads?: DownloadsSection | undefined;
  /** Breakdown cells under k installations are suppressed in every output. Default 5. */
  privacyK?: number | undefined;
  /** The plan the tracking_plan rows were checked against (needed for its section). */
  plan?: TrackingPlan | undefined;
  /** The names the connect_share rows were counted with (needed for its section). */
  clusterShare?: ClusterShareSettings | undefined;
  /** The source's look-back horizon in weeks, when it has one (PostHog). */
  horizonWeeks?: number | undefined;
}

export function figure(value: number, previous: number): Figure {
  return { value, previous, change: previous === 0 ? null : value / previous - 1 };
}

const ratio = (part: number, whole: number) => (whole === 0 ? 0 : part / whole);

function weekInfo(week: Week): WeekInfo {
  return { label: week.label, start: week.start.toISO()!, end: week.end.toISO()!, days: week.days };
}

/** Per-week view of rows carrying a `week` column (the Monday, `YYYY-MM-DD`). */
function forWeek<T extends { week: string }>(rows: T[], week: Week): T[] {
  const monday = week.days[0];
  return rows.filter((r) => r.week === monday);
}

function weekTotals(results: WeeklyResults, week: Week): { wau: number; events: number; dau: number[] } {
  const weekly = forWeek(results.weekly, week)[0];
  const byDay = new Map(results.daily.map((r) => [r.day, r.active_users]));
  return { wau: weekly?.active_users ?? 0, events: weekly?.events ?? 0, dau: week.days.map((d) => byDay.get(d) ?? 0) };
}

/** Orders by users descending, then name ascending (code-point order, as any other tool sorts it). */
function byUsersThenName<T extends { users: number }>(name: (row: T) => string) {
  return (a: T, b: T) => b.users - a.users || (name(a) < name(b) ? -1 : name(a) > name(b) ? 1 : 0);
}

export function buildWeeklyReport(input: BuildInput): WeeklyReport {
  const { week, previousWeek, results, catalog } = input;
  const cur = weekTotals(results, week);
  const prev = weekTotals(results, previousWeek);
  const coverage = coverageOf(results, week);
  const comparison = compareWeeks(coverage.at(-1)!, coverage.at(-2)!);
  // Every change goes through the coverage rule; a new figure with a change does the same (coveredChange).
  const fig = (value: number, previous: number): Figure => ({ value, previous, change: coveredChange(value, previous, comparison) });
  const avg = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
  const summary: Record<SummaryMetric, Figure> = {
    wau: fig(cur.wau, prev.wau),
    avg_dau: fig(avg(cur.dau), avg(prev.dau)),
    peak_dau: fig(Math.max(...cur.dau), Math.max(...prev.dau)),
    stickiness: fig(ratio(avg(cur.dau), cur.wau), ratio(avg(prev.dau), prev.wau)),
    events: fig(cur.events, prev.events),
  };

  const usage = <K extends string>(rows: Array<{ events: number; users: number } & Record<K, string>>, key: K, wau: number) => {
    const map = new Map<string, UsageRow>();
    for (const r of rows) map.set(r[key], { events: r.events, users: r.users, share: ratio(r.users, wau) });
    return map;
  };
  const empty: UsageRow = { events: 0, users: 0, share: 0 };

  const featCur = usage(forWeek(results.features, week), 'feature', cur.wau);
  const featPrev = usage(forWeek(results.features, previousWeek), 'feature', prev.wau);
  const catalogued = new Set(catalog.features.map((f) => f.id));
  const features: FeatureRow[] = catalog.features.map((f) => ({
    feature: f.id,
    catalogued: true,
    ...(featCur.get(f.id) ?? empty),
    previous: featPrev.get(f.id) ?? empty,
  }));
  const uncatalogued: FeatureRow[] = [...featCur.entries()]
    .filter(([name]) => !catalogued.has(name))
    .map(([name, u]) => ({ feature: name, catalogued: false, ...u, previous: featPrev.get(name) ?? empty }))
    .sort(byUsersThenName((r) => r.feature));
  features.push(...uncatalogued);

  const protoCur = usage(forWeek(results.protocols, week), 'protocol', cur.wau);
  const protoPrev = usage(forWeek(results.protocols, previousWeek), 'protocol', prev.wau);
  const protocols: ProtocolRow[] = [...protoCur.entries()]
    .map(([protocol, u]) => ({ protocol, ...u, previous: protoPrev.get(protocol) ?? empty }))
    .sort(byUsersThenName((r) => r.protocol));

  const osUsers = (w: Week) => new Map(forWeek(results.platforms, w).map((r) => [r.os, r.users]));
  const osCur = osUsers(week);
  const osPrev = osUsers(previousWeek);
  const platforms: PlatformRow[] = OS_ORDER.map((os) => {
    const users = osCur.get(os) ?? 0;
    const previous = osPrev.get(os) ?? 0;
    return { os, users, share: ratio(users, cur.wau), previous: { users: previous, share: ratio(previous, prev.wau) } };
  });

  return {
    id: `${week.label}/${week.timezone}/${input.source}`,
    source: input.source,
    timezone: week.timezone,
    eventPrefix: input.eventPrefix,
    generatedAt: input.generatedAt.toISOString(),
    week: weekInfo(week),
    previousWeek: weekInfo(previousWeek),
    summary,
    dau: week.days.map((date, i) => ({ date, active_users: cur.dau[i]! })),
    previousDau: previousWeek.days.map((date, i) => ({ date, active_users: prev.dau[i]! })),
    features,
    protocols,
    platforms,
    dataQuality: input.dataQuality,
    ...(input.downloads ? { downloads: input.downloads } : {}),
    ...(input.horizonWeeks !== undefined ? { horizonWeeks: input.horizonWeeks } : {}),
    ...history(results, week, coverage),
    coverage,
    comparison,
    partial: input.generatedAt.getTime() < week.end.toMillis(),
    completeness: completeness(results, week),
    privacy: { k: input.privacyK ?? DEFAULT_PRIVACY_K },
    ...(results.growth && results.versions
      ? { growth: buildGrowth({ growthRows: results.growth, versionRows: results.versions, week, downloads: input.downloads }) }
      : {}),
    ...(results.connectShare && input.clusterShare ? { connectShare: buildConnectShare(results.connectShare, week, input.clusterShare, comparison) } : {}),
    ...(results.trackingPlan && input.plan ? { trackingPlan: buildTrackingPlan(results.trackingPlan, input.plan) } : {}),
  };
}

/** Weeks before the report week whose same weekday makes the "trailing median" of completeness. */
export const COMPLETENESS_WEEKS = 4;

function median(xs: number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/**
 * A week looks incomplete when a day has no event at all, or fewer than half the median events of
 * the same weekday over the trailing COMPLETENESS_WEEKS weeks (the same weekday, not all days:
 * weekends are far quieter by nature). Only trailing days the data covers count (on or after its
 * first day with events), so data that starts recently does not drag the median down to zero.
 */
function completeness(results: WeeklyResults, week: Week): Completeness {
  // The daily rows reach back over the 12 weeks (for coverage); this check keeps to its own window.
  const windowStart = week.start.minus({ weeks: COMPLETENESS_WEEKS }).toISODate()!;
  const daily = results.daily.filter((r) => r.day >= windowStart);
  const byDay = new Map(daily.map((r) => [r.day, r]));
  const covered = daily.filter((r) => r.events > 0).reduce<string | undefined>((m, r) => (m === undefined || r.day < m ? r.day : m), undefined);
  const withEvents = week.days.filter((d) => (byDay.get(d)?.events ?? 0) > 0);
  const suspectDays = week.days
    .map((date) => {
      const trailing: number[] = [];
      for (let w = 1; w <= COMPLETENESS_WEEKS; w++) {
        const day = DateTime.fromISO(date).minus({ weeks: w }).toISODate()!;
        if (covered !== undefined && day >= covered) trailing.push(byDay.get(day)?.events ?? 0);
      }
      return { date, events: byDay.get(date)?.events ?? 0, trailingMedian: median(trailing) };
    })
    .filter((d) => d.events === 0 || (d.trailingMedian !== null && d.events < d.trailingMedian / 2));
  const lateEvents = week.days.reduce((s, d) => s + (byDay.get(d)?.late_events ?? 0), 0);
  const rows = withEvents.map((d) => byDay.get(d)!);
  const firstEvent = rows.reduce((m, r) => (m === '' || r.first_event < m ? r.first_event : m), '');
  const lastEvent = rows.reduce((m, r) => (r.last_event > m ? r.last_event : m), '');
  return { firstDay: withEvents[0] ?? '', lastDay: withEvents.at(-1) ?? '', firstEvent, lastEvent, lateEvents, suspectDays };
}

/**
 * The 12-week trend and the new events, when the data covers the look-back: the earliest event of
 * the look-back must fall in its first week, else "new" and the trend would only reflect where the
 * data starts.
 */
function history(results: WeeklyResults, week: Week, coverage: WeekCoverage[]): Pick<WeeklyReport, 'trend' | 'historyCovered' | 'newEvents'> {
  const coveredWeek = new Map(coverage.map((c) => [c.monday, c.covered]));
  const firstSeen = results.firstSeen ?? (results.trackingPlan ? firstSeenOf(results.trackingPlan) : []);
  const lookbackStart = week.start.minus({ weeks: 12 }).toISODate()!;
  const lookbackFirstWeekEnd = week.start.minus({ weeks: 11 }).toISODate()!;
  const earliest = firstSeen.reduce<string | undefined>((m, r) => (m === undefined || r.first_seen < m ? r.first_seen : m), undefined);
  const historyCovered = earliest !== undefined && earliest >= lookbackStart && earliest < lookbackFirstWeekEnd;
  const trend = results.weekly.filter((r) => r.week <= week.days[0]!).map((r) => ({ week: r.week, wau: r.active_users, covered: coveredWeek.get(r.week) ?? false }));
  const newEvents = historyCovered
    ? firstSeen
        .filter((r) => r.first_seen >= week.days[0]!)
        .map((r) => ({ event: r.event, firstSeen: r.first_seen, users: r.users }))
        .sort((a, b) => (a.event < b.event ? -1 : 1))
    : [];
  return { trend, historyCovered, newEvents };
}

/**
 * Coverage of the 12 weeks to the report week (oldest first), from the daily rows; installations
 * first seen before the growth window (growth_weekly's row for the weeks before) show that the
 * input starts before it even when the daily rows do not reach that far.
 */
function coverageOf(results: WeeklyResults, week: Week): WeekCoverage[] {
  const windowStart = week.start.minus({ weeks: GROWTH_WEEKS - 1 });
  const before = results.growth?.find((r) => r.week < windowStart.toISODate()! && r.new > 0);
  const input = { days: results.daily, dataBefore: before ? windowStart.minus({ seconds: 1 }).toUTC().toISO()! : undefined };
  return Array.from({ length: GROWTH_WEEKS }, (_, i) => weekCoverage(input, weekStarting(week.start.minus({ weeks: GROWTH_WEEKS - 1 - i }), week.timezone)));
}
