/**
 * `connect-metrics backfill --from 2026-W01 --to 2026-W47`: every week's report, oldest first,
 * through the same path as `report`. Resumable: each week is recorded in the run ledger (job
 * `backfill`, keyed by week, timezone and sinks); a week that succeeded is not produced again, so
 * after an interruption the same command continues where it stopped. With PostHog as the source it
 * stays within a request budget (posthog.requestsPerHour, default 120: the legacy query endpoints'
 * limit): before each week it waits until the requests sent so far fit in the budget.
 */
import { WEEKLY_REPORT_QUERIES } from '../jobs/weekly-report.ts';
import { join, resolve } from 'node:path';
import type { CliIo, GlobalOptions } from './main.ts';
import type { Logger } from '../lib/logger.ts';
import { UsageError } from '../lib/errors.ts';
import { sleep as realSleep } from '../lib/abort.ts';
import { loadSettings } from './session.ts';
import { parseWeek, weekStarting, type Week } from '../reports/period.ts';
import { Ledger } from '../scheduler/ledger.ts';
import { ledgerPath } from './serve.ts';
import { runWeeklyReport } from '../jobs/run-report.ts';
import { parseSinkList, resolveSinks, sinkLabel } from '../sinks/publish.ts';
import { requireSource } from '../sources/open-source.ts';
import { posthogSettings } from '../config/config.ts';

/** Query API requests of one weekly report (docs/posthog.md): one per report query. */
export const REQUESTS_PER_REPORT = WEEKLY_REPORT_QUERIES.length;

export interface BackfillOptions extends GlobalOptions {
  from: string;
  to: string;
  sinks?: string;
  source?: string;
  events?: string[];
  out?: string;
  budget?: string;
}

export function weeksBetween(from: string, to: string, timezone: string, now: Date): Week[] {
  const first = parseWeek(from, timezone, now, '--from');
  const last = parseWeek(to, timezone, now, '--to');
  if (last.start < first.start) throw new UsageError(`--to ${to} is before --from ${from}`);
  if (last.end.toJSDate() > now) {
    throw new UsageError(`--to ${to}: the week is not over yet`, { hint: `the last complete week is ${parseWeek('last', timezone, now).label}` });
  }
  const weeks: Week[] = [];
  for (let w = first; w.start <= last.start; w = weekStarting(w.start.plus({ weeks: 1 }), timezone)) weeks.push(w);
  return weeks;
}

/** "2 h 35 min", "4 min", "12 s". */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}

/** How long `weeks` reports take at `perHour` requests an hour (the first week needs no wait). */
export function budgetTime(weeks: number, perHour: number, requestsPerReport = REQUESTS_PER_REPORT): number {
  return Math.max(0, weeks - 1) * requestsPerReport * (3_600_000 / perHour);
}

