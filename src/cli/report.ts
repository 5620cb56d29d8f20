import { join, resolve } from 'node:path';
import { computeDownloads } from '../jobs/downloads.ts';
import { UsageError } from '../lib/errors.ts';
import type { CliIo, GlobalOptions } from './main.ts';
import type { Logger } from '../lib/logger.ts';
import { loadSettings } from './session.ts';
import { parseWeek } from '../reports/period.ts';
import { openSource } from '../sources/open-source.ts';
import { computeWeeklyReport } from '../jobs/weekly-report.ts';
import { publishWeeklyReport } from '../sinks/publish.ts';

export async function reportCommand(
  opts: GlobalOptions & { week: string; events?: string[]; out?: string; source?: string; downloads?: string[]; engine?: string; force?: boolean; sinks?: string },
  io: CliIo,
  logger: Logger,
): Promise<void> {
  const { config, catalog } = await loadSettings(opts, io);
  const week = parseWeek(opts.week, config.timezone, io.clock.now());
  const outDir = resolve(opts.out ?? `out/${week.label}`);
  if (opts.engine && !opts.downloads?.length) {
    throw new UsageError('--engine counts downloads on a ClickHouse server: it needs --downloads s3://bucket/prefix');
  }
  const started = Date.now();
  const source = await openSource({ config, source: opts.source, events: opts.events, logger, now: () => io.clock.now(), fetch: io.fetch });
  try {
    const report = await computeWeeklyReport(
      { engine: source.engine, catalog, eventPrefix: config.eventPrefix, logger },
      {
        week,
        dataQuality: source.dataQuality,
        generatedAt: io.clock.now(),
        privacyK: config.privacyK,
        downloads: opts.downloads?.length
          ? () =>
              computeDownloads(source.local(), {
                specs: opts.downloads!,
                week,
                rules: config.downloads,
                logger,
                workDir: join(config.dataDir, 'cdn-logs'),
                serverEngine: opts.engine,
              })
          : undefined,
      },
    );
    await publishWeeklyReport(report, {
      outDir,
      sinks: opts.sinks ? opts.sinks.split(',').map((x) => x.trim()) : config.sinks,
      slack: { ...config.slack, force: opts.force ?? false },
      io,
      logger,
    });
    if (source.name === 'posthog') {
      logger.info(`PostHog: ${source.requests()} requests in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    }
  } finally {
    source.close();
  }
}
