/**
 * Delivers the weekly digest to Slack, at most once per report. Slack has no idempotency key and a
 * retried chat.postMessage after a timeout can post twice, so: every digest carries message
 * metadata (event type + report id = week/timezone/source); before posting, the channel's history
 * since the week ended is read for that metadata (from this bot); after an answer that was lost, the
 * history is read again before anything is posted again. `force` posts regardless.
 */
import {
  ErrorCode,
  WebClient,
  type WebAPIPlatformError,
  type WebAPIRateLimitedError,
} from '@slack/web-api';
import { ConnectMetricsError } from '../lib/errors.ts';
import type { Logger } from '../lib/logger.ts';
import { sleep as abortableSleep } from '../lib/abort.ts';
import { splitBlocks, withImages, type SlackMessage } from '../render/slack.ts';

export const DIGEST_EVENT_TYPE = 'connect_metrics_digest';
/** Alerts of the daily check carry this event type, with the alert id as `report_id`. */
export const ALERT_EVENT_TYPE = 'connect_metrics_alert';

/** Platform errors no retry can fix, with what to do about each. */
const FIXES: Record<string, string> = {
  channel_not_found: 'the channel id is wrong or the bot cannot see it: check slack.channel (SLACK_CHANNEL_ID) and invite the bot',
  not_in_channel: 'the bot is not a member of the channel: invite it (/invite @your-bot), or grant chat:write.public',
  is_archived: 'the channel is archived: choose another channel',
  invalid_auth: 'SLACK_BOT_TOKEN is not a valid token: copy the bot token (xoxb-...) from the Slack app settings',
  not_authed: 'SLACK_BOT_TOKEN is empty',
  account_inactive: 'the bot user or its workspace is deactivated: reinstall the Slack app',
  token_revoked: 'the token was revoked: reinstall the Slack app and set the new SLACK_BOT_TOKEN',
  token_expired: 'the token expired: refresh it and set the new SLACK_BOT_TOKEN',
  missing_scope: 'the Slack app lacks a scope (chat:write, channels:history, files:write, files:read): add it and reinstall',
  msg_too_long: 'the digest is too long for one message: report this as a bug',
  invalid_blocks: 'Slack rejected the digest blocks: report this as a bug',
};

export class SlackDeliveryError extends ConnectMetricsError {
  readonly slackError: string | undefined;
  constructor(message: string, options: { slackError?: string; hint?: string; cause?: unknown } = {}) {
    super(`Slack: ${message}`, options);
    this.slackError = options.slackError;
  }
}

export interface SlackDeliveryOptions {
  token: string;
  channel: string;
  /** e.g. http://127.0.0.1:PORT/api/ for a stand-in; default Slack's. */
  apiUrl?: string | undefined;
  /** Post even when this report was posted already. */
  force?: boolean;
  /** Metadata event type that marks the message (default: the digest's). */
  eventType?: string;
  /** The earliest time the digest can have been posted (the week's end): bounds the history read. */
  notBefore: Date;
  logger: Logger;
  sleep?: (ms: number) => Promise<void>;
  /** Waits for `ratelimited` before giving up. Default 5. */
  maxRateLimitWaits?: number;
  /** Longest Retry-After honoured, in seconds. Default 120. */
  maxRetryAfterSeconds?: number;
  /** Pauses between files.info checks while Slack processes the uploaded charts. Default about 30 s in all. */
  fileWaitDelaysMs?: number[];
}

/** Slack processes uploads in about a second (python-slack-sdk#1521); past about 30 s the charts are left out. */
const FILE_WAIT_DELAYS_MS = [100, 250, 500, 1000, 2000, 4000, 8000, 15000];

export interface SlackDeliveryResult {
  status: 'posted' | 'already-posted';
  channel: string;
  ts: string;
  files: string[];
}

export interface Attachment {
  filename: string;
  title: string;
  content: Buffer | string;
}

/** A chart shown in the message itself (an image block over a file uploaded first). */
export interface InlineImage extends Attachment {
  alt: string;
}

type Args = Record<string, unknown>;

