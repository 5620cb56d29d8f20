/**
 * Downloads for a weekly report: stage the CloudFront logs named by --downloads in the embedded
 * engine and count them with the downloads_daily query, for the week and the week before.
 */
import type { ChdbEngine } from '../engine/chdb-engine.ts';
import { runQuery } from '../engine/run-query.ts';
import { queries } from '../queries/index.ts';
import { previousWeek, toInstant, type Week } from '../reports/period.ts';
import { buildDownloads, type DownloadsSection } from '../reports/downloads.ts';
import type { DownloadRules } from '../config/config.ts';
import type { Logger } from '../lib/logger.ts';
import { stageLogFiles } from '../sources/cloudfront/logs.ts';
import { openLogFiles } from '../sources/cloudfront/open-logs.ts';

export async function computeDownloads(
  engine: ChdbEngine,
  input: { specs: string[]; week: Week; rules: DownloadRules; logger: Logger; workDir: string },
): Promise<DownloadsSection> {
  const prev = previousWeek(input.week);
  const started = Date.now();
  const opened = await openLogFiles(input.specs, { from: prev.start.toJSDate(), to: input.week.end.toJSDate() }, {
    rules: input.rules,
    logger: input.logger,
    workDir: input.workDir,
  });
  const stats = await stageLogFiles(engine, opened.files, { logger: input.logger, ...(input.rules.plainFields ? { plainFields: input.rules.plainFields } : {}) });
  const rows = await runQuery(engine, queries.downloads_daily, {
    from: toInstant(prev.start),
    to: toInstant(input.week.end),
    timezone: input.week.timezone,
    hosts: input.rules.hosts,
    update_user_agents: input.rules.updateUserAgents,
  });
  const files = [...stats, ...opened.failed];
  const lines = stats.reduce((s, f) => s + f.lines, 0);
  input.logger.info(`downloads: ${lines} log lines in ${stats.length} files in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return buildDownloads(rows, input.week, prev, files, opened.origin);
}
