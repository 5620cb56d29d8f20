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
import { DB, parquetGroupPlan, STAGING_COLUMNS, textGroupPlan, type GroupPlan } from './staging.ts';

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
  engine: ChdbEngine,
  files: DiscoveredFile[],
  options: { logger: Logger; plainFields?: string[] },
): Promise<LogFileStats[]> {
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
  for (const group of groups.values()) {
    const plan = group[0]!.format === 'parquet' ? parquetGroupPlan(group[0]!) : textGroupPlan(group[0]!);
    {
      const batchable = group.filter((i) => !GLOB_CHARS.test(i.path));
      const single = group.filter((i) => GLOB_CHARS.test(i.path));
      for (let i = 0; i < batchable.length; i += BATCH_FILES) {
        const batch = batchable.slice(i, i + BATCH_FILES);
        try {
          await execAll(engine, plan.insert(sourceOf(batch.map((b) => b.path))));
        } catch {
          // One bad file fails the statement: remove what the batch wrote, then read its files one
          // by one, so the bad one is named and the others are counted.
          await removeFiles(engine, batch.map((b) => b.path));
          for (const info of batch) await stageOne(engine, plan, info, errors);
        }
      }
      for (const info of single) await stageOne(engine, plan, info, errors, true);
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
  for (const s of stats.filter((x) => x.error)) options.logger.warn(`skipped unreadable log file ${s.path}: ${s.error}`);
  await engine.exec(`USE ${DB}`);
  return stats;
}

async function stageOne(
  engine: ChdbEngine,
  plan: GroupPlan,
  info: LogFileInfo,
  errors: Map<string, { format: LogFormat | 'unknown'; error: string }>,
  viaLink = false,
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
      await execAll(engine, plan.insert(info.path));
    }
  } catch (error) {
    await removeFiles(engine, [info.path]).catch(() => undefined);
    errors.set(info.path, { format: info.format, error: firstLine(error) });
  }
}

/** Rows a failed statement may have written before it failed (a Parquet group is two statements). */
async function removeFiles(engine: ChdbEngine, paths: string[]): Promise<void> {
  await engine.exec(`DELETE FROM ${DB}.staging WHERE file IN {paths:Array(String)}`, { paths });
}

async function execAll(engine: ChdbEngine, sql: string): Promise<void> {
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
