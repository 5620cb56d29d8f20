import { join } from 'node:path';
import { loadConfig, type AppConfig } from '../config/config.ts';
import { loadCatalog, type Catalog } from '../config/catalog.ts';
import { loadTrackingPlan, type TrackingPlan } from '../config/tracking-plan.ts';
import { ChdbEngine } from '../engine/chdb-engine.ts';
import type { GlobalOptions, CliIo } from './main.ts';
import { silentLogger, type Logger } from '../lib/logger.ts';

export async function loadSettings(opts: GlobalOptions, io: CliIo): Promise<{ config: AppConfig; catalog: Catalog; plan: TrackingPlan }> {
  const config = await loadConfig({ configPath: opts.config, timezone: opts.timezone, dataDir: opts.dataDir, privacyK: opts.privacyK, env: io.env });
  const catalog = await loadCatalog(config.catalogPath);
  // Read at start, so a broken plan is a one-line error before any work, as a broken catalog is.
  const plan = await loadTrackingPlan(config.trackingPlanPath);
  return { config, catalog, plan };
}

/** Opens the embedded engine in the store folder; always closed by `withEngine`, even on errors. */
export async function withEngine<T>(config: AppConfig, fn: (engine: ChdbEngine) => Promise<T>, logger: Logger = silentLogger): Promise<T> {
  const engine = await ChdbEngine.openIn(config.dataDir, { logger, waitSeconds: config.dataDirWaitSeconds, what: 'connect-metrics' });
  try {
    return await fn(engine);
  } finally {
    engine.close();
  }
}
