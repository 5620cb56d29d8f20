/**
 * A loopback stand-in of the Slack Web API, for tests: an in-process HTTP server on 127.0.0.1
 * (port 0) answering the methods the digest sink uses (auth.test, bots.info, chat.postMessage,
 * conversations.history, and the three steps behind the SDK's files.uploadV2) the way Slack does
 * (/work/shared/reference/slack.md): HTTP 200 with `{"ok":false,"error":...}` for errors, 429 with
 * Retry-After for rate limits, metadata only with include_all_metadata, cursor paging, thread replies
 * kept out of channel history. Faults are injected per method; every call is logged (never the token).
 *
 * Point the production `WebClient` at it with `{ slackApiUrl: standIn.apiUrl }`. See README.md.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { validateBlocks } from './blocks.ts';

export interface MessageMetadata {
  event_type: string;
  event_payload: Record<string, unknown>;
}

export interface StoredMessage {
  channel: string;
  ts: string;
  text: string;
  /** As sent, parsed from JSON (Slack would add a block_id to blocks lacking one; the stand-in does not). */
  blocks?: unknown[];
  /** Absent when none was sent, or when the event_type was invalid (Slack drops it with a warning). */
  metadata?: unknown;
  /** Set on a thread reply (the parent's ts). */
  thread_ts?: string;
  reply_broadcast?: boolean;
  user?: string;
  bot_id?: string;
  app_id?: string;
  /** Scalar options sent with the post (unfurl_links, unfurl_media, mrkdwn, parse, link_names, ...), as sent. */
  options: Record<string, unknown>;
}

export interface StoredFile {
  id: string;
  /**
   * Whether Slack has processed the file. Slack processes an upload after completeUploadExternal
   * returns (a malware scan in a worker queue; `mimetype` stays empty in files.info until it ends:
   * slackapi/node-slack-sdk#2040, slackapi/slack-github-action#413 "completed in an asynchronous
   * fashion ... polling the files.info method"). An image block naming a file not processed yet is
   * refused with invalid_blocks "invalid slack file" (slackapi/python-slack-sdk#1521, #1658).
   */
  ready: boolean;
  filename: string;
  title: string;
  /** Undefined when completed without a channel (a private file). */
  channel: string | undefined;
  thread_ts: string | undefined;
  initial_comment: string | undefined;
  /** The `length` declared to files.getUploadURLExternal. */
  length: number;
  bytes: Buffer;
}

export interface SlackCall {
  /** API method, or 'upload' for the POST to an upload_url. */
  method: string;
  ok: boolean;
  error?: string;
  /** HTTP status answered; 0 when the socket was destroyed instead (acceptThenDrop). */
  status: number;
  /** True when the call was performed but its answer dropped (acceptThenDrop). */
  dropped?: boolean;
  /** Arguments as received (JSON fields parsed), without `token`. Undefined for uploads. */
  args?: Record<string, unknown>;
}

export type SlackFault =
  | { method: string; error: string; needed?: string; times?: number }
  | { method: string; ratelimited: { retryAfter: number }; times?: number }
  | { method: string; status: 500 | 502 | 503; times?: number }
  | { method: string; acceptThenDrop: true; times?: number };

export interface SlackStandIn {
  /** http://127.0.0.1:PORT/api/ (WebClient option slackApiUrl). */
  apiUrl: string;
  token: string;
  /** An existing, unarchived channel the bot is a member of. */
  channel: string;
  botId: string;
  appId: string;
  /** Posted messages (and foreign ones), oldest first; all channels when none is given. Copies. */
  messages(channel?: string): StoredMessage[];
  /** Completed uploads, in order of completion. Copies. */
  files(): StoredFile[];
  /** Every call received, in order of answer. */
  calls(): SlackCall[];
  /** Queue a fault for the next call(s) of `method` ('*' matches any method, 'upload' the upload POST). */
  inject(fault: SlackFault): void;
  /** Another app's (or with `user` and no bot_id, a person's) message; `ts` defaults to the next ts. */
  addForeignMessage(
    channel: string,
    msg: { text: string; metadata?: unknown; bot_id?: string; app_id?: string; user?: string; ts?: string; thread_ts?: string },
  ): StoredMessage;
  close(): Promise<void>;
}

