/**
 * Issue 14 point 10: one-line errors where a stack trace or a deep failure showed, checked through
 * the CLI: a timezone in the wrong case, `--week 0000-W01`, `serve` on a port in use or with nothing
 * to read, `seed` against a failing host, `backfill --source posthog --events`, `--from`/`--to`
 * named in their own messages, `status` printing backfill runs, and backfill's ledger recording
 * what each week was made from and where it went.
 */
import { join } from 'node:path';
import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCsv, runCli, tempDir, writeExport, type TestEvent } from './helpers/fixtures.ts';

let dir: string;
let events: string;
let otherEvents: string;

/** One line of error (and at most one hint line), no stack trace. */
function oneLineError(stderr: string): string {
  const lines = stderr.trim().split('\n').filter((l) => l.startsWith('error:'));
  expect(lines, stderr).toHaveLength(1);
  expect(stderr).not.toMatch(/\n\s+at /);
  return lines[0]!;
}

beforeAll(async () => {
  dir = await tempDir('cm-cli-errors-');
  events = join(dir, 'events');
  const lines: TestEvent[] = [];
  for (let d = 0; d < 14; d++) {
    const day = new Date(Date.UTC(2026, 10, 9 + d)).toISOString().slice(0, 10); // 2026-11-09 .. 2026-11-22
    for (let u = 0; u < 3; u++) lines.push({ event: 'connect.cluster.login', distinct_id: `i${u}`, timestamp: `${day}T12:00:00Z` });
  }
  await writeExport(join(events, 'e.jsonl'), lines);
  otherEvents = join(dir, 'other-events');
  await writeExport(join(otherEvents, 'e.jsonl'), lines.slice(0, 20));
});

describe('one-line errors', () => {
  it('a timezone in the wrong case is taken by its canonical name (utc, europe/berlin)', async () => {
    const cases: Array<[string, string]> = [
      ['utc', 'UTC'],
      ['europe/berlin', 'Europe/Berlin'],
    ];
    for (const [given, canonical] of cases) {
      const out = join(dir, `tz-${canonical.replace('/', '-')}`);
      const run = await runCli(['report', '--week', '2026-W47', '--events', events, '--out', out, '--sinks', 'csv', '--timezone', given, '--data-dir', join(dir, 'data')]);
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toContain(canonical);
      // 3 installations every day of the week, whatever the zone's day boundaries
      expect(parseCsv(await readFile(join(out, 'summary.csv'), 'utf8')).find((r) => r[0] === 'wau')?.[1]).toBe('3');
    }
    const bad = await runCli(['report', '--week', '2026-W47', '--events', events, '--timezone', 'Mars/Olympus', '--data-dir', join(dir, 'data')]);
    expect(bad.code).toBe(2);
    expect(oneLineError(bad.stderr)).toBe('error: --timezone Mars/Olympus: not an IANA timezone');
  });

  it('--week 0000-W01 is a usage error, not an engine failure', async () => {
    const run = await runCli(['report', '--week', '0000-W01', '--events', events, '--data-dir', join(dir, 'data')]);
    expect(run.code).toBe(2);
    expect(oneLineError(run.stderr)).toBe('error: --week 0000-W01: expected a week of a year from 2000 to 2099');
  });

  it('backfill names --from and --to in their own messages, and refuses --source posthog with --events before any week', async () => {
    const from = await runCli(['backfill', '--from', '2026-W99', '--to', '2026-W47', '--events', events, '--data-dir', join(dir, 'data')]);
    expect(from.code).toBe(2);
    expect(oneLineError(from.stderr)).toBe('error: --from 2026-W99: 2026 has weeks W01 to W53');
    expect(from.stderr).toContain('try --from 2026-W53');
    const to = await runCli(['backfill', '--from', '2026-W40', '--to', 'W47', '--events', events, '--data-dir', join(dir, 'data')]);
    expect(oneLineError(to.stderr)).toMatch(/^error: --to W47: expected an ISO week/);
    const both = await runCli(['backfill', '--from', '2026-W46', '--to', '2026-W47', '--source', 'posthog', '--events', events, '--data-dir', join(dir, 'data-both')]);
    expect(both.code).toBe(2);
    expect(oneLineError(both.stderr)).toBe('error: --events reads export files; it does not go with --source posthog');
    expect(both.stderr).not.toMatch(/backfill stopped|0\/2 weeks/);
  });

  it('serve refuses a port in use and a missing events source at start', async () => {
    const holder = createTcpServer();
    await new Promise<void>((ok) => holder.listen(0, '127.0.0.1', ok));
    const port = (holder.address() as AddressInfo).port;
    try {
      const busy = await runCli(['serve', '--port', String(port), '--events', events, '--data-dir', join(dir, 'data-serve')]);
      expect(busy.code).toBe(2);
      expect(oneLineError(busy.stderr)).toBe(`error: --port ${port}: another process already listens on 127.0.0.1:${port}`);
    } finally {
      holder.close();
    }
    const none = await runCli(['serve', '--port', '0', '--data-dir', join(dir, 'data-serve')]);
    expect(none.code).toBe(2);
    expect(oneLineError(none.stderr)).toMatch(/^error: --events is required with --source files/);
  });

  it('seed against a host that is down or failing: exit 1, one short line, nothing sent', async () => {
    const closed = createTcpServer();
    await new Promise<void>((ok) => closed.listen(0, '127.0.0.1', ok));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise<void>((ok) => closed.close(() => ok()));
    const down = await runCli(['seed', '--host', `http://127.0.0.1:${closedPort}`, '--project-key', 'phc_abc', '--days', '1', '--installations', '2']);
    expect(down.code).toBe(1);
    expect(oneLineError(down.stderr)).toMatch(new RegExp(`^error: seed: cannot reach http://127.0.0.1:${closedPort} \\(ECONNREFUSED\\); nothing was sent$`));

    let posts = 0;
    const failing: Server = createServer((req, res) => {
      posts++;
      req.resume();
      res.writeHead(503).end('unavailable');
    });
    await new Promise<void>((ok) => failing.listen(0, '127.0.0.1', ok));
    try {
      const port = (failing.address() as AddressInfo).port;
      const run = await runCli(['seed', '--host', `http://127.0.0.1:${port}`, '--project-key', 'phc_abc', '--days', '1', '--installations', '2']);
      expect(run.code).toBe(1);
      expect(oneLineError(run.stderr)).toBe(`error: seed: http://127.0.0.1:${port} answered HTTP 503; nothing was sent`);
      expect(posts).toBe(1);
    } finally {
      failing.close();
    }
  });
});

