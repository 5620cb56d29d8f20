/**
 * CloudFront access logs from S3 (`s3://bucket[/prefix]`): lists only the log objects whose hour can
 * hold requests of the period, fetches several at once, streams each to a file under a local folder
 * and hands them on as local files (the same path as `--downloads <folder>`; see logs.ts).
 *
 * Layouts (docs/reference: cloudfront-logs.md):
 * - legacy standard logs: `<prefix><distribution ID>.YYYY-MM-DD-HH.<unique id>.gz` (hour in UTC, the
 *   hour of the request). The distribution IDs under the prefix are found first (one delimited
 *   listing that skips past each ID's keys as soon as it is seen), then each UTC day the period
 *   touches is listed with the prefix `<prefix><distribution ID>.YYYY-MM-DD-`.
 * - standard logging v2 with partitioning: `{DistributionId}/{yyyy}/{MM}/{dd}/{HH}/...` (any of the
 *   parts optional, Hive style `year=2026/month=11/day=16/hour=10` too): year and month folders are
 *   listed with a delimiter to find the days the period touches, and only those day folders are
 *   listed in full.
 * Other folders under the prefix are not entered (they are named in the log): point the URL at the
 * folder the logs are delivered to, static path parts included.
 *
 * Credentials, region and so on come from the AWS SDK's default chain (environment, shared config
 * and profiles, SSO, container and instance roles); this module never reads the environment itself.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat, utimes } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { randomBytes } from 'node:crypto';
import {
  GetObjectCommand,
  ListObjectsV2Command,
  S3Client,
  type ListObjectsV2CommandOutput,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { ConnectMetricsError, UsageError } from '../../lib/errors.ts';
import type { Logger } from '../../lib/logger.ts';
import { sleep } from '../../lib/abort.ts';
import type { DiscoveredFile } from '../discover.ts';
import { isLogFileName } from './formats.ts';

export interface S3Options {
  /** AWS region; unset: the SDK's standard chain (AWS_REGION, the profile's region...). */
  region?: string;
  /** An S3-compatible server, e.g. `http://127.0.0.1:9000`; unset for AWS. */
  endpoint?: string;
  /** Path-style addressing (`endpoint/bucket/key`), needed by s3rver and MinIO; unset for AWS. */
  forcePathStyle?: boolean;
  /** Objects fetched at once; default 8. */
  concurrency?: number;
  /** A ready client (tests); when given, region/endpoint/forcePathStyle are not used. */
  client?: S3Client;
  /** Stops listing and fetching; the call then rejects with the signal's reason. */
  signal?: AbortSignal;
  /** List only: return the period's keys without fetching them (a ClickHouse server reads them itself). */
  listOnly?: boolean;
}

export interface S3FetchResult {
  /** The fetched objects as local files, sorted by path. */
  files: DiscoveredFile[];
  /** Log objects the listings returned for the period's days (fetched + failed + outside). */
  listed: number;
  /** Listed objects whose hour is outside the period and its margin: not fetched. */
  outside: number;
  /** Objects that could not be fetched after retries; the others were still fetched. */
  failed: Array<{ key: string; error: string }>;
  /** With `listOnly`: the period's keys, sorted; nothing is fetched. */
  keys: string[];
}

export type S3ErrorCode =
  | 'NoSuchBucket'
  | 'AccessDenied'
  | 'NoCredentials'
  | 'NoRegion'
  | 'WrongRegion'
  | 'Unreachable'
  | 'ListFailed';

/** Listing the bucket failed for good: what was being listed, why, and what to do about it. */
export class S3SourceError extends ConnectMetricsError {
  readonly code: S3ErrorCode;
  readonly bucket: string;
  constructor(code: S3ErrorCode, bucket: string, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, options);
    this.code = code;
    this.bucket = bucket;
  }
}

/** An `s3://` URL that cannot name a bucket (a usage error: exit code 2). */
export class S3UrlError extends UsageError {
  readonly url: string;
  constructor(url: string, reason: string) {
    super(`${url}: not a usable S3 URL: ${reason}`, { hint: 'write it as s3://bucket or s3://bucket/prefix/ (for example s3://my-logs/cloudfront/)' });
    this.url = url;
  }
}

