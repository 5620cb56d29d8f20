/**
 * Issue 14, point 6: nothing overwritten that we did not write. index.html above --out is written
 * only when absent or one we wrote (marked); otherwise the run leaves it and says so. Files of an
 * earlier run in a report folder we own that this run does not produce are removed.
 */
import { describe, expect, it } from 'vitest';
import { mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../src/cli/main.ts';

let n = 0;
const line = (user: string, at: string) =>
  JSON.stringify({ uuid: `0192ffff-0000-7000-8000-${String(++n).padStart(12, '0')}`, event: 'connect.cluster.login', distinct_id: user, properties: {}, timestamp: at, created_at: at });

/** One login a day from `from` for `days` days (UTC). */
async function eventsDir(from: string, days: number): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'cm-own-ev-'));
  const start = Date.parse(`${from}T10:00:00Z`);
  const lines = Array.from({ length: days }, (_, i) => line('u1', new Date(start + i * 86_400_000).toISOString()));
  await writeFile(join(dir, 'export.jsonl'), lines.join('\n') + '\n');
  return dir;
}

async function report(events: string, out: string, data: string) {
  const stderr: string[] = [];
  const code = await main(['report', '--week', '2026-W47', '--events', events, '--out', out, '--data-dir', data, '--timezone', 'UTC'], {
    stdout: () => {},
    stderr: (t) => stderr.push(t),
    clock: { now: () => new Date('2026-11-24T12:00:00Z') },
    env: {},
  });
  return { code, stderr: stderr.join('') };
}

describe('index.html above --out', () => {
  it('one we did not write is left as it is, and the run says so', async () => {
    const root = await mkdtemp(join(tmpdir(), 'cm-own-'));
    const theirs = '<!doctype html><html><body>the team wiki page</body></html>\n';
    await writeFile(join(root, 'index.html'), theirs);
    const r = await report(await eventsDir('2026-11-01', 22), join(root, '2026-W47'), join(root, 'data'));
    expect(r.code, r.stderr).toBe(0);
    expect(await readFile(join(root, 'index.html'), 'utf8')).toBe(theirs);
    expect(r.stderr).toContain(`${join(root, 'index.html')} was not written by connect-metrics: left as it is`);
    // The week's own page is written all the same.
    expect(await readdir(join(root, '2026-W47'))).toContain('report.html');
  });

  it('one we wrote is marked, and rewritten by the next run', async () => {
    const root = await mkdtemp(join(tmpdir(), 'cm-own-'));
    const events = await eventsDir('2026-11-01', 22);
    expect((await report(events, join(root, 'a'), join(root, 'data'))).code).toBe(0);
    const first = await readFile(join(root, 'index.html'), 'utf8');
    expect(first).toContain('<meta name="generator" content="connect-metrics">');
    expect(first).toContain('1 weekly report');
    expect((await report(events, join(root, 'b'), join(root, 'data'))).code).toBe(0);
    expect(await readFile(join(root, 'index.html'), 'utf8')).toContain('2 weekly reports');
  });
});

describe('a report folder of ours', () => {
  it('loses the files of an earlier run that this run does not produce, and keeps what is not ours', async () => {
    const root = await mkdtemp(join(tmpdir(), 'cm-own-'));
    const out = join(root, '2026-W47');
    // Run 1: three covered weeks, so the 12-week WAU chart has points.
    expect((await report(await eventsDir('2026-11-01', 22), out, join(root, 'data1'))).code).toBe(0);
    expect(await readdir(out)).toContain('wau-trend.png');
    await writeFile(join(out, 'notes.txt'), 'mine\n');
    await mkdir(join(out, 'extra'));
    // Run 2: events of the report week only, from Monday 10:00: no week is fully covered, so no trend chart.
    const r = await report(await eventsDir('2026-11-16', 7), out, join(root, 'data2'));
    expect(r.code, r.stderr).toBe(0);
    const files = await readdir(out);
    expect(files).not.toContain('wau-trend.png');
    expect(r.stderr).toContain('removed 1 file of an earlier run that this run does not produce: wau-trend.png');
    expect(files).toEqual(expect.arrayContaining(['notes.txt', 'extra', 'dau.png', 'summary.csv', 'report.html', 'report.json']));
  });

  it('a folder that is not ours (no manifest, no report.json) loses nothing', async () => {
    const root = await mkdtemp(join(tmpdir(), 'cm-own-'));
    const out = join(root, 'w');
    await mkdir(out);
    await writeFile(join(out, 'wau-trend.png'), 'not ours');
    const r = await report(await eventsDir('2026-11-16', 7), out, join(root, 'data'));
    expect(r.code, r.stderr).toBe(0);
    expect(await readFile(join(out, 'wau-trend.png'), 'utf8')).toBe('not ours');
  });
});
