/**
 * The growth section as CSV tables and digest tables (docs/metrics.md, "Growth"). Unknown cells
 * (a week the data does not cover, a retention week still to come) are empty in the CSV files and
 * "–" in the digest, never 0.
 */
import { DateTime } from 'luxon';
import type { WeeklyReport } from '../reports/weekly-report.ts';
import type { GrowthSection } from '../reports/growth.ts';
import { RETENTION_WEEKS } from '../reports/growth.ts';
import type { Table } from './csv.ts';
import type { DigestTable } from './digest.ts';
import { combineNewInstallations, combineVersions, isSmall, smallLabel, suppressReleases } from '../reports/privacy.ts';

const W = Array.from({ length: RETENTION_WEEKS }, (_, i) => `w${i + 1}`);
const MAX_ROWS = 15;

export function growthCsvTables(report: WeeklyReport): Record<string, Table> {
  const g = report.growth;
  if (!g) return {};
  const k = report.privacy.k;
  return {
    'lifecycle.csv': {
      header: ['week', 'new', 'returning', 'resurrecting', 'dormant', 'quick_ratio'],
      // Dormant is written as a negative, as the issue shows it (and PostHog's lifecycle returns it); the
      // quick ratio divides by its size.
      rows: g.lifecycle.map((r) => [r.week, r.new, r.returning, r.resurrecting, r.dormant === null ? null : -r.dormant, r.quickRatio]),
    },
    'retention.csv': {
      header: ['cohort', 'size', ...W],
      rows: g.retention.map((r) => [r.cohort, r.size, ...r.shares]),
    },
    // Small cells folded into other / left empty (src/reports/privacy.ts).
    'versions.csv': {
      header: ['version', 'users', 'share'],
      rows: combineVersions(g.versions, k).map((v) => (v.suppressed ? [v.version, null, null] : [v.version, v.users, v.share])),
    },
    'releases.csv': {
      header: ['version', 'first_seen', 'reached_half', 'days_to_half', 'installations', 'share', 'updates'],
      rows: suppressReleases(g.releases, k).map((r) => [r.version, r.firstSeen, r.reachedHalf, r.daysToHalf, r.installations, r.share, r.updates]),
    },
    'new_installations.csv': {
      header: ['week', 'os', 'new_installations', 'downloads'],
      rows: combineNewInstallations(g.downloadsVsNew, k).map((r) => [r.week, r.os, r.newInstallations, r.downloads]),
    },
  };
}

const dash = '–';
const int = (n: number | null) => (n === null ? dash : Math.round(n).toLocaleString('en-US'));
const pct = (x: number | null, digits = 0) => (x === null ? dash : `${(x * 100).toFixed(digits)}%`);
const short = (day: string) => DateTime.fromISO(day).toFormat('MMM d');

