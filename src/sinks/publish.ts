import type { WeeklyReport } from '../reports/weekly-report.ts';
import { toCsv, weeklyCsvTables } from '../render/csv.ts';
import { ConfigError } from '../lib/errors.ts';
import { deliverDigest } from './slack.ts';
import { weeklyCharts } from '../render/charts.ts';
import { writeFileAtomic } from '../lib/atomic-write.ts';
import { join } from 'node:path';
import { weeklyDigest } from '../render/digest.ts';
import { digestBlocks } from '../render/slack.ts';
import { digestText } from '../render/text.ts';
import { writeReportFiles } from './report-files.ts';
import type { Logger } from '../lib/logger.ts';

/**
 * Delivers a weekly report: the CSV files and report.json in the output folder; the Slack digest
 * as slack.json (Block Kit, ready for chat.postMessage) while no Slack token is configured; the
 * text preview on stdout.
 */
export async function publishWeeklyReport(
  report: WeeklyReport,
  options: {
    outDir: string;
    slack: { token: string | undefined; channel: string | undefined; apiUrl: string | undefined; force?: boolean };
    io: { stdout: (t: string) => void };
    logger: Logger;
  },
): Promise<{ files: string[] }> {
  const digest = weeklyDigest(report);
  const message = digestBlocks(digest);
  const { token, channel } = options.slack;
  if (token && !channel) {
    throw new ConfigError('SLACK_BOT_TOKEN is set but no channel: set SLACK_CHANNEL_ID or slack.channel in the config file', {
      hint: 'the channel id (C...) is in the channel details in Slack',
    });
  }
  const tables = weeklyCsvTables(report);
  // Without a Slack token the digest is written as slack.json, ready for chat.postMessage.
  const json: Record<string, unknown> = { 'report.json': report, ...(token ? {} : { 'slack.json': message }) };
  const files = await writeReportFiles(options.outDir, { tables, json });
  const charts = await weeklyCharts(report);
  for (const chart of charts) {
    const path = join(options.outDir, chart.filename.replace(`${report.week.label}-`, ''));
    await writeFileAtomic(path, chart.png);
    files.push(path);
  }
  options.io.stdout(digestText(digest));
  options.logger.info(`wrote ${files.length} files to ${options.outDir}`);
  if (token && channel) {
    const attachments = [
      ...charts.map((c) => ({ filename: c.filename, title: c.title, content: c.png })),
      ...Object.entries(tables)
        .filter(([name]) => name !== 'data_quality.csv' && name !== 'log_files.csv')
        .map(([name, table]) => ({ filename: `${report.week.label}-${name}`, title: name, content: toCsv(table) })),
    ];
    await deliverDigest(message, report.id, attachments, {
      token,
      channel,
      apiUrl: options.slack.apiUrl,
      force: options.slack.force ?? false,
      notBefore: new Date(report.week.end),
      logger: options.logger,
    });
  }
  return { files };
}
