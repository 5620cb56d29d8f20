import { resolve } from 'node:path';
import type { CliIo, GlobalOptions } from './main.ts';
import type { Logger } from '../lib/logger.ts';
import { loadSettings, withEngine } from './session.ts';
import { parseWeek } from '../reports/period.ts';
import { openFilesSource } from '../sources/files-source.ts';
import { computeWeeklyReport } from '../jobs/weekly-report.ts';
import { publishWeeklyReport } from '../sinks/publish.ts';

export async function reportCommand(
  opts: GlobalOptions & { week: string; events: string[]; out?: string },
  io: CliIo,
  logger: Logger,
): Promise<void> {
  const { config, catalog } = await loadSettings(opts, io);
  const week = parseWeek(opts.week, config.timezone, io.clock.now());
  const outDir = resolve(opts.out ?? `out/${week.label}`);
  await withEngine(config, async (engine) => {
    const { dataQuality } = await openFilesSource(engine, { dataDir: config.dataDir, paths: opts.events, logger, now: () => io.clock.now() });
    const report = await computeWeeklyReport(
      { engine, catalog, eventPrefix: config.eventPrefix, logger },
      { week, dataQuality, generatedAt: io.clock.now() },
    );
    await publishWeeklyReport(report, { outDir, slackToken: config.slack.token, io, logger });
  });
}
