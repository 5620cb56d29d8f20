/**
 * The digest people read (Slack, terminal preview): one model of sections, rendered two ways, so
 * the Slack message and the preview never disagree. Text that comes from event data (event and
 * protocol names, file paths) is only ever shown inside tables, which both renderers escape.
 */
import { DateTime } from 'luxon';
import type { Figure, PlatformRow, WeeklyReport } from '../reports/weekly-report.ts';
import { isSmall, privacyFootnote, smallLabel } from '../reports/privacy.ts';
import { figure } from '../reports/weekly-report.ts';
import { reportHighlights } from '../reports/growth-highlights.ts';
import { growthCaveats, growthDigestTables } from './growth.ts';
import { connectShareCaveats, connectShareDigestTables, connectShareFigure } from './connect-share.ts';
import { trackingPlanLine } from './tracking-plan.ts';
import { totalRejected } from '../reports/data-quality.ts';
import { REJECT_REASONS } from '../sources/posthog-export.ts';

export interface DigestTable {
  title: string;
  /** The CSV file with the same figures (the page links it and its test compares the two). */
  csv?: string;
  /** Shares 0..1 shown as a heat table on the page (the retention triangle). */
  heat?: boolean;
  header: string[];
  /** right-aligned columns (numbers) */
  numeric: boolean[];
  rows: string[][];
  /**
   * The number behind each cell (same shape as rows): what the CSV holds for it, unformatted;
   * null for text and for a suppressed cell. The report page sorts on these and its test compares
   * them with the CSVs.
   */
  values?: Array<Array<number | null>>;
  /** shown under the table, e.g. "and 12 more events: see features.csv" */
  note?: string;
}

export interface Digest {
  title: string;
  subtitle: string;
  figures: Array<{ label: string; value: string; change: string }>;
  /** Loud warnings shown first: the week looks incomplete. */
  warnings: string[];
  /** What changed, in words (src/reports/highlights.ts). */
  highlights: string[];
  tables: DigestTable[];
  /** context lines: timezone, source, data quality, caveats */
  context: string[];
}

const MAX_TABLE_ROWS = 15;

export interface DigestOptions {
  /** Rows per table before "and N more: see the CSV". Default 15 (Slack); the page shows all. */
  maxRows?: number;
}

export function formatInt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

export function formatPercent(x: number, digits = 1): string {
  return `${(x * 100).toFixed(digits)}%`;
}

export function formatChange(f: Figure): string {
  if (f.change === null) return f.value === 0 ? 'no change' : 'new';
  const pct = f.change * 100;
  if (Math.abs(pct) < 0.05) return '±0.0%';
  return `${pct > 0 ? '+' : '−'}${Math.abs(pct).toFixed(1)}%`;
}

function weekRange(report: WeeklyReport): string {
  const start = DateTime.fromISO(report.week.start, { setZone: true });
  const last = DateTime.fromISO(report.week.days[6]!, { zone: report.timezone });
  return `${start.toFormat('MMM d')} – ${last.toFormat('MMM d, yyyy')}`;
}

type Cells = { rows: string[][]; values: Array<Array<number | null>> };

function limited(cells: Cells, max: number, what: string, file: string): Cells & { note?: string } {
  if (cells.rows.length <= max) return cells;
  return {
    rows: cells.rows.slice(0, max),
    values: cells.values.slice(0, max),
    note: `and ${cells.rows.length - max} more ${what}: see ${file}`,
  };
}

/** One breakdown row as cells: a cell under the privacy threshold reads `<k` and carries no number. */
function usageCells(k: number, name: string, r: { users: number; share: number; events: number }, previousUsers: number) {
  const small = isSmall(r.users, k);
  const prevSmall = isSmall(previousUsers, k);
  return {
    row: [
      name,
      small ? smallLabel(k) : formatInt(r.users),
      small ? '–' : formatPercent(r.share),
      small ? '–' : formatInt(r.events),
      prevSmall ? smallLabel(k) : formatInt(previousUsers),
    ],
    values: [null, small ? null : r.users, small ? null : r.share, small ? null : r.events, prevSmall ? null : previousUsers],
  };
}

