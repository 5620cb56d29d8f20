/**
 * Small-cell suppression: a breakdown cell (one feature, protocol or platform in one week) with
 * fewer than `k` installations could single out a handful of people, so the digest and the page
 * show it as `<k` and the CSVs fold it into an `other` row. Zero is not a small group (it singles
 * out no one) and stays as it is, so the catalog's unused features still show as unused.
 *
 * Pure functions over the report's rows; the renderers decide where each form is used.
 */
import type { FeatureRow, PlatformRow, ProtocolRow, WeeklyReport } from './weekly-report.ts';
import type { DownloadsVsNew, GrowthSection, ReleaseAdoption, VersionShare } from './growth.ts';
import { shareOf, type ConnectShareSection, type ConnectorShare } from './connect-share.ts';

/** The default k: cells of 1 to 4 installations are suppressed. */
export const DEFAULT_PRIVACY_K = 5;

/** A cell of `users` installations is too small to show (0 < users < k). k <= 1 turns suppression off. */
export function isSmall(users: number, k: number): boolean {
  return users > 0 && users < k;
}

/** How a suppressed cell reads in the digest and on the page. */
export function smallLabel(k: number): string {
  return `<${k}`;
}

/** The one-line footnote shown wherever suppression applies. */
export function privacyFootnote(k: number): string {
  return k > 1
    ? `Privacy: a breakdown cell (feature, protocol, platform, version, OS of new installations) with fewer than ${k} installations in a week is shown as ${smallLabel(k)} ` +
        `(combined into "other" in the CSV files), so no small group of installations can be singled out.`
    : 'Privacy: small-cell suppression is off (privacy.k <= 1).';
}

/**
 * Takes the small rows out of a breakdown and adds them up into one `other` row at the end (merged
 * with a row already named `other`, if the data has one). `other`'s users are the sum of the folded
 * rows' users: an installation in two folded rows counts twice, as the rows' own sum would; its
 * share is those users over `active` (the week's active installations).
 *
 * `other` is a cell too: when it holds 1 to k-1 installations (one small row alone would reappear
 * as `other,1`) it is `suppressed`, written with no figures, as the digest shows it `<k`. (Folding
 * the next smallest row in instead would make the CSV disagree with the page, which shows that row,
 * and the two together would give the small cell away.)
 */
function foldSmall<R extends { users: number }>(
  rows: readonly R[],
  k: number,
  active: number,
  name: (r: R) => string,
  make: (folded: readonly R[], users: number, share: number) => R,
): Array<R & { suppressed?: boolean }> {
  const small = rows.filter((r) => isSmall(r.users, k) && name(r) !== 'other');
  const existing = rows.find((r) => name(r) === 'other');
  if (small.length === 0 && !(existing && isSmall(existing.users, k))) return [...rows];
  const folded = [...small, ...(existing ? [existing] : [])];
  const users = folded.reduce((s, r) => s + r.users, 0);
  const other = make(folded, users, active === 0 ? 0 : users / active);
  return [...rows.filter((r) => !folded.includes(r)), isSmall(users, k) ? { ...other, suppressed: true } : other];
}

/** A catch-all `other` row under k: written with no figures. */
export type Suppressed = { suppressed?: boolean };

const sumEvents = (rows: readonly { events: number }[]) => rows.reduce((s, r) => s + r.events, 0);
const NO_PREVIOUS = { events: 0, users: 0, share: 0 };

export function combineFeatures(rows: readonly FeatureRow[], k: number, wau: number): Array<FeatureRow & Suppressed> {
  return foldSmall(rows, k, wau, (r) => r.feature, (folded, users, share) => ({
    feature: 'other',
    catalogued: false,
    events: sumEvents(folded),
    users,
    share,
    previous: NO_PREVIOUS,
  }));
}

export function combineProtocols(rows: readonly ProtocolRow[], k: number, wau: number): Array<ProtocolRow & Suppressed> {
  return foldSmall(rows, k, wau, (r) => r.protocol, (folded, users, share) => ({ protocol: 'other', events: sumEvents(folded), users, share, previous: NO_PREVIOUS }));
}

/**
 * Platforms keep their fixed rows (macos, windows, linux, other, unknown). A small named row is
 * added to `other` and left with no figures (`null`): the row stays so the file keeps its shape.
 * When `other` then holds 1 to k-1 installations it has no figures either (as foldSmall).
 */
export function combinePlatforms(
  rows: readonly PlatformRow[],
  k: number,
  wau: number,
): Array<{ os: PlatformRow['os']; users: number | null; share: number | null }> {
  const folded = catchAll(rows.map((r) => ({ name: r.os, users: r.users })), k);
  return rows.map((r) => {
    if (r.os === 'other') return folded.other === null ? { os: r.os, users: null, share: null } : { os: r.os, users: folded.other, share: wau === 0 ? 0 : folded.other / wau };
    return folded.hidden.has(r.os) ? { os: r.os, users: null, share: null } : { os: r.os, users: r.users, share: r.share };
  });
}

/**
 * Fixed rows with one `other` (platforms, new installations by OS): which named rows are hidden and
 * what `other` holds: small named rows are added to it, and it is null (hidden too) when it is small.
 */
function catchAll(rows: ReadonlyArray<{ name: string; users: number }>, k: number): { hidden: Set<string>; other: number | null } {
  const hidden = new Set(rows.filter((r) => r.name !== 'other' && isSmall(r.users, k)).map((r) => r.name));
  const other = rows.reduce((s, r) => s + (r.name === 'other' || hidden.has(r.name) ? r.users : 0), 0);
  return { hidden, other: isSmall(other, k) ? null : other };
}

