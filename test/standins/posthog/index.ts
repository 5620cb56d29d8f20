/**
 * A stand-in for PostHog's Query API (and capture `/batch/`), for tests: a loopback HTTP server in
 * a child process that answers as PostHog documents (statuses, error bodies, Retry-After, 202 and
 * polling, LIMIT and hasMore, rate limits), injects faults on request, and runs the HogQL it
 * receives on the embedded ClickHouse engine over a table shaped like PostHog's `events`.
 *
 * The production client is pointed at `url` unchanged; this is the other side of the wire.
 */
import { startChildServer, type ChildServer } from '../child-server.ts';
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
  /** max_execution_time of a personal-API-key query, default 10 000 (HogQLGlobalSettings); a `slow` fault beyond it is a 504. */
  maxExecutionMs?: number;
  /** The team's persons-on-events mode, default person_id_override_properties_on_events (PostHog Cloud's). */
  personsOnEventsMode?: string;
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
  /** Clears faults, the request log and rate counters (not data, not the clock). */
  reset(): Promise<void>;
  /** Moves the stand-in's clock forward (throttle windows pass without waiting); what a test's injected sleep calls. */
  advanceClock(ms: number): Promise<void>;
  close(): Promise<void>;
}

const HERE = dirname(fileURLToPath(import.meta.url));
const SERVER = join(HERE, 'server.ts');
const REPO = resolve(HERE, '..', '..', '..');

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
    maxExecutionMs: opts.maxExecutionMs ?? 10_000,
    personsOnEventsMode: opts.personsOnEventsMode ?? 'person_id_override_properties_on_events',
  };
  let server: ChildServer;
  try {
    server = await startChildServer({ name: 'PostHog stand-in', entry: SERVER, cwd: REPO, config, debug: Boolean(process.env.POSTHOG_STANDIN_DEBUG) });
  } catch (error) {
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
  const port = server.port;

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
    async advanceClock(ms) {
      await adminCall('POST', 'clock', { advanceMs: ms });
    },
    close() {
      closed ??= (async () => {
        await server.stop();
        await rm(dataDir, { recursive: true, force: true });
      })();
      return closed;
    },
  };
}

