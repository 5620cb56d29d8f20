import { describe, expect, it } from 'vitest';
import { dayRange, parseWeek, previousWeek, toInstant } from '../src/reports/period.ts';
import { UsageError } from '../src/lib/errors.ts';

describe('ISO weeks in a timezone', () => {
  it('2026-W47 in UTC is Monday Nov 16 to Monday Nov 23', () => {
    const w = parseWeek('2026-W47', 'UTC', new Date());
    expect(toInstant(w.start)).toBe('2026-11-16 00:00:00.000000');
    expect(toInstant(w.end)).toBe('2026-11-23 00:00:00.000000');
    expect(w.days).toEqual(['2026-11-16', '2026-11-17', '2026-11-18', '2026-11-19', '2026-11-20', '2026-11-21', '2026-11-22']);
  });

  it('starts at local midnight: Los Angeles is UTC-8 in November', () => {
    const w = parseWeek('2026-W47', 'America/Los_Angeles', new Date());
    expect(toInstant(w.start)).toBe('2026-11-16 08:00:00.000000');
  });

  it('a week across the autumn DST change has 169 hours, the spring one 167', () => {
    // US DST ends Sunday 2026-11-01 (week 2026-W44) and begins Sunday 2026-03-08 (2026-W10).
    const autumn = parseWeek('2026-W44', 'America/Los_Angeles', new Date());
    expect(autumn.end.diff(autumn.start, 'hours').hours).toBe(169);
    expect(autumn.days).toHaveLength(7);
    const spring = parseWeek('2026-W10', 'America/Los_Angeles', new Date());
    expect(spring.end.diff(spring.start, 'hours').hours).toBe(167);
    expect(toInstant(spring.start)).toBe('2026-03-02 08:00:00.000000');
    expect(toInstant(spring.end)).toBe('2026-03-09 07:00:00.000000');
  });

  it('last = the last complete week at that moment, in that timezone', () => {
    // Monday 2026-11-23 03:00 UTC is still Sunday Nov 22 in Los Angeles.
    const now = new Date('2026-11-23T03:00:00Z');
    expect(parseWeek('last', 'UTC', now).label).toBe('2026-W47');
    expect(parseWeek('last', 'America/Los_Angeles', now).label).toBe('2026-W46');
  });

  it('handles week-year edges: 2026-W53 exists, 2027-W53 does not; 2027-W01 starts in January 2027', () => {
    expect(parseWeek('2026-W53', 'UTC', new Date()).days[0]).toBe('2026-12-28');
    expect(() => parseWeek('2027-W53', 'UTC', new Date())).toThrow(UsageError);
    expect(() => parseWeek('2027-W53', 'UTC', new Date())).toThrow(/W01 to W52/);
    expect(parseWeek('2027-W01', 'UTC', new Date()).days[0]).toBe('2027-01-04');
  });

  it('rejects what is not a week, saying what to type', () => {
    expect(() => parseWeek('2026-47', 'UTC', new Date())).toThrow(/expected an ISO week like 2026-W47, or last/);
    expect(() => parseWeek('2026-W00', 'UTC', new Date())).toThrow(UsageError);
  });

  it('previous week and day ranges', () => {
    expect(previousWeek(parseWeek('2026-W01', 'UTC', new Date())).label).toBe('2025-W52');
    expect(dayRange('2026-11-16', '2026-11-18', 'Europe/Berlin')).toEqual({
      from: '2026-11-15 23:00:00.000000',
      to: '2026-11-17 23:00:00.000000',
    });
    expect(() => dayRange('2026-11-18', '2026-11-16', 'UTC')).toThrow(/must be after/);
    expect(() => dayRange('yesterday', '2026-11-16', 'UTC')).toThrow(/--from yesterday/);
  });
});