/**
 * The report as it may leave the machine in report.json: the breakdowns combined as in the CSVs,
 * and a small cell of the week before zeroed with `previousSuppressed`, so the JSON never holds a
 * figure the CSVs and the digest hide.
 */
export function privacySafeReport(report: WeeklyReport): WeeklyReport {
  const k = report.privacy.k;
  const wau = report.summary.wau.value;
  const prev = <R extends { previous: { users: number; share: number } }>(r: R): R =>
    isSmall(r.previous.users, k) ? { ...r, previous: { ...r.previous, users: 0, share: 0, events: 0 }, previousSuppressed: true } : r;
  // An `other` under k carries no figures either.
  const hide = <R extends { users: number; share: number; events: number; suppressed?: boolean }>(r: R): R => (r.suppressed ? { ...r, users: 0, share: 0, events: 0 } : r);
  return {
    ...report,
    features: combineFeatures(report.features, k, wau).map(hide).map(prev),
    protocols: combineProtocols(report.protocols, k, wau).map(hide).map(prev),
    platforms: combinePlatforms(report.platforms, k, wau).map((p, i) => {
      const orig = report.platforms[i]!;
      const row = { ...orig, users: p.users ?? 0, share: p.share ?? 0, ...(p.users === null ? { suppressed: true } : {}) };
      return orig.os === 'other' ? row : prev(row);
    }),
    newEvents: report.newEvents.map((e) => (isSmall(e.users, k) ? { ...e, users: 0, suppressed: true } : e)),
    ...(report.growth ? { growth: privacySafeGrowth(report.growth, k) } : {}),
    ...(report.connectShare ? { connectShare: privacySafeConnectShare(report.connectShare, k) } : {}),
  };
}

/** Versions of the week: small versions (unknown included) folded into one `other` row at the end. */
export function combineVersions(rows: readonly VersionShare[], k: number): Array<VersionShare & Suppressed> {
  const active = rows.reduce((s, r) => s + r.users, 0);
  return foldSmall(rows, k, active, (r) => r.version, (_, users, share) => ({ version: 'other', users, share }));
}

/**
 * New installations per OS and week: a small cell keeps its row with no figure (null) and its
 * installations are added to the same week's `other`, as in platforms.csv; an `other` that is then
 * small is left with no figure too (one new Linux installation never reappears as `other,1`).
 */
export function combineNewInstallations(rows: readonly DownloadsVsNew[], k: number): DownloadsVsNew[] {
  const byWeek = new Map<string, { hidden: Set<string>; other: number | null }>();
  for (const week of new Set(rows.map((r) => r.week))) {
    const cells = rows.filter((r) => r.week === week && r.newInstallations !== null).map((r) => ({ name: r.os, users: r.newInstallations! }));
    byWeek.set(week, catchAll(cells, k));
  }
  return rows.map((r) => {
    if (r.newInstallations === null) return r;
    const f = byWeek.get(r.week)!;
    if (r.os === 'other') return f.other === null ? { ...r, newInstallations: null, suppressed: true } : { ...r, newInstallations: f.other };
    return f.hidden.has(r.os) ? { ...r, newInstallations: null, suppressed: true } : r;
  });
}

/** Releases run by fewer than k installations show no installation count or share. */
export function suppressReleases(rows: readonly ReleaseAdoption[], k: number): Array<Omit<ReleaseAdoption, 'installations' | 'share'> & { installations: number | null; share: number | null }> {
  return rows.map((r) => (isSmall(r.installations, k) ? { ...r, installations: null, share: null } : r));
}

const hideVersion = (v: VersionShare & Suppressed): VersionShare & Suppressed => (v.suppressed ? { ...v, users: 0, share: 0 } : v);

/** The growth section as it may leave the machine: breakdowns combined, small adoption points dropped. */
export function privacySafeGrowth(g: GrowthSection, k: number): GrowthSection {
  return {
    ...g,
    versions: combineVersions(g.versions, k).map(hideVersion),
    versionTrend: g.versionTrend.map((w) => ({ ...w, versions: combineVersions(w.versions, k).map(hideVersion) })),
    releases: g.releases.map((r) => (isSmall(r.installations, k) ? { ...r, installations: 0, share: 0, suppressed: true } : r)),
    adoption: g.adoption.filter((p) => !isSmall(p.installations, k)),
    downloadsVsNew: combineNewInstallations(g.downloadsVsNew, k),
  };
}

/**
 * Connect's share per connector type: a row is small when its cluster users or its Connect users are
 * 1 to k-1 (either count singles out a handful of people); small rows leave their place and are added
 * into one `other` row at the end (merged with a connector the data names `other`), its share
 * recomputed from the sums. The order of the rest (cluster users descending, then name) is kept.
 */
export function combineConnectors(rows: readonly ConnectorShare[], k: number): ConnectorShare[] {
  const small = rows.filter((r) => r.connectorType !== 'other' && (isSmall(r.clusterUsers, k) || isSmall(r.connectUsers, k)));
  if (small.length === 0) return [...rows];
  const existing = rows.find((r) => r.connectorType === 'other');
  const folded = [...small, ...(existing ? [existing] : [])];
  const cluster = folded.reduce((s, r) => s + r.clusterUsers, 0);
  const connect = folded.reduce((s, r) => s + r.connectUsers, 0);
  return [...rows.filter((r) => !folded.includes(r)), { connectorType: 'other', ...shareOf(cluster, connect) }];
}

/** The share section as it may leave the machine: the connector breakdown folded as in its CSV. */
export function privacySafeConnectShare(section: ConnectShareSection, k: number): ConnectShareSection {
  return { ...section, byConnector: combineConnectors(section.byConnector, k) };
}
