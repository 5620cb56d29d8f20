/**
 * The digest's charts as PNG, rendered in-process: Vega-Lite spec -> Vega SVG -> resvg PNG. Colours
 * are the Okabe-Ito palette (distinct for the common forms of colour blindness), and every series is
 * also told apart by shape or position, not by colour alone. Text uses the DejaVu Sans font shipped
 * with the package (resvg draws no text without a font file).
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { DateTime } from 'luxon';
import { combinePlatforms } from '../reports/privacy.ts';
import type { WeeklyReport } from '../reports/weekly-report.ts';

export interface Chart {
  filename: string;
  title: string;
  /** What the chart shows, in words (Slack's alt text). */
  alt: string;
  png: Buffer;
}

const BLUE = '#0072B2';
const ORANGE = '#E69F00';
const WIDTH = 640;
const HEIGHT = 300;

const require = createRequire(import.meta.url);
const FONT_DIR = join(dirname(require.resolve('dejavu-fonts-ttf/package.json')), 'ttf');
const FONTS = [join(FONT_DIR, 'DejaVuSans.ttf'), join(FONT_DIR, 'DejaVuSans-Bold.ttf')];

const CONFIG = {
  font: 'DejaVu Sans',
  background: 'white',
  view: { stroke: null },
  axis: { labelFontSize: 13, titleFontSize: 13, labelColor: '#333', titleColor: '#333', grid: true, gridColor: '#e5e5e5' },
  legend: { labelFontSize: 13, titleFontSize: 13, orient: 'top', labelLimit: 400 },
  title: { fontSize: 16, anchor: 'start', color: '#111' },
};

async function toPng(spec: Record<string, unknown>): Promise<Buffer> {
  // vega is ESM with top-level await: import it, never require it.
  const vega = await import('vega');
  const vegaLite = await import('vega-lite');
  const { Resvg } = await import('@resvg/resvg-js');
  const compiled = vegaLite.compile({ ...spec, config: CONFIG } as never).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  const svg = await view.toSVG(2);
  view.finalize();
  const png = new Resvg(svg, {
    background: 'white',
    font: { loadSystemFonts: false, fontFiles: FONTS, defaultFontFamily: 'DejaVu Sans', sansSerifFamily: 'DejaVu Sans' },
  })
    .render()
    .asPng();
  return Buffer.from(png);
}

