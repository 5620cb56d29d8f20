/**
 * The CSV files of a report. Names, headers and row order are a contract other tools read:
 * see docs/metrics.md. Integers are written plainly, other numbers rounded to 4 decimals.
 */
import { stringify } from 'csv-stringify/sync';
import type { WeeklyReport } from '../reports/weekly-report.ts';
import { figure, SUMMARY_METRICS } from '../reports/weekly-report.ts';
import { REJECT_REASONS } from '../sources/posthog-export.ts';
import { combineFeatures, combinePlatforms, combineProtocols } from '../reports/privacy.ts';
import { growthCsvTables } from './growth.ts';
import { connectShareCsvTables } from './connect-share.ts';
import { trackingPlanCsvTables } from './tracking-plan.ts';

export type Cell = string | number | null;

export interface Table {
  header: string[];
  rows: Cell[][];
}

export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return '';
  if (Number.isInteger(value)) return String(value);
  const rounded = Number(value.toFixed(4));
  return String(Object.is(rounded, -0) ? 0 : rounded);
}

/**
 * Text from event data can start with a character that makes a spreadsheet evaluate it
 * (`=HYPERLINK(...)`, `+cmd|...`); a leading apostrophe keeps it text (OWASP's advice).
 * Numbers we computed are not text and are written as they are.
 */
export function escapeFormula(text: string): string {
  return /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
}

export function formatCell(cell: Cell): string {
  if (cell === null) return '';
  return typeof cell === 'number' ? formatNumber(cell) : escapeFormula(cell);
}

export function toCsv(table: Table): string {
  return stringify([table.header, ...table.rows.map((r) => r.map(formatCell))], { record_delimiter: '\n' });
}

/** Every CSV file of the weekly report, by file name. */
export function weeklyCsvTables(report: WeeklyReport): Record<string, Table> {
  const dl = report.downloads;
  const summaryRows: Cell[][] = SUMMARY_METRICS.map((m) => {
    const f = report.summary[m];
    return [m, f.value, f.previous, f.change];
  });
  if (dl) {
    const d = figure(dl.totals.downloads, dl.totals.previousDownloads);
    const u = figure(dl.totals.updates, dl.totals.previousUpdates);
    summaryRows.push(['downloads', d.value, d.previous, d.change], ['updates', u.value, u.previous, u.change]);
  }
  const totalDownloads = dl ? dl.totals.downloads : 0;
  // Cells under k installations are folded into `other` (src/reports/privacy.ts).
  const k = report.privacy.k;
  const wau = report.summary.wau.value;
  const platforms = combinePlatforms(report.platforms, k, wau);
  const tables: Record<string, Table> = {
    'summary.csv': {
      header: ['metric', 'value', 'previous', 'change'],
      rows: summaryRows,
    },
    'dau.csv': {
      header: ['date', 'active_users'],
      rows: report.dau.map((d) => [d.date, d.active_users]),
    },
    'features.csv': {
      header: ['feature', 'events', 'users', 'adoption'],
      rows: combineFeatures(report.features, k, wau).map((f) => [f.feature, f.events, f.users, f.share]),
    },
    'protocols.csv': {
      header: ['protocol', 'events', 'users', 'share'],
      rows: combineProtocols(report.protocols, k, wau).map((p) => [p.protocol, p.events, p.users, p.share]),
    },
    'platforms.csv': dl
      ? {
          // Downloads beside active installations; other and unknown have no installer of their own.
          header: ['os', 'users', 'share', 'downloads', 'download_share'],
          rows: platforms.map((p) => {
            const downloads = p.os === 'other' || p.os === 'unknown' ? 0 : (dl.byPlatform[p.os]?.downloads ?? 0);
            return [p.os, p.users, p.share, downloads, totalDownloads === 0 ? 0 : downloads / totalDownloads];
          }),
        }
      : {
          header: ['os', 'users', 'share'],
          rows: platforms.map((p) => [p.os, p.users, p.share]),
        },
    'data_quality.csv': {
      header: ['file', 'format', 'records', 'accepted', ...REJECT_REASONS],
      rows: report.dataQuality.files.map((f) => [f.path, f.format, f.records, f.accepted, ...REJECT_REASONS.map((r) => f.rejected[r])]),
    },
  };
  if (dl) {
    tables['downloads.csv'] = {
      header: ['date', 'platform', 'version', 'downloads', 'updates'],
      rows: dl.daily.map((r) => [r.date, r.platform, r.version, r.downloads, r.updates]),
    };
    tables['log_files.csv'] = {
      header: ['file', 'format', 'lines', 'unparsable', 'error'],
      rows: dl.files.map((f) => [f.path, f.format, f.lines, f.unparsable, f.error ?? '']),
    };
  }
  Object.assign(tables, growthCsvTables(report), connectShareCsvTables(report), trackingPlanCsvTables(report));
  return tables;
}
