import type { WeeklyReport } from '../reports/weekly-report.ts';
import { weeklyCsvTables } from '../render/csv.ts';
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
  options: { outDir: string; slackToken: string | undefined; io: { stdout: (t: string) => void }; logger: Logger },
): Promise<{ files: string[] }> {
  const digest = weeklyDigest(report);
  // Until Slack delivery lands (issue 6) the digest is written as slack.json whether or not a token is set.
  const json: Record<string, unknown> = { 'report.json': report, 'slack.json': digestBlocks(digest) };
  if (options.slackToken) options.logger.warn('SLACK_BOT_TOKEN is set, but this version does not post to Slack yet: the digest is in slack.json');
  const files = await writeReportFiles(options.outDir, { tables: weeklyCsvTables(report), json });
  options.io.stdout(digestText(digest));
  options.logger.info(`wrote ${files.length} files to ${options.outDir}`);
  return { files };
}
