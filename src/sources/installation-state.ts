/**
 * Derived per-installation state of a selection, and the engine that reads the report's weeks plus
 * that state (issue 13: a report's cost follows the weeks it shows, not the history behind them).
 *
 * Three queries look back before their period: growth_weekly (an installation's first week and its
 * OS then), platform_share and version_adoption (the latest OS / version as of a week's end, and the
 * first day an installation ran each version). Those answers depend on the events before the period
 * only through a few events per installation, the *state events*:
 *   - its first event whose name has the prefix (first seen);
 *   - every OS change-point: an event carrying an OS different from the one on the installation's
 *     previous OS-carrying event (or its first one); the same for the version;
 *   - per version, its first prefixed event carrying that version.
 * The latest OS-carrying event before any instant T and the latest change-point before T carry the
 * same value, and first events are kept, so every figure of those queries is the same over
 *   (all events from W on) + (state events before W)
 * as over all events, for any W up to a week before the query's `from` (growth reads the week before
 * its period in full; W is 8 days before, as that week may have 169 hours across a DST change).
 * State events are real events (a subset), so no query can tell; the other queries read only
 * [from, to) and see all events there.
 *
 * The state is derived once per selection and prefix (kept in the selection's database, dropped
 * with it) and reused by every report, `query` and backfill week over it. `SelectionEngine` points
 * `events` at a view of exactly that union for a window W = the query's `from` minus 8 days (shared
 * by queries in flight: see SelectionEngine.execute); nothing is recomputed per report.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { ChdbEngine } from '../engine/chdb-engine.ts';
import type { Engine, EngineResult, ExecuteRequest } from '../engine/engine.ts';
import { EVENT_OS, EVENT_VERSION } from '../engine/event-fields.ts';
import type { Logger } from '../lib/logger.ts';
import { WeekReuseEngine } from '../engine/week-cache.ts';
import { selectionFingerprint } from './selection-fingerprint.ts';
import { findParentSelection } from './parent-selection.ts';
import { EVENTS_COLUMNS, EVENTS_COLUMN_NAMES, NO_MERGES } from './event-store.ts';

/** Events per derivation pass (by default): the change-point pass sorts each installation's carrying events in memory. */
const EVENTS_PER_PASS = 2_000_000;
/**
 * The query reads the week before its `from` in full (growth_weekly's "active the week before").
 * That week starts on Monday 00:00 in the query's timezone, up to a DST shift more than 7 x 24 h
 * before `from` (after a fall-back it has 169 hours): a day more covers every zone's shift, and a
 * window earlier than needed changes no answer (state events stand for what lies before it).
 */
const LOOK_BACK_MS = 8 * 86_400_000;

/**
 * Each installation's last event time, beside the state (`last_event_<hash>`): a new selection's
 * derivation finds the installations with late events from it instead of reading every old event
 * (1.1 s at 104 weeks of history).
 */
export const lastTable = (state: string) => state.replace('.state_', '.last_event_');

/**
 * The state view's table (`slim_<hash>`): the selection's events that are not state events, from
 * SLIM_WEEKS before its last event on, as (event, distinct_id, timestamp) alone. The state view
 * over a window inside it is that table plus the state events, with no per-event test: a view that
 * tells the other events from the state events by `uuid NOT IN (state)` read and looked up every
 * event's uuid in each of the three look-backs (about 0.9 CPU s each on the 10M-event bench week,
 * 2.7 of the report's 24; the table is written once per selection in about 5 CPU s). Bounded so
 * that Monday's new selection writes the same amount whatever the history: a report on the latest
 * week reads from 12 weeks and 8 days before that week's end (LOOK_BACK_MS), and a window before the
 * table's start is served as before, by the test.
 */
export const slimTable = (state: string) => state.replace('.state_', '.slim_');
const SLIM_WEEKS = 16;

/** The table of state events for one prefix, in the selection's database. */
export function stateTable(database: string, prefix: string): string {
  return `${database}.state_${createHash('sha256').update(prefix).digest('hex').slice(0, 12)}`;
}

