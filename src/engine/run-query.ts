import { z } from 'zod';
import type { Engine } from './engine.ts';
import type { QueryDefinition } from './query.ts';
import type { ParamSpecs, ParamValues } from './params.ts';
import { QueryError } from '../lib/errors.ts';

/** Validates a query's parameters against its declared schemas; names the parameter that is wrong. */
export function validateParams<P extends ParamSpecs>(query: QueryDefinition<P>, values: Record<string, unknown>): ParamValues<P> {
  const out: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(query.params)) {
    const parsed = spec.schema.safeParse(values[name]);
    if (!parsed.success) {
      const got = values[name] === undefined ? 'nothing' : JSON.stringify(values[name]);
      throw new QueryError(query.id, `parameter ${name}: ${parsed.error.issues[0]?.message ?? 'invalid'} (got ${got})`, {
        hint: `${name}: ${spec.description}`,
      });
    }
    out[name] = parsed.data;
  }
  return out as ParamValues<P>;
}

/**
 * Runs one query on an engine and returns typed rows. Rows are checked against the query's row
 * schema, so a change in what an engine returns fails loudly here instead of skewing a report.
 */
export async function runQuery<P extends ParamSpecs, R extends z.ZodObject>(
  engine: Engine,
  query: QueryDefinition<P, R>,
  values: Record<string, unknown>,
  options: { signal?: AbortSignal | undefined } = {},
): Promise<Array<z.infer<R>>> {
  const params = validateParams(query, values);
  const result = await engine.execute({ queryId: query.id, sql: query.sql, values: params, specs: query.params, split: query.split, servedByState: query.servedByState, signal: options.signal });
  const rowSchema = query.row;
  const expected = Object.keys(rowSchema.shape);
  const missing = expected.filter((c) => !result.columns.includes(c));
  if (missing.length) {
    throw new QueryError(query.id, `result lacks column(s) ${missing.join(', ')}; got ${result.columns.join(', ')}`);
  }
  return result.rows.map((values, i) => {
    const obj: Record<string, unknown> = {};
    result.columns.forEach((c, j) => (obj[c] = values[j]));
    const parsed = rowSchema.safeParse(obj);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new QueryError(query.id, `row ${i + 1}, column ${String(issue?.path[0])}: ${issue?.message} (got ${JSON.stringify(obj)})`);
    }
    return parsed.data;
  });
}
