/**
 * The tracking plan check (docs/metrics.md, "Tracking plan") against a plain reference computed here
 * from the events as written, on randomized awkward events: every property of the default plan
 * absent, null, right, of another JSON type, a string that reads like another type ("12", "true",
 * "{x}"), outside its allowed values, not an HMAC, an HMAC starting with a digit, escaped text; draft
 * names instead of, beside or null with the implemented ones; unknown connect.* events; bad
 * distinct_ids. The query reads each event's JSON once and types only values that may not be
 * strings (issue 13); the reference types every value the way JSON does.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChdbEngine } from '../src/engine/chdb-engine.ts';
import { runQuery } from '../src/engine/run-query.ts';
import { queries } from '../src/queries/index.ts';
import { standardParams } from '../src/jobs/weekly-report.ts';
import { loadCatalog } from '../src/config/catalog.ts';
import { loadTrackingPlan, trackingPlanParams } from '../src/config/tracking-plan.ts';
import { DEFAULT_CATALOG, DEFAULT_TRACKING_PLAN } from '../src/config/config.ts';
import { exportLine, tempDir, writeExport, type TestEvent } from './helpers/fixtures.ts';
import { mulberry32 } from './helpers/random.ts';
import { everyEventOf, openStore, selectExports } from './helpers/selection.ts';
import type { Selection } from '../src/sources/event-store.ts';

const SEED = 1307;
const random = mulberry32(SEED);
const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const hash = (first?: string) => (first ?? pick([...B64])) + Array.from({ length: 41 }, () => pick([...B64])).join('') + pick([...'AQgw']) + '=';

/** A value for a property that should be a string with these allowed values (empty: any). */
function stringish(allowed: string[], anonymized: boolean): unknown {
  const right = anonymized ? hash() : allowed.length > 0 ? pick(allowed) : `v${Math.floor(random() * 5)}`;
  return pick<unknown>([
    right, right, right,
    anonymized ? hash(pick([...'0123456789'])) : right, // an HMAC that starts with a digit is still a string
    '12', '-3.5', 'true', 'false', '{x}', '[1]', '', 'null', 'alice.smith', 'd"ar\\win', 'ünïcødé', 'tab\there',
    12, -3.5, 1e21, true, false, { a: 1 }, [1, 'x'], null,
  ]);
}

/** JSON's own type of a value as the plan names them (any number type is allowed for "number"). */
function jsonType(v: unknown): string {
  if (v === null || v === undefined) return 'Null';
  if (typeof v === 'string') return 'String';
  if (typeof v === 'boolean') return 'Bool';
  if (typeof v === 'number') return Number.isInteger(v) && Math.abs(v) < 2 ** 63 ? 'Int64' : 'Double';
  return Array.isArray(v) ? 'Array' : 'Object';
}

interface Row { kind: string; event: string; violation: string; property: string; events: number; conforming: number; example: string }

/** The plan check by the definition, event by event, then counted as tracking_plan.csv counts. */
function reference(events: TestEvent[], plan: ReturnType<typeof trackingPlanParams>, from: string, to: string): Row[] {
  const cells = new Map<string, Row>();
  const add = (kind: string, event: string, violation: string, property: string, uuid: string, conforms: boolean) => {
    const key = [kind, event, violation, property].join('\u0000');
    const row = cells.get(key) ?? { kind, event, violation, property, events: 0, conforming: 0, example: uuid };
    row.events += 1;
    if (conforms) row.conforming += 1;
    if (uuid < row.example) row.example = uuid;
    cells.set(key, row);
  };
  const idPattern = new RegExp(plan.distinct_id_pattern);
  const hashPattern = new RegExp(plan.hash_pattern);
  for (const e of events) {
    if (!e.event.startsWith('connect.') || e.timestamp < from || e.timestamp >= to) continue;
    const at = plan.plan_events.indexOf(e.event);
    const known = at >= 0;
    const key = known ? plan.plan_names[at]! : '*';
    const planEvent = known ? plan.plan_names[at]! : e.event;
    const props = e.properties ?? {};
    const problems: Array<[string, string]> = [];
    if (!known) problems.push(['unknown_event', '']);
    if (!idPattern.test(e.distinct_id ?? '')) problems.push(['bad_distinct_id', 'distinct_id']);
    plan.prop_events.forEach((pe, j) => {
      if (pe !== key) return;
      const name = plan.prop_names[j]!;
      const v = props[name];
      const type = jsonType(v);
      const allowed = plan.prop_values[j] ? plan.prop_values[j]!.split('|') : [];
      let problem = '';
      if (type === 'Null') {
        const alt = plan.prop_alternates[j]!;
        if (plan.prop_required[j] && !(alt && jsonType(props[alt]) !== 'Null')) problem = 'missing_required';
      } else if (!plan.prop_types[j]!.split('|').includes(type)) problem = 'wrong_type';
      else if (allowed.length > 0 && !allowed.includes(v as string)) problem = 'not_allowed_value';
      else if (plan.prop_anonymized[j] && !hashPattern.test(v as string)) problem = 'not_anonymized';
      if (problem) problems.push([problem, name]);
    });
    const uuid = e.uuid!;
    add('event', planEvent, '', '', uuid, problems.length === 0);
    for (const kind of new Set(problems.map((p) => p[0]))) add('violation', planEvent, kind, '', uuid, false);
    for (const [kind, property] of problems) add('property', planEvent, kind, property, uuid, false);
  }
  return [...cells.values()].map((r) => ({ ...r, conforming: r.kind === 'event' ? r.conforming : 0 }));
}

