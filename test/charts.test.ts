import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { weeklyCharts } from '../src/render/charts.ts';
import { buildWeeklyReport, type WeeklyResults } from '../src/reports/weekly-report.ts';
import { parseWeek, previousWeek } from '../src/reports/period.ts';
import { parseCatalog } from '../src/config/catalog.ts';
import { DEFAULT_CATALOG } from '../src/config/config.ts';
import { emptyDataQuality } from '../src/reports/data-quality.ts';

const catalog = parseCatalog(readFileSync(DEFAULT_CATALOG, 'utf8'), 'catalog');
const week = parseWeek('2026-W47', 'UTC', new Date());
const prev = previousWeek(week);

function pngSize(png: Buffer): { width: number; height: number } {
  expect(png.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))).toBe(true);
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

describe('charts', () => {
  it('renders the DAU, 12-week trend and platform charts as PNGs large enough for Slack previews', async () => {
    const weeks = Array.from({ length: 12 }, (_, i) => week.start.minus({ weeks: 11 - i }).toISODate()!);
    const results: WeeklyResults = {
      // Every day of the 12 weeks and the week before them: each week fully covered, so each is a
      // point of the trend (src/reports/coverage.ts).
      daily: Array.from({ length: 13 * 7 }, (_, i) => week.start.minus({ weeks: 12 }).plus({ days: i }).toISODate()!).map((d, i) => ({ day: d, active_users: 100 + i, events: 500, late_events: 0, first_event: `${d}T08:00:00Z`, last_event: `${d}T20:00:00Z` })),
      weekly: weeks.map((w, i) => ({ week: w, active_users: 200 + 10 * i, events: 1000 })),
      features: [],
      protocols: [],
      platforms: [
        { week: week.days[0]!, os: 'macos', users: 120 },
        { week: week.days[0]!, os: 'linux', users: 40 },
      ],
    };
    const report = buildWeeklyReport({ week, previousWeek: prev, source: 'files', eventPrefix: 'connect.', catalog, results, dataQuality: emptyDataQuality('t'), generatedAt: new Date() });
    const charts = await weeklyCharts(report);
    expect(charts.map((c) => c.filename)).toEqual(['2026-W47-dau.png', '2026-W47-wau-trend.png', '2026-W47-platforms.png']);
    for (const c of charts) {
      const { width, height } = pngSize(c.png);
      expect(width).toBeGreaterThanOrEqual(1000); // rendered at twice the 640-pixel layout
      expect(height).toBeGreaterThanOrEqual(500);
      expect(c.alt.length).toBeGreaterThan(20);
    }
  });
});
