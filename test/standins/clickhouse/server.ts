/**
 * The ClickHouse stand-in's child process: a loopback HTTP server speaking ClickHouse's HTTP
 * interface (as @clickhouse/client uses it) and running the SQL on the embedded engine (chdb).
 *
 *   node --import tsx test/standins/clickhouse/server.ts '<StandInConfig JSON>'
 *
 * Prints `listening <port>` on stdout when ready; exits when stdin closes or on SIGTERM.
 * chdb allows one session per process, hence a process of its own. Every engine call is async and
 * they run one at a time (one session), so the server stays responsive while a query runs.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { brotliCompressSync, brotliDecompressSync, deflateSync, gunzipSync, gzipSync, inflateSync } from 'node:zlib';
import type { Session } from 'chdb';
import { ChdbEngine } from '../../../src/engine/chdb-engine.ts';
import {
  ClickHouseException,
  authenticate,
  checkStatement,
  contentTypeOf,
  credentialsOf,
  errorReply,
  parseMultipart,
  quoteIdentifier,
  quoteString,
  returnsRows,
  splitParams,
  trailingFormat,
} from './protocol.ts';
import type { LoggedRequest, StandInConfig } from './types.ts';

const config = JSON.parse(process.argv[2] ?? '{}') as StandInConfig;
const engine = ChdbEngine.open(config.dataDir);

// ---------------------------------------------------------------------------------------------
// Engine

/**
 * ChdbEngine keeps its chdb Session private; the stand-in needs it for raw output formats and raw
 * parameter binding.
 */
function sessionOf(e: ChdbEngine): Session {
  const session = (e as unknown as { session?: Session }).session;
  if (!session || typeof session.queryAsync !== 'function') throw new Error('ChdbEngine no longer exposes its chdb session as `session`');
  return session;
}
const session = sessionOf(engine);

interface RawResult {
  bytes: Uint8Array;
  elapsed: number;
  rowsRead: number;
  bytesRead: number;
}
interface NativeAddon {
  QueryAsyncConnection(connection: unknown, sql: string, format: string, params?: Record<string, string>): Promise<RawResult>;
}

/**
 * chdb's own native addon, for binding `param_<name>` values exactly as received. The public
 * `queryBindAsync` re-escapes string values for ClickHouse's TSV parameter parsing (a backslash is
 * doubled), which is right for JS values but wrong for values already in ClickHouse's text form, as
 * the HTTP client sends them: `['it\'s']` would arrive as `['it\\'s']` and fail to parse. The addon
 * takes the text as is, which is what a ClickHouse server does with `param_<name>`.
 */
function loadNative(): NativeAddon | undefined {
  try {
    const require = createRequire(import.meta.url);
    const chdbMain = require.resolve('chdb');
    const loader = createRequire(chdbMain)(join(dirname(chdbMain), 'dist', 'loader.js')) as { loadNative(): unknown };
    const addon = loader.loadNative() as Partial<NativeAddon>;
    return typeof addon.QueryAsyncConnection === 'function' ? (addon as NativeAddon) : undefined;
  } catch {
    return undefined;
  }
}
const native = loadNative();
if (!native) process.stderr.write('clickhouse stand-in: chdb native addon not found; param_ values with backslashes will be re-escaped\n');

async function run(sql: string, format = 'TabSeparated', params: Record<string, string> = {}): Promise<RawResult> {
  if (Object.keys(params).length > 0) {
    if (native) return native.QueryAsyncConnection(session.connection, sql, format, params);
    const r = await session.queryBindAsync(sql, params, { format });
    return { bytes: r.bytes(), elapsed: r.elapsed, rowsRead: r.rowsRead, bytesRead: r.bytesRead };
  }
  const r = await session.queryAsync(sql, { format });
  return { bytes: r.bytes(), elapsed: r.elapsed, rowsRead: r.rowsRead, bytesRead: r.bytesRead };
}

/** One session serves every request: its statements (USE, SET, the query, the resets) never interleave. */
let engineQueue: Promise<unknown> = Promise.resolve();
function serial<T>(fn: () => Promise<T>): Promise<T> {
  const next = engineQueue.then(fn, fn);
  engineQueue = next.catch(() => {});
  return next;
}

const text = (r: RawResult) => Buffer.from(r.bytes).toString('utf8').trim();
const VERSION = text(await run('SELECT version()'));
const TIMEZONE = text(await run('SELECT timezone()'));
const DEFAULT_DATABASE = text(await run('SELECT currentDatabase()'));

