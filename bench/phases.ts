/**
 * One benchmark measurement, run in its own process by bench/run.ts so that its peak memory
 * (maxRSS: Node and the embedded engine together, chdb runs in-process) belongs to it alone.
 * Prints one JSON line: { phase, seconds[], cpuSeconds? (load phases: CPU of every thread, which on
 * a shared machine depends much less on the neighbours than seconds do), maxRssMb, check? }.
 */
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ChdbEngine } from '../src/engine/chdb-engine.ts';
import { EventStore } from '../src/sources/event-store.ts';
import { discoverFiles } from '../src/sources/discover.ts';
import { EXPORT_KINDS, exportFormatOf } from '../src/sources/posthog-export.ts';
import { memoryLogger, silentLogger } from '../src/lib/logger.ts';
import { loadCatalog, catalogArrays } from '../src/config/catalog.ts';
import { DEFAULT_CATALOG, DEFAULT_CLUSTER_SHARE, DEFAULT_TRACKING_PLAN } from '../src/config/config.ts';
import { loadTrackingPlan } from '../src/config/tracking-plan.ts';
import { collectWeeklyResults, standardParams } from '../src/jobs/weekly-report.ts';
import { runQuery } from '../src/engine/run-query.ts';
import { queries } from '../src/queries/index.ts';
import { previousWeek, toInstant } from '../src/reports/period.ts';
import type { WeeklyResults } from '../src/reports/weekly-report.ts';
import { parseWeek } from '../src/reports/period.ts';
import { baselineReportSql, normalizeBaseline, normalizeOurs } from './baseline.ts';
import { SelectionEngine, deriveState, lastTable, selectionEngine, stateTable } from '../src/sources/installation-state.ts';
import { selectionFingerprint } from '../src/sources/selection-fingerprint.ts';
import { lastWeeksFiles } from './history-data.ts';
import { boundHistory } from '../src/engine/horizon.ts';
import { DEFAULT_HORIZON_WEEKS } from '../src/config/config.ts';
import { Session } from 'chdb';
import { toClickHousePlaceholders } from '../src/engine/params.ts';
import { EVENTS_COLUMNS, EVENTS_COLUMN_NAMES } from '../src/sources/event-store.ts';

const [phase, storeDir, eventsDir, weekLabel, repsArg, weeksArg] = process.argv.slice(2) as [string, string, string, string, string?, string?];
const reps = Number(repsArg ?? 3);
/** History phases: the last this many weeks of the history data. */
const historyWeeks = Number(weeksArg ?? 0);

function maxRssMb(): number {
  return Math.round(process.resourceUsage().maxRSS / 1024);
}

/** CPU seconds of this process so far (every thread: the embedded engine's included). */
let cpuSeconds = 0;

async function timed<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const t = process.hrtime.bigint();
  const c = process.cpuUsage();
  const v = await fn();
  const used = process.cpuUsage(c);
  cpuSeconds = (used.user + used.system) / 1e6;
  return [Number(process.hrtime.bigint() - t) / 1e9, v];
}

/** The report phases' store (in storeDir) and its selection of every file in eventsDir (loaded and selected once, then cached). */
async function openReportSelection() {
  const engine = ChdbEngine.open(join(storeDir, 'clickhouse'));
  const store = new EventStore(engine, storeDir, silentLogger);
  await store.init();
  const found = await discoverFiles([eventsDir], (n) => exportFormatOf(n) !== undefined, { flag: '--events', kinds: EXPORT_KINDS });
  return { engine, selection: await store.select(await store.load(found.files)) };
}

/** The history phases' store (in storeDir) and the files of the last `historyWeeks` weeks. */
async function openHistory() {
  const engine = ChdbEngine.open(join(storeDir, 'clickhouse'));
  const store = new EventStore(engine, storeDir, silentLogger);
  await store.init();
  const found = await discoverFiles(await lastWeeksFiles(eventsDir, historyWeeks), (n) => exportFormatOf(n) !== undefined, { flag: '--events', kinds: EXPORT_KINDS });
  return { engine, store, files: found.files };
}

