/**
 * The clusters' own logins in the same PostHog project: `tp.user.login` events, so Connect's share of
 * cluster logins has figures. As Teleport's usage reporting sends them (see
 * ../shared/reference/teleport-connect-events.md): distinct_id `tp.<account>` (one account per
 * cluster), `tp.user_name` the user's HMAC keyed by the cluster, the same hash Connect's
 * `connect.cluster.login` carries for that user; `tp.connector_type` github/saml/oidc for SSO
 * logins, absent for local ones.
 *
 * Who logs in: every Connect login to a cluster that reports usage is seen by the cluster too (a few
 * seconds earlier, by the Auth Server); each reporting cluster also has users who never use Connect
 * (web UI, tsh). About 30% of clusters report nothing (not Cloud, no licence reporting): their Connect
 * logins have no cluster counterpart. A person on two clusters has two hashes, one per cluster, as in
 * real data.
 */
import type { DemoStream, SideRow, SideStream } from './events.ts';
import { sideRow, userHash } from './events.ts';
import { hash44, uuidFromCounter } from './ids.ts';
import { CONNECTORS, type Population } from './population.ts';
import { fmix32, makeRng, STREAM_CLUSTER, type Rng } from './random.ts';
import { DAY, HOUR, SECOND } from './time.ts';

export const CLUSTER_LOGIN_EVENT = 'tp.user.login';
/** Connectors the cluster names; the others (local, passwordless) are local users: no property. */
const SSO = new Set<string>(['github', 'saml', 'oidc']);
/** Share of clusters that report usage. */
const REPORTING_SHARE = 0.7;
/** Users who never use Connect, per Connect user of a reporting cluster. */
const OTHER_USERS_PER_CONNECT_USER = 1.0;
const MAX_OTHER_USERS = 1023;
/** Chance one of those logs in on a weekday / a weekend day. */
const OTHER_LOGIN_WEEKDAY = 0.15;
const OTHER_LOGIN_WEEKEND = 0.03;
/** Counters of ids that Connect's never reach (Connect's are below 2^31), so no id is shared by accident. */
const SIDE_BASE = 0x80000000;

export class ClusterLogins implements SideStream {
  private readonly pop: Population;
  private readonly rng: Rng;
  private readonly reporting: Uint8Array;
  private readonly otherUsers: Uint16Array;
  private readonly pending = new Map<number, SideRow[]>();
  private seq = 0;

  constructor(private readonly gen: DemoStream) {
    const { r, pop } = gen;
    this.pop = pop;
    this.rng = makeRng(r.seedLo, r.seedHi, STREAM_CLUSTER);
    const nc = pop.nClusterPool;
    this.reporting = new Uint8Array(nc);
    for (let c = 0; c < nc; c++) this.reporting[c] = this.rng() < REPORTING_SHARE ? 1 : 0;
    const connectUsers = new Uint32Array(nc);
    for (let i = 0; i < pop.n; i++) for (let s = 0; s < pop.nClusters[i]!; s++) connectUsers[pop.clusters[i * 3 + s]!]!++;
    this.otherUsers = new Uint16Array(nc);
    for (let c = 0; c < nc; c++) this.otherUsers[c] = Math.min(MAX_OTHER_USERS, Math.round(connectUsers[c]! * OTHER_USERS_PER_CONNECT_USER));
  }

  /** Whether cluster `c` (an index into the population's cluster pool) reports usage. */
  reports(c: number): boolean {
    return this.reporting[c] === 1;
  }

  login(i: number, slot: number, ts: number): void {
    const cluster = this.pop.clusters[i * 3 + slot]!;
    if (!this.reports(cluster)) return;
    const sso = CONNECTORS[this.pop.connector[cluster]!]!;
    // The Auth Server logs the user in a few seconds before Connect reports it; its row is inserted
    // later than Connect's timestamp (what lets the events stream hand out a day, see SideStream).
    const at = ts - SECOND - Math.floor(this.rng() * 9 * SECOND);
    this.add(at, cluster, userHash(this.gen.salts, i, slot), SSO.has(sso) ? sso : undefined, 10 * SECOND);
  }

  day(dayStart: number): SideRow[] {
    const weekend = (dayStart / DAY + 3) % 7 >= 5; // epoch day 0 was a Thursday
    const p = weekend ? OTHER_LOGIN_WEEKEND : OTHER_LOGIN_WEEKDAY;
    const rng = this.rng;
    const { salts } = this.gen;
    for (let c = 0; c < this.reporting.length; c++) {
      if (!this.reports(c)) continue;
      const sso = CONNECTORS[this.pop.connector[c]!]!;
      for (let u = 0; u < this.otherUsers[c]!; u++) {
        if (rng() >= p) continue;
        const n = (SIDE_BASE + c * 1024 + u) >>> 0;
        // About one in six users of an SSO cluster is a local user (admins, bots).
        const local = !SSO.has(sso) || fmix32(n ^ salts.user) % 6 === 0;
        const at = dayStart + 5 * HOUR + Math.floor(rng() * 15 * HOUR);
        this.add(at, c, hash44(n, salts.user), local ? undefined : sso, 0);
      }
    }
    const rows = this.pending.get(dayStart / DAY) ?? [];
    this.pending.delete(dayStart / DAY);
    return rows.sort((a, b) => a.inserted - b.inserted);
  }

  private add(ts: number, cluster: number, user: string, connector: string | undefined, minDelay: number): void {
    const { startMs, endMs } = this.gen.r;
    if (ts < startMs || ts >= endMs) return;
    // Cluster usage is reported in batches: seconds to about half an hour.
    const created = ts + minDelay + Math.floor(30 * 60 * SECOND * Math.pow(this.rng(), 2));
    const inserted = created + 200 + Math.floor(this.rng() * 5 * SECOND);
    if (inserted >= endMs) return; // not exported yet
    const { salts } = this.gen;
    const properties: Record<string, unknown> = { 'tp.user_name': user };
    if (connector !== undefined) properties['tp.connector_type'] = connector;
    const row = sideRow(
      {
        uuid: uuidFromCounter((SIDE_BASE + this.seq++) >>> 0, salts.uuid),
        event: CLUSTER_LOGIN_EVENT,
        distinctId: 'tp.' + uuidFromCounter(cluster, salts.account),
        personId: uuidFromCounter((SIDE_BASE + cluster) >>> 0, salts.personId),
        properties,
      },
      { ts, created, inserted },
    );
    const day = Math.floor(inserted / DAY);
    const rows = this.pending.get(day);
    if (rows === undefined) this.pending.set(day, [row]);
    else rows.push(row);
  }
}
