/**
 * Small-cell suppression in the digest (Slack and the terminal preview): a breakdown cell under k
 * installations reads `<k`, its events and share are hidden, the footnote says so, highlights never
 * name it, and k comes from the config (flag, environment, file).
 */
import { describe, expect, it } from 'vitest';
import { DateTime } from 'luxon';
import { readFileSync } from 'node:fs';
import { buildWeeklyReport, type WeeklyResults } from '../src/reports/weekly-report.ts';
import { parseWeek, previousWeek } from '../src/reports/period.ts';
import { parseCatalog } from '../src/config/catalog.ts';
import { emptyDataQuality } from '../src/reports/data-quality.ts';
import { DEFAULT_CATALOG, loadConfig } from '../src/config/config.ts';
import { weeklyDigest } from '../src/render/digest.ts';
import { digestBlocks } from '../src/render/slack.ts';
import { digestText } from '../src/render/text.ts';
import { weeklyHighlights } from '../src/reports/highlights.ts';

const catalog = parseCatalog(readFileSync(DEFAULT_CATALOG, 'utf8'), 'catalog');
const week = parseWeek('2026-W47', 'UTC', new Date());
const prev = previousWeek(week);

function report(k: number | undefined, rare: [number, number]) {
  const mon = week.days[0]!;
  const pmon = prev.days[0]!;
  const results: WeeklyResults = {
    // From the Sunday before the week before: both weeks fully covered (src/reports/coverage.ts).
    daily: [DateTime.fromISO(pmon).minus({ days: 1 }).toISODate()!, ...prev.days, ...week.days].map((d) => ({ day: d, active_users: 40, events: 400, late_events: 0, first_event: `${d}T08:00:00Z`, last_event: `${d}T20:00:00Z` })),
    weekly: [
      { week: pmon, active_users: 100, events: 2800 },
      { week: mon, active_users: 100, events: 2800 },
    ],
    features: [],
    protocols: [
      { week: pmon, protocol: 'ssh', events: 500, users: 60 },
      { week: mon, protocol: 'ssh', events: 510, users: 61 },
      { week: pmon, protocol: 'desktop', events: 77, users: rare[1] },
      { week: mon, protocol: 'desktop', events: 93, users: rare[0] },
    ],
    platforms: [
      { week: pmon, os: 'macos', users: 97 },
      { week: mon, os: 'macos', users: 97 },
      { week: pmon, os: 'linux', users: 3 },
      { week: mon, os: 'linux', users: 3 },
    ],
  };
  return buildWeeklyReport({ week, previousWeek: prev, source: 'files', eventPrefix: 'connect.', catalog, results, dataQuality: emptyDataQuality('test'), generatedAt: DateTime.utc().toJSDate(), privacyK: k });
}