interface Execution {
  sql: string;
  format: string;
  database: string | undefined;
  settings: Array<[string, string]>;
  bind: Record<string, string>;
}

/**
 * Runs one request's statement the way the HTTP handler scopes it: `database` and the settings from
 * the URL apply to this query only, so they are set before and reset after, in the same turn.
 */
function execute(x: Execution): Promise<RawResult> {
  return serial(async () => {
    const changedDatabase = x.database !== undefined && x.database !== '' && x.database !== DEFAULT_DATABASE;
    try {
      if (changedDatabase) await run(`USE ${quoteIdentifier(x.database!)}`);
      if (x.settings.length) await run(`SET ${x.settings.map(([k, v]) => `${k} = ${quoteString(v)}`).join(', ')}`);
      return await run(x.sql, x.format, x.bind);
    } finally {
      for (const [k] of x.settings) await run(`SET ${k} = DEFAULT`).catch(() => {});
      if (changedDatabase) await run(`USE ${quoteIdentifier(DEFAULT_DATABASE)}`).catch(() => {});
    }
  });
}

// ---------------------------------------------------------------------------------------------
// HTTP

const log: LoggedRequest[] = [];

interface Reply {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  /** Only successful query answers are compressed (as the server does before any output exists). */
  compressible?: boolean;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function decodeBody(raw: Buffer, encoding: string | undefined): Buffer {
  const codec = (encoding ?? '').trim().toLowerCase();
  if (!codec || codec === 'identity' || raw.length === 0) return raw;
  try {
    if (codec === 'gzip' || codec === 'x-gzip') return gunzipSync(raw);
    if (codec === 'deflate') return inflateSync(raw);
    if (codec === 'br') return brotliDecompressSync(raw);
  } catch (error) {
    throw new ClickHouseException(354, 'ZLIB_INFLATE_FAILED', `inflate failed: ${error instanceof Error ? error.message : String(error)}`);
  }
  throw new ClickHouseException(48, 'NOT_IMPLEMENTED', `Content-Encoding '${codec}' is not supported by the stand-in`);
}

const plain = (status: number, body: string, headers: Record<string, string> = {}): Reply => ({
  status,
  headers: { 'Content-Type': 'text/plain; charset=UTF-8', ...headers },
  body: Buffer.from(body),
});

function headerOf(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

async function handleQuery(req: IncomingMessage, url: URL, entry: LoggedRequest, queryId: string): Promise<Reply> {
  const raw = await readBody(req);
  const params = new Map<string, string>();
  for (const [k, v] of url.searchParams) if (!params.has(k)) params.set(k, v);
  if (req.method === 'GET' && !params.has('query')) return plain(200, 'Ok.\n');

  // Assemble the SQL first so that it is logged even when authentication fails; but
  // authentication is checked before any decoding error is reported, as the server does.
  let sql = '';
  let bodyError: unknown;
  try {
    const body = decodeBody(raw, headerOf(req, 'content-encoding'));
    const contentType = headerOf(req, 'content-type') ?? '';
    if (contentType.toLowerCase().startsWith('multipart/form-data')) {
      for (const [k, v] of parseMultipart(body, contentType)) {
        params.set(k, v);
        entry.params[k] = v;
      }
      sql = params.get('query') ?? '';
    } else {
      // HTTPHandler: the query is the `query` parameter, a newline, then the body (e.g. INSERT data).
      const queryParam = params.get('query') ?? '';
      const bodyText = body.toString('utf8');
      sql = queryParam && bodyText ? `${queryParam}\n${bodyText}` : queryParam || bodyText;
    }
  } catch (error) {
    bodyError = error;
  }
  entry.query = sql;
  authenticate(credentialsOf(req.headers, url.searchParams), { user: config.username, password: config.password });
  if (bodyError !== undefined) throw bodyError;

  const { bind, settings, readonly } = splitParams(params);
  checkStatement(sql, req.method === 'GET' ? Math.max(readonly, 2) : readonly);

  const defaultFormat = headerOf(req, 'x-clickhouse-format') || params.get('default_format') || 'TabSeparated';
  const database = headerOf(req, 'x-clickhouse-database') || params.get('database');
  const result = await execute({ sql, format: defaultFormat, database, settings, bind });

  const headers: Record<string, string> = {
    'X-ClickHouse-Query-Id': queryId,
    'X-ClickHouse-Timezone': TIMEZONE,
    'X-ClickHouse-Summary': JSON.stringify({
      read_rows: String(result.rowsRead),
      read_bytes: String(result.bytesRead),
      written_rows: '0',
      written_bytes: '0',
      total_rows_to_read: '0',
      result_rows: String(result.rowsRead),
      result_bytes: String(result.bytes.byteLength),
      elapsed_ns: String(Math.round(result.elapsed * 1e9)),
    }),
  };
  if (returnsRows(sql)) {
    const format = trailingFormat(sql) ?? defaultFormat;
    headers['X-ClickHouse-Format'] = format;
    headers['Content-Type'] = contentTypeOf(format);
  } else {
    headers['Content-Type'] = 'text/plain; charset=UTF-8';
  }
  const compress = ['1', 'true'].includes(params.get('enable_http_compression') ?? '');
  return { status: 200, headers, body: Buffer.from(result.bytes), compressible: compress };
}

function compressFor(req: IncomingMessage, reply: Reply): Reply {
  if (!reply.compressible || reply.body.length === 0) return reply;
  const accepted = (headerOf(req, 'accept-encoding') ?? '').toLowerCase().split(',').map((s) => s.trim().split(';')[0]);
  const pick = ['gzip', 'deflate', 'br'].find((c) => accepted.includes(c));
  if (!pick) return reply;
  const body = pick === 'gzip' ? gzipSync(reply.body) : pick === 'deflate' ? deflateSync(reply.body) : brotliCompressSync(reply.body);
  return { ...reply, body, headers: { ...reply.headers, 'Content-Encoding': pick } };
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const method = req.method ?? 'GET';
  if (url.pathname.startsWith('/_standin/')) return admin(req, res, url);

  const params: Record<string, string> = {};
  for (const [k, v] of url.searchParams) if (k !== 'password' && !(k in params)) params[k] = v;
  const entry: LoggedRequest = { method, path: url.pathname, query: '', status: 0, params };
  const queryId = url.searchParams.get('query_id') || headerOf(req, 'x-clickhouse-query-id') || randomUUID();

  let reply: Reply;
  try {
    if (url.pathname === '/ping' || url.pathname === '/replicas_status') {
      await readBody(req);
      reply = { status: 200, headers: { 'Content-Type': 'text/html; charset=UTF-8' }, body: Buffer.from('Ok.\n') };
    } else if (url.pathname === '/') {
      reply = await handleQuery(req, url, entry, queryId);
    } else {
      await readBody(req);
      reply = plain(404, `There is no handle ${url.pathname}\n\nUse / or /ping for health checks.\n`);
    }
  } catch (error) {
    req.resume();
    const e = errorReply(error, VERSION);
    reply = plain(e.status, e.body, { 'X-ClickHouse-Exception-Code': String(e.code), 'X-ClickHouse-Query-Id': queryId });
  }
  reply = compressFor(req, reply);
  entry.status = reply.status;
  log.push(entry);
  res.writeHead(reply.status, { ...reply.headers, 'Content-Length': String(reply.body.length) });
  res.end(method === 'HEAD' ? undefined : reply.body);
}

async function admin(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  await readBody(req);
  const json = (status: number, value: unknown) => {
    const body = JSON.stringify(value);
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.end(body);
  };
  const path = url.pathname.slice('/_standin/'.length);
  if (req.method === 'GET' && path === 'requests') return json(200, log);
  if (req.method === 'POST' && path === 'reset') {
    log.length = 0;
    return json(200, { ok: true });
  }
  if (req.method === 'GET' && path === 'health') return json(200, { ok: true, version: VERSION });
  return json(404, { error: `no admin endpoint ${req.method} ${url.pathname}` });
}

const server = createServer((req, res) => {
  handle(req, res).catch((error: unknown) => {
    process.stderr.write(`clickhouse stand-in: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain' });
    res.end();
  });
});
// ClickHouse's keep_alive_timeout default; the client reads `Keep-Alive: timeout=N` from answers.
server.keepAliveTimeout = 10_000;

// ---------------------------------------------------------------------------------------------
// Life cycle

let closing = false;
async function shutdown(code: number): Promise<void> {
  if (closing) return;
  closing = true;
  server.close();
  server.closeAllConnections();
  // Let a statement in flight finish before the session goes away.
  await Promise.race([engineQueue, new Promise((r) => setTimeout(r, 3000))]);
  try {
    engine.close();
  } finally {
    process.exit(code);
  }
}

process.on('SIGTERM', () => void shutdown(0));
process.on('SIGINT', () => void shutdown(0));
process.stdin.on('end', () => void shutdown(0));
process.stdin.on('close', () => void shutdown(0));
process.stdin.resume();

server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  process.stdout.write(`listening ${port}\n`);
});
