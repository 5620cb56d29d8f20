/**
 * `npm run bench`: loading and reporting over a generated export (default 10 million events over
 * two ISO weeks, 200k installations), each beside a hand-written baseline measured in the same run,
 * with the ratio and the peak memory (maxRSS) of each measurement's own process.
 *
 *   npm run bench                          # 10M events, then 20M CDN log lines
 *   npm run bench -- --events 1000000      # smaller, quicker
 *   npm run bench -- --only downloads --log-lines 2000000
 *   npm run bench -- --only report         # the report phases only (10M events; loads them once if needed)
 *   npm run bench -- --only load           # the load phases only, on both data sets (see readable below)
 *   npm run bench -- --only history        # the same report week over 4, 13, 52, 104 weeks of history, and rows read on the PostHog stand-in's table
 *   npm run bench -- --only history --weeks 4,13,52
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { writeDemoExport } from '../src/demo/generator.ts';
import { runDownloadsBench } from './downloads.ts';
import { runHistoryBench } from './history.ts';

const args = process.argv.slice(2);
const flag = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const targetEvents = flag('events', 10_000_000);
const installations = flag('installations', 200_000);
const reps = flag('reps', 3);
const logLines = flag('log-lines', 20_000_000);
const weeksIndex = args.indexOf('--weeks');
/** History sizes (weeks) for the history bench, e.g. `--weeks 4,13,52`; default 4, 13, 52, 104. */
const historyWeeks = weeksIndex >= 0 ? args[weeksIndex + 1]!.split(',').map(Number) : undefined;
const onlyIndex = args.indexOf('--only');
const only = onlyIndex >= 0 ? args[onlyIndex + 1] : undefined;

// Two full ISO weeks, UTC: 2026-W46 and 2026-W47 (the report week).
const START = new Date('2026-11-09T00:00:00Z');
const END = new Date('2026-11-23T00:00:00Z');
const WEEK = '2026-W47';

const root = resolve(import.meta.dirname, '.cache');
// Measured on the generator: each unit of eventsPerActiveDay gives about 0.30 events per installation
// and day over a two-week range, so this sizes the export to about targetEvents events.
const eventsPerActiveDay = Math.max(1, targetEvents / (installations * 14 * 0.3));

/**
 * The generated export. `readable`: the same events whose bad records are all whole JSON lines (no
 * distinct_id, unparsable timestamp) and none truncated. A truncated line makes the plain
 * JSONEachRow ingest skip the lines after it up to where its braces balance (measured: it keeps
 * about half of the 10M records), so its time on the as-generated files is not the time of loading
 * them; on the readable files it reads every record, like for like.
 */
async function ensureData(readable = false): Promise<string> {
  const dir = join(root, `events-${targetEvents}-${installations}${readable ? '-readable' : ''}`);
  if (existsSync(join(dir, '.complete'))) return dir;
  const tmp = `${dir}.partial`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  process.stdout.write(`generating ~${(targetEvents / 1e6).toFixed(1)}M events (${installations} installations) into ${dir} ...\n`);
  const t = Date.now();
  const r = await writeDemoExport(tmp, { seed: 7, start: START, end: END, installations, eventsPerActiveDay, badRecords: true, truncatedLines: !readable });
  await writeFile(join(tmp, '.complete'), JSON.stringify(r.records));
  await rm(dir, { recursive: true, force: true });
  await rename(tmp, dir);
  process.stdout.write(`generated ${r.records} records in ${r.files.length} files in ${((Date.now() - t) / 1000).toFixed(1)} s (not measured below)\n`);
  return dir;
}

interface PhaseResult {
  phase: string;
  seconds: number[];
  /** Load phases: CPU seconds of every thread (the wall time on a shared machine is mostly the neighbours'). */
  cpuSeconds?: number;
  maxRssMb: number;
  events?: number;
  duplicates?: number;
  heapUsedMb?: number;
  check?: string[];
  rowsRead?: Record<string, number>;
  /** CPU seconds (every thread) per run, report phases. */
  cpu?: number[];
  /** report-state: the state's derivation, [seconds, CPU seconds]. */
  derived?: [number, number];
}

function phase(name: string, store: string, events: string, repsForPhase = 1, week = WEEK, weeks = 0): PhaseResult {
  const out = execFileSync(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'phases.ts'), name, store, events, week, String(repsForPhase), String(weeks)], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 64 * 1024 * 1024,
  });
  return JSON.parse(out.trim().split('\n').pop()!) as PhaseResult;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (s: number) => `${s.toFixed(2)} s`;

