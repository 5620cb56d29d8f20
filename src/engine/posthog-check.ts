/**
 * `connect-metrics posthog check`: for someone who has just created a key, whether everything the
 * weekly report needs from PostHog is in place, one line per check with the fix for a failure.
 * Nothing is executed and no event is read: at most (number of queries + 3) requests.
 *
 *   1. GET /api/users/@me/            host (answers like PostHog) and key (not 401). A key with only
 *                                     query:read is refused this endpoint with 403 "missing required
 *                                     scope 'user:read'" (APIScopePermission, posthog/permissions.py):
 *                                     that still proves the key is a valid one.
 *   2. POST .../query/ `SELECT 1`     the query:read scope, the project id, the project's timezone and
 *                                     persons-on-events mode (the answer's `timezone`, `modifiers`).
 *                                     No table is read.
 *   3. POST .../query/ `SELECT 1`     with the modifiers every report query carries: PostHog knows them
 *                                     (HogQLQueryModifiers refuses unknown keys and values).
 *   4. POST .../query/ HogQLMetadata  per query: parsed, resolved and printed against the project's
 *                                     schema, not run (posthog/hogql/metadata.py).
 */
import type { QueryDefinition } from './query.ts';
import { inlineValues } from './hogql-values.ts';
import { PERSONS_ON_EVENTS_MODE, QUERY_MODIFIERS } from './posthog-engine.ts';

export interface CheckLine {
  check: string;
  ok: boolean;
  /** What was found, or what is wrong. */
  message: string;
  /** For a failure: what to do. */
  fix?: string;
  /** Not checked because an earlier check failed. */
  skipped?: boolean;
}

export interface PostHogCheckOptions {
  host: string;
  projectId: string;
  apiKey: string;
  queries: readonly QueryDefinition[];
  /** Sample values for each query's placeholders (a recent week). */
  values: Record<string, unknown>;
  fetch?: typeof fetch;
  timeoutMs?: number;
}

interface Answer {
  status: number;
  json: Record<string, unknown> | undefined;
  contentType: string;
}

const SETTINGS_PAGE = 'PostHog: Settings > Personal API keys';

