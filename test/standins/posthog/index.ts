/**
 * A stand-in for PostHog's Query API (and capture `/batch/`), for tests: a loopback HTTP server in
 * a child process that answers as PostHog documents (statuses, error bodies, Retry-After, 202 and
 * polling, LIMIT and hasMore, rate limits), injects faults on request, and runs the HogQL it
 * receives on the embedded ClickHouse engine over a table shaped like PostHog's `events`.
 *
 * The production client is pointed at `url` unchanged; this is the other side of the wire.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FaultRule, LoggedRequest, StandInConfig } from './types.ts';

export type { FaultRule, LoggedRequest } from './types.ts';

export interface StandInOptions {
  /** PostHog batch-export files/folders to preload (jsonl/jsonl.gz/parquet). */
  eventsPaths?: string[];
  /** Default 4242. */
  projectId?: number;
  /** Default 'UTC'; HogQL's `timestamp` is in this timezone unless modifiers.convertToProjectTimezone is false. */
  projectTimezone?: string;
  /** Personal API key accepted, default 'phx_standin_key'. */
  apiKey?: string;
  /** Scopes of that key, default ['query:read']. */
  scopes?: string[];
  /** Project key accepted by /batch/, default 'phc_standin_project'. */
  projectApiKey?: string;
  /** Rows returned when the query has no LIMIT, default 100 (PostHog). */
  defaultLimit?: number;
  /** Cap on an explicit LIMIT, default 50000 (PostHog). */
  maxLimit?: number;
  /** Default 240; beyond: 429 throttled with Retry-After. */
  ratePerMinute?: number;
  /** Default 2400. */
  ratePerHour?: number;
  /** Default 3 running queries; beyond: 429 WITHOUT Retry-After. */
  maxConcurrent?: number;
  /** Artificial execution time per query, default 0. */
  queryDelayMs?: number;
}

export interface StandIn {
  /** http://127.0.0.1:PORT */
  url: string;
  projectId: number;
  apiKey: string;
  projectApiKey: string;
  setFaults(rules: FaultRule[]): Promise<void>;
  /** Every request received, in order of arrival (admin calls excluded; never the key itself). */
  requests(): Promise<LoggedRequest[]>;
  /** Clears faults, the request log and rate counters (not data). */
  reset(): Promise<void>;
  close(): Promise<void>;
}

const HERE = dirname(fileURLToPath(import.meta.url));
const SERVER = join(HERE, 'server.ts');
const REPO = resolve(HERE, '..', '..', '..');
const STARTUP_TIMEOUT_MS = 60_000;

export async function startPostHogStandIn(opts: StandInOptions = {}): Promise<StandIn> {
  const dataDir = await mkdtemp(join(tmpdir(), 'posthog-standin-'));
  const config: StandInConfig = {
    dataDir,
    eventsPaths: (opts.eventsPaths ?? []).map((p) => resolve(p)),
    projectId: opts.projectId ?? 4242,
    projectTimezone: opts.projectTimezone ?? 'UTC',
    apiKey: opts.apiKey ?? 'phx_standin_key',
    scopes: opts.scopes ?? ['query:read'],
    projectApiKey: opts.projectApiKey ?? 'phc_standin_project',
    defaultLimit: opts.defaultLimit ?? 100,
    maxLimit: opts.maxLimit ?? 50_000,
    ratePerMinute: opts.ratePerMinute ?? 240,
    ratePerHour: opts.ratePerHour ?? 2400,
    maxConcurrent: opts.maxConcurrent ?? 3,
    queryDelayMs: opts.queryDelayMs ?? 0,
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
    if (process.env.POSTHOG_STANDIN_DEBUG) process.stderr.write(chunk);
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));

  let port: number;
  try {
    port = await new Promise<number>((resolvePort, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`the PostHog stand-in did not start within ${STARTUP_TIMEOUT_MS} ms\n${stderr}`)), STARTUP_TIMEOUT_MS);
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
        reject(new Error(`the PostHog stand-in exited with code ${code} before listening\n${stderr}`));
      });
      child.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
  } catch (error) {
    await stop(child, exited);
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  }

  const url = `http://127.0.0.1:${port}`;
  const adminCall = async (method: string, path: string, body?: unknown): Promise<unknown> => {
    const res = await fetch(`${url}/_standin/${path}`, {
      method,
      ...(body !== undefined ? { body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } } : {}),
    });
    if (!res.ok) throw new Error(`stand-in admin ${method} ${path}: ${res.status} ${await res.text()}`);
    return res.json();
  };
  let closed: Promise<void> | undefined;
  return {
    url,
    projectId: config.projectId,
    apiKey: config.apiKey,
    projectApiKey: config.projectApiKey,
    async setFaults(rules) {
      // JSON has no Infinity: "every matching request" travels as -1.
      const wire = rules.map((r) => (r.times !== undefined && !Number.isFinite(r.times) ? { ...r, times: -1 } : r));
      await adminCall('POST', 'faults', { rules: wire });
    },
    async requests() {
      return (await adminCall('GET', 'requests')) as LoggedRequest[];
    },
    async reset() {
      await adminCall('POST', 'reset');
    },
    close() {
      closed ??= (async () => {
        await stop(child, exited);
        await rm(dataDir, { recursive: true, force: true });
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
