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
import { hasAnyPostHogSetting, posthogSettings, type AppConfig } from '../config/config.ts';
import { UsageError } from '../lib/errors.ts';
import type { Logger } from '../lib/logger.ts';
import { openFilesSource } from './files-source.ts';
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
  local(): ChdbEngine;
  close(): void;
}

export function chooseSource(config: AppConfig, source: string | undefined, events: string[] | undefined): SourceName {
  if (isClickHouseUrl(source)) return 'clickhouse';
  if (source !== undefined && !(SOURCES as readonly string[]).includes(source)) {
    throw new UsageError(`--source ${redact(source)}: expected posthog, files or clickhouse://user:pass@host:8123/db`);
  }
  if (source) return source as SourceName;
  if (events?.length) return 'files';
  return hasAnyPostHogSetting(config) ? 'posthog' : 'files';
}

export async function openSource(args: {
  config: AppConfig;
  source?: string | undefined;
  events?: string[] | undefined;
  logger: Logger;
  now: () => Date;
  fetch?: typeof fetch | undefined;
  /** How loading export files shows progress; default a plain log line per file. */
  progress?: LoadProgress | undefined;
}): Promise<OpenedSource> {
  const { config, logger } = args;
  const name = chooseSource(config, args.source, args.events);
  if (name === 'clickhouse') {
    const { engine, dataQuality } = await openClickHouseSource({
      url: args.source!,
      events: args.events ?? [],
      rules: config.downloads,
      logger,
      now: args.now,
      progress: args.progress,
    });
    let local: ChdbEngine | undefined;
    return {
      name,
      engine,
      dataQuality,
      requests: () => 0,
      local: () => (local ??= ChdbEngine.open(join(config.dataDir, 'clickhouse'))),
      close: () => {
        void engine.close();
        local?.close();
      },
    };
  }
  if (name === 'files') {
    if (!args.events?.length) {
      throw new UsageError('--events is required with --source files (no PostHog settings are configured)', {
        hint: 'pass --events PATH with PostHog batch-export files, or set POSTHOG_HOST, POSTHOG_PROJECT_ID and POSTHOG_API_KEY',
      });
    }
    const engine = ChdbEngine.open(join(config.dataDir, 'clickhouse'));
    try {
      const { dataQuality } = await openFilesSource(engine, { dataDir: config.dataDir, paths: args.events, logger, now: args.now, progress: args.progress });
      return { name, engine, dataQuality, requests: () => 0, local: () => engine, close: () => engine.close() };
    } catch (error) {
      engine.close();
      throw error;
    }
  }
  if (args.events?.length) {
    throw new UsageError('--events reads export files; it does not go with --source posthog', { hint: 'drop --events, or pass --source files' });
  }
  const settings = posthogSettings(config);
  let requests = 0;
  const posthog = new PostHogEngine({
    ...settings,
    logger,
    ...(args.fetch ? { fetch: args.fetch } : {}),
    onRequest: () => {
      requests++;
    },
  });
  const engine = new CachingEngine(posthog, { dir: join(config.dataDir, 'query-cache'), sourceId: posthog.sourceId, now: args.now, logger });
  const host = new URL(settings.host).host;
  let local: ChdbEngine | undefined;
  return {
    name,
    engine,
    dataQuality: emptyDataQuality(`PostHog project ${settings.projectId} at ${host}`),
    requests: () => requests,
    local: () => (local ??= ChdbEngine.open(join(config.dataDir, 'clickhouse'))),
    close: () => local?.close(),
  };
}
