/**
 * The weekly report job: run the report queries for a week and the week before (one request per
 * query, both weeks at once), build the report, hand it to the sinks. The job is given its week;
 * it never reads the clock to decide what to report.
 */
import { weeklyFromGrowth } from '../reports/growth.ts';
import type { Engine } from '../engine/engine.ts';
import { runQuery } from '../engine/run-query.ts';
import { queries } from '../queries/index.ts';
import { catalogArrays, protocolEvents, type Catalog } from '../config/catalog.ts';
import { trackingPlanParams, type TrackingPlan } from '../config/tracking-plan.ts';
import type { ClusterShareSettings } from '../config/config.ts';
import { previousWeek, toInstant, type Week } from '../reports/period.ts';
import { buildWeeklyReport, COMPLETENESS_WEEKS, type WeeklyReport, type WeeklyResults } from '../reports/weekly-report.ts';
import type { DataQuality } from '../reports/data-quality.ts';
import type { DownloadsSection } from '../reports/downloads.ts';
import type { Logger } from '../lib/logger.ts';
import { allOrAbort } from '../lib/abort.ts';
import { ALL_HISTORY } from '../engine/horizon.ts';

export interface ReportContext {
  engine: Engine;
  catalog: Catalog;
  eventPrefix: string;
  /** The tracking plan checked every week (config/tracking-plan.json). */
  plan: TrackingPlan;
  /** Event and property names of Connect's share of cluster logins. */
  clusterShare: ClusterShareSettings;
  logger: Logger;
}

/** The parameters of Connect's share of cluster logins (src/queries/connect_share.ts). */
export function clusterShareParams(s: ClusterShareSettings) {
  return {
    cluster_login_event: s.clusterLoginEvent,
    connect_login_events: s.connectLoginEvents,
    user_property: s.userProperty,
    connector_property: s.connectorProperty,
  };
}

/** The values every report query may take; each query validates the ones it declares. */
export function standardParams(
  ctx: Pick<ReportContext, 'catalog' | 'eventPrefix'> & Partial<Pick<ReportContext, 'plan' | 'clusterShare'>>,
  range: { from: string; to: string },
  timezone: string,
) {
  return {
    from: range.from,
    to: range.to,
    // The tracking plan checks [check_from, to) and looks for new event names over [from, to).
    check_from: range.from,
    // Look-backs (first weeks, latest OS and version) over all history; a remote engine bounds it by
    // its horizon (src/engine/horizon.ts), the embedded store serves it from derived state.
    history_from: ALL_HISTORY,
    timezone,
    prefix: ctx.eventPrefix,
    ...catalogArrays(ctx.catalog),
    protocol_events: protocolEvents(ctx.catalog),
    ...(ctx.plan ? trackingPlanParams(ctx.plan) : {}),
    ...(ctx.clusterShare ? clusterShareParams(ctx.clusterShare) : {}),
    // All installations in one part; an engine that must split a query raises these (src/engine/split.ts).
    user_buckets: 1,
    user_bucket: 0,
  };
}

/** Weeks of history for the trend line and for telling a new event from an old one. */
export const TREND_WEEKS = 12;

/** The queries of a weekly report: one PostHog request each (backfill budgets on this; a test counts them on the stand-in). */
export const WEEKLY_REPORT_QUERIES = [
  queries.active_users_daily,
  queries.feature_usage,
  queries.protocol_usage,
  queries.platform_share,
  queries.tracking_plan,
  queries.growth_weekly,
  queries.version_adoption,
  queries.connect_share,
] as const;

export async function collectWeeklyResults(ctx: ReportContext, week: Week): Promise<WeeklyResults> {
  const prev = previousWeek(week);
  const params = standardParams(ctx, { from: toInstant(prev.start), to: toInstant(week.end) }, week.timezone);
  // The weekly query covers the trend's 12 weeks (the week and the one before among them).
  const trendParams = { ...params, from: toInstant(week.start.minus({ weeks: TREND_WEEKS - 1 })) };
  const historyParams = { ...params, from: toInstant(week.start.minus({ weeks: TREND_WEEKS })) };
  // Days of the trailing weeks too: the completeness check compares each day with their median, and
  // coverage (src/reports/coverage.ts) needs every day of the 12 trend weeks and the week before them
  // (where the input starts). Still one row a day.
  const dailyParams = { ...params, from: toInstant(week.start.minus({ weeks: Math.max(COMPLETENESS_WEEKS, TREND_WEEKS) })) };
  const started = Date.now();
  // All at once (a remote engine limits how many run in parallel: PostHog 2 in flight); when one
  // fails for good, the others are cancelled rather than left retrying.
  const run =
    <Q extends Parameters<typeof runQuery>[1]>(q: Q, values: Record<string, unknown> = params) =>
    (signal: AbortSignal) =>
      runQuery(ctx.engine, q, values, { signal });
  // The tracking plan is checked over the report week; its look-back for new event names is historyParams'.
  const planParams = { ...historyParams, check_from: toInstant(week.start) };
  // Weekly active installations come from growth_weekly (the same counts as active_users_weekly's,
  // test/installation-state.test.ts): one PostHog request fewer, so a report stays at 8.
  const [daily, features, protocols, platforms, trackingPlan, growth, versions, connectShare] = (await allOrAbort<unknown>([
    run(queries.active_users_daily, dailyParams),
    run(queries.feature_usage),
    run(queries.protocol_usage),
    run(queries.platform_share),
    run(queries.tracking_plan, planParams),
    // Growth over the same 12 weeks; both look back over all history for "first seen".
    run(queries.growth_weekly, trendParams),
    run(queries.version_adoption, trendParams),
    // Connect's share of cluster logins over the same 12 weeks.
    run(queries.connect_share, trendParams),
  ])) as [
    WeeklyResults['daily'],
    WeeklyResults['features'],
    WeeklyResults['protocols'],
    WeeklyResults['platforms'],
    WeeklyResults['trackingPlan'],
    WeeklyResults['growth'],
    WeeklyResults['versions'],
    WeeklyResults['connectShare'],
  ];
  const weekly = weeklyFromGrowth(growth ?? []);
  const results: WeeklyResults = { daily, weekly, features, protocols, platforms, trackingPlan, growth, versions, connectShare };
  ctx.logger.debug('report queries done', { engine: ctx.engine.name, ms: Date.now() - started });
  return results;
}

export async function computeWeeklyReport(
  ctx: ReportContext,
  input: {
    week: Week;
    dataQuality: DataQuality;
    generatedAt: Date;
    /** Breakdown cells under k installations are suppressed in every output (default 5). */
    privacyK?: number | undefined;
    /** Counted after the events queries (it may switch the embedded engine's current database). */
    downloads?: (() => Promise<DownloadsSection>) | undefined;
  },
): Promise<WeeklyReport> {
  const results = await collectWeeklyResults(ctx, input.week);
  const downloads = input.downloads ? await input.downloads() : undefined;
  return buildWeeklyReport({
    week: input.week,
    previousWeek: previousWeek(input.week),
    source: ctx.engine.name === 'embedded' ? 'files' : ctx.engine.name,
    eventPrefix: ctx.eventPrefix,
    catalog: ctx.catalog,
    results,
    dataQuality: input.dataQuality,
    generatedAt: input.generatedAt,
    downloads,
    privacyK: input.privacyK,
    plan: ctx.plan,
    clusterShare: ctx.clusterShare,
    horizonWeeks: ctx.engine.horizonWeeks,
  });
}
