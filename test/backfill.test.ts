/**
 * backfill: every week from --from to --to, progress on stderr, resumable through the ledger after
 * an interruption, and within the PostHog request budget (8 requests a week, counted by the stand-in).
 */
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main, type CliIo } from '../src/cli/main.ts';
import { runCli, tempDir, writeExport, type TestEvent } from './helpers/fixtures.ts';
import { startPostHogStandIn, type StandIn } from './standins/posthog/index.ts';
import { budgetTime, formatDuration } from '../src/cli/backfill.ts';

let dir: string;
let events: string;
let posthog: StandIn;

beforeAll(async () => {
  dir = await tempDir('cm-backfill-');
  events = join(dir, 'events');
  const lines: TestEvent[] = [];
  for (let d = 0; d < 35; d++) {
    const day = new Date(Date.UTC(2026, 9, 19 + d)).toISOString().slice(0, 10); // 2026-10-19 (W43 Monday) on
    for (let u = 0; u < 3 + (d % 3); u++) lines.push({ event: 'connect.cluster.login', distinct_id: `i${u}`, timestamp: `${day}T09:00:00Z`, properties: { 'connect.os': 'linux' } });
  }
  await writeExport(join(events, 'e.jsonl'), lines);
  posthog = await startPostHogStandIn({ eventsPaths: [join(events, 'e.jsonl')] });
}, 60_000);
afterAll(async () => {
  await posthog?.close();
});

