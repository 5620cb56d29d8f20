/**
 * A client for PostHog's Query API (`POST /api/projects/{id}/query/`), written against PostHog's
 * code (docs/posthog.md, "Verified"): 3 running queries per organization, 10 s of execution for a
 * personal-API-key query, 100 rows + `hasMore` without a LIMIT, a LIMIT capped at 50,000 with no
 * `hasMore` at all.
 *
 * - 429 throttled: PostHog sends no Retry-After; the wait is only in `detail` ("Expected available
 *   in N seconds."). Waited out when it is within `maxThrottleWaitMs` (default 10 min), else the run
 *   stops with the time the budget returns. The concurrency 429 says nothing: backoff with jitter.
 * - 500/502/503 and network errors: exponential backoff (Retry-After when PostHog sends one: 503
 *   database_unavailable). A cluster-wide 513 ("under heavy load") passes in minutes: retried later.
 * - Never retries 400 (the query is wrong), 401/403 (the key is wrong), 402 (quota).
 * - 504/512, a 513 about the query and 400 too_many_bytes mean the query was too heavy: raised as
 *   PostHogTooHeavyError for the engine to split.
 * - 202: polls `GET .../query/{id}/` until done or the deadline (then cancels with DELETE).
 * - More rows than one answer holds: pages of `SELECT * FROM (q) ORDER BY <every column> LIMIT n
 *   OFFSET k` while a page comes back full. Ordering by every column is a total order up to identical
 *   rows (interchangeable), so no row is lost or repeated between pages.
 * - At most `maxInFlight` queries (default 2) at once, so the report leaves PostHog's third slot free.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from '../lib/logger.ts';
import { sleep as abortableSleep } from '../lib/abort.ts';
import {
  PostHogAuthError,
  PostHogError,
  PostHogQueryRejectedError,
  PostHogQuotaError,
  PostHogThrottledError,
  PostHogTooHeavyError,
  PostHogUnavailableError,
} from './posthog-errors.ts';

export interface PostHogClientOptions {
  /** e.g. https://us.posthog.com */
  host: string;
  projectId: string;
  /** Personal API key with the query:read scope. Sent as a Bearer token, never logged. */
  apiKey: string;
  logger: Logger;
  /** Injected for tests; default global fetch. */
  fetch?: typeof fetch;
  /** Injected for tests; default an abortable setTimeout. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Injected for tests; default Math.random (jitter only). */
  random?: () => number;
  /** Queries in flight at once, polling included. Default 2. */
  maxInFlight?: number;
  /** Attempts per request for retryable failures. Default 6. */
  maxAttempts?: number;
  /** Timeout of one HTTP request. Default 60 s (PostHog's own execution limit is 10-60 s). */
  requestTimeoutMs?: number;
  /** How long to poll a 202 query before giving up (and cancelling it). Default 5 min. */
  pollDeadlineMs?: number;
  /** First backoff delay; doubles per attempt, with full jitter. Default 1 s. */
  backoffBaseMs?: number;
  /** Longest single wait, Retry-After included. Default 60 s. */
  maxDelayMs?: number;
  /** Modifiers sent with every query (the engine pins convertToProjectTimezone and personsOnEventsMode). */
  modifiers?: Record<string, unknown>;
  /** A throttle longer than this stops the run (PostHogThrottledError). Default 10 min; backfill: Infinity. */
  maxThrottleWaitMs?: number;
  /** Wait between tries after a cluster-wide 513 (PostHog: "try again in a few minutes"). Default 60 s. */
  clusterRetryMs?: number;
  /** Rows per page when a result needs more than one answer. Default and most: 50,000 (MAX_SELECT_RETURNED_ROWS). */
  pageRows?: number;
  /** Injected for tests; default Date.now (only to say until when a throttle lasts). */
  now?: () => number;
  /** Called once per HTTP request sent (for request budgets and the bench). */
  onRequest?: (info: { method: string; path: string; name: string }) => void;
}

export interface HogQLResult {
  columns: string[];
  types: unknown[];
  results: unknown[][];
}

