import type { ParamSpecs } from './params.ts';
import type { SplitSpec } from './query.ts';

/** The raw answer of an engine: column names and rows of values, in column order. */
export interface EngineResult {
  columns: string[];
  /** Each column's ClickHouse type, where the engine says (the embedded engine's result carries them). */
  types?: string[];
  rows: unknown[][];
}

/**
 * Something that runs HogQL/ClickHouse SQL with named values: the embedded ClickHouse engine
 * (chdb) over local data, or PostHog's Query API. Query text is passed unchanged; each engine
 * binds `{placeholders}` its own way.
 */
export interface ExecuteRequest {
  queryId: string;
  sql: string;
  values: Record<string, unknown>;
  specs: ParamSpecs;
  split?: SplitSpec | undefined;
  /** The query's `servedByState` (QueryDefinition): an engine may serve it the state events' view. */
  servedByState?: boolean | undefined;
  /** Cancels the query (a remote engine stops retrying and polling). */
  signal?: AbortSignal | undefined;
}

export interface Engine {
  /** A short name for logs and cache keys, e.g. `embedded` or `posthog`. */
  readonly name: string;
  /** Weeks the engine bounds look-backs to (history_from), when it does: PostHog (src/engine/horizon.ts). */
  readonly horizonWeeks?: number | undefined;
  execute(request: ExecuteRequest): Promise<EngineResult>;
}