/**
 * Derives the state events of `database`.events for `prefix` unless they exist; returns the table
 * and how many state events it holds.
 *
 * From a parent selection when there is one (src/sources/parent-selection.ts: last Monday's files,
 * whose state is derived): the state of (parent's events + new events) is the state of (parent's
 * state events + new events) for every installation whose new events all come after its last event
 * in the parent. Its first events stay first, and the OS (version) before each new event is the
 * one on the parent's last change-point before it. An installation with a new event at or before
 * its last one in the parent (a late event can make a later event a change-point) is derived from
 * all its events. So a Monday's new selection reads the parent's state, the new files and the late
 * installations' events, not all history (test/incremental-state.test.ts checks both ways equal).
 */
export async function deriveState(
  engine: ChdbEngine,
  database: string,
  prefix: string,
  logger: Logger,
  options: { eventsPerPass?: number } = {},
): Promise<string> {
  const table = stateTable(database, prefix);
  if (await engine.hasTable(table)) {
    // A state derived before the state view had its own table gets it now, once.
    await deriveSlim(engine, database, table);
    return table;
  }
  const started = Date.now();
  // The state view's table belongs to the state derived with it (a state dropped and derived again
  // gets its table again).
  await engine.exec(`DROP TABLE IF EXISTS ${slimTable(table)}`);
  const parent = await findParentSelection(engine, database, (candidate) => engine.hasTable(stateTable(candidate, prefix)));
  let source = `${database}.events`;
  let parentLast: string | undefined;
  const input = `${table}_input`;
  const late = `${table}_late`;
  if (parent) {
    const newEvents = `${database}.events WHERE file_id NOT IN {parent_files:Array(String)}`;
    parentLast = lastTable(stateTable(parent.database, prefix));
    // A parent whose state an earlier version derived has no last-event table: made once from its
    // events (this selection's own table is built from it, so it must hold every installation).
    if (!(await engine.hasTable(parentLast))) {
      await engine.exec(`DROP TABLE IF EXISTS ${parentLast}_building`);
      await engine.exec(
        `CREATE TABLE ${parentLast}_building ENGINE = MergeTree ORDER BY distinct_id AS
         SELECT distinct_id, max(timestamp) AS last FROM ${parent.database}.events GROUP BY distinct_id`,
      );
      await engine.exec(`RENAME TABLE ${parentLast}_building TO ${parentLast}`);
    }
    const lastOld = `SELECT distinct_id, last AS last_old FROM ${parentLast}`;
    await engine.exec(`DROP TABLE IF EXISTS ${late}`);
    await engine.exec(
      `CREATE TABLE ${late} ENGINE = Memory AS
       SELECT distinct_id, first_new FROM (SELECT distinct_id, min(timestamp) AS first_new FROM ${newEvents} GROUP BY distinct_id) AS n
       INNER JOIN (${lastOld}) AS o USING (distinct_id)
       WHERE first_new <= last_old`,
      { parent_files: parent.files },
    );
    await engine.exec(`DROP TABLE IF EXISTS ${input}`);
    await engine.exec(`CREATE TABLE ${input} (${EVENTS_COLUMNS}) ENGINE = MergeTree ORDER BY (event, timestamp)`);
    // A late installation's old events before its first new one (T) keep their part in its state:
    // whether one is a change-point depends only on the carriers before it, and its first events
    // are kept either way. So it is derived from its state events before T plus its old events from
    // T on (read by time: late events are mostly days late, so few of its old events are read).
    const from = `transform(distinct_id, (SELECT groupArray(distinct_id) FROM ${late}), (SELECT groupArray(first_new) FROM ${late}),
                           toDateTime64('2299-12-31 00:00:00', 6, 'UTC'))`;
    await engine.exec(
      `INSERT INTO ${input}
       SELECT ${EVENTS_COLUMN_NAMES} FROM ${stateTable(parent.database, prefix)} WHERE timestamp < ${from}
       UNION ALL
       SELECT ${EVENTS_COLUMN_NAMES} FROM ${newEvents}
       UNION ALL
       SELECT ${EVENTS_COLUMN_NAMES} FROM ${parent.database}.events
       WHERE timestamp >= (SELECT min(first_new) FROM ${late}) AND timestamp >= ${from}`,
      { parent_files: parent.files },
    );
    source = input;
  }
  const events = await deriveFrom(engine, source, table, prefix, options.eventsPerPass ?? EVENTS_PER_PASS, parentLast);
  await engine.exec(`DROP TABLE IF EXISTS ${input}`);
  await engine.exec(`DROP TABLE IF EXISTS ${late}`);
  await deriveSlim(engine, database, table);
  const [kept] = await engine.objects<{ n: number }>(`SELECT count() AS n FROM ${table}`);
  logger.debug('derived installation state', {
    from: parent ? `${parent.database} (its state and ${database}'s new files)` : 'every event',
    events,
    stateEvents: Number(kept?.n ?? 0),
    ms: Date.now() - started,
  });
  return table;
}