describe('small cells in the digest', () => {
  it('reads <5 with events and share hidden; the footnote says so', () => {
    const digest = weeklyDigest(report(undefined, [4, 2]));
    const protocols = digest.tables.find((t) => t.title === 'Protocols')!;
    expect(protocols.rows.find((r) => r[0] === 'desktop')).toEqual(['desktop', '<5', '–', '–', '<5']);
    expect(protocols.rows.find((r) => r[0] === 'ssh')).toEqual(['ssh', '61', '61.0%', '510', '60']);
    const platforms = digest.tables.find((t) => t.csv === 'platforms.csv')!;
    expect(platforms.rows.find((r) => r[0] === 'linux')).toEqual(['linux', '<5', '–', '<5']);
    const blocks = JSON.stringify(digestBlocks(digest).blocks);
    const text = digestText(digest);
    for (const out of [blocks, text]) {
      // 93 desktop events and 4% never show; the footnote does.
      expect(out).not.toMatch(/\b93\b/);
      expect(out).toContain('fewer than 5 installations');
    }
    expect(blocks).toContain('&lt;5');
  });

  it('shows the cell once it reaches k, and follows k', () => {
    const five = weeklyDigest(report(undefined, [5, 2])).tables.find((t) => t.title === 'Protocols')!;
    expect(five.rows.find((r) => r[0] === 'desktop')).toEqual(['desktop', '5', '5.0%', '93', '<5']);
    const k10 = weeklyDigest(report(10, [5, 2])).tables.find((t) => t.title === 'Protocols')!;
    expect(k10.rows.find((r) => r[0] === 'desktop')![1]).toBe('<10');
    const off = weeklyDigest(report(1, [4, 2])).tables.find((t) => t.title === 'Protocols')!;
    expect(off.rows.find((r) => r[0] === 'desktop')).toEqual(['desktop', '4', '4.0%', '93', '2']);
  });

  it('never names a small cell in a highlight, even when k is above the trend rule', () => {
    // desktop goes 22 -> 40 installations: a trend by the rule (>= 20, +82%), named with k = 5 ...
    const named = weeklyHighlights(report(5, [40, 22])).find((h) => h.subject.startsWith('protocol:'));
    expect(named?.subject).toBe('protocol:desktop');
    // ... but not with k = 30, where 22 is a small cell.
    const hidden = weeklyHighlights(report(30, [40, 22])).find((h) => h.subject.startsWith('protocol:'));
    expect(hidden?.subject).not.toBe('protocol:desktop');
  });
});

describe('privacy.k setting', () => {
  it('defaults to 5; flag over environment over file; a bad value names where it came from', async () => {
    expect((await loadConfig({ env: {} })).privacyK).toBe(5);
    expect((await loadConfig({ env: { CONNECT_METRICS_PRIVACY_K: '8' } })).privacyK).toBe(8);
    expect((await loadConfig({ env: { CONNECT_METRICS_PRIVACY_K: '8' }, privacyK: '3' })).privacyK).toBe(3);
    await expect(loadConfig({ env: {}, privacyK: 'five' })).rejects.toThrow(/--privacy-k five/);
    await expect(loadConfig({ env: { CONNECT_METRICS_PRIVACY_K: '0' } })).rejects.toThrow(/CONNECT_METRICS_PRIVACY_K 0/);
  });
});

describe('small cells in the growth section', () => {
  it('versions: small versions (unknown too) fold into other; share over all active installations', async () => {
    const { combineVersions } = await import('../src/reports/privacy.ts');
    const rows = [
      { version: '17.0.0', users: 3, share: 3 / 15 },
      { version: '17.1.0', users: 10, share: 10 / 15 },
      { version: 'unknown', users: 2, share: 2 / 15 },
    ];
    expect(combineVersions(rows, 5)).toEqual([
      { version: '17.1.0', users: 10, share: 10 / 15 },
      { version: 'other', users: 5, share: 5 / 15 },
    ]);
    expect(combineVersions(rows, 1)).toEqual(rows);
  });

  it('new installations by OS: a small cell is emptied and added to the same week\'s other', async () => {
    const { combineNewInstallations } = await import('../src/reports/privacy.ts');
    const week = (w: string, n: [number, number, number, number, number]) =>
      (['macos', 'windows', 'linux', 'other', 'unknown'] as const).map((os, i) => ({ week: w, os, downloads: null, newInstallations: n[i]! }));
    const out = combineNewInstallations([...week('2026-11-09', [12, 2, 0, 1, 3]), ...week('2026-11-16', [9, 8, 7, 0, 6])], 5);
    expect(out.map((r) => [r.week, r.os, r.newInstallations])).toEqual([
      ['2026-11-09', 'macos', 12],
      ['2026-11-09', 'windows', null],
      ['2026-11-09', 'linux', 0],
      ['2026-11-09', 'other', 6],
      ['2026-11-09', 'unknown', null],
      ['2026-11-16', 'macos', 9],
      ['2026-11-16', 'windows', 8],
      ['2026-11-16', 'linux', 7],
      ['2026-11-16', 'other', 0],
      ['2026-11-16', 'unknown', 6],
    ]);
  });
});