export async function deliverDigest(
  message: SlackMessage,
  reportId: string,
  attachments: Attachment[],
  options: SlackDeliveryOptions,
  images: InlineImage[] = [],
): Promise<SlackDeliveryResult> {
  const { logger } = options;
  const eventType = options.eventType ?? DIGEST_EVENT_TYPE;
  const sleep = options.sleep ?? ((ms: number) => abortableSleep(ms));
  // The SDK's own retries would repeat a post whose answer was lost: off; this module decides.
  const client = new WebClient(options.token, {
    ...(options.apiUrl ? { slackApiUrl: options.apiUrl } : {}),
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
    timeout: 30_000,
  });

  /** One call; waits out `ratelimited`; platform errors that no retry fixes are thrown with their fix. */
  const call = async <T>(method: string, args: Args, run: () => Promise<T>): Promise<T> => {
    for (let waits = 0; ; waits++) {
      try {
        return await run();
      } catch (error) {
        const e = error as { code?: string; data?: { error?: string; needed?: string }; retryAfter?: number };
        if (e.code === ErrorCode.RateLimitedError && waits < (options.maxRateLimitWaits ?? 5)) {
          const seconds = Math.min((error as WebAPIRateLimitedError).retryAfter, options.maxRetryAfterSeconds ?? 120);
          logger.warn(`Slack rate-limited ${method}; retrying in ${seconds} s as it asked`);
          await sleep(seconds * 1000);
          continue;
        }
        if (e.code === ErrorCode.PlatformError) {
          const slackError = (error as WebAPIPlatformError).data.error;
          const needed = e.data?.needed ? ` (needed: ${e.data.needed})` : '';
          throw new SlackDeliveryError(`${method} failed: ${slackError}${needed}`, {
            slackError,
            hint: FIXES[slackError] ?? 'see https://api.slack.com/methods/' + method,
            cause: error,
          });
        }
        throw error;
      }
    }
  };

  const auth = await call('auth.test', {}, () => client.auth.test());
  const me = { botId: auth.bot_id as string | undefined, userId: auth.user_id as string | undefined };

  /** The digest of this report already in the channel, posted by this bot. */
  const findPosted = async (): Promise<string | undefined> => {
    let cursor: string | undefined;
    do {
      const page = await call('conversations.history', {}, () =>
        client.conversations.history({
          channel: options.channel,
          oldest: String(Math.floor(options.notBefore.getTime() / 1000)),
          include_all_metadata: true,
          limit: 200,
          ...(cursor ? { cursor } : {}),
        }),
      );
      for (const m of page.messages ?? []) {
        const meta = m.metadata as { event_type?: string; event_payload?: { report_id?: string } } | undefined;
        const mine = (me.botId && m.bot_id === me.botId) || (me.userId && m.user === me.userId);
        if (mine && meta?.event_type === eventType && meta.event_payload?.report_id === reportId) return m.ts;
      }
      cursor = page.response_metadata?.next_cursor || undefined;
    } while (cursor);
    return undefined;
  };

  if (!options.force) {
    const existing = await findPosted();
    if (existing) {
      logger.info(`Slack: ${reportId} is already in the channel (ts ${existing}); not posting again (--force posts anyway)`);
      return { status: 'already-posted', channel: options.channel, ts: existing, files: [] };
    }
  }

  /**
   * Slack processes an upload after files.uploadV2 returns (a malware scan in a worker queue), and
   * refuses an image block naming a file it has not processed (invalid_blocks "invalid slack file":
   * python-slack-sdk#1521, #1658). files.info shows the file's mimetype once processed
   * (node-slack-sdk#2040; slack-github-action#413 advises polling it). Returns the ids shown ready;
   * when files.info cannot be asked (no files:read scope), all of them, and the post finds out.
   */
  const processed = async (ids: string[]): Promise<Set<string>> => {
    const waiting = new Set(ids);
    const delays = options.fileWaitDelaysMs ?? FILE_WAIT_DELAYS_MS;
    for (let round = 0; ; round++) {
      for (const id of [...waiting]) {
        try {
          const info = (await call('files.info', {}, () => client.files.info({ file: id }))) as { file?: { mimetype?: string } };
          if (info.file?.mimetype) waiting.delete(id);
        } catch (error) {
          // No files:read scope, or no answer: the post finds out, and without the charts if need be.
          logger.warn(`Slack: cannot ask whether the charts are processed (${(error as Error).message}); posting them anyway`);
          return new Set(ids);
        }
      }
      if (!waiting.size || round >= delays.length) break;
      await sleep(delays[round]!);
    }
    return new Set(ids.filter((id) => !waiting.has(id)));
  };

  // The charts go into the message as image blocks, which can only show a file Slack holds: upload
  // them first, shared nowhere (no channel), wait until Slack has processed them, then post. A crash
  // in between leaves unshared files, never a second digest.
  let blocks = message.blocks;
  let withCharts = false;
  if (images.length) {
    const uploaded = (await call('files.uploadV2', {}, () =>
      client.filesUploadV2({
        file_uploads: images.map((a) => ({ file: Buffer.isBuffer(a.content) ? a.content : Buffer.from(a.content), filename: a.filename, title: a.title })),
      }),
    )) as unknown as { files?: Array<{ files?: Array<{ id?: string }> }> };
    const ids = (uploaded.files ?? []).flatMap((f) => (f.files ?? []).map((g) => g.id)).filter((id): id is string => Boolean(id));
    if (ids.length !== images.length) throw new SlackDeliveryError(`files.uploadV2 returned ${ids.length} files for ${images.length} charts`);
    const ready = await processed(ids);
    const shown = images.map((img, i) => ({ fileId: ids[i]!, alt: img.alt, title: img.title })).filter((img) => ready.has(img.fileId));
    if (shown.length < images.length) {
      logger.warn(`Slack: ${images.length - shown.length} of ${images.length} charts not processed by Slack in time; the digest goes without them (they are in the report folder and page)`);
    }
    if (shown.length) {
      blocks = withImages(message.blocks, shown);
      withCharts = true;
    }
  }
  const post = () =>
    client.chat.postMessage({
      channel: options.channel,
      text: message.text,
      // At most 50 blocks; the rest follows in the thread.
      blocks: splitBlocks(blocks).main as never,
      metadata: { event_type: eventType, event_payload: { report_id: reportId } },
      unfurl_links: false,
      unfurl_media: false,
    });
  let ts: string | undefined;
  for (let attempt = 1; !ts; attempt++) {
    try {
      const res = await call('chat.postMessage', {}, post);
      ts = res.ts as string;
    } catch (error) {
      if (error instanceof SlackDeliveryError && error.slackError === 'invalid_blocks' && withCharts) {
        // Slack refused the message (nothing was posted): the charts, most likely. The digest
        // matters more than its pictures: post it once without them.
        logger.warn(`Slack refused the digest with its charts (${error.message}); posting it without them`);
        blocks = message.blocks;
        withCharts = false;
        attempt--;
        continue;
      }
      if (error instanceof SlackDeliveryError) throw error;
      // The answer was lost (timeout, reset, 5xx): the message may be posted. Look before posting again.
      logger.warn(`Slack: no answer to chat.postMessage (${(error as Error).message}); checking the channel before trying again`);
      await sleep(1000 * attempt);
      const found = await findPosted();
      if (found) {
        ts = found;
        break;
      }
      if (attempt >= 3) throw new SlackDeliveryError(`chat.postMessage failed ${attempt} times: ${(error as Error).message}`, { cause: error });
    }
  }
  // Blocks past the 50 a message takes go to the digest's thread, in order.
  for (const [i, part] of splitBlocks(blocks).thread.entries()) {
    await call('chat.postMessage', {}, () =>
      client.chat.postMessage({ channel: options.channel, thread_ts: ts, text: `${message.text} (continued, ${i + 2})`, blocks: part as never, unfurl_links: false, unfurl_media: false }),
    );
  }
  const files: string[] = [];
  if (attachments.length) {
    const res = (await call('files.uploadV2', {}, () =>
      client.filesUploadV2({
        channel_id: options.channel,
        thread_ts: ts,
        file_uploads: attachments.map((a) => ({ file: Buffer.isBuffer(a.content) ? a.content : Buffer.from(a.content), filename: a.filename, title: a.title })),
      }),
    )) as unknown as { files?: Array<{ files?: Array<{ id?: string }> }> };
    for (const f of res.files ?? []) for (const g of f.files ?? []) if (g.id) files.push(g.id);
  }
  logger.info(`Slack: posted ${reportId} to ${options.channel} (ts ${ts}) with ${attachments.length} files`);
  return { status: 'posted', channel: options.channel, ts, files };
}
