/**
 * Slack delivery of the weekly digest, end to end through the CLI, against the Slack stand-in:
 * exactly one post per report whatever fails, errors named with their fix.
 */
import { join } from 'node:path';
import { readdir } from 'node:fs/promises';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startSlackStandIn, type SlackStandIn } from './standins/slack/index.ts';
import { runCli, tempDir, writeExport } from './helpers/fixtures.ts';
import { DIGEST_EVENT_TYPE } from '../src/sinks/slack.ts';

let slack: SlackStandIn;
let dir: string;
let events: string;
let run = 0;

beforeAll(async () => {
  dir = await tempDir('cm-slack-');
  events = join(dir, 'events');
  await writeExport(join(events, 'e.jsonl'), [
    { event: 'connect.cluster.login', distinct_id: 'a', timestamp: '2026-11-16T10:00:00Z', properties: { 'connect.os': 'darwin' } },
    { event: 'connect.protocol.use', distinct_id: 'b', timestamp: '2026-11-17T10:00:00Z', properties: { 'connect.protocol': '<!channel> ssh' } },
  ]);
});
afterAll(async () => {
  await slack?.close();
});
beforeEach(async () => {
  await slack?.close();
  slack = await startSlackStandIn({ channels: ['C0STANDIN', 'C0OTHER', 'C0ARCHIVED'], memberOf: ['C0STANDIN', 'C0ARCHIVED'], archived: ['C0ARCHIVED'] });
});

function report(extra: string[] = [], env: Record<string, string> = {}) {
  run += 1;
  return runCli(['report', '--week', '2026-W47', '--events', events, '--out', join(dir, `out-${run}`), '--data-dir', join(dir, 'data'), ...extra], {
    env: { SLACK_BOT_TOKEN: slack.token, SLACK_CHANNEL_ID: slack.channel, SLACK_API_URL: slack.apiUrl, ...env },
  });
}

const digests = () => slack.messages(slack.channel).filter((m) => !m.thread_ts);

