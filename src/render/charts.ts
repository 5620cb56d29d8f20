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
import { versionOrder } from '../reports/growth.ts';
import { dayState } from './digest.ts';

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

/**
 * Text in SVG is XML: a control character (a NUL in a version sent by one installation) makes the
 * whole SVG unparsable, and one odd event would stop the report. Such characters (C0 and C1
 * controls, lone surrogates, the two non-characters XML forbids) are drawn as `?`, as the terminal
 * preview shows them.
 */
export function chartText(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '?');
}

async function toPng(spec: Record<string, unknown>): Promise<Buffer> {
  // vega is ESM with top-level await: import it, never require it.
  const vega = await import('vega');
  const vegaLite = await import('vega-lite');
  const { Resvg } = await import('@resvg/resvg-js');
  // Every string of the spec (data values from events included) made safe for SVG text.
  const safe = JSON.parse(JSON.stringify(spec, (_key, value: unknown) => (typeof value === 'string' ? chartText(value) : value))) as Record<string, unknown>;
  const compiled = vegaLite.compile({ ...safe, config: CONFIG } as never).spec;
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
  const thisWeek = `${report.week.label} (this week${report.partial ? ', partial' : ''})`;
  const partial = report.partial ? ' (partial week)' : '';
  const weekBefore = `${report.previousWeek.label} (week before)`;
  const dau = [
    // A day of a partial week still to come is not a day with 0 installations: not drawn.
    ...report.dau.filter((d) => dayState(report, d.date) !== 'future').map((d) => ({ day: weekday(d.date), active: d.active_users, week: thisWeek })),
    ...report.previousDau.map((d) => ({ day: weekday(d.date), active: d.active_users, week: weekBefore })),
  ];
  charts.push({
    filename: `${report.week.label}-dau.png`,
    title: 'Daily active installations',
    alt: `Daily active installations per day of ${report.week.label} beside the week before`,
    png: await toPng({
      title: `Daily active installations, ${report.week.label}${partial} vs the week before`,
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
  // A partly covered week is not a point of a trend (src/reports/coverage.ts): it is left out.
  const trend = report.trend.filter((t) => t.covered);
  const left = report.trend.length - trend.length;
  if (trend.length >= 2) {
    charts.push({
      filename: `${report.week.label}-wau-trend.png`,
      title: 'Weekly active installations, 12 weeks',
      alt:
        `Weekly active installations for the ${trend.length} fully covered weeks to ${report.week.label}` +
        (left ? `; ${left} week${left === 1 ? '' : 's'} not fully covered by the data left out` : ''),
      png: await toPng({
        title: `Weekly active installations, ${trend.length} weeks${report.historyCovered ? '' : ' (data starts inside the window)'}${left ? ` (${left} not fully covered left out)` : ''}`,
        width: WIDTH,
        height: HEIGHT,
        data: { values: trend.map((t) => ({ week: t.week, wau: t.wau })) },
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
      title: dl ? `Platform share, ${report.week.label}${partial}: active installations beside installer downloads` : `Platform share of active installations, ${report.week.label}${partial}`,
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
  charts.push(...(await growthCharts(report)));
  charts.push(...(await connectShareCharts(report)));
  return charts;
}

/**
 * Connect's share of cluster logins over the 12 weeks: a week with no cluster login has no share and
 * no point (a gap, not a 0). None when the data holds no cluster login at all (the digest says why).
 */
export async function connectShareCharts(report: WeeklyReport): Promise<Chart[]> {
  const c = report.connectShare;
  if (!c || !c.clusterLoginsSeen) return [];
  const label = (w: string) => DateTime.fromISO(w).toFormat('MMM d');
  const weekLabels = c.weeks.map((w) => label(w.week));
  // Null shares stay in the data: the line breaks there ('break-paths' below) instead of joining across the week.
  const points = c.weeks.map((w) => ({ week: label(w.week), share: w.share, cluster: w.clusterUsers }));
  return [
    {
      filename: `${report.week.label}-connect-share.png`,
      title: "Connect's share of cluster logins, 12 weeks",
      alt: `Share of the users who logged in to a cluster that also logged in with Connect, per week for the 12 weeks to ${report.week.label} (a lower bound)`,
      png: await toPng({
        title: "Connect's share of cluster logins (a lower bound)",
        width: WIDTH,
        height: HEIGHT,
        data: { values: points },
        mark: { type: 'line', point: { size: 60, filled: true, color: GREEN }, strokeWidth: 3, color: GREEN, invalid: 'break-paths-show-domains' },
        encoding: {
          x: { field: 'week', type: 'ordinal', sort: weekLabels, scale: { domain: weekLabels }, title: 'week starting', axis: { labelAngle: -40 } },
          y: { field: 'share', type: 'quantitative', title: 'share of cluster users', axis: { format: '%' }, scale: { domain: [0, 1] } },
          tooltip: [{ field: 'cluster', type: 'quantitative', title: 'cluster users' }],
        },
      }),
    },
  ];
}

// Okabe-Ito, beside BLUE and ORANGE above.
const GREEN = '#009E73';
const VERMILLION = '#D55E00';
const SKY = '#56B4E9';
const PURPLE = '#CC79A7';
const GREY = '#999999';

/**
 * Growth charts: lifecycle bars (dormant below zero), the retention triangle as a heat table, and
 * the adoption curve of the releases first seen in the 12 weeks (or, with none, the weekly share of
 * the newest versions). None without a growth section.
 */
export async function growthCharts(report: WeeklyReport): Promise<Chart[]> {
  const g = report.growth;
  if (!g) return [];
  const charts: Chart[] = [];
  const label = (w: string) => DateTime.fromISO(w).toFormat('MMM d');
  const weekLabels = g.weeks.map(label);

  const states = ['returning', 'resurrecting', 'new', 'dormant', 'active, not told apart'] as const;
  const lifecycle = g.lifecycle.flatMap((r): Array<{ week: string; state: string; n: number; order: number }> => {
    const week = label(r.week);
    if (r.coverage === 'first-covered') return [{ week, state: states[4], n: r.active, order: 4 }];
    if (r.coverage === 'no-data') return [];
    return [
      { week, state: states[0], n: r.returning ?? 0, order: 0 },
      { week, state: states[1], n: r.resurrecting ?? 0, order: 1 },
      { week, state: states[2], n: r.new ?? 0, order: 2 },
      { week, state: states[3], n: -(r.dormant ?? 0), order: 3 },
    ];
  });
  const startNote = (g.firstCoveredWeek ? ` (data starts ${label(g.firstCoveredWeek)})` : '') + (report.partial ? ' (last week partial)' : '');
  charts.push({
    filename: `${report.week.label}-lifecycle.png`,
    title: 'Growth accounting, 12 weeks',
    alt:
      `Installations per week for the 12 weeks to ${report.week.label}: returning, resurrecting and new stacked above zero, dormant below zero` +
      (g.firstCoveredWeek ? `; the week of ${g.firstCoveredWeek} is the first the data covers, shown as one grey bar` : ''),
    png: await toPng({
      title: `Growth accounting${startNote}`,
      width: WIDTH,
      height: HEIGHT,
      data: { values: lifecycle },
      mark: { type: 'bar' },
      encoding: {
        x: { field: 'week', type: 'ordinal', sort: weekLabels, scale: { domain: weekLabels }, title: 'week starting', axis: { labelAngle: -40 } },
        y: { field: 'n', type: 'quantitative', title: 'installations (dormant below zero)', stack: 'zero' },
        color: { field: 'state', type: 'nominal', title: null, scale: { domain: [...states], range: [BLUE, ORANGE, GREEN, VERMILLION, GREY] } },
        order: { field: 'order', type: 'quantitative' },
      },
    }),
  });

  const w = Array.from({ length: g.retention[0]?.shares.length ?? 8 }, (_, i) => `w${i + 1}`);
  const cells = g.retention.flatMap((r) =>
    r.shares.map((s, i) => ({ cohort: `${label(r.cohort)} (${r.size ?? '–'})`, after: w[i]!, share: s, text: s === null ? '' : `${Math.round(s * 100)}%` })),
  );
  const cohorts = g.retention.map((r) => `${label(r.cohort)} (${r.size ?? '–'})`);
  charts.push({
    filename: `${report.week.label}-retention.png`,
    title: 'Retention of weekly cohorts',
    alt: `Share of the installations first seen in each of the 12 weeks to ${report.week.label} that were active 1 to 8 weeks later, as a heat table`,
    png: await toPng({
      title: `Retention of each week's new installations${startNote}`,
      width: WIDTH,
      height: HEIGHT + 60,
      data: { values: cells.filter((c) => c.share !== null) },
      encoding: {
        x: { field: 'after', type: 'ordinal', sort: w, scale: { domain: w }, title: 'weeks after the cohort\'s week', axis: { labelAngle: 0, orient: 'top', grid: false } },
        y: { field: 'cohort', type: 'ordinal', sort: cohorts, scale: { domain: cohorts }, title: 'cohort (size)', axis: { grid: false } },
      },
      layer: [
        { mark: { type: 'rect' }, encoding: { color: { field: 'share', type: 'quantitative', title: 'share', scale: { scheme: 'blues', domain: [0, 1] }, legend: { format: '%' } } } },
        {
          mark: { type: 'text', fontSize: 12 },
          encoding: {
            text: { field: 'text', type: 'nominal' },
            color: { condition: { test: 'datum.share > 0.6', value: 'white' }, value: '#111' },
          },
        },
      ],
    }),
  });

  const palette = [BLUE, ORANGE, GREEN, VERMILLION, PURPLE, SKY];
  const dashes = [[1, 0], [6, 3], [2, 2], [8, 3, 2, 3], [1, 0], [6, 3]];
  if (g.releases.length) {
    const shown = g.releases.slice(-palette.length).map((r) => r.version);
    const points = g.adoption.filter((p) => shown.includes(p.version));
    charts.push({
      filename: `${report.week.label}-adoption.png`,
      title: 'Release adoption',
      alt: `Share of active installations that had run each release first seen in the 12 weeks to ${report.week.label}, per day, with the 50% line`,
      png: await toPng({
        title: 'Release adoption, with the 50% line',
        width: WIDTH,
        height: HEIGHT,
        layer: [
          {
            data: { values: points },
            mark: { type: 'line', strokeWidth: 3 },
            encoding: {
              // Days are calendar dates: read and shown in UTC, so the process's timezone cannot shift them.
              x: { field: 'date', type: 'temporal', title: null, scale: { type: 'utc' }, axis: { format: '%b %d', labelAngle: -40 } },
              // "Had run it" is cumulative while the week's active installations are not: it can pass 100%.
              y: { field: 'share', type: 'quantitative', title: 'share of active installations', axis: { format: '%' }, scale: { domain: [0, Math.max(1, ...points.map((p) => p.share))] } },
              color: { field: 'version', type: 'nominal', title: 'release', scale: { domain: shown, range: palette.slice(0, shown.length) } },
              strokeDash: { field: 'version', type: 'nominal', title: 'release', scale: { domain: shown, range: dashes.slice(0, shown.length) } },
            },
          },
          { data: { values: [{ y: 0.5 }] }, mark: { type: 'rule', color: '#555', strokeDash: [4, 4] }, encoding: { y: { field: 'y', type: 'quantitative' } } },
        ],
      }),
    });
  } else {
    const newest = [...new Set(g.versionTrend.flatMap((t) => t.versions.map((v) => v.version)))]
      .filter((v) => v !== 'unknown')
      .sort(versionOrder)
      .slice(-palette.length);
    const points = g.versionTrend.flatMap((t) => newest.map((version) => ({ week: label(t.week), version, share: t.versions.find((v) => v.version === version)?.share ?? 0 })));
    charts.push({
      filename: `${report.week.label}-adoption.png`,
      title: 'Version adoption',
      alt: `Weekly share of active installations on each of the ${newest.length} newest versions, 12 weeks to ${report.week.label}; no release was first seen in that time`,
      png: await toPng({
        title: 'Versions of active installations (no new release)',
        width: WIDTH,
        height: HEIGHT,
        data: { values: points },
        mark: { type: 'line', strokeWidth: 3, point: { size: 40, filled: true } },
        encoding: {
          x: { field: 'week', type: 'ordinal', sort: weekLabels, title: 'week starting', axis: { labelAngle: -40 } },
          y: { field: 'share', type: 'quantitative', title: 'share of active installations', axis: { format: '%' }, scale: { zero: true } },
          color: { field: 'version', type: 'nominal', title: 'version', scale: { domain: newest, range: palette.slice(0, newest.length) } },
          strokeDash: { field: 'version', type: 'nominal', title: 'version', scale: { domain: newest, range: dashes.slice(0, newest.length) } },
        },
      }),
    });
  }
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
