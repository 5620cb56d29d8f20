/**
 * The scheduler: runs declared jobs at their cron times, one run at a time, with a ledger on disk.
 *
 * - A trigger (node-cron in `serve`, or a timer on the injected clock) only wakes the scheduler; what is
 *   due is computed from the job's schedule (src/scheduler/cron.ts) between the last time looked at and
 *   now, so a late or repeated wake-up neither loses nor doubles a run.
 * - Runs go through one queue, oldest scheduled time first, one at a time for the whole process: never
 *   two runs of one job at once, and the embedded engine's single session is never opened twice. A time
 *   that comes due while a run is going waits for it (it is queued, not skipped).
 * - Every time taken up is written to the ledger first (queued), then running, then succeeded/failed.
 *   On start, times missed while the service was down are caught up if they are within the catch-up
 *   window (oldest first); older ones are recorded as skipped and reported. A run found `running` was
 *   cut short and is retried.
 * - A failed run is retried with exponential backoff and jitter, up to a number of attempts; then it
 *   stays failed (logged as an error, counted in /metrics, shown by `status`).
 */
import type { Logger } from '../lib/logger.ts';
import { fireTimesBetween, nextFireTime, parseCron, type CronSchedule } from './cron.ts';
import type { Ledger, RunRecord } from './ledger.ts';
import type { SchedulerTime } from './timers.ts';

export interface JobContext {
  /** The instant the run was scheduled for: the job computes its period from this, never from the clock. */
  scheduledFor: Date;
  /** 1 for the first attempt. */
  attempt: number;
  trigger: RunRecord['trigger'];
  logger: Logger;
  /** Aborted when the service stops and the shutdown deadline has passed. */
  signal: AbortSignal;
}

export interface JobDefinition {
  id: string;
  description: string;
  /** Five-field cron expression, in `timezone`. */
  schedule: string;
  timezone: string;
  /** The config key of the schedule, for error messages. */
  scheduleSetting?: string;
  /** Returns a one-line summary for the ledger (e.g. the report id). */
  run(ctx: JobContext): Promise<string | void>;
}

export interface RetryPolicy {
  maxAttempts: number;
  initialDelayMs: number;
  maxDelayMs: number;
}

export interface SchedulerOptions {
  jobs: JobDefinition[];
  ledger: Ledger;
  time: SchedulerTime;
  logger: Logger;
  /** Missed times older than this (ms before start) are skipped, not caught up. */
  catchUpWindowMs: number;
  retry: RetryPolicy;
  /** Jitter source, 0 <= x < 1 (seeded in tests). */
  random?: () => number;
  /**
   * Called once when a run has failed its last attempt (serve posts it to Slack). Its own failure
   * is logged, never retried: the ledger, the log and /metrics already say the run failed.
   */
  onGiveUp?: (failure: RunFailure) => Promise<void>;
}

export interface RunFailure {
  jobId: string;
  scheduledFor: Date;
  attempts: number;
  error: string;
}

/** Wakes the scheduler at (or soon after) each cron time. */
export interface Trigger {
  start(jobs: readonly ScheduledJob[], wake: () => void): void | Promise<void>;
  stop(): void | Promise<void>;
}

export interface ScheduledJob {
  definition: JobDefinition;
  cron: CronSchedule;
}

export interface JobMetrics {
  lastRun?: Date;
  lastSuccess?: Date;
  lastDurationMs?: number;
  failures: number;
  runs: number;
  skipped: number;
}

interface QueueItem {
  jobId: string;
  scheduledFor: Date;
  trigger: RunRecord['trigger'];
}

const WAKE_TOLERANCE_MS = 1000;

export type SchedulerState = 'new' | 'running' | 'stopping' | 'stopped';