async function main(): Promise<void> {
  if (only === 'history') {
    await runHistoryBench({ root, reps, weeks: historyWeeks, out: (t) => process.stdout.write(t), phase: (name, store, events, week, r, weeks) => phase(name, store, events, r, week, weeks) });
    return;
  }
  if (only !== 'events' && only !== 'report' && only !== 'load') {
    const ok = await runDownloadsBench({ lines: logLines, root, out: (t) => process.stdout.write(t) });
    if (!ok) process.exitCode = 1;
    if (only === 'downloads') return;
    process.stdout.write('\n');
  }
  const events = await ensureData();
  const work = join(root, 'work');
  process.stdout.write(`machine: ${process.platform} ${process.arch}, node ${process.version}\n\n`);

  const skipLoad = only === 'report';
  const loadBase = skipLoad ? undefined : phase('load-baseline', join(work, 'baseline'), events);
  const loadOurs = skipLoad ? undefined : phase('load-ours', join(work, 'ours'), events);
  // The same load on the readable files (the plain ingest reads every record); their stores are not kept.
  const readableEvents = skipLoad ? undefined : await ensureData(true);
  const loadBaseReadable = readableEvents ? phase('load-baseline', join(work, 'baseline-readable'), readableEvents) : undefined;
  const loadOursReadable = readableEvents ? phase('load-ours', join(work, 'ours-readable'), readableEvents) : undefined;
  if (readableEvents) {
    await rm(join(work, 'baseline-readable'), { recursive: true, force: true });
    await rm(join(work, 'ours-readable'), { recursive: true, force: true });
  }
  const loadRows = (label: string, ours: PhaseResult, base: PhaseResult): Array<[string, string, string, string, string, string]> => [
    [
      `${label}: ${ours.events} events kept (${ours.duplicates} duplicates removed); plain ingest kept ${base.events}`,
      fmt(ours.seconds[0]!),
      fmt(base.seconds[0]!),
      (ours.seconds[0]! / base.seconds[0]!).toFixed(2),
      `${ours.maxRssMb} MB`,
      `${base.maxRssMb} MB`,
    ],
    ...(ours.cpuSeconds !== undefined && base.cpuSeconds !== undefined
      ? [['  the same load, CPU seconds (all threads)', fmt(ours.cpuSeconds), fmt(base.cpuSeconds), (ours.cpuSeconds / base.cpuSeconds).toFixed(2), '', ''] as [string, string, string, string, string, string]]
      : []),
  ];
  if (only === 'load') {
    const rows: Array<[string, string, string, string, string, string]> = [
      ['measurement', 'connect-metrics', 'baseline', 'ratio', 'peak RSS ours', 'peak RSS baseline'],
      ...loadRows('load, files as generated (3-6 bad records a file, at least one truncated)', loadOurs!, loadBase!),
      ...loadRows('load, readable files (bad records whole JSON)', loadOursReadable!, loadBaseReadable!),
    ];
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    for (const r of rows) process.stdout.write(r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ') + '\n');
    return;
  }
  // One run of each measurement per round, the rounds one after another: a 2-core machine's
  // neighbours change from minute to minute (the same report's CPU seconds moved by a third between
  // runs minutes apart), so measuring all of one and then all of the next made the ratios measure the
  // neighbours too; interleaved, every measurement sees each stretch of them.
  const rounds: Array<Record<'base' | 'ours' | 'core' | 'state', PhaseResult>> = [];
  for (let i = 0; i < reps; i++) {
    const base = phase('report-baseline', join(work, 'ours'), events, 1);
    const ours = phase('report-ours', join(work, 'ours'), events, 1);
    const core = phase('report-core', join(work, 'ours'), events, 1);
    // The state is derived in a process of its own and kept with the selection; the report then
    // finds it there, as every report after the first over a selection does.
    const { derived } = phase('derive-state', join(work, 'ours'), events, 1);
    rounds.push({ base, ours, core, state: { ...phase('report-state', join(work, 'ours'), events, 1), derived } });
  }
  const merged = (key: 'base' | 'ours' | 'core' | 'state'): PhaseResult => {
    const runs = rounds.map((r) => r[key]);
    const derived = runs.flatMap((r) => (r.derived ? [r.derived] : []));
    return {
      phase: runs[0]!.phase,
      seconds: runs.flatMap((r) => r.seconds),
      cpu: runs.flatMap((r) => r.cpu ?? []),
      maxRssMb: Math.max(...runs.map((r) => r.maxRssMb)),
      check: runs[runs.length - 1]!.check,
      ...(derived.length ? { derived: [median(derived.map((d) => d[0])), median(derived.map((d) => d[1]))] as [number, number] } : {}),
    };
  };
  const repBase = merged('base');
  const repOurs = merged('ours');
  const repCore = merged('core');
  const repState = merged('state');
  const roundRatios = (key: 'ours' | 'core' | 'state') => rounds.map((r) => (r[key].seconds[0]! / r.base.seconds[0]!).toFixed(2)).join(', ');

  const cpuOf = (r: PhaseResult) => (r.cpu?.length ? median(r.cpu) : undefined);
  const agree = rounds.every((r) => [r.ours, r.core, r.state].every((x) => JSON.stringify(r.base.check) === JSON.stringify(x.check)));
  const [derivedS, derivedCpu] = repState.derived ?? [NaN, NaN];
  const rows: Array<[string, string, string, string, string, string]> = [
    ['measurement', 'connect-metrics', 'baseline', 'ratio', 'peak RSS ours', 'peak RSS baseline'],
    ...(loadOurs && loadBase ? loadRows('load, files as generated (3-6 bad records a file, at least one truncated)', loadOurs, loadBase) : []),
    ...(loadOursReadable && loadBaseReadable ? loadRows('load, readable files (bad records whole JSON)', loadOursReadable, loadBaseReadable) : []),
    [
      `report queries the baseline also computes (5), median of ${reps}`,
      fmt(median(repCore.seconds)),
      fmt(median(repBase.seconds)),
      (median(repCore.seconds) / median(repBase.seconds)).toFixed(2),
      `${repCore.maxRssMb} MB`,
      `${repBase.maxRssMb} MB`,
    ],
    [
      `whole weekly report (8 queries; no history before the look-backs, so no state derived), median of ${reps}`,
      fmt(median(repOurs.seconds)),
      fmt(median(repBase.seconds)),
      (median(repOurs.seconds) / median(repBase.seconds)).toFixed(2),
      `${repOurs.maxRssMb} MB`,
      `${repBase.maxRssMb} MB`,
    ],
    [
      `whole weekly report, the selection's state derived (as with history before the period), median of ${reps}`,
      fmt(median(repState.seconds)),
      fmt(median(repBase.seconds)),
      (median(repState.seconds) / median(repBase.seconds)).toFixed(2),
      `${repState.maxRssMb} MB`,
      `${repBase.maxRssMb} MB`,
    ],
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows) process.stdout.write(r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ') + '\n');
  process.stdout.write(
    `\nload baseline: one INSERT ... SELECT FROM file(glob, JSONEachRow) into a plain table (no validation, counts or dedup);\n` +
      `  on the files as generated it skips the lines after each truncated one (it keeps about half), on the readable files it reads them all\n` +
      `report baseline: the core aggregates (DAU, WAU, features, protocols, platforms) as one hand-written ClickHouse query over the same events table;\n` +
      `  the whole report also computes the 12-week look-backs, lifecycle, retention and versions, which the baseline does not\n` +
      `report results agree with the baseline: ${agree ? 'yes' : 'NO'}\n` +
      `Node heap after loading: ${loadOurs?.heapUsedMb ?? '(not loaded in this run)'} MB (the engine streams the files; Node holds none of them)\n` +
      `the selection's state, derived once per selection before the last row (median of ${reps} derivations): ${fmt(derivedS)} (${derivedCpu.toFixed(1)} CPU s)\n` +
      `ratio to the baseline of the same round (the measurements interleaved, round by round): whole ${roundRatios('ours')}; with state ${roundRatios('state')}; core ${roundRatios('core')}\n` +
      `all runs of each, round by round: whole ${repOurs.seconds.map(fmt).join(', ')}; with state ${repState.seconds.map(fmt).join(', ')}; core ${repCore.seconds.map(fmt).join(', ')}; baseline ${repBase.seconds.map(fmt).join(', ')}\n` +
      `CPU seconds, every thread (median; less affected by neighbours on a shared machine): whole ${cpuOf(repOurs)?.toFixed(2)} s, with state ${cpuOf(repState)?.toFixed(2)} s, core ${cpuOf(repCore)?.toFixed(2)} s, baseline ${cpuOf(repBase)?.toFixed(2)} s; ` +
      `whole / baseline ${((cpuOf(repOurs) ?? NaN) / (cpuOf(repBase) ?? NaN)).toFixed(2)}, with state / baseline ${((cpuOf(repState) ?? NaN) / (cpuOf(repBase) ?? NaN)).toFixed(2)}, core / baseline ${((cpuOf(repCore) ?? NaN) / (cpuOf(repBase) ?? NaN)).toFixed(2)}\n`,
  );
  if (!agree) process.exitCode = 1;
  if (only === undefined) {
    process.stdout.write('\n');
    await runHistoryBench({ root, reps, out: (t) => process.stdout.write(t), phase: (name, store, ev, week, r, weeks) => phase(name, store, ev, r, week, weeks) });
  }
}

await main();
