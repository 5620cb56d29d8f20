/**
 * Typed errors. Each says what was wrong, where, and (when we know it) what to do instead.
 * The CLI maps them to exit codes: usage problems exit 2, everything else 1.
 */

/** Base class: every error the tool raises on purpose. `hint` is the fix, shown on its own. */
export class ConnectMetricsError extends Error {
  readonly hint: string | undefined;
  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.hint = options.hint;
  }
}

/** Wrong command-line usage: an unknown flag value, a missing path, an unknown week. Exit code 2. */
export class UsageError extends ConnectMetricsError {}

/** A configuration file or setting that does not validate; names the key. Exit code 2. */
export class ConfigError extends ConnectMetricsError {}

/** An input file that cannot be read at all (corrupt gzip, not Parquet, unreadable). Names the path. */
export class InputFileError extends ConnectMetricsError {
  readonly path: string;
  constructor(path: string, reason: string, options: { hint?: string; cause?: unknown } = {}) {
    super(`${path}: ${reason}`, options);
    this.path = path;
  }
}

/** The query engine refused or failed a query. Carries the query id so the log says which one. */
export class QueryError extends ConnectMetricsError {
  readonly queryId: string;
  constructor(queryId: string, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(`query ${queryId}: ${message}`, options);
    this.queryId = queryId;
  }
}

/** Exit code for an error: its own when it carries one (failed sinks), 2 for usage and configuration, 1 for the rest. */
export function exitCodeFor(error: unknown): number {
  const own = (error as { exitCode?: unknown })?.exitCode;
  if (typeof own === 'number') return own;
  return error instanceof UsageError || error instanceof ConfigError ? 2 : 1;
}
