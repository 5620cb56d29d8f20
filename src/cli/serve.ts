/**
 * `connect-metrics serve`: the scheduler with its HTTP endpoint, until SIGTERM or SIGINT. On a signal
 * it takes up no new runs, lets a running one finish within scheduler.shutdownGraceSeconds, and
 * exits 0 (a run cut off at the deadline is left `running` in the ledger and runs again at the next
 * start).
 */
import { join } from 'node:path';
import type { CliIo, GlobalOptions } from './main.ts';
import type { Logger } from '../lib/logger.ts';
import { UsageError } from '../lib/errors.ts';
import { loadSettings } from './session.ts';
import { Ledger } from '../scheduler/ledger.ts';
import { Scheduler } from '../scheduler/scheduler.ts';
import { previousFireTime } from '../scheduler/cron.ts';
import { realTimers } from '../scheduler/timers.ts';
import { productionTrigger } from '../scheduler/node-cron-trigger.ts';
import { startHttp } from '../scheduler/http.ts';
import { runFailureNotifier, scheduledJobs } from '../jobs/scheduled.ts';
import { parseSinkList } from '../sinks/publish.ts';
import { requireSource } from '../sources/open-source.ts';

export interface ServeOptions extends GlobalOptions {
  port?: string;
  events?: string[];
  source?: string;
  sinks?: string;
  runNow?: string[];
}

export function ledgerPath(dataDir: string): string {
  return join(dataDir, 'scheduler', 'ledger.json');
}

export function parsePort(text: string | undefined, flag = '--port'): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || Number(text) > 65535) throw new UsageError(`${flag} ${text}: expected a port number from 0 to 65535 (0: any free port)`);
  return Number(text);
}

export async function serveCommand(opts: ServeOptions, io: CliIo, logger: Logger): Promise<void> {
  const { config, catalog } = await loadSettings(opts, io);
  const port = parsePort(opts.port) ?? config.http.port;
  const jobs = scheduledJobs({ config, catalog, clock: io.clock, logger, fetch: io.fetch, source: opts.source, events: opts.events, sinks: parseSinkList(opts.sinks) });
  if (!jobs.length) throw new UsageError('no job is enabled: set jobs.weeklyDigest.enabled or jobs.dailyCheck.enabled in the config file');
  // Both jobs read events: with nothing to read, refuse now (as `report` does), not at Monday's run.
  requireSource(config, opts.source, opts.events);
  for (const id of opts.runNow ?? []) {
    if (!jobs.some((j) => j.id === id)) throw new UsageError(`--run-now ${id}: no such job; the jobs are ${jobs.map((j) => j.id).join(', ')}`);
  }
  const ledger = await Ledger.open(ledgerPath(config.dataDir));
  const s = config.scheduler;
  const scheduler = new Scheduler({
    jobs,
    ledger,
    time: { clock: io.clock, timers: realTimers },
    logger,
    catchUpWindowMs: s.catchUpWindowHours * 3_600_000,
    retry: { maxAttempts: s.maxAttempts, initialDelayMs: s.retryDelaySeconds * 1000, maxDelayMs: s.maxRetryDelaySeconds * 1000 },
    onGiveUp: runFailureNotifier({ config, logger }),
  });
  const { trigger, name } = await productionTrigger(logger);
  const stopRequested = new Promise<string>((resolve) => {
    const on = (signal: NodeJS.Signals) => () => resolve(signal);
    process.once('SIGTERM', on('SIGTERM'));
    process.once('SIGINT', on('SIGINT'));
  });
  let http: Awaited<ReturnType<typeof startHttp>>;
  try {
    http = await startHttp(scheduler, { port, clock: io.clock });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES') {
      throw new UsageError(`--port ${port}: ${code === 'EADDRINUSE' ? 'another process already listens on' : 'not allowed to listen on'} 127.0.0.1:${port}`, {
        hint: 'stop the other process (another connect-metrics serve?), or choose another port with --port or http.port (0: any free port)',
      });
    }
    throw error;
  }
  logger.info(`listening on ${http.url} (/healthz, /metrics)`, { port: http.port });
  logger.info(`scheduler starting with ${name}: ${jobs.map((j) => `${j.id} "${j.schedule}"`).join(', ')} in ${config.timezone}; ledger ${ledger.path}`);
  try {
    await scheduler.start(trigger);
    for (const id of opts.runNow ?? []) {
      const job = scheduler.jobs.find((j) => j.definition.id === id)!;
      const at = previousFireTime(job.cron, io.clock.now());
      if (at) await scheduler.runAt(id, at);
    }
  } catch (error) {
    // E.g. a ledger that cannot be written: nothing would run, so do not stay up pretending.
    await scheduler.stop(0).catch(() => undefined);
    await http.close();
    throw error;
  }
  const signal = await stopRequested;
  logger.info(`${signal}: stopping; no new runs`);
  const { finished } = await scheduler.stop(s.shutdownGraceSeconds * 1000);
  await http.close();
  logger.info(finished ? 'stopped' : 'stopped at the deadline; the cut-off run runs again at the next start');
  if (!finished && io.processStreams) {
    // The cut-off run may still hold sockets or timers open; the ledger already says what to redo.
    setTimeout(() => process.exit(0), 200).unref();
  }
}
