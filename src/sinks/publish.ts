import type { WeeklyReport } from '../reports/weekly-report.ts';
import { toCsv, weeklyCsvTables } from '../render/csv.ts';
import { ConfigError, ConnectMetricsError } from '../lib/errors.ts';
import { deliverDigest } from './slack.ts';
import { weeklyCharts } from '../render/charts.ts';
import { writeFileAtomic } from '../lib/atomic-write.ts';
import { join } from 'node:path';
import { weeklyDigest } from '../render/digest.ts';
import { digestBlocks } from '../render/slack.ts';
import { digestText } from '../render/text.ts';
import { writeReportFiles } from './report-files.ts';
import { privacySafeReport } from '../reports/privacy.ts';
import { writeReportPage } from './html.ts';
import type { Logger } from '../lib/logger.ts';

/**
 * The places a report goes. `csv`: the output folder (CSVs, charts, report.json, slack.json);
 * `html`: report.html in that folder and index.html in the folder above; `slack`: the digest posted.
 */
export const SINKS = ['csv', 'slack', 'html'] as const;
export type SinkName = (typeof SINKS)[number];

/** Exit code bits per sink: a run whose sinks failed exits with 10 + the sum of the failed sinks' bits. */
export const SINK_EXIT_BITS: Record<SinkName, number> = { csv: 1, slack: 2, html: 4 };

/** One or more sinks failed; the others ran. The exit code names which (10 + bits). */
export class SinkFailureError extends ConnectMetricsError {
  readonly failures: Array<{ sink: SinkName; error: unknown }>;
  readonly exitCode: number;
  constructor(failures: Array<{ sink: SinkName; error: unknown }>) {
    const detail = failures.map((f) => `${f.sink}: ${(f.error as Error)?.message ?? String(f.error)}`).join('; ');
    const hints = failures.map((f) => (f.error as ConnectMetricsError)?.hint).filter(Boolean);
    super(`${failures.length === 1 ? 'a sink' : `${failures.length} sinks`} failed (${detail})`, hints.length ? { hint: hints.join('; ') } : {});
    this.failures = failures;
    this.exitCode = 10 + failures.reduce((s, f) => s + SINK_EXIT_BITS[f.sink], 0);
  }
}

/** `--sinks csv,slack` as a list (undefined when the flag is absent: the configured sinks apply). */
export function parseSinkList(flag: string | undefined): string[] | undefined {
  return !flag ? undefined : flag.split(',').map((x) => x.trim()).filter(Boolean);
}

/** The sinks to run: as configured, else the output folder and the page, plus Slack when a token is set. */
export function resolveSinks(configured: readonly string[] | undefined, slackToken: string | undefined): SinkName[] {
  if (!configured) return slackToken ? ['csv', 'html', 'slack'] : ['csv', 'html'];
  for (const s of configured) {
    if (!(SINKS as readonly string[]).includes(s)) throw new ConfigError(`sink ${s}: expected one of ${SINKS.join(', ')}`);
  }
  return [...new Set(configured as SinkName[])];
}

/**
 * Delivers a weekly report to its sinks, each on its own: one that fails does not stop the others,
 * and the run then fails with an exit code that says which (SinkFailureError). The text preview
 * always goes to stdout.
 */
export async function publishWeeklyReport(
  report: WeeklyReport,
  options: {
    outDir: string;
    sinks?: readonly string[] | undefined;
    slack: { token: string | undefined; channel: string | undefined; apiUrl: string | undefined; force?: boolean };
    io: { stdout: (t: string) => void };
    logger: Logger;
  },
): Promise<{ files: string[] }> {
  const digest = weeklyDigest(report);
  const message = digestBlocks(digest);
  const { token, channel } = options.slack;
  const sinks = resolveSinks(options.sinks, token);
  if (sinks.includes('slack') && !token) {
    throw new ConfigError('the slack sink needs SLACK_BOT_TOKEN', { hint: 'set SLACK_BOT_TOKEN (xoxb-...) or drop slack from the sinks' });
  }
  if (sinks.includes('slack') && !channel) {
    throw new ConfigError('SLACK_BOT_TOKEN is set but no channel: set SLACK_CHANNEL_ID or slack.channel in the config file', {
      hint: 'the channel id (C...) is in the channel details in Slack',
    });
  }
  const tables = weeklyCsvTables(report);
  const charts = await weeklyCharts(report);
  const files: string[] = [];
  const failures: Array<{ sink: SinkName; error: unknown }> = [];

  if (sinks.includes('csv')) {
    try {
      // Without Slack delivery the digest is written as slack.json, ready for chat.postMessage.
      const json: Record<string, unknown> = { 'report.json': privacySafeReport(report), ...(sinks.includes('slack') ? {} : { 'slack.json': message }) };
      files.push(...(await writeReportFiles(options.outDir, { tables, json })));
      for (const chart of charts) {
        const path = join(options.outDir, chart.filename.replace(`${report.week.label}-`, ''));
        await writeFileAtomic(path, chart.png);
        files.push(path);
      }
      options.logger.info(`wrote ${files.length} files to ${options.outDir}`);
    } catch (error) {
      failures.push({ sink: 'csv', error });
      options.logger.error(`sink csv failed: ${(error as Error).message}`);
    }
  }
  if (sinks.includes('html')) {
    try {
      const written = await writeReportPage(options.outDir, report, charts, options.logger);
      files.push(...written);
      options.logger.info(`wrote ${written.join(' and ')}`);
    } catch (error) {
      failures.push({ sink: 'html', error });
      options.logger.error(`sink html failed: ${(error as Error).message}`);
    }
  }
  options.io.stdout(digestText(digest));
  if (sinks.includes('slack')) {
    try {
      const attachments = [
        ...Object.entries(tables)
          .filter(([name]) => name !== 'data_quality.csv' && name !== 'log_files.csv')
          .map(([name, table]) => ({ filename: `${report.week.label}-${name}`, title: name, content: toCsv(table) })),
      ];
      await deliverDigest(message, report.id, attachments, {
        token: token!,
        channel: channel!,
        apiUrl: options.slack.apiUrl,
        force: options.slack.force ?? false,
        notBefore: new Date(report.week.end),
        logger: options.logger,
      }, charts.map((c) => ({ filename: c.filename, title: c.title, alt: c.alt, content: c.png })));
    } catch (error) {
      failures.push({ sink: 'slack', error });
    }
  }
  if (failures.length) throw new SinkFailureError(failures);
  return { files };
}