/** The state events of the events in `source` (a table) into `table`; returns how many events were read. */
async function deriveFrom(
  engine: ChdbEngine,
  source: string,
  table: string,
  prefix: string,
  eventsPerPass: number,
  parentLast: string | undefined,
): Promise<number> {
  const building = `${table}_building`;
  const facts = `${table}_facts`;
  await engine.exec(`DROP TABLE IF EXISTS ${building}`);
  await engine.exec(`DROP TABLE IF EXISTS ${facts}`);
  await engine.exec(`CREATE TABLE ${building} (${EVENTS_COLUMNS}) ENGINE = MergeTree ORDER BY (event, timestamp)`);
  const [total] = await engine.objects<{ n: number }>(`SELECT count() AS n FROM ${source}`);
  const passes = Math.max(1, Math.ceil(Number(total?.n ?? 0) / eventsPerPass));
  // One pass over the events reads their JSON once: per event only what decides the state (its
  // installation, time, OS, version, whether it has the prefix), a few bytes instead of its
  // properties. The passes below read this table, never the properties again.
  // cityHash64(uuid) names an event (uuids are unique in a selection); a rare collision only adds
  // another real event to the state, which changes no answer.
  // Installations are split into passes by a hash of distinct_id (`id`): each pass holds whole
  // installations and reads only its own partition. Sorted by (id, timestamp), not by distinct_id:
  // sorting 10M rows by a number instead of a string took the table from 20-24 to 14 CPU s, and
  // a pass from 2.5 to 1.4 (measured on the 10M-event bench week). Windows and groups are by
  // (id, distinct_id), which is the same partition of the events as by distinct_id alone.
  await engine.exec(
    `CREATE TABLE ${facts} ENGINE = MergeTree PARTITION BY pass ORDER BY (id, timestamp) SETTINGS ${NO_MERGES} AS
     SELECT cityHash64(distinct_id) AS id, toUInt32(id % ${passes}) AS pass, distinct_id, timestamp, cityHash64(uuid) AS h,
            ${EVENT_OS} AS event_os, ${EVENT_VERSION} AS event_version,
            CAST(startsWith(event, {prefix:String}) AS UInt8) AS prefixed
     FROM ${source}`,
    { prefix },
  );
  const hashes = `${table}_hashes`;
  await engine.exec(`DROP TABLE IF EXISTS ${hashes}`);
  await engine.exec(`CREATE TABLE ${hashes} (h UInt64) ENGINE = Memory`);
  for (let part = 0; part < passes; part++) {
    const mine = `pass = ${part}`;
    await engine.exec(
      `INSERT INTO ${hashes}
       SELECT h FROM (
           SELECT h, event_os, event_version,
               anyLast(nullIf(event_os, '')) OVER previous AS previous_os,
               anyLast(nullIf(event_version, '')) OVER previous AS previous_version
           FROM ${facts}
           WHERE ${mine} AND (event_os != '' OR event_version != '')
           WINDOW previous AS (PARTITION BY id, distinct_id ORDER BY timestamp, h ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
       )
       WHERE (event_os != '' AND (previous_os IS NULL OR event_os != previous_os))
          OR (event_version != '' AND (previous_version IS NULL OR event_version != previous_version))
       UNION ALL
       SELECT argMin(h, timestamp) FROM ${facts}
       WHERE ${mine} AND prefixed
       GROUP BY id, distinct_id
       UNION ALL
       SELECT argMin(h, timestamp) FROM ${facts}
       WHERE ${mine} AND prefixed AND event_version != ''
       GROUP BY id, distinct_id, event_version`,
    );
  }
  // The state events themselves, whole, in one more pass.
  await engine.exec(
    `INSERT INTO ${building}
     SELECT ${EVENTS_COLUMN_NAMES} FROM ${source} WHERE cityHash64(uuid) IN (SELECT h FROM ${hashes})`,
  );
  await engine.exec(`DROP TABLE ${hashes}`);
  // Each installation's last event time. `source` holds every event of the installations it
  // derives in full, and for the others (from a parent) only their state events and new events:
  // their last time is the later of the parent's and the new events'. Made before the state is
  // renamed into place, so a state made by this code always has it.
  const last = lastTable(table);
  await engine.exec(`DROP TABLE IF EXISTS ${last}_building`);
  await engine.exec(
    `CREATE TABLE ${last}_building ENGINE = MergeTree ORDER BY distinct_id AS
     SELECT distinct_id, max(t) AS last FROM (
         SELECT distinct_id, max(timestamp) AS t FROM ${facts} GROUP BY id, distinct_id` +
      (parentLast ? `\n         UNION ALL\n         SELECT distinct_id, last AS t FROM ${parentLast}` : '') +
      `)
     GROUP BY distinct_id`,
  );
  await engine.exec(`DROP TABLE IF EXISTS ${last}`);
  await engine.exec(`RENAME TABLE ${last}_building TO ${last}`);
  await engine.exec(`DROP TABLE ${facts}`);
  await engine.exec(`RENAME TABLE ${building} TO ${table}`);
  return Number(total?.n ?? 0);
}

