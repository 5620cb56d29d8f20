/**
 * Chooses and opens where events come from: export files through the embedded engine (the default
 * without credentials), or PostHog's Query API (the default when PostHog settings are present).
 * Both give an Engine that runs the same query files; the report cannot tell them apart.
 */
import { join } from 'node:path';
import type { Engine } from '../engine/engine.ts';
import { ChdbEngine } from '../engine/chdb-engine.ts';
import { PostHogEngine } from '../engine/posthog-engine.ts';
import { CachingEngine } from '../engine/query-cache.ts';
import { HorizonEngine } from '../engine/horizon.ts';
import { hasAnyPostHogSetting, posthogSettings, type AppConfig } from '../config/config.ts';
import { UsageError } from '../lib/errors.ts';
import { dataFolderError } from '../lib/data-folder.ts';
import type { Logger } from '../lib/logger.ts';
import { openFilesSource } from './files-source.ts';
import { selectionEngine } from './installation-state.ts';
import { isClickHouseUrl, openClickHouseSource } from './clickhouse-source.ts';
import { redact } from '../engine/clickhouse-server.ts';
import type { LoadProgress } from './load-progress.ts';
import { emptyDataQuality, type DataQuality } from '../reports/data-quality.ts';

export const SOURCES = ['posthog', 'files'] as const;
/** `clickhouse` is chosen by a URL: `--source clickhouse://user:pass@host:8123/db`. */
export type SourceName = (typeof SOURCES)[number] | 'clickhouse';

export interface OpenedSource {
  name: SourceName;
  engine: Engine;
  dataQuality: DataQuality;
  /** Requests sent to PostHog so far (0 for files). */
  requests(): number;
  /** The embedded engine, opened on first use (CDN logs are always counted locally). */
  local(): Promise<ChdbEngine>;
  close(): void;
}

export function chooseSource(config: AppConfig, source: string | undefined, events: string[] | undefined): SourceName {
  if (isClickHouseUrl(source)) return 'clickhouse';
  if (source !== undefined && !(SOURCES as readonly string[]).includes(source)) {
    throw new UsageError(`--source ${redact(source)}: expected posthog, files or clickhouse://user:pass@host:8123/db`);
  }
  if (source === 'posthog' && events?.length) {
    // Refused before anything runs (backfill, serve), not at the first week.
    throw new UsageError('--events reads export files; it does not go with --source posthog', { hint: 'drop --events, or pass --source files' });
  }
  if (source) return source as SourceName;
  if (events?.length) return 'files';
  return hasAnyPostHogSetting(config) ? 'posthog' : 'files';
}

/**
 * The source a command will read, refused at once when it has nothing to read: files without
 * --events (a report, `serve` at start rather than at Monday's run).
 */
export function requireSource(config: AppConfig, source: string | undefined, events: string[] | undefined): SourceName {
  const name = chooseSource(config, source, events);
  if (name === 'files' && !events?.length) {
    throw new UsageError('--events is required with --source files (no PostHog settings are configured)', {
      hint: 'pass --events PATH with PostHog batch-export files, or set POSTHOG_HOST, POSTHOG_PROJECT_ID and POSTHOG_API_KEY',
    });
  }
  return name;
}

export async function openSource(args: {
  config: AppConfig;
  source?: string | undefined;
  events?: string[] | undefined;
  logger: Logger;
  now: () => Date;
  fetch?: typeof fetch | undefined;
  /** How PostHog throttles are sat out: backfill waits them all (Infinity); tests inject the sleep. */
  throttle?: { maxWaitMs?: number; sleep?: (ms: number) => Promise<void> } | undefined;
  /** How loading export files shows progress; default a plain log line per file. */
  progress?: LoadProgress | undefined;
}): Promise<OpenedSource> {
  const { config, logger } = args;
  const name = requireSource(config, args.source, args.events);
  if (name === 'clickhouse') {
    const { engine, dataQuality } = await openClickHouseSource({
      url: args.source!,
      events: args.events ?? [],
      rules: config.downloads,
      logger,
      now: args.now,
      progress: args.progress,
    });
    let local: Promise<ChdbEngine> | undefined;
    return {
      name,
      engine,
      dataQuality,
      requests: () => 0,
      local: () => (local ??= openLocalEngine(config, logger)),
      close: () => {
        void engine.close();
        void local?.then((e) => e.close(), () => undefined);
      },
    };
  }
  if (name === 'files' && args.events?.length) {
    const engine = await openLocalEngine(config, logger);
    try {
      const { dataQuality, selection } = await openFilesSource(engine, { dataDir: config.dataDir, paths: args.events, logger, now: args.now, progress: args.progress });
      // Queries read their weeks plus the selection's derived per-installation state, and closed weeks
      // computed by an earlier run are reused (src/sources/installation-state.ts, src/engine/week-cache.ts).
      const events = selectionEngine(engine, selection.database, { dataDir: config.dataDir, logger });
      return { name, engine: events, dataQuality, requests: () => 0, local: async () => engine, close: () => engine.close() };
    } catch (error) {
      engine.close();
      // A full or read-only data folder is the folder's problem, not the input file's being loaded.
      throw dataFolderError(error, config.dataDir) ?? error;
    }
  }
  const settings = posthogSettings(config);
  let requests = 0;
  const posthog = new PostHogEngine({
    ...settings,
    logger,
    ...(args.fetch ? { fetch: args.fetch } : {}),
    maxThrottleWaitMs: args.throttle?.maxWaitMs ?? config.posthogMaxThrottleWaitMs,
    ...(args.throttle?.sleep ? { sleep: args.throttle.sleep } : {}),
    now: () => args.now().getTime(),
    onRequest: () => {
      requests++;
    },
  });
  // Look-backs bounded by history.horizonWeeks (the value of history_from, never the text); the cache
  // below it is keyed by the bounded value.
  const engine = new HorizonEngine(
    new CachingEngine(posthog, { dir: join(config.dataDir, 'query-cache'), sourceId: posthog.sourceId, now: args.now, logger }),
    config.horizonWeeks,
  );
  const host = new URL(settings.host).host;
  let local: Promise<ChdbEngine> | undefined;
  return {
    name,
    engine,
    dataQuality: emptyDataQuality(`PostHog project ${settings.projectId} at ${host}`),
    requests: () => requests,
    local: () => (local ??= openLocalEngine(config, logger)),
    close: () => void local?.then((e) => e.close(), () => undefined),
  };
}

/** The embedded engine in the data folder, once this process has it to itself (src/lib/data-folder.ts). */
export function openLocalEngine(config: AppConfig, logger: Logger): Promise<ChdbEngine> {
  return ChdbEngine.openIn(config.dataDir, { logger, waitSeconds: config.dataDirWaitSeconds, what: 'connect-metrics' });
}
