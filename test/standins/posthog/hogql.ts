/**
 * The small part of HogQL's compiler the stand-in needs, as pure functions: placeholders filled
 * with constants, PostHog's row limit applied to the outermost query, and result values rendered
 * as PostHog's JSON renderer renders them. Everything else is left to the engine: the stand-in
 * runs the query text as ClickHouse SQL, which is what the project's queries are written in.
 */

/** A query PostHog would reject with 400 `hogql_query_error`. */
export class HogQLError extends Error {}

type Piece = { kind: 'code' | 'string' | 'quoted' | 'comment'; text: string };

/** Splits SQL into code, string literals, quoted identifiers and comments (placeholders live only in code). */
export function scan(sql: string): Piece[] {
  const pieces: Piece[] = [];
  let code = '';
  const flush = () => {
    if (code) pieces.push({ kind: 'code', text: code });
    code = '';
  };
  let i = 0;
  while (i < sql.length) {
    const c = sql[i]!;
    const next = sql[i + 1];
    if (c === "'" || c === '"' || c === '`') {
      flush();
      let j = i + 1;
      while (j < sql.length) {
        if (sql[j] === '\\') j += 2;
        else if (sql[j] === c && sql[j + 1] === c) j += 2;
        else if (sql[j] === c) break;
        else j += 1;
      }
      pieces.push({ kind: c === "'" ? 'string' : 'quoted', text: sql.slice(i, j + 1) });
      i = j + 1;
    } else if (c === '-' && next === '-') {
      flush();
      const end = sql.indexOf('\n', i);
      const j = end < 0 ? sql.length : end;
      pieces.push({ kind: 'comment', text: sql.slice(i, j) });
      i = j;
    } else if (c === '/' && next === '*') {
      flush();
      const end = sql.indexOf('*/', i + 2);
      const j = end < 0 ? sql.length : end + 2;
      pieces.push({ kind: 'comment', text: sql.slice(i, j) });
      i = j;
    } else {
      code += c;
      i += 1;
    }
  }
  flush();
  return pieces;
}

const PLACEHOLDER = /\{\s*([A-Za-z_$][A-Za-z0-9_$]*)\s*\}/g;

/**
 * Fills `{name}` placeholders with constants from `values`, as HogQL does: strings quoted and
 * escaped, numbers as numbers, booleans, null, arrays of those. Text inside string literals,
 * quoted identifiers and comments is left alone.
 */
export function fillPlaceholders(sql: string, values: Record<string, unknown>): string {
  return scan(sql)
    .map((piece) =>
      piece.kind !== 'code'
        ? piece.text
        : piece.text.replace(PLACEHOLDER, (_whole, name: string) => {
            if (!Object.prototype.hasOwnProperty.call(values, name)) {
              throw new HogQLError(
                `Placeholder {${name}} is not available in this context. You can use the following: ${Object.keys(values).join(', ')}`,
              );
            }
            return constant(values[name], name);
          }),
    )
    .join('');
}

/** A JSON value as a ClickHouse constant. */
export function constant(value: unknown, name = 'value'): string {
  if (value === null || value === undefined) return 'NULL';
  if (typeof value === 'string') return quoteString(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new HogQLError(`Placeholder {${name}} has an unsupported value: ${value}`);
    return String(value);
  }
  if (Array.isArray(value)) return `[${value.map((v) => constant(v, name)).join(', ')}]`;
  throw new HogQLError(`Placeholder {${name}} has an unsupported value: objects cannot be used as constants`);
}

const ESCAPES: Record<string, string> = {
  '\\': '\\\\',
  "'": "\\'",
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\0': '\\0',
  '\b': '\\b',
  '\f': '\\f',
  '\v': '\\v',
  '\x07': '\\a',
};

export function quoteString(value: string): string {
  return `'${value.replace(/[\\'\n\r\t\0\b\f\v\x07]/g, (c) => ESCAPES[c]!)}'`;
}

type Token = { text: string; upper: string; start: number; end: number; depth: number };

/** Code tokens (words, numbers, punctuation; strings as one token) with their nesting depth. */
function tokens(sql: string): Token[] {
  const out: Token[] = [];
  let depth = 0;
  let offset = 0;
  for (const piece of scan(sql)) {
    if (piece.kind === 'comment') {
      offset += piece.text.length;
      continue;
    }
    if (piece.kind !== 'code') {
      out.push({ text: piece.text, upper: piece.text, start: offset, end: offset + piece.text.length, depth });
      offset += piece.text.length;
      continue;
    }
    for (const m of piece.text.matchAll(/[A-Za-z_][A-Za-z0-9_$]*|\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|\S/g)) {
      const text = m[0];
      const start = offset + m.index;
      if (text === ')' || text === ']' || text === '}') depth -= 1;
      out.push({ text, upper: text.toUpperCase(), start, end: start + text.length, depth });
      if (text === '(' || text === '[' || text === '{') depth += 1;
    }
    offset += piece.text.length;
  }
  return out;
}

/** Whether the text is a query at all (HogQL accepts SELECT, WITH ... SELECT, or a parenthesised one). */
export function isSelect(sql: string): boolean {
  const first = tokens(sql)[0];
  return first !== undefined && (first.upper === 'SELECT' || first.upper === 'WITH' || first.text === '(');
}

export interface LimitPlan {
  /** The SQL that runs: the query with its trailing LIMIT capped, or `LIMIT default+1` added when it had none. */
  sql: string;
  /** Rows returned at most. */
  limit: number;
  offset: number;
  /** Whether the query text had its own top-level trailing LIMIT. */
  explicit: boolean;
}

