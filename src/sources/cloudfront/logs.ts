/**
 * CloudFront access logs from local files (folders searched recursively): staged in the embedded
 * engine's `cdn` database, read by the downloads query as `cdn_requests`. A file that cannot be read
 * is named with the reason and the others are still counted (CDN logs are best effort anyway).
 */
import { basename, dirname } from 'node:path';
import { firstLine } from '../../engine/chdb-engine.ts';
import type { Logger } from '../../lib/logger.ts';
import { discoverFiles, type DiscoveredFile } from '../discover.ts';
import { sqlString } from '../posthog-export.ts';
import { inspectLogFile, isLogFileName, LOG_KINDS, notCountableReason, type LogFileInfo, type LogFormat, type LogReadOptions } from './formats.ts';
import { ConnectMetricsError } from '../../lib/errors.ts';
import { DB, localFiles, parquetGroupPlan, STAGING_COLUMNS, textGroupPlan, type GroupPlan, type Reader } from './staging.ts';

/** What staging needs of an engine: the embedded one (ChdbEngine) or a ClickHouse server. */
export interface SqlExecutor {
  exec(sql: string, values?: Record<string, unknown>): Promise<void>;
  objects<T = Record<string, unknown>>(sql: string, values?: Record<string, unknown>): Promise<T[]>;
}

/** Where the log files are and how the engine reads them: local files (default) or S3 (scale-out). */
export interface LogLocation {
  reader: Reader;
  /** The database staged into (created fresh, dropped first). */
  db: string;
  inspect(file: DiscoveredFile, options?: LogReadOptions): Promise<LogFileInfo>;
  /** One engine source for several files: `dir/{a,b}` (local) or `http://host/bucket/{k1,k2}` (S3). */
  sourceOf(paths: string[]): string;
  /** Whether a path can go into a many-file source (no characters the engine reads as a glob). */
  batchable(path: string): boolean;
  /** Make the staged view the engine's current database (embedded engine) or nothing (server: per query). */
  use?(executor: SqlExecutor): Promise<void>;
}

export const localLogs: LogLocation = {
  reader: localFiles,
  db: DB,
  inspect: (file, options) => inspectLogFile(file.path, options),
  sourceOf: (paths) => sourceOf(paths),
  batchable: (path) => !GLOB_CHARS.test(path),
  use: async (executor) => executor.exec(`USE ${DB}`),
};

export interface LogFileStats {
  path: string;
  format: LogFormat | 'unknown';
  /** Log lines read (comment lines excluded). */
  lines: number;
  /** Lines with the wrong number of fields, or not JSON. */
  unparsable: number;
  /** Why the file could not be read at all, or cannot be counted ("not countable: no cs-uri-stem field"); it was skipped. */
  error?: string;
}

/** Files per INSERT: bounds the kept lines held in memory at once. */
const BATCH_FILES = 32;
const GLOB_CHARS = /[*?{}[\],]/;

/** Discovers log files under the given paths (files or folders). */
export async function discoverLogFiles(paths: string[], flag = '--downloads'): Promise<{ files: DiscoveredFile[]; ignored: string[] }> {
  return discoverFiles(paths, isLogFileName, { flag, kinds: LOG_KINDS });
}

/**
 * Stages the files (replacing what was staged before) and makes `cdn_requests` the current
 * database's view of them. Returns per-file counts.
 */
