/**
 * A stand-in for a ClickHouse server's HTTP interface, for tests: a loopback HTTP server in a child
 * process that answers as ClickHouse does to @clickhouse/client (ping, query with FORMAT, command/exec,
 * insert, `param_<name>` binding, URL settings, database, Basic/header auth, error bodies and
 * X-ClickHouse-* headers, gzip) and runs the SQL on the embedded ClickHouse engine (chdb).
 *
 * The production client is pointed at `url` with `username`/`password` unchanged; this is the other
 * side of the wire.
 */
import { spawn, type ChildProcess } from 'node:child_process';
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
const STARTUP_TIMEOUT_MS = 60_000;

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

  const child = spawn(process.execPath, ['--import', 'tsx', SERVER, JSON.stringify(config)], {
    cwd: REPO,
    stdio: ['pipe', 'pipe', 'pipe'],
    env: process.env,
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-20_000);
    if (process.env.CLICKHOUSE_STANDIN_DEBUG) process.stderr.write(chunk);
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));

  let port: number;
  try {
    port = await new Promise<number>((resolvePort, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`the ClickHouse stand-in did not start within ${STARTUP_TIMEOUT_MS} ms\n${stderr}`)), STARTUP_TIMEOUT_MS);
      child.stdout!.setEncoding('utf8');
      child.stdout!.on('data', (chunk: string) => {
        out += chunk;
        const m = /^listening (\d+)$/m.exec(out);
        if (m) {
          clearTimeout(timer);
          resolvePort(Number(m[1]));
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`the ClickHouse stand-in exited with code ${code} before listening\n${stderr}`));
      });
      child.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
  } catch (error) {
    await stop(child, exited);
    await removeOwnDir();
    throw error;
  }

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
        await stop(child, exited);
        await removeOwnDir();
      })();
      return closed;
    },
  };
}

/** Closes the child's stdin (its signal to exit), then SIGTERM, then SIGKILL. */
async function stop(child: ChildProcess, exited: Promise<number | null>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const within = (ms: number) => Promise.race([exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms))]);
  child.stdin?.end();
  if (await within(5000)) return;
  child.kill('SIGTERM');
  if (await within(3000)) return;
  child.kill('SIGKILL');
  await exited;
}
