import { describe, expect, it } from 'vitest';
import { combineParts, halveUsers, timeParts } from '../src/engine/split.ts';

describe('splitting a too-heavy query', () => {
  it('cuts a range at local day boundaries, DST days included', () => {
    // 2026-11-01 is the 25-hour day in Los Angeles (DST ends).
    const parts = timeParts(
      { from: '2026-10-31 07:00:00.000000', to: '2026-11-03 08:00:00.000000', timezone: 'America/Los_Angeles', x: 1 },
      { grain: 'day', keys: ['day'] },
    );
    expect(parts.map((p) => [p.from, p.to])).toEqual([
      ['2026-10-31 07:00:00.000000', '2026-11-01 07:00:00.000000'],
      ['2026-11-01 07:00:00.000000', '2026-11-02 08:00:00.000000'],
      ['2026-11-02 08:00:00.000000', '2026-11-03 08:00:00.000000'],
    ]);
    expect(parts.every((p) => p.x === 1)).toBe(true);
  });

  it('cuts at Mondays for weekly queries, and leaves a single week whole', () => {
    const weeks = timeParts({ from: '2026-11-09 00:00:00.000000', to: '2026-11-23 00:00:00.000000', timezone: 'UTC' }, { grain: 'week', keys: ['week'] });
    expect(weeks.map((p) => p.from)).toEqual(['2026-11-09 00:00:00.000000', '2026-11-16 00:00:00.000000']);
    const one = timeParts({ from: '2026-11-16 00:00:00.000000', to: '2026-11-23 00:00:00.000000', timezone: 'UTC' }, { grain: 'week', keys: ['week'] });
    expect(one).toHaveLength(1);
  });

  it('never cuts a query over all history by time (grain installation): only installation buckets', () => {
    const values = { from: '2026-08-31 00:00:00.000000', to: '2026-11-23 00:00:00.000000', timezone: 'UTC', user_buckets: 1, user_bucket: 0 };
    expect(timeParts(values, { grain: 'installation', keys: ['week'] })).toEqual([values]);
  });

  it('halves installation buckets so that the halves cover exactly the same installations', () => {
    const halves = halveUsers({ user_buckets: 2, user_bucket: 1 })!;
    expect(halves.map((h) => [h.user_buckets, h.user_bucket])).toEqual([
      [4, 1],
      [4, 3],
    ]);
    // x % 4 in {1, 3}  <=>  x % 2 = 1
    for (let x = 0; x < 100; x++) expect([1, 3].includes(x % 4)).toBe(x % 2 === 1);
    expect(halveUsers({ user_buckets: 64, user_bucket: 0 })).toBeUndefined();
  });

  it('keeps the least and greatest time of min / max columns instead of adding them', () => {
    const combined = combineParts(
      [
        { columns: ['day', 'events', 'first_event', 'last_event'], rows: [['2026-11-16', 3, '2026-11-16T00:10:00Z', '2026-11-16T22:00:00Z']] },
        { columns: ['day', 'events', 'first_event', 'last_event'], rows: [['2026-11-16', 2, '2026-11-16T00:05:00Z', '2026-11-16T21:00:00Z']] },
      ],
      { keys: ['day'], min: ['first_event'], max: ['last_event'] },
    );
    expect(combined.rows).toEqual([['2026-11-16', 5, '2026-11-16T00:05:00Z', '2026-11-16T22:00:00Z']]);
  });

  it('adds counts of rows with the same keys and orders by the keys', () => {
    const combined = combineParts(
      [
        { columns: ['week', 'os', 'users'], rows: [['2026-11-16', 'macos', 3], ['2026-11-16', 'linux', 1]] },
        { columns: ['week', 'os', 'users'], rows: [['2026-11-16', 'macos', '2'], ['2026-11-09', 'windows', 5]] },
        { columns: [], rows: [] },
      ],
      { keys: ['week', 'os'] },
    );
    expect(combined).toEqual({
      columns: ['week', 'os', 'users'],
      rows: [
        ['2026-11-09', 'windows', 5],
        ['2026-11-16', 'linux', 1],
        ['2026-11-16', 'macos', 5],
      ],
    });
  });
});
