/**
 * A few Connect events that break the tracking plan (RFD 97's events and properties, as in
 * config/), of every kind the weekly check tells apart, so its section of the report has figures:
 * a required property missing, a value outside the allowed set, a value of the wrong type, an
 * anonymized property that is not an HMAC, a distinct_id that is not `connect.` + a UUID, and a
 * `connect.*` event the plan does not know.
 *
 * Every offending value is obviously fake (`demo-...`, `example.com`): the demo must never show
 * something that reads like a real cluster or user name, even as an example of a leak.
 */
import type { DemoStream, SideRow, SideStream } from './events.ts';
import { sideRow, userHash } from './events.ts';
import { uuidFromCounter } from './ids.ts';
import { makeRng, STREAM_VIOLATIONS, type Rng } from './random.ts';
import { DAY, HOUR, MINUTE, SECOND } from './time.ts';

export const VIOLATION_KINDS = ['missing_required', 'not_allowed_value', 'wrong_type', 'not_anonymized', 'bad_distinct_id', 'unknown_event'] as const;
export type ViolationKind = (typeof VIOLATION_KINDS)[number];

/** Chance a kind shows up on a given day (about three events of each kind a week). */
const DAILY_CHANCE = 0.4;
/** Counters of uuids no other stream uses (Connect's are below 2^31, the clusters' from 2^31). */
const UUID_BASE = 0xc0000000;

/** Two ways to break the plan per kind, taking turns: (event, properties to set over a conforming event's, properties to drop). */
const BREAKS: Record<ViolationKind, readonly { event: string; set: Record<string, unknown>; drop?: string[] }[]> = {
  missing_required: [
    { event: 'connect.accessRequest.create', set: {}, drop: ['connect.access_request_kind'] },
    { event: 'connect.protocol.use', set: {}, drop: ['connect.protocol'] },
  ],
  not_allowed_value: [
    { event: 'connect.accessRequest.create', set: { 'connect.access_request_kind': 'demo-kind' } },
    { event: 'connect.protocol.use', set: { origin: 'demo-origin' } },
  ],
  wrong_type: [
    { event: 'connect.fileTransfer.run', set: { 'connect.file_transfer_is_upload': 'yes' } },
    { event: 'connect.connectMyComputer.setup', set: { 'connect.setup.success': 'true' } },
  ],
  not_anonymized: [
    { event: 'connect.accessRequest.review', set: { 'tp.cluster_name': 'demo-cluster.example.com' } },
    { event: 'connect.fileTransfer.run', set: { 'tp.user_name': 'demo-user@example.com', 'connect.file_transfer_is_upload': false } },
  ],
  bad_distinct_id: [
    { event: 'connect.accessRequest.assumeRole', set: {} },
    { event: 'connect.connectMyComputer.agentStart', set: {} },
  ],
  unknown_event: [
    { event: 'connect.demo.unplannedEvent', set: {} },
    { event: 'connect.demo.anotherUnplannedEvent', set: { 'connect.demo_property': 'demo-value' } },
  ],
};
/** distinct_ids that are not `connect.` + a UUID, taking turns. */
const BAD_DISTINCT_IDS = ['connect.demo-installation-0001', 'demo-installation-0002'];

export class Violations implements SideStream {
  private readonly rng: Rng;
  private seq = 0;
  private readonly turns = new Map<ViolationKind, number>();

  constructor(private readonly gen: DemoStream) {
    this.rng = makeRng(gen.r.seedLo, gen.r.seedHi, STREAM_VIOLATIONS);
  }

  day(dayStart: number): SideRow[] {
    const rows: SideRow[] = [];
    const { pop, r } = this.gen;
    if (pop.n === 0) return rows;
    for (const kind of VIOLATION_KINDS) {
      if (this.rng() >= DAILY_CHANCE) continue;
      const turn = this.turns.get(kind) ?? 0;
      this.turns.set(kind, turn + 1);
      const spec = BREAKS[kind][turn % 2]!;
      const i = Math.floor(this.rng() * pop.n);
      // Working hours, inserted within half an hour: the row stays in its own day's file.
      const ts = dayStart + 6 * HOUR + Math.floor(this.rng() * 14 * HOUR);
      const created = ts + 2 * SECOND + Math.floor(this.rng() * 20 * MINUTE);
      const inserted = created + 500;
      if (ts < r.startMs || inserted >= r.endMs || inserted >= dayStart + DAY) continue;
      const properties: Record<string, unknown> = {
        'tp.cluster_name': this.gen.clusterName(pop.clusters[i * 3]!),
        'tp.user_name': userHash(this.gen.salts, i, 0),
        ...conforming(spec.event),
        ...spec.set,
      };
      for (const key of spec.drop ?? []) delete properties[key];
      const row = {
        uuid: uuidFromCounter((UUID_BASE + this.seq++) >>> 0, this.gen.salts.uuid),
        event: spec.event,
        distinctId: kind === 'bad_distinct_id' ? BAD_DISTINCT_IDS[turn % 2]! : this.gen.distinctId(i),
        personId: this.gen.personId(i),
        properties,
      };
      rows.push(sideRow(row, { ts, created, inserted }));
    }
    return rows.sort((a, b) => a.inserted - b.inserted);
  }
}

/** The event's own properties as a conforming event would carry them (what a violation then breaks). */
function conforming(event: string): Record<string, unknown> {
  switch (event) {
    case 'connect.accessRequest.create':
      return { 'connect.access_request_kind': 'role' };
    case 'connect.protocol.use':
      return { 'connect.protocol': 'ssh', origin: 'resource_table', access_through: 'proxy_service' };
    case 'connect.fileTransfer.run':
      return { 'connect.file_transfer_is_upload': true };
    case 'connect.connectMyComputer.setup':
      return { 'connect.setup.success': true };
    default:
      return {};
  }
}
