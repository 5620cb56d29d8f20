/**
 * `{name}` placeholders filled with HogQL constants, for the one request that cannot carry values:
 * a HogQLMetadata check (posthog/hogql/metadata.py parses and prints the text alone). A mechanical
 * rewrite, as posthog/hogql/placeholders.py does it: strings quoted and escaped, numbers, booleans,
 * null, arrays of those. Text inside string literals, quoted identifiers and comments is left alone.
 * Queries that run always send `values` instead.
 */

const ESCAPES: Record<string, string> = { '\\': '\\\\', "'": "\\'", '\n': '\\n', '\r': '\\r', '\t': '\\t', '\0': '\\0', '\b': '\\b', '\f': '\\f', '\v': '\\v', '\x07': '\\a' };

export function hogqlConstant(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  if (typeof value === 'string') return `'${value.replace(/[\\'\n\r\t\0\b\f\v\x07]/g, (c) => ESCAPES[c]!)}'`;
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (Array.isArray(value)) return `[${value.map(hogqlConstant).join(', ')}]`;
  throw new Error(`no HogQL constant for ${JSON.stringify(value)}`);
}

export function inlineValues(sql: string, values: Record<string, unknown>): string {
  let out = '';
  let i = 0;
  while (i < sql.length) {
    const c = sql[i]!;
    if (c === "'" || c === '"' || c === '`') {
      let j = i + 1;
      while (j < sql.length && sql[j] !== c) j += sql[j] === '\\' ? 2 : 1;
      out += sql.slice(i, j + 1);
      i = j + 1;
    } else if (c === '-' && sql[i + 1] === '-') {
      const end = sql.indexOf('\n', i);
      const j = end < 0 ? sql.length : end;
      out += sql.slice(i, j);
      i = j;
    } else if (c === '{') {
      const m = /^\{\s*([A-Za-z_$][A-Za-z0-9_$]*)\s*\}/.exec(sql.slice(i));
      if (m && Object.prototype.hasOwnProperty.call(values, m[1]!)) {
        out += hogqlConstant(values[m[1]!]);
        i += m[0].length;
      } else {
        out += c;
        i += 1;
      }
    } else {
      out += c;
      i += 1;
    }
  }
  return out;
}
