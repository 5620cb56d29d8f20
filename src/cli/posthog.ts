/** `connect-metrics posthog check`: is the PostHog project ready for the weekly report? (src/engine/posthog-check.ts) */
import type { CliIo, GlobalOptions } from './main.ts';
import { ConnectMetricsError } from '../lib/errors.ts';
import { loadSettings } from './session.ts';
import { posthogSettings } from '../config/config.ts';
import { checkPostHog, formatCheckLines } from '../engine/posthog-check.ts';
import { eventQueries } from '../queries/index.ts';
import { parseWeek, previousWeek, toInstant } from '../reports/period.ts';
import { standardParams } from '../jobs/weekly-report.ts';

export async function posthogCheckCommand(opts: GlobalOptions, io: CliIo): Promise<void> {
  const { config, catalog, plan } = await loadSettings(opts, io);
  // A setting that is missing or malformed is named before any request (exit 2).
  const settings = posthogSettings(config);
  // The queries are checked with the values of the last complete week and the one before.
  const week = parseWeek('last', config.timezone, io.clock.now());
  const values = standardParams({ catalog, eventPrefix: config.eventPrefix, plan, clusterShare: config.clusterShare }, { from: toInstant(previousWeek(week).start), to: toInstant(week.end) }, config.timezone);
  const { lines, requests } = await checkPostHog({ ...settings, queries: eventQueries, values, ...(io.fetch ? { fetch: io.fetch } : {}) });
  io.stdout(formatCheckLines(lines));
  const failed = lines.filter((l) => !l.ok && !l.skipped).length;
  const skipped = lines.filter((l) => l.skipped).length;
  io.stdout(`${failed ? `${failed} failed, ${skipped} not checked` : `all ${lines.length} checks passed`} (${requests} requests, nothing run)\n`);
  if (failed || skipped) throw new ConnectMetricsError(`posthog check: ${failed} check${failed === 1 ? '' : 's'} failed; the fix is on each FAIL line above`);
}
