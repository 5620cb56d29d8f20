/**
 * A stand-in for a ClickHouse server's HTTP interface, for tests: a loopback HTTP server in a child
 * process that answers as ClickHouse does to @clickhouse/client (ping, query with FORMAT, command/exec,
 * insert, `param_<name>` binding, URL settings, database, Basic/header auth, error bodies and
 * X-ClickHouse-* headers, gzip) and runs the SQL on the embedded ClickHouse engine (chdb).
 *
 * The production client is pointed at `url` with `username`/`password` unchanged; this is the other
 * side of the wire.
 */
import { startChildServer, type ChildServer } from '../child-server.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LoggedRequest, StandInConfig } from './types.ts';

export type { LoggedRequest } from './types.ts';

export interface ClickHouseStandInOptions {
  /** The one user accepted; default 'default'. */
  username?: string;
  /** Default ''. */
  password?: string;
  /** chdb data folder, kept after close(); default: a temporary folder removed on close(). */
  dataDir?: string;
}

export interface ClickHouseStandIn {
  /** http://127.0.0.1:PORT */
  url: string;
  username: string;
  password: string;
  /** Every request received, in order of arrival (admin calls excluded; never the password). */
  requests(): Promise<LoggedRequest[]>;
  /** Empties the request log (not the data). */
  clearRequests(): Promise<void>;
  close(): Promise<void>;
}

const HERE = dirname(fileURLToPath(import.meta.url));
const SERVER = join(HERE, 'server.ts');
const REPO = resolve(HERE, '..', '..', '..');

export async function startClickHouseStandIn(opts: ClickHouseStandInOptions = {}): Promise<ClickHouseStandIn> {
  const ownDir = opts.dataDir === undefined ? await mkdtemp(join(tmpdir(), 'clickhouse-standin-')) : undefined;
  const config: StandInConfig = {
    dataDir: resolve(opts.dataDir ?? ownDir!),
    username: opts.username ?? 'default',
    password: opts.password ?? '',
  };
  const removeOwnDir = async () => {
    if (ownDir) await rm(ownDir, { recursive: true, force: true });
  };

  let server: ChildServer;
  try {
    server = await startChildServer({ name: 'ClickHouse stand-in', entry: SERVER, cwd: REPO, config, debug: Boolean(process.env.CLICKHOUSE_STANDIN_DEBUG) });
  } catch (error) {
    await removeOwnDir();
    throw error;
  }
  const port = server.port;

  const url = `http://127.0.0.1:${port}`;
  const adminCall = async (method: string, path: string): Promise<unknown> => {
    const res = await fetch(`${url}/_standin/${path}`, { method });
    if (!res.ok) throw new Error(`stand-in admin ${method} ${path}: ${res.status} ${await res.text()}`);
    return res.json();
  };
  let closed: Promise<void> | undefined;
  return {
    url,
    username: config.username,
    password: config.password,
    async requests() {
      return (await adminCall('GET', 'requests')) as LoggedRequest[];
    },
    async clearRequests() {
      await adminCall('POST', 'reset');
    },
    close() {
      closed ??= (async () => {
        await server.stop();
        await removeOwnDir();
      })();
      return closed;
    },
  };
}