interface QueryResponse {
  results?: unknown[][];
  columns?: string[];
  types?: unknown[];
  hasMore?: boolean;
  limit?: number;
  offset?: number;
  query_status?: { id?: string; complete?: boolean; error?: boolean; error_message?: string | null; results?: QueryResponse } | null;
}

/** Rows per page when a result is larger than PostHog's default page: its maximum (MAX_SELECT_RETURNED_ROWS). */
export const PAGE_ROWS = 50_000;

/** The stated wait of a rate-limit 429 (DRF's throttle message), in seconds. */
export function throttleWait(detail: string | undefined): number | undefined {
  const m = /Expected available in (\d+(?:\.\d+)?) seconds?/i.exec(detail ?? '');
  return m ? Number(m[1]) : undefined;
}

export class PostHogQueryClient {
  private readonly fetch: typeof fetch;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  private readonly random: () => number;
  private readonly slots: Semaphore;
  private readonly now: () => number;
  private readonly o: Required<Omit<PostHogClientOptions, 'fetch' | 'sleep' | 'random' | 'onRequest' | 'logger' | 'modifiers' | 'now'>>;

  constructor(private readonly options: PostHogClientOptions) {
    this.fetch = options.fetch ?? globalThis.fetch;
    this.sleep = options.sleep ?? abortableSleep;
    this.random = options.random ?? Math.random;
    this.now = options.now ?? Date.now;
    this.o = {
      host: options.host.replace(/\/+$/, ''),
      projectId: options.projectId,
      apiKey: options.apiKey,
      maxInFlight: options.maxInFlight ?? 2,
      maxAttempts: options.maxAttempts ?? 6,
      requestTimeoutMs: options.requestTimeoutMs ?? 60_000,
      pollDeadlineMs: options.pollDeadlineMs ?? 300_000,
      backoffBaseMs: options.backoffBaseMs ?? 1_000,
      maxDelayMs: options.maxDelayMs ?? 60_000,
      maxThrottleWaitMs: options.maxThrottleWaitMs ?? 600_000,
      clusterRetryMs: options.clusterRetryMs ?? 60_000,
      pageRows: Math.min(options.pageRows ?? PAGE_ROWS, PAGE_ROWS),
    };
    this.slots = new Semaphore(this.o.maxInFlight);
  }