export class Scheduler {
  readonly jobs: ScheduledJob[];
  private readonly byId = new Map<string, ScheduledJob>();
  private readonly queue: QueueItem[] = [];
  private readonly retryTimers = new Map<string, unknown>();
  private readonly metrics = new Map<string, JobMetrics>();
  private checkedUntil = new Date(0);
  private current: { item: QueueItem; done: Promise<void>; abort: AbortController } | undefined;
  private draining: Promise<void> | undefined;
  private trigger: Trigger | undefined;
  private idleWaiters: Array<() => void> = [];
  state: SchedulerState = 'new';
  /** Last time the loop did something (a wake-up, a run ending): /healthz. */
  lastActivity: Date | undefined;

  constructor(private readonly options: SchedulerOptions) {
    const ids = new Set<string>();
    this.jobs = options.jobs.map((definition) => {
      if (ids.has(definition.id)) throw new Error(`two jobs with the id ${definition.id}`);
      ids.add(definition.id);
      const job = { definition, cron: parseCron(definition.schedule, definition.timezone, definition.scheduleSetting ?? `jobs.${definition.id}.schedule`) };
      this.byId.set(definition.id, job);
      this.metrics.set(definition.id, { failures: 0, runs: 0, skipped: 0 });
      return job;
    });
  }

  private now(): Date {
    return this.options.time.clock.now();
  }

  /**
   * Catches up what was missed while down (within the window), resumes cut-short and failed runs,
   * then starts the trigger. Returns when the catch-up runs are queued (not when they are done).
   */
  async start(trigger: Trigger): Promise<void> {
    const { ledger, logger } = this.options;
    const now = this.now();
    const windowStart = new Date(now.getTime() - this.options.catchUpWindowMs);
    const catchUp: QueueItem[] = [];
    for (const job of this.jobs) {
      const id = job.definition.id;
      const jl = ledger.ensureJob(id, now);
      const m = this.metrics.get(id)!;
      for (const [at, rec] of ledger.runs(id)) {
        if (rec.startedAt && (!m.lastRun || new Date(rec.startedAt) > m.lastRun)) m.lastRun = new Date(rec.startedAt);
        if (rec.state === 'succeeded' && rec.finishedAt) {
          m.lastSuccess = new Date(rec.finishedAt);
          m.lastDurationMs = rec.durationMs;
        }
        if (rec.state === 'succeeded' || rec.state === 'skipped' || (rec.state === 'failed' && !rec.nextRetryAt)) continue;
        // queued, running (cut short) or failed with a retry pending
        const scheduledFor = new Date(at);
        if (scheduledFor < windowStart) {
          await this.skip(id, scheduledFor, rec, 'outside the catch-up window when the service started');
          continue;
        }
        if (rec.state === 'running') {
          logger.warn(`${id}: the run for ${at} was cut short (attempt ${rec.attempts}); running it again`, { job: id, scheduledFor: at });
          if (rec.attempts >= this.options.retry.maxAttempts) {
            await ledger.set(id, at, { ...rec, state: 'failed', error: `${rec.error ?? 'cut short'}; no attempts left`, finishedAt: now.toISOString() });
            continue;
          }
          catchUp.push({ jobId: id, scheduledFor, trigger: 'retry' });
        } else if (rec.state === 'failed' && rec.nextRetryAt) {
          this.scheduleRetry(id, scheduledFor, new Date(rec.nextRetryAt));
        } else {
          catchUp.push({ jobId: id, scheduledFor, trigger: rec.trigger });
        }
      }
      // Times that came and went while the service was down.
      const since = new Date(Math.max(new Date(jl.since).getTime(), new Date(jl.checkedUntil ?? jl.since).getTime()));
      for (const t of fireTimesBetween(job.cron, since, now)) {
        if (ledger.get(id, t)) continue;
        if (t < windowStart) {
          await this.skip(id, t, undefined, `missed while the service was down, more than ${Math.round(this.options.catchUpWindowMs / 3_600_000)} h ago (scheduler.catchUpWindowHours)`);
        } else {
          catchUp.push({ jobId: id, scheduledFor: t, trigger: 'catch-up' });
        }
      }
      jl.checkedUntil = now.toISOString();
    }
    this.checkedUntil = now;
    catchUp.sort((a, b) => a.scheduledFor.getTime() - b.scheduledFor.getTime());
    for (const item of catchUp) {
      if (item.trigger === 'catch-up') logger.info(`${item.jobId}: catching up the run for ${item.scheduledFor.toISOString()} missed while the service was down`, { job: item.jobId, scheduledFor: item.scheduledFor.toISOString() });
    }
    this.state = 'running';
    this.lastActivity = now;
    this.trigger = trigger;
    await this.enqueue(catchUp);
    await trigger.start(this.jobs, () => void this.wake());
    for (const job of this.jobs) {
      const next = nextFireTime(job.cron, now);
      logger.info(`${job.definition.id}: next run ${next ? next.toISOString() : 'never'} (${job.definition.schedule} ${job.definition.timezone})`, { job: job.definition.id, next: next?.toISOString() });
    }
  }

