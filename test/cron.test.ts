import { describe, expect, it, vi, afterEach } from 'vitest';
import { DateTime } from 'luxon';
import { fireTimesBetween, nextFireTime, parseCron } from '../src/scheduler/cron.ts';
import { loadNodeCron } from '../src/scheduler/node-cron-trigger.ts';
import { ConfigError } from '../src/lib/errors.ts';

const local = (d: Date, zone: string) => DateTime.fromJSDate(d, { zone }).toFormat("ccc yyyy-MM-dd HH:mm");

describe('cron schedules', () => {
  it('Monday 09:00 in Berlin stays at 09:00 local across both DST changes of 2026', () => {
    const s = parseCron('0 9 * * MON', 'Europe/Berlin');
    const times = fireTimesBetween(s, new Date('2026-03-20T00:00:00Z'), new Date('2026-11-10T00:00:00Z'));
    expect(times.length).toBe(34); // Mondays from 23 March to 9 November
    for (const t of times) expect(local(t, 'Europe/Berlin')).toMatch(/^Mon \d{4}-\d\d-\d\d 09:00$/);
    // Summer time starts 2026-03-29, ends 2026-10-25: 08:00 UTC in winter, 07:00 UTC in summer.
    expect(times[0]!.toISOString()).toBe('2026-03-23T08:00:00.000Z');
    expect(times[1]!.toISOString()).toBe('2026-03-30T07:00:00.000Z');
    expect(times.find((t) => t > new Date('2026-10-25T00:00:00Z'))!.toISOString()).toBe('2026-10-26T08:00:00.000Z');
  });

  it('a time in the spring-forward gap does not fire that day; a repeated autumn time fires once, the second time (as node-cron)', () => {
    const s = parseCron('30 2 * * *', 'Europe/Berlin');
    const spring = fireTimesBetween(s, new Date('2026-03-28T00:00:00Z'), new Date('2026-03-31T00:00:00Z')).map((t) => t.toISOString());
    expect(spring).toEqual(['2026-03-28T01:30:00.000Z', '2026-03-30T00:30:00.000Z']);
    const autumn = fireTimesBetween(s, new Date('2026-10-24T00:00:00Z'), new Date('2026-10-27T00:00:00Z')).map((t) => t.toISOString());
    // 2026-10-25 02:30 happens at 00:30Z (CEST) and 01:30Z (CET): only the second.
    expect(autumn).toEqual(['2026-10-24T00:30:00.000Z', '2026-10-25T01:30:00.000Z', '2026-10-26T01:30:00.000Z']);
  });

  it('lists, ranges, steps and names; day-of-month or day-of-week when both are given', () => {
    const s = parseCron('0,30 8-9/1 1 * fri', 'UTC');
    const times = fireTimesBetween(s, new Date('2026-05-01T00:00:00Z'), new Date('2026-05-09T00:00:00Z')).map((t) => t.toISOString().slice(0, 16));
    // May 1st 2026 is a Friday, May 8th too.
    expect(times).toEqual(['2026-05-01T08:00', '2026-05-01T08:30', '2026-05-01T09:00', '2026-05-01T09:30', '2026-05-08T08:00', '2026-05-08T08:30', '2026-05-08T09:00', '2026-05-08T09:30']);
    expect(nextFireTime(parseCron('*/15 * * * *', 'UTC'), new Date('2026-05-01T10:07:00Z'))!.toISOString()).toBe('2026-05-01T10:15:00.000Z');
    expect(nextFireTime(parseCron('0 0 30 2 *', 'UTC'), new Date('2026-05-01T00:00:00Z'))).toBeUndefined();
  });

  it('a bad expression or timezone names the setting and what is wrong', () => {
    const err = (expr: string, tz = 'UTC') => {
      try {
        parseCron(expr, tz, 'jobs.weeklyDigest.schedule');
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        return (e as Error).message;
      }
      throw new Error('no error');
    };
    expect(err('0 9 * *')).toBe('jobs.weeklyDigest.schedule "0 9 * *": expected 5 fields, found 4');
    expect(err('0 25 * * *')).toContain('hour field: 25 is outside 0-23');
    expect(err('0 9 * * FUNDAY')).toContain('day-of-week field: "FUNDAY" is not a number or a name');
    expect(err('0 0 9 * * MON')).toContain('seconds are not supported');
    expect(err('0 9 * * 1', 'Mars/Olympus')).toContain('timezone Mars/Olympus is not an IANA timezone');
  });
});

describe('agreement with node-cron', async () => {
  const cron = await loadNodeCron();
  afterEach(() => vi.useRealTimers());
  // node-cron is extraneous in this checkout (not in package.json): when absent this block cannot check.
  it.skipIf(!cron)('the next runs match node-cron around the DST changes (Berlin, Los Angeles)', async () => {
    const mod = (await import('node-cron' as string)) as { default: { createTask(e: string, f: () => void, o: object): { getNextRuns(n: number): Date[]; destroy(): void } } };
    const cases: Array<[string, string, string]> = [
      ['0 9 * * 1', 'Europe/Berlin', '2026-03-20T12:00:00Z'],
      ['0 9 * * 1', 'Europe/Berlin', '2026-10-20T12:00:00Z'],
      ['0 8 * * *', 'America/Los_Angeles', '2026-03-06T12:00:00Z'],
      ['0 8 * * *', 'America/Los_Angeles', '2026-10-30T12:00:00Z'],
      ['30 2 * * *', 'Europe/Berlin', '2026-03-27T12:00:00Z'],
      ['30 2 * * *', 'Europe/Berlin', '2026-10-23T12:00:00Z'],
      ['0 9 * * MON', 'Europe/Berlin', '2026-03-27T12:00:00Z'],
    ];
    for (const [expr, tz, at] of cases) {
      vi.useFakeTimers({ toFake: ['Date'] });
      vi.setSystemTime(new Date(at));
      const task = mod.default.createTask(expr, () => {}, { timezone: tz });
      const theirs = task.getNextRuns(5).map((d) => d.toISOString());
      task.destroy();
      vi.useRealTimers();
      const s = parseCron(expr, tz);
      const ours = fireTimesBetween(s, new Date(at), new Date(new Date(at).getTime() + 40 * 86_400_000)).slice(0, 5).map((d) => d.toISOString());
      expect(ours, `${expr} ${tz} from ${at}`).toEqual(theirs);
    }
  });
});