function cellsOf(items: Array<{ row: string[]; values: Array<number | null> }>): Cells {
  return { rows: items.map((i) => i.row), values: items.map((i) => i.values) };
}

export function weeklyDigest(report: WeeklyReport, options: DigestOptions = {}): Digest {
  const s = report.summary;
  const dq = report.dataQuality;
  const k = report.privacy.k;
  const max = options.maxRows ?? MAX_TABLE_ROWS;
  const features = limited(
    cellsOf(report.features.map((f) => usageCells(k, f.feature, f, f.previous.users))),
    max,
    'events',
    'features.csv',
  );
  const protocols = limited(
    cellsOf(report.protocols.map((p) => usageCells(k, p.protocol, p, p.previous.users))),
    max,
    'protocols',
    'protocols.csv',
  );
  const rejected = totalRejected(dq);
  const rejectedDetail = REJECT_REASONS.filter((r) => dq.rejected[r] > 0)
    .map((r) => `${formatInt(dq.rejected[r])} ${r.replace(/_/g, ' ')}`)
    .join(', ');
  const context = [
    `Timezone ${report.timezone} · weeks run Monday 00:00 to Monday 00:00 · source: ${report.source}`,
    dq.files.length
      ? `Data quality: ${formatInt(dq.events)} events from ${formatInt(dq.files.length)} files; ` +
        `${formatInt(rejected)} records rejected${rejected ? ` (${rejectedDetail})` : ''}; ` +
        `${formatInt(dq.duplicates)} duplicates removed` +
        (dq.ignoredFiles.length ? `; ${dq.ignoredFiles.length} non-event files skipped` : '')
      : `Data: ${dq.origin} (PostHog deduplicates and validates events at ingestion)`,
    `Coverage: ${coverage(report)}; ` +
      `${formatInt(report.completeness.lateEvents)} events arrived more than 24 hours late.`,
    'Counts installations that opted in to usage data; an installation is one app install per OS user, not a person.',
    ...(report.horizonWeeks !== undefined ? [horizonFootnote(report.horizonWeeks)] : []),
    privacyFootnote(k),
  ];
  // Only between fully covered weeks (src/reports/coverage.ts): otherwise "–", and a line says why.
  const change = (f: Figure) => (report.comparison.comparable ? formatChange(f) : NO_CHANGE);
  // A week that has not ended (--allow-incomplete): every figure of it says so.
  const p = (text: string) => (report.partial ? `${text} ${PARTIAL}` : text);
  const partialTitle = (t: DigestTable): DigestTable => (report.partial ? { ...t, title: `${t.title} ${PARTIAL_WEEK}` } : t);
  // Days of a partial week still to come have no events by nature: the partial warning says so.
  const suspect = report.completeness.suspectDays.filter((d) => dayState(report, d.date) !== 'future');
  const warnings = [
    ...(report.partial
      ? [`Partial week: ${report.week.label} has not ended; every figure of it counts events up to ${at(report, report.generatedAt)} (${report.timezone}), and is marked "partial".`]
      : []),
    ...(report.comparison.comparable ? [] : [`No week-over-week change is claimed (${NO_CHANGE}): ${report.comparison.reason}.`]),
  ];
  // One line about the tracking plan when anything breaks it: first, as a warning, when a value may
  // not be anonymized; otherwise among the highlights.
  const plan = trackingPlanLine(report.trackingPlan);
  return {
    title: `Teleport Connect usage · ${report.week.label}${report.partial ? ` ${PARTIAL}` : ''}`,
    subtitle: `${weekRange(report)}${report.partial ? `, partial: up to ${at(report, report.generatedAt)}` : ''}, compared with the week before`,
    figures: [
      { label: 'Weekly active installations', value: p(formatInt(s.wau.value)), change: change(s.wau) },
      { label: 'Average daily active', value: p(s.avg_dau.value.toFixed(1)), change: change(s.avg_dau) },
      { label: 'Peak daily active', value: p(formatInt(s.peak_dau.value)), change: change(s.peak_dau) },
      { label: 'Stickiness (avg DAU / WAU)', value: p(formatPercent(s.stickiness.value)), change: change(s.stickiness) },
      { label: 'Events', value: p(formatInt(s.events.value)), change: change(s.events) },
      ...(report.downloads
        ? [
            {
              label: 'Installer downloads',
              value: p(formatInt(report.downloads.totals.downloads)),
              change: formatChange(figure(report.downloads.totals.downloads, report.downloads.totals.previousDownloads)),
            },
            {
              label: 'In-app updates',
              value: p(formatInt(report.downloads.totals.updates)),
              change: formatChange(figure(report.downloads.totals.updates, report.downloads.totals.previousUpdates)),
            },
          ]
        : []),
      ...connectShareFigure(report, change),
    ],
    warnings: [
      ...(plan?.privacy ? [plan.text] : []),
      ...warnings,
      ...(suspect.length
      ? [
          `The week looks incomplete: ${suspect
            .map((d) => `${DateTime.fromISO(d.date).toFormat('ccc MMM d')} had ${d.events === 0 ? 'no events' : `${formatInt(d.events)} events against a median of ${formatInt(d.trailingMedian ?? 0)} on the same weekday of the weeks before`}`)
            .join('; ')}. Ingestion may be broken or late: check before reading the figures.`,
        ]
      : []),
    ],
    highlights: [...reportHighlights(report).map((h) => h.text), ...(plan && !plan.privacy ? [plan.text] : [])],
    tables: [
      {
        title: 'Daily active installations',
        csv: 'dau.csv',
        header: ['day', 'active', 'week before'],
        numeric: [false, true, true],
        rows: report.dau.map((d, i) => [
          DateTime.fromISO(d.date).toFormat('ccc MMM d'),
          dayState(report, d.date) === 'future' ? NO_CHANGE : dayState(report, d.date) === 'today' ? `${formatInt(d.active_users)} ${PARTIAL}` : formatInt(d.active_users),
          formatInt(report.previousDau[i]?.active_users ?? 0),
        ]),
        values: report.dau.map((d, i) => [null, dayState(report, d.date) === 'future' ? null : d.active_users, report.previousDau[i]?.active_users ?? 0]),
      },
      {
        title: 'Features',
        csv: 'features.csv',
        header: ['feature', 'users', 'adoption', 'events', 'users before'],
        numeric: [false, true, true, true, true],
        ...features,
      },
      {
        title: 'Protocols',
        csv: 'protocols.csv',
        header: ['protocol', 'users', 'share', 'events', 'users before'],
        numeric: [false, true, true, true, true],
        ...protocols,
      },
      platformsTable(report),
      ...growthDigestTables(report, max),
      ...connectShareDigestTables(report),
    ].map(partialTitle),
    context: [...(report.downloads ? [...context, ...downloadCaveats(report)] : context), ...growthCaveats(report), ...connectShareCaveats(report)],
  };
}

