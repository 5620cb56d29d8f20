/**
 * One benchmark measurement, run in its own process by bench/run.ts so that its peak memory
 * (maxRSS: Node and the embedded engine together, chdb runs in-process) belongs to it alone.
 * Prints one JSON line: { phase, seconds[], maxRssMb, check? }.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ChdbEngine } from '../src/engine/chdb-engine.ts';
import { EventStore } from '../src/sources/event-store.ts';
import { discoverFiles } from '../src/sources/discover.ts';
import { EXPORT_KINDS, exportFormatOf } from '../src/sources/posthog-export.ts';
import { silentLogger } from '../src/lib/logger.ts';
import { loadCatalog, catalogArrays } from '../src/config/catalog.ts';
import { DEFAULT_CATALOG } from '../src/config/config.ts';
import { collectWeeklyResults, standardParams } from '../src/jobs/weekly-report.ts';
import { runQuery } from '../src/engine/run-query.ts';
import { queries } from '../src/queries/index.ts';
import { previousWeek, toInstant } from '../src/reports/period.ts';
import type { WeeklyResults } from '../src/reports/weekly-report.ts';
import { parseWeek } from '../src/reports/period.ts';
import { baselineReportSql, normalizeBaseline, normalizeOurs } from './baseline.ts';

const [phase, storeDir, eventsDir, weekLabel, repsArg] = process.argv.slice(2) as [string, string, string, string, string?];
const reps = Number(repsArg ?? 3);

function maxRssMb(): number {
  return Math.round(process.resourceUsage().maxRSS / 1024);
}

async function timed<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const t = process.hrtime.bigint();
  const v = await fn();
  return [Number(process.hrtime.bigint() - t) / 1e9, v];
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
    out.events = sel.events;
    out.duplicates = sel.duplicates;
    out.heapUsedMb = Math.round(process.memoryUsage().heapUsed / 1048576);
    engine.close();
  } else if (phase === 'report-ours' || phase === 'report-core' || phase === 'report-baseline') {
    const engine = ChdbEngine.open(join(storeDir, 'clickhouse'));
    const store = new EventStore(engine, storeDir, silentLogger);
    await store.init();
    const found = await discoverFiles([eventsDir], (n) => exportFormatOf(n) !== undefined, { flag: '--events', kinds: EXPORT_KINDS });
    await store.select(await store.load(found.files)); // cached: makes the selection current
    const catalog = await loadCatalog(DEFAULT_CATALOG);
    const week = parseWeek(weekLabel, 'UTC', new Date());
    const seconds: number[] = [];
    let check: unknown;
    for (let i = 0; i < reps; i++) {
      if (phase === 'report-ours') {
        // The whole weekly report: 8 queries (growth and versions look back over all history).
        const [s, results] = await timed(() => collectWeeklyResults({ engine, catalog, eventPrefix: 'connect.', logger: silentLogger }, week));
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
    }
    out.seconds = seconds;
    out.check = check;
    engine.close();
  } else {
    throw new Error(`unknown phase ${phase}`);
  }
  out.maxRssMb = maxRssMb();
  process.stdout.write(JSON.stringify(out) + '\n');
}

await main();
