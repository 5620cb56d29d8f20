/**
 * PostHog's error bodies (drf-exceptions-hog: `{"type","code","detail","attr"}`), with the
 * details of PostHog's own exception classes (posthog/exceptions.py) where it has one.
 */
export interface ErrorBody {
  type: string;
  code: string;
  detail: string;
  attr: string | null;
}

const body = (type: string, code: string, detail: string, attr: string | null = null): ErrorBody => ({ type, code, detail, attr });

export const bodies = {
  notAuthenticated: () => body('authentication_error', 'not_authenticated', 'Authentication credentials were not provided.'),
  authenticationFailed: () => body('authentication_error', 'authentication_failed', 'Incorrect authentication credentials.'),
  missingScope: (scope: string) => body('authentication_error', 'permission_denied', `API key missing required scope '${scope}'`),
  notFound: () => body('invalid_request', 'not_found', 'Not found.'),
  methodNotAllowed: (method: string) => body('invalid_request', 'method_not_allowed', `Method "${method}" not allowed.`),
  parseError: (detail: string) => body('invalid_request', 'parse_error', `JSON parse error - ${detail}`),
  invalidInput: (detail: string, attr: string | null) => body('validation_error', 'invalid_input', detail, attr),
  /**
   * A HogQL or ClickHouse error: posthog/api/query.py raises ValidationError(str(e), e.code_name), so
   * the code is hogql_syntax_error / hogql_query_error (posthog/hogql/errors.py) or ClickHouse's
   * own code name in lower case (posthog/errors.py), e.g. illegal_type_of_argument.
   */
  queryError: (detail: string, code = 'hogql_query_error') => body('validation_error', code, detail),
  /** DRF's throttle message; PostHog's exception handler sends no Retry-After with it (posthog/exceptions.py). */
  throttled: (seconds: number) =>
    body('throttled_error', 'throttled', `Request was throttled. Expected available in ${seconds} second${seconds === 1 ? '' : 's'}.`),
  concurrency: () => body('throttled_error', 'throttled', 'Too many concurrent queries, please try again later.'),
  /** ClickHouseBytesLimitExceeded: a 400 whose detail is ClickHouse's message. */
  tooManyBytes: () => body('validation_error', 'too_many_bytes', 'Limit for bytes to read exceeded: 1.10 TB, maximum: 1.00 TB'),
  /** ClickHouseClusterMemoryLimitExceeded: the same 513 and code as a query out of memory, another detail. */
  clusterMemory: () =>
    body('server_error', 'clickhouse_memory_limit_exceeded', "We're under heavy load right now and couldn't finish this query. Please try again in a few minutes."),
  /** DatabaseUnavailable: 503 with Retry-After: 1. */
  databaseUnavailable: () => body('server_error', 'database_unavailable', "We couldn't reach the database just now. Please try again in a moment."),
  quota: () =>
    body(
      'server_error',
      'api_queries_quota_exceeded',
      'Your organization has read more query data over the API than its free allowance for this month. ' +
        'API queries will be available again when the allowance resets. ' +
        'Upgrade your plan in Billing settings to restore access sooner, or ask an org admin to do so.',
    ),
  serverError: () => body('server_error', 'error', 'A server error occurred.'),
  atCapacity: () =>
    body('server_error', 'error', "Queries are a little too busy right now. We're working to free up resources. Please try again later."),
  timeout: () =>
    body(
      'server_error',
      'error',
      'Query has hit the max execution time before completing. See our docs for how to improve your query performance. You may need to materialize.',
    ),
  tooSlow: () => body('server_error', 'error', 'Estimated query execution time is too long. Try reducing its scope by changing the time range.'),
  memory: () =>
    body(
      'server_error',
      'clickhouse_memory_limit_exceeded',
      "This query ran out of memory before it could finish, usually because it's scanning too much data. Try a shorter date range or narrower filters, " +
        'or see our docs for more ways to speed it up: https://posthog.com/docs/product-analytics/troubleshooting#how-do-i-speed-up-my-insights-and-queries',
    ),
  invalidProjectKey: () =>
    body(
      'authentication_error',
      'invalid_api_key',
      'Project API key invalid. You can find your project API key in your PostHog project settings.',
    ),
  payloadTooLarge: () => body('invalid_request', 'payload_too_large', 'Request entity too large.'),
};

/** The body PostHog sends with a status, for an injected fault. */
export function defaultBodyFor(status: number): ErrorBody {
  switch (status) {
    case 400:
      return bodies.queryError('Query error.');
    case 401:
      return bodies.authenticationFailed();
    case 402:
      return bodies.quota();
    case 403:
      return body('authentication_error', 'permission_denied', 'You do not have permission to perform this action.');
    case 404:
      return bodies.notFound();
    case 413:
      return bodies.payloadTooLarge();
    case 429:
      return bodies.concurrency();
    case 503:
      return bodies.atCapacity();
    case 504:
      return bodies.timeout();
    case 512:
      return bodies.tooSlow();
    case 513:
      return bodies.memory();
    default:
      return status >= 500 ? bodies.serverError() : body('invalid_request', 'error', 'Request failed.');
  }
}