/** How the digest marks what cannot be compared, and a figure of a week that has not ended. */
export const NO_CHANGE = '–';
export const PARTIAL = '(partial)';
const PARTIAL_WEEK = '(partial week)';

function at(report: WeeklyReport, iso: string): string {
  return DateTime.fromISO(iso, { zone: 'utc' }).setZone(report.timezone).toFormat('ccc MMM d HH:mm');
}

/** A day of a partial week: over, in progress when the report was made, or still to come. */
export function dayState(report: WeeklyReport, date: string): 'past' | 'today' | 'future' {
  if (!report.partial) return 'past';
  const today = DateTime.fromISO(report.generatedAt, { zone: 'utc' }).setZone(report.timezone).toISODate()!;
  return date < today ? 'past' : date === today ? 'today' : 'future';
}

/** The week's first and last event time, in the report's timezone. */
function coverage(report: WeeklyReport): string {
  const { firstEvent, lastEvent } = report.completeness;
  if (!firstEvent) return 'no connect.* event in the week';
  const at = (iso: string) => DateTime.fromISO(iso, { zone: 'utc' }).setZone(report.timezone).toFormat('ccc MMM d HH:mm:ss');
  return `first event ${at(firstEvent)}, last event ${at(lastEvent)} (${report.timezone})`;
}