  /** Runs a HogQL query with its values; returns every row. `signal` cancels it (retries and polls included). */
  async query(request: { name: string; sql: string; values: Record<string, unknown>; signal?: AbortSignal | undefined }): Promise<HogQLResult> {
    const signal = request.signal;
    return this.slots.run(signal, async () => {
      const first = await this.runOne(request.name, request.sql, request.values, signal);
      const got = first.results?.length ?? 0;
      // Complete unless PostHog says more follow (a query without a LIMIT: 100 rows), or the answer
      // is as long as the most PostHog sends (a LIMIT is capped at 50,000 and nothing says so).
      if (first.hasMore !== true && got < this.o.pageRows) return toResult(first);
      const columns = first.columns ?? [];
      if (!columns.length) throw new PostHogError(request.name, 'PostHog said more rows follow but named no columns to page by');
      // The query text is wrapped, not changed: ordered by every column, so pages neither overlap nor skip.
      const order = columns.map((c) => `\`${c.replace(/\\/g, '\\\\').replace(/`/g, '\\`')}\``).join(', ');
      const rows: unknown[][] = [];
      let page = first;
      for (;;) {
        const sql = `SELECT * FROM (\n${request.sql}\n) ORDER BY ${order} LIMIT ${this.o.pageRows} OFFSET ${rows.length}`;
        page = await this.runOne(request.name, sql, request.values, signal);
        const part = page.results ?? [];
        rows.push(...part);
        if (part.length < this.o.pageRows) break;
      }
      this.options.logger.debug(`PostHog query ${request.name}: ${rows.length} rows in ${Math.ceil((rows.length + 1) / this.o.pageRows)} pages`);
      return { columns: page.columns ?? columns, types: page.types ?? first.types ?? [], results: rows };
    });
  }

  private get base(): string {
    return `${this.o.host}/api/projects/${encodeURIComponent(this.o.projectId)}/query/`;
  }

  /** One query: POST, retries, and polling when PostHog answers 202. */
  private async runOne(name: string, sql: string, values: Record<string, unknown>, signal: AbortSignal | undefined): Promise<QueryResponse> {
    const body = JSON.stringify({
      query: { kind: 'HogQLQuery', query: sql, values, ...(this.options.modifiers ? { modifiers: this.options.modifiers } : {}) },
      refresh: 'blocking',
      name,
      client_query_id: randomUUID(),
    });
    const response = await this.request(name, 'POST', this.base, body, signal);
    if (response.status === 202) return this.poll(name, response.json, signal);
    return response.json;
  }

  private async poll(name: string, accepted: QueryResponse, signal: AbortSignal | undefined): Promise<QueryResponse> {
    const id = accepted.query_status?.id;
    if (!id) throw new PostHogError(name, 'PostHog answered 202 without a query id to poll');
    const deadline = Date.now() + this.o.pollDeadlineMs;
    let wait = 250;
    for (;;) {
      if (Date.now() > deadline) {
        await this.request(name, 'DELETE', `${this.base}${encodeURIComponent(id)}/`).catch(() => undefined);
        throw new PostHogUnavailableError(name, `still running after ${Math.round(this.o.pollDeadlineMs / 1000)} s; cancelled`, {
          hint: 'PostHog is busy or the query is slow; try again later or a shorter period',
        });
      }
      try {
        await this.sleep(wait, signal);
      } catch (error) {
        // Cancelled by the caller: tell PostHog to stop the query too.
        await this.request(name, 'DELETE', `${this.base}${encodeURIComponent(id)}/`).catch(() => undefined);
        throw error;
      }
      wait = Math.min(wait * 2, 5_000);
      // A failed query answers its poll with 400 (with error_message) or 500 (without): its status says why.
      const response = await this.request(name, 'GET', `${this.base}${encodeURIComponent(id)}/`, undefined, signal, true);
      const status = response.json.query_status;
      if (response.status === 202 || status?.complete === false) continue;
      if (status?.error) {
        throw new PostHogQueryRejectedError(name, `(${queryFile(name)}) PostHog could not run it: ${status.error_message ?? 'no message'} (PostHog query id ${id})`, {
          status: response.status,
          ...(status.error_message ? { detail: status.error_message } : {}),
          hint: `run it locally with: connect-metrics query ${name} --source files`,
        });
      }
      return status?.results ?? response.json;
    }
  }

  /** One HTTP exchange with retries for what can succeed. Returns 200/202 answers; throws for the rest. */
  private async request(
    name: string,
    method: string,
    url: string,
    body?: string,
    signal?: AbortSignal,
    poll = false,
  ): Promise<{ status: number; json: QueryResponse }> {
    let lastProblem = '';
    let throttleWaits = 0;
    for (let attempt = 1; ; attempt++) {
      signal?.throwIfAborted();
      this.options.onRequest?.({ method, path: new URL(url).pathname, name });
      let res: Response;
      try {
        res = await this.fetch(url, {
          method,
          headers: {
            Authorization: `Bearer ${this.o.apiKey}`,
            ...(body ? { 'Content-Type': 'application/json' } : {}),
          },
          ...(body ? { body } : {}),
          signal: signal ? AbortSignal.any([signal, AbortSignal.timeout(this.o.requestTimeoutMs)]) : AbortSignal.timeout(this.o.requestTimeoutMs),
        });
      } catch (error) {
        signal?.throwIfAborted();
        lastProblem = networkProblem(error, this.o.requestTimeoutMs);
        if (attempt >= this.o.maxAttempts) break;
        await this.backoff(name, attempt, lastProblem, signal);
        continue;
      }
      if (res.status === 200 || res.status === 202) return { status: res.status, json: (await readJson(res)) as QueryResponse };
      if (method === 'DELETE' && res.status < 300) return { status: res.status, json: {} };
      const err = (await readJson(res)) as { code?: string; detail?: string; type?: string; query_status?: QueryResponse['query_status'] };
      if (poll && (res.status === 400 || res.status === 500) && err?.query_status?.error) return { status: res.status, json: err as QueryResponse };
      const detail = typeof err?.detail === 'string' ? err.detail : undefined;
      const opts = { status: res.status, ...(err?.code ? { code: err.code } : {}), ...(detail ? { detail } : {}) };
      // too_many_bytes (ClickHouseBytesLimitExceeded) is a 400 whose fix is a smaller query: split it.
      if (res.status === 400 && err?.code === 'too_many_bytes') {
        throw new PostHogTooHeavyError(name, `reads too much for PostHog (400 too_many_bytes): ${detail ?? ''}`.trim(), opts);
      }
      // ClickHouseClusterMemoryLimitExceeded: the same 513 and code as a query out of memory, but the
      // cluster is short of memory and the query is fine: wait and try again (posthog/exceptions.py).
      const clusterWide = res.status === 513 && /under heavy load|try again in a few minutes/i.test(detail ?? '');
      switch (res.status) {
        case 400:
          throw new PostHogQueryRejectedError(name, `(${queryFile(name)}) PostHog rejected the query (400${err?.code ? ` ${err.code}` : ''}): ${detail ?? 'no detail'}`, {
            ...opts,
            hint: `run it locally with: connect-metrics query ${name} --source files`,
          });
        case 401:
          throw new PostHogAuthError(name, `PostHog refused the API key (401): ${detail ?? ''}`.trim(), {
            ...opts,
            hint: 'POSTHOG_API_KEY is wrong, expired or revoked: create a personal API key with the query:read scope',
          });
        case 403:
          throw new PostHogAuthError(name, `PostHog refused access (403): ${detail ?? ''}`.trim(), {
            ...opts,
            hint: 'the personal API key needs the query:read scope and access to this project (POSTHOG_PROJECT_ID)',
          });
        case 402:
          throw new PostHogQuotaError(name, `the organization's API query quota is used up (402): ${detail ?? ''}`.trim(), {
            ...opts,
            hint: 'wait for the quota to reset or raise it in PostHog billing; reports of closed weeks come from the local cache',
          });
        case 404:
          throw new PostHogError(name, `not found (404): ${detail ?? ''}`.trim(), {
            ...opts,
            hint: 'check POSTHOG_HOST and POSTHOG_PROJECT_ID',
          });
        case 504:
        case 512:
          throw new PostHogTooHeavyError(name, `too heavy for PostHog (${res.status}): ${detail ?? ''}`.trim(), opts);
        case 513:
          if (!clusterWide) throw new PostHogTooHeavyError(name, `too heavy for PostHog (${res.status}): ${detail ?? ''}`.trim(), opts);
      }
      // A rate-limit 429 states its wait only in the detail; a throttle waited out is not a failed attempt.
      const stated = res.status === 429 ? throttleWait(detail) : undefined;
      if (stated !== undefined) {
        const wait = Math.ceil(stated * 1000);
        if (wait > this.o.maxThrottleWaitMs || throttleWaits >= this.o.maxAttempts) {
          throw new PostHogThrottledError(name, `PostHog's query budget for this key is used up until ${clockTime(this.now() + wait, this.now())}; run again then`, {
            ...opts,
            bare: true,
          });
        }
        throttleWaits++;
        attempt--;
        this.options.logger.warn(`PostHog's query budget for this key is used up; waiting ${formatWait(wait)} as PostHog says, then running ${name}`);
        await this.sleep(wait, signal);
        continue;
      }
      if (res.status === 429 || res.status >= 500) {
        lastProblem = `${res.status}${detail ? `: ${detail}` : ''}`;
        if (attempt >= this.o.maxAttempts) break;
        const retryAfter = parseRetryAfter(res.headers.get('retry-after'));
        if (retryAfter !== undefined) {
          const wait = Math.min(retryAfter * 1000, this.o.maxDelayMs);
          this.options.logger.warn(`PostHog query ${name}: ${lastProblem}; retrying in ${Math.ceil(wait / 1000)} s as it asked`, { attempt });
          await this.sleep(wait, signal);
        } else if (clusterWide) {
          this.options.logger.warn(`PostHog query ${name}: PostHog is short of memory; retrying in ${formatWait(this.o.clusterRetryMs)}`, { attempt });
          await this.sleep(this.o.clusterRetryMs, signal);
        } else {
          await this.backoff(name, attempt, lastProblem, signal);
        }
        continue;
      }
      throw new PostHogError(name, `unexpected answer ${res.status}: ${detail ?? ''}`.trim(), opts);
    }
    throw new PostHogUnavailableError(name, `gave up after ${this.o.maxAttempts} attempts; last: ${lastProblem}`, {
      hint: 'PostHog is unreachable or overloaded; run again later (closed weeks already fetched are cached)',
    });
  }

  /** Exponential backoff with full jitter: a random wait in [0, base * 2^(attempt-1)], capped. */
  private async backoff(name: string, attempt: number, problem: string, signal: AbortSignal | undefined): Promise<void> {
    const cap = Math.min(this.o.backoffBaseMs * 2 ** (attempt - 1), this.o.maxDelayMs);
    const wait = Math.round(cap / 2 + (this.random() * cap) / 2);
    this.options.logger.warn(`PostHog query ${name}: ${problem}; retrying in ${(wait / 1000).toFixed(1)} s`, { attempt });
    await this.sleep(wait, signal);
  }
}

