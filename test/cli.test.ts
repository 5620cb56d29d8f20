import { join } from 'node:path';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseCsv, runCli, tempDir, writeExport } from './helpers/fixtures.ts';

describe('connect-metrics CLI', () => {
  let dir: string;
  let events: string;
  const data = () => ['--data-dir', join(dir, 'data')];

  beforeAll(async () => {
    dir = await tempDir();
    events = join(dir, 'events');
    await writeExport(join(events, 'e.jsonl'), [
      { event: 'connect.cluster.login', distinct_id: 'a', timestamp: '2026-11-16T10:00:00Z', properties: { 'connect.os': 'darwin' } },
      { event: 'connect.protocol.use', distinct_id: 'b', timestamp: '2026-11-17T10:00:00Z', properties: { 'connect.protocol': '<!channel>' } },
      { event: 'connect.protocol.use', distinct_id: 'b', timestamp: '2026-11-10T10:00:00Z', properties: { 'connect.protocol': 'ssh' } },
    ]);
  });

  it.each([
    [['report', '--week', '2026-W47', '--events', '/no/such/folder'], /--events \/no\/such\/folder: no such file or folder/],
    [['report', '--week', '2026-47', '--events', 'x'], /--week 2026-47: expected an ISO week like 2026-W47, or last/],
    [['report', '--week', '2027-W53', '--events', 'x'], /2027 has weeks W01 to W52/],
    [['report', '--wek', '2026-W47', '--events', 'x'], /unknown option '--wek'[\s\S]*Did you mean --week\?/],
    [['report', '--week', '2026-W47'], /--events is required with --source files/],
    [['report', '--week', '2026-W47', '--events', 'x', '--timezone', 'Mars/Olympus'], /--timezone Mars\/Olympus: not an IANA timezone/],
    [['query', 'no_such_query', '--from', '2026-11-16', '--to', '2026-11-23', '--events', 'x'], /unknown query no_such_query/],
    [['query', 'active_users_daily', '--from', '2026-11-16', '--to', '2026-11-23', '--events', 'x', '--format', 'xml'], /--format.*xml.*Allowed choices are table, csv, json/],
    [['frobnicate'], /unknown command 'frobnicate'/],
    [['seed', '--host', 'https://us.i.posthog.com', '--project-key', 'phc_abc123'], /refusing to send synthetic events to a real PostHog project/],
    [['seed', '--host', 'http://127.0.0.1:9', '--project-key', 'phx_personal123'], /that is a personal API key/],
    [['seed', '--host', 'http://127.0.0.1:9', '--project-key', 'phc_abc', '--days', '0'], /--days 0: expected a whole number/],
    [['report', '--source', 'posthog', '--week', '2026-W47'], /POSTHOG_HOST, POSTHOG_PROJECT_ID, POSTHOG_API_KEY are not set/],
    [['report', '--source', 'carrier-pigeon'], /--source carrier-pigeon: expected posthog, files or clickhouse:\/\//],
  ])('exits 2 with a one-line error for %j', async (args, message) => {
    const run = await runCli([...args, ...data()]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(run.stdout).toBe('');
  });

  it('names the config key that is wrong', async () => {
    const config = join(dir, 'bad-config.json');
    await writeFile(config, JSON.stringify({ timezone: 'UTC', eventPrefx: 'connect.' }));
    const run = await runCli(['report', '--events', events, '--config', config, ...data()]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/config file .*bad-config\.json: Unrecognized key: "eventPrefx"/);
  });

  it('reports a week: five CSVs, slack.json, and a preview on stdout', async () => {
    const out = join(dir, 'out');
    const run = await runCli(['report', '--week', '2026-W47', '--events', events, '--out', out, ...data()]);
    expect(run.stderr).not.toMatch(/error/);
    expect(run.code).toBe(0);
    const files = await readdir(out);
    for (const f of ['summary.csv', 'dau.csv', 'features.csv', 'protocols.csv', 'platforms.csv', 'slack.json']) expect(files).toContain(f);
    expect(files.filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(run.stdout).toContain('Teleport Connect usage · 2026-W47');
    const summary = parseCsv(await readFile(join(out, 'summary.csv'), 'utf8'));
    // Week W47: a and b active (WAU 2); W46: b only. avg DAU 2/7 vs 1/7. No change: both weeks have
    // days without events, so neither is fully covered (issue 14; test/coverage.test.ts has the changes).
    expect(summary).toEqual([
      ['metric', 'value', 'previous', 'change'],
      ['wau', '2', '1', ''],
      ['avg_dau', '0.2857', '0.1429', ''],
      ['peak_dau', '1', '1', ''],
      ['stickiness', '0.1429', '0.1429', ''],
      ['events', '2', '1', ''],
    ]);
    const slack = await readFile(join(out, 'slack.json'), 'utf8');
    expect(slack).not.toContain('<!channel>');
    expect(slack).toContain('&lt;!channel&gt;');
  });

  it('--week last is the last complete week at the injected time', async () => {
    const out = join(dir, 'out-last');
    const run = await runCli(['report', '--events', events, '--out', out, ...data()], { now: '2026-11-25T08:00:00Z' });
    expect(run.code).toBe(0);
    const dau = parseCsv(await readFile(join(out, 'dau.csv'), 'utf8'));
    expect(dau[1]).toEqual(['2026-11-16', '1']);
    expect(dau).toHaveLength(8);
  });

  it('lists the queries and runs one in each format', async () => {
    const list = await runCli(['queries']);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^active_users_daily\n {2}Active installations/m);
    const base = ['query', 'active_users_weekly', '--from', '2026-11-09', '--to', '2026-11-23', '--events', events, ...data()];
    const csv = await runCli([...base, '--format', 'csv']);
    expect(csv.code).toBe(0);
    expect(csv.stdout).toBe('week,active_users,events\n2026-11-09,1,1\n2026-11-16,2,2\n');
    const json = await runCli([...base, '--format', 'json']);
    expect(JSON.parse(json.stdout)).toEqual([
      { week: '2026-11-09', active_users: 1, events: 1 },
      { week: '2026-11-16', active_users: 2, events: 2 },
    ]);
    const table = await runCli([...base, '--param', 'prefix=connect.cluster']);
    expect(table.stdout).toContain('(1 rows)');
    const badParam = await runCli([...base, '--param', 'nope=1']);
    expect(badParam.code).toBe(2);
    expect(badParam.stderr).toMatch(/has no parameter nope/);
  });

  it('a data folder in use by another process is a clear error, not a crash', async () => {
    const busy = join(dir, 'busy-data');
    const { spawn } = await import('node:child_process');
    // Another process holds the engine's lock on the folder for a few seconds.
    const holder = spawn(process.execPath, [
      '--input-type=module',
      '-e',
      `import { Session } from 'chdb'; const s = new Session(${JSON.stringify(join(busy, 'clickhouse'))}); console.log('ready'); setTimeout(() => s.close(), 4000);`,
    ], { cwd: join(import.meta.dirname, '..'), stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((ok) => holder.stdout!.once('data', () => ok()));
    const run = await runCli(['report', '--week', '2026-W47', '--events', events, '--out', join(dir, 'out-busy'), '--data-dir', busy]);
    holder.kill();
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/cannot open the embedded engine in .*busy-data/);
    expect(run.stderr).toMatch(/another connect-metrics process may be using this data folder/);
  });

  it('a corrupt input file fails the run (exit 1) naming the file', async () => {
    const bad = join(dir, 'corrupt');
    await writeExport(join(bad, 'ok.jsonl'), [{ event: 'connect.a', distinct_id: 'a', timestamp: '2026-11-16T10:00:00Z' }]);
    await writeFile(join(bad, 'broken.jsonl.gz'), 'not gzip at all');
    const out = join(dir, 'out-corrupt');
    const run = await runCli(['report', '--week', '2026-W47', '--events', bad, '--out', out, ...data()]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(join(bad, 'broken.jsonl.gz'));
    await expect(readdir(out)).rejects.toThrow(/ENOENT/);
  });
});