describe('backfill', () => {
  it('stops at a week that fails, and the same command continues from there, skipping the weeks done', async () => {
    const out = join(dir, 'out-1');
    const data = join(dir, 'data-1');
    await mkdir(out, { recursive: true });
    // W46's output folder is a file: the csv sink fails for that week.
    await writeFile(join(out, '2026-W46'), 'in the way');
    const args = ['backfill', '--from', '2026-W44', '--to', '2026-W47', '--events', events, '--sinks', 'csv', '--out', out, '--data-dir', data];
    const first = await runCli(args);
    expect(first.code, first.stderr).toBe(11);
    expect(first.stderr).toContain('4 weeks, 0 done before, 4 to go');
    expect(first.stderr).toMatch(/\[#{8}\.{22}\] 1\/4 weeks {2}2026-W44 {2}ETA \d+ s/);
    expect(first.stderr).toMatch(/2\/4 weeks {2}2026-W45/);
    expect(first.stderr).toContain('backfill stopped at 2026-W46; run the same command again to continue from there');
    expect(existsSync(join(out, '2026-W45', 'summary.csv'))).toBe(true);
    expect(existsSync(join(out, '2026-W47'))).toBe(false);

    await rm(join(out, '2026-W46'));
    const second = await runCli(args);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toContain('4 weeks, 2 done before, 2 to go');
    expect(second.stderr).toMatch(/3\/4 weeks {2}2026-W46/);
    expect(second.stderr).toMatch(/\[#{30}\] 4\/4 weeks {2}2026-W47 {2}done/);
    expect(second.stderr).toContain('backfill done: 2 weeks produced, 2 done before');
    for (const w of ['2026-W44', '2026-W45', '2026-W46', '2026-W47']) expect(existsSync(join(out, w, 'summary.csv')), w).toBe(true);
    const ledger = JSON.parse(await readFile(join(data, 'scheduler', 'ledger.json'), 'utf8'));
    const runs = ledger.jobs.backfill.runs as Record<string, { state: string; attempts: number }>;
    expect(Object.entries(runs).map(([k, r]) => [k, r.state, r.attempts])).toEqual([
      ['2026-W44/UTC/files/csv', 'succeeded', 1],
      ['2026-W45/UTC/files/csv', 'succeeded', 1],
      ['2026-W46/UTC/files/csv', 'succeeded', 2],
      ['2026-W47/UTC/files/csv', 'succeeded', 1],
    ]);

    const third = await runCli(args);
    expect(third.code).toBe(0);
    expect(third.stderr).toContain('4 weeks, 4 done before, 0 to go');
  }, 120_000);

  it('stays within the PostHog budget: 8 requests a week, waits between weeks, says how long it takes', async () => {
    await posthog.reset();
    const waits: number[] = [];
    const err: string[] = [];
    let virtual = new Date('2026-11-24T12:00:00Z').getTime();
    const io: CliIo = {
      stdout: () => {},
      stderr: (t) => err.push(t),
      clock: { now: () => new Date(virtual) },
      env: { POSTHOG_HOST: posthog.url, POSTHOG_PROJECT_ID: String(posthog.projectId), POSTHOG_API_KEY: posthog.apiKey },
      sleep: async (ms) => {
        waits.push(ms);
        virtual += ms;
      },
    };
    const code = await main(['backfill', '--from', '2026-W45', '--to', '2026-W47', '--sinks', 'csv', '--out', join(dir, 'out-2'), '--data-dir', join(dir, 'data-2'), '--budget', '12'], io);
    const stderr = err.join('');
    expect(code, stderr).toBe(0);
    const queries = (await posthog.requests()).filter((r) => r.path.includes('/query'));
    // 8 queries a weekly report (6 of issues 3-5, 2 of growth), 3 weeks.
    expect(queries.length).toBe(24);
    // 12 requests an hour: 8 requests = 40 minutes per week; the first week goes at once.
    expect(waits.length).toBe(2);
    // The clock only moves by the waits here: each is the full 40 minutes.
    expect(waits).toEqual([40 * 60_000, 40 * 60_000]);
    expect(stderr).toContain('about 24 PostHog requests at most 12/h: at least 1 h 20 min');
    expect(stderr).toMatch(/waiting \d+ min for the PostHog budget \(12 requests\/h\)/);
  }, 120_000);

  it("waits out a PostHog throttle however long (a report stops instead, saying until when)", async () => {
    const env = { POSTHOG_HOST: posthog.url, POSTHOG_PROJECT_ID: String(posthog.projectId), POSTHOG_API_KEY: posthog.apiKey };
    // A report: half an hour is more than the 10 minutes it sits out. 12:00 UTC + 1800 s = 12:30.
    await posthog.reset();
    await posthog.setFaults([{ preset: 'throttled', waitSeconds: 1800 }]);
    const report = await runCli(['report', '--source', 'posthog', '--week', '2026-W47', '--out', join(dir, 'out-throttle'), '--data-dir', join(dir, 'data-throttle')], {
      env,
      now: '2026-11-24T12:00:00Z',
    });
    expect(report.code).toBe(1);
    expect(report.stderr).toContain("error: PostHog's query budget for this key is used up until 12:30 UTC; run again then\n");

    // Backfill runs unattended: the same throttle is waited out, as long as PostHog says.
    await posthog.reset();
    await posthog.setFaults([{ preset: 'throttled', waitSeconds: 1800 }]);
    const waits: number[] = [];
    const io: CliIo = {
      stdout: () => {},
      stderr: () => {},
      clock: { now: () => new Date('2026-11-24T12:00:00Z') },
      env,
      sleep: async (ms) => void waits.push(ms),
    };
    const code = await main(['backfill', '--from', '2026-W47', '--to', '2026-W47', '--sinks', 'csv', '--out', join(dir, 'out-3'), '--data-dir', join(dir, 'data-3')], io);
    expect(code).toBe(0);
    expect(waits).toContain(1_800_000);
    expect(existsSync(join(dir, 'out-3', '2026-W47', 'summary.csv'))).toBe(true);
  }, 120_000);

  it('on a terminal the bar is redrawn in place, and log lines clear it first', async () => {
    const err: string[] = [];
    const io: CliIo = { stdout: () => {}, stderr: (t) => err.push(t), clock: { now: () => new Date('2026-11-24T12:00:00Z') }, env: {}, stderrIsTTY: true };
    const code = await main(['backfill', '--from', '2026-W46', '--to', '2026-W47', '--events', events, '--sinks', 'csv', '--out', join(dir, 'out-3'), '--data-dir', join(dir, 'data-3')], io);
    const stderr = err.join('');
    expect(code, stderr).toBe(0);
    expect(stderr).toContain('\r\x1b[2K[###############...............] 1/2 weeks  2026-W46  ETA 0 s');
    expect(stderr).toContain('\r\x1b[2K[##############################] 2/2 weeks  2026-W47  done\n');
    // A log line during a week starts on a cleared line, never after the bar.
    const before = stderr.split('events:').slice(0, -1);
    expect(before.length).toBe(2);
    for (const chunk of before) expect(chunk.endsWith('\r\x1b[2K') || chunk.endsWith('\n')).toBe(true);
    expect(stderr.split('events:')[0]!.endsWith('\r\x1b[2K')).toBe(true);
  }, 60_000);

  it('a year at 120 requests an hour takes about 3.5 hours', () => {
    // 8 requests a week; the first of 52 weeks goes at once: 51 x 8 requests x 30 s = 12,240 s.
    expect(formatDuration(budgetTime(52, 120))).toBe('3 h 24 min');
    expect((52 * 8) / 120).toBeCloseTo(3.47, 2);
  });

  it.each([
    [['backfill', '--from', '2026-W47', '--to', '2026-W44', '--events', 'x'], /--to 2026-W44 is before --from 2026-W47/],
    [['backfill', '--from', '2026-W40', '--to', '2026-W48', '--events', 'x'], /--to 2026-W48: the week is not over yet/],
    [['backfill', '--from', '2026-40', '--to', '2026-W44', '--events', 'x'], /--week 2026-40|2026-40: expected an ISO week/],
    [['backfill', '--to', '2026-W44'], /required option '--from <week>'/],
    [['backfill', '--from', '2026-W40', '--to', '2026-W44', '--events', 'x', '--budget', 'lots'], /--budget lots: expected requests per hour/],
    [['backfill', '--from', '2026-W40', '--to', '2026-W44', '--events', 'x', '--sinks', 'csv,fax'], /sink fax: expected one of/],
  ])('exits 2 for %j', async (args, message) => {
    const run = await runCli([...args, '--data-dir', join(dir, 'data-x')]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
  });
});