describe('tracking_plan equals the definition on randomized awkward events', () => {
  let engine: ChdbEngine;
  let selection: Selection;
  let events: TestEvent[];
  let params: Record<string, unknown>;
  let planParams: ReturnType<typeof trackingPlanParams>;

  beforeAll(async () => {
    const dir = await tempDir();
    const plan = await loadTrackingPlan(DEFAULT_TRACKING_PLAN);
    planParams = trackingPlanParams(plan);
    const names = [...plan.events.flatMap((e) => [e.event, ...e.aliases]), 'connect.not.in.plan', 'connect.other'];
    events = [];
    for (let i = 0; i < 1500; i++) {
      const event = pick(names);
      const planned = plan.events.find((e) => e.event === event || e.aliases.includes(event));
      const properties: Record<string, unknown> = {};
      for (const p of planned?.properties ?? []) {
        // implemented name, draft name, both, or neither
        const form = pick(['name', 'name', 'name', 'draft', 'both', 'none'] as const);
        const valueOf = (type: string, values: string[] | undefined, anonymized: boolean) =>
          type === 'string' ? stringish(values ?? [], anonymized) : type === 'boolean' ? pick<unknown>([true, false, 'yes', 1, null]) : pick<unknown>([1, 2.5, -7, '3', true, null]);
        if (form === 'name' || form === 'both') properties[p.name] = valueOf(p.type, p.values, p.anonymized || plan.anonymized.includes(p.name));
        if (p.draft && (form === 'draft' || form === 'both')) {
          properties[p.draft.name] = valueOf(p.draft.type ?? p.type, p.draft.values ?? p.values, p.anonymized || plan.anonymized.includes(p.draft.name));
        }
      }
      // The plan-wide anonymized names, on unknown events too; and properties nobody checks.
      for (const name of plan.anonymized) if (random() < 0.3) properties[name] = stringish([], true);
      if (random() < 0.5) properties.$lib = pick(['web', 12, null, { v: '1' }]);
      const distinct_id = pick(['connect.11111111-1111-4111-8111-111111111111', 'connect.2222aaaa-2222-4222-8222-22222222ABCD', 'alice@example.com', 'connect.x']);
      const day = 15 + Math.floor(random() * 9); // Nov 15 (before the week) to Nov 23 (after it)
      const timestamp = `2026-11-${String(day).padStart(2, '0')}T${String(Math.floor(random() * 24)).padStart(2, '0')}:00:00Z`;
      events.push({ uuid: `00000000-0000-4000-8000-${String(i + 1).padStart(12, '0')}`, event, distinct_id, timestamp, properties });
    }
    await writeExport(join(dir, 'events', 'a.jsonl'), events);
    engine = ChdbEngine.open(join(dir, 'data', 'clickhouse'));
    const store = await openStore(engine, join(dir, 'data'));
    selection = await selectExports(store, [join(dir, 'events')]);
    const catalog = await loadCatalog(DEFAULT_CATALOG);
    params = {
      ...standardParams({ catalog, eventPrefix: 'connect.', plan }, { from: '2026-11-09 00:00:00.000000', to: '2026-11-23 00:00:00.000000' }, 'UTC'),
      check_from: '2026-11-16 00:00:00.000000',
    };
  });
  afterAll(() => engine?.close());

  it(`every event, violation and property cell with its count and example (seed ${SEED})`, async () => {
    const rows = await runQuery(everyEventOf(engine, () => selection), queries.tracking_plan, params);
    const got = rows
      .filter((r) => r.kind !== 'first_seen')
      .map((r) => [r.kind, r.event, r.violation, r.property, r.events, r.conforming, r.example].join('|'))
      .sort();
    const want = reference(events, planParams, '2026-11-16T00:00:00Z', '2026-11-23T00:00:00Z')
      .map((r) => [r.kind, r.event, r.violation, r.property, r.events, r.conforming, r.example].join('|'))
      .sort();
    // The data exercises every kind (else the comparison would prove less than it says).
    for (const kind of ['missing_required', 'wrong_type', 'not_allowed_value', 'not_anonymized', 'bad_distinct_id', 'unknown_event']) {
      expect(want.some((line) => line.startsWith(`violation|`) && line.includes(`|${kind}|`)), kind).toBe(true);
    }
    expect(got).toEqual(want);
  });
});