describe('Slack delivery', () => {
  it('posts the digest once, with metadata, escaped text and the CSVs in its thread; a re-run posts nothing', async () => {
    const first = await report();
    expect(first.code, first.stderr).toBe(0);
    expect(digests()).toHaveLength(1);
    const posted = digests()[0]!;
    expect(posted.metadata).toEqual({ event_type: DIGEST_EVENT_TYPE, event_payload: { report_id: '2026-W47/UTC/files' } });
    expect(JSON.stringify(posted.blocks)).not.toContain('<!channel>');
    expect(JSON.stringify(posted.blocks)).toContain('&lt;!channel&gt;');
    const files = slack.files();
    expect(files.map((f) => f.title).sort()).toEqual([
      'Daily active installations',
      'Growth accounting, 12 weeks',
      'Platform share of active installations',
      'Retention of weekly cohorts',
      'Version adoption',
      // no 12-week trend chart: the data has one week (nor a share chart: no cluster login)
      'connect_share.csv',
      'connect_share_by_connector.csv',
      'dau.csv',
      'features.csv',
      'lifecycle.csv',
      'new_installations.csv',
      'platforms.csv',
      'protocols.csv',
      'releases.csv',
      'retention.csv',
      'summary.csv',
      'tracking_plan.csv',
      'versions.csv',
    ]);
    // The charts are PNG images, uploaded unshared and shown in the message as image blocks; the
    // CSVs are in the message's thread.
    const pngs = files.filter((f) => f.filename.endsWith('.png'));
    expect(pngs.every((f) => f.bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])))).toBe(true);
    expect(pngs.every((f) => f.channel === undefined)).toBe(true);
    const imageBlocks = (posted.blocks as Array<{ type: string; slack_file?: { id: string }; alt_text?: string }>).filter((b) => b.type === 'image');
    expect(imageBlocks.map((b) => b.slack_file!.id).sort()).toEqual(pngs.map((f) => f.id).sort());
    expect(imageBlocks.every((b) => (b.alt_text ?? '').length > 10)).toBe(true);
    // after the highlights, before the first table
    const types = (posted.blocks as Array<{ type: string }>).map((b) => b.type);
    expect(types.indexOf('image')).toBeLessThan(types.indexOf('divider'));
    const csvs = files.filter((f) => f.filename.endsWith('.csv'));
    expect(csvs.every((f) => f.thread_ts === posted.ts && f.channel === slack.channel)).toBe(true);
    expect(files.find((f) => f.title === 'summary.csv')!.bytes.toString()).toMatch(/^metric,value,previous,change\nwau,2,/);
    // No slack.json when the digest was delivered.
    expect(await readdir(join(dir, `out-${run}`))).not.toContain('slack.json');

    const again = await report();
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/already in the channel/);
    expect(digests()).toHaveLength(1);
  });

  it('a crash between posting and hearing back (answer lost): the retry finds the post and does not post again', async () => {
    slack.inject({ method: 'chat.postMessage', acceptThenDrop: true });
    const r = await report();
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/no answer to chat.postMessage/);
    expect(digests()).toHaveLength(1);
    // A restart with no local state at all (new data folder) still posts nothing.
    const restarted = await runCli(['report', '--week', '2026-W47', '--events', events, '--out', join(dir, 'out-restart'), '--data-dir', join(dir, 'data-fresh')], {
      env: { SLACK_BOT_TOKEN: slack.token, SLACK_CHANNEL_ID: slack.channel, SLACK_API_URL: slack.apiUrl },
    });
    expect(restarted.code, restarted.stderr).toBe(0);
    expect(digests()).toHaveLength(1);
  });

  it('a 5xx before posting: checks the channel, then posts once', async () => {
    slack.inject({ method: 'chat.postMessage', status: 503 });
    const r = await report();
    expect(r.code, r.stderr).toBe(0);
    expect(digests()).toHaveLength(1);
    expect(slack.calls().filter((c) => c.method === 'chat.postMessage')).toHaveLength(2);
  });

  it('ratelimited: waits as Slack asks, then posts once', async () => {
    slack.inject({ method: 'chat.postMessage', ratelimited: { retryAfter: 1 } });
    const started = Date.now();
    const r = await report();
    expect(r.code, r.stderr).toBe(0);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(r.stderr).toMatch(/rate-limited chat.postMessage; retrying in 1 s/);
    expect(digests()).toHaveLength(1);
  });

  it('--force posts again; another app\'s message with the same metadata does not count as posted', async () => {
    slack.addForeignMessage(slack.channel, { text: 'impostor', metadata: { event_type: DIGEST_EVENT_TYPE, event_payload: { report_id: '2026-W47/UTC/files' } } });
    expect((await report()).code).toBe(0);
    expect(digests().filter((m) => m.bot_id === slack.botId)).toHaveLength(1);
    expect((await report(['--force'])).code).toBe(0);
    expect(digests().filter((m) => m.bot_id === slack.botId)).toHaveLength(2);
  });

  it.each([
    ['channel_not_found', { SLACK_CHANNEL_ID: 'C0NOPE' }, /check slack.channel \(SLACK_CHANNEL_ID\) and invite the bot/],
    ['not_in_channel', { SLACK_CHANNEL_ID: 'C0OTHER' }, /invite it/],
    ['is_archived', { SLACK_CHANNEL_ID: 'C0ARCHIVED' }, /choose another channel/],
    ['invalid_auth', { SLACK_BOT_TOKEN: 'xoxb-wrong' }, /copy the bot token/],
  ] as const)('%s: no retry, a message naming the fix, exit 12 (the slack sink failed), the CSVs still written', async (error, env, fix) => {
    const r = await report([], env as Record<string, string>);
    expect(r.code).toBe(12);
    expect(r.stderr).toContain(error);
    expect(r.stderr).toMatch(fix);
    expect(await readdir(join(dir, `out-${run}`))).toContain('summary.csv');
    expect(slack.messages()).toHaveLength(0);
  });

  it('account_inactive (a deactivated bot): stops with the fix', async () => {
    slack.inject({ method: 'auth.test', error: 'account_inactive' });
    const r = await report();
    expect(r.code).toBe(12);
    expect(r.stderr).toMatch(/account_inactive[\s\S]*reinstall the Slack app/);
    expect(r.stderr).not.toContain(slack.token);
  });

  it('sinks are independent: the output folder failing does not stop Slack, and the exit code says which failed', async () => {
    const { writeFile } = await import('node:fs/promises');
    // --out names a file, not a folder: the csv sink cannot write.
    const blocked = join(dir, 'not-a-folder');
    await writeFile(blocked, 'x');
    const r = await runCli(['report', '--week', '2026-W47', '--events', events, '--out', blocked, '--data-dir', join(dir, 'data')], {
      env: { SLACK_BOT_TOKEN: slack.token, SLACK_CHANNEL_ID: slack.channel, SLACK_API_URL: slack.apiUrl },
    });
    expect(r.code).toBe(15); // 10 + csv (1) + html (4); slack (2) delivered
    expect(r.stderr).toMatch(/2 sinks failed \(csv: .*; html: /);
    expect(digests()).toHaveLength(1);
  });

  it('--sinks slack posts without writing files; an unknown sink is a usage error', async () => {
    const out = join(dir, 'out-slack-only');
    const r = await runCli(['report', '--week', '2026-W47', '--events', events, '--out', out, '--data-dir', join(dir, 'data'), '--sinks', 'slack'], {
      env: { SLACK_BOT_TOKEN: slack.token, SLACK_CHANNEL_ID: slack.channel, SLACK_API_URL: slack.apiUrl },
    });
    expect(r.code, r.stderr).toBe(0);
    expect(digests()).toHaveLength(1);
    await expect(readdir(out)).rejects.toThrow(/ENOENT/);
    const bad = await report(['--sinks', 'csv,pigeon']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/sink pigeon: expected one of csv, slack, html/);
  });

  it('sinks with their own settings: two Slack channels, CSVs without chart files, a page without the index', async () => {
    await slack.close();
    slack = await startSlackStandIn({ channels: ['C0STANDIN', 'C0LEADS'] });
    const { writeFile } = await import('node:fs/promises');
    const config = join(dir, 'sinks.json');
    await writeFile(
      config,
      JSON.stringify({ sinks: [{ type: 'csv', charts: false }, { type: 'html', index: false }, 'slack', { type: 'slack', channel: 'C0LEADS' }] }),
    );
    const root = join(dir, 'own-settings');
    const out = join(root, '2026-W47');
    const args = ['report', '--week', '2026-W47', '--events', events, '--out', out, '--data-dir', join(dir, 'data'), '--config', config];
    const env = { SLACK_BOT_TOKEN: slack.token, SLACK_CHANNEL_ID: 'C0STANDIN', SLACK_API_URL: slack.apiUrl };
    const first = await runCli(args, { env });
    expect(first.code, first.stderr).toBe(0);
    const top = (c: string) => slack.messages(c).filter((m) => !m.thread_ts && (m.metadata as { event_type?: string } | undefined)?.event_type === DIGEST_EVENT_TYPE);
    expect(top('C0STANDIN')).toHaveLength(1);
    expect(top('C0LEADS')).toHaveLength(1);
    const written = await readdir(out);
    expect(written).toContain('summary.csv');
    expect(written).toContain('report.html');
    expect(written.filter((f) => f.endsWith('.png'))).toEqual([]);
    expect(await readdir(root)).toEqual(['2026-W47']); // no index.html
    // Each channel is posted at most once: a re-run posts nowhere.
    const again = await runCli(args, { env });
    expect(again.code, again.stderr).toBe(0);
    expect(top('C0STANDIN')).toHaveLength(1);
    expect(top('C0LEADS')).toHaveLength(1);
    // A sink object of an unknown type names the setting.
    await writeFile(config, JSON.stringify({ sinks: ['csv', { type: 'pigeon' }] }));
    const bad = await runCli(args, { env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/sinks/);
  });

  it('a scheduled run that failed for good is reported in the channel once, escaped', async () => {
    const { runFailureNotifier } = await import('../src/jobs/scheduled.ts');
    const { loadConfig } = await import('../src/config/config.ts');
    const { memoryLogger } = await import('../src/lib/logger.ts');
    const config = await loadConfig({ env: { SLACK_BOT_TOKEN: slack.token, SLACK_CHANNEL_ID: slack.channel, SLACK_API_URL: slack.apiUrl }, timezone: 'Europe/Berlin' });
    const notify = runFailureNotifier({ config, logger: memoryLogger() })!;
    const failure = { jobId: 'weekly-digest', scheduledFor: new Date('2026-11-23T08:00:00Z'), attempts: 5, error: 'PostHog 503 <!channel>' };
    await notify(failure);
    await notify(failure); // a restart reporting it again finds it in the channel
    const alerts = slack.messages(slack.channel).filter((m) => (m.metadata as { event_type?: string } | undefined)?.event_type === 'connect_metrics_alert');
    expect(alerts).toHaveLength(1);
    expect((alerts[0]!.metadata as { event_payload: { report_id: string } }).event_payload.report_id).toBe('run-failed/weekly-digest/2026-11-23T08:00:00.000Z');
    expect(alerts[0]!.text).toContain('Mon 2026-11-23 09:00');
    expect(alerts[0]!.text).toContain('failed 5 times');
    expect(alerts[0]!.text).not.toContain('<!channel>');
    // Without Slack configured there is nothing to notify.
    expect(runFailureNotifier({ config: await loadConfig({ env: {} }), logger: memoryLogger() })).toBeUndefined();
  });

  it('a token without a channel is a configuration error before anything is sent', async () => {
    const r = await runCli(['report', '--week', '2026-W47', '--events', events, '--out', join(dir, 'out-nochan'), '--data-dir', join(dir, 'data')], {
      env: { SLACK_BOT_TOKEN: slack.token, SLACK_API_URL: slack.apiUrl },
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no channel: set SLACK_CHANNEL_ID/);
    expect(slack.calls()).toHaveLength(0);
  });
});