/**
 * Writes the state view's table for the state `state` of `database` (see slimTable) unless it is
 * there. Its first instant (ms) is kept as the table's comment. Needs the last-event table (every
 * state this code derives has one); without it there is no table, and the view tests each event.
 */
async function deriveSlim(engine: ChdbEngine, database: string, state: string): Promise<void> {
  const slim = slimTable(state);
  if ((await engine.hasTable(slim)) || !(await engine.hasTable(lastTable(state)))) return;
  const [row] = await engine.objects<{ ms: number | string | null }>(`SELECT toUnixTimestamp64Milli(max(last)) AS ms FROM ${lastTable(state)}`);
  // A day boundary, so the same selection always gets the same start.
  const from = Math.floor((Number(row?.ms ?? 0) - SLIM_WEEKS * 7 * 86_400_000) / 86_400_000) * 86_400_000;
  const at = instantSql(from);
  await engine.exec(`DROP TABLE IF EXISTS ${slim}_building`);
  await engine.exec(
    `CREATE TABLE ${slim}_building (event LowCardinality(String), distinct_id String, timestamp DateTime64(6, 'UTC'))
     ENGINE = MergeTree ORDER BY (event, timestamp) SETTINGS ${NO_MERGES} COMMENT '${from}'`,
  );
  await engine.exec(
    `INSERT INTO ${slim}_building SELECT event, distinct_id, timestamp FROM ${database}.events
     WHERE timestamp >= ${at} AND uuid NOT IN (SELECT uuid FROM ${state} WHERE timestamp >= ${at})`,
  );
  await engine.exec(`RENAME TABLE ${slim}_building TO ${slim}`);
}

/** The first instant (ms) of the state view's table of `state`, or undefined when it has none. */
async function slimFrom(engine: ChdbEngine, state: string): Promise<number | undefined> {
  const [database, name] = slimTable(state).split('.') as [string, string];
  const [row] = await engine.objects<{ comment: string }>('SELECT comment FROM system.tables WHERE database = {db:String} AND name = {name:String}', {
    db: database,
    name,
  });
  return row === undefined || row.comment === '' ? undefined : Number(row.comment);
}

