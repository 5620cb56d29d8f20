/**
 * Downloads in the weekly report (pure): installer downloads and in-app updates from the CDN logs,
 * per day, platform and version, with totals for the week and the one before.
 */
import type { RowOf } from '../engine/query.ts';
import type downloads_daily from '../queries/downloads_daily.ts';
import type { Week } from './period.ts';
import { compareSemver } from './semver.ts';

export type DownloadRow = RowOf<typeof downloads_daily>;

export interface LogFileQuality {
  path: string;
  format: string;
  lines: number;
  unparsable: number;
  error?: string;
}

export interface DownloadsSection {
  /** Report week rows with a non-zero count, by date, platform, then version (semantic order). */
  daily: Array<{ date: string; platform: string; version: string; downloads: number; updates: number }>;
  /** Manual downloads (not updates) per platform in the report week and the week before. */
  byPlatform: Record<string, { downloads: number; previous: number }>;
  totals: { downloads: number; updates: number; previousDownloads: number; previousUpdates: number };
  files: LogFileQuality[];
  /** Where the logs came from, in words. */
  origin: string;
}

export function buildDownloads(rows: DownloadRow[], week: Week, previous: Week, files: LogFileQuality[], origin: string): DownloadsSection {
  const inWeek = (w: Week) => new Set(w.days);
  const cur = inWeek(week);
  const prev = inWeek(previous);
  const daily = rows
    .filter((r) => cur.has(r.day) && r.downloads + r.updates > 0)
    .map((r) => ({ date: r.day, platform: r.platform, version: r.version, downloads: r.downloads, updates: r.updates }))
    .sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : a.platform < b.platform ? -1 : a.platform > b.platform ? 1 : compareSemver(a.version, b.version)));
  const byPlatform: DownloadsSection['byPlatform'] = {};
  const totals = { downloads: 0, updates: 0, previousDownloads: 0, previousUpdates: 0 };
  for (const r of rows) {
    const p = (byPlatform[r.platform] ??= { downloads: 0, previous: 0 });
    if (cur.has(r.day)) {
      p.downloads += r.downloads;
      totals.downloads += r.downloads;
      totals.updates += r.updates;
    } else if (prev.has(r.day)) {
      p.previous += r.downloads;
      totals.previousDownloads += r.downloads;
      totals.previousUpdates += r.updates;
    }
  }
  return { daily, byPlatform, totals, files, origin };
}
