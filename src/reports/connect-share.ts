/**
 * Connect's share of cluster logins (RFD 97: "the percentage of users logging to a cluster with
 * Connect"), from the connect_share query's aggregates: per week, the users with a cluster login,
 * those of them that also logged in with Connect, and the share; per connector type for the report
 * week. Pure: rows in, section out.
 */
import type { RowOf } from '../engine/query.ts';
import type connect_share from '../queries/connect_share.ts';
import type { ClusterShareSettings } from '../config/config.ts';
import type { Week } from './period.ts';
import type { Figure } from './weekly-report.ts';
import { coveredChange, type Comparison } from './coverage.ts';

export type ConnectShareRow = RowOf<typeof connect_share>;

/** The query's explicit LIMIT: a result that reaches it is refused rather than read short. */
export const CONNECT_SHARE_ROWS_LIMIT = 50_000;

export interface ShareCounts {
  clusterUsers: number;
  connectUsers: number;
  /** connectUsers / clusterUsers; null when there are no cluster users (never 0 or 100% then). */
  share: number | null;
}

export interface ConnectShareWeek extends ShareCounts {
  /** The Monday, YYYY-MM-DD. */
  week: string;
}

export interface ConnectorShare extends ShareCounts {
  connectorType: string;
}

export interface ConnectShareSection {
  /** The 12 weeks to the report week, oldest first, a row for each (zeros when no cluster login). */
  weeks: ConnectShareWeek[];
  /** The report week per connector type, by cluster users descending then name (before privacy folding). */
  byConnector: ConnectorShare[];
  /** The report week's share against the week before's; null when either week has no cluster users. */
  share: Figure | null;
  /** Whether any cluster login is in the 12 weeks (if not, the data lacks the cluster side altogether). */
  clusterLoginsSeen: boolean;
  /** The event and property names used (shown in the caveats, so the reader knows what was matched). */
  settings: ClusterShareSettings;
}

export function shareOf(clusterUsers: number, connectUsers: number): ShareCounts {
  return { clusterUsers, connectUsers, share: clusterUsers === 0 ? null : connectUsers / clusterUsers };
}

/** The 12 Mondays to the report week's, oldest first. */
export function trendWeeks(week: Week, n = 12): string[] {
  return Array.from({ length: n }, (_, i) => week.start.minus({ weeks: n - 1 - i }).toISODate()!);
}

export function buildConnectShare(rows: readonly ConnectShareRow[], week: Week, settings: ClusterShareSettings, comparison: Comparison): ConnectShareSection {
  if (rows.length >= CONNECT_SHARE_ROWS_LIMIT) {
    throw new Error(`connect_share returned ${rows.length} rows, its limit: too many connector types (${settings.connectorProperty}) to list`);
  }
  const totals = new Map(rows.filter((r) => r.connector_type === '').map((r) => [r.week, r]));
  const weeks = trendWeeks(week).map((w) => ({ week: w, ...shareOf(totals.get(w)?.cluster_users ?? 0, totals.get(w)?.connect_users ?? 0) }));
  const monday = week.days[0]!;
  const byConnector = rows
    .filter((r) => r.week === monday && r.connector_type !== '')
    .map((r) => ({ connectorType: r.connector_type, ...shareOf(r.cluster_users, r.connect_users) }))
    .sort((a, b) => b.clusterUsers - a.clusterUsers || (a.connectorType < b.connectorType ? -1 : a.connectorType > b.connectorType ? 1 : 0));
  const cur = weeks.at(-1)!;
  const prev = weeks.at(-2)!;
  // The change follows the summary's rule (src/reports/coverage.ts): none unless both weeks are fully covered.
  const share =
    cur.share !== null && prev.share !== null
      ? { value: cur.share, previous: prev.share, change: coveredChange(cur.share, prev.share, comparison) }
      : null;
  return { weeks, byConnector, share, clusterLoginsSeen: weeks.some((w) => w.clusterUsers > 0), settings };
}
