/**
 * Soak: the scheduler on virtual time through two years of schedule (2024-01-01 to 2026-01-06,
 * Europe/Berlin: four DST changes), with the real jobs, real sinks and the PostHog and Slack
 * stand-ins over loopback HTTP. Restarts at seeded random points (clean stops, crashes while idle,
 * crashes between posting the digest and recording it), downtime of up to 9 days, faults in both
 * stand-ins. Checks: every week's digest in Slack exactly once, every alert at most once (and the
 * expected ones there), every digest run scheduled at 09:00 local.
 */
import { join } from 'node:path';
import { readFile, writeFile } from 'node:fs/promises';
import { DateTime } from 'luxon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Scheduler, timerTrigger } from '../src/scheduler/scheduler.ts';
import { Ledger, type LedgerData } from '../src/scheduler/ledger.ts';
import { scheduledJobs } from '../src/jobs/scheduled.ts';
import { memoryLogger } from '../src/lib/logger.ts';
import { ALERT_EVENT_TYPE, DIGEST_EVENT_TYPE } from '../src/sinks/slack.ts';
import { FakeTime } from './helpers/fake-time.ts';
import { expectedAlerts, expectedDigests, startWorld, ZONE, type World } from './helpers/soak-world.ts';
import { mulberry32 } from './helpers/random.ts';

const DAY = 86_400_000;
// In the past on purpose: the Slack history check reads messages since the week's end, and the
// stand-in stamps messages with the real time, so virtual time must stay behind real time.
const START = new Date('2024-01-01T00:00:00Z');
const END = new Date('2026-01-06T00:00:00Z');

const rng = mulberry32;

let world: World;
beforeAll(async () => {
  world = await startWorld();
}, 60_000);
afterAll(async () => {
  await world?.close();
});

describe('soak: two years of schedule', () => {
  it('delivers every week exactly once and every alert at most once, through restarts, crashes and faults', async () => {
    const seed = 20250101;
    const random = rng(seed);
    const time = new FakeTime(START);
    const ledgerPath = join(world.config.dataDir, 'scheduler', 'ledger.json');
    const logger = memoryLogger();
    const jobs = scheduledJobs({ config: world.config, catalog: world.catalog, clock: time, logger, sinks: ['slack'] });
    const events: string[] = [];

    const boot = async () => {
      const ledger = await Ledger.open(ledgerPath);
      const scheduler = new Scheduler({
        jobs,
        ledger,
        time: { clock: time, timers: time },
        logger,
        catchUpWindowMs: 14 * DAY,
        retry: { maxAttempts: 6, initialDelayMs: 5 * 60_000, maxDelayMs: 3_600_000 },
        random,
      });
      await scheduler.start(timerTrigger({ clock: time, timers: time }));
      await scheduler.idle();
      return scheduler;
    };

    let scheduler = await boot();
    const settle = () => scheduler.idle();
    let at = START.getTime();
    const started = performance.now();
    while (at < END.getTime()) {
      at = Math.min(END.getTime(), at + Math.round((8 + random() * 40) * DAY));
      // Faults for this stretch, somewhere in it (the next requests that match).
      const fault = Math.floor(random() * 6);
      if (fault === 0) await world.posthog.setFaults([{ status: 503, times: 2, when: { path: 'query' } }]);
      if (fault === 1) await world.posthog.setFaults([{ status: 403, times: 1, when: { path: 'query' } }]);
      if (fault === 2) world.slack.inject({ method: 'chat.postMessage', acceptThenDrop: true });
      if (fault === 3) world.slack.inject({ method: 'chat.postMessage', status: 503 });
      if (fault === 4) world.slack.inject({ method: 'conversations.history', status: 500 });
      if (fault === 5) world.slack.inject({ method: 'chat.postMessage', ratelimited: { retryAfter: 1 } });
      events.push(`fault ${fault} until ${new Date(at).toISOString()}`);
      await time.advanceTo(new Date(at), settle);
      if (at >= END.getTime()) break;
      const kind = Math.floor(random() * 3);
      if (kind === 0) {
        await scheduler.stop(10_000);
      } else if (kind === 2) {
        // Crash between posting and recording: the disk holds the last successful weekly run as running.
        const data = JSON.parse(await readFile(ledgerPath, 'utf8')) as LedgerData;
        const runs = Object.entries(data.jobs['weekly-digest']?.runs ?? {}).filter(([, r]) => r.state === 'succeeded');
        const last = runs[runs.length - 1];
        if (last) {
          data.jobs['weekly-digest']!.runs[last[0]] = { state: 'running', attempts: last[1].attempts, trigger: last[1].trigger, startedAt: last[1].startedAt! };
          await writeFile(ledgerPath, JSON.stringify(data));
        }
      }
      // kind 1: crash while idle. In every case the old process's timers are gone.
      time.reset();
      const down = Math.round(random() * 9 * DAY);
      at += down;
      events.push(`restart ${kind} down ${(down / DAY).toFixed(1)} d`);
      await time.advanceTo(new Date(at));
      scheduler = await boot();
    }
    await scheduler.idle();
    await scheduler.stop(10_000);
    const seconds = (performance.now() - started) / 1000;

    const messages = world.slack.messages(world.slack.channel).filter((m) => !m.thread_ts);
    const count = (type: string) => {
      const by = new Map<string, number>();
      for (const m of messages) {
        const meta = m.metadata as { event_type?: string; event_payload?: { report_id?: string } } | undefined;
        if (meta?.event_type === type) by.set(meta.event_payload!.report_id!, (by.get(meta.event_payload!.report_id!) ?? 0) + 1);
      }
      return by;
    };
    const digests = count(DIGEST_EVENT_TYPE);
    const alerts = count(ALERT_EVENT_TYPE);
    const wantDigests = expectedDigests(START, END);
    expect(wantDigests.length).toBeGreaterThanOrEqual(104);
    expect([...digests.keys()].sort()).toEqual([...wantDigests].sort());
    expect([...digests.entries()].filter(([, n]) => n !== 1)).toEqual([]);
    expect([...alerts.entries()].filter(([, n]) => n !== 1)).toEqual([]);
    expect([...alerts.keys()].sort()).toEqual(expectedAlerts(START, END).sort());

    // The hard paths were exercised, not just the easy one.
    const msgs = logger.records.map((r) => r.msg);
    expect(msgs.filter((m) => /weekly-digest: the run for .* was cut short/.test(m)).length).toBeGreaterThan(0);
    expect(msgs.filter((m) => m.includes('is already in the channel')).length).toBeGreaterThan(0);
    expect(msgs.filter((m) => / failed \(attempt 1 of 6\)/.test(m)).length).toBeGreaterThan(0);
    expect(msgs.filter((m) => m.includes('missed while the service was down')).length).toBeGreaterThan(0);
    expect(msgs.filter((m) => m.includes('no answer to chat.postMessage')).length).toBeGreaterThan(0);

    const ledger = await Ledger.open(ledgerPath);
    const weekly = ledger.runs('weekly-digest');
    for (const [scheduledFor, rec] of weekly) {
      expect(DateTime.fromISO(scheduledFor, { zone: ZONE }).toFormat('ccc HH:mm'), scheduledFor).toBe('Mon 09:00');
      expect(rec.state, scheduledFor).toBe('succeeded');
    }
    expect(weekly.length).toBe(wantDigests.length);
    console.log(`soak: ${seconds.toFixed(1)} s real for ${wantDigests.length} weeks, ${alerts.size} alerts, ${events.filter((e) => e.startsWith('restart')).length} restarts (seed ${seed})`);
  }, 900_000);
});
