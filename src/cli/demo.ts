import { existsSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { CliIo, GlobalOptions } from './main.ts';
import type { Logger } from '../lib/logger.ts';
import { UsageError } from '../lib/errors.ts';
import { loadSettings, withEngine } from './session.ts';
import { parseWeek } from '../reports/period.ts';
import { writeDemoExport } from '../demo/generator.ts';
import { writeDemoCdnLogs } from '../demo/cdn-logs.ts';
import { computeDownloads } from '../jobs/downloads.ts';
import { openFilesSource } from '../sources/files-source.ts';
import { selectionEngine } from '../sources/installation-state.ts';
import { computeWeeklyReport } from '../jobs/weekly-report.ts';
import { publishWeeklyReport } from '../sinks/publish.ts';

/** Weeks of history the demo covers: enough for a 12-week trend and the week before it. */
export const DEMO_WEEKS = 13;
/** Bump when the generator's output changes, so cached demo data is made again. */
const DEMO_VERSION = 3;
const DEMO_EVENTS_PER_ACTIVE_DAY = 5.4;

/**
 * `connect-metrics demo`: a deterministic demo data set (same seed, same week => same files) ending
 * with the last complete week, cached in the store folder, then the weekly report of that week with
 * every section filled: the events export (Connect's events, the clusters' `tp.user.login` events and
 * a few tracking-plan violations) in `events/`, and the CloudFront logs of the same installers in
 * `cdn/`, counted as `--downloads` would.
 */
export async function demoCommand(opts: GlobalOptions & { out: string; installations: string; seed: string }, io: CliIo, logger: Logger): Promise<void> {
  const installations = Number(opts.installations);
  const seed = Number(opts.seed);
  if (!Number.isInteger(installations) || installations < 10 || installations > 1_000_000) {
    throw new UsageError(`--installations ${opts.installations}: expected a whole number from 10 to 1000000`);
  }
  if (!Number.isInteger(seed)) throw new UsageError(`--seed ${opts.seed}: expected a whole number`);
  const { config, catalog, plan } = await loadSettings(opts, io);
  const week = parseWeek('last', config.timezone, io.clock.now());
  const start = week.end.minus({ weeks: DEMO_WEEKS });
  const dir = join(config.dataDir, 'demo', `${week.label}-${config.timezone.replace(/\//g, '_')}-n${installations}-s${seed}-v${DEMO_VERSION}`);
  if (!existsSync(join(dir, '.complete'))) {
    logger.info(`generating demo data: ${installations} installations, ${DEMO_WEEKS} weeks to ${week.label} (${dir})`);
    const tmp = `${dir}.partial`;
    await rm(tmp, { recursive: true, force: true });
    await mkdir(tmp, { recursive: true });
    const started = Date.now();
    // 5.4 events per active day rather than the generator's 6: the clusters' logins add about as many
    // rows as this takes away, so loading the export takes about as long as before they existed.
    const range = { seed, start: start.toJSDate(), end: week.end.toJSDate(), installations, eventsPerActiveDay: DEMO_EVENTS_PER_ACTIVE_DAY };
    const result = await writeDemoExport(join(tmp, 'events'), { ...range, badRecords: true, clusterLogins: true, violations: true });
    const cdn = await writeDemoCdnLogs(join(tmp, 'cdn'), range);
    await writeFile(join(tmp, '.complete'), JSON.stringify({ records: result.records, cdnLines: cdn.lines }));
    await rm(dir, { recursive: true, force: true });
    await rename(tmp, dir);
    logger.info(
      `generated ${result.records} records in ${result.files.length} files and ${cdn.lines} CDN log lines in ${cdn.files.length} files in ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
  }
  const outDir = resolve(opts.out);
  await withEngine(config, async (engine) => {
    const { dataQuality, selection } = await openFilesSource(engine, { dataDir: config.dataDir, paths: [join(dir, 'events')], logger, now: () => io.clock.now() });
    const report = await computeWeeklyReport(
      { engine: selectionEngine(engine, selection.database, { dataDir: config.dataDir, logger }), catalog, eventPrefix: config.eventPrefix, plan, clusterShare: config.clusterShare, logger },
      {
        week,
        dataQuality,
        generatedAt: io.clock.now(),
        privacyK: config.privacyK,
        downloads: () =>
          computeDownloads(engine, { specs: [join(dir, 'cdn')], week, rules: config.downloads, logger, workDir: join(config.dataDir, 'cdn-logs') }),
      },
    );
    // The demo never posts: its digest is written as slack.json.
    await publishWeeklyReport(report, { outDir, sinks: ['csv', 'html'], slack: { token: undefined, channel: undefined, apiUrl: undefined }, io, logger });
  }, logger);
}
