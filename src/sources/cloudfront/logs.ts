/**
 * CloudFront access logs from local files (folders searched recursively): staged in the embedded
 * engine's `cdn` database, read by the downloads query as `cdn_requests`. A file that cannot be read
 * is named with the reason and the others are still counted (CDN logs are best effort anyway).
 */
import { basename, dirname } from 'node:path';
import type { ChdbEngine } from '../../engine/chdb-engine.ts';
import { firstLine } from '../../engine/chdb-engine.ts';
import type { Logger } from '../../lib/logger.ts';
import { discoverFiles, type DiscoveredFile } from '../discover.ts';
import { sqlString } from '../posthog-export.ts';
import { inspectLogFile, isLogFileName, LOG_KINDS, type LogFileInfo, type LogFormat } from './formats.ts';
import { STAGING_COLUMNS, stagingInsertSql } from './staging.ts';

export interface LogFileStats {
  path: string;
  format: LogFormat | 'unknown';
  /** Log lines read (comment lines excluded). */
  lines: number;
  /** Lines with the wrong number of fields, or not JSON. */
  unparsable: number;
  /** Why the file could not be read at all; it was skipped. */
  error?: string;
}

const DB = 'cdn';
const BATCH_FILES = 256;
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
  engine: ChdbEngine,
  files: DiscoveredFile[],
  options: { logger: Logger; plainFields?: string[] },
): Promise<LogFileStats[]> {
  await engine.exec(`CREATE DATABASE IF NOT EXISTS ${DB}`);
  await engine.exec(`DROP TABLE IF EXISTS ${DB}.staging`);
  await engine.exec(`CREATE TABLE ${DB}.staging (${STAGING_COLUMNS}) ENGINE = MergeTree ORDER BY (file, line)`);
  // The counting rules see decoded values: decoded until they no longer change (8 rounds is more
  // than any real double or triple encoding needs).
  await engine.exec(`CREATE OR REPLACE VIEW ${DB}.cdn_requests AS
    SELECT file, line,
        if(request_id = '', concat(file, ':', toString(line)), request_id) AS request_id,
        ts, ip, method, status, host,
        arrayFold((acc, x) -> decodeURLComponent(acc), range(8), path_raw) AS path,
        arrayFold((acc, x) -> decodeURLComponent(acc), range(8), ua_raw) AS user_agent,
        range_start
    FROM ${DB}.staging WHERE line > 0`);

  const errors = new Map<string, { format: LogFormat | 'unknown'; error: string }>();
  const infos: LogFileInfo[] = [];
  for (const f of files) {
    try {
      const info = await inspectLogFile(f.path, options.plainFields);
      if (info.format === 'parquet') {
        const cols = await engine.objects<{ name: string }>(`DESCRIBE file(${sqlString(f.path)}, 'Parquet')`);
        info.fields = cols.map((c) => c.name);
      }
      infos.push(info);
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
  const table = `${DB}.staging`;
  for (const group of groups.values()) {
    const batchable = group.filter((i) => !GLOB_CHARS.test(i.path));
    const single = group.filter((i) => GLOB_CHARS.test(i.path));
    for (let i = 0; i < batchable.length; i += BATCH_FILES) {
      const batch = batchable.slice(i, i + BATCH_FILES);
      try {
        await engine.exec(stagingInsertSql(table, batch[0]!, sourceOf(batch.map((b) => b.path))));
      } catch {
        // One bad file fails the whole statement (and nothing of it is stored, since the rows are
        // only written after the whole read): read the batch file by file to name it.
        for (const info of batch) await stageOne(engine, table, info, errors);
      }
    }
    for (const info of single) await stageOne(engine, table, info, errors, true);
  }
  const counts = await engine.objects<{ file: string; lines: number; unparsable: number }>(
    `SELECT file, sum(lines) AS lines, sum(unparsable) AS unparsable FROM ${table} GROUP BY file`,
  );
  const byPath = new Map(counts.map((c) => [c.file, c]));
  const formatOf = new Map(infos.map((i) => [i.path, i.format]));
  const stats = files.map((f): LogFileStats => {
    const failed = errors.get(f.path);
    if (failed) return { path: f.path, format: failed.format === 'unknown' ? (formatOf.get(f.path) ?? 'unknown') : failed.format, lines: 0, unparsable: 0, error: failed.error };
    const c = byPath.get(f.path);
    return { path: f.path, format: formatOf.get(f.path)!, lines: Number(c?.lines ?? 0), unparsable: Number(c?.unparsable ?? 0) };
  });
  for (const s of stats.filter((x) => x.error)) options.logger.warn(`skipped unreadable log file ${s.path}: ${s.error}`);
  await engine.exec(`USE ${DB}`);
  return stats;
}

async function stageOne(
  engine: ChdbEngine,
  table: string,
  info: LogFileInfo,
  errors: Map<string, { format: LogFormat | 'unknown'; error: string }>,
  viaLink = false,
): Promise<void> {
  try {
    if (viaLink) {
      // file() reads glob characters in a path as a pattern: go through a plain-named link.
      const { mkdtemp, symlink, rm } = await import('node:fs/promises');
      const { tmpdir } = await import('node:os');
      const { join } = await import('node:path');
      const dir = await mkdtemp(join(tmpdir(), 'cm-log-'));
      const link = join(dir, `log${basename(info.path).match(/(\.[a-z]+)+$/i)?.[0] ?? ''}`);
      try {
        await symlink(info.path, link);
        // Rows are filed under the real path, not the link's.
        await engine.exec(stagingInsertSql(table, info, link).replace('_path AS file', `${sqlString(info.path)} AS file`));
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    } else {
      await engine.exec(stagingInsertSql(table, info, info.path));
    }
  } catch (error) {
    errors.set(info.path, { format: info.format, error: firstLine(error) });
  }
}

/** `dir/{a,b,c}` for several files (relative names under their common folder), or the one path. */
function sourceOf(paths: string[]): string {
  if (paths.length === 1) return paths[0]!;
  let dir = dirname(paths[0]!);
  while (!paths.every((p) => p.startsWith(dir + '/')) && dir !== dirname(dir)) dir = dirname(dir);
  const base = dir === '/' ? '' : dir;
  return `${base}/{${paths.map((p) => p.slice(base.length + 1)).join(',')}}`;
}