describe('tracking_plan: a property sent twice on one event', () => {
  it('checks its first non-null value (JSON text with a repeated key; counted by hand)', async () => {
    const dir = await tempDir();
    const plan = await loadTrackingPlan(DEFAULT_TRACKING_PLAN);
    const h = 'A'.repeat(43) + '=';
    // connect.protocol is a string of ssh|db|kube|app|desktop on connect.protocol.use; the two
    // anonymized required properties are valid HMACs on every event.
    const line = (uuid: string, protocols: string) =>
      exportLine({ uuid, event: 'connect.protocol.use', distinct_id: 'connect.11111111-1111-4111-8111-111111111111', timestamp: '2026-11-17T10:00:00Z', properties: { P: 1 } }).replace(
        '{"P":1}',
        `{"tp.cluster_name":"${h}","tp.user_name":"${h}",${protocols}}`,
      );
    await writeExport(join(dir, 'events', 'a.jsonl'), [
      line('00000000-0000-4000-8000-000000000001', '"connect.protocol":"ssh","connect.protocol":5'), // first is fine: conforms
      line('00000000-0000-4000-8000-000000000002', '"connect.protocol":null,"connect.protocol":"telnet"'), // first non-null: not allowed
      line('00000000-0000-4000-8000-000000000003', '"connect.protocol":5,"connect.protocol":"ssh"'), // first is a number: wrong type
    ]);
    const engine = ChdbEngine.open(join(dir, 'data', 'clickhouse'));
    try {
      const store = await openStore(engine, join(dir, 'data'));
      const selection = await selectExports(store, [join(dir, 'events')]);
      const catalog = await loadCatalog(DEFAULT_CATALOG);
      const params = {
        ...standardParams({ catalog, eventPrefix: 'connect.', plan }, { from: '2026-11-16 00:00:00.000000', to: '2026-11-23 00:00:00.000000' }, 'UTC'),
        check_from: '2026-11-16 00:00:00.000000',
      };
      const rows = await runQuery(everyEventOf(engine, () => selection), queries.tracking_plan, params);
      expect(
        rows
          .filter((r) => r.kind !== 'first_seen')
          .map((r) => [r.kind, r.event, r.violation, r.property, r.events, r.conforming, r.example].join('|'))
          .sort(),
      ).toEqual([
        'event|connect.protocol.use|||3|1|00000000-0000-4000-8000-000000000001',
        'property|connect.protocol.use|not_allowed_value|connect.protocol|1|0|00000000-0000-4000-8000-000000000002',
        'property|connect.protocol.use|wrong_type|connect.protocol|1|0|00000000-0000-4000-8000-000000000003',
        'violation|connect.protocol.use|not_allowed_value||1|0|00000000-0000-4000-8000-000000000002',
        'violation|connect.protocol.use|wrong_type||1|0|00000000-0000-4000-8000-000000000003',
      ]);
    } finally {
      engine.close();
    }
  });
});