export function growthDigestTables(report: WeeklyReport, maxRows = MAX_ROWS): DigestTable[] {
  const g = report.growth;
  if (!g) return [];
  const firstCovered = g.firstCoveredWeek;
  const coverageNote = firstCovered
    ? `– : the data starts in the week of ${short(firstCovered)}; new, returning and resurrecting cannot be told there.`
    : undefined;
  const tables: DigestTable[] = [
    {
      title: 'Growth: installations per week (dormant = active the week before, not this week)',
      csv: 'lifecycle.csv',
      header: ['week of', 'new', 'returning', 'resurrecting', 'dormant', 'quick ratio'],
      numeric: [false, true, true, true, true, true],
      values: g.lifecycle.map((r) => [null, r.new, r.returning, r.resurrecting, r.dormant === null ? null : -r.dormant, r.quickRatio]),
      rows: g.lifecycle.map((r) => [
        short(r.week),
        int(r.new),
        int(r.returning),
        int(r.resurrecting),
        r.dormant === null ? dash : r.dormant === 0 ? '0' : `−${int(r.dormant)}`,
        r.quickRatio === null ? dash : r.quickRatio.toFixed(2),
      ]),
      note: [coverageNote, 'quick ratio = (new + resurrecting) / dormant; – when nobody went dormant.'].filter(Boolean).join(' '),
    },
    {
      title: 'Retention: share of each week\'s new installations active 1-8 weeks later',
      csv: 'retention.csv',
      heat: true,
      header: ['cohort', 'size', ...W],
      numeric: [false, true, ...W.map(() => true)],
      values: g.retention.map((r) => [null, r.size, ...r.shares]),
      rows: g.retention.map((r) => [short(r.cohort), int(r.size), ...r.shares.map((s) => pct(s))]),
      ...(coverageNote ? { note: coverageNote } : {}),
    },
  ];
  const prevVersions = new Map((g.versionTrend.at(-2)?.versions ?? []).map((v) => [v.version, v.users]));
  // Newest first in the digest, so a cut keeps the recent releases (unknown stays last); versions.csv has them all.
  const newestFirst = [...g.versions.filter((v) => v.version !== 'unknown').reverse(), ...g.versions.filter((v) => v.version === 'unknown')];
  // Small cells read <k (src/reports/privacy.ts); versions.csv folds them into other.
  const k = report.privacy.k;
  const small = (n: number | null) => n !== null && isSmall(n, k);
  const versionRows = newestFirst.map((v) => {
    const before = prevVersions.get(v.version) ?? 0;
    return [v.version, small(v.users) ? smallLabel(k) : int(v.users), small(v.users) ? dash : pct(v.share, 1), small(before) ? smallLabel(k) : int(before)];
  });
  const versionValues = newestFirst.map((v) => {
    const before = prevVersions.get(v.version) ?? 0;
    return [null, small(v.users) ? null : v.users, small(v.users) ? null : v.share, small(before) ? null : before];
  });
  tables.push({
    title: 'Versions of active installations (latest version each one reported)',
    csv: 'versions.csv',
    header: ['version', 'users', 'share', 'users before'],
    numeric: [false, true, true, true],
    rows: versionRows.slice(0, maxRows),
    values: versionValues.slice(0, maxRows),
    ...(versionRows.length > maxRows ? { note: `and ${versionRows.length - maxRows} older versions: see versions.csv` } : {}),
  });
  tables.push({
    title: 'Releases first seen in the last 12 weeks: days until half of the active installations had run them',
    csv: 'releases.csv',
    header: ['version', 'first seen', 'days to 50%', 'installations', 'share now', 'updates'],
    numeric: [false, false, true, true, true, true],
    rows: g.releases.map((r) => [
      r.version,
      short(r.firstSeen),
      r.daysToHalf === null ? 'not yet' : String(r.daysToHalf),
      small(r.installations) ? smallLabel(k) : int(r.installations),
      small(r.installations) ? dash : pct(r.share),
      int(r.updates),
    ]),
    values: g.releases.map((r) => [null, null, r.daysToHalf, small(r.installations) ? null : r.installations, small(r.installations) ? null : r.share, r.updates]),
    note: g.releases.length
      ? g.cdnCounted
        ? 'updates: in-app update fetches of the version from the CDN logs this week.'
        : 'updates: no CDN logs given (--downloads), so in-app update fetches are not counted.'
      : 'No version was first seen in the last 12 weeks.',
  });
  const thisWeek = g.downloadsVsNew.filter((r) => r.week === g.weeks.at(-1));
  const before = new Map(g.downloadsVsNew.filter((r) => r.week === g.weeks.at(-2)).map((r) => [r.os, r]));
  tables.push({
    title: 'New installations beside installer downloads (different populations: not a conversion rate)',
    csv: 'new_installations.csv',
    header: ['os', 'new', 'downloads', 'new before', 'dl before'],
    numeric: [false, true, true, true, true],
    rows: thisWeek.map((r) => {
      const prevNew = before.get(r.os)?.newInstallations ?? null;
      const hide = (n: number | null) => small(n);
      return [r.os, hide(r.newInstallations) ? smallLabel(k) : int(r.newInstallations), int(r.downloads), hide(prevNew) ? smallLabel(k) : int(prevNew), int(before.get(r.os)?.downloads ?? null)];
    }),
    values: thisWeek.map((r) => {
      const prevNew = before.get(r.os)?.newInstallations ?? null;
      const hide = (n: number | null) => small(n);
      return [null, hide(r.newInstallations) ? null : r.newInstallations, r.downloads, hide(prevNew) ? null : prevNew, before.get(r.os)?.downloads ?? null];
    }),
    note: g.cdnCounted
      ? 'Downloads count CDN fetches of installers, new installations count opted-in apps first seen: APT installs, in-app updates and opt-outs separate the two.'
      : 'No CDN logs given (--downloads): downloads are not counted.',
  });
  return tables;
}

/** The growth caveat for the digest's context lines. */
export function growthCaveats(report: WeeklyReport): string[] {
  const g: GrowthSection | undefined = report.growth;
  if (!g) return [];
  const source =
    report.source === 'posthog' ? 'all of the PostHog project\'s history' : 'the events loaded (an installation active before they begin counts as new)';
  return [
    `Growth: "new" means the first connect.* event in ${source}` +
      (g.firstCoveredWeek ? `; the data starts in the week of ${g.firstCoveredWeek}, where new cannot be told from returning or resurrecting.` : '.'),
  ];
}
