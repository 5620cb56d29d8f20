/**
 * The history bench (issue 13): the same report week (2026-W47) over 4, 13, 52 and 104 weeks of
 * history at about 100k events a week, already loaded (selection and derived state made before
 * timing) and after last Monday's report (2026-W46, whose kept weeks the measured report reuses, as
 * every Monday's report does: src/engine/week-cache.ts), each with its ratio to 4 weeks and the peak RSS of its own process; and the rows
 * ClickHouse reads for one weekly report as PostHog runs it (the queries' text, history_from bounded
 * by the default horizon, on the PostHog stand-in's table) at 13, 52 and 104 weeks. And Monday's new
 * selection: its installation state and fingerprints derived from last Monday's selection and from
 * every event (src/sources/parent-selection.ts), which must agree.
 */
import { join } from 'node:path';
import { ensureHistoryData, HISTORY_WEEK } from './history-data.ts';

interface Result {
  seconds: number[];
  maxRssMb: number;
  events?: number;
  rowsRead?: Record<string, number>;
  weeks?: { reused: number; computed: number };
  cpu?: number[];
}

type Phase = (name: string, store: string, events: string, week: string, reps: number, weeks: number) => Result;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function runHistoryBench(opts: { root: string; reps: number; out: (text: string) => void; phase: Phase; weeks?: number[] }): Promise<void> {
  const { out, phase, reps } = opts;
  const data = await ensureHistoryData(opts.root, out);
  // One store per history length: a data folder keeps its three latest selections, and each length
  // is a selection of its own (with its derived state), so four in one folder would make each run
  // select and derive again.
  const storeFor = (weeks: number) => join(opts.root, 'work', `history-${weeks}w`);
  // Ratio to 13 weeks too: the report shows 12 weeks (and reads the week before), so below 13 weeks of
  // history it reads less than it shows; from 13 weeks on, what it reads no longer grows.
  const rows: string[][] = [
    ['history', 'events', 'report (median)', 'ratio to 4 weeks', 'ratio to 13 weeks', 'CPU s (median)', 'CPU ratio to 4 weeks', 'ratio to 4 weeks round by round', 'peak RSS', 'weeks reused / computed', 'prepared once: load / select / derive state / last week\'s report (nothing reused)'],
  ];
  let at13: number | undefined;
  const reads: string[][] = [['history', 'rows read, one weekly report', 'ratio to 52 weeks', 'by query']];
  const mondays: string[][] = [['history', 'selection grown from last Monday\'s', 'CPU s', 'state from last Monday\'s selection', 'CPU s', 'from every event', 'CPU s', 'ratio', 'CPU ratio', 'peak RSS']];
  let base: number | undefined;
  let cpuBase: number | undefined;
  const rowsAt: Record<number, number> = {};
  const lengths = opts.weeks ?? [4, 13, 52, 104];
  const prepared = new Map<number, Result>();
  for (const weeks of lengths) prepared.set(weeks, phase('history-prepare', storeFor(weeks), data, HISTORY_WEEK, 1, weeks));
  // The reports interleaved, one run of each length per round (as the 10M-event report's): a single
  // length's runs in a row saw other neighbours than the next length's, which moved the ratios to
  // 4 weeks by a third between two runs of the same code (1.11 and 1.54 at 52 weeks).
  const runs = new Map<number, Result[]>(lengths.map((w) => [w, []]));
  for (let round = 0; round < reps; round++) {
    for (const weeks of lengths) runs.get(weeks)!.push(phase('history-report', storeFor(weeks), data, HISTORY_WEEK, 1, weeks));
  }
  const ratios = new Map<number, number[]>(lengths.map((w) => [w, runs.get(w)!.map((r, i) => r.seconds[0]! / runs.get(lengths[0]!)![i]!.seconds[0]!)]));
  for (const weeks of lengths) {
    const store = storeFor(weeks);
    const prep = prepared.get(weeks)!;
    const reports = runs.get(weeks)!;
    const rep: Result = {
      seconds: reports.map((r) => r.seconds[0]!),
      cpu: reports.map((r) => r.cpu?.[0] ?? 0),
      maxRssMb: Math.max(...reports.map((r) => r.maxRssMb)),
      ...(reports[0]?.events !== undefined ? { events: reports[0].events } : {}),
      ...(reports[0]?.weeks ? { weeks: reports[0].weeks } : {}),
    };
    const monday = phase('history-monday', store, data, HISTORY_WEEK, 1, weeks);
    const [incremental, whole, select] = monday.seconds as [number, number, number];
    const [cpuIncremental, cpuWhole, cpuSelect] = (monday.cpu ?? [NaN, NaN, NaN]) as [number, number, number];
    mondays.push([
      `${weeks} weeks`,
      `${select.toFixed(2)} s`,
      `${cpuSelect.toFixed(2)} s`,
      `${incremental.toFixed(2)} s`,
      `${cpuIncremental.toFixed(2)} s`,
      `${whole.toFixed(2)} s`,
      `${cpuWhole.toFixed(2)} s`,
      (incremental / whole).toFixed(2),
      (cpuIncremental / cpuWhole).toFixed(2),
      `${monday.maxRssMb} MB`,
    ]);
    const t = median(rep.seconds);
    const c = median(rep.cpu ?? [0]);
    base ??= t;
    cpuBase ??= c;
    if (weeks === 13) at13 = t;
    rows.push([
      `${weeks} weeks`,
      String(rep.events),
      `${t.toFixed(2)} s (${rep.seconds.map((s) => s.toFixed(2)).join(', ')})`,
      (t / base).toFixed(2),
      at13 === undefined ? '' : (t / at13).toFixed(2),
      `${c.toFixed(2)} s`,
      (c / cpuBase).toFixed(2),
      ratios.get(weeks)!.map((x) => x.toFixed(2)).join(', '),
      `${rep.maxRssMb} MB`,
      rep.weeks ? `${rep.weeks.reused} / ${rep.weeks.computed}` : '',
      prep.seconds.map((s) => `${s.toFixed(1)} s`).join(' / '),
    ]);
    if (weeks >= 13) {
      const r = phase('history-rows', store, data, HISTORY_WEEK, 1, weeks);
      const total = Object.values(r.rowsRead ?? {}).reduce((a, b) => a + b, 0);
      rowsAt[weeks] = total;
      reads.push([
        `${weeks} weeks`,
        String(total),
        '',
        Object.entries(r.rowsRead ?? {}).map(([q, n]) => `${q} ${n}`).join(', '),
      ]);
    }
  }
  for (const r of reads.slice(1)) r[2] = rowsAt[52] ? (Number(r[1]) / rowsAt[52]).toFixed(2) : '';
  out(`report week ${HISTORY_WEEK} over the last N weeks of ${data} (each already loaded; median of ${reps}, the lengths interleaved round by round)\n`);
  table(rows, out);
  out(`\nMonday's new selection (last Monday's files + the newest week's, loaded on its own): made from last Monday's, and its installation state and event fingerprints derived\n`);
  table(mondays, out);
  out(`\nrows ClickHouse reads for one weekly report on the PostHog stand-in's table (history_from bounded by the default 52-week horizon)\n`);
  table(reads, out);
}

function table(rows: string[][], out: (text: string) => void): void {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  for (const r of rows) out(r.map((c, i) => (i === 0 || i === r.length - 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ') + '\n');
}