/**
 * Whether a --downloads value is meant for S3 (it starts with `s3://`). Malformed ones are still
 * true here, so that they get parseS3Url's error instead of "no such file or folder".
 */
export function isS3Url(value: string): boolean {
  return /^s3:\/\//i.test(value.trim());
}

// S3 bucket names: 3-63 characters of lowercase letters, digits, dots and hyphens, starting and
// ending with a letter or digit.
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** `s3://bucket[/prefix]` into bucket and prefix (the prefix as written, without the leading slash). */
export function parseS3Url(url: string): { bucket: string; prefix: string } {
  const m = /^s3:\/\/([^/]*)(?:\/(.*))?$/i.exec(url.trim());
  if (!m) throw new S3UrlError(url, 'it does not start with s3://');
  const bucket = m[1]!;
  const prefix = m[2] ?? '';
  if (bucket === '') throw new S3UrlError(url, 'the bucket name is missing');
  if (!BUCKET.test(bucket) || bucket.includes('..')) {
    throw new S3UrlError(url, `"${bucket}" is not a valid bucket name (3-63 lowercase letters, digits, dots, hyphens)`);
  }
  if (/[*?[\]{}]/.test(prefix)) throw new S3UrlError(url, 'wildcards are not supported; give the folder the logs are in');
  if (prefix.startsWith('/') || prefix.includes('//')) throw new S3UrlError(url, 'the prefix has an empty path part (//)');
  return { bucket, prefix };
}

/**
 * The client the module uses when none is injected: the SDK's default credential chain, nothing
 * else. For an S3-compatible endpoint, checksums are computed and validated only when an operation
 * requires them (also right for AWS; the SDK's AWS defaults are left untouched when no endpoint is set).
 */