export async function checkPostHog(o: PostHogCheckOptions): Promise<{ lines: CheckLine[]; requests: number }> {
  const doFetch = o.fetch ?? globalThis.fetch;
  const host = o.host.replace(/\/+$/, '');
  const lines: CheckLine[] = [];
  let requests = 0;
  const call = async (method: string, path: string, body?: unknown): Promise<Answer | { error: string }> => {
    requests++;
    try {
      const res = await doFetch(`${host}${path}`, {
        method,
        headers: { Authorization: `Bearer ${o.apiKey}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
        ...(body ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(o.timeoutMs ?? 30_000),
      });
      const text = await res.text();
      let json: Record<string, unknown> | undefined;
      try {
        const parsed: unknown = JSON.parse(text);
        if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) json = parsed as Record<string, unknown>;
      } catch {
        json = undefined;
      }
      return { status: res.status, json, contentType: res.headers.get('content-type') ?? '' };
    } catch (error) {
      const e = error as { name?: string; message?: string; cause?: { code?: string; message?: string } };
      return { error: e?.name === 'TimeoutError' ? 'no answer in time' : (e?.cause?.code ?? e?.cause?.message ?? e?.message ?? String(error)) };
    }
  };
  const skipped = (checks: string[], why: string) => {
    for (const check of checks) lines.push({ check, ok: false, skipped: true, message: `not checked (${why})` });
  };
  const detail = (a: Answer) => (typeof a.json?.detail === 'string' ? a.json.detail : `HTTP ${a.status}`);
  const LATER = ['scope', 'project', 'timezone', 'persons-on-events', 'modifiers', ...o.queries.map((q) => `query ${q.id}`)];

  // 1. Host and key.
  const me = await call('GET', '/api/users/@me/');
  if ('error' in me) {
    lines.push({ check: 'host', ok: false, message: `cannot reach ${host}: ${me.error}`, fix: 'check POSTHOG_HOST: https://us.posthog.com, https://eu.posthog.com or your own PostHog' });
    skipped(['key', ...LATER], 'host failed');
    return { lines, requests };
  }
  // PostHog answers JSON: a user, or an error {type, code, detail, attr}.
  const postHogLike = me.json !== undefined && (typeof me.json.detail === 'string' || typeof me.json.uuid === 'string');
  if (!postHogLike) {
    lines.push({
      check: 'host',
      ok: false,
      message: `${host} does not answer like PostHog (HTTP ${me.status}, ${me.contentType || 'no content type'})`,
      fix: 'POSTHOG_HOST is the app host (https://us.posthog.com or https://eu.posthog.com), not an ingestion host or a proxy',
    });
    skipped(['key', ...LATER], 'host failed');
    return { lines, requests };
  }
  lines.push({ check: 'host', ok: true, message: `PostHog answers at ${host}` });
  if (me.status === 401) {
    lines.push({ check: 'key', ok: false, message: `PostHog refused the key: ${detail(me)}`, fix: `POSTHOG_API_KEY is wrong, expired or revoked: create a personal API key with the query:read scope (${SETTINGS_PAGE})` });
    skipped(LATER, 'key failed');
    return { lines, requests };
  }
  lines.push({ check: 'key', ok: true, message: me.status === 200 && typeof me.json?.email === 'string' ? `personal API key of ${me.json.email}` : 'personal API key accepted' });

  // 2. Scope, project, timezone, persons-on-events mode: a query that reads no table.
  const probe = await call('POST', `/api/projects/${encodeURIComponent(o.projectId)}/query/`, {
    query: { kind: 'HogQLQuery', query: 'SELECT 1', modifiers: { convertToProjectTimezone: false } },
    name: 'posthog_check',
  });
  const queryChecks = ['modifiers', ...o.queries.map((q) => `query ${q.id}`)];
  if ('error' in probe) {
    lines.push({ check: 'scope', ok: false, message: `no answer from the query endpoint: ${probe.error}`, fix: 'run the check again; if it persists, check POSTHOG_HOST' });
    skipped(['project', 'timezone', 'persons-on-events', ...queryChecks], 'the query endpoint did not answer');
    return { lines, requests };
  }
  if (probe.status === 404) {
    lines.push({ check: 'scope', ok: false, skipped: true, message: 'not checked (project failed)' });
    lines.push({
      check: 'project',
      ok: false,
      message: `PostHog has no project ${o.projectId} for this key`,
      fix: 'POSTHOG_PROJECT_ID is the number in the project URL: https://us.posthog.com/project/<id>',
    });
    skipped(['timezone', 'persons-on-events', ...queryChecks], 'project failed');
    return { lines, requests };
  }
  if (probe.status === 403 && /does not have access to the requested project|access to the project/i.test(detail(probe))) {
    lines.push({ check: 'scope', ok: false, skipped: true, message: 'not checked (project failed)' });
    lines.push({
      check: 'project',
      ok: false,
      message: `the key may not use project ${o.projectId}: ${detail(probe)}`,
      fix: `add project ${o.projectId} to the key's projects (${SETTINGS_PAGE}), or check POSTHOG_PROJECT_ID`,
    });
    skipped(['timezone', 'persons-on-events', ...queryChecks], 'project failed');
    return { lines, requests };
  }
  if (probe.status === 403) {
    lines.push({ check: 'scope', ok: false, message: `the key cannot query: ${detail(probe)}`, fix: `give the key the query:read scope (${SETTINGS_PAGE}: edit the key, Query: Read)` });
    skipped(['project', 'timezone', 'persons-on-events', ...queryChecks], 'scope failed');
    return { lines, requests };
  }
  if (probe.status !== 200 || !probe.json) {
    lines.push({
      check: 'scope',
      ok: false,
      message: `the query endpoint answered ${probe.status}: ${detail(probe)}`,
      fix: probe.status === 429 ? 'PostHog throttled the key: run the check again later' : 'run the check again later; if it persists, see docs/posthog.md (errors)',
    });
    skipped(['project', 'timezone', 'persons-on-events', ...queryChecks], 'the query endpoint failed');
    return { lines, requests };
  }
  lines.push({ check: 'scope', ok: true, message: 'the key has query:read' });
  lines.push({ check: 'project', ok: true, message: `project ${o.projectId}` });
  const timezone = typeof probe.json.timezone === 'string' ? probe.json.timezone : undefined;
  lines.push({
    check: 'timezone',
    ok: true,
    message: `${timezone ? `the project's timezone is ${timezone}` : 'PostHog did not say the project timezone'}; reports use their own (--timezone), the queries turn convertToProjectTimezone off`,
  });
  const modifiers = (probe.json.modifiers ?? {}) as Record<string, unknown>;
  const mode = typeof modifiers.personsOnEventsMode === 'string' ? modifiers.personsOnEventsMode : undefined;
  lines.push({
    check: 'persons-on-events',
    ok: true,
    message: `${mode ? `the project's mode is ${mode}` : 'PostHog did not say the project mode'}; queries pin ${PERSONS_ON_EVENTS_MODE} (person properties as on each event, as the export files have them)`,
  });

  // 3. The modifiers the report pins.
  const pinned = await call('POST', `/api/projects/${encodeURIComponent(o.projectId)}/query/`, {
    query: { kind: 'HogQLQuery', query: 'SELECT 1', modifiers: QUERY_MODIFIERS },
    name: 'posthog_check_modifiers',
  });
  if ('error' in pinned || pinned.status !== 200) {
    lines.push({
      check: 'modifiers',
      ok: false,
      message: `PostHog refused ${JSON.stringify(QUERY_MODIFIERS)}: ${'error' in pinned ? pinned.error : `HTTP ${pinned.status}: ${detail(pinned)}`}`,
      fix: 'this PostHog does not know a modifier the report relies on: see docs/posthog.md (persons on events) before trusting person properties',
    });
  } else {
    lines.push({ check: 'modifiers', ok: true, message: `PostHog accepts ${Object.entries(QUERY_MODIFIERS).map(([k, v]) => `${k}=${String(v)}`).join(', ')}` });
  }

  // 4. Every query, checked by PostHog without running it.
  for (const q of o.queries) {
    const file = `src/queries/${q.id}.ts`;
    const answer = await call('POST', `/api/projects/${encodeURIComponent(o.projectId)}/query/`, {
      query: { kind: 'HogQLMetadata', language: 'hogQL', query: inlineValues(q.sql, o.values) },
      name: `posthog_check_${q.id}`,
    });
    if ('error' in answer || answer.status !== 200 || !answer.json) {
      const why = 'error' in answer ? answer.error : `HTTP ${answer.status}: ${detail(answer)}`;
      lines.push({ check: `query ${q.id}`, ok: false, message: `PostHog did not check it (${why})`, fix: 'run the check again later' });
      continue;
    }
    if (answer.json.isValid === true) {
      lines.push({ check: `query ${q.id}`, ok: true, message: 'PostHog parses and resolves it' });
      continue;
    }
    const errors = Array.isArray(answer.json.errors) ? (answer.json.errors as Array<{ message?: string }>) : [];
    lines.push({
      check: `query ${q.id}`,
      ok: false,
      message: `PostHog rejects ${file}: ${errors.map((e) => e.message).filter(Boolean).join('; ') || 'no reason given'}`,
      fix: `change ${file} to a form HogQL accepts (see docs/posthog.md); test/posthog-queries.test.ts checks it offline`,
    });
  }
  return { lines, requests };
}

/** One line per check: `PASS host  ...` / `FAIL scope  ... -> fix: ...` / `SKIP project  not checked (...)`. */
export function formatCheckLines(lines: CheckLine[]): string {
  const width = Math.max(...lines.map((l) => l.check.length));
  return lines.map((l) => `${l.ok ? 'PASS' : l.skipped ? 'SKIP' : 'FAIL'}  ${l.check.padEnd(width)}  ${l.message}${l.fix ? ` -> fix: ${l.fix}` : ''}\n`).join('');
}
