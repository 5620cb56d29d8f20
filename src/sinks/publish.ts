import type { WeeklyReport } from '../reports/weekly-report.ts';
import { toCsv, weeklyCsvTables } from '../render/csv.ts';
import { ConfigError, ConnectMetricsError } from '../lib/errors.ts';
import { deliverDigest } from './slack.ts';
import { weeklyCharts } from '../render/charts.ts';
import { writeFileAtomic } from '../lib/atomic-write.ts';
import { join, resolve } from 'node:path';
import { weeklyDigest } from '../render/digest.ts';
import { digestBlocks } from '../render/slack.ts';
import { digestText } from '../render/text.ts';
import { filesOfEarlierRun, pruneStaleFiles, writeReportFiles } from './report-files.ts';
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

/**
 * A sink as the config names it: its type alone ("csv"), or its type with its own settings:
 * `{ "type": "csv", "charts": false }` (no PNG files), `{ "type": "html", "index": false }` (no
 * index.html), `{ "type": "slack", "channel": "C0123" }` (another channel than slack.channel; any
 * number of slack sinks, one per channel, each posted at most once).
 */
export type SinkSetting =
  | string
  | { type: 'csv'; charts?: boolean | undefined }
  | { type: 'html'; index?: boolean | undefined }
  | { type: 'slack'; channel?: string | undefined };

export type SinkSpec = { type: 'csv'; charts: boolean } | { type: 'html'; index: boolean } | { type: 'slack'; channel: string | undefined };

/** How a sink is named in logs, errors and the backfill ledger: its type, and a slack sink's own channel. */
export function sinkLabel(s: SinkSpec): string {
  return s.type === 'slack' && s.channel ? `slack:${s.channel}` : s.type;
}

/** One or more sinks failed; the others ran. The exit code names which (10 + bits). */
export class SinkFailureError extends ConnectMetricsError {
  readonly failures: Array<{ sink: string; error: unknown }>;
  readonly exitCode: number;
  constructor(failures: Array<{ sink: SinkSpec; error: unknown }>) {
    const detail = failures.map((f) => `${sinkLabel(f.sink)}: ${(f.error as Error)?.message ?? String(f.error)}`).join('; ');
    const hints = failures.map((f) => (f.error as ConnectMetricsError)?.hint).filter(Boolean);
    super(`${failures.length === 1 ? 'a sink' : `${failures.length} sinks`} failed (${detail})`, hints.length ? { hint: hints.join('; ') } : {});
    this.failures = failures.map((f) => ({ sink: sinkLabel(f.sink), error: f.error }));
    const types = new Set(failures.map((f) => f.sink.type));
    this.exitCode = 10 + [...types].reduce((s, t) => s + SINK_EXIT_BITS[t], 0);
  }
}

/** `--sinks csv,slack` as a list (undefined when the flag is absent: the configured sinks apply). */
export function parseSinkList(flag: string | undefined): string[] | undefined {
  return !flag ? undefined : flag.split(',').map((x) => x.trim()).filter(Boolean);
}

