import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { writeFileAtomic } from '../lib/atomic-write.ts';
import type { Logger } from '../lib/logger.ts';
import { toCsv, type Table } from '../render/csv.ts';

/**
 * Writes the report's files into the output folder. Each file is written under a temporary name
 * and renamed into place, so a crash leaves the previous version or the new one, never half a file.
 */
export async function writeReportFiles(
  outDir: string,
  files: { tables: Record<string, Table>; json?: Record<string, unknown> },
): Promise<string[]> {
  const written: string[] = [];
  for (const [name, table] of Object.entries(files.tables)) {
    const path = join(outDir, name);
    await writeFileAtomic(path, toCsv(table));
    written.push(path);
  }
  for (const [name, value] of Object.entries(files.json ?? {})) {
    const path = join(outDir, name);
    await writeFileAtomic(path, JSON.stringify(value, null, 2) + '\n');
    written.push(path);
  }
  return written;
}

/** The list of files our runs wrote into a report folder: what marks the folder as ours. */
export const MANIFEST = '.connect-metrics-files.json';

/**
 * Names a report folder written before the manifest existed could hold (every file an earlier
 * version wrote there): in such a folder, with its report.json, these are taken as ours.
 */
const LEGACY_NAMES = new Set([
  'summary.csv', 'dau.csv', 'features.csv', 'protocols.csv', 'platforms.csv', 'data_quality.csv', 'downloads.csv', 'log_files.csv',
  'lifecycle.csv', 'retention.csv', 'versions.csv', 'releases.csv', 'new_installations.csv',
  'dau.png', 'wau-trend.png', 'platforms.png', 'lifecycle.png', 'retention.png', 'adoption.png',
  'report.json', 'slack.json', 'report.html',
]);

/**
 * The files an earlier run of ours wrote into `outDir`, read before this run writes anything: the
 * manifest's list, or, in a folder from before the manifest that holds our report.json, the names we
 * used to write. Empty for a folder that is not ours.
 */
export async function filesOfEarlierRun(outDir: string, logger: Logger): Promise<string[]> {
  try {
    const parsed = JSON.parse(await readFile(join(outDir, MANIFEST), 'utf8')) as { files?: unknown };
    return Array.isArray(parsed.files) ? parsed.files.filter((f): f is string => typeof f === 'string' && f === basename(f) && f !== MANIFEST && f !== '..' && f !== '.') : [];
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      logger.warn(`${join(outDir, MANIFEST)} is unreadable: no file of an earlier run is removed`);
      return [];
    }
  }
  if (!(await exists(join(outDir, 'report.json')))) return [];
  try {
    return (await readdir(outDir)).filter((f) => LEGACY_NAMES.has(f));
  } catch {
    return [];
  }
}

/**
 * After a run wrote `written` into `outDir`: files of an earlier run of ours (`before`, from
 * filesOfEarlierRun) that this run did not produce (a chart no longer drawn, slack.json once Slack
 * posts) are removed, so old files never sit beside new ones. Only those are touched: nothing we did
 * not write is removed. When `complete` is false (a file sink failed) nothing is removed and the
 * manifest keeps both lists.
 */
export async function pruneStaleFiles(
  outDir: string,
  before: readonly string[],
  written: readonly string[],
  options: { complete: boolean; logger: Logger },
): Promise<string[]> {
  const now = [...new Set(written.filter((p) => dirname(p) === outDir).map((p) => basename(p)))];
  const stale = before.filter((f) => !now.includes(f));
  const removed: string[] = [];
  if (options.complete) {
    for (const f of stale) {
      await rm(join(outDir, f), { force: true });
      removed.push(join(outDir, f));
    }
    if (removed.length) options.logger.info(`removed ${removed.length} file${removed.length === 1 ? '' : 's'} of an earlier run that this run does not produce: ${stale.join(', ')}`);
  }
  if (now.length || stale.length) {
    const files = options.complete ? now : [...new Set([...now, ...stale])];
    await writeFileAtomic(join(outDir, MANIFEST), JSON.stringify({ note: 'files connect-metrics wrote here; a later run removes the ones it no longer produces', files: files.sort() }, null, 2) + '\n');
  }
  return removed;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
