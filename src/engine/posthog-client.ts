/**
 * A client for PostHog's Query API (`POST /api/projects/{id}/query/`), written for PostHog's
 * documented limits: 240 requests a minute and 3 running queries per organization, 10 s of execution
 * per query, 100 rows without a LIMIT and 50,000 with one.
 *
 * - Retries only what can succeed: 429 (after Retry-After when given, else backoff with jitter: the
 *   concurrency 429 has no Retry-After), 500/502/503 and network errors, with exponential backoff.
 * - Never retries 400 (the query is wrong), 401/403 (the key is wrong), 402 (quota).
 * - 504/512/513 mean the query was too heavy: raised as PostHogTooHeavyError for the engine to split.
 * - 202: polls `GET .../query/{id}/` until done or the deadline (then cancels with DELETE).
 * - `hasMore`: fetches the remaining rows page by page; rows are never silently cut.
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
  /** Modifiers sent with every query (the engine sets convertToProjectTimezone: false). */
  modifiers?: Record<string, unknown>;
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

/** Rows per page when a result is larger than PostHog's default page (its maximum). */
export const PAGE_ROWS = 50_000;

export class PostHogQueryClient {
  private readonly fetch: typeof fetch;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  private readonly random: () => number;
  private readonly slots: Semaphore;
  private readonly o: Required<Omit<PostHogClientOptions, 'fetch' | 'sleep' | 'random' | 'onRequest' | 'logger' | 'modifiers'>>;

  constructor(private readonly options: PostHogClientOptions) {
    this.fetch = options.fetch ?? globalThis.fetch;
    this.sleep = options.sleep ?? abortableSleep;
    this.random = options.random ?? Math.random;
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
    };
    this.slots = new Semaphore(this.o.maxInFlight);
  }

  /** Runs a HogQL query with its values; returns every row. `signal` cancels it (retries and polls included). */
  async query(request: { name: string; sql: string; values: Record<string, unknown>; signal?: AbortSignal | undefined }): Promise<HogQLResult> {
    const signal = request.signal;
    return this.slots.run(signal, async () => {
      const first = await this.runOne(request.name, request.sql, request.values, signal);
      if (!first.hasMore) return toResult(first);
      // PostHog cut the result at its default page: fetch it all in pages of the maximum size. The
      // query text is wrapped, not changed.
      const rows: unknown[][] = [];
      let page = first;
      for (;;) {
        // PostHog may cap the page below PAGE_ROWS: continue from what actually came back.
        page = await this.runOne(request.name, `SELECT * FROM (\n${request.sql}\n) LIMIT ${PAGE_ROWS} OFFSET ${rows.length}`, request.values, signal);
        const got = page.results ?? [];
        rows.push(...got);
        if (!page.hasMore) break;
        if (got.length === 0) throw new PostHogError(request.name, `PostHog said more rows follow row ${rows.length} but sent none`);
      }
      this.options.logger.debug(`PostHog query ${request.name}: ${rows.length} rows in pages`);
      return { columns: page.columns ?? first.columns ?? [], types: page.types ?? first.types ?? [], results: rows };
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
      const response = await this.request(name, 'GET', `${this.base}${encodeURIComponent(id)}/`, undefined, signal);
      const status = response.json.query_status;
      if (response.status === 202 || status?.complete === false) continue;
      if (status?.error) {
        throw new PostHogQueryRejectedError(name, `PostHog could not run it: ${status.error_message ?? 'no message'} (PostHog query id ${id})`, {
          status: response.status,
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
  ): Promise<{ status: number; json: QueryResponse }> {
    let lastProblem = '';
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
      const err = (await readJson(res)) as { code?: string; detail?: string; type?: string };
      const detail = typeof err?.detail === 'string' ? err.detail : undefined;
      const opts = { status: res.status, ...(err?.code ? { code: err.code } : {}), ...(detail ? { detail } : {}) };
      switch (res.status) {
        case 400:
          throw new PostHogQueryRejectedError(name, `PostHog rejected the query (400): ${detail ?? 'no detail'}`, {
            ...opts,
            hint: `the query text is in src/queries/${name}.ts; run it locally with: connect-metrics query ${name} --source files`,
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
        case 513:
          throw new PostHogTooHeavyError(name, `too heavy for PostHog (${res.status}): ${detail ?? ''}`.trim(), opts);
      }
      if (res.status === 429 || res.status >= 500) {
        lastProblem = `${res.status}${detail ? `: ${detail}` : ''}`;
        if (attempt >= this.o.maxAttempts) break;
        const retryAfter = res.status === 429 ? parseRetryAfter(res.headers.get('retry-after')) : undefined;
        if (retryAfter !== undefined) {
          const wait = Math.min(retryAfter * 1000, this.o.maxDelayMs);
          this.options.logger.warn(`PostHog throttled ${name}; retrying in ${Math.ceil(wait / 1000)} s as it asked`, { attempt });
          await this.sleep(wait, signal);
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
