/**
 * A disk cache of query results for periods that are closed: a period whose end is more than
 * `closedAfterMs` (48 h) in the past, when late events have arrived (Connect batches events for up
 * to an hour; PostHog ingests with some delay). Re-running a report for a past week then sends no
 * request at all. The key is the source (host and project), the query id, its text and its values.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Engine, EngineResult, ExecuteRequest } from './engine.ts';
import { writeFileAtomic } from '../lib/atomic-write.ts';
import type { Logger } from '../lib/logger.ts';

export const CLOSED_AFTER_MS = 48 * 3600 * 1000;

export class CachingEngine implements Engine {
  readonly name: string;

  constructor(
    private readonly inner: Engine,
    private readonly options: { dir: string; sourceId: string; now: () => Date; logger: Logger; closedAfterMs?: number },
  ) {
    this.name = inner.name;
  }

  async execute(request: ExecuteRequest): Promise<EngineResult> {
    if (!this.isClosed(request.values)) return this.inner.execute(request);
    const key = createHash('sha256')
      .update(JSON.stringify([this.options.sourceId, request.queryId, request.sql, sortedEntries(request.values)]))
      .digest('hex')
      .slice(0, 32);
    const path = join(this.options.dir, `${request.queryId}-${key}.json`);
    try {
      const cached = JSON.parse(await readFile(path, 'utf8')) as EngineResult;
      this.options.logger.debug(`cache hit for ${request.queryId}`, { path });
      return cached;
    } catch {
      // not cached yet (or unreadable): ask the engine
    }
    const result = await this.inner.execute(request);
    await writeFileAtomic(path, JSON.stringify(result));
    return result;
  }

  /** Closed: the period's end (`to`) is more than 48 hours before now. */
  private isClosed(values: Record<string, unknown>): boolean {
    if (typeof values.to !== 'string') return false;
    const end = Date.parse(values.to.replace(' ', 'T').slice(0, 23) + 'Z');
    if (Number.isNaN(end)) return false;
    return this.options.now().getTime() - end > (this.options.closedAfterMs ?? CLOSED_AFTER_MS);
  }
}

function sortedEntries(values: Record<string, unknown>): Array<[string, unknown]> {
  return Object.entries(values).sort(([a], [b]) => (a < b ? -1 : 1));
}
