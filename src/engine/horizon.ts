import type { Engine, EngineResult, ExecuteRequest } from './engine.ts';

/** The look-back start that means "all history" (docs/metrics.md): what the report passes by default. */
export const ALL_HISTORY = '1970-01-01 00:00:00.000000';

/**
 * Bounds the look-backs of a remote engine: a query's `history_from` parameter becomes at least
 * `to` minus the horizon, so a report on a project with years of history reads about one year
 * (PostHog gives a personal-API-key query 10 s). Only the value changes, never the query text.
 * Wraps the caching engine, so cached answers are keyed by the bounded value.
 */
export class HorizonEngine implements Engine {
  readonly name: string;

  constructor(
    private readonly inner: Engine,
    readonly horizonWeeks: number,
  ) {
    this.name = inner.name;
  }

  execute(request: ExecuteRequest): Promise<EngineResult> {
    return this.inner.execute({ ...request, values: boundHistory(request.values, this.horizonWeeks) });
  }
}

/** `history_from` raised to `to` minus `weeks` weeks (instants are UTC text, which sorts as time). */
export function boundHistory(values: Record<string, unknown>, weeks: number): Record<string, unknown> {
  const { history_from: from, to } = values;
  if (typeof from !== 'string' || typeof to !== 'string') return values;
  const end = Date.parse(`${to.slice(0, 10)}T${to.slice(11, 23)}Z`);
  if (Number.isNaN(end)) return values;
  const start = new Date(end - weeks * 7 * 86_400_000).toISOString();
  const bound = `${start.slice(0, 10)} ${start.slice(11, 23)}${to.slice(23)}`;
  return bound > from ? { ...values, history_from: bound } : values;
}
