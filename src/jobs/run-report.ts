/**
 * One weekly report run, end to end: open the source, compute the report, publish it to the sinks.
 * `connect-metrics report`, the scheduled weekly-digest job and backfill all come through here, so a
 * scheduled digest is exactly what the command would have produced.
 */
import { join, resolve } from 'node:path';
import { computeDownloads } from './downloads.ts';
import { UsageError } from '../lib/errors.ts';
import type { Logger } from '../lib/logger.ts';
import type { AppConfig } from '../config/config.ts';
import type { Catalog } from '../config/catalog.ts';
import { loadTrackingPlan, type TrackingPlan } from '../config/tracking-plan.ts';
import type { Week } from '../reports/period.ts';
import { openSource } from '../sources/open-source.ts';
import { terminalLoadProgress } from '../sources/load-progress.ts';
import { computeWeeklyReport } from './weekly-report.ts';
import { publishWeeklyReport, type SinkSetting } from '../sinks/publish.ts';

export interface ReportRunInput {
  config: AppConfig;
  catalog: Catalog;
  /** Default: read from config.trackingPlanPath. */
  plan?: TrackingPlan | undefined;
  week: Week;
  source?: string | undefined;
  events?: string[] | undefined;
  downloads?: string[] | undefined;
  engine?: string | undefined;
  /** Default out/<week>. */
  outDir?: string | undefined;
  /** Default: the configured sinks. */
  sinks?: readonly SinkSetting[] | undefined;
  force?: boolean | undefined;
  io: {
    stdout: (t: string) => void;
    clock: { now(): Date };
    fetch?: typeof fetch | undefined;
    /** With a terminal on stderr, loading export files redraws a progress line there. */
    stderr?: ((t: string) => void) | undefined;
    stderrIsTTY?: boolean | undefined;
  };
  logger: Logger;
  /** PostHog throttles: how long to sit one out (default posthog.maxThrottleWaitMinutes), and the sleep. */
  throttle?: { maxWaitMs?: number; sleep?: (ms: number) => Promise<void> } | undefined;
}

export interface ReportRunResult {
  reportId: string;
  /** Requests sent to PostHog (0 for files). */
  requests: number;
  files: string[];
}

export async function runWeeklyReport(input: ReportRunInput): Promise<ReportRunResult> {
  const { config, catalog, week, io, logger } = input;
  const outDir = resolve(input.outDir ?? `out/${week.label}`);
  if (input.engine && !input.downloads?.length) {
    throw new UsageError('--engine counts downloads on a ClickHouse server: it needs --downloads s3://bucket/prefix');
  }
  const plan = input.plan ?? (await loadTrackingPlan(config.trackingPlanPath));
  const started = Date.now();
  const source = await openSource({
    config,
    source: input.source,
    events: input.events,
    logger,
    now: () => io.clock.now(),
    fetch: io.fetch,
    throttle: input.throttle,
    progress: io.stderrIsTTY && io.stderr ? terminalLoadProgress(io.stderr, () => io.clock.now()) : undefined,
  });
  try {
    const report = await computeWeeklyReport(
      { engine: source.engine, catalog, eventPrefix: config.eventPrefix, plan, clusterShare: config.clusterShare, logger },
      {
        week,
        dataQuality: source.dataQuality,
        generatedAt: io.clock.now(),
        privacyK: config.privacyK,
        downloads: input.downloads?.length
          ? async () =>
              computeDownloads(await source.local(), {
                specs: input.downloads!,
                week,
                rules: config.downloads,
                logger,
                workDir: join(config.dataDir, 'cdn-logs'),
                serverEngine: input.engine,
              })
          : undefined,
      },
    );
    const { files } = await publishWeeklyReport(report, {
      outDir,
      sinks: input.sinks ?? config.sinks,
      slack: { ...config.slack, force: input.force ?? false },
      io,
      logger,
    });
    if (source.name === 'posthog') {
      logger.info(`PostHog: ${source.requests()} requests in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    }
    return { reportId: report.id, requests: source.requests(), files };
  } finally {
    source.close();
  }
}