  /** Called by the trigger: queues every time that is due and not yet taken up. */
  async wake(): Promise<void> {
    if (this.state !== 'running') return;
    // A trigger may wake a moment before its minute (timer drift): a time within the next second counts as due.
    const now = new Date(this.now().getTime() + WAKE_TOLERANCE_MS);
    this.lastActivity = now;
    const due: QueueItem[] = [];
    for (const job of this.jobs) {
      for (const t of fireTimesBetween(job.cron, this.checkedUntil, now)) due.push({ jobId: job.definition.id, scheduledFor: t, trigger: 'scheduled' });
    }
    this.checkedUntil = now;
    for (const job of this.jobs) {
      const jl = this.options.ledger.ensureJob(job.definition.id, now);
      jl.checkedUntil = now.toISOString();
    }
    due.sort((a, b) => a.scheduledFor.getTime() - b.scheduledFor.getTime());
    await this.enqueue(due);
  }

  private async skip(jobId: string, scheduledFor: Date, rec: RunRecord | undefined, reason: string): Promise<void> {
    this.options.logger.warn(`${jobId}: the run for ${scheduledFor.toISOString()} is skipped: ${reason}`, { job: jobId, scheduledFor: scheduledFor.toISOString() });
    this.metrics.get(jobId)!.skipped++;
    await this.options.ledger.set(jobId, scheduledFor, { ...(rec ?? { attempts: 0, trigger: 'catch-up' }), state: 'skipped', reason });
  }

  /** Records the items as queued (one ledger write) and starts the queue if idle. */
  private async enqueue(items: QueueItem[]): Promise<void> {
    const { ledger } = this.options;
    const fresh = items.filter((i) => !this.queue.some((q) => q.jobId === i.jobId && q.scheduledFor.getTime() === i.scheduledFor.getTime()));
    for (const item of fresh) {
      const rec = ledger.get(item.jobId, item.scheduledFor);
      if (!rec) ledger.ensureJob(item.jobId, item.scheduledFor).runs[item.scheduledFor.toISOString()] = { state: 'queued', attempts: 0, trigger: item.trigger };
      this.queue.push(item);
    }
    await ledger.save();
    this.queue.sort((a, b) => a.scheduledFor.getTime() - b.scheduledFor.getTime());
    this.drain();
  }

  private drain(): void {
    if (this.draining || this.state !== 'running') return this.notifyIdle();
    let release!: () => void;
    this.draining = new Promise<void>((r) => (release = r));
    void (async () => {
      try {
        while (this.queue.length && this.state === 'running') {
          const item = this.queue.shift()!;
          const abort = new AbortController();
          const done = this.runOne(item, abort.signal);
          this.current = { item, done, abort };
          await done;
          this.current = undefined;
        }
      } finally {
        this.draining = undefined;
        release();
        this.notifyIdle();
      }
    })();
  }

