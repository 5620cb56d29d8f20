/**
 * The parts of ClickHouse's HTTP interface that need no engine: authentication, how URL
 * parameters split into settings / bound parameters / HTTP-only options, error bodies and the
 * exception-code -> HTTP-status mapping, output format and content type, multipart bodies, and the
 * statement checks the server makes before executing (empty query, multi-statements, GET = readonly).
 *
 * Sources: ClickHouse's src/Server/HTTPHandler.cpp (reserved parameter names, auth, query = `query`
 * parameter + body) and src/Server/HTTP/exceptionCodeToHTTPStatus.cpp (statuses).
 */

/** A ClickHouse exception: `code` and `name` as in src/Common/ErrorCodes.cpp. */
export class ClickHouseException extends Error {
  constructor(
    readonly code: number,
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

/** Parameters the HTTP handler consumes itself; they are neither settings nor query parameters. */
export const RESERVED_PARAMS: ReadonlySet<string> = new Set([
  // HTTPHandler.cpp reserved_param_names
  'compress',
  'decompress',
  'user',
  'password',
  'quota_key',
  'query_id',
  'stacktrace',
  'buffer_size',
  'wait_end_of_query',
  'session_id',
  'session_timeout',
  'session_check',
  'client_protocol_version',
  'close_session',
  // handled separately by the handler
  'database',
  'default_format',
  'query',
  'role',
]);

// ---------------------------------------------------------------------------------------------
// Errors

const STATUS_BY_TYPE: Record<string, number> = {};
function statuses(status: number, types: string[]): void {
  for (const t of types) STATUS_BY_TYPE[t] = status;
}
statuses(401, ['REQUIRED_PASSWORD']);
statuses(403, ['UNKNOWN_USER', 'WRONG_PASSWORD', 'AUTHENTICATION_FAILED', 'SET_NON_GRANTED_ROLE', 'ACCESS_DENIED']);
statuses(400, [
  'BAD_ARGUMENTS',
  'CANNOT_COMPILE_REGEXP',
  'CANNOT_PARSE_TEXT',
  'CANNOT_PARSE_ESCAPE_SEQUENCE',
  'CANNOT_PARSE_QUOTED_STRING',
  'CANNOT_PARSE_DATE',
  'CANNOT_PARSE_DATETIME',
  'CANNOT_PARSE_NUMBER',
  'CANNOT_PARSE_DOMAIN_VALUE_FROM_STRING',
  'CANNOT_PARSE_IPV4',
  'CANNOT_PARSE_IPV6',
  'CANNOT_PARSE_INPUT_ASSERTION_FAILED',
  'CANNOT_PARSE_UUID',
  'DUPLICATE_COLUMN',
  'ILLEGAL_COLUMN',
  'UNKNOWN_ELEMENT_IN_AST',
  'UNKNOWN_TYPE_OF_AST_NODE',
  'THERE_IS_NO_COLUMN',
  'TOO_DEEP_AST',
  'TOO_BIG_AST',
  'UNEXPECTED_AST_STRUCTURE',
  'SYNTAX_ERROR',
  'INCORRECT_DATA',
  'TYPE_MISMATCH',
  'VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE',
]);
statuses(404, [
  'UNKNOWN_TABLE',
  'UNKNOWN_FUNCTION',
  'UNKNOWN_IDENTIFIER',
  'UNKNOWN_TYPE',
  'UNKNOWN_STORAGE',
  'UNKNOWN_DATABASE',
  'UNKNOWN_SETTING',
  'UNKNOWN_DIRECTION_OF_SORTING',
  'UNKNOWN_AGGREGATE_FUNCTION',
  'UNKNOWN_FORMAT',
  'UNKNOWN_DATABASE_ENGINE',
  'UNKNOWN_TYPE_OF_QUERY',
  'UNKNOWN_ROLE',
]);
statuses(413, ['QUERY_IS_TOO_LARGE']);
statuses(501, ['NOT_IMPLEMENTED']);
statuses(503, ['SOCKET_TIMEOUT', 'CANNOT_OPEN_FILE', 'CANNOT_SCHEDULE_TASK']);
statuses(411, ['HTTP_LENGTH_REQUIRED']);
statuses(408, ['TIMEOUT_EXCEEDED']);
statuses(415, ['UNSUPPORTED_MEDIA_TYPE']);

/** ClickHouse's exceptionCodeToHTTPStatus, keyed by the error name; 500 for everything else. */
export function httpStatusOf(type: string): number {
  return STATUS_BY_TYPE[type] ?? 500;
}

export interface ErrorReply {
  status: number;
  code: number;
  type: string;
  /** `Code: N. DB::Exception: message. (NAME) (version X (official build))` + newline, as the server writes it. */
  body: string;
}

/**
 * The error body for an exception: from the engine (its message already reads
 * `Code: N. DB::Exception: ... (NAME)`), from this module, or anything else (STD_EXCEPTION).
 */
export function errorReply(error: unknown, version: string): ErrorReply {
  const suffix = ` (version ${version} (official build))\n`;
  if (error instanceof ClickHouseException) {
    const message = error.message.replace(/\.?$/, '.');
    return {
      status: httpStatusOf(error.type),
      code: error.code,
      type: error.type,
      body: `Code: ${error.code}. DB::Exception: ${message} (${error.type})${suffix}`,
    };
  }
  const text = (error instanceof Error ? error.message : String(error)).replace(/^Query failed:\s*/, '').trim();
  const m = /^Code: (\d+)\.[\s\S]*\(([A-Z0-9_]+)\)$/.exec(text);
  if (m) {
    const type = m[2]!;
    return { status: httpStatusOf(type), code: Number(m[1]), type, body: `${text}${suffix}` };
  }
  const message = text.replace(/\.?$/, '.');
  return { status: 500, code: 1001, type: 'STD_EXCEPTION', body: `Code: 1001. DB::Exception: ${message} (STD_EXCEPTION)${suffix}` };
}

// ---------------------------------------------------------------------------------------------
// Authentication

export interface Credentials {
  user: string;
  password: string;
}

type Headers = Record<string, string | string[] | undefined>;

function header(headers: Headers, name: string): string {
  const v = headers[name.toLowerCase()];
  return (Array.isArray(v) ? v[0] : v) ?? '';
}

/**
 * The credentials of a request, as ClickHouse reads them: `X-ClickHouse-User`/`X-ClickHouse-Key`
 * headers, or HTTP Basic, or `user`/`password` URL parameters (mixing them is refused); none at all
 * means the user `default` with an empty password.
 */
export function credentialsOf(headers: Headers, params: URLSearchParams): Credentials {
  const hUser = header(headers, 'x-clickhouse-user');
  const hKey = header(headers, 'x-clickhouse-key');
  const authorization = header(headers, 'authorization');
  const inParams = params.has('user') || params.has('password');
  const hasHeaders = hUser !== '' || hKey !== '';
  if (hasHeaders) {
    if (authorization)
      throw new ClickHouseException(
        516,
        'AUTHENTICATION_FAILED',
        'Invalid authentication: it is not allowed to use Authorization HTTP header and authentication by headers simultaneously',
      );
    if (inParams)
      throw new ClickHouseException(
        516,
        'AUTHENTICATION_FAILED',
        'Invalid authentication: it is not allowed to use authentication by headers and authentication via parameters simultaneously',
      );
    return { user: hUser || 'default', password: hKey };
  }
  if (authorization) {
    if (inParams)
      throw new ClickHouseException(
        516,
        'AUTHENTICATION_FAILED',
        'Invalid authentication: it is not allowed to use Authorization HTTP header and authentication via parameters simultaneously',
      );
    const [scheme, value = ''] = authorization.split(/\s+/, 2);
    if (scheme?.toLowerCase() !== 'basic')
      throw new ClickHouseException(516, 'AUTHENTICATION_FAILED', `Invalid authentication: '${scheme}' HTTP Authorization scheme is not supported`);
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return colon < 0 ? { user: decoded, password: '' } : { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  return { user: params.get('user') || 'default', password: params.get('password') ?? '' };
}

export function authenticate(given: Credentials, expected: Credentials): void {
  if (given.user !== expected.user || given.password !== expected.password) {
    throw new ClickHouseException(
      516,
      'AUTHENTICATION_FAILED',
      `${given.user}: Authentication failed: password is incorrect, or there is no user with such name`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Parameters

export interface SplitParams {
  /** `param_<name>` values, raw (ClickHouse's text form: escaped strings, `['a','b']` arrays). */
  bind: Record<string, string>;
  /** Everything not reserved: settings for this query only. */
  settings: Array<[string, string]>;
  /** The `readonly` setting, handled by the stand-in rather than applied (it would lock the shared session). */
  readonly: number;
}

export function splitParams(params: Map<string, string>): SplitParams {
  const bind: Record<string, string> = {};
  const settings: Array<[string, string]> = [];
  let readonly = 0;
  for (const [key, value] of params) {
    if (key === '') continue;
    if (key.startsWith('param_')) bind[key.slice('param_'.length)] = value;
    else if (RESERVED_PARAMS.has(key)) continue;
    else if (key === 'readonly') readonly = Number(value) || (value === 'true' ? 1 : 0);
    else {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) throw new ClickHouseException(115, 'UNKNOWN_SETTING', `Unknown setting '${key}'`);
      settings.push([key, value]);
    }
  }
  return { bind, settings, readonly };
}

/** A ClickHouse string literal. */
export function quoteString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

export function quoteIdentifier(name: string): string {
  return `\`${name.replace(/\\/g, '\\\\').replace(/`/g, '\\`')}\``;
}

// ---------------------------------------------------------------------------------------------
// Statements

/** Index just past leading whitespace, comments and opening parentheses. */
function skipLeading(sql: string, from = 0): number {
  let i = from;
  for (;;) {
    while (i < sql.length && (/\s/.test(sql[i]!) || sql[i] === '(')) i++;
    if (sql.startsWith('--', i)) {
      const end = sql.indexOf('\n', i);
      i = end < 0 ? sql.length : end + 1;
    } else if (sql.startsWith('/*', i)) {
      const end = sql.indexOf('*/', i + 2);
      i = end < 0 ? sql.length : end + 2;
    } else return i;
  }
}

/** The statement's first keyword, upper case ('' if none). */
export function firstKeyword(sql: string): string {
  const i = skipLeading(sql);
  return /^[A-Za-z]+/.exec(sql.slice(i))?.[0]?.toUpperCase() ?? '';
}

const READ_KEYWORDS = new Set(['SELECT', 'WITH', 'SHOW', 'DESCRIBE', 'DESC', 'EXISTS', 'EXPLAIN', 'SET', 'USE']);
const RESULT_KEYWORDS = new Set(['SELECT', 'WITH', 'SHOW', 'DESCRIBE', 'DESC', 'EXISTS', 'EXPLAIN']);

/** Allowed under readonly (HTTP GET implies readonly = 2). */
export function isReadQuery(sql: string): boolean {
  return READ_KEYWORDS.has(firstKeyword(sql));
}

/** A statement that returns a result set (and so has an output format). */
export function returnsRows(sql: string): boolean {
  return RESULT_KEYWORDS.has(firstKeyword(sql));
}

function skipQuoted(sql: string, start: number): number {
  const quote = sql[start];
  let i = start + 1;
  while (i < sql.length) {
    const c = sql[i];
    if (c === '\\') i += 2;
    else if (c === quote) {
      if (sql[i + 1] === quote) i += 2;
      else return i + 1;
    } else i++;
  }
  return sql.length;
}

/**
 * The offset of a `;` that is followed by another statement (ClickHouse's HTTP interface runs one
 * statement per request: "Multi-statements are not allowed"); undefined when there is none.
 * A trailing `;` is fine. The inline data of `INSERT ... FORMAT <fmt>` is not scanned.
 */
export function multiStatementOffset(sql: string): number | undefined {
  const insert = firstKeyword(sql) === 'INSERT';
  let previousWord = '';
  let i = 0;
  while (i < sql.length) {
    const c = sql[i]!;
    if (c === "'" || c === '"' || c === '`') {
      i = skipQuoted(sql, i);
      previousWord = '';
    } else if (sql.startsWith('--', i) || sql.startsWith('/*', i)) {
      const end = sql.startsWith('--', i) ? sql.indexOf('\n', i) : sql.indexOf('*/', i + 2);
      i = end < 0 ? sql.length : end + (sql.startsWith('--', i) ? 1 : 2);
    } else if (/[A-Za-z_]/.test(c)) {
      const word = /^[A-Za-z_][A-Za-z0-9_]*/.exec(sql.slice(i))![0];
      if (insert && previousWord === 'FORMAT') return undefined;
      previousWord = word.toUpperCase();
      i += word.length;
    } else if (c === ';') {
      let j = i;
      for (;;) {
        j = skipLeading(sql, j);
        if (sql[j] === ';') j++;
        else break;
      }
      return j < sql.length ? i : undefined;
    } else {
      if (!/\s/.test(c)) previousWord = '';
      i++;
    }
  }
  return undefined;
}

/** Checks ClickHouse makes before running a request's SQL. */
export function checkStatement(sql: string, readonly: number): void {
  if (!sql.trim()) throw new ClickHouseException(62, 'SYNTAX_ERROR', 'Empty query');
  const at = multiStatementOffset(sql);
  if (at !== undefined) {
    const rest = sql.slice(at, at + 40);
    throw new ClickHouseException(
      62,
      'SYNTAX_ERROR',
      `Syntax error (Multi-statements are not allowed): failed at position ${at + 1} (end of query): ${rest}. `,
    );
  }
  if (readonly > 0 && !isReadQuery(sql)) {
    throw new ClickHouseException(
      164,
      'READONLY',
      'Cannot execute query in readonly mode. For queries over HTTP, method GET implies readonly. You should use method POST for modifying queries',
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Formats

/** The format named by a trailing `FORMAT <name>` clause (what @clickhouse/client's query() appends). */
export function trailingFormat(sql: string): string | undefined {
  return /\bFORMAT\s+([A-Za-z_][A-Za-z0-9_]*)\s*(?:SETTINGS\b[^;]*)?;?\s*$/i.exec(sql)?.[1];
}

export function contentTypeOf(format: string): string {
  if (/^(JSON|NDJSON|JSONL)/i.test(format)) return 'application/json; charset=UTF-8';
  if (/^(TabSeparated|TSV)/i.test(format)) return 'text/tab-separated-values; charset=UTF-8';
  if (/^CSV/i.test(format)) return `text/csv; charset=UTF-8; header=${/WithNames/i.test(format) ? 'present' : 'absent'}`;
  if (/^XML$/i.test(format)) return 'application/xml; charset=UTF-8';
  if (/^(Native|RowBinary|Parquet|Arrow|ArrowStream|ORC|Avro|Protobuf|CapnProto|MsgPack|BSONEachRow|Npy)/i.test(format))
    return 'application/octet-stream';
  return 'text/plain; charset=UTF-8';
}

// ---------------------------------------------------------------------------------------------
// Multipart bodies (use_multipart_params: `query` and `param_<name>` as form fields)

export function parseMultipart(body: Buffer, contentType: string): Map<string, string> {
  const boundary = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  const delimiter = boundary?.[1] ?? boundary?.[2];
  if (!delimiter) throw new ClickHouseException(36, 'BAD_ARGUMENTS', 'multipart/form-data without a boundary');
  const fields = new Map<string, string>();
  const parts = body.toString('utf8').split(`--${delimiter}`);
  for (const part of parts.slice(1)) {
    if (part.startsWith('--')) break;
    const split = part.indexOf('\r\n\r\n');
    if (split < 0) continue;
    const head = part.slice(0, split);
    const name = /name="([^"]*)"/i.exec(head)?.[1];
    if (name === undefined) continue;
    if (/filename=/i.test(head)) {
      throw new ClickHouseException(48, 'NOT_IMPLEMENTED', 'External tables (multipart files) are not supported by the stand-in');
    }
    fields.set(name, part.slice(split + 4).replace(/\r\n$/, ''));
  }
  return fields;
}