/**
 * PostHog's row limit: a query without a top-level trailing `LIMIT n [OFFSET m]` (or `LIMIT m, n`)
 * returns at most `defaultLimit` rows, and one more is fetched so that `hasMore` is honest; an
 * explicit LIMIT is capped at `maxLimit` (MAX_SELECT_RETURNED_ROWS) and nothing says whether rows
 * were left out (posthog/hogql_queries/hogql_query_runner.py, posthog/hogql/constants.py).
 */
export function planLimit(sql: string, defaultLimit: number, maxLimit: number): LimitPlan {
  const toks = tokens(sql);
  let end = sql.length;
  // A trailing `;` is not part of the query.
  const last = toks[toks.length - 1];
  if (last && last.text === ';' && last.depth === 0) {
    end = last.start;
    toks.pop();
  }
  // A top-level SETTINGS clause stays last.
  let tail = '';
  const settings = findLast(toks, (t) => t.depth === 0 && t.upper === 'SETTINGS');
  if (settings >= 0) {
    tail = sql.slice(toks[settings]!.start, end);
    end = toks[settings]!.start;
    toks.length = settings;
  }
  let limit = defaultLimit;
  let offset = 0;
  let explicit = false;
  const at = findLast(toks, (t) => t.depth === 0 && t.upper === 'LIMIT');
  if (at >= 0) {
    const rest = toks.slice(at + 1).map((t) => t.upper);
    const isInt = (s: string | undefined) => s !== undefined && /^\d+$/.test(s);
    let n: number | undefined;
    let m = 0;
    if (rest.length === 1 && isInt(rest[0])) n = Number(rest[0]);
    else if (rest.length === 3 && isInt(rest[0]) && rest[1] === 'OFFSET' && isInt(rest[2])) {
      n = Number(rest[0]);
      m = Number(rest[2]);
    } else if (rest.length === 3 && isInt(rest[0]) && rest[1] === ',' && isInt(rest[2])) {
      m = Number(rest[0]);
      n = Number(rest[2]);
    }
    if (n !== undefined) {
      explicit = true;
      limit = Math.min(n, maxLimit);
      offset = m;
      end = toks[at]!.start;
    }
  }
  const head = sql.slice(0, end).replace(/\s+$/, '');
  // Without a LIMIT, one row more than returned tells whether more follow; an explicit one is only capped.
  const limitClause = `LIMIT ${explicit ? limit : limit + 1}${offset ? ` OFFSET ${offset}` : ''}`;
  return { sql: `${head}\n${limitClause}${tail ? `\n${tail.trim()}` : ''}`, limit, offset, explicit };
}

function findLast<T>(items: T[], pred: (t: T) => boolean): number {
  for (let i = items.length - 1; i >= 0; i--) if (pred(items[i]!)) return i;
  return -1;
}

/** The timezone of a ClickHouse DateTime type (`DateTime64(6, 'Europe/Berlin')`, `Nullable(DateTime)`), or undefined. */
export function dateTimeZoneOf(type: string, sessionZone: string): string | undefined {
  const m = /^(?:Nullable\()?(?:LowCardinality\()?DateTime(?:64)?(?:\((.*)\))?\)*$/.exec(type);
  if (!m) return undefined;
  const zone = /'([^']+)'/.exec(m[1] ?? '');
  return zone ? zone[1] : sessionZone;
}

/**
 * An instant as PostHog's API renders a timezone-aware datetime (orjson, OPT_UTC_Z): RFC 3339 in
 * the column's timezone, microseconds only when not zero, `Z` for a zero offset, e.g.
 * `2026-11-16T00:30:00+01:00`, `2026-11-15T23:30:00.123456Z`. Input: ClickHouse's
 * `date_time_output_format = 'iso'` text (UTC, `...Z`).
 */
export function renderDateTime(isoUtc: string, zone: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?Z$/.exec(isoUtc);
  if (!m) return isoUtc;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
  const micros = ((m[7] ?? '') + '000000').slice(0, 6);
  const wall = wallTime(ms, zone);
  const offsetMin = Math.round((Date.UTC(wall.y, wall.mo - 1, wall.d, wall.h, wall.mi, wall.s) - ms) / 60000);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  const sign = offsetMin < 0 ? '-' : '+';
  const abs = Math.abs(offsetMin);
  const suffix = offsetMin === 0 ? 'Z' : `${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
  return `${pad(wall.y, 4)}-${pad(wall.mo)}-${pad(wall.d)}T${pad(wall.h)}:${pad(wall.mi)}:${pad(wall.s)}${micros === '000000' ? '' : `.${micros}`}${suffix}`;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function wallTime(ms: number, zone: string): { y: number; mo: number; d: number; h: number; mi: number; s: number } {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(zone, f);
  }
  const parts = Object.fromEntries(f.formatToParts(new Date(ms)).map((p) => [p.type, p.value]));
  return {
    y: Number(parts.year),
    mo: Number(parts.month),
    d: Number(parts.day),
    h: Number(parts.hour),
    mi: Number(parts.minute),
    s: Number(parts.second),
  };
}

/** `2026-11-16 08:00:00.000000` (UTC, as the client sends instants) or ISO 8601, as epoch ms. */
export function parseInstant(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const text = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(value) ? `${value.replace(' ', 'T')}Z` : value;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms;
}

/** A Date as the engine's UTC DateTime64(6) text. */
export function engineInstant(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace('Z', '000');
}