  private notifyIdle(): void {
    if (this.draining || (this.queue.length && this.state === 'running')) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  private async runOne(item: QueueItem, signal: AbortSignal): Promise<void> {
    const { ledger, logger, retry } = this.options;
    const job = this.byId.get(item.jobId);
    if (!job) return;
    const key = item.scheduledFor.toISOString();
    const before = ledger.get(item.jobId, key);
    if (before && (before.state === 'succeeded' || before.state === 'skipped')) return;
    const attempt = (before?.attempts ?? 0) + 1;
    const started = this.now();
    const m = this.metrics.get(item.jobId)!;
    m.lastRun = started;
    m.runs++;
    await ledger.set(item.jobId, key, { state: 'running', attempts: attempt, trigger: item.trigger, startedAt: started.toISOString() });
    const log = logger;
    log.info(`${item.jobId}: run for ${key} started (attempt ${attempt}, ${item.trigger})`, { job: item.jobId, scheduledFor: key, attempt, trigger: item.trigger });
    const t0 = performance.now();
    try {
      const summary = await job.definition.run({ scheduledFor: item.scheduledFor, attempt, trigger: item.trigger, logger: log, signal });
      const durationMs = Math.round(performance.now() - t0);
      const finished = this.now();
      await ledger.set(item.jobId, key, {
        state: 'succeeded',
        attempts: attempt,
        trigger: item.trigger,
        startedAt: started.toISOString(),
        finishedAt: finished.toISOString(),
        durationMs,
        ...(summary ? { summary } : {}),
      });
      m.lastSuccess = finished;
      m.lastDurationMs = durationMs;
      log.info(`${item.jobId}: run for ${key} succeeded in ${(durationMs / 1000).toFixed(1)} s${summary ? `: ${summary}` : ''}`, { job: item.jobId, scheduledFor: key, durationMs });
    } catch (error) {
      const durationMs = Math.round(performance.now() - t0);
      const finished = this.now();
      m.failures++;
      m.lastDurationMs = durationMs;
      const message = (error as Error)?.message ?? String(error);
      if (signal.aborted && this.state !== 'running') {
        // Cut short by shutdown: left as `running` so the next start runs it again.
        log.warn(`${item.jobId}: run for ${key} stopped by shutdown; it runs again at the next start`, { job: item.jobId, scheduledFor: key });
        return;
      }
      const retryAt = attempt < retry.maxAttempts ? new Date(finished.getTime() + this.backoff(attempt)) : undefined;
      await ledger.set(item.jobId, key, {
        state: 'failed',
        attempts: attempt,
        trigger: item.trigger,
        startedAt: started.toISOString(),
        finishedAt: finished.toISOString(),
        durationMs,
        error: message,
        ...(retryAt ? { nextRetryAt: retryAt.toISOString() } : {}),
      });
      if (retryAt) {
        log.warn(`${item.jobId}: run for ${key} failed (attempt ${attempt} of ${retry.maxAttempts}): ${message}; retrying at ${retryAt.toISOString()}`, {
          job: item.jobId,
          scheduledFor: key,
          attempt,
          error: message,
        });
        this.scheduleRetry(item.jobId, item.scheduledFor, retryAt);
      } else {
        log.error(`${item.jobId}: run for ${key} failed for good after ${attempt} attempts: ${message}`, { job: item.jobId, scheduledFor: key, attempt, error: message });
        if (this.options.onGiveUp) {
          try {
            await this.options.onGiveUp({ jobId: item.jobId, scheduledFor: item.scheduledFor, attempts: attempt, error: message });
          } catch (notifyError) {
            log.error(`${item.jobId}: could not report the failed run: ${(notifyError as Error)?.message ?? String(notifyError)}`, { job: item.jobId, scheduledFor: key });
          }
        }
      }
    } finally {
      this.lastActivity = this.now();
    }
  }

  /** Exponential backoff with ±20 % jitter, capped. */
  backoff(attempt: number): number {
    const { initialDelayMs, maxDelayMs } = this.options.retry;
    const base = Math.min(maxDelayMs, initialDelayMs * 2 ** (attempt - 1));
    const jitter = 0.8 + 0.4 * (this.options.random ?? Math.random)();
    return Math.round(Math.min(maxDelayMs, base * jitter));
  }

  private scheduleRetry(jobId: string, scheduledFor: Date, at: Date): void {
    const key = `${jobId}@${scheduledFor.toISOString()}`;
    const delay = Math.max(0, at.getTime() - this.now().getTime());
    const handle = this.options.time.timers.setTimeout(() => {
      this.retryTimers.delete(key);
      if (this.state === 'running') void this.enqueue([{ jobId, scheduledFor, trigger: 'retry' }]);
    }, delay);
    this.retryTimers.set(key, handle);
  }

  /**
   * Takes up one scheduled time of a job now (`serve --run-now`): nothing happens if it already
   * succeeded (the ledger decides, as for any run).
   */
  async runAt(jobId: string, scheduledFor: Date): Promise<void> {
    const rec = this.options.ledger.get(jobId, scheduledFor);
    if (rec?.state === 'succeeded') {
      this.options.logger.info(`${jobId}: the run for ${scheduledFor.toISOString()} already succeeded; not running it again`);
      return;
    }
    await this.enqueue([{ jobId, scheduledFor, trigger: rec?.trigger ?? 'catch-up' }]);
  }

  /** Resolves when nothing is queued or running (tests). */
  idle(): Promise<void> {
    if (!this.draining && (!this.queue.length || this.state !== 'running')) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Pending retries (tests and status). */
  pendingRetries(): number {
    return this.retryTimers.size;
  }

  runningJob(): { jobId: string; scheduledFor: Date } | undefined {
    return this.current ? { jobId: this.current.item.jobId, scheduledFor: this.current.item.scheduledFor } : undefined;
  }

  jobMetrics(): Map<string, JobMetrics> {
    return new Map([...this.metrics].map(([k, v]) => [k, { ...v }]));
  }

  /**
   * Stops taking up new runs; a run in progress may finish within `deadlineMs` (then it is aborted
   * and left `running` in the ledger, to run again at the next start). Queued runs stay queued in the
   * ledger and are caught up at the next start.
   */
  async stop(deadlineMs: number): Promise<{ finished: boolean }> {
    if (this.state === 'stopped') return { finished: true };
    this.state = 'stopping';
    await this.trigger?.stop();
    for (const h of this.retryTimers.values()) this.options.time.timers.clearTimeout(h);
    this.retryTimers.clear();
    this.queue.length = 0;
    const current = this.current;
    let finished = true;
    if (current) {
      this.options.logger.info(`waiting up to ${Math.round(deadlineMs / 1000)} s for ${current.item.jobId} (${current.item.scheduledFor.toISOString()}) to finish`);
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<'timeout'>((resolve) => {
        // Real time on purpose: the deadline is for the process, whatever clock the jobs use.
        timer = setTimeout(() => resolve('timeout'), deadlineMs);
      });
      const outcome = await Promise.race([current.done.then(() => 'done' as const), timeout]);
      clearTimeout(timer);
      if (outcome === 'timeout') {
        finished = false;
        current.abort.abort(new Error('shutdown deadline passed'));
        this.options.logger.warn(`${current.item.jobId}: still running at the shutdown deadline; stopped, it runs again at the next start`);
        await Promise.race([current.done, new Promise((r) => setTimeout(r, 2000))]);
      }
    }
    await this.options.ledger.save();
    this.state = 'stopped';
    return { finished };
  }
}

/** Wakes the scheduler with timers on the injected clock at each job's next cron time. */
export function timerTrigger(time: SchedulerTime): Trigger {
  let handle: unknown;
  let stopped = false;
  return {
    start(jobs, wake) {
      const arm = () => {
        if (stopped) return;
        const now = time.clock.now();
        const next = jobs.map((j) => nextFireTime(j.cron, now)).filter((d): d is Date => !!d).sort((a, b) => a.getTime() - b.getTime())[0];
        if (!next) return;
        handle = time.timers.setTimeout(() => {
          wake();
          arm();
        }, next.getTime() - now.getTime());
      };
      arm();
    },
    stop() {
      stopped = true;
      if (handle !== undefined) time.timers.clearTimeout(handle);
    },
  };
}