async function main(): Promise<void> {
  const out: Record<string, unknown> = { phase };
  if (phase === 'load-baseline') {
    // Hand-written: one INSERT of every file through ClickHouse's own JSONEachRow reader into a plain
    // table; no validation, no per-file counts, no deduplication.
    rmSync(storeDir, { recursive: true, force: true });
    mkdirSync(storeDir, { recursive: true });
    const engine = ChdbEngine.open(storeDir);
    await engine.exec(`CREATE TABLE t (uuid String, event String, distinct_id String, properties String, person_properties String,
        timestamp DateTime64(6, 'UTC')) ENGINE = MergeTree ORDER BY (event, timestamp)`);
    const [s] = await timed(() =>
      engine.exec(`INSERT INTO t SELECT uuid, event, distinct_id, properties, person_properties, parseDateTime64BestEffortOrZero(timestamp, 6, 'UTC')
        FROM file('${eventsDir}/*.jsonl.gz', 'JSONEachRow',
          'uuid String, event String, distinct_id String, properties String, person_properties String, timestamp String')
        SETTINGS input_format_allow_errors_ratio = 1, input_format_json_read_objects_as_strings = 1`),
    );
    out.seconds = [s];
    out.cpuSeconds = cpuSeconds;
    // What the plain ingest kept: JSONEachRow skips a bad line together with the lines after it up
    // to where its braces balance, so it keeps fewer records than the files hold.
    out.events = Number((await engine.objects<{ n: number }>('SELECT count() AS n FROM t'))[0]?.n ?? 0);
    engine.close();
  } else if (phase === 'load-ours') {
    rmSync(storeDir, { recursive: true, force: true });
    const engine = ChdbEngine.open(join(storeDir, 'clickhouse'));
    const store = new EventStore(engine, storeDir, silentLogger);
    await store.init();
    const [s, sel] = await timed(async () => {
      const found = await discoverFiles([eventsDir], (n) => exportFormatOf(n) !== undefined, { flag: '--events', kinds: EXPORT_KINDS });
      return store.select(await store.load(found.files));
    });
    out.seconds = [s];
    out.cpuSeconds = cpuSeconds;
    out.events = sel.events;
    out.duplicates = sel.duplicates;
    out.heapUsedMb = Math.round(process.memoryUsage().heapUsed / 1048576);
    engine.close();
  } else if (phase === 'derive-state') {
    // The selection's state, derived once and kept with it (installation-state.ts): timed on its own.
    const { engine, selection } = await openReportSelection();
    await engine.exec(`DROP TABLE IF EXISTS ${stateTable(selection.database, 'connect.')}`);
    const [s] = await timed(() => deriveState(engine, selection.database, 'connect.', silentLogger));
    out.seconds = [s];
    out.derived = [s, cpuSeconds];
    engine.close();
  } else if (phase === 'report-ours' || phase === 'report-state' || phase === 'report-core' || phase === 'report-baseline') {
    const { engine, selection } = await openReportSelection();
    // The bench week's data has no history before the look-backs' windows, so a report derives no
    // state: 'report-ours' measures that (any state a run before left is dropped). 'report-state'
    // measures the report once the selection's state is derived, as it is for any selection with
    // history before the period (installation-state.ts); the derivation, done once per selection,
    // is timed on its own.
    // The state is derived in a process of its own ('derive-state', run just before), as it is kept
    // with the selection: every report but the first over a selection finds it so, and the first is
    // measured as the two parts (the derivation, timed on its own, and this).
    const state = stateTable(selection.database, 'connect.');
    if (phase === 'report-state') {
      if (!(await engine.hasTable(state))) throw new Error('report-state: run derive-state first');
    } else {
      await engine.exec(`DROP TABLE IF EXISTS ${state}`);
    }
    // The report as the CLI runs it: through the selection's engine (its weeks plus derived state).
    const events = new SelectionEngine(engine, selection.database, silentLogger);
    const catalog = await loadCatalog(DEFAULT_CATALOG);
    const plan = await loadTrackingPlan(DEFAULT_TRACKING_PLAN);
    const week = parseWeek(weekLabel, 'UTC', new Date());
    const seconds: number[] = [];
    // CPU seconds of every thread per run: on a shared machine wall time also measures the neighbours.
    const cpuRuns: number[] = [];
    let check: unknown;
    for (let i = 0; i < reps; i++) {
      const cpu = process.cpuUsage();
      if (phase === 'report-ours' || phase === 'report-state') {
        // The whole weekly report: 8 queries (growth and versions look back over all history).
        const [s, results] = await timed(() =>
          collectWeeklyResults({ engine: events, catalog, eventPrefix: 'connect.', plan, clusterShare: DEFAULT_CLUSTER_SHARE, logger: silentLogger }, week),
        );
        seconds.push(s);
        check = normalizeOurs(results);
      } else if (phase === 'report-core') {
        // Only the queries whose aggregates the baseline computes, run the same way (at once): like for like.
        const params = standardParams({ catalog, eventPrefix: 'connect.' }, { from: toInstant(previousWeek(week).start), to: toInstant(week.end) }, 'UTC');
        const weekly = { ...params, from: toInstant(week.start.minus({ weeks: 11 })) };
        const [s, results] = await timed(async () => {
          const [daily, wk, features, protocols, platforms] = await Promise.all([
            runQuery(engine, queries.active_users_daily, params),
            runQuery(engine, queries.active_users_weekly, weekly),
            runQuery(engine, queries.feature_usage, params),
            runQuery(engine, queries.protocol_usage, params),
            runQuery(engine, queries.platform_share, params),
          ]);
          return { daily, weekly: wk, features, protocols, platforms } as WeeklyResults;
        });
        seconds.push(s);
        check = normalizeOurs(results);
      } else {
        const sql = baselineReportSql(week, catalogArrays(catalog), catalog.features.find((f) => f.id === 'protocol_use')!.events);
        const [s, rows] = await timed(() => engine.rows(sql));
        seconds.push(s);
        check = normalizeBaseline(rows.rows);
      }
      const used = process.cpuUsage(cpu);
      cpuRuns.push((used.user + used.system) / 1e6);
    }
    out.seconds = seconds;
    out.cpu = cpuRuns;
    out.check = check;
    engine.close();
  } else if (phase === 'history-prepare') {
    // Not measured as the report: load the last N weeks' files, make the selection, derive its state
    // (what the first report over a new selection does once), and a stand-in-shaped copy for rows read.
    const { engine, store, files } = await openHistory();
    // Loaded as Mondays load them: the newest week's files in a load of their own (a partition the
    // new selection attaches beside last Monday's: history-monday).
    const byPath = [...files].sort((a, b) => (a.path < b.path ? -1 : 1));
    const [loadS, loaded] = await timed(async () => {
      await store.load(byPath.slice(0, -7));
      return store.load(files);
    });
    const [selectS, selection] = await timed(() => store.select(loaded));
    const [stateS] = await timed(() => deriveState(engine, selection.database, 'connect.', silentLogger));
    // Last Monday's report (the week before), over this selection, with nothing kept yet: it keeps its
    // weeks, as the report a week earlier would have (weeks before W47 do not change with W47's events,
    // so their fingerprints are the same as over last week's files). The measured report reuses them.
    rmSync(join(storeDir, 'prepared'), { recursive: true, force: true });
    const reuse = selectionEngine(engine, selection.database, { dataDir: join(storeDir, 'prepared'), logger: silentLogger });
    const catalog = await loadCatalog(DEFAULT_CATALOG);
    const plan = await loadTrackingPlan(DEFAULT_TRACKING_PLAN);
    const lastWeek = previousWeek(parseWeek(weekLabel, 'UTC', new Date()));
    const [previousS] = await timed(() =>
      collectWeeklyResults({ engine: reuse, catalog, eventPrefix: 'connect.', plan, clusterShare: DEFAULT_CLUSTER_SHARE, logger: silentLogger }, lastWeek),
    );
    out.seconds = [loadS, selectS, stateS, previousS];
    out.events = selection.events;
    // The PostHog stand-in's table (test/standins/posthog/server.ts): MergeTree ORDER BY (event, timestamp), read through a view.
    const db = `standin_${historyWeeks}w`;
    // Made once per data folder: made again on every run, its merges ran during the measured reports.
    const [made] = await engine.objects<{ n: number }>(`SELECT count() AS n FROM system.tables WHERE database = '${db}' AND name = 'events'`);
    if (Number(made?.n) !== 1) {
      await engine.exec(`DROP DATABASE IF EXISTS ${db}`);
      await engine.exec(`CREATE DATABASE ${db}`);
      await engine.exec(`CREATE TABLE ${db}.events_base (${EVENTS_COLUMNS}) ENGINE = MergeTree ORDER BY (event, timestamp)`);
      await engine.exec(`INSERT INTO ${db}.events_base SELECT ${EVENTS_COLUMN_NAMES} FROM ${selection.database}.events`);
      await engine.exec(`CREATE VIEW ${db}.events AS SELECT uuid, event, distinct_id, person_id, properties, \`person.properties\`,
          toTimeZone(timestamp, 'UTC') AS timestamp, toTimeZone(created_at, 'UTC') AS created_at, elements_chain FROM ${db}.events_base`);
    }
    engine.close();
  } else if (phase === 'history-monday') {
    // Monday's new selection: last Monday's files (every week but the newest) are selected, with
    // their state and fingerprints (not measured: last Monday's run made them); then this Monday's
    // selection (the prepared one) has its state and fingerprints derived from them, and, to compare,
    // from every event (the parent's tables dropped). Both ways must give the same tables.
    // This Monday's selection is made again, grown from last Monday's (measured; it must hold the
    // same events as the prepared one, made from every file).
    const manifestPath = join(storeDir, 'events-manifest.json');
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { selections: Record<string, { database: string; files: string[]; events: number }> };
    const [fullKey, full] = Object.entries(manifest.selections).sort((a, b) => b[1].files.length - a[1].files.length)[0]!;
    const { engine, store: plain, files } = await openHistory();
    const byPath = [...files].sort((a, b) => (a.path < b.path ? -1 : 1));
    const parent = await plain.select(await plain.load(byPath.slice(0, -7)));
    if (parent.database !== full.database) {
      await engine.exec(`DROP DATABASE IF EXISTS ${full.database}`);
      await engine.exec(`DROP DATABASE IF EXISTS ${full.database}_window`);
      const m = JSON.parse(readFileSync(manifestPath, 'utf8')) as typeof manifest;
      delete m.selections[fullKey];
      writeFileSync(manifestPath, JSON.stringify(m, null, 1));
    }
    const grownLog = memoryLogger();
    const store = new EventStore(engine, storeDir, grownLog);
    await store.init();
    const loadedAll = await store.load(files);
    // As this version derives it (a state kept by an earlier version lacks the last-event table).
    if (!(await engine.hasTable(lastTable(stateTable(parent.database, 'connect.'))))) {
      await engine.exec(`DROP TABLE IF EXISTS ${stateTable(parent.database, 'connect.')}`);
    }
    await deriveState(engine, parent.database, 'connect.', silentLogger);
    await selectionFingerprint(engine, parent.database)(0);
    const [selectS, child] = await timed(() => store.select(loadedAll));
    const cpuSelect = cpuSeconds;
    if (child.events !== full.events) throw new Error(`history-monday: the grown selection holds ${child.events} events, the one made from every file ${full.events}`);
    if (!grownLog.records.some((r) => r.msg === 'selection grown from a kept one')) throw new Error('history-monday: the selection was not grown from last Monday\'s (files loaded in one load?)');
    const drop = async (db: string) => {
      await engine.exec(`DROP TABLE IF EXISTS ${stateTable(db, 'connect.')}`);
      await engine.exec(`DROP TABLE IF EXISTS ${db}.event_fingerprints`);
    };
    const derive = async () => {
      await deriveState(engine, child.database, 'connect.', silentLogger);
      return selectionFingerprint(engine, child.database)(Date.parse('2026-11-23T00:00:00Z'));
    };
    const tables = async () =>
      (await engine.objects<{ s: string }>(`SELECT toString(groupArray(toString(uuid))) AS s FROM (SELECT uuid FROM ${stateTable(child.database, 'connect.')} ORDER BY uuid)`))[0]!.s;
    await drop(child.database);
    const [fromParent, fpParent] = await timed(derive);
    const cpuParent = cpuSeconds;
    const stateParent = await tables();
    // From every event: the parent's tables set aside (renamed), so that no parent is found.
    await drop(child.database);
    const parentTables = [stateTable(parent.database, 'connect.'), `${parent.database}.event_fingerprints`];
    for (const t of parentTables) await engine.exec(`RENAME TABLE ${t} TO ${t}_aside`);
    const [fromAll, fpAll] = await timed(derive);
    const cpuAll = cpuSeconds;
    for (const t of parentTables) await engine.exec(`RENAME TABLE ${t}_aside TO ${t}`);
    if (fpParent !== fpAll || stateParent !== (await tables())) throw new Error('history-monday: the state or fingerprints derived from last Monday differ from those from every event');
    out.seconds = [fromParent, fromAll, selectS];
    out.cpu = [cpuParent, cpuAll, cpuSelect];
    out.events = child.events;
    engine.close();
  } else if (phase === 'history-report') {
    const { engine, store, files } = await openHistory();
    const selection = await store.select(await store.load(files));
    if (!selection.reused) throw new Error('history-report: the selection was not prepared');
    // "Already loaded": the engine's background merges of what preparing wrote are done before timing.
    for (let waited = 0; waited < 600; waited++) {
      const [m] = await engine.objects<{ n: number }>('SELECT count() AS n FROM system.merges');
      if (Number(m?.n ?? 0) === 0) break;
      await new Promise((r) => setTimeout(r, 1000));
    }
    const catalog = await loadCatalog(DEFAULT_CATALOG);
    const plan = await loadTrackingPlan(DEFAULT_TRACKING_PLAN);
    const week = parseWeek(weekLabel, 'UTC', new Date());
    const seconds: number[] = [];
    const cpuSeconds: number[] = [];
    for (let i = 0; i < reps; i++) {
      // Each run starts from what last Monday's report kept (a fresh copy: this run's own week is
      // computed every time, never taken from the run before).
      const dataDir = join(storeDir, 'measured');
      rmSync(dataDir, { recursive: true, force: true });
      cpSync(join(storeDir, 'prepared'), dataDir, { recursive: true });
      const events = selectionEngine(engine, selection.database, { dataDir, logger: silentLogger });
      // CPU seconds of every thread too: on a shared machine wall time also measures the neighbours.
      const cpu = process.cpuUsage();
      const [s] = await timed(() => collectWeeklyResults({ engine: events, catalog, eventPrefix: 'connect.', plan, clusterShare: DEFAULT_CLUSTER_SHARE, logger: silentLogger }, week));
      const used = process.cpuUsage(cpu);
      cpuSeconds.push((used.user + used.system) / 1e6);
      seconds.push(s);
      out.weeks = events.stats;
    }
    out.seconds = seconds;
    out.cpu = cpuSeconds;
    out.events = selection.events;
    engine.close();
  } else if (phase === 'history-rows') {
    // Rows ClickHouse reads for one weekly report as PostHog would run it: the eight queries' text with
    // the report's values, history_from bounded by the default horizon, on the stand-in's table.
    const session = new Session(join(storeDir, 'clickhouse'));
    const catalog = await loadCatalog(DEFAULT_CATALOG);
    const plan = await loadTrackingPlan(DEFAULT_TRACKING_PLAN);
    const week = parseWeek(weekLabel, 'UTC', new Date());
    session.query(`USE standin_${historyWeeks}w`);
    const rowsRead: Record<string, number> = {};
    // The report's own requests (its values), answered by this session as the stand-in would.
    const posthogLike = {
      name: 'posthog',
      execute: async (request: { queryId: string; sql: string; values: Record<string, unknown>; specs: Parameters<typeof toClickHousePlaceholders>[1] }) => {
        const values = boundHistory(request.values, DEFAULT_HORIZON_WEEKS);
        // JSON output ends with the query's statistics: rows_read counts every row the query read from
        // its tables, subqueries included (chdb's own rowsRead counts the result's rows).
        const r = await session.queryBindAsync(toClickHousePlaceholders(request.sql, request.specs), values, { format: 'JSON' });
        const parsed = JSON.parse(r.text()) as { meta: Array<{ name: string }>; data: Array<Record<string, unknown>>; statistics: { rows_read: number } };
        rowsRead[request.queryId] = Number(parsed.statistics.rows_read);
        const columns = parsed.meta.map((m) => m.name);
        return { columns, rows: parsed.data.map((row) => columns.map((c) => row[c])) };
      },
    };
    await collectWeeklyResults({ engine: posthogLike, catalog, eventPrefix: 'connect.', plan, clusterShare: DEFAULT_CLUSTER_SHARE, logger: silentLogger }, week);
    out.rowsRead = rowsRead;
    out.seconds = [];
    session.close();
  } else {
    throw new Error(`unknown phase ${phase}`);
  }
  out.maxRssMb = maxRssMb();
  process.stdout.write(JSON.stringify(out) + '\n');
}

await main();
