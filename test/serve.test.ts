/**
 * `connect-metrics serve` as a child process (the real binary, real signals): /healthz and /metrics
 * answer while a digest run is going; SIGTERM lets the run finish and exits 0; at the shutdown
 * deadline the run is cut off, exits 0, and the next start runs it again without a second post.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import { readFile, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startSlackStandIn, type SlackStandIn } from './standins/slack/index.ts';
import { tempDir, writeExport } from './helpers/fixtures.ts';
import { DIGEST_EVENT_TYPE } from '../src/sinks/slack.ts';

const BIN = resolve(import.meta.dirname, '..', 'bin', 'connect-metrics.js');

let slack: SlackStandIn;
let dir: string;
let events: string;

beforeAll(async () => {
  dir = await tempDir('cm-serve-');
  events = join(dir, 'events');
  const lines = [];
  for (let d = 2; d <= 22; d++) {
    const day = `2026-11-${String(d).padStart(2, '0')}`;
    lines.push({ event: 'connect.cluster.login', distinct_id: `i${d % 4}`, timestamp: `${day}T10:00:00Z`, properties: { 'connect.os': 'darwin' } });
  }
  await writeExport(join(events, 'e.jsonl'), lines);
});
beforeEach(async () => {
  await slack?.close();
  slack = await startSlackStandIn();
});
afterAll(async () => {
  await slack?.close();
});

interface Running {
  child: ChildProcess;
  lines: Array<Record<string, unknown>>;
  exit: Promise<number | null>;
  waitFor(pred: (l: Record<string, unknown>) => boolean, ms?: number): Promise<Record<string, unknown>>;
}

function serve(dataDir: string, config: object, extra: string[] = []): Running {
  const configPath = join(dataDir, '..', `config-${Math.random().toString(36).slice(2)}.json`);
  const ready = writeFile(configPath, JSON.stringify(config));
  const lines: Array<Record<string, unknown>> = [];
  const waiters: Array<() => void> = [];
  let child!: ChildProcess;
  const exit = ready.then(
    () =>
      new Promise<number | null>((resolveExit) => {
        child = spawn(process.execPath, [BIN, 'serve', '--config', configPath, '--data-dir', dataDir, '--events', events, '--port', '0', '--log-format', 'json', ...extra], {
          env: { PATH: process.env.PATH, HOME: process.env.HOME, SLACK_BOT_TOKEN: slack.token, SLACK_CHANNEL_ID: slack.channel, SLACK_API_URL: slack.apiUrl },
          stdio: ['ignore', 'ignore', 'pipe'],
        });
        let buf = '';
        child.stderr!.on('data', (chunk: Buffer) => {
          buf += chunk.toString();
          let i: number;
          while ((i = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, i);
            buf = buf.slice(i + 1);
            try {
              lines.push(JSON.parse(line));
            } catch {
              lines.push({ msg: line, raw: true });
            }
            for (const w of waiters.splice(0)) w();
          }
        });
        child.on('exit', (code) => resolveExit(code));
      }),
  );
  return {
    get child() {
      return child;
    },
    lines,
    exit,
    async waitFor(pred, ms = 60_000) {
      const deadline = Date.now() + ms;
      for (;;) {
        const found = lines.find(pred);
        if (found) return found;
        if (Date.now() > deadline) throw new Error(`no such log line; got:\n${lines.map((l) => JSON.stringify(l)).join('\n')}`);
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, 200);
        });
      }
    },
  };
}

const msg = (re: RegExp) => (l: Record<string, unknown>) => typeof l.msg === 'string' && re.test(l.msg);
const digests = () => slack.messages(slack.channel).filter((m) => (m.metadata as { event_type?: string } | undefined)?.event_type === DIGEST_EVENT_TYPE);

describe('serve', () => {
  it('answers /healthz and /metrics during a run; SIGTERM lets the run finish, then exits 0', async () => {
    const data = join(dir, 'data-1');
    const before = digests().length;
    // Slack asks to wait 3 s before the post: SIGTERM arrives while the run is going.
    slack.inject({ method: 'chat.postMessage', ratelimited: { retryAfter: 3 } });
    const s = serve(data, { timezone: 'UTC', jobs: { dailyCheck: { enabled: false } }, sinks: ['slack'] }, ['--run-now', 'weekly-digest']);
    const listening = await s.waitFor(msg(/^listening on/));
    const port = listening.port as number;
    await s.waitFor(msg(/weekly-digest: run for .* started/));
    await s.waitFor(msg(/Slack rate-limited chat.postMessage/));
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', running: { job: 'weekly-digest' } });
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(metrics).toContain('# TYPE connect_metrics_job_last_run_timestamp_seconds gauge');
    expect(metrics).toContain('connect_metrics_job_running{job="weekly-digest"} 1');
    expect(metrics).toMatch(/connect_metrics_job_failures_total\{job="weekly-digest"\} 0/);
    s.child.kill('SIGTERM');
    expect(await s.exit).toBe(0);
    const done = s.lines.find(msg(/weekly-digest: run for .* succeeded/));
    expect(done, JSON.stringify(s.lines)).toBeDefined();
    expect(s.lines.findIndex(msg(/SIGTERM: stopping/))).toBeLessThan(s.lines.indexOf(done!));
    expect(digests().length).toBe(before + 1);
    const ledger = JSON.parse(await readFile(join(data, 'scheduler', 'ledger.json'), 'utf8'));
    const runs = Object.values(ledger.jobs['weekly-digest'].runs) as Array<{ state: string }>;
    expect(runs.map((r) => r.state)).toEqual(['succeeded']);
  }, 120_000);

  it('at the shutdown deadline the run is cut off, exits 0, and the next start runs it again, posting once', async () => {
    const data = join(dir, 'data-2');
    const before = digests().length;
    slack.inject({ method: 'chat.postMessage', ratelimited: { retryAfter: 8 } });
    const config = { timezone: 'UTC', jobs: { dailyCheck: { enabled: false } }, sinks: ['slack'], scheduler: { shutdownGraceSeconds: 1 } };
    const s = serve(data, config, ['--run-now', 'weekly-digest']);
    await s.waitFor(msg(/Slack rate-limited chat.postMessage/));
    s.child.kill('SIGINT');
    expect(await s.exit).toBe(0);
    expect(s.lines.find(msg(/still running at the shutdown deadline/))).toBeDefined();
    const ledger = JSON.parse(await readFile(join(data, 'scheduler', 'ledger.json'), 'utf8'));
    expect((Object.values(ledger.jobs['weekly-digest'].runs) as Array<{ state: string }>).map((r) => r.state)).toEqual(['running']);
    expect(digests().length).toBe(before);

    const again = serve(data, config);
    await again.waitFor(msg(/weekly-digest: run for .* succeeded/));
    again.child.kill('SIGTERM');
    expect(await again.exit).toBe(0);
    expect(again.lines.find(msg(/was cut short/))).toBeDefined();
    expect(digests().length).toBe(before + 1);
  }, 120_000);

  it('a bad schedule or flag is a usage error naming the setting (exit 2)', async () => {
    const data = join(dir, 'data-3');
    const bad = serve(data, { jobs: { weeklyDigest: { schedule: '0 9 * * FUNDAY' } } });
    expect(await bad.exit).toBe(2);
    expect(bad.lines.map((l) => l.msg).join('\n')).toMatch(/jobs\.weeklyDigest\.schedule \(CONNECT_METRICS_WEEKLY_DIGEST_SCHEDULE\) "0 9 \* \* FUNDAY": day-of-week field/);
    const badPort = serve(data, {}, ['--port', 'http']);
    expect(await badPort.exit).toBe(2);
    expect(badPort.lines.map((l) => l.msg).join('\n')).toMatch(/--port http: expected a port number/);
  }, 60_000);
});
