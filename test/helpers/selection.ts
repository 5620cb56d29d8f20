/**
 * A selection of export files in a test's data folder, and the engine that reads every event of it
 * (no window, no derived state, no reused weeks): the reference the bounded engines are checked against.
 */
import type { ChdbEngine } from '../../src/engine/chdb-engine.ts';
import type { Engine } from '../../src/engine/engine.ts';
import { EventStore, type Selection } from '../../src/sources/event-store.ts';
import { discoverFiles } from '../../src/sources/discover.ts';
import { EXPORT_KINDS, exportFormatOf } from '../../src/sources/posthog-export.ts';
import { silentLogger } from '../../src/lib/logger.ts';

/** The store in `dataDir` (initialized), whose engine is `engine`. */
export async function openStore(engine: ChdbEngine, dataDir: string): Promise<EventStore> {
  const store = new EventStore(engine, dataDir, silentLogger);
  await store.init();
  return store;
}

/** Loads and selects the export files under `paths`. */
export async function selectExports(store: EventStore, paths: string[]): Promise<Selection> {
  const found = await discoverFiles(paths, (n) => exportFormatOf(n) !== undefined, { flag: '--events', kinds: EXPORT_KINDS });
  return store.select(await store.load(found.files));
}

/** Every event of the selection: the plain engine over its database. */
export function everyEventOf(engine: ChdbEngine, selection: () => Selection): Engine {
  return {
    name: 'embedded',
    execute: async (request) => {
      await engine.exec(`USE ${selection().database}`);
      return engine.execute(request);
    },
  };
}

