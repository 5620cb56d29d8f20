/**
 * The daily check's rule, on hand-made day tables (end to end against the stand-ins: test/soak.test.ts),
 * and `status` printing the ledger.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkDays, evaluateDailyCheck, median } from '../src/jobs/daily-check.ts';
import { Ledger } from '../src/scheduler/ledger.ts';
import { runCli, tempDir } from './helpers/fixtures.ts';

const base = { timezone: 'Europe/Berlin', prefix: 'connect.', threshold: 0.3, weeks: 4 };
// Run on Tuesday 2026-11-24 08:00 Berlin: yesterday is Monday 2026-11-23; the baseline the 4 Mondays before.
const at = new Date('2026-11-24T07:00:00Z');

describe('daily check', () => {
  it('reads yesterday and the same weekday of the weeks before, in the timezone', () => {
    expect(checkDays(at, 'Europe/Berlin', 4)).toMatchObject({ yesterday: '2026-11-23', baseline: ['2026-11-16', '2026-11-09', '2026-11-02', '2026-10-26'] });
    // 00:30 Berlin on the 24th is still the 23rd in UTC: the day is local.
    expect(checkDays(new Date('2026-11-23T23:30:00Z'), 'Europe/Berlin', 1).yesterday).toBe('2026-11-23');
    expect(median([5, 1, 4])).toBe(4);
    expect(median([5, 1, 4, 2])).toBe(3);
  });

  it('alerts on a move beyond the threshold, either way; not within it; not without a baseline', () => {
    const days = (y: number, b: number[]) => new Map([['2026-11-23', y], ['2026-11-16', b[0]!], ['2026-11-09', b[1]!], ['2026-11-02', b[2]!], ['2026-10-26', b[3]!]]);
    const drop = evaluateDailyCheck({ ...base, scheduledFor: at, dauByDay: days(60, [100, 90, 110, 100]), eventsLast24h: 50 });
    expect(drop).toEqual([
      expect.objectContaining({ id: '2026-11-23/dau/Europe/Berlin', kind: 'dau', value: 60, median: 100, change: -0.4 }),
    ]);
    expect(drop[0]!.text).toBe(':chart_with_downwards_trend: Teleport Connect DAU on Monday 2026-11-23 was 60, 40% below the median of the 4 Mondays before (100).');
    expect(evaluateDailyCheck({ ...base, scheduledFor: at, dauByDay: days(131, [100, 90, 110, 100]), eventsLast24h: 50 }).map((a) => a.kind)).toEqual(['dau']);
    expect(evaluateDailyCheck({ ...base, scheduledFor: at, dauByDay: days(71, [100, 90, 110, 100]), eventsLast24h: 50 })).toEqual([]);
    expect(evaluateDailyCheck({ ...base, scheduledFor: at, dauByDay: days(129, [100, 90, 110, 100]), eventsLast24h: 50 })).toEqual([]);
    expect(evaluateDailyCheck({ ...base, scheduledFor: at, dauByDay: new Map([['2026-11-23', 7]]), eventsLast24h: 7 })).toEqual([]);
  });

  it('alerts when no event arrived in the 24 hours before the run', () => {
    const alerts = evaluateDailyCheck({ ...base, scheduledFor: at, dauByDay: new Map(), eventsLast24h: 0 });
    expect(alerts.map((a) => a.id)).toEqual(['2026-11-23/ingestion/Europe/Berlin']);
    expect(alerts[0]!.text).toContain('No connect.* event arrived in the 24 hours to 2026-11-24 08:00 Europe/Berlin');
  });
});

describe('status', () => {
  it('prints each job with its recent runs and next time; --json too', async () => {
    const dir = await tempDir();
    const ledger = await Ledger.open(join(dir, 'scheduler', 'ledger.json'));
    ledger.ensureJob('weekly-digest', new Date('2026-11-01T00:00:00Z'));
    await ledger.set('weekly-digest', '2026-11-16T08:00:00.000Z', { state: 'succeeded', attempts: 2, trigger: 'scheduled', startedAt: '2026-11-16T08:00:00.000Z', finishedAt: '2026-11-16T08:00:05.000Z', durationMs: 5000, summary: '2026-W46/Europe/Berlin/posthog' });
    await ledger.set('weekly-digest', '2026-11-23T08:00:00.000Z', { state: 'failed', attempts: 5, trigger: 'scheduled', error: 'Slack: chat.postMessage failed: channel_not_found' });
    const run = await runCli(['status', '--data-dir', dir, '--timezone', 'Europe/Berlin'], { now: '2026-11-24T12:00:00Z' });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('weekly-digest  (0 9 * * MON Europe/Berlin)  next: Mon 2026-11-30 09:00  FAILED RUNS: 1');
    expect(run.stdout).toContain('  Mon 2026-11-23 09:00  failed (attempt 5): Slack: chat.postMessage failed: channel_not_found; no retries left');
    expect(run.stdout).toContain('  Mon 2026-11-16 09:00  succeeded after 2 attempts in 5.0 s (scheduled): 2026-W46/Europe/Berlin/posthog');
    expect(run.stdout).toContain('daily-check  (0 8 * * * Europe/Berlin)  next: Wed 2026-11-25 08:00');
    const json = await runCli(['status', '--json', '--data-dir', dir, '--timezone', 'Europe/Berlin'], { now: '2026-11-24T12:00:00Z' });
    const parsed = JSON.parse(json.stdout);
    expect(parsed.jobs.find((j: { job: string }) => j.job === 'weekly-digest')).toMatchObject({ next: '2026-11-30T08:00:00.000Z', failedForGood: 1, lastSuccess: { scheduledFor: '2026-11-16T08:00:00.000Z' } });
    const bad = await runCli(['status', '--runs', '0', '--data-dir', dir]);
    expect(bad.code).toBe(2);
  });

  it('a bad schedule in the environment names the variable (exit 2)', async () => {
    const dir = await tempDir();
    const run = await runCli(['status', '--data-dir', dir], { env: { CONNECT_METRICS_DAILY_CHECK_SCHEDULE: '61 8 * * *' } });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('jobs.dailyCheck.schedule (CONNECT_METRICS_DAILY_CHECK_SCHEDULE) "61 8 * * *": minute field: 61 is outside 0-59');
    const port = await runCli(['status', '--data-dir', dir], { env: { CONNECT_METRICS_HTTP_PORT: '99999' } });
    expect(port.code).toBe(2);
    expect(port.stderr).toContain('CONNECT_METRICS_HTTP_PORT=99999: expected a whole number from 0 to 65535');
  });
});

describe('example config', () => {
  it('loads, with the scheduler settings it shows', async () => {
    const { loadConfig, PACKAGE_ROOT } = await import('../src/config/config.ts');
    const config = await loadConfig({ configPath: join(PACKAGE_ROOT, 'config', 'connect-metrics.example.json'), env: {} });
    expect(config.jobs).toEqual({
      weeklyDigest: { schedule: '0 9 * * MON', enabled: true },
      dailyCheck: { schedule: '0 8 * * *', enabled: true, threshold: 0.3, weeks: 4 },
    });
    expect(config.scheduler.catchUpWindowHours).toBe(336);
    expect(config.http.port).toBe(9464);
  });
});