export async function backfillCommand(opts: BackfillOptions, io: CliIo & { sleep?: (ms: number) => Promise<void> }, logger: Logger): Promise<void> {
  const { config, catalog } = await loadSettings(opts, io);
  const weeks = weeksBetween(opts.from, opts.to, config.timezone, io.clock.now());
  let budget = config.posthogRequestsPerHour;
  if (opts.budget !== undefined) {
    budget = Number(opts.budget);
    if (!Number.isFinite(budget) || budget <= 0) throw new UsageError(`--budget ${opts.budget}: expected requests per hour, a number above 0`);
  }
  const sinkList = parseSinkList(opts.sinks);
  const sinkSettings = sinkList ?? config.sinks;
  const sinks = resolveSinks(sinkSettings, config.slack.token).map(sinkLabel);
  const sourceName = requireSource(config, opts.source, opts.events);
  const throttled = sourceName === 'posthog';
  const ledger = await Ledger.open(ledgerPath(config.dataDir));
  const key = (w: Week) => `${w.label}/${w.timezone}/${sourceName}/${sinks.join('+')}`;
  // What each week is made from and where it goes: a week made from other files, or into another
  // folder, is not "done before" (its record says what it was made from and where it went).
  const outRoot = resolve(opts.out ?? 'out');
  const outDirOf = (w: Week) => join(outRoot, w.label);
  const inputs = sourceName === 'files' ? [...new Set(opts.events!.map((p) => resolve(p)))].sort() : [`posthog:${posthogProject(config)}`];
  const doneBefore = (w: Week) => {
    const r = ledger.get('backfill', key(w));
    return r?.state === 'succeeded' && r.output === outDirOf(w) && JSON.stringify(r.inputs ?? null) === JSON.stringify(inputs);
  };
  const redo = weeks.filter((w) => ledger.get('backfill', key(w))?.state === 'succeeded' && !doneBefore(w));
  if (redo.length) {
    logger.info(`${redo.length} week${redo.length > 1 ? 's were' : ' was'} made before from other input or into another folder (${redo[0]!.label}${redo.length > 1 ? ', ...' : ''}): making ${redo.length > 1 ? 'them' : 'it'} again`);
  }
  const todo = weeks.filter((w) => !doneBefore(w));
  const done = weeks.length - todo.length;
  logger.info(
    `backfill ${weeks[0]!.label} to ${weeks.at(-1)!.label}: ${weeks.length} weeks, ${done} done before, ${todo.length} to go; sinks ${sinks.join(', ')}` +
      (throttled
        ? `; about ${todo.length * REQUESTS_PER_REPORT} PostHog requests at most ${budget}/h: at least ${formatDuration(budgetTime(todo.length, budget))}`
        : ''),
  );
  const sleep = io.sleep ?? ((ms: number) => realSleep(ms));
  const progress = progressBar(io, weeks.length);
  progress.update(done, todo.length ? `${done} done before` : 'nothing to do', undefined);
  // The injected clock, so the budget's waits can be tested without waiting.
  const now = () => io.clock.now().getTime();
  const started = now();
  let requests = 0;
  let produced = 0;
  for (const week of todo) {
    if (throttled && requests > 0) {
      const due = started + requests * (3_600_000 / budget);
      const wait = due - now();
      if (wait > 0) {
        progress.note(`waiting ${formatDuration(wait)} for the PostHog budget (${budget} requests/h)`);
        await sleep(wait);
      }
    }
    const weekStarted = new Date().toISOString();
    await ledger.set('backfill', key(week), { state: 'running', attempts: (ledger.get('backfill', key(week))?.attempts ?? 0) + 1, trigger: 'backfill', startedAt: weekStarted });
    const t0 = Date.now();
    try {
      const result = await runWeeklyReport({
        config,
        catalog,
        week,
        source: opts.source,
        events: opts.events,
        outDir: outDirOf(week),
        sinks: sinkSettings,
        io: { stdout: () => {}, clock: io.clock, fetch: io.fetch },
        logger: progress.logger(logger),
        // Backfill runs unattended for hours: a throttle, however long, is waited out.
        throttle: { maxWaitMs: Number.POSITIVE_INFINITY, ...(io.sleep ? { sleep: io.sleep } : {}) },
      });
      requests += result.requests;
      produced++;
      await ledger.set('backfill', key(week), {
        state: 'succeeded',
        attempts: ledger.get('backfill', key(week))!.attempts,
        trigger: 'backfill',
        startedAt: weekStarted,
        finishedAt: new Date().toISOString(),
        durationMs: Date.now() - t0,
        summary: `${result.reportId}, ${result.requests} requests`,
        inputs,
        output: outDirOf(week),
      });
    } catch (error) {
      await ledger.set('backfill', key(week), {
        ...ledger.get('backfill', key(week))!,
        state: 'failed',
        finishedAt: new Date().toISOString(),
        durationMs: Date.now() - t0,
        error: (error as Error).message,
      });
      progress.end();
      logger.error(`backfill stopped at ${week.label}; run the same command again to continue from there`);
      throw error;
    }
    const elapsed = now() - started;
    const left = todo.length - produced;
    const perWeek = elapsed / produced;
    const budgetLeft = throttled ? left * Math.max(requests / produced, 1) * (3_600_000 / budget) : 0;
    progress.update(done + produced, week.label, left ? Math.max(perWeek * left, budgetLeft) : 'done');
  }
  progress.end();
  logger.info(`backfill done: ${produced} weeks produced, ${done} done before${throttled ? `, ${requests} PostHog requests` : ''} in ${formatDuration(now() - started)}`);
}

/**
 * Progress on stderr: a bar redrawn in place on a terminal, one plain line per week otherwise (logs,
 * CI). Log lines written meanwhile clear the bar first.
 */
function progressBar(io: CliIo, total: number) {
  const tty = io.stderrIsTTY === true;
  const width = 30;
  let drawn = false;
  let last = '';
  const render = (doneCount: number, label: string, etaMs: number | 'done' | undefined) => {
    const filled = Math.round((doneCount / Math.max(total, 1)) * width);
    const eta = etaMs === undefined ? '' : etaMs === 'done' ? '  done' : `  ETA ${formatDuration(etaMs)}`;
    return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${doneCount}/${total} weeks  ${label}${eta}`;
  };
  const clear = () => {
    if (tty && drawn) io.stderr('\r\x1b[2K');
    drawn = false;
  };
  return {
    update(doneCount: number, label: string, etaMs: number | 'done' | undefined) {
      last = render(doneCount, label, etaMs);
      if (tty) {
        io.stderr(`\r\x1b[2K${last}`);
        drawn = true;
      } else io.stderr(`${last}\n`);
    },
    note(text: string) {
      clear();
      io.stderr(`${text}\n`);
      if (tty && last) {
        io.stderr(last);
        drawn = true;
      }
    },
    logger(base: Logger): Logger {
      const wrap = (f: (m: string, x?: Record<string, unknown>) => void) => (m: string, x?: Record<string, unknown>) => {
        clear();
        f(m, x);
        if (tty && last) {
          io.stderr(last);
          drawn = true;
        }
      };
      return { debug: wrap(base.debug), info: wrap(base.info), warn: wrap(base.warn), error: wrap(base.error) };
    },
    end() {
      if (tty && drawn) io.stderr('\n');
      drawn = false;
    },
  };
}

/** The PostHog project a backfill reads, as `host/project` (never the key). */
function posthogProject(config: Parameters<typeof posthogSettings>[0]): string {
  const settings = posthogSettings(config);
  return `${new URL(settings.host).host}/${settings.projectId}`;
}
