/**
 * What PostHog does to a HogQL query before ClickHouse sees it, as far as our queries can tell:
 * parse it with PostHog's own parser (npm @posthog/hogql-parser, the C++ core of PostHog's
 * `hogql_parser` wheel built to WebAssembly), refuse calls outside the function allowlist
 * (hogql-functions.ts) or with the wrong number of arguments, refuse fields HogQL's tables lack,
 * and print `toDate(x)` as `toDateOrNull(x)` unless the resolver types `x` as a Date or DateTime.
 *
 * Used by the PostHog stand-in on every query it receives and by test/posthog-queries.test.ts on
 * every registered query. Error texts are PostHog's:
 *   - syntax: the parser's own message (posthog/hogql/parser.py raises it as SyntaxError);
 *   - `Unsupported function call 'x(...)'` (posthog/hogql/printer.py, visit_call);
 *   - `Function 'x' expects 1 argument, found 2` / `Aggregation 'x' expects at most ...`
 *     (validate_function_args in posthog/hogql/functions/mapping.py, function_term "aggregation");
 *   - `Unable to resolve field: x` (posthog/hogql/resolver.py);
 *   - `Unknown table `x`.` (posthog/hogql/database/database.py).
 * The field check is simpler than PostHog's resolver: a name is accepted when it is a column of
 * HogQL's `events` (posthog/hogql/database/schema/events.py) or an alias, CTE, table alias or lambda
 * argument anywhere in the query.
 */
import createHogQLParser, { type HogQLParser } from '@posthog/hogql-parser';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findAggregation, findFunction, type HogQLType } from './hogql-functions.ts';

let parserPromise: Promise<HogQLParser> | undefined;
/** PostHog's parser (WebAssembly, loaded once per process). */
export function hogqlParser(): Promise<HogQLParser> {
  parserPromise ??= createHogQLParser();
  return parserPromise;
}

/**
 * The parser's answer for a text, cached in memory and on disk. PostHog's ANTLR grammar is slow on
 * nested calls (seconds for growth_weekly under load), and every test run sends the same query
 * texts: the parse result of a text never changes for a parser version, so it is kept by
 * (version, text) hash. Only the parser's output is cached; every check below runs each time.
 */
const PARSER_VERSION = '1.3.87';
const CACHE_DIR = join(tmpdir(), 'connect-metrics-hogql-ast');
const memo = new Map<string, string>();

export function parseSelectCached(parser: HogQLParser, sql: string): string {
  const key = createHash('sha256').update(`${PARSER_VERSION}\0${sql}`).digest('hex');
  const known = memo.get(key);
  if (known !== undefined) return known;
  const file = join(CACHE_DIR, `${key}.json`);
  let text: string | undefined;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    text = parser.parseSelect(sql);
    try {
      mkdirSync(CACHE_DIR, { recursive: true });
      const tmp = `${file}.${process.pid}.tmp`;
      writeFileSync(tmp, text);
      renameSync(tmp, file);
    } catch {
      // A cache that cannot be written only costs time.
    }
  }
  memo.set(key, text);
  return text;
}

/** HogQL's `events` fields and the types the resolver gives them (schema/events.py). */
export const EVENTS_FIELDS: Readonly<Record<string, HogQLType>> = {
  uuid: 'String',
  event: 'String',
  properties: 'String',
  timestamp: 'DateTime',
  distinct_id: 'String',
  elements_chain: 'String',
  created_at: 'DateTime',
  $session_id: 'String',
  $window_id: 'String',
  person_id: 'String',
  person: 'Unknown',
  pdi: 'Unknown',
  poe: 'Unknown',
  session: 'Unknown',
  $group_0: 'String',
  $group_1: 'String',
  $group_2: 'String',
  $group_3: 'String',
  $group_4: 'String',
  elements_chain_href: 'String',
  elements_chain_texts: 'Array',
  elements_chain_ids: 'Array',
  elements_chain_elements: 'Array',
};

/** Tables a query may read (HogQL has more; these are the ones the stand-in knows). */
const TABLES = new Set(['events', 'persons', 'sessions', 'person_distinct_ids', 'groups']);
/** Table functions and the columns they add. */
const TABLE_FUNCTIONS: Record<string, string[]> = { numbers: ['number'] };

export interface HogQLProblem {
  /** hogql_syntax_error or hogql_query_error: the `code` PostHog's API answers with (posthog/hogql/errors.py). */
  code: 'hogql_syntax_error' | 'hogql_query_error';
  message: string;
  start?: number;
  end?: number;
}