/** The sinks to run: as configured, else the output folder and the page, plus Slack when a token is set. */
export function resolveSinks(configured: readonly SinkSetting[] | undefined, slackToken: string | undefined): SinkSpec[] {
  const settings: readonly SinkSetting[] = configured ?? (slackToken ? ['csv', 'html', 'slack'] : ['csv', 'html']);
  const specs = settings.map((s, i): SinkSpec => {
    const type = typeof s === 'string' ? s : s.type;
    if (!(SINKS as readonly string[]).includes(type)) throw new ConfigError(`sink ${typeof s === 'string' ? s : `#${i + 1} type ${type}`}: expected one of ${SINKS.join(', ')}`);
    if (typeof s === 'string') return type === 'csv' ? { type: 'csv', charts: true } : type === 'html' ? { type: 'html', index: true } : { type: 'slack', channel: undefined };
    if (s.type === 'csv') return { type: 'csv', charts: s.charts ?? true };
    if (s.type === 'html') return { type: 'html', index: s.index ?? true };
    return { type: 'slack', channel: s.channel };
  });
  // The same sink twice would write or post twice: once each (slack sinks differ by channel).
  const seen = new Set<string>();
  return specs.filter((s) => {
    const label = sinkLabel(s);
    if (seen.has(label)) return false;
    seen.add(label);
    return true;
  });
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
    sinks?: readonly SinkSetting[] | undefined;
    slack: { token: string | undefined; channel: string | undefined; apiUrl: string | undefined; force?: boolean };
    io: { stdout: (t: string) => void };
    logger: Logger;
  },
): Promise<{ files: string[] }> {
  const digest = weeklyDigest(report);
  const message = digestBlocks(digest);
  const { token } = options.slack;
  const sinks = resolveSinks(options.sinks, token);
  const slackSinks = sinks.filter((s): s is Extract<SinkSpec, { type: 'slack' }> => s.type === 'slack');
  if (slackSinks.length && !token) {
    throw new ConfigError('the slack sink needs SLACK_BOT_TOKEN', { hint: 'set SLACK_BOT_TOKEN (xoxb-...) or drop slack from the sinks' });
  }
  if (slackSinks.some((s) => !(s.channel ?? options.slack.channel))) {
    throw new ConfigError('SLACK_BOT_TOKEN is set but no channel: set SLACK_CHANNEL_ID or slack.channel in the config file', {
      hint: 'the channel id (C...) is in the channel details in Slack',
    });
  }
  const tables = weeklyCsvTables(report);
  const charts = await weeklyCharts(report);
  const files: string[] = [];
  const failures: Array<{ sink: SinkSpec; error: unknown }> = [];

  const outDir = resolve(options.outDir);
  const earlier = sinks.some((s) => s.type !== 'slack') ? await filesOfEarlierRun(outDir, options.logger) : [];
  for (const sink of sinks) {
    if (sink.type === 'slack') continue; // after the files, so a slow Slack never holds them up
    try {
      if (sink.type === 'csv') {
        // Without Slack delivery the digest is written as slack.json, ready for chat.postMessage.
        const json: Record<string, unknown> = { 'report.json': privacySafeReport(report), ...(slackSinks.length ? {} : { 'slack.json': message }) };
        const written = await writeReportFiles(options.outDir, { tables, json });
        if (sink.charts) {
          for (const chart of charts) {
            const path = join(options.outDir, chart.filename.replace(`${report.week.label}-`, ''));
            await writeFileAtomic(path, chart.png);
            written.push(path);
          }
        }
        files.push(...written);
        options.logger.info(`wrote ${written.length} files to ${options.outDir}`);
      } else {
        const written = await writeReportPage(options.outDir, report, charts, options.logger, { index: sink.index });
        files.push(...written);
        options.logger.info(`wrote ${written.join(' and ')}`);
      }
    } catch (error) {
      failures.push({ sink, error });
      options.logger.error(`sink ${sinkLabel(sink)} failed: ${(error as Error).message}`);
    }
  }
  if (sinks.some((s) => s.type !== 'slack')) {
    // Files of an earlier run in this folder that this run did not produce go (src/sinks/report-files.ts).
    try {
      await pruneStaleFiles(outDir, earlier, files.map((f) => resolve(f)), { complete: failures.length === 0, logger: options.logger });
    } catch (error) {
      options.logger.warn(`could not remove files of an earlier run in ${options.outDir}: ${(error as Error).message}`);
    }
  }
  options.io.stdout(digestText(digest));
  for (const sink of slackSinks) {
    try {
      const attachments = [
        ...Object.entries(tables)
          .filter(([name]) => name !== 'data_quality.csv' && name !== 'log_files.csv')
          .map(([name, table]) => ({ filename: `${report.week.label}-${name}`, title: name, content: toCsv(table) })),
      ];
      await deliverDigest(
        message,
        report.id,
        attachments,
        {
          token: token!,
          channel: (sink.channel ?? options.slack.channel)!,
          apiUrl: options.slack.apiUrl,
          force: options.slack.force ?? false,
          notBefore: new Date(report.week.end),
          logger: options.logger,
        },
        charts.map((c) => ({ filename: c.filename, title: c.title, alt: c.alt, content: c.png })),
      );
    } catch (error) {
      failures.push({ sink, error });
    }
  }
  if (failures.length) throw new SinkFailureError(failures);
  return { files };
}
