/**
 * The history bench's data: 104 ISO weeks of a generated export at about 100k events a week (one
 * file a day), cached under bench/.cache so it is generated once. A report over H weeks of history
 * selects the last H weeks' files, so every H sees the same report week and the same weekly volume.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeDemoExport } from '../src/demo/generator.ts';

/** The report week is 2026-W47; the data ends with it. */
export const HISTORY_END = new Date('2026-11-23T00:00:00Z');
export const HISTORY_WEEK = '2026-W47';
export const HISTORY_WEEKS = 104;
const WEEK_MS = 7 * 86_400_000;
/** Measured on the generator: 20k installations at 2.5 events per active day give about 100k events a week, flat over the two years. */
const INSTALLATIONS = 20_000;
const EVENTS_PER_ACTIVE_DAY = 2.5;

export async function ensureHistoryData(root: string, out: (text: string) => void): Promise<string> {
  const dir = join(root, `history-${HISTORY_WEEKS}w-${INSTALLATIONS}`);
  if (existsSync(join(dir, '.complete'))) return dir;
  const tmp = `${dir}.partial`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  out(`generating ${HISTORY_WEEKS} weeks at ~100k events a week into ${dir} ...\n`);
  const t = Date.now();
  const r = await writeDemoExport(tmp, {
    seed: 13,
    start: new Date(HISTORY_END.getTime() - HISTORY_WEEKS * WEEK_MS),
    end: HISTORY_END,
    installations: INSTALLATIONS,
    eventsPerActiveDay: EVENTS_PER_ACTIVE_DAY,
    badRecords: true,
  });
  await writeFile(join(tmp, '.complete'), JSON.stringify(r.records));
  await rm(dir, { recursive: true, force: true });
  await rename(tmp, dir);
  out(`generated ${r.records} records in ${r.files.length} files in ${((Date.now() - t) / 1000).toFixed(1)} s (not measured)\n`);
  return dir;
}

/** The files of the last `weeks` weeks (file names start with their first instant, ISO 8601 UTC). */
export async function lastWeeksFiles(dir: string, weeks: number): Promise<string[]> {
  const from = new Date(HISTORY_END.getTime() - weeks * WEEK_MS).toISOString().slice(0, 19);
  return (await readdir(dir))
    .filter((n) => n.endsWith('.jsonl.gz') && n.slice(0, 19) >= from)
    .sort()
    .map((n) => join(dir, n));
}