export interface ToDateCall {
  /** Offset of the call (its name) in the query text. */
  start: number;
  line: number;
  /** What the resolver makes of the argument. */
  argType: HogQLType;
  /** Whether PostHog prints it as toDate (argument typed Date/DateTime) or toDateOrNull. */
  printedAs: 'toDate' | 'toDateOrNull';
  text: string;
}

export interface HogQLCheck {
  errors: HogQLProblem[];
  toDateCalls: ToDateCall[];
  /** Every function call (name and argument count), for tests. */
  calls: Array<{ name: string; args: number; line: number }>;
  /** Whether the top-level query has its own LIMIT (PostHog paginates only queries without one). */
  hasLimit: boolean;
}

type Node = { node?: string; start?: { offset: number; line: number }; end?: { offset: number }; [key: string]: unknown };

function isNode(v: unknown): v is Node {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function children(n: Node): Node[] {
  const out: Node[] = [];
  // A placeholder's name and a FROM's table name are not field references.
  if (n.node === 'Placeholder') return out;
  for (const [k, v] of Object.entries(n)) {
    if (k === 'start' || k === 'end') continue;
    if (n.node === 'JoinExpr' && k === 'table' && isNode(v) && v.node === 'Field') continue;
    if (Array.isArray(v)) for (const x of v) if (isNode(x)) out.push(x);
    if (isNode(v)) out.push(v);
  }
  return out;
}

function walk(n: Node, visit: (n: Node) => void): void {
  visit(n);
  for (const c of children(n)) walk(c, visit);
}

export function valueType(v: unknown): HogQLType {
  if (typeof v === 'string') return 'String';
  if (typeof v === 'number') return Number.isInteger(v) ? 'Integer' : 'Float';
  if (typeof v === 'boolean') return 'Boolean';
  if (Array.isArray(v)) return 'Array';
  return 'Unknown';
}

/**
 * Parses and checks a HogQL SELECT. `values` are the request's placeholder values (constants, as
 * posthog/hogql/placeholders.py makes them); without them placeholders are untyped.
 */
export function checkHogQL(parser: HogQLParser, sql: string, values: Record<string, unknown> = {}): HogQLCheck {
  const parsed = JSON.parse(parseSelectCached(parser, sql)) as Node & { error?: boolean; message?: string };
  const result: HogQLCheck = { errors: [], toDateCalls: [], calls: [], hasLimit: false };
  if (parsed.error) {
    result.errors.push({ code: 'hogql_syntax_error', message: String(parsed.message), start: parsed.start?.offset ?? 0, end: parsed.end?.offset ?? 0 });
    return result;
  }
  result.hasLimit = topLimit(parsed);

  const aliases = new Map<string, Node>();
  const names = new Set<string>(Object.keys(EVENTS_FIELDS));
  walk(parsed, (n) => {
    if (n.node === 'Alias' && typeof n.alias === 'string') {
      names.add(n.alias);
      if (isNode(n.expr) && !aliases.has(n.alias)) aliases.set(n.alias, n.expr);
    }
    if (n.node === 'CTE' && typeof n.name === 'string') names.add(n.name);
    if (n.node === 'JoinExpr' && typeof n.alias === 'string') names.add(n.alias);
    if (n.node === 'Lambda' && Array.isArray(n.args)) for (const a of n.args) if (typeof a === 'string') names.add(a);
    if (n.node === 'JoinExpr' && Array.isArray(n.table_args) && isNode(n.table) && n.table.node === 'Field') {
      for (const c of TABLE_FUNCTIONS[(n.table.chain as unknown[]).join('.')] ?? []) names.add(c);
    }
  });

  const typeOf = (n: unknown, depth = 0): HogQLType => {
    if (!isNode(n) || depth > 20) return 'Unknown';
    switch (n.node) {
      case 'Constant':
        return valueType(n.value);
      case 'Placeholder': {
        const chain = isNode(n.expr) && Array.isArray(n.expr.chain) ? n.expr.chain : [];
        const name = String(chain[0] ?? '');
        return Object.prototype.hasOwnProperty.call(values, name) ? valueType(values[name]) : 'Unknown';
      }
      case 'Alias':
        return typeOf(n.expr, depth + 1);
      case 'Field': {
        const chain = (n.chain as unknown[]).map(String);
        const last = chain.length > 1 && !(chain[0]! in EVENTS_FIELDS) ? chain.slice(1) : chain;
        if (last.length === 1 && aliases.has(last[0]!)) {
          const target = aliases.get(last[0]!)!;
          // `SELECT timestamp AS timestamp` and the like: not a new type.
          if (!(target.node === 'Field' && (target.chain as unknown[]).join('.') === last.join('.'))) return typeOf(target, depth + 1);
        }
        return last.length === 1 ? (EVENTS_FIELDS[last[0]!] ?? 'Unknown') : 'Unknown';
      }
      case 'Call': {
        const name = String(n.name);
        const args = (n.args as unknown[]) ?? [];
        const types = args.map((a) => typeOf(a, depth + 1));
        if ((name === 'toDate' || name === 'to_date') && (types[0] === 'Date' || types[0] === 'DateTime')) return 'Date';
        // The resolver types a call only through the allowlist's signatures; aggregates have none.
        const fn = findAggregation(name) ? undefined : findFunction(name);
        for (const [params, ret] of fn?.signatures ?? []) {
          if (params.length === types.length && params.every((p, i) => p === 'Unknown' || p === types[i])) return ret;
        }
        return 'Unknown';
      }
      default:
        return 'Unknown';
    }
  };

  walk(parsed, (n) => {
    if (n.node === 'Call' || n.node === 'WindowFunction') {
      const name = String(n.name);
      const args = ((n.node === 'Call' ? n.args : n.exprs) as unknown[] | null) ?? [];
      const at = { start: n.start?.offset ?? 0, end: n.end?.offset ?? 0 };
      result.calls.push({ name, args: args.length, line: n.start?.line ?? 0 });
      const aggregation = findAggregation(name);
      const fn = aggregation ?? findFunction(name);
      if (!fn) {
        result.errors.push({ code: 'hogql_query_error', message: `Unsupported function call '${name}(...)'`, ...at });
      } else {
        const problem = arity(args.length, fn.min, fn.max, name, aggregation ? 'aggregation' : 'function');
        if (problem) result.errors.push({ code: 'hogql_query_error', message: problem, ...at });
      }
      if (n.node === 'Call' && (name === 'toDate' || name === 'to_date') && args.length === 1) {
        const argType = typeOf(args[0]);
        result.toDateCalls.push({
          start: at.start,
          line: n.start?.line ?? 0,
          argType,
          printedAs: argType === 'Date' || argType === 'DateTime' ? 'toDate' : 'toDateOrNull',
          text: sql.slice(at.start, at.end),
        });
      }
    }
    if (n.node === 'Field') {
      const chain = (n.chain as unknown[]).map(String);
      if (chain[0] !== '*' && !names.has(chain[0]!)) {
        result.errors.push({ code: 'hogql_query_error', message: `Unable to resolve field: ${chain[0]}`, start: n.start?.offset ?? 0, end: n.end?.offset ?? 0 });
      }
    }
    if (n.node === 'JoinExpr' && isNode(n.table) && n.table.node === 'Field') {
      const table = (n.table.chain as unknown[]).map(String).join('.');
      const known = Array.isArray(n.table_args) ? table in TABLE_FUNCTIONS : TABLES.has(table) || names.has(table);
      if (!known) {
        result.errors.push({ code: 'hogql_query_error', message: `Unknown table \`${table}\`.`, start: n.table.start?.offset ?? 0, end: n.table.end?.offset ?? 0 });
      }
    }
  });
  return result;
}

/** validate_function_args (posthog/hogql/functions/mapping.py), word for word. */
function arity(found: number, min: number, max: number | null, name: string, term: 'function' | 'aggregation'): string | undefined {
  const Term = term === 'function' ? 'Function' : 'Aggregation';
  const s = (n: number) => (n !== 1 ? 's' : '');
  const tooFew = found < min;
  const tooMany = max !== null && found > max;
  if (min === max && (tooFew || tooMany)) return `${Term} '${name}' expects ${min} argument${s(min)}, found ${found}`;
  if (tooFew) return `${Term} '${name}' expects at least ${min} argument${s(min)}, found ${found}`;
  if (tooMany) return `${Term} '${name}' expects at most ${max} argument${s(max!)}, found ${found}`;
  return undefined;
}

function topLimit(n: Node): boolean {
  if (n.node === 'SelectQuery') return isNode(n.limit);
  // A UNION's LIMIT belongs to its last part in ClickHouse's grammar; PostHog paginates the set as a whole.
  if (n.node === 'SelectSetQuery') return false;
  return false;
}

/**
 * The text PostHog would hand to ClickHouse, as far as it matters here: every `toDate(` the
 * resolver cannot type becomes `toDateOrNull(`. Offsets are the parser's (character offsets).
 */
export function printToDates(sql: string, calls: ToDateCall[]): string {
  let out = sql;
  for (const c of [...calls].sort((a, b) => b.start - a.start)) {
    if (c.printedAs !== 'toDateOrNull') continue;
    const name = out.slice(c.start).match(/^(toDate|to_date)\b/)?.[0];
    if (!name) continue;
    out = `${out.slice(0, c.start)}toDateOrNull${out.slice(c.start + name.length)}`;
  }
  return out;
}
