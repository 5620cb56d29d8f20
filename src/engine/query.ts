import { z } from 'zod';
import type { ParamSpecs, ParamValues } from './params.ts';

/**
 * One query: written once, in HogQL that is also ClickHouse SQL, run unchanged by every engine.
 * `id` is the file name in src/queries/ (the registry test checks that).
 */
export interface QueryDefinition<P extends ParamSpecs = ParamSpecs, R extends z.ZodObject = z.ZodObject> {
  readonly id: string;
  readonly description: string;
  /** The table it reads: PostHog's `events` (default), or `cdn_requests` (CloudFront log lines, src/sources/cloudfront). */
  readonly reads?: 'events' | 'cdn_requests';
  readonly params: P;
  /** One row of the result; numbers are coerced, since engines differ in how they quote 64-bit integers. */
  readonly row: R;
  readonly sql: string;
  /**
   * How the query may be split when a remote engine finds it too heavy (src/engine/split.ts):
   * `grain` is the time bucket its groups use (parts over whole days or weeks of the timezone never
   * share a group), or `installation` for a query whose groups need all of the time range (a first-seen
   * week, a look-back): it is only cut into disjoint installation buckets; `keys` are the group columns, every other column is a count that adds up across
   * parts over disjoint installations (the `{user_buckets}`/`{user_bucket}` filter).
   */
  readonly split?: SplitSpec;
  /**
   * Set on a look-back query (`history_from`) that depends on event properties only as the rules
   * of the embedded store's state events keep them (src/sources/installation-state.ts): it reads
   * properties solely through EVENT_OS / EVENT_VERSION (src/engine/event-fields.ts), and uses those
   * only as the value of an installation's latest event carrying one before an instant, or as the
   * first event with the prefix carrying each value. Then the embedded engine may serve it the
   * selection's state events whole and every other event without its properties (no JSON to read:
   * their values cannot change its answer). The registry test checks the first half; the second is
   * the author's promise, checked by the report tests against every event.
   */
  readonly servedByState?: boolean;
}

export interface SplitSpec {
  readonly grain: 'day' | 'week' | 'installation';
  readonly keys: readonly string[];
  /** Columns that combine by their least / greatest value (ISO times), not by adding. */
  readonly min?: readonly string[];
  readonly max?: readonly string[];
  /**
   * Set on a query whose look-backs reach before `from` (grain 'installation') but whose every row
   * still depends only on events before the end of the week it is dated in: then it can be run a
   * week at a time and the weeks put together (the embedded engine reuses closed weeks that way,
   * src/engine/week-cache.ts). `column` holds each row's date (a day or a week's Monday); a row
   * dated before its part's `from` (the "before the period" row, 1970-01-01) is taken from the
   * earliest part only. Queries of grain 'day' or 'week' can always be cut so and need not say it.
   */
  readonly weekParts?: {
    readonly column: string;
    /**
     * How the rows dated before a week follow from those before the week ahead of it: its rows
     * matching `when` (column values), re-dated before the period, their `sum` columns added into
     * the earlier row of the same other keys. Holds for counts of "firsts" (installations first seen,
     * first days of a version): what was first before week X+1 was first before X or in X. Lets a
     * report reuse its first week without computing it again for its earlier rows.
     */
    readonly fold?: { readonly sum: readonly string[]; readonly when?: Readonly<Record<string, string>> };
  };
}

export type RowOf<Q> = Q extends QueryDefinition<ParamSpecs, infer R> ? z.infer<R> : never;
export type ParamsOf<Q> = Q extends QueryDefinition<infer P, z.ZodObject> ? ParamValues<P> : never;

/** Identity function that keeps the literal types of a definition (so rows are typed at call sites). */
export function defineQuery<P extends ParamSpecs, R extends z.ZodObject>(def: QueryDefinition<P, R>): QueryDefinition<P, R> {
  return def;
}

/** Integer count columns: engines return them as numbers or (64-bit, quoted) strings. */
export const count = () => z.coerce.number().int().nonnegative();