export interface SlackStandInOptions {
  /** Bot token accepted, default 'xoxb-standin'. */
  token?: string;
  /** Channel ids that exist, default ['C0STANDIN']. */
  channels?: string[];
  /** Channels the bot is a member of, default all of `channels`. */
  memberOf?: string[];
  /** Archived channels (must be among `channels`), default none. */
  archived?: string[];
  /** Most messages conversations.history returns a page, whatever `limit` asks; default 100. */
  historyPageSize?: number;
  /**
   * How long Slack takes to process a completed upload, counted in files.info calls about the file
   * (a deterministic stand-in for the seconds it takes): the file is ready once files.info has
   * answered "processing" this many times. Default 1: an image block right after the upload is
   * refused, as on Slack; one that waits until files.info shows the file ready is accepted.
   */
  processingInfoCalls?: number;
  /** Files (by filename) that Slack never finishes processing (files.info keeps showing them unprocessed). */
  neverReady?: string[];
}

export const STANDIN_IDS = {
  userId: 'U0BOT',
  botId: 'B0STANDIN',
  appId: 'A0STANDIN',
  teamId: 'T0STANDIN',
  foreignBotId: 'B0FOREIGN',
  foreignAppId: 'A0FOREIGN',
  foreignUserId: 'U0FOREIGN',
} as const;

const SCOPES = 'chat:write,channels:history,groups:history,files:write,files:read';
const EVENT_TYPE_RE = /^[A-Za-z0-9_-]+$/;
const MAX_TEXT = 40_000;

type Args = Record<string, unknown>;

interface Answer {
  status: number;
  body: Record<string, unknown> | string;
  headers?: Record<string, string>;
}

class CallError extends Error {
  constructor(
    readonly error: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(error);
  }
}

// ---------- ts helpers ----------

function formatTs(micros: bigint): string {
  return `${micros / 1_000_000n}.${(micros % 1_000_000n).toString().padStart(6, '0')}`;
}

function parseTs(v: unknown): bigint | undefined {
  const s = typeof v === 'number' ? String(v) : v;
  if (typeof s !== 'string') return undefined;
  const m = /^(\d+)(?:\.(\d*))?$/.exec(s.trim());
  if (!m) return undefined;
  return BigInt(m[1]!) * 1_000_000n + BigInt((m[2] ?? '').slice(0, 6).padEnd(6, '0'));
}

// ---------- argument helpers ----------

function str(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
}

function bool(v: unknown): boolean {
  return v === true || v === 1 || v === 'true' || v === '1';
}

