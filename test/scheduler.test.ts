/**
 * The scheduler on virtual time with recording jobs: catch-up after downtime (oldest first, within
 * the window), retries with backoff, one run at a time, a run cut short, and the ledger across
 * restarts. The weekly job against stand-ins is in test/soak.test.ts and test/serve.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import { type SchedulerOptions, Scheduler, timerTrigger, type JobContext, type JobDefinition } from '../src/scheduler/scheduler.ts';
import { Ledger } from '../src/scheduler/ledger.ts';
import { memoryLogger } from '../src/lib/logger.ts';
import { FakeTime } from './helpers/fake-time.ts';
import { tempDir } from './helpers/fixtures.ts';

const HOUR = 3_600_000;

/** Waits (real time, briefly) until `cond` holds: the scheduler's ledger writes are real I/O. */
async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(cond()).toBe(true);
}
const DAY = 24 * HOUR;

interface Recorded {
  job: string;
  scheduledFor: string;
  attempt: number;
  trigger: string;
  at: string;
}

function recordingJob(id: string, schedule: string, log: Recorded[], time: FakeTime, behaviour: (ctx: JobContext) => Promise<void> | void = () => {}): JobDefinition {
  return {
    id,
    description: 'test',
    schedule,
    timezone: 'Europe/Berlin',
    async run(ctx) {
      log.push({ job: id, scheduledFor: ctx.scheduledFor.toISOString(), attempt: ctx.attempt, trigger: ctx.trigger, at: time.now().toISOString() });
      await behaviour(ctx);
    },
  };
}

async function boot(
  dir: string,
  time: FakeTime,
  jobs: JobDefinition[],
  opts: { windowHours?: number; maxAttempts?: number; onGiveUp?: SchedulerOptions['onGiveUp'] } = {},
) {
  const ledger = await Ledger.open(join(dir, 'ledger.json'));
  const logger = memoryLogger();
  const scheduler = new Scheduler({
    jobs,
    ledger,
    time: { clock: time, timers: time },
    logger,
    catchUpWindowMs: (opts.windowHours ?? 14 * 24) * HOUR,
    retry: { maxAttempts: opts.maxAttempts ?? 3, initialDelayMs: 60_000, maxDelayMs: HOUR },
    random: () => 0.5,
    ...(opts.onGiveUp ? { onGiveUp: opts.onGiveUp } : {}),
  });
  await scheduler.start(timerTrigger({ clock: time, timers: time }));
  await scheduler.idle();
  return { scheduler, ledger, logger, settle: () => scheduler.idle() };
}

