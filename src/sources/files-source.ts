import type { ChdbEngine } from '../engine/chdb-engine.ts';
import type { Logger } from '../lib/logger.ts';
import { discoverFiles } from './discover.ts';
import { EventStore, type Selection } from './event-store.ts';
import type { LoadProgress } from './load-progress.ts';
import { EXPORT_KINDS, exportFormatOf } from './posthog-export.ts';
import { dataQualityFromFiles, type DataQuality } from '../reports/data-quality.ts';

/**
 * The files source: PostHog batch-export files on disk, loaded into the embedded engine's store
 * (once per file), then narrowed to exactly the named files as the `events` table the queries read.
 */
export async function openFilesSource(
  engine: ChdbEngine,
  options: { dataDir: string; paths: string[]; logger: Logger; now?: () => Date; progress?: LoadProgress | undefined },
): Promise<{ dataQuality: DataQuality; selection: Selection }> {
  const { logger } = options;
  const discovery = await discoverFiles(options.paths, (name) => exportFormatOf(name) !== undefined, {
    flag: '--events',
    kinds: EXPORT_KINDS,
  });
  const store = new EventStore(engine, options.dataDir, logger, options.now);
  await store.init();
  const started = Date.now();
  const files = await store.load(discovery.files, options.progress);
  const selection = await store.select(files);
  logger.info(
    `events: ${selection.events} from ${files.length} files` +
      (selection.reused ? ' (cached)' : '') +
      ` in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
  if (discovery.ignored.length) logger.warn(`skipped ${discovery.ignored.length} files that are not event files`, { first: discovery.ignored[0] });
  return { dataQuality: dataQualityFromFiles(files, discovery.ignored, selection), selection };
}
