/** Types shared by the test-side helper (index.ts) and the child process (server.ts). */

export interface FaultRule {
  /** Respond with this status (and PostHog's default error body for it, unless `body`). */
  status?: number;
  /**
   * reset = destroy the socket; hang = never answer; async = answer 202 and require polling;
   * slow = the query "runs" `runMs` (virtual): beyond the execution limit it is a 504, as ClickHouse's
   * max_execution_time stops it.
   */
  kind?: 'network-reset' | 'hang' | 'async' | 'slow';
  /** For kind 'slow': how long the query would run, ms (not waited for). */
  runMs?: number;
  /**
   * PostHog's answers that share a status but differ in body (posthog/exceptions.py):
   * throttled: 429 "Expected available in {waitSeconds} seconds." without Retry-After (rate_limit.py);
   * too-many-bytes: 400 code too_many_bytes (ClickHouseBytesLimitExceeded);
   * cluster-memory: 513 ClickHouseClusterMemoryLimitExceeded ("under heavy load", passes in minutes);
   * database-unavailable: 503 code database_unavailable with Retry-After: 1 (DatabaseUnavailable).
   */
  preset?: 'throttled' | 'too-many-bytes' | 'cluster-memory' | 'database-unavailable';
  /** For preset 'throttled': the wait PostHog states. */
  waitSeconds?: number;
  /** How many matching requests it applies to (default 1; -1 or Infinity: every one). */
  times?: number;
  headers?: Record<string, string>;
  body?: unknown;
  /** For kind 'async': GET polls answering 202 before the final answer (default 2). */
  pollsUntilDone?: number;
  when?: {
    path?: 'query' | 'poll' | 'batch';
    /** Matches the request body's `name` (for a poll: the name of the query being polled). */
    queryName?: string;
    /** Only when (values.to - values.from) spans MORE than this many days. */
    minRangeDays?: number;
    /** Only when values.user_buckets is missing or < this. */
    belowUserBuckets?: number;
  };
}

export interface LoggedRequest {
  method: string;
  /** URL path without the query string. */
  path: string;
  /** The status answered; 0 when the connection was reset or never answered (hang). */
  status: number;
  name?: string;
  values?: Record<string, unknown>;
  refresh?: string;
  modifiers?: unknown;
  /** Whether the request carried the accepted key (personal key for the Query API, project key for /batch/). */
  authorized: boolean;
  /** Arrival time, epoch milliseconds (the stand-in's clock, which tests may move forward). */
  at: number;
  /** The query kind (HogQLQuery, HogQLMetadata). */
  kind?: string;
}

/** What the helper passes to the child process (argv[2], JSON). */
export interface StandInConfig {
  dataDir: string;
  eventsPaths: string[];
  projectId: number;
  projectTimezone: string;
  apiKey: string;
  scopes: string[];
  projectApiKey: string;
  defaultLimit: number;
  maxLimit: number;
  ratePerMinute: number;
  ratePerHour: number;
  maxConcurrent: number;
  queryDelayMs: number;
  /** max_execution_time of a personal-API-key query (HogQLGlobalSettings): 10 s. */
  maxExecutionMs: number;
  /** The team's persons-on-events mode, used unless the request's modifiers pin one. */
  personsOnEventsMode: string;
}
