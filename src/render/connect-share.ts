/**
 * Connect's share of cluster logins as CSV tables, a digest figure, a digest table and the caveats
 * (docs/metrics.md, "Connect's share of cluster logins"). A share with no cluster users is empty in
 * the CSV files and "–" in the digest, never 0 or 100%.
 */
import { DateTime } from 'luxon';
import type { Figure, WeeklyReport } from '../reports/weekly-report.ts';
import { combineConnectors, isSmall, smallLabel } from '../reports/privacy.ts';
import type { Table } from './csv.ts';
import type { DigestTable } from './digest.ts';

const dash = '–';
const int = (n: number) => Math.round(n).toLocaleString('en-US');
const pct = (x: number | null) => (x === null ? dash : `${(x * 100).toFixed(1)}%`);

export function connectShareCsvTables(report: WeeklyReport): Record<string, Table> {
  const c = report.connectShare;
  if (!c) return {};
  return {
    'connect_share.csv': {
      header: ['week', 'cluster_users', 'connect_users', 'share'],
      rows: c.weeks.map((w) => [w.week, w.clusterUsers, w.connectUsers, w.share]),
    },
    // Small connector rows folded into other (src/reports/privacy.ts).
    'connect_share_by_connector.csv': {
      header: ['connector_type', 'cluster_users', 'connect_users', 'share'],
      rows: combineConnectors(c.byConnector, report.privacy.k).map((r) => [r.connectorType, r.clusterUsers, r.connectUsers, r.share]),
    },
  };
}

/** The digest's figure card: the report week's share and its change against the week before. */
export function connectShareFigure(report: WeeklyReport, formatChange: (f: Figure) => string): Array<{ label: string; value: string; change: string }> {
  const c = report.connectShare;
  if (!c) return [];
  const cur = c.weeks.at(-1)!;
  return [
    {
      label: "Connect's share of cluster logins",
      value: cur.share === null ? dash : pct(cur.share),
      change: c.share ? formatChange(c.share) : cur.share === null ? 'no cluster logins' : 'no cluster logins the week before',
    },
  ];
}

export function connectShareDigestTables(report: WeeklyReport): DigestTable[] {
  const c = report.connectShare;
  // Without any cluster login in the 12 weeks there is nothing to show but zeros: the caveat says what is missing.
  if (!c || !c.clusterLoginsSeen) return [];
  const k = report.privacy.k;
  // The digest reads small cells as <k, as every breakdown; the CSV folds them into other.
  const rows = combineConnectors(c.byConnector, k);
  const small = (n: number) => isSmall(n, k);
  return [
    {
      title: `Connect's share of cluster logins by connector, ${report.week.label} (users with a cluster login who also logged in with Connect)`,
      csv: 'connect_share_by_connector.csv',
      header: ['connector', 'cluster users', 'Connect users', 'share'],
      numeric: [false, true, true, true],
      rows: rows.map((r) => [
        r.connectorType,
        small(r.clusterUsers) ? smallLabel(k) : int(r.clusterUsers),
        small(r.connectUsers) ? smallLabel(k) : int(r.connectUsers),
        small(r.clusterUsers) || small(r.connectUsers) ? dash : pct(r.share),
      ]),
      values: rows.map((r) => [
        null,
        small(r.clusterUsers) ? null : r.clusterUsers,
        small(r.connectUsers) ? null : r.connectUsers,
        small(r.clusterUsers) || small(r.connectUsers) ? null : r.share,
      ]),
      ...(rows.length ? {} : { note: `No ${c.settings.clusterLoginEvent} event in ${report.week.label}.` }),
    },
    {
      title: "Connect's share of cluster logins, 12 weeks",
      csv: 'connect_share.csv',
      header: ['week of', 'cluster users', 'Connect users', 'share'],
      numeric: [false, true, true, true],
      rows: c.weeks.map((w) => [DateTime.fromISO(w.week).toFormat('MMM d'), int(w.clusterUsers), int(w.connectUsers), pct(w.share)]),
      values: c.weeks.map((w) => [null, w.clusterUsers, w.connectUsers, w.share]),
    },
  ];
}

/** The caveats the share always carries (or what is missing, when the data has no cluster logins). */
export function connectShareCaveats(report: WeeklyReport): string[] {
  const c = report.connectShare;
  if (!c) return [];
  if (!c.clusterLoginsSeen) {
    return [
      `Connect's share of cluster logins: no ${c.settings.clusterLoginEvent} event in the 12 weeks, so it cannot be computed: ` +
        'the data holds no cluster events (they reach the PostHog project, not the Connect export), or the cluster event names differ (setting clusterShare).',
    ];
  }
  return [
    `Connect's share of cluster logins is a lower bound: Connect counts only installations that opted in, and clusters that do not report usage are absent from both sides; ` +
      `one person on two clusters counts once on each (a user is a ${c.settings.userProperty} hash, one per cluster).`,
  ];
}