const instantSql = (ms: number) => `toDateTime64('${new Date(ms).toISOString().replace('T', ' ').replace('Z', '')}', 6, 'UTC')`;

/**
 * The embedded engine over one selection: before each query, `events` is a view of the selection's
 * events from W on plus its state events before W (see above), W being a week before the earliest
 * `from` among the queries in flight. A query without `from` or `prefix` reads every event.
 */
export class SelectionEngine implements Engine {
  readonly name: string;
  private readonly windowDb: string;
  /** The window the view has now (ms since epoch), or null for all events; changed one at a time. */
  private window: number | null | undefined;
  /** The prefix whose state events the view holds. */
  private prefix: string | undefined;
  /** Whether the view is the state view: events other than state events without their properties. */
  private slim = false;
  private inFlight = 0;
  /** Resolved when no query is in flight. */
  private readonly idleWaiters: Array<() => void> = [];
  /** The selection's earliest event (ms): a window before it needs no state (nothing lies before it). */
  private earliest: number | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly engine: ChdbEngine,
    readonly database: string,
    private readonly logger: Logger,
  ) {
    this.name = engine.name;
    this.windowDb = `${database}_window`;
  }

  async execute(request: ExecuteRequest): Promise<EngineResult> {
    const need = neededWindow(request.values);
    const prefix = typeof request.values.prefix === 'string' ? request.values.prefix : undefined;
    // A look-back (history_from) reads whatever the view holds before its `from`: over a view widened
    // for another query's earlier weeks it would read those weeks too (a one-week run of growth_weekly
    // reading the twelve of tracking_plan). It runs over its own window: it waits until the queries in
    // flight over another window are done. A query bounded by its own range is served by any window
    // up to its need, and runs alongside.
    const exact = 'history_from' in request.values;
    // A query served by state (QueryDefinition.servedByState) reads the state view when the state
    // is there; no other query ever reads that view.
    const slim = request.servedByState === true && prefix !== undefined;
    await this.serially(async () => {
      if (this.inFlight > 0 && !(await this.serves(need, prefix, exact, slim))) await this.idle();
      await this.widen(need, prefix, slim);
      this.inFlight++;
    });
    try {
      return await this.engine.execute(request);
    } finally {
      this.inFlight--;
      if (this.inFlight === 0) for (const wake of this.idleWaiters.splice(0)) wake();
    }
  }

  /** Whether the view as it is serves a query needing `need` (see execute). */
  private async serves(need: number | null, prefix: string | undefined, exact: boolean, slim: boolean): Promise<boolean> {
    if (this.window === undefined) return false;
    if (this.slim !== slim || (slim && this.prefix !== prefix)) return false;
    if (prefix !== undefined && this.window !== null && this.prefix !== prefix) return false;
    let target = need;
    if (target !== null) {
      this.earliest ??= await this.earliestEvent();
      if (target <= this.earliest) target = null;
    }
    if (exact) return target === this.window;
    return this.window === null || (target !== null && this.window <= target);
  }

  private idle(): Promise<void> {
    return this.inFlight === 0 ? Promise.resolve() : new Promise((wake) => this.idleWaiters.push(wake));
  }


  private serially<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => {});
    return run;
  }

  /**
   * Makes the view cover `need` (ms, or null: every event). While other queries run it only moves
   * earlier (what they read stays in the view); with none in flight it is set to exactly what this
   * query needs, so a later report week reads no more than its own weeks. A query without a prefix
   * reads only from its `from` on (protocol_usage), so any prefix's state, or none, serves it.
   */
  private async widen(need: number | null, prefix: string | undefined, slim: boolean): Promise<void> {
    let target: number | null;
    if (this.inFlight === 0 || this.window === undefined) target = need;
    else if (this.window === null || need === null) target = null;
    else target = Math.min(this.window, need);
    let statePrefix = prefix ?? (this.inFlight === 0 ? undefined : this.prefix);
    // Queries in flight over another prefix's state (never in a report): every event serves both.
    if (target !== null && prefix !== undefined && this.inFlight > 0 && this.window !== null && this.prefix !== undefined && prefix !== this.prefix) {
      target = null;
    }
    if (target !== null) {
      this.earliest ??= await this.earliestEvent();
      // Nothing lies before the window: every event is in it, and no state has to be derived.
      if (target <= this.earliest) target = null;
    }
    if (target === null) statePrefix = undefined;
    // The state view, for a query served by state (only ever set with no other query in flight:
    // serves() keeps every other query off it): where the window needs the state anyway, or
    // where it has been derived already (deriving it for one query costs more than it saves).
    let useSlim = false;
    if (this.inFlight > 0 && this.window !== undefined) {
      // Served by the view as it is (serves()): a state view stays one, with its state.
      useSlim = this.slim;
      if (useSlim) statePrefix = this.prefix;
    } else if (slim && prefix !== undefined) {
      if (target !== null) useSlim = true;
      else if (await this.engine.hasTable(stateTable(this.database, prefix))) {
        useSlim = true;
        statePrefix = prefix;
      }
    }
    if (target !== this.window || statePrefix !== this.prefix || useSlim !== this.slim) {
      let viewTable: string | undefined;
      await this.engine.exec(`CREATE DATABASE IF NOT EXISTS ${this.windowDb}`);
      if (target === null && !useSlim) {
        await this.engine.exec(`CREATE OR REPLACE VIEW ${this.windowDb}.events AS SELECT ${EVENTS_COLUMN_NAMES} FROM ${this.database}.events`);
      } else {
        const at = target === null ? undefined : instantSql(target);
        const state = statePrefix === undefined ? undefined : await deriveState(this.engine, this.database, statePrefix, this.logger);
        // The state view reads its table where the table holds the whole window (all events: from
        // the selection's first one on), else it tells the state events apart event by event.
        let table: string | undefined;
        if (useSlim && state !== undefined) {
          const from = await slimFrom(this.engine, state);
          this.earliest ??= await this.earliestEvent();
          if (from !== undefined && from <= (target ?? this.earliest)) table = slimTable(state);
        }
        await this.engine.exec(`CREATE OR REPLACE VIEW ${this.windowDb}.events AS\n` + windowView(`${this.database}.events`, at, state, useSlim, table));
        viewTable = table;
      }
      this.window = target;
      this.prefix = statePrefix;
      this.slim = useSlim;
      this.logger.debug('events view', {
        window: target === null ? 'every event' : new Date(target).toISOString(),
        state: statePrefix ?? null,
        slim: useSlim,
        ...(useSlim ? { from: viewTable === undefined ? 'events' : 'slim table' } : {}),
      });
    }
    // Another part of the program (CDN logs) may have switched the current database.
    await this.engine.exec(`USE ${this.windowDb}`);
  }

  /**
   * The selection's earliest event (ms), found once per selection and kept with it: the events are
   * sorted by (event, timestamp), so the minimum reads every timestamp (0.1 s at 104 weeks of
   * history, on every report).
   */
  private async earliestEvent(): Promise<number> {
    const table = `${this.database}.earliest_event`;
    if (!(await this.engine.hasTable(table))) {
      await this.engine.exec(`DROP TABLE IF EXISTS ${table}_building`);
      await this.engine.exec(
        `CREATE TABLE ${table}_building ENGINE = TinyLog AS SELECT toUnixTimestamp64Milli(min(timestamp)) AS ms FROM ${this.database}.events`,
      );
      await this.engine.exec(`RENAME TABLE ${table}_building TO ${table}`);
    }
    const [row] = await this.engine.objects<{ ms: number | string }>(`SELECT ms FROM ${table}`);
    return Number(row?.ms ?? 0);
  }
}