/** Form fields carry JSON as strings; JSON bodies carry it as values. */
function jsonArg(v: unknown): { ok: true; value: unknown } | { ok: false } {
  if (typeof v !== 'string') return { ok: true, value: v };
  try {
    return { ok: true, value: JSON.parse(v) };
  } catch {
    return { ok: false };
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

async function parseArgs(req: IncomingMessage, body: Buffer, url: URL): Promise<Args> {
  const args: Args = Object.fromEntries(url.searchParams);
  const type = (req.headers['content-type'] ?? '').toLowerCase();
  if (body.length === 0) return args;
  if (type.startsWith('application/json')) {
    const parsed: unknown = JSON.parse(body.toString('utf8'));
    if (isObject(parsed)) Object.assign(args, parsed);
  } else if (type.startsWith('multipart/form-data')) {
    const form = await new Response(new Uint8Array(body), { headers: { 'content-type': req.headers['content-type']! } }).formData();
    for (const [k, v] of form) if (typeof v === 'string') args[k] = v;
  } else {
    Object.assign(args, Object.fromEntries(new URLSearchParams(body.toString('utf8'))));
  }
  return args;
}

async function uploadedBytes(req: IncomingMessage, body: Buffer): Promise<Buffer> {
  const type = req.headers['content-type'] ?? '';
  if (!type.toLowerCase().startsWith('multipart/form-data')) return body;
  const form = await new Response(new Uint8Array(body), { headers: { 'content-type': type } }).formData();
  let text: string | undefined;
  for (const [, v] of form) {
    if (typeof v !== 'string') return Buffer.from(await v.arrayBuffer());
    text ??= v;
  }
  return Buffer.from(text ?? '', 'utf8');
}

interface PendingFile {
  id: string;
  filename: string;
  length: number;
  bytes?: Buffer;
  completed: boolean;
  /** files.info calls answered "processing" so far. */
  infoCalls: number;
}

/** What Slack reports as the file's type once processed (the stand-in goes by the file name). */
function mimetypeOf(filename: string): string {
  if (/\.png$/i.test(filename)) return 'image/png';
  if (/\.csv$/i.test(filename)) return 'text/csv';
  if (/\.jpe?g$/i.test(filename)) return 'image/jpeg';
  return 'application/octet-stream';
}

export async function startSlackStandIn(opts: SlackStandInOptions = {}): Promise<SlackStandIn> {
  const token = opts.token ?? 'xoxb-standin';
  const channels = new Set(opts.channels ?? ['C0STANDIN']);
  const memberOf = new Set(opts.memberOf ?? [...channels]);
  const archived = new Set(opts.archived ?? []);
  const pageCap = Math.max(1, opts.historyPageSize ?? 100);
  const processingCalls = Math.max(0, opts.processingInfoCalls ?? 1);
  const neverReady = new Set(opts.neverReady ?? []);
  const { botId, appId, userId, teamId } = STANDIN_IDS;
  const mainChannel = [...channels].find((c) => memberOf.has(c) && !archived.has(c)) ?? [...channels][0] ?? 'C0STANDIN';

  const messages: StoredMessage[] = [];
  const pending = new Map<string, PendingFile>();
  const completed: StoredFile[] = [];
  const callLog: SlackCall[] = [];
  const faults: Array<SlackFault & { left: number }> = [];
  let lastMicros = 0n;
  let fileSeq = 0;
  let origin = '';

  const nextTs = (): string => {
    const now = BigInt(Date.now()) * 1000n;
    lastMicros = now > lastMicros ? now : lastMicros + 1n;
    return formatTs(lastMicros);
  };

  const insert = (m: StoredMessage): void => {
    const at = parseTs(m.ts)!;
    if (at > lastMicros) lastMicros = at;
    let i = messages.length;
    while (i > 0 && parseTs(messages[i - 1]!.ts)! > at) i -= 1;
    messages.splice(i, 0, m);
  };

  const takeFault = (method: string): SlackFault | undefined => {
    const i = faults.findIndex((f) => f.method === method || f.method === '*');
    if (i < 0) return undefined;
    const f = faults[i]!;
    f.left -= 1;
    if (f.left <= 0) faults.splice(i, 1);
    return f;
  };

  const checkChannel = (channel: string | undefined, forWrite: boolean): string => {
    if (!channel || !channels.has(channel)) throw new CallError('channel_not_found');
    if (forWrite && archived.has(channel)) throw new CallError('is_archived');
    if (!memberOf.has(channel)) throw new CallError('not_in_channel');
    return channel;
  };

  const render = (m: StoredMessage, withMetadata: boolean): Record<string, unknown> => {
    const out: Record<string, unknown> = { type: 'message', ts: m.ts, text: m.text };
    if (m.user) out.user = m.user;
    if (m.bot_id) out.bot_id = m.bot_id;
    if (m.app_id) out.app_id = m.app_id;
    if (m.bot_id === botId) {
      out.team = teamId;
      out.bot_profile = { id: botId, app_id: appId, user_id: userId, name: 'standin-bot', deleted: false, team_id: teamId };
    }
    if (m.blocks) out.blocks = structuredClone(m.blocks);
    if (m.thread_ts && m.thread_ts !== m.ts) {
      out.thread_ts = m.thread_ts;
      if (m.reply_broadcast) out.subtype = 'thread_broadcast';
    } else {
      const replies = messages.filter((r) => r.channel === m.channel && r.thread_ts === m.ts && r.ts !== m.ts);
      if (replies.length > 0) {
        out.thread_ts = m.ts;
        out.reply_count = replies.length;
        out.reply_users = [...new Set(replies.map((r) => r.user ?? r.bot_id))];
        out.latest_reply = replies[replies.length - 1]!.ts;
      }
    }
    if (withMetadata && m.metadata !== undefined) out.metadata = structuredClone(m.metadata);
    return out;
  };

  // ---------- methods ----------

  const postMessage = (args: Args): Record<string, unknown> => {
    const channel = checkChannel(str(args.channel), true);
    const text = str(args.text) ?? '';
    let blocks: unknown[] | undefined;
    if (args.blocks !== undefined && args.blocks !== '') {
      const parsed = jsonArg(args.blocks);
      const problem = parsed.ok ? validateBlocks(parsed.value) : '[ERROR] must be a JSON array [json-pointer:/blocks]';
      if (problem) throw new CallError('invalid_blocks', { response_metadata: { messages: [problem] } });
      blocks = (parsed as { value: unknown[] }).value;
      // An image block may show a file this workspace holds: uploaded and completed, else Slack
      // answers invalid_blocks (the file is checked when the message is posted).
      blocks.forEach((block, i) => {
        const file = isObject(block) && block.type === 'image' && isObject(block.slack_file) ? block.slack_file : undefined;
        if (!file) return;
        const id = typeof file.id === 'string' ? file.id : undefined;
        if (!id || !completed.some((c) => c.id === id && c.ready)) {
          throw new CallError('invalid_blocks', { response_metadata: { messages: [`[ERROR] invalid slack file [json-pointer:/blocks/${i}/slack_file]`] } });
        }
      });
    }
    const hasAttachments = args.attachments !== undefined && args.attachments !== '' && args.attachments !== '[]';
    if (!text && (!blocks || blocks.length === 0) && !hasAttachments) throw new CallError('no_text');
    if (text.length > MAX_TEXT) throw new CallError('msg_too_long');

    const warnings: string[] = [];
    let metadata: MessageMetadata | undefined;
    if (args.metadata !== undefined && args.metadata !== '') {
      const parsed = jsonArg(args.metadata);
      if (!parsed.ok) throw new CallError('invalid_metadata_format');
      const md = parsed.value;
      if (!isObject(md) || typeof md.event_type !== 'string' || !isObject(md.event_payload)) {
        throw new CallError('invalid_metadata_schema');
      }
      if (EVENT_TYPE_RE.test(md.event_type)) metadata = { event_type: md.event_type, event_payload: md.event_payload };
      else warnings.push('invalid_metadata_format');
    }

    let thread_ts: string | undefined;
    const threadArg = str(args.thread_ts);
    if (threadArg) {
      if (parseTs(threadArg) === undefined) throw new CallError('invalid_thread_ts');
      // A reply to a reply goes to the parent, as in Slack.
      const target = messages.find((m) => m.channel === channel && m.ts === threadArg);
      thread_ts = target?.thread_ts ?? threadArg;
    }

    const options: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(args)) {
      if (!['channel', 'text', 'blocks', 'metadata', 'thread_ts', 'token', 'team_id'].includes(k)) options[k] = v;
    }
    const stored: StoredMessage = {
      channel,
      ts: nextTs(),
      text,
      ...(blocks ? { blocks } : {}),
      ...(metadata ? { metadata } : {}),
      ...(thread_ts ? { thread_ts } : {}),
      ...(thread_ts && bool(args.reply_broadcast) ? { reply_broadcast: true } : {}),
      user: userId,
      bot_id: botId,
      app_id: appId,
      options,
    };
    insert(stored);
    const echo = render(stored, false);
    // Slack's echo of metadata may lack event_payload (slack.md): do not let callers rely on it.
    if (metadata) echo.metadata = { event_type: metadata.event_type };
    const out: Record<string, unknown> = { ok: true, channel, ts: stored.ts, message: echo };
    if (warnings.length > 0) {
      out.warning = warnings.join(',');
      out.response_metadata = { warnings };
    }
    return out;
  };

  const history = (args: Args): Record<string, unknown> => {
    const channel = checkChannel(str(args.channel), false);
    const inclusive = bool(args.inclusive);
    const oldestArg = args.oldest === undefined || args.oldest === '' ? undefined : parseTs(args.oldest);
    if (args.oldest !== undefined && args.oldest !== '' && oldestArg === undefined) throw new CallError('invalid_ts_oldest');
    const latestArg = args.latest === undefined || args.latest === '' ? undefined : parseTs(args.latest);
    if (args.latest !== undefined && args.latest !== '' && latestArg === undefined) throw new CallError('invalid_ts_latest');
    let limit = 100;
    if (args.limit !== undefined && args.limit !== '') {
      const n = Number(args.limit);
      if (!Number.isInteger(n) || n < 0) throw new CallError('invalid_limit');
      if (n > 0) limit = Math.min(n, 999);
    }
    const pageSize = Math.min(limit, pageCap);
    let upTo: bigint | undefined;
    const cursor = str(args.cursor);
    if (cursor) {
      const decoded = /^next_ts:(\d+)$/.exec(Buffer.from(cursor, 'base64').toString('utf8'));
      if (!decoded) throw new CallError('invalid_cursor');
      upTo = BigInt(decoded[1]!);
    }
    const candidates = messages
      .filter((m) => m.channel === channel && (!m.thread_ts || m.thread_ts === m.ts || m.reply_broadcast))
      .filter((m) => {
        const t = parseTs(m.ts)!;
        if (oldestArg !== undefined && (inclusive ? t < oldestArg : t <= oldestArg)) return false;
        if (latestArg !== undefined && (inclusive ? t > latestArg : t >= latestArg)) return false;
        if (upTo !== undefined && t > upTo) return false;
        return true;
      })
      .reverse();
    const page = candidates.slice(0, pageSize);
    const next = candidates[pageSize];
    const withMetadata = bool(args.include_all_metadata);
    return {
      ok: true,
      messages: page.map((m) => render(m, withMetadata)),
      has_more: next !== undefined,
      pin_count: 0,
      channel_actions_ts: null,
      channel_actions_count: 0,
      response_metadata: {
        next_cursor: next ? Buffer.from(`next_ts:${parseTs(next.ts)!}`, 'utf8').toString('base64') : '',
      },
    };
  };

  const getUploadUrl = (args: Args): Record<string, unknown> => {
    const filename = str(args.filename);
    const length = Number(args.length);
    if (!filename) throw new CallError('invalid_arguments', { response_metadata: { messages: ['[ERROR] missing required field: filename'] } });
    if (args.length === undefined || !Number.isInteger(length) || length < 0) {
      throw new CallError('invalid_arguments', { response_metadata: { messages: ['[ERROR] missing required field: length'] } });
    }
    fileSeq += 1;
    const id = `F0STANDIN${String(fileSeq).padStart(4, '0')}`;
    pending.set(id, { id, filename, length, completed: false, infoCalls: 0 });
    return { ok: true, upload_url: `${origin}/upload/${id}`, file_id: id };
  };

  const completeUpload = (args: Args): Record<string, unknown> => {
    const parsed = jsonArg(args.files);
    if (!parsed.ok || !Array.isArray(parsed.value) || parsed.value.length === 0) {
      throw new CallError('invalid_arguments', { response_metadata: { messages: ['[ERROR] files must be a non-empty JSON array [json-pointer:/files]'] } });
    }
    const list = parsed.value as unknown[];
    const channelArg = str(args.channel_id) ?? str(args.channels)?.split(',')[0];
    const channel = channelArg ? checkChannel(channelArg, true) : undefined;
    const thread_ts = channel ? str(args.thread_ts) || undefined : undefined;
    const initial_comment = str(args.initial_comment);
    const entries = list.map((f) => {
      if (!isObject(f) || typeof f.id !== 'string') throw new CallError('invalid_arguments');
      const p = pending.get(f.id);
      if (!p || !p.bytes) throw new CallError('file_not_found');
      return { p, title: typeof f.title === 'string' && f.title ? f.title : p.filename };
    });
    const out = entries.map(({ p, title }) => {
      if (!p.completed) {
        p.completed = true;
        const ready = processingCalls === 0 && !neverReady.has(p.filename);
        completed.push({ id: p.id, filename: p.filename, title, channel, thread_ts, initial_comment, length: p.length, bytes: p.bytes!, ready });
      }
      return {
        id: p.id,
        created: Math.floor(Date.now() / 1000),
        name: p.filename,
        title,
        // Not processed yet when completeUploadExternal answers: the type is not known (node-slack-sdk#2040).
        mimetype: '',
        filetype: p.filename.includes('.') ? p.filename.slice(p.filename.lastIndexOf('.') + 1) : '',
        size: p.bytes!.length,
        user: userId,
      };
    });
    return { ok: true, files: out };
  };

  /**
   * files.info (scope files:read): the file object; `mimetype` is empty until Slack has processed
   * the upload (node-slack-sdk#2040), then the file's type. Unknown or never-completed file:
   * file_not_found (Slack's documented error).
   */
  const fileInfo = (args: Args): Record<string, unknown> => {
    const id = str(args.file);
    const f = completed.find((c) => c.id === id);
    const p = id ? pending.get(id) : undefined;
    if (!f || !p) throw new CallError('file_not_found');
    if (!f.ready && !neverReady.has(f.filename)) {
      if (p.infoCalls >= processingCalls) f.ready = true;
      else p.infoCalls += 1;
    }
    return {
      ok: true,
      file: {
        id: f.id,
        created: Math.floor(Date.now() / 1000),
        name: f.filename,
        title: f.title,
        mimetype: f.ready ? mimetypeOf(f.filename) : '',
        filetype: f.filename.includes('.') ? f.filename.slice(f.filename.lastIndexOf('.') + 1) : '',
        size: f.bytes.length,
        user: userId,
        is_public: false,
        channels: f.channel ? [f.channel] : [],
      },
      comments: [],
      response_metadata: { next_cursor: '' },
    };
  };

  const methods: Record<string, (args: Args) => Record<string, unknown>> = {
    'files.info': fileInfo,
    'api.test': (args) => ({ ok: true, args: Object.fromEntries(Object.entries(args).filter(([k]) => k !== 'token')) }),
    'auth.test': () => ({
      ok: true,
      url: 'https://standin.slack.com/',
      team: 'Stand-in',
      user: 'standin-bot',
      team_id: teamId,
      user_id: userId,
      bot_id: botId,
      is_enterprise_install: false,
    }),
    'bots.info': (args) => {
      const bot = str(args.bot);
      if (bot && bot !== botId) throw new CallError('bot_not_found');
      return { ok: true, bot: { id: botId, deleted: false, name: 'standin-bot', app_id: appId, user_id: userId } };
    },
    'chat.postMessage': postMessage,
    'conversations.history': history,
    'files.getUploadURLExternal': getUploadUrl,
    'files.completeUploadExternal': completeUpload,
  };

  // ---------- HTTP ----------

  const send = (res: ServerResponse, a: Answer): void => {
    const body = typeof a.body === 'string' ? a.body : JSON.stringify(a.body);
    res.writeHead(a.status, {
      'content-type': typeof a.body === 'string' ? 'text/plain; charset=utf-8' : 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(body),
      ...a.headers,
    });
    res.end(body);
  };

  const faultAnswer = (fault: SlackFault): Answer | undefined => {
    if ('error' in fault) {
      return { status: 200, body: { ok: false, error: fault.error, ...(fault.needed ? { needed: fault.needed, provided: SCOPES } : {}) } };
    }
    if ('ratelimited' in fault) {
      return { status: 429, headers: { 'retry-after': String(fault.ratelimited.retryAfter) }, body: { ok: false, error: 'ratelimited' } };
    }
    if ('status' in fault) return { status: fault.status, body: `stand-in: HTTP ${fault.status}` };
    return undefined; // acceptThenDrop: performed first
  };

  const log = (entry: SlackCall): void => {
    callLog.push(entry);
  };

  const outcome = (a: Answer): { ok: boolean; error?: string } => {
    if (typeof a.body === 'string') return { ok: a.status === 200, ...(a.status === 200 ? {} : { error: `http_${a.status}` }) };
    return a.body.ok === true ? { ok: true } : { ok: false, error: String(a.body.error) };
  };

  const handleApi = async (req: IncomingMessage, res: ServerResponse, method: string, url: URL, body: Buffer): Promise<void> => {
    let args: Args;
    try {
      args = await parseArgs(req, body, url);
    } catch {
      const a: Answer = { status: 200, body: { ok: false, error: 'invalid_form_data' } };
      log({ method, ...outcome(a), status: 200 });
      return send(res, a);
    }
    const header = req.headers.authorization;
    const bearer = header && /^Bearer\s+/i.test(header) ? header.replace(/^Bearer\s+/i, '').trim() : undefined;
    const given = bearer || str(args.token) || undefined;
    delete args.token;
    const logged: Args = {};
    for (const [k, v] of Object.entries(args)) {
      const parsed = ['blocks', 'metadata', 'files', 'attachments'].includes(k) ? jsonArg(v) : { ok: true as const, value: v };
      logged[k] = parsed.ok ? parsed.value : v;
    }

    const fault = takeFault(method);
    let answer = fault ? faultAnswer(fault) : undefined;
    if (!answer) {
      const impl = methods[method];
      let result: Record<string, unknown>;
      if (!impl) result = { ok: false, error: 'unknown_method', req_method: method };
      else if (!given) result = { ok: false, error: 'not_authed' };
      else if (given !== token) result = { ok: false, error: 'invalid_auth' };
      else {
        try {
          result = impl(args);
        } catch (error) {
          if (!(error instanceof CallError)) throw error;
          result = { ok: false, error: error.error, ...error.extra };
        }
      }
      answer = { status: 200, headers: { 'x-oauth-scopes': SCOPES, 'x-accepted-oauth-scopes': SCOPES }, body: result };
    }
    if (fault && 'acceptThenDrop' in fault) {
      log({ method, ...outcome(answer), status: 0, dropped: true, args: logged });
      req.socket.destroy();
      return;
    }
    log({ method, ...outcome(answer), status: answer.status, args: logged });
    send(res, answer);
  };

  const handleUpload = async (req: IncomingMessage, res: ServerResponse, id: string, body: Buffer): Promise<void> => {
    const method = 'upload';
    const fault = takeFault(method);
    const file = pending.get(id);
    let answer = fault ? faultAnswer(fault) : undefined;
    if (answer && typeof answer.body !== 'string') answer = { ...answer, body: JSON.stringify(answer.body) };
    if (!answer) {
      if (!file) answer = { status: 404, body: 'Not Found' };
      else {
        file.bytes = await uploadedBytes(req, body);
        answer = { status: 200, body: `OK - ${file.bytes.length}` };
      }
    }
    if (fault && 'acceptThenDrop' in fault) {
      log({ method, ok: answer.status === 200, status: 0, dropped: true });
      req.socket.destroy();
      return;
    }
    log({ method, ok: answer.status === 200, ...(answer.status === 200 ? {} : { error: `http_${answer.status}` }), status: answer.status });
    send(res, answer);
  };

  const server: Server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', origin || 'http://127.0.0.1');
      const body = await readBody(req);
      if (url.pathname.startsWith('/api/') && url.pathname.length > 5) {
        await handleApi(req, res, decodeURIComponent(url.pathname.slice(5)), url, body);
      } else if (url.pathname.startsWith('/upload/') && req.method === 'POST') {
        await handleUpload(req, res, decodeURIComponent(url.pathname.slice(8)), body);
      } else {
        send(res, { status: 404, body: 'Not Found' });
      }
    })().catch((error: unknown) => {
      if (!res.headersSent && !res.destroyed) send(res, { status: 500, body: `stand-in failure: ${String(error)}` });
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  origin = `http://127.0.0.1:${port}`;

  return {
    apiUrl: `${origin}/api/`,
    token,
    channel: mainChannel,
    botId,
    appId,
    messages: (channel) => structuredClone(messages.filter((m) => channel === undefined || m.channel === channel)),
    files: () => completed.map((f) => ({ ...f, bytes: Buffer.from(f.bytes) })),
    calls: () => structuredClone(callLog),
    inject: (fault) => {
      faults.push({ ...fault, left: Math.max(1, fault.times ?? 1) });
    },
    addForeignMessage: (channel, msg) => {
      if (!channels.has(channel)) throw new Error(`slack stand-in: no channel ${channel}`);
      const person = msg.user !== undefined && msg.bot_id === undefined;
      const ts = msg.ts ?? nextTs();
      if (parseTs(ts) === undefined) throw new Error(`slack stand-in: bad ts ${ts}`);
      const stored: StoredMessage = {
        channel,
        ts: formatTs(parseTs(ts)!),
        text: msg.text,
        ...(msg.metadata !== undefined ? { metadata: structuredClone(msg.metadata) } : {}),
        ...(msg.thread_ts ? { thread_ts: msg.thread_ts } : {}),
        user: msg.user ?? STANDIN_IDS.foreignUserId,
        ...(person ? {} : { bot_id: msg.bot_id ?? STANDIN_IDS.foreignBotId, app_id: msg.app_id ?? STANDIN_IDS.foreignAppId }),
        options: {},
      };
      insert(stored);
      return structuredClone(stored);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