describe('backfill ledger: what each week was made from and where it went', () => {
  it('another --out or other --events is made again, not skipped as done before; status prints the runs', async () => {
    const data = join(dir, 'data-ledger');
    const args = (out: string, ev: string) => ['backfill', '--from', '2026-W46', '--to', '2026-W47', '--events', ev, '--sinks', 'csv', '--out', join(dir, out), '--data-dir', data];
    const first = await runCli(args('bf-a', events));
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toContain('2 weeks, 0 done before, 2 to go');
    const same = await runCli(args('bf-a', events));
    expect(same.stderr).toContain('2 weeks, 2 done before, 0 to go');
    const otherOut = await runCli(args('bf-b', events));
    expect(otherOut.code, otherOut.stderr).toBe(0);
    expect(otherOut.stderr).toContain('2 weeks, 0 done before, 2 to go');
    expect(parseCsv(await readFile(join(dir, 'bf-b', '2026-W47', 'summary.csv'), 'utf8')).find((r) => r[0] === 'wau')?.[1]).toBe('3');
    const otherEv = await runCli(args('bf-b', otherEvents));
    expect(otherEv.stderr).toContain('2 weeks, 0 done before, 2 to go');
    // other-events holds days 2026-11-09 .. 2026-11-15 (20 lines / 3 a day = 6 days and 2 more): nothing in W47
    expect(parseCsv(await readFile(join(dir, 'bf-b', '2026-W47', 'summary.csv'), 'utf8')).find((r) => r[0] === 'wau')?.[1]).toBe('0');

    const status = await runCli(['status', '--data-dir', data]);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).not.toContain('Invalid DateTime');
    expect(status.stdout).toMatch(/^ {2}2026-W47\/UTC\/files\/csv {2}succeeded/m);
  });
});