/**
 * The view's text: the events from `at` on (all of them when undefined) plus the state events
 * before it. The state view (slim) also serves every event from `at` on that is not a state event
 * without its properties ('{}'): a query served by state (QueryDefinition.servedByState) finds an
 * installation's latest OS or version before any instant on the latest change-point before it,
 * which is a state event, and each version's first prefixed carrier is one too, so no other
 * event's properties can change its answer, and its JSON lookups skip them (a text without the key
 * is not parsed: event-fields.ts). Each event is in the view once (uuids are unique in a selection;
 * state events are real events of it). With `table` (slimTable, holding the window) those other
 * events come from it, which holds them alone: the state events are not looked for among them,
 * and only the columns a query served by state reads are kept (the others are empty).
 */
function windowView(events: string, at: string | undefined, state: string | undefined, slim: boolean, table?: string): string {
  const from = at === undefined ? [] : [`timestamp >= ${at}`];
  if (!slim || state === undefined) {
    const parts = [`SELECT ${EVENTS_COLUMN_NAMES} FROM ${events}${from.length ? ` WHERE ${from[0]}` : ''}`];
    if (state !== undefined && at !== undefined) parts.push(`SELECT ${EVENTS_COLUMN_NAMES} FROM ${state} WHERE timestamp < ${at}`);
    return parts.join('\nUNION ALL\n');
  }
  if (table !== undefined) {
    return `SELECT ${FROM_SLIM_TABLE} FROM ${table}${from.length ? ` WHERE ${from[0]}` : ''}\nUNION ALL\nSELECT ${EVENTS_COLUMN_NAMES} FROM ${state}`;
  }
  const others = [...from, `uuid NOT IN (SELECT uuid FROM ${state}${from.length ? ` WHERE ${from[0]}` : ''})`].join(' AND ');
  return `SELECT ${WITHOUT_PROPERTIES} FROM ${events} WHERE ${others}\nUNION ALL\nSELECT ${EVENTS_COLUMN_NAMES} FROM ${state}`;
}

