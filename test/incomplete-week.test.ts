/**
 * Issue 14, point 2: a week that has not ended (the current one, a future one) is a usage error
 * (exit 2) naming the last complete week; `--allow-incomplete` reports it on purpose, and every
 * figure of it then says "partial".
 */
import { describe, expect, it } from 'vitest';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../src/cli/main.ts';

// Wednesday 2026-11-25 12:00 UTC: 2026-W48 (Nov 23-29) is under way; the last complete week is W47.
const NOW = new Date('2026-11-25T12:00:00Z');
let n = 0;
const line = (user: string, at: string) =>
  JSON.stringify({ uuid: `0192dddd-0000-7000-8000-${String(++n).padStart(12, '0')}`, event: 'connect.cluster.login', distinct_id: user, properties: {}, timestamp: at, created_at: at });

async function run(args: string[]) {
  const dir = await mkdtemp(join(tmpdir(), 'cm-partial-'));
  const events = join(dir, 'export.jsonl');
  // u1 every day from Sunday Nov 15 to Wednesday Nov 25 10:00; u2 on Monday Nov 23 and Wednesday.
  const lines: string[] = [];
  for (let d = 15; d <= 25; d++) lines.push(line('u1', `2026-11-${d}T10:00:00.000Z`));
  lines.push(line('u2', '2026-11-23T09:00:00.000Z'), line('u2', '2026-11-25T11:00:00.000Z'));
  await writeFile(events, lines.join('\n') + '\n');
  const stdout: string[] = [];
  const stderr: string[] = [];
  const out = join(dir, 'out', 'w');
  const code = await main(['report', ...args, '--events', events, '--out', out, '--data-dir', join(dir, 'data'), '--timezone', 'UTC', '--privacy-k', '1'], {
    stdout: (t) => stdout.push(t),
    stderr: (t) => stderr.push(t),
    clock: { now: () => NOW },
    env: {},
  });
  return { code, stdout: stdout.join(''), stderr: stderr.join(''), out };
}

describe('a week that has not ended', () => {
  it('the current week is refused with exit 2, naming the last complete week', async () => {
    const r = await run(['--week', '2026-W48']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('2026-W48');
    expect(r.stderr).toContain('has not ended');
    expect(r.stderr).toContain('the last complete week is 2026-W47');
    expect(r.stderr).toContain('--allow-incomplete');
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(r.stdout).toBe('');
  });

  it('a future week is refused too', async () => {
    const r = await run(['--week', '2027-W05']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('has not begun');
    expect(r.stderr).toContain('the last complete week is 2026-W47');
  });

  it('--allow-incomplete reports it, "partial" wherever a figure of it shows', async () => {
    const r = await run(['--week', '2026-W48', '--allow-incomplete']);
    expect(r.code, r.stderr).toBe(0);
    // By hand: W48 so far: u1 Mon-Wed, u2 Mon and Wed: WAU 2, 5 events.
    expect(r.stdout).toContain('Teleport Connect usage · 2026-W48 (partial)');
    expect(r.stdout).toMatch(/Weekly active installations\s+2 \(partial\)\s+–/);
    expect(r.stdout).toMatch(/Events\s+5 \(partial\)/);
    expect(r.stdout).toContain('Partial week: 2026-W48 has not ended');
    // The DAU table: Monday and Tuesday whole, Wednesday in progress, Thursday on not yet.
    expect(r.stdout).toMatch(/Mon Nov 23\s+2\s/);
    expect(r.stdout).toMatch(/Wed Nov 25\s+2 \(partial\)/);
    expect(r.stdout).toMatch(/Thu Nov 26\s+–/);
    // Every table of the week says so.
    for (const title of ['Daily active installations', 'Features', 'Protocols', 'Platforms']) expect(r.stdout).toContain(`${title}`);
    expect(r.stdout.match(/\(partial week\)/g)?.length).toBeGreaterThanOrEqual(4);
    // No change is claimed: a week with days still to come is not fully covered.
    const summary = (await readFile(join(r.out, 'summary.csv'), 'utf8')).trim().split('\n').slice(1);
    expect(summary.map((row) => row.split(',')[3])).toEqual(['', '', '', '', '']);
    // dau.csv: the days still to come are empty, not 0.
    expect((await readFile(join(r.out, 'dau.csv'), 'utf8')).trim().split('\n').slice(1)).toEqual([
      '2026-11-23,2',
      '2026-11-24,1',
      '2026-11-25,2',
      '2026-11-26,',
      '2026-11-27,',
      '2026-11-28,',
      '2026-11-29,',
    ]);
    const json = JSON.parse(await readFile(join(r.out, 'report.json'), 'utf8'));
    expect(json.partial).toBe(true);
    const html = await readFile(join(r.out, 'report.html'), 'utf8');
    expect(html).toContain('2026-W48 (partial)');
    expect(html).toContain('2 (partial)');
    const index = await readFile(join(r.out, '..', 'index.html'), 'utf8');
    expect(index).toContain('2026-W48 (partial)');
  });
});
