/**
 * The html sink: report.html in the week's output folder, and index.html in the folder above it
 * (the output root), rebuilt from every week folder's report.json there, so the index always lists
 * exactly the weeks on disk. Both are written to a temporary name and renamed.
 */
import { readdir, readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { writeFileAtomic } from '../lib/atomic-write.ts';
import type { Logger } from '../lib/logger.ts';
import type { WeeklyReport } from '../reports/weekly-report.ts';
import { wauHistoryChart, type Chart } from '../render/charts.ts';
import { privacySafeReport } from '../reports/privacy.ts';
import { indexPage, isOurPage, reportPage, type IndexEntry } from '../render/html.ts';

export async function writeReportPage(
  outDir: string,
  report: WeeklyReport,
  charts: readonly Chart[],
  logger: Logger,
  options: { index?: boolean } = {},
): Promise<string[]> {
  const page = join(outDir, 'report.html');
  await writeFileAtomic(page, reportPage(report, charts));
  // The index is built from report.json files: written here too, so the html sink works on its own.
  await writeFileAtomic(join(outDir, 'report.json'), JSON.stringify(privacySafeReport(report), null, 2) + '\n');
  if (options.index === false) return [page];
  const index = await writeIndex(dirname(outDir), logger);
  return index ? [page, index] : [page];
}

/** Reads one week folder's report.json into an index row; undefined when it is not a weekly report. */
function entryOf(folder: string, json: unknown): IndexEntry | undefined {
  const r = json as Partial<WeeklyReport> | null;
  const s = r?.summary;
  if (!r?.week?.label || !r.week.start || !s?.wau || !s.avg_dau || !s.stickiness || !s.events) return undefined;
  return {
    href: encodeURIComponent(folder),
    label: r.week.label,
    start: r.week.start,
    timezone: r.timezone ?? '',
    source: r.source ?? '',
    wau: s.wau.value,
    avgDau: s.avg_dau.value,
    stickiness: s.stickiness.value,
    events: s.events.value,
    downloads: r.downloads?.totals.downloads ?? null,
    incomplete: (r.completeness?.suspectDays.length ?? 0) > 0,
    // Reports from before the coverage rule do not say: they are taken as they were shown then.
    covered: Array.isArray(r.coverage) ? r.coverage.at(-1)?.covered === true : true,
    partial: r.partial === true,
    // A partly covered week is not a point of a trend (src/reports/coverage.ts).
    trend: Array.isArray(r.trend) ? r.trend.filter((t) => typeof t?.week === 'string' && typeof t?.wau === 'number' && t.covered !== false) : [],
  };
}

/**
 * Rebuilds index.html in `root`, unless an index.html is there that we did not write (no generator
 * mark): that one is left as it is, with a warning, and undefined is returned.
 */
export async function writeIndex(root: string, logger: Logger): Promise<string | undefined> {
  const path = join(root, 'index.html');
  let existing: string | undefined;
  try {
    existing = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  if (existing !== undefined && !isOurPage(existing)) {
    logger.warn(`${path} was not written by connect-metrics: left as it is, and the index of all weeks not written there (move that file, or choose another --out)`);
    return undefined;
  }
  const entries: IndexEntry[] = [];
  const skipped: string[] = [];
  for (const d of await readdir(root, { withFileTypes: true })) {
    if (!d.isDirectory()) continue;
    let text: string;
    try {
      text = await readFile(join(root, d.name, 'report.json'), 'utf8');
    } catch {
      continue; // not a report folder
    }
    let entry: IndexEntry | undefined;
    try {
      entry = entryOf(d.name, JSON.parse(text));
    } catch {
      entry = undefined;
    }
    if (entry) entries.push(entry);
    else {
      skipped.push(d.name);
      logger.warn(`index.html: ${join(root, d.name, 'report.json')} is not a readable weekly report; not listed`);
    }
  }
  // The trend line joins weeks of one timezone and source only (the newest report's), one point a
  // week: each report's own 12-week trend (older reports first, so newer figures win), then each
  // week's own WAU, so a few folders already show a long line.
  const byAge = [...entries].sort((a, b) => (a.start < b.start ? -1 : 1));
  const newest = byAge.at(-1);
  const same = byAge.filter((e) => newest && e.timezone === newest.timezone && e.source === newest.source);
  const series = new Map<string, number>();
  for (const e of same) for (const t of e.trend) series.set(t.week, t.wau);
  for (const e of same) if (e.covered && !e.partial) series.set(e.start.slice(0, 10), e.wau);
  const points = [...series.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([week, wau]) => ({ week, wau }));
  const chart = points.length >= 2 ? await wauHistoryChart(points) : undefined;
  await writeFileAtomic(path, indexPage(entries, chart, skipped));
  logger.debug(`index.html lists ${entries.length} weeks`, { root: basename(root) });
  return path;
}