/** The events' columns with both property columns '{}' (an object without keys). */
const WITHOUT_PROPERTIES = EVENTS_COLUMN_NAMES.split(', ')
  .map((c) => (c === 'properties' || c === '`person.properties`' ? `'{}' AS ${c}` : c))
  .join(', ');

/**
 * The events' columns from the state view's table: event, distinct_id and timestamp as kept, the
 * rest empty (a query served by state reads no other column: the registry test checks it).
 */
export const SLIM_TABLE_COLUMNS = ['event', 'distinct_id', 'timestamp'];
const FROM_SLIM_TABLE = EVENTS_COLUMN_NAMES.split(', ')
  .map((c) => {
    if (SLIM_TABLE_COLUMNS.includes(c)) return c;
    if (c === 'properties' || c === '`person.properties`') return `'{}' AS ${c}`;
    if (c === 'created_at') return `CAST(NULL AS Nullable(DateTime64(6, 'UTC'))) AS ${c}`;
    return `'' AS ${c}`;
  })
  .join(', ');

/** A week before the query's `from` (ms), or null when it has none. */
function neededWindow(values: Record<string, unknown>): number | null {
  const from = values.from;
  if (typeof from !== 'string') return null;
  const at = Date.parse(`${from.slice(0, 10)}T${from.slice(11, 23)}Z`);
  return Number.isNaN(at) ? null : at - LOOK_BACK_MS;
}

/**
 * The engine a report, `query` or backfill runs on over a selection: its weeks plus derived state
 * (SelectionEngine), with closed weeks reused across runs (src/engine/week-cache.ts), kept under
 * `<dataDir>/week-cache` and keyed by a fingerprint of the selection's events before each week's end.
 */
export function selectionEngine(engine: ChdbEngine, database: string, options: { dataDir: string; logger: Logger; now?: () => number }): WeekReuseEngine {
  return new WeekReuseEngine(new SelectionEngine(engine, database, options.logger), {
    dir: join(options.dataDir, 'week-cache'),
    fingerprint: selectionFingerprint(engine, database),
    logger: options.logger,
    ...(options.now ? { now: options.now } : {}),
  });
}
