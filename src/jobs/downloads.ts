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
import type { LogReadOptions } from '../sources/cloudfront/formats.ts';
import { openLogFiles } from '../sources/cloudfront/open-logs.ts';
import { createS3Client, fetchS3Logs, isS3Url, parseS3Url } from '../sources/cloudfront/s3.ts';
import { s3Files, s3Location } from '../sources/cloudfront/s3-location.ts';
import { ClickHouseServerEngine, redact } from '../engine/clickhouse-server.ts';
import { UsageError } from '../lib/errors.ts';

/** How log files that do not say it themselves are read, and which fields the configured rules need. */
function readOptions(rules: DownloadRules): LogReadOptions {
  return { plainFields: rules.plainFields, fieldDelimiter: rules.fieldDelimiter, needsHost: rules.hosts.length > 0 };
}

export async function computeDownloads(
  engine: ChdbEngine,
  input: { specs: string[]; week: Week; rules: DownloadRules; logger: Logger; workDir: string; serverEngine?: string | undefined },
): Promise<DownloadsSection> {
  const prev = previousWeek(input.week);
  const started = Date.now();
  if (input.serverEngine) return countOnServer(input.serverEngine, input, prev, started);
  const opened = await openLogFiles(input.specs, { from: prev.start.toJSDate(), to: input.week.end.toJSDate() }, {
    rules: input.rules,
    logger: input.logger,
    workDir: input.workDir,
  });
  const stats = await stageLogFiles(engine, opened.files, { logger: input.logger, ...readOptions(input.rules) });
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

/**
 * Scale-out: the same staging and counting on a ClickHouse server, which reads the period's objects
 * from the bucket itself. This process only lists the keys and peeks at each object's header.
 */
async function countOnServer(
  spec: string,
  input: { specs: string[]; week: Week; rules: DownloadRules; logger: Logger },
  prev: Week,
  started: number,
): Promise<DownloadsSection> {
  const [url, ...more] = input.specs;
  if (!url || more.length || !isS3Url(url)) {
    throw new UsageError('--engine runs the counting where the logs are: give exactly one --downloads s3://bucket/prefix with it', {
      hint: 'local log files are counted by the embedded engine: drop --engine',
    });
  }
  const { bucket } = parseS3Url(url);
  const s3 = input.rules.s3;
  const client = createS3Client(s3);
  const listed = await fetchS3Logs(url, { from: prev.start.toJSDate(), to: input.week.end.toJSDate() }, '', {
    ...s3,
    client,
    logger: input.logger,
    listOnly: true,
  });
  const ch = input.rules.clickhouse;
  const baseUrl =
    ch.s3BaseUrl ?? (s3.endpoint ? `${s3.endpoint.replace(/\/+$/, '')}/${bucket}` : `https://${bucket}.s3.${s3.region ?? (await client.config.region())}.amazonaws.com`);
  const credentials = ch.passCredentials ? await client.config.credentials() : undefined;
  const server = ClickHouseServerEngine.fromUrl(spec);
  try {
    const location = s3Location({ bucket, client, baseUrl, db: ch.database, credentials });
    const stats = await stageLogFiles(server, s3Files(bucket, listed.keys), { logger: input.logger, location, ...readOptions(input.rules) });
    const staged = server.withDatabase(ch.database);
    try {
      const rows = await runQuery(staged, queries.downloads_daily, {
        from: toInstant(prev.start),
        to: toInstant(input.week.end),
        timezone: input.week.timezone,
        hosts: input.rules.hosts,
        update_user_agents: input.rules.updateUserAgents,
      });
      const lines = stats.reduce((s, f) => s + f.lines, 0);
      input.logger.info(`downloads: ${lines} log lines in ${stats.length} objects counted on ${redact(spec)} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      return buildDownloads(rows, input.week, prev, stats, `CloudFront logs in ${url}, counted on a ClickHouse server`);
    } finally {
      await staged.close();
    }
  } finally {
    await server.close();
  }
}
