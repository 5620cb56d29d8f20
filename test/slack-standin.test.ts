import {
  ErrorCode,
  LogLevel,
  type Logger,
  WebAPIHTTPError,
  WebAPIPlatformError,
  WebAPIRateLimitedError,
  WebAPIRequestError,
  WebClient,
} from '@slack/web-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSlackStandIn, type SlackStandIn } from './standins/slack/index.ts';

// The stand-in is driven with the real @slack/web-api WebClient, as production will drive it.

const started: SlackStandIn[] = [];

async function standIn(opts: Parameters<typeof startSlackStandIn>[0] = {}): Promise<SlackStandIn> {
  const s = await startSlackStandIn(opts);
  started.push(s);
  return s;
}

// The SDK logs response_metadata warnings and [ERROR] messages through its logger: keep the run quiet.
const quiet: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  setLevel: () => {},
  getLevel: () => LogLevel.ERROR,
  setName: () => {},
};

function client(s: SlackStandIn, token: string | null = s.token): WebClient {
  return new WebClient(token ?? undefined, {
    slackApiUrl: s.apiUrl,
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
    logger: quiet,
  });
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

async function platformError(p: Promise<unknown>): Promise<WebAPIPlatformError> {
  const error = await rejection(p);
  expect(error).toBeInstanceOf(WebAPIPlatformError);
  expect((error as WebAPIPlatformError).code).toBe(ErrorCode.PlatformError);
  return error as WebAPIPlatformError;
}

const METADATA = { event_type: 'connect_metrics_digest', event_payload: { report_id: '2026-W47/UTC/posthog' } };
const BLOCKS = [
  { type: 'header', text: { type: 'plain_text', text: 'Teleport Connect, week 47' } },
  { type: 'section', text: { type: 'mrkdwn', text: '*DAU* 1,234' } },
  { type: 'divider' },
  { type: 'context', elements: [{ type: 'mrkdwn', text: 'source: posthog' }] },
];

afterAll(async () => {
  await Promise.all(started.map((s) => s.close()));
});

describe('slack stand-in', () => {
  let s: SlackStandIn;
  let web: WebClient;
  beforeAll(async () => {
    s = await standIn({ channels: ['C0STANDIN', 'C0OUTSIDE', 'C0ARCHIVED'], memberOf: ['C0STANDIN', 'C0ARCHIVED'], archived: ['C0ARCHIVED'] });
    web = client(s);
  });

  it('answers auth.test and bots.info with the bot identity, and logs calls without the token', async () => {
    expect(s.apiUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/api\/$/);
    expect(s.channel).toBe('C0STANDIN');
    const auth = await web.auth.test();
    expect(auth).toMatchObject({ ok: true, user_id: 'U0BOT', bot_id: s.botId, team_id: 'T0STANDIN' });
    expect(typeof auth.url).toBe('string');
    const bot = await web.bots.info({ bot: s.botId });
    expect(bot.bot).toMatchObject({ id: 'B0STANDIN', app_id: 'A0STANDIN', user_id: 'U0BOT' });
    const calls = s.calls();
    expect(calls.slice(-2).map((c) => [c.method, c.ok, c.status])).toEqual([
      ['auth.test', true, 200],
      ['bots.info', true, 200],
    ]);
    expect(JSON.stringify(calls)).not.toContain(s.token);
  });

  it('posts blocks and metadata; history returns metadata only with include_all_metadata', async () => {
    const res = await web.chat.postMessage({
      channel: s.channel,
      text: 'Teleport Connect, week 47',
      blocks: BLOCKS,
      metadata: METADATA,
      unfurl_links: false,
      unfurl_media: false,
    });
    expect(res.ok).toBe(true);
    expect(res.channel).toBe(s.channel);
    expect(res.ts).toMatch(/^\d{10}\.\d{6}$/);
    expect(res.message).toMatchObject({ bot_id: s.botId, app_id: s.appId, text: 'Teleport Connect, week 47' });
    // Like Slack's echo, the stand-in's lacks event_payload: rely on history instead.
    expect(res.message?.metadata).toEqual({ event_type: 'connect_metrics_digest' });

    const stored = s.messages(s.channel).find((m) => m.ts === res.ts)!;
    expect(stored).toMatchObject({ text: 'Teleport Connect, week 47', blocks: BLOCKS, metadata: METADATA, bot_id: 'B0STANDIN', app_id: 'A0STANDIN' });
    expect(stored.thread_ts).toBeUndefined();
    expect(stored.options).toMatchObject({ unfurl_links: 'false', unfurl_media: 'false' });

    const withMd = await web.conversations.history({ channel: s.channel, include_all_metadata: true, limit: 10 });
    const hit = withMd.messages!.find((m) => m.ts === res.ts)!;
    expect(hit.metadata).toEqual(METADATA);
    expect(hit).toMatchObject({ bot_id: s.botId, app_id: s.appId, blocks: BLOCKS });
    expect(withMd.response_metadata?.next_cursor).toBe('');
    expect(withMd.has_more).toBe(false);

    const without = await web.conversations.history({ channel: s.channel, limit: 10 });
    const plain = without.messages!.find((m) => m.ts === res.ts)!;
    expect(plain.metadata).toBeUndefined();
    expect(plain.bot_id).toBe(s.botId);

    const postCall = s.calls().filter((c) => c.method === 'chat.postMessage').at(-1)!;
    expect(postCall.args).toMatchObject({ channel: s.channel, blocks: BLOCKS, metadata: METADATA });
  });

  it('ts increase monotonically and history is newest first', async () => {
    const tss: string[] = [];
    for (let i = 0; i < 5; i++) tss.push((await web.chat.postMessage({ channel: s.channel, text: `m${i}` })).ts!);
    const micros = tss.map((t) => BigInt(t.replace('.', '')));
    for (let i = 1; i < micros.length; i++) expect(micros[i]! > micros[i - 1]!).toBe(true);
    const h = await web.conversations.history({ channel: s.channel, limit: 5 });
    expect(h.messages!.map((m) => m.ts)).toEqual([...tss].reverse());
  });

  it('posts with an invalid event_type without metadata, with a warning', async () => {
    const res = await web.chat.postMessage({
      channel: s.channel,
      text: 'bad metadata',
      metadata: { event_type: 'connect.metrics.digest', event_payload: { report_id: 'x' } },
    });
    expect(res.ok).toBe(true);
    expect(res.warning).toBe('invalid_metadata_format');
    expect(res.response_metadata?.warnings).toEqual(['invalid_metadata_format']);
    expect(s.messages(s.channel).find((m) => m.ts === res.ts)!.metadata).toBeUndefined();
    const h = await web.conversations.history({ channel: s.channel, include_all_metadata: true, latest: res.ts!, inclusive: true, limit: 1 });
    expect(h.messages![0]!.ts).toBe(res.ts);
    expect(h.messages![0]!.metadata).toBeUndefined();
    // Unparseable or schema-less metadata is an error.
    expect((await platformError(web.apiCall('chat.postMessage', { channel: s.channel, text: 'x', metadata: '{nope' }))).data.error).toBe('invalid_metadata_format');
    expect((await platformError(web.chat.postMessage({ channel: s.channel, text: 'x', metadata: { event_type: 'ok' } as never }))).data.error).toBe(
      'invalid_metadata_schema',
    );
  });

  it('refuses posts to unknown, foreign and archived channels, and reading channels the bot is not in', async () => {
    expect((await platformError(web.chat.postMessage({ channel: 'C0NOPE', text: 'x' }))).data.error).toBe('channel_not_found');
    expect((await platformError(web.chat.postMessage({ channel: 'C0OUTSIDE', text: 'x' }))).data.error).toBe('not_in_channel');
    expect((await platformError(web.chat.postMessage({ channel: 'C0ARCHIVED', text: 'x' }))).data.error).toBe('is_archived');
    expect((await platformError(web.conversations.history({ channel: 'C0OUTSIDE' }))).data.error).toBe('not_in_channel');
    expect((await platformError(web.conversations.history({ channel: 'C0NOPE' }))).data.error).toBe('channel_not_found');
    expect((await web.conversations.history({ channel: 'C0ARCHIVED' })).ok).toBe(true);
    expect(s.messages('C0OUTSIDE')).toEqual([]);
    const last = s.calls().filter((c) => c.method === 'chat.postMessage').slice(-3);
    expect(last.map((c) => [c.ok, c.error, c.status])).toEqual([
      [false, 'channel_not_found', 200],
      [false, 'not_in_channel', 200],
      [false, 'is_archived', 200],
    ]);
  });

  it('refuses a wrong or missing token', async () => {
    expect((await platformError(client(s, 'xoxb-wrong').auth.test())).data.error).toBe('invalid_auth');
    expect((await platformError(client(s, null).auth.test())).data.error).toBe('not_authed');
    expect((await platformError(web.apiCall('no.such.method'))).data.error).toBe('unknown_method');
  });

  it('validates blocks like Slack: at most 50, header <= 150, section <= 3000, known types', async () => {
    const post = (blocks: unknown[]) => web.chat.postMessage({ channel: s.channel, text: 'x', blocks: blocks as never });
    const divider = { type: 'divider' };
    expect((await post(Array.from({ length: 50 }, () => divider))).ok).toBe(true);
    const tooMany = await platformError(post(Array.from({ length: 51 }, () => divider)));
    expect(tooMany.data.error).toBe('invalid_blocks');
    expect(tooMany.data.response_metadata?.messages?.[0]).toContain('[json-pointer:/blocks]');
    const header = (n: number) => [{ type: 'header', text: { type: 'plain_text', text: 'h'.repeat(n) } }];
    expect((await post(header(150))).ok).toBe(true);
    expect((await platformError(post(header(151)))).data.error).toBe('invalid_blocks');
    expect((await platformError(post([{ type: 'header', text: { type: 'mrkdwn', text: 'h' } }]))).data.error).toBe('invalid_blocks');
    const section = (n: number) => [{ type: 'section', text: { type: 'mrkdwn', text: 's'.repeat(n) } }];
    expect((await post(section(3000))).ok).toBe(true);
    expect((await platformError(post(section(3001)))).data.error).toBe('invalid_blocks');
    expect((await platformError(post(section(0)))).data.error).toBe('invalid_blocks');
    expect((await platformError(post([{ type: 'bogus' }]))).data.error).toBe('invalid_blocks');
    const table = { type: 'table', rows: [[{ type: 'raw_text', text: 'a' }]] };
    expect((await post([table])).ok).toBe(true);
    expect((await platformError(post([table, table]))).data.error).toBe('invalid_blocks');
    expect((await platformError(web.apiCall('chat.postMessage', { channel: s.channel, text: 'x', blocks: '{"type":"divider"}' }))).data.error).toBe(
      'invalid_blocks',
    );
    expect((await platformError(web.chat.postMessage({ channel: s.channel, text: '' }))).data.error).toBe('no_text');
  });

  it('shows an uploaded file in an image block; an unknown file id is invalid_blocks', async () => {
    const image = (id: string) => [{ type: 'image', slack_file: { id }, alt_text: 'a chart' }];
    const bad = await platformError(web.chat.postMessage({ channel: s.channel, text: 'x', blocks: image('F0NOSUCHFILE') as never }));
    expect(bad.data.error).toBe('invalid_blocks');
    expect(bad.data.response_metadata?.messages?.[0]).toContain('/blocks/0/slack_file');
    const up = (await web.filesUploadV2({ file_uploads: [{ file: Buffer.from('png bytes'), filename: 'c.png', title: 'c' }] })) as unknown as {
      files: Array<{ files: Array<{ id: string }> }>;
    };
    const id = up.files[0]!.files[0]!.id;
    // Slack processes the upload asynchronously: an image block right away is refused ...
    const early = await platformError(web.chat.postMessage({ channel: s.channel, text: 'x', blocks: image(id) as never }));
    expect(early.data.error).toBe('invalid_blocks');
    expect(early.data.response_metadata?.messages?.[0]).toBe('[ERROR] invalid slack file [json-pointer:/blocks/0/slack_file]');
    // ... files.info shows it unprocessed (no mimetype), then processed
    expect(((await web.files.info({ file: id })) as { file: { mimetype: string } }).file.mimetype).toBe('');
    expect(((await web.files.info({ file: id })) as { file: { mimetype: string } }).file.mimetype).toBe('image/png');
    expect((await web.chat.postMessage({ channel: s.channel, text: 'x', blocks: image(id) as never })).ok).toBe(true);
    expect((await platformError(web.files.info({ file: 'F0NOSUCHFILE' }))).data.error).toBe('file_not_found');
  });

  it('a file Slack never finishes processing stays refused in image blocks', async () => {
    const never = await startSlackStandIn({ neverReady: ['stuck.png'] });
    try {
      const client = new WebClient(never.token, { slackApiUrl: never.apiUrl, retryConfig: { retries: 0 }, rejectRateLimitedCalls: true });
      const up = (await client.filesUploadV2({ file_uploads: [{ file: Buffer.from('png'), filename: 'stuck.png', title: 's' }] })) as unknown as {
        files: Array<{ files: Array<{ id: string }> }>;
      };
      const id = up.files[0]!.files[0]!.id;
      for (let i = 0; i < 3; i++) expect(((await client.files.info({ file: id })) as { file: { mimetype: string } }).file.mimetype).toBe('');
      const e = await platformError(client.chat.postMessage({ channel: never.channel, text: 'x', blocks: [{ type: 'image', slack_file: { id }, alt_text: 'a' }] as never }));
      expect(e.data.error).toBe('invalid_blocks');
    } finally {
      await never.close();
    }
  });

  it('surfaces injected platform errors, with needed for missing_scope, and times', async () => {
    s.inject({ method: 'chat.postMessage', error: 'missing_scope', needed: 'chat:write' });
    const e = await platformError(web.chat.postMessage({ channel: s.channel, text: 'x' }));
    expect(e.data).toMatchObject({ error: 'missing_scope', needed: 'chat:write' });
    s.inject({ method: 'auth.test', error: 'token_revoked', times: 2 });
    expect((await platformError(web.auth.test())).data.error).toBe('token_revoked');
    expect((await platformError(web.auth.test())).data.error).toBe('token_revoked');
    expect((await web.auth.test()).ok).toBe(true);
  });

  it('rate limits with 429 and Retry-After: WebAPIRateLimitedError with retryAfter', async () => {
    s.inject({ method: 'chat.postMessage', ratelimited: { retryAfter: 7 } });
    const before = s.messages().length;
    const error = await rejection(web.chat.postMessage({ channel: s.channel, text: 'x' }));
    expect(error).toBeInstanceOf(WebAPIRateLimitedError);
    expect((error as WebAPIRateLimitedError).code).toBe(ErrorCode.RateLimitedError);
    expect((error as WebAPIRateLimitedError).retryAfter).toBe(7);
    expect(s.messages().length).toBe(before);
    expect(s.calls().at(-1)).toMatchObject({ method: 'chat.postMessage', ok: false, error: 'ratelimited', status: 429 });
  });

  it('answers 5xx: WebAPIHTTPError with the status', async () => {
    s.inject({ method: 'conversations.history', status: 503 });
    const error = await rejection(web.conversations.history({ channel: s.channel }));
    expect(error).toBeInstanceOf(WebAPIHTTPError);
    expect((error as WebAPIHTTPError).statusCode).toBe(503);
    expect(s.calls().at(-1)).toMatchObject({ method: 'conversations.history', ok: false, status: 503 });
  });

  it('acceptThenDrop: the post happens but its answer is lost', async () => {
    s.inject({ method: 'chat.postMessage', acceptThenDrop: true });
    const error = await rejection(
      web.chat.postMessage({ channel: s.channel, text: 'lost answer', metadata: { event_type: 'connect_metrics_digest', event_payload: { report_id: 'dropped' } } }),
    );
    expect(error).toBeInstanceOf(WebAPIRequestError);
    expect((error as WebAPIRequestError).code).toBe(ErrorCode.RequestError);
    expect(s.calls().at(-1)).toMatchObject({ method: 'chat.postMessage', ok: true, status: 0, dropped: true });
    const h = await web.conversations.history({ channel: s.channel, include_all_metadata: true, limit: 1 });
    expect(h.messages![0]).toMatchObject({ text: 'lost answer', bot_id: s.botId, metadata: { event_payload: { report_id: 'dropped' } } });
    // The client works on afterwards.
    expect((await web.auth.test()).ok).toBe(true);
  });

  it('keeps thread replies out of channel history and counts them on the parent', async () => {
    const parent = await web.chat.postMessage({ channel: s.channel, text: 'parent' });
    const reply = await web.chat.postMessage({ channel: s.channel, text: 'reply', thread_ts: parent.ts! });
    const h = await web.conversations.history({ channel: s.channel, limit: 5 });
    expect(h.messages!.map((m) => m.ts)).not.toContain(reply.ts);
    expect(h.messages![0]).toMatchObject({ ts: parent.ts, thread_ts: parent.ts, reply_count: 1, latest_reply: reply.ts });
    expect(s.messages(s.channel).find((m) => m.ts === reply.ts)!.thread_ts).toBe(parent.ts);
  });

  it('files.uploadV2: two CSV buffers into a thread, bytes intact', async () => {
    const parent = await web.chat.postMessage({ channel: s.channel, text: 'digest' });
    const a = Buffer.from('week,dau\n2026-W47,1234\n"a, quoted",é\n', 'utf8');
    const b = Buffer.from([0xef, 0xbb, 0xbf, ...Buffer.from('x,y\r\n1,2\r\n')]);
    const mark = s.calls().length;
    const res = await web.filesUploadV2({
      channel_id: s.channel,
      thread_ts: parent.ts!,
      initial_comment: 'CSV exports',
      file_uploads: [
        { file: a, filename: 'dau.csv', title: 'DAU' },
        { file: b, filename: 'platforms.csv', title: 'Platforms' },
      ],
    });
    expect(res.ok).toBe(true);
    // The SDK returns one completeUploadExternal result per group: files[0].files holds the ids.
    const groups = res.files as Array<{ ok: boolean; files: Array<{ id: string; title: string }> }>;
    expect(groups).toHaveLength(1);
    expect(groups[0]!.files.map((f) => f.title)).toEqual(['DAU', 'Platforms']);

    const files = s.files().slice(-2);
    expect(files.map((f) => [f.filename, f.title, f.channel, f.thread_ts, f.initial_comment])).toEqual([
      ['dau.csv', 'DAU', s.channel, parent.ts, 'CSV exports'],
      ['platforms.csv', 'Platforms', s.channel, parent.ts, 'CSV exports'],
    ]);
    expect(files[0]!.bytes.equals(a)).toBe(true);
    expect(files[1]!.bytes.equals(b)).toBe(true);
    expect(files.map((f) => f.id)).toEqual(groups[0]!.files.map((f) => f.id));

    const calls = s.calls().slice(mark);
    expect(calls.map((c) => c.method).sort()).toEqual(
      ['files.completeUploadExternal', 'files.getUploadURLExternal', 'files.getUploadURLExternal', 'upload', 'upload'].sort(),
    );
    expect(calls.every((c) => c.ok && c.status === 200)).toBe(true);
    const complete = calls.find((c) => c.method === 'files.completeUploadExternal')!;
    expect(complete.args).toMatchObject({ channel_id: s.channel, thread_ts: parent.ts, initial_comment: 'CSV exports' });
    const getUrls = calls.filter((c) => c.method === 'files.getUploadURLExternal').map((c) => c.args);
    expect(getUrls).toContainEqual(expect.objectContaining({ filename: 'dau.csv', length: String(a.length) }));
  });

  it('fails an upload whose POST answers non-200, and refuses completing a file never uploaded', async () => {
    s.inject({ method: 'upload', status: 500 });
    await expect(web.filesUploadV2({ channel_id: s.channel, file: Buffer.from('a,b\n'), filename: 'x.csv' })).rejects.toThrow();
    const url = await web.files.getUploadURLExternal({ filename: 'y.csv', length: 3 });
    expect(url.upload_url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/upload\/F/);
    expect((await platformError(web.files.completeUploadExternal({ files: [{ id: url.file_id! }], channel_id: s.channel }))).data.error).toBe(
      'file_not_found',
    );
  });

  it('shows foreign messages with their own bot_id/app_id and metadata', async () => {
    s.addForeignMessage(s.channel, { text: 'other app', metadata: METADATA });
    const h = await web.conversations.history({ channel: s.channel, include_all_metadata: true, limit: 1 });
    expect(h.messages![0]).toMatchObject({ text: 'other app', bot_id: 'B0FOREIGN', app_id: 'A0FOREIGN', metadata: METADATA });
  });

  it('accepts JSON bodies', async () => {
    const res = await fetch(`${s.apiUrl}chat.postMessage`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json; charset=utf-8', Authorization: `Bearer ${s.token}` },
      body: JSON.stringify({ channel: s.channel, text: 'json', blocks: BLOCKS, metadata: METADATA }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { ok: boolean; ts: string };
    expect(body.ok).toBe(true);
    expect(s.messages(s.channel).find((m) => m.ts === body.ts)).toMatchObject({ blocks: BLOCKS, metadata: METADATA });
  });
});

describe('slack stand-in history paging', () => {
  it('pages newest first with has_more and next_cursor, honoring limit and historyPageSize', async () => {
    const s = await standIn({ historyPageSize: 3 });
    const web = client(s);
    const tss: string[] = [];
    for (let i = 0; i < 7; i++) tss.push((await web.chat.postMessage({ channel: s.channel, text: `m${i}` })).ts!);
    const newestFirst = [...tss].reverse();

    const pages: string[][] = [];
    let cursor: string | undefined;
    do {
      const page = await web.conversations.history({ channel: s.channel, limit: 100, ...(cursor ? { cursor } : {}) });
      pages.push(page.messages!.map((m) => m.ts!));
      expect(page.has_more).toBe(page.response_metadata!.next_cursor !== '');
      cursor = page.response_metadata!.next_cursor || undefined;
    } while (cursor);
    expect(pages.map((p) => p.length)).toEqual([3, 3, 1]);
    expect(pages.flat()).toEqual(newestFirst);

    // limit below the cap, through the SDK's paginate helper
    const viaPaginate: string[] = [];
    for await (const page of web.paginate('conversations.history', { channel: s.channel, limit: 2 })) {
      viaPaginate.push(...((page as { messages?: Array<{ ts: string }> }).messages ?? []).map((m) => m.ts));
    }
    expect(viaPaginate).toEqual(newestFirst);

    // oldest/latest are exclusive unless inclusive
    const window = await web.conversations.history({ channel: s.channel, oldest: tss[1]!, latest: tss[5]! });
    expect(window.messages!.map((m) => m.ts)).toEqual([tss[4], tss[3], tss[2]]);
    const inclusive = await web.conversations.history({ channel: s.channel, oldest: tss[1]!, latest: tss[3]!, inclusive: true });
    expect(inclusive.messages!.map((m) => m.ts)).toEqual([tss[3], tss[2], tss[1]]);

    expect((await platformError(web.conversations.history({ channel: s.channel, cursor: 'garbage' }))).data.error).toBe('invalid_cursor');
  });
});