export function createS3Client(options: Pick<S3Options, 'region' | 'endpoint' | 'forcePathStyle'> = {}): S3Client {
  const config: S3ClientConfig = {};
  if (options.region) config.region = options.region;
  if (options.endpoint) {
    config.endpoint = options.endpoint;
    config.requestChecksumCalculation = 'WHEN_REQUIRED';
    config.responseChecksumValidation = 'WHEN_REQUIRED';
  }
  if (options.forcePathStyle !== undefined) config.forcePathStyle = options.forcePathStyle;
  return new S3Client(config);
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** A request logged just before a period boundary can finish after it (and the other way round). */
const MARGIN = HOUR;
const RETRIES = 2;
const RETRY_DELAY_MS = 250;
const LIST_CONCURRENCY = 4;

// `<distribution ID>.YYYY-MM-DD-HH.<unique id>...` (the file name part after the prefix).
const LEGACY_NAME = /^(.+?)\.(\d{4})-(\d{2})-(\d{2})-(\d{2})\.[^/]+$/;
// Folder names of partitioned v2 layouts.
const DIST_FOLDER = /^(?:DistributionId=)?E[A-Z0-9]{6,20}$/;
const YEAR_FOLDER = /^(?:year=)?(\d{4})$/;
const MONTH_FOLDER = /^(?:month=)?(\d{1,2})$/;
const DAY_FOLDER = /^(?:day=)?(\d{1,2})$/;
const HOUR_FOLDER = /^(?:hour=)?(\d{1,2})$/;
/** How many folder levels below the URL's prefix are entered (distribution ID, year, month: 3). */
const MAX_DEPTH = 4;

/**
 * Lists the log objects under `url` whose hour falls in [from − 1 h, to + 1 h), fetches them
 * (`concurrency` at once, each streamed to a file under `dir` that mirrors its key) and returns
 * them as local files. An object that cannot be fetched is retried twice, then reported in
 * `failed` and the others go on: CDN logs are best effort, the caller reports what is missing.
 * Listing failures (no such bucket, access denied, no credentials) throw an S3SourceError.
 */
export async function fetchS3Logs(
  url: string,
  period: { from: Date; to: Date },
  dir: string,
  options: S3Options & { logger: Logger },
): Promise<S3FetchResult> {
  const { bucket, prefix } = parseS3Url(url);
  const from = period.from.getTime();
  const to = period.to.getTime();
  if (!Number.isFinite(from) || !Number.isFinite(to)) throw new ConnectMetricsError(`${url}: the period has an invalid date`);
  const concurrency = Math.max(1, Math.floor(options.concurrency ?? 8));
  const client = options.client ?? createS3Client(options);
  const root = resolve(dir);
  const logger = options.logger;
  const started = Date.now();
  const window = { start: from - MARGIN, end: to + MARGIN };
  const days = touchedDays(window.start, window.end);

  const controller = new AbortController();
  const onAbort = () => controller.abort(options.signal!.reason);
  if (options.signal?.aborted) controller.abort(options.signal.reason);
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const signal = controller.signal;

  const listSlot = limiter(LIST_CONCURRENCY);
  const fetchSlot = limiter(concurrency);
  const tasks = new TaskGroup(controller);
  const seen = new Set<string>();
  const files: DiscoveredFile[] = [];
  const failed: S3FetchResult['failed'] = [];
  const keys: string[] = [];
  const ignoredFolders: string[] = [];
  let listed = 0;
  let outside = 0;
  let requests = 0;
  let bytes = 0;

  const list = (input: { Prefix: string; Delimiter?: string; StartAfter?: string; ContinuationToken?: string }) =>
    listSlot(async (): Promise<ListObjectsV2CommandOutput> => {
      requests += 1;
      try {
        return await client.send(new ListObjectsV2Command({ Bucket: bucket, ...input }), { abortSignal: signal });
      } catch (error) {
        if (signal.aborted) throw signal.reason;
        throw await listError(error, client, bucket, input.Prefix);
      }
    });

  /** A listed key: counted, then fetched when its hour (if the name tells) can hold requests of the period. */
  const consider = (key: string, hourStart: number | undefined) => {
    if (seen.has(key) || key.endsWith('/') || !isLogFileName(basename(key))) return;
    seen.add(key);
    listed += 1;
    // A key whose name carries no date cannot be placed in time: it is fetched and read (the
    // counting query filters every record by its own time), and never counted as outside.
    if (hourStart !== undefined && !(hourStart + HOUR > window.start && hourStart < window.end)) {
      outside += 1;
      return;
    }
    if (options.listOnly) {
      keys.push(key);
      return;
    }
    tasks.spawn(() =>
      fetchSlot(async () => {
        const result = await fetchWithRetries(client, bucket, key, root, signal, logger);
        if ('file' in result) {
          files.push(result.file);
          bytes += result.file.size;
        } else {
          failed.push({ key, error: result.error });
          logger.warn(`could not fetch s3://${bucket}/${key}: ${result.error}`);
        }
      }),
    );
  };

  /** Every key under a prefix (a day folder, or one distribution's day), paginated. */
  const listAll = async (listPrefix: string, hourOf: (key: string) => number | undefined) => {
    let token: string | undefined;
    do {
      const page = await list({ Prefix: listPrefix, ...(token ? { ContinuationToken: token } : {}) });
      for (const obj of page.Contents ?? []) if (obj.Key) consider(obj.Key, hourOf(obj.Key));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  };

  /**
   * One folder level (delimited listing). Legacy names found here give the distribution IDs, each
   * then listed per day; folders are entered when they are a distribution ID or a date partition
   * the period touches.
   */
  const walk = async (levelPrefix: string, depth: number, date: { y?: number; m?: number }) => {
    const dists = new Set<string>();
    const folders = new Set<string>();
    let token: string | undefined;
    let startAfter: string | undefined;
    for (;;) {
      const page = await list({
        Prefix: levelPrefix,
        Delimiter: '/',
        ...(token ? { ContinuationToken: token } : startAfter ? { StartAfter: startAfter } : {}),
      });
      let last = '';
      let lastDist: string | undefined;
      for (const obj of page.Contents ?? []) {
        const key = obj.Key;
        if (!key) continue;
        const legacy = LEGACY_NAME.exec(key.slice(levelPrefix.length));
        if (legacy) dists.add(legacy[1]!);
        else consider(key, undefined);
        if (key > last) [last, lastDist] = [key, legacy?.[1]];
      }
      for (const cp of page.CommonPrefixes ?? []) {
        if (!cp.Prefix) continue;
        folders.add(cp.Prefix);
        if (cp.Prefix > last) [last, lastDist] = [cp.Prefix, undefined];
      }
      if (!page.IsTruncated) break;
      if (lastDist !== undefined) {
        // The page ended inside one distribution's legacy keys: skip the rest of them (they are
        // listed per day below). Every key `<dist>.…` sorts before `<dist>/`.
        startAfter = `${levelPrefix}${lastDist}/`;
        token = undefined;
      } else {
        token = page.NextContinuationToken;
        if (!token) break;
      }
    }
    // Each listing below runs as its own task (at most LIST_CONCURRENCY requests at once).
    const work = (task: () => Promise<void>) => tasks.spawn(task);
    for (const dist of [...dists].sort()) {
      for (const day of days) {
        work(() => listAll(`${levelPrefix}${dist}.${day.text}-`, (key) => legacyHour(basename(key))));
      }
    }
    for (const folder of [...folders].sort()) {
      const name = folder.slice(levelPrefix.length, -1);
      if (date.m !== undefined) {
        const d = DAY_FOLDER.exec(name);
        const match = d && days.find((x) => x.y === date.y && x.m === date.m && x.d === Number(d[1]));
        if (match) work(() => listAll(folder, (key) => partitionHour(key, folder, match.start)));
        else if (!d) ignoredFolders.push(folder);
      } else if (date.y !== undefined) {
        const m = MONTH_FOLDER.exec(name);
        if (m && days.some((x) => x.y === date.y && x.m === Number(m[1]))) work(() => walk(folder, depth + 1, { y: date.y, m: Number(m[1]) }));
        else if (!m) ignoredFolders.push(folder);
      } else {
        const y = YEAR_FOLDER.exec(name);
        if (y) {
          if (days.some((x) => x.y === Number(y[1]))) work(() => walk(folder, depth + 1, { y: Number(y[1]) }));
        } else if ((name === '' || DIST_FOLDER.test(name)) && depth < MAX_DEPTH) {
          // '' : the URL's prefix written without its trailing slash (s3://bucket/logs).
          work(() => walk(folder, depth + 1, {}));
        } else {
          ignoredFolders.push(folder);
        }
      }
    }
  };

  try {
    tasks.spawn(() => walk(prefix, 0, {}));
    await tasks.wait();
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
  if (ignoredFolders.length) {
    const shown = ignoredFolders.sort().slice(0, 10).map((f) => `s3://${bucket}/${f}`);
    logger.info(`${url}: folders that are neither a distribution ID nor a date were not searched: ${shown.join(', ')}${ignoredFolders.length > 10 ? ` and ${ignoredFolders.length - 10} more` : ''}`);
  }
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  failed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  logger.info(
    `${url}: ${listed} log objects listed for the period (${outside} outside it) in ${requests} listing requests; ` +
      `fetched ${files.length} (${(bytes / 1e6).toFixed(1)} MB)${failed.length ? `, ${failed.length} failed` : ''} in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
  return { files, listed, outside, failed, keys: keys.sort() };
}

/** The UTC days that [start, end) touches, with their `YYYY-MM-DD` text. */
function touchedDays(start: number, end: number): Array<{ y: number; m: number; d: number; text: string; start: number }> {
  const out = [];
  for (let t = Math.floor(start / DAY) * DAY; t < end; t += DAY) {
    const date = new Date(t);
    out.push({ y: date.getUTCFullYear(), m: date.getUTCMonth() + 1, d: date.getUTCDate(), text: date.toISOString().slice(0, 10), start: t });
  }
  return out;
}

/** The start of the hour a legacy-named file is filed under, or undefined for other names. */
function legacyHour(name: string): number | undefined {
  const m = LEGACY_NAME.exec(name);
  if (!m) return undefined;
  const t = Date.UTC(Number(m[2]), Number(m[3]) - 1, Number(m[4]), Number(m[5]));
  return Number.isFinite(t) ? t : undefined;
}

/**
 * The hour of a key inside a day folder: from a legacy file name, else from an hour folder
 * (`10/` or `hour=10/`) right under the day; a file straight in the day folder cannot be placed
 * within the day, so it is kept (undefined).
 */
function partitionHour(key: string, dayFolder: string, dayStart: number): number | undefined {
  const fromName = legacyHour(basename(key));
  if (fromName !== undefined) return fromName;
  const parts = key.slice(dayFolder.length).split('/');
  const h = parts.length > 1 ? HOUR_FOLDER.exec(parts[0]!) : null;
  return h && Number(h[1]) < 24 ? dayStart + Number(h[1]) * HOUR : undefined;
}

/** `dir/<key>`, with path parts that could leave `dir` (`..`, `.`, empty) made harmless. */
function localPathFor(root: string, key: string): string {
  const parts = key.split('/').map((p) => (p === '' ? '_' : p === '.' || p === '..' ? p.replace(/\./g, '%2E') : p));
  return join(root, ...parts);
}

type FetchOutcome = { file: DiscoveredFile } | { error: string };

async function fetchWithRetries(client: S3Client, bucket: string, key: string, root: string, signal: AbortSignal, logger: Logger): Promise<FetchOutcome> {
  let lastError = 'unknown error';
  for (let attempt = 0; attempt <= RETRIES; attempt++) {
    if (attempt > 0) await sleep(RETRY_DELAY_MS * attempt, signal);
    try {
      return { file: await fetchObject(client, bucket, key, root, signal) };
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      const { message, permanent } = describeGetError(error, bucket, key);
      lastError = message;
      if (permanent) break;
      if (attempt < RETRIES) logger.debug(`retrying s3://${bucket}/${key}: ${message}`);
    }
  }
  return { error: lastError };
}

/** Streams one object to `dir/<key>` (a hidden temporary name, renamed when complete). */
async function fetchObject(client: S3Client, bucket: string, key: string, root: string, signal: AbortSignal): Promise<DiscoveredFile> {
  const target = localPathFor(root, key);
  await mkdir(dirname(target), { recursive: true });
  const temp = join(dirname(target), `.${basename(target)}.${randomBytes(4).toString('hex')}.part`);
  try {
    const response = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: signal });
    const body = response.Body;
    if (!(body instanceof Readable)) throw new Error('the response has no readable body');
    await pipeline(body, createWriteStream(temp), { signal });
    const written = (await stat(temp)).size;
    if (response.ContentLength !== undefined && written !== response.ContentLength) {
      throw new Error(`incomplete: received ${written} of ${response.ContentLength} bytes`);
    }
    // The object's own time, so that a file fetched again unchanged looks the same to caches.
    if (response.LastModified) await utimes(temp, response.LastModified, response.LastModified);
    await rename(temp, target);
    const info = await stat(target);
    return { path: target, size: info.size, mtimeMs: Math.trunc(info.mtimeMs) };
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

interface AwsLikeError {
  name?: string;
  Code?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

function errorName(error: unknown): string {
  const e = error as AwsLikeError;
  return e?.name && e.name !== 'Error' && e.name !== 'S3ServiceException' ? e.name : (e?.Code ?? e?.code ?? e?.name ?? '');
}

function errorMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0]!.trim() || errorName(error) || 'unknown error';
}

const ACCESS_CODES = new Set([
  'AccessDenied',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'InvalidToken',
  'TokenRefreshRequired',
  'AllAccessDisabled',
  'AccountProblem',
]);

function describeGetError(error: unknown, bucket: string, key: string): { message: string; permanent: boolean } {
  const name = errorName(error);
  const status = (error as AwsLikeError)?.$metadata?.httpStatusCode;
  if (ACCESS_CODES.has(name) || status === 403) {
    return { message: `access denied (${name || 403}): the credentials need s3:GetObject on arn:aws:s3:::${bucket}/${key}`, permanent: true };
  }
  if (name === 'NoSuchKey' || status === 404) return { message: 'the object no longer exists (deleted after it was listed)', permanent: true };
  if (name === 'InvalidObjectState') return { message: 'the object is archived (Glacier storage class): restore it to read it', permanent: true };
  return { message: errorMessage(error), permanent: false };
}

/** A listing failure as a clear S3SourceError (what, why, and the fix). */
async function listError(error: unknown, client: S3Client, bucket: string, prefix: string): Promise<S3SourceError> {
  const name = errorName(error);
  const status = (error as AwsLikeError)?.$metadata?.httpStatusCode;
  const where = `s3://${bucket}/${prefix}`;
  const reason = errorMessage(error);
  if (name === 'NoSuchBucket') {
    return new S3SourceError('NoSuchBucket', bucket, `${where}: the bucket ${bucket} does not exist`, {
      hint: 'check the bucket name in the s3:// URL (and the endpoint, when one is configured)',
      cause: error,
    });
  }
  if (name === 'CredentialsProviderError' || /could not load credentials/i.test(reason)) {
    return new S3SourceError('NoCredentials', bucket, `${where}: no AWS credentials found: ${reason}`, {
      hint: 'provide credentials the AWS SDK finds: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE (with aws sso login), or an instance/container role',
      cause: error,
    });
  }
  if (/region is missing/i.test(reason)) {
    return new S3SourceError('NoRegion', bucket, `${where}: no AWS region configured`, {
      hint: "set the bucket's region in the configuration, or AWS_REGION, or a region in the AWS profile",
      cause: error,
    });
  }
  if (name === 'PermanentRedirect' || name === 'AuthorizationHeaderMalformed' || status === 301) {
    return new S3SourceError('WrongRegion', bucket, `${where}: the bucket is in another region than the one configured (${reason})`, {
      hint: "set the bucket's region in the configuration (or AWS_REGION)",
      cause: error,
    });
  }
  if (ACCESS_CODES.has(name) || status === 403) {
    const who = await accessKeyOf(client);
    const detail =
      name === 'InvalidAccessKeyId'
        ? 'the access key is not known to the server'
        : name === 'SignatureDoesNotMatch'
          ? 'the secret key does not match the access key'
          : name === 'ExpiredToken' || name === 'TokenRefreshRequired'
            ? 'the session credentials have expired'
            : `the credentials lack s3:ListBucket on arn:aws:s3:::${bucket}${prefix ? ` (for the prefix ${prefix})` : ''}`;
    return new S3SourceError('AccessDenied', bucket, `${where}: access denied (${name || status}): ${detail}; credentials used: ${who}`, {
      hint: `the credentials need s3:ListBucket on arn:aws:s3:::${bucket} and s3:GetObject on arn:aws:s3:::${bucket}/${prefix}*`,
      cause: error,
    });
  }
  const code = (error as AwsLikeError)?.code ?? '';
  if (['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'ECONNRESET'].includes(code) || name === 'TimeoutError') {
    return new S3SourceError('Unreachable', bucket, `${where}: cannot reach S3: ${reason}`, {
      hint: 'check the network and the endpoint setting',
      cause: error,
    });
  }
  return new S3SourceError('ListFailed', bucket, `${where}: listing failed: ${name ? `${name}: ` : ''}${reason}`, { cause: error });
}

/** Which credentials the client used (the access key ID only, which is not a secret), for error messages. */
async function accessKeyOf(client: S3Client): Promise<string> {
  try {
    const identity = await client.config.credentials();
    return `access key ${identity.accessKeyId} from the AWS SDK's default chain (environment, profile, SSO or role)`;
  } catch {
    return "none could be resolved from the AWS SDK's default chain";
  }
}

/** At most `n` tasks at once; a finished task hands its slot straight to the next one waiting. */
function limiter(n: number) {
  let active = 0;
  const waiting: Array<() => void> = [];
  return async function run<T>(task: () => Promise<T>): Promise<T> {
    if (active >= n) await new Promise<void>((r) => waiting.push(r));
    else active += 1;
    try {
      return await task();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else active -= 1;
    }
  };
}

/**
 * Tasks started while others run (listings find keys, keys start fetches). `wait` returns when all
 * are done; when one fails, the rest are aborted and awaited, then the first error is thrown, so
 * nothing keeps writing after the call returned.
 */
class TaskGroup {
  private readonly running = new Set<Promise<void>>();
  private firstError: { error: unknown } | undefined;
  constructor(private readonly controller: AbortController) {}

  spawn(task: () => Promise<void>): void {
    const run = async () => {
      try {
        if (this.controller.signal.aborted) throw this.controller.signal.reason;
        await task();
      } catch (error) {
        if (!this.firstError) {
          this.firstError = { error };
          this.controller.abort(error);
        }
      }
    };
    const p = run().finally(() => this.running.delete(p));
    this.running.add(p);
  }

  async wait(): Promise<void> {
    while (this.running.size) await Promise.allSettled([...this.running]);
    if (this.firstError) throw this.firstError.error;
  }
}