describe('scheduler', () => {
  it('runs a Monday 09:00 job at 09:00 Berlin time, summer and winter, once each', async () => {
    const dir = await tempDir();
    const time = new FakeTime('2026-03-20T00:00:00Z');
    const log: Recorded[] = [];
    const { settle } = await boot(dir, time, [recordingJob('weekly', '0 9 * * MON', log, time)]);
    await time.advanceTo('2026-04-07T00:00:00Z', settle);
    expect(log.map((r) => [r.scheduledFor, r.at, r.trigger])).toEqual([
      ['2026-03-23T08:00:00.000Z', '2026-03-23T08:00:00.000Z', 'scheduled'],
      ['2026-03-30T07:00:00.000Z', '2026-03-30T07:00:00.000Z', 'scheduled'],
      ['2026-04-06T07:00:00.000Z', '2026-04-06T07:00:00.000Z', 'scheduled'],
    ]);
  });

  it('catches up the Mondays missed while down, oldest first; older than the window: skipped and reported', async () => {
    const dir = await tempDir();
    const time = new FakeTime('2026-01-01T00:00:00Z');
    const log: Recorded[] = [];
    const job = () => recordingJob('weekly', '0 9 * * MON', log, time);
    let s = await boot(dir, time, [job()], { windowHours: 10 * 24 });
    await time.advanceTo('2026-01-06T00:00:00Z', s.settle); // ran Monday 5 January
    await s.scheduler.stop(1000);
    time.reset();
    // Down from 6 January to Wednesday 28 January: 12, 19 and 26 January were missed; 12 January is more than 10 days before.
    await time.advanceTo('2026-01-28T10:00:00Z');
    s = await boot(dir, time, [job()], { windowHours: 10 * 24 });
    expect(log.map((r) => [r.scheduledFor, r.trigger])).toEqual([
      ['2026-01-05T08:00:00.000Z', 'scheduled'],
      ['2026-01-19T08:00:00.000Z', 'catch-up'],
      ['2026-01-26T08:00:00.000Z', 'catch-up'],
    ]);
    expect(s.ledger.get('weekly', '2026-01-12T08:00:00.000Z')).toMatchObject({ state: 'skipped' });
    expect(s.logger.records.some((r) => r.level === 'warn' && r.msg.includes('2026-01-12T08:00:00.000Z is skipped'))).toBe(true);
    // And goes on: next Monday once.
    await time.advanceTo('2026-02-03T00:00:00Z', s.settle);
    expect(log.filter((r) => r.scheduledFor === '2026-02-02T08:00:00.000Z')).toHaveLength(1);
    // Another restart catches up nothing more.
    await s.scheduler.stop(1000);
    time.reset();
    s = await boot(dir, time, [job()], { windowHours: 10 * 24 });
    expect(log).toHaveLength(4);
  });

  it('a first start does not run the past: a job is caught up only from when the scheduler first knew it', async () => {
    const dir = await tempDir();
    const time = new FakeTime('2026-01-28T10:00:00Z');
    const log: Recorded[] = [];
    await boot(dir, time, [recordingJob('weekly', '0 9 * * MON', log, time)]);
    expect(log).toEqual([]);
  });

  it('retries a failed run with growing delays, then gives up and reports it', async () => {
    const dir = await tempDir();
    const time = new FakeTime('2026-01-04T00:00:00Z');
    const log: Recorded[] = [];
    const { settle, ledger, logger } = await boot(
      dir,
      time,
      [
        recordingJob('weekly', '0 9 * * MON', log, time, () => {
          throw new Error('PostHog 503');
        }),
      ],
      { maxAttempts: 3 },
    );
    await time.advanceTo('2026-01-06T00:00:00Z', settle);
    // 60 s then 120 s (jitter fixed at the middle: x1.0).
    expect(log.map((r) => [r.attempt, r.at])).toEqual([
      [1, '2026-01-05T08:00:00.000Z'],
      [2, '2026-01-05T08:01:00.000Z'],
      [3, '2026-01-05T08:03:00.000Z'],
    ]);
    expect(ledger.get('weekly', '2026-01-05T08:00:00.000Z')).toMatchObject({ state: 'failed', attempts: 3, error: 'PostHog 503' });
    expect(ledger.get('weekly', '2026-01-05T08:00:00.000Z')!.nextRetryAt).toBeUndefined();
    expect(logger.records.filter((r) => r.level === 'error').map((r) => r.msg)).toEqual(['weekly: run for 2026-01-05T08:00:00.000Z failed for good after 3 attempts: PostHog 503']);
  });

  it('reports a run that failed for good once, after its last attempt; a failing report is logged, not retried', async () => {
    const dir = await tempDir();
    const time = new FakeTime('2026-01-04T00:00:00Z');
    const log: Recorded[] = [];
    const reported: Array<{ jobId: string; scheduledFor: string; attempts: number; error: string; at: string }> = [];
    const { settle, logger } = await boot(
      dir,
      time,
      [
        recordingJob('weekly', '0 9 * * MON', log, time, () => {
          throw new Error('PostHog 503');
        }),
      ],
      {
        maxAttempts: 2,
        onGiveUp: async (f) => {
          reported.push({ jobId: f.jobId, scheduledFor: f.scheduledFor.toISOString(), attempts: f.attempts, error: f.error, at: time.now().toISOString() });
          throw new Error('Slack is down too');
        },
      },
    );
    await time.advanceTo('2026-01-06T00:00:00Z', settle);
    // Attempt 1 at 08:00, attempt 2 at 08:01 (60 s later): reported then, once.
    expect(reported).toEqual([{ jobId: 'weekly', scheduledFor: '2026-01-05T08:00:00.000Z', attempts: 2, error: 'PostHog 503', at: '2026-01-05T08:01:00.000Z' }]);
    expect(log).toHaveLength(2);
    expect(logger.records.some((r) => r.level === 'error' && r.msg.includes('could not report the failed run: Slack is down too'))).toBe(true);
  });

  it('a retry pending at shutdown happens after the restart', async () => {
    const dir = await tempDir();
    const time = new FakeTime('2026-01-04T00:00:00Z');
    const log: Recorded[] = [];
    let fail = true;
    const job = () =>
      recordingJob('weekly', '0 9 * * MON', log, time, () => {
        if (fail) throw new Error('Slack 500');
      });
    let s = await boot(dir, time, [job()]);
    await time.advanceTo('2026-01-05T08:00:30Z', s.settle);
    await s.scheduler.stop(1000);
    time.reset();
    fail = false;
    await time.advanceTo('2026-01-05T12:00:00Z');
    s = await boot(dir, time, [job()]);
    await time.advanceTo('2026-01-05T12:00:01Z', s.settle);
    expect(log.map((r) => [r.attempt, r.trigger, r.at])).toEqual([
      [1, 'scheduled', '2026-01-05T08:00:00.000Z'],
      [2, 'retry', '2026-01-05T12:00:00.000Z'],
    ]);
    expect(s.ledger.get('weekly', '2026-01-05T08:00:00.000Z')).toMatchObject({ state: 'succeeded', attempts: 2 });
  });

  it('never runs two at once: a time that comes due during a long run waits for it', async () => {
    const dir = await tempDir();
    const time = new FakeTime('2026-01-05T07:59:00Z');
    const log: Recorded[] = [];
    let running = 0;
    let maxRunning = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const { scheduler } = await boot(dir, time, [
      recordingJob('every-minute', '* * * * *', log, time, async (ctx) => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        if (ctx.scheduledFor.toISOString() === '2026-01-05T08:00:00.000Z') await gate;
        running--;
      }),
    ]);
    // The 08:00 run blocks; 08:01 and 08:02 come due meanwhile.
    await time.advanceTo('2026-01-05T08:00:00Z');
    await until(() => log.length === 1);
    await time.advanceTo('2026-01-05T08:02:30Z');
    await new Promise((r) => setTimeout(r, 100));
    expect(log.map((r) => r.scheduledFor)).toEqual(['2026-01-05T08:00:00.000Z']);
    release();
    await scheduler.idle();
    expect(log.map((r) => r.scheduledFor)).toEqual(['2026-01-05T08:00:00.000Z', '2026-01-05T08:01:00.000Z', '2026-01-05T08:02:00.000Z']);
    expect(maxRunning).toBe(1);
  });

  it('a run cut short (crash) is found running at the next start and run again', async () => {
    const dir = await tempDir();
    const time = new FakeTime('2026-01-05T07:59:00Z');
    const log: Recorded[] = [];
    const hang = new Promise<void>(() => {});
    let s = await boot(dir, time, [recordingJob('weekly', '0 9 * * MON', log, time, () => hang)]);
    await time.advanceTo('2026-01-05T08:00:00Z');
    await until(() => log.length === 1);
    // The process dies here: no stop(), the ledger says running.
    const onDisk = JSON.parse(await readFile(join(dir, 'ledger.json'), 'utf8'));
    expect(onDisk.jobs.weekly.runs['2026-01-05T08:00:00.000Z']).toMatchObject({ state: 'running', attempts: 1 });
    time.reset();
    await time.advanceTo('2026-01-05T08:30:00Z');
    s = await boot(dir, time, [recordingJob('weekly', '0 9 * * MON', log, time)]);
    expect(log.map((r) => [r.attempt, r.trigger])).toEqual([
      [1, 'scheduled'],
      [2, 'retry'],
    ]);
    expect(s.ledger.get('weekly', '2026-01-05T08:00:00.000Z')).toMatchObject({ state: 'succeeded', attempts: 2 });
  });
});
