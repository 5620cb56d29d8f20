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
import { dayState } from './digest.ts';
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
  // The first *visible* character decides: a spreadsheet skips leading spaces and control characters
  // (" =1+1", "\u0000@SUM(...)") before it evaluates a formula.
  return FORMULA_START.test(text) || /^[\t\r]/.test(text) ? `'${text}` : text;
}

const FORMULA_START = /^[\s\p{Cc}\p{Cf}\p{Z}]*[=+\-@]/u;

export function formatCell(cell: Cell): string {
  if (cell === null) return '';
  return typeof cell === 'number' ? formatNumber(cell) : escapeFormula(cell);
}

export function toCsv(table: Table): string {
  // csv-stringify quotes a field holding LF, but not one holding a lone CR, which many readers take
  // as a row end: every field holding CR or LF is quoted.
  return stringify([table.header, ...table.rows.map((r) => r.map(formatCell))], { record_delimiter: '\n', quoted_match: /[\r\n]/ });
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
      // A day of a partial week that had not begun is not a day with 0 active installations: empty.
      rows: report.dau.map((d) => [d.date, dayState(report, d.date) === 'future' ? null : d.active_users]),
    },
    'features.csv': {
      header: ['feature', 'events', 'users', 'adoption'],
      rows: combineFeatures(report.features, k, wau).map((f) => (f.suppressed ? [f.feature, null, null, null] : [f.feature, f.events, f.users, f.share])),
    },
    'protocols.csv': {
      header: ['protocol', 'events', 'users', 'share'],
      rows: combineProtocols(report.protocols, k, wau).map((p) => (p.suppressed ? [p.protocol, null, null, null] : [p.protocol, p.events, p.users, p.share])),
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