export async function weeklyCharts(report: WeeklyReport): Promise<Chart[]> {
  const charts: Chart[] = [];
  const weekday = (d: string) => DateTime.fromISO(d).toFormat('ccc');
  const thisWeek = `${report.week.label} (this week)`;
  const weekBefore = `${report.previousWeek.label} (week before)`;
  const dau = [
    ...report.dau.map((d) => ({ day: weekday(d.date), active: d.active_users, week: thisWeek })),
    ...report.previousDau.map((d) => ({ day: weekday(d.date), active: d.active_users, week: weekBefore })),
  ];
  charts.push({
    filename: `${report.week.label}-dau.png`,
    title: 'Daily active installations',
    alt: `Daily active installations per day of ${report.week.label} beside the week before`,
    png: await toPng({
      title: `Daily active installations, ${report.week.label} vs the week before`,
      width: WIDTH,
      height: HEIGHT,
      data: { values: dau },
      mark: { type: 'line', point: { size: 70, filled: true }, strokeWidth: 3 },
      encoding: {
        x: { field: 'day', type: 'ordinal', sort: ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'], title: null, axis: { labelAngle: 0 } },
        y: { field: 'active', type: 'quantitative', title: 'installations' },
        // This week: blue, solid, circles; the week before: orange, dashed, squares.
        color: { field: 'week', type: 'nominal', title: null, scale: { domain: [thisWeek, weekBefore], range: [BLUE, ORANGE] } },
        shape: { field: 'week', type: 'nominal', title: null, scale: { domain: [thisWeek, weekBefore], range: ['circle', 'square'] } },
        strokeDash: { field: 'week', type: 'nominal', title: null, scale: { domain: [thisWeek, weekBefore], range: [[1, 0], [6, 4]] } },
      },
    }),
  });
  if (report.trend.length >= 2) {
    charts.push({
      filename: `${report.week.label}-wau-trend.png`,
      title: 'Weekly active installations, 12 weeks',
      alt: `Weekly active installations for the ${report.trend.length} weeks to ${report.week.label}`,
      png: await toPng({
        title: `Weekly active installations, ${report.trend.length} weeks${report.historyCovered ? '' : ' (data starts inside the window)'}`,
        width: WIDTH,
        height: HEIGHT,
        data: { values: report.trend.map((t) => ({ week: t.week, wau: t.wau })) },
        mark: { type: 'line', point: { size: 60, filled: true, color: BLUE }, strokeWidth: 3, color: BLUE },
        encoding: {
          x: { field: 'week', type: 'ordinal', title: 'week starting', axis: { labelAngle: -40 } },
          y: { field: 'wau', type: 'quantitative', title: 'installations', scale: { zero: true } },
        },
      }),
    });
  }
  const dl = report.downloads;
  const totalDl = dl?.totals.downloads ?? 0;
  // The chart shows what the CSV shows: small platforms folded into `other` (src/reports/privacy.ts).
  const platformRows = combinePlatforms(report.platforms, report.privacy.k, report.summary.wau.value).flatMap((p) => [
    ...(p.share === null ? [] : [{ os: p.os, measure: 'active installations', share: p.share }]),
    ...(dl ? [{ os: p.os, measure: 'installer downloads', share: totalDl ? (p.os === 'other' || p.os === 'unknown' ? 0 : (dl.byPlatform[p.os]?.downloads ?? 0) / totalDl) : 0 }] : []),
  ]);
  charts.push({
    filename: `${report.week.label}-platforms.png`,
    title: dl ? 'Platform share: active installations beside downloads' : 'Platform share of active installations',
    alt: `Share of active installations${dl ? ' and of installer downloads' : ''} per OS in ${report.week.label}`,
    png: await toPng({
      title: dl ? `Platform share, ${report.week.label}: active installations beside installer downloads` : `Platform share of active installations, ${report.week.label}`,
      width: WIDTH,
      height: HEIGHT,
      data: { values: platformRows },
      mark: { type: 'bar' },
      encoding: {
        x: { field: 'os', type: 'nominal', sort: ['macos', 'windows', 'linux', 'other', 'unknown'], title: null, axis: { labelAngle: 0 } },
        xOffset: { field: 'measure', type: 'nominal' },
        y: { field: 'share', type: 'quantitative', title: 'share', axis: { format: '%' } },
        color: { field: 'measure', type: 'nominal', title: null, scale: { range: [BLUE, ORANGE] } },
      },
    }),
  });
  return charts;
}

/** Weekly active installations across every week of the index page (oldest first). */
export async function wauHistoryChart(points: ReadonlyArray<{ week: string; wau: number }>): Promise<Chart> {
  return {
    filename: 'wau-history.png',
    title: `Weekly active installations, ${points.length} weeks`,
    alt: `Weekly active installations for ${points.length} weeks, ${points[0]?.week ?? ''} to ${points.at(-1)?.week ?? ''}`,
    png: await toPng({
      title: `Weekly active installations, ${points.length} weeks`,
      width: 900,
      height: HEIGHT,
      data: { values: points.map((p) => ({ week: p.week, wau: p.wau })) },
      mark: { type: 'line', point: { size: 50, filled: true, color: BLUE }, strokeWidth: 3, color: BLUE },
      encoding: {
        x: { field: 'week', type: 'ordinal', title: null, axis: { labelAngle: -40 } },
        y: { field: 'wau', type: 'quantitative', title: 'installations', scale: { zero: true } },
      },
    }),
  };
}