export async function stageLogFiles(
  engine: SqlExecutor,
  files: DiscoveredFile[],
  options: { logger: Logger; location?: LogLocation } & LogReadOptions,
): Promise<LogFileStats[]> {
  const location = options.location ?? localLogs;
  const DB = location.db;
  // Staged data is for one run: start from an empty database (views of an interrupted run included).
  await engine.exec(`DROP DATABASE IF EXISTS ${DB}`);
  await engine.exec(`CREATE DATABASE ${DB}`);
  await engine.exec(`CREATE TABLE ${DB}.staging (${STAGING_COLUMNS}) ENGINE = MergeTree ORDER BY (file, line)`);
  // The counting rules see decoded values: decoded until they no longer change (8 rounds is more
  // than any real double or triple encoding needs).
  await engine.exec(`CREATE OR REPLACE VIEW ${DB}.cdn_requests AS
    SELECT file, line,
        if(request_id = '', concat(file, ':', toString(line)), request_id) AS request_id,
        ts, ip, method, status, host,
        if(position(path_raw, '%') > 0, arrayFold((acc, x) -> decodeURLComponent(acc), range(8), path_raw), path_raw) AS path,
        if(position(ua_raw, '%') > 0, arrayFold((acc, x) -> decodeURLComponent(acc), range(8), ua_raw), ua_raw) AS user_agent,
        range_start
    FROM ${DB}.staging WHERE line > 0`);

  const errors = new Map<string, { format: LogFormat | 'unknown'; error: string }>();
  const infos: LogFileInfo[] = [];
  for (const f of files) {
    try {
      const info = await location.inspect(f, options);
      if (info.format === 'parquet') {
        const cols = await engine.objects<{ name: string }>(`DESCRIBE ${location.reader.table(location.sourceOf([f.path]), 'Parquet')}`);
        info.fields = cols.map((c) => c.name);
        const reason = notCountableReason(info.fields, options);
        if (reason) info.notCountable = reason;
      }
      // A file that can never produce a download is named with the reason, never read as zero downloads.
      if (info.notCountable) errors.set(f.path, { format: info.format, error: info.notCountable });
      else infos.push(info);
    } catch (error) {
      errors.set(f.path, { format: 'unknown', error: firstLine(error) });
    }
  }
  // Files of one format and field list go through the engine together.
  const groups = new Map<string, LogFileInfo[]>();
  for (const info of infos) {
    const key = `${info.format}\t${info.delimiter}\t${info.fields.join(' ')}`;
    groups.set(key, [...(groups.get(key) ?? []), info]);
  }
  for (const group of groups.values()) {
    const plan = group[0]!.format === 'parquet' ? parquetGroupPlan(group[0]!, location.reader, DB) : textGroupPlan(group[0]!, location.reader, DB);
    {
      const batchable = group.filter((i) => location.batchable(i.path));
      const single = group.filter((i) => !location.batchable(i.path));
      for (let i = 0; i < batchable.length; i += BATCH_FILES) {
        const batch = batchable.slice(i, i + BATCH_FILES);
        try {
          await execAll(engine, plan.insert(location.sourceOf(batch.map((b) => b.path))));
        } catch {
          // One bad file fails the statement: remove what the batch wrote, then read its files one
          // by one, so the bad one is named and the others are counted.
          await removeFiles(engine, DB, batch.map((b) => b.path));
          for (const info of batch) await stageOne(engine, DB, plan, info, errors, false, location);
        }
      }
      for (const info of single) await stageOne(engine, DB, plan, info, errors, true, location);
    }
  }
  const counts = await engine.objects<{ file: string; lines: number; unparsable: number }>(
    `SELECT file, sum(lines) AS lines, sum(unparsable) AS unparsable FROM ${DB}.staging WHERE line = 0 GROUP BY file`,
  );
  const byPath = new Map(counts.map((c) => [c.file, c]));
  const formatOf = new Map(infos.map((i) => [i.path, i.format]));
  const stats = files.map((f): LogFileStats => {
    const failed = errors.get(f.path);
    if (failed) return { path: f.path, format: failed.format === 'unknown' ? (formatOf.get(f.path) ?? 'unknown') : failed.format, lines: 0, unparsable: 0, error: failed.error };
    const c = byPath.get(f.path);
    return { path: f.path, format: formatOf.get(f.path)!, lines: Number(c?.lines ?? 0), unparsable: Number(c?.unparsable ?? 0) };
  });
  for (const s of stats.filter((x) => x.error)) {
    options.logger.warn(s.error!.startsWith('not countable') ? `skipped log file ${s.path}: ${s.error}` : `skipped unreadable log file ${s.path}: ${s.error}`);
  }
  const failed = stats.filter((x) => x.error);
  if (stats.length > 0 && failed.length === stats.length) {
    // Every file skipped: a report would show zero downloads that the logs never said.
    throw new ConnectMetricsError(
      `--downloads: none of the ${stats.length} log file${stats.length > 1 ? 's' : ''} could be counted; ${failed[0]!.path}: ${failed[0]!.error}` +
        (failed.length > 1 ? ` (and ${failed.length - 1} more, named above)` : ''),
      { hint: 'check the log delivery settings (the fields, downloads.plainFields, downloads.fieldDelimiter) or point --downloads at CloudFront logs' },
    );
  }
  await location.use?.(engine);
  return stats;
}

async function stageOne(
  engine: SqlExecutor,
  db: string,
  plan: GroupPlan,
  info: LogFileInfo,
  errors: Map<string, { format: LogFormat | 'unknown'; error: string }>,
  viaLink: boolean,
  location: LogLocation,
): Promise<void> {
  try {
    if (viaLink) {
      // file() reads glob characters in a path as a pattern: go through a plain-named link, and
      // file the rows under the real path.
      const { mkdtemp, symlink, rm } = await import('node:fs/promises');
      const { tmpdir } = await import('node:os');
      const { join } = await import('node:path');
      const dir = await mkdtemp(join(tmpdir(), 'cm-log-'));
      const link = join(dir, `log${basename(info.path).match(/(\.[a-z]+)+$/i)?.[0] ?? ''}`);
      try {
        await symlink(info.path, link);
        await execAll(engine, plan.insert(link, sqlString(info.path)));
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    } else {
      await execAll(engine, plan.insert(location.sourceOf([info.path])));
    }
  } catch (error) {
    await removeFiles(engine, db, [info.path]).catch(() => undefined);
    errors.set(info.path, { format: info.format, error: firstLine(error) });
  }
}

/** Rows a failed statement may have written before it failed (a Parquet group is two statements). */
async function removeFiles(engine: SqlExecutor, db: string, paths: string[]): Promise<void> {
  await engine.exec(`DELETE FROM ${db}.staging WHERE file IN {paths:Array(String)}`, { paths });
}

async function execAll(engine: SqlExecutor, sql: string): Promise<void> {
  for (const statement of sql.split(/;\n/)) await engine.exec(statement);
}

/** `dir/{a,b,c}` for several files (relative names under their common folder), or the one path. */
function sourceOf(paths: string[]): string {
  if (paths.length === 1) return paths[0]!;
  let dir = dirname(paths[0]!);
  while (!paths.every((p) => p.startsWith(dir + '/')) && dir !== dirname(dir)) dir = dirname(dir);
  const base = dir === '/' ? '' : dir;
  return `${base}/{${paths.map((p) => p.slice(base.length + 1)).join(',')}}`;
}