/** Where a query's text lives (the registry's rule: src/queries/<id>.ts). */
function queryFile(name: string): string {
  return `src/queries/${name}.ts`;
}

/** `14:05 UTC` (rounded up to the minute), with the date when it is not today's (UTC). */
export function clockTime(untilMs: number, nowMs: number): string {
  const at = new Date(Math.ceil(untilMs / 60_000) * 60_000).toISOString();
  const sameDay = at.slice(0, 10) === new Date(nowMs).toISOString().slice(0, 10);
  return `${sameDay ? '' : `${at.slice(0, 10)} `}${at.slice(11, 16)} UTC`;
}

function formatWait(ms: number): string {
  const s = Math.ceil(ms / 1000);
  return s < 120 ? `${s} s` : `${Math.round(s / 60)} min`;
}

function toResult(r: QueryResponse): HogQLResult {
  return { columns: r.columns ?? [], types: r.types ?? [], results: r.results ?? [] };
}

async function readJson(res: Response): Promise<unknown> {
  const text = await res.text();
  try {
    return JSON.parse(text);
  } catch {
    return { detail: text.slice(0, 200) };
  }
}

/** Retry-After in seconds (PostHog sends seconds; an HTTP date is accepted too). */
export function parseRetryAfter(value: string | null): number | undefined {
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value.trim())) return Number(value);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, (at - Date.now()) / 1000);
}

function networkProblem(error: unknown, timeoutMs: number): string {
  const e = error as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError') return `no answer within ${Math.round(timeoutMs / 1000)} s`;
  return `network error: ${e?.cause?.code ?? e?.cause?.message ?? e?.message ?? String(error)}`;
}

/** At most `n` tasks at once; the rest wait their turn in order. */
class Semaphore {
  private active = 0;
  private readonly queue: Array<() => void> = [];
  constructor(private readonly n: number) {}
  async run<T>(signal: AbortSignal | undefined, task: () => Promise<T>): Promise<T> {
    if (this.active < this.n) this.active++;
    else await new Promise<void>((resolve) => this.queue.push(resolve)); // the finishing task hands its slot over
    try {
      signal?.throwIfAborted();
      return await task();
    } finally {
      const next = this.queue.shift();
      if (next) next();
      else this.active--;
    }
  }
}
