/**
 * The weekly report job: run the report queries for a week and the week before (one request per
 * query, both weeks at once), build the report, hand it to the sinks. The job is given its week;
 * it never reads the clock to decide what to report.
 */
import type { Engine } from '../engine/engine.ts';
import { runQuery } from '../engine/run-query.ts';
import { queries } from '../queries/index.ts';
import { catalogArrays, protocolEvents, type Catalog } from '../config/catalog.ts';
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
  logger: Logger;
}

/** The values every report query may take; each query validates the ones it declares. */
export function standardParams(ctx: Pick<ReportContext, 'catalog' | 'eventPrefix'>, range: { from: string; to: string }, timezone: string) {
  return {
    from: range.from,
    to: range.to,
    // Look-backs (first weeks, latest OS and version) over all history; a remote engine bounds it by
    // its horizon (src/engine/horizon.ts), the embedded store serves it from derived state.
    history_from: ALL_HISTORY,
    timezone,
    prefix: ctx.eventPrefix,
    ...catalogArrays(ctx.catalog),
    protocol_events: protocolEvents(ctx.catalog),
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
  queries.active_users_weekly,
  queries.feature_usage,
  queries.protocol_usage,
  queries.platform_share,
  queries.event_first_seen,
  queries.growth_weekly,
  queries.version_adoption,
] as const;

export async function collectWeeklyResults(ctx: ReportContext, week: Week): Promise<WeeklyResults> {
  const prev = previousWeek(week);
  const params = standardParams(ctx, { from: toInstant(prev.start), to: toInstant(week.end) }, week.timezone);
  // The weekly query covers the trend's 12 weeks (the week and the one before among them).
  const trendParams = { ...params, from: toInstant(week.start.minus({ weeks: TREND_WEEKS - 1 })) };
  const historyParams = { ...params, from: toInstant(week.start.minus({ weeks: TREND_WEEKS })) };
  // Days of the trailing weeks too: the completeness check compares each day with their median.
  const dailyParams = { ...params, from: toInstant(week.start.minus({ weeks: COMPLETENESS_WEEKS })) };
  const started = Date.now();
  // All at once (a remote engine limits how many run in parallel: PostHog 2 in flight); when one
  // fails for good, the others are cancelled rather than left retrying.
  const run =
    <Q extends Parameters<typeof runQuery>[1]>(q: Q, values: Record<string, unknown> = params) =>
    (signal: AbortSignal) =>
      runQuery(ctx.engine, q, values, { signal });
  const [daily, weekly, features, protocols, platforms, firstSeen, growth, versions] = (await allOrAbort<unknown>([
    run(queries.active_users_daily, dailyParams),
    run(queries.active_users_weekly, trendParams),
    run(queries.feature_usage),
    run(queries.protocol_usage),
    run(queries.platform_share),
    run(queries.event_first_seen, historyParams),
    // Growth over the same 12 weeks; both look back over all history for "first seen".
    run(queries.growth_weekly, trendParams),
    run(queries.version_adoption, trendParams),
  ])) as [
    WeeklyResults['daily'],
    WeeklyResults['weekly'],
    WeeklyResults['features'],
    WeeklyResults['protocols'],
    WeeklyResults['platforms'],
    WeeklyResults['firstSeen'],
    WeeklyResults['growth'],
    WeeklyResults['versions'],
  ];
  const results: WeeklyResults = { daily, weekly, features, protocols, platforms, firstSeen, growth, versions };
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
    horizonWeeks: ctx.engine.horizonWeeks,
  });
}