function platformsTable(report: WeeklyReport): DigestTable {
  const dl = report.downloads;
  const k = report.privacy.k;
  // `other` too: where people read it, a catch-all of 3 installations singles them out as well.
  const small = (_os: string, users: number) => isSmall(users, k);
  const users = (p: PlatformRow) => (small(p.os, p.users) ? smallLabel(k) : formatInt(p.users));
  const share = (p: PlatformRow) => (small(p.os, p.users) ? '–' : formatPercent(p.share));
  const num = (p: PlatformRow, x: number) => (small(p.os, p.users) ? null : x);
  if (!dl) {
    return {
      title: 'Platforms (OS of the latest event that names one)',
      csv: 'platforms.csv',
      header: ['os', 'users', 'share', 'users before'],
      numeric: [false, true, true, true],
      rows: report.platforms.map((p) => [p.os, users(p), share(p), small(p.os, p.previous.users) ? smallLabel(k) : formatInt(p.previous.users)]),
      values: report.platforms.map((p) => [null, num(p, p.users), num(p, p.share), small(p.os, p.previous.users) ? null : p.previous.users]),
    };
  }
  const total = dl.totals.downloads;
  const downloads = (p: PlatformRow) => (p.os === 'other' || p.os === 'unknown' ? 0 : (dl.byPlatform[p.os]?.downloads ?? 0));
  return {
    title: 'Platforms: active installations beside installer downloads (different populations, see below)',
    csv: 'platforms.csv',
    header: ['os', 'active', 'share', 'downloads', 'dl share'],
    numeric: [false, true, true, true, true],
    rows: report.platforms.map((p) => [p.os, users(p), share(p), formatInt(downloads(p)), formatPercent(total ? downloads(p) / total : 0)]),
    values: report.platforms.map((p) => [null, num(p, p.users), num(p, p.share), downloads(p), total ? downloads(p) / total : 0]),
  };
}

function downloadCaveats(report: WeeklyReport): string[] {
  const dl = report.downloads!;
  const unparsable = dl.files.reduce((s, f) => s + f.unparsable, 0);
  const notCountable = dl.files.filter((f) => f.error?.startsWith('not countable'));
  const failed = dl.files.filter((f) => f.error).length - notCountable.length;
  // Files that can never produce a download are named with why (the missing field), not folded into a zero.
  const uncounted = notCountable.length
    ? `, ${notCountable.length} not countable (${[...new Set(notCountable.map((f) => f.error!.replace(/^not countable: /, '')))].slice(0, 3).join('; ')}: see log_files.csv)`
    : '';
  return [
    `Downloads: ${formatInt(dl.totals.downloads)} installer downloads (${formatChange(figure(dl.totals.downloads, dl.totals.previousDownloads))}) and ` +
      `${formatInt(dl.totals.updates)} in-app updates from ${dl.origin}; ${formatInt(dl.files.length)} log files, ` +
      `${formatInt(unparsable)} unparsable lines${failed ? `, ${failed} unreadable files skipped` : ''}${uncounted}.`,
    'Linux is undercounted: Debian-family installs through the APT repository do not appear in these logs. ' +
      'CDN logs are best effort and can be up to 24 hours late. Downloads are not installations: do not read the two as a conversion rate.',
  ];
}

/** A table as aligned monospace lines. */
export function alignTable(table: DigestTable, clean: (s: string) => string = (s) => s): string[] {
  const cells = [table.header, ...table.rows].map((r) => r.map(clean));
  const widths = table.header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells.map((r) => r.map((c, i) => (table.numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd());
}

/**
 * What "new" and the latest OS / version mean when the source looks back a bounded number of weeks
 * (docs/metrics.md, "First seen"): an installation is only known from the horizon on.
 */
export function horizonFootnote(weeks: number): string {
  return (
    `History: PostHog is read back ${weeks} weeks from the report week's end (history.horizonWeeks). An installation with no ` +
    'event in those weeks counts as new when it returns; its OS and version are those of its latest event in them that carries one, else unknown.'
  );
}
