import type { CliIo, GlobalOptions } from './main.ts';
import type { Logger } from '../lib/logger.ts';
import { loadSettings } from './session.ts';
import { parseWeek, requireEnded } from '../reports/period.ts';
import { runWeeklyReport } from '../jobs/run-report.ts';
import { parseSinkList } from '../sinks/publish.ts';

export async function reportCommand(
  opts: GlobalOptions & { week: string; events?: string[]; out?: string; source?: string; downloads?: string[]; engine?: string; force?: boolean; sinks?: string; allowIncomplete?: boolean },
  io: CliIo,
  logger: Logger,
): Promise<void> {
  const { config, catalog } = await loadSettings(opts, io);
  const week = parseWeek(opts.week, config.timezone, io.clock.now());
  requireEnded(week, io.clock.now(), { allowIncomplete: opts.allowIncomplete });
  await runWeeklyReport({
    config,
    catalog,
    week,
    source: opts.source,
    events: opts.events,
    downloads: opts.downloads,
    engine: opts.engine,
    outDir: opts.out,
    sinks: parseSinkList(opts.sinks),
    force: opts.force,
    io,
    logger,
  });
}
