import { ConnectMetricsError } from '../lib/errors.ts';

/**
 * Errors of PostHog's Query API, one class per thing a person does about it. PostHog answers
 * `{"type","code","detail","attr"}`; `detail` is shown as PostHog wrote it. Nothing here ever holds
 * the API key.
 */
export class PostHogError extends ConnectMetricsError {
  readonly status: number | undefined;
  readonly code: string | undefined;
  readonly detail: string | undefined;
  readonly queryName: string;
  constructor(
    queryName: string,
    message: string,
    options: { status?: number; code?: string; detail?: string; hint?: string; cause?: unknown; bare?: boolean } = {},
  ) {
    // `bare`: a message that concerns the whole run, not one query (the key's query budget).
    super(options.bare ? message : `PostHog query ${queryName}: ${message}`, options);
    this.status = options.status;
    this.code = options.code;
    this.detail = options.detail;
    this.queryName = queryName;
  }
}

/** 401/403: the key is wrong, revoked, or lacks the query:read scope. Not retried. */
export class PostHogAuthError extends PostHogError {}
/** 402: the organization's API query quota is used up. Not retried. */
export class PostHogQuotaError extends PostHogError {}
/** 400: PostHog could not run the query (HogQL error). Not retried. */
export class PostHogQueryRejectedError extends PostHogError {}
/**
 * 504/512, a 513 about the query, 400 too_many_bytes: the query was too heavy for PostHog; the
 * engine splits it and tries the parts.
 */
export class PostHogTooHeavyError extends PostHogError {}
/** 429/5xx/network failures that persisted through every retry, or a poll that passed its deadline. */
export class PostHogUnavailableError extends PostHogError {}
/** 429 whose stated wait is longer than the run is willing to wait: the key's query budget is used up. */
export class PostHogThrottledError extends PostHogError {}
