import { z } from 'zod';

/**
 * Query parameters. A query names its values as `{name}` placeholders in HogQL; every value is
 * passed separately, never pasted into the text. Each parameter declares the ClickHouse type it is
 * bound with on the embedded engine (`{name:Type}`); PostHog receives the same values in `values`.
 * Instants travel as UTC strings and the SQL converts them with an explicit 'UTC', so that neither
 * engine's default timezone can shift a period boundary.
 */
export type ClickHouseParamType = 'String' | 'Array(String)' | 'Int64' | 'Float64';

export interface ParamSpec<T = unknown> {
  readonly type: ClickHouseParamType;
  readonly schema: z.ZodType<T>;
  readonly description: string;
}

const INSTANT = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{6}$/;

export const param = {
  /** An instant as `YYYY-MM-DD hh:mm:ss.ffffff` in UTC; use `toDateTime64({name}, 6, 'UTC')` in SQL. */
  instant: (description: string): ParamSpec<string> => ({
    type: 'String',
    schema: z.string().regex(INSTANT, 'expected a UTC instant like 2026-11-16 00:00:00.000000'),
    description,
  }),
  /** An IANA timezone name, validated by the runtime's time zone database. */
  timezone: (description: string): ParamSpec<string> => ({
    type: 'String',
    schema: z.string().refine(isValidTimeZone, { message: 'expected an IANA timezone such as UTC or Europe/Berlin' }),
    description,
  }),
  string: (description: string): ParamSpec<string> => ({ type: 'String', schema: z.string(), description }),
  stringArray: (description: string): ParamSpec<string[]> => ({
    type: 'Array(String)',
    schema: z.array(z.string()),
    description,
  }),
  int: (description: string): ParamSpec<number> => ({ type: 'Int64', schema: z.number().int(), description }),
} as const;

/**
 * The zone's canonical spelling when it differs only in case (`utc` -> `UTC`, `europe/berlin` ->
 * `Europe/Berlin`): Intl accepts any case, the engines (ClickHouse, PostHog) only the canonical one.
 * Undefined when it is no IANA zone at all. Other valid names are kept as given.
 */
export function canonicalTimeZone(zone: string): string | undefined {
  try {
    const resolved = new Intl.DateTimeFormat('en-US', { timeZone: zone }).resolvedOptions().timeZone;
    return resolved.toLowerCase() === zone.toLowerCase() ? resolved : zone;
  } catch {
    return undefined;
  }
}

export function isValidTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

export type ParamSpecs = Record<string, ParamSpec>;
export type ParamValues<S extends ParamSpecs> = { [K in keyof S]: S[K] extends ParamSpec<infer T> ? T : never };

/** `{name}` placeholders in query text, in order of first appearance. */
export function placeholdersOf(sql: string): string[] {
  const names = new Set<string>();
  for (const match of sql.matchAll(PLACEHOLDER)) names.add(match[1]!);
  return [...names];
}

const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/**
 * The one mechanical rewrite between HogQL and ClickHouse: `{name}` becomes `{name:Type}`.
 * Throws when the text names a placeholder the query does not declare.
 */
export function toClickHousePlaceholders(sql: string, specs: ParamSpecs): string {
  return sql.replace(PLACEHOLDER, (_whole, name: string) => {
    const spec = specs[name];
    if (!spec) throw new Error(`placeholder {${name}} has no parameter declared`);
    return `{${name}:${spec.type}}`;
  });
}
