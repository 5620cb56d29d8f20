/**
 * Sends the demo generator's synthetic Connect event stream to a PostHog project through
 * posthog-node: for trying dashboards and queries on a staging project (or the test stand-in).
 * Login events set the installation's OS and versions as person properties ($set), as Connect does.
 */
import { PostHog } from 'posthog-node';
import type { ExportRecord } from '../demo/generator.ts';
import type { Logger } from '../lib/logger.ts';

export interface SeedResult {
  sent: number;
  /** Batches posthog-node reported as failed (it drops them after its retries). */
  failedBatches: number;
}

/** Person properties a login sets, from the login's own properties (implemented and draft names). */
export function personUpdates(record: ExportRecord): { $set?: Record<string, unknown>; $set_once?: Record<string, unknown> } {
  if (record.event !== 'connect.cluster.login') return {};
  const p = record.properties;
  const set: Record<string, unknown> = {};
  for (const key of ['connect.os', 'connect.arch', 'connect.os_version', 'connect.app_version', 'os', 'arch', 'connect_version']) {
    if (p[key] !== undefined) set[key] = p[key];
  }
  const version = p['connect.app_version'] ?? p['connect_version'];
  return { $set: set, ...(version !== undefined ? { $set_once: { 'connect.first_app_version': version } } : {}) };
}

export async function seedPostHog(
  records: Iterable<ExportRecord>,
  options: { host: string; projectKey: string; logger: Logger; flushEvery?: number },
): Promise<SeedResult> {
  let failedBatches = 0;
  const client = new PostHog(options.projectKey, {
    host: options.host,
    flushAt: 100,
    maxBatchSize: 100,
    flushInterval: 10_000,
    // Past timestamps: PostHog ingests them as a historical import instead of throttling them.
    historicalMigration: true,
    fetchRetryCount: 3,
    requestTimeout: 10_000,
  });
  client.on('error', (error: unknown) => {
    failedBatches++;
    options.logger.warn(`posthog-node: a batch failed: ${(error as Error)?.message ?? String(error)}`);
  });
  const flushEvery = options.flushEvery ?? 500;
  let sent = 0;
  try {
    for (const r of records) {
      client.capture({
        distinctId: r.distinct_id,
        event: r.event,
        properties: { ...r.properties, ...personUpdates(r) },
        timestamp: new Date(r.timestamp),
        uuid: r.uuid,
        disableGeoip: true,
      });
      sent++;
      // posthog-node drops events beyond its queue size (1000): flush regularly to keep it bounded.
      if (sent % flushEvery === 0) {
        await client.flush();
        if (sent % (flushEvery * 20) === 0) options.logger.info(`seed: ${sent} events sent`);
      }
    }
  } finally {
    await client.shutdown();
  }
  return { sent, failedBatches };
}

/**
 * Whether the ingestion host answers at all, before any event is queued: posthog-node retries a
 * failing host and then prints its own stack traces; a host that cannot be reached, or answers
 * 5xx, is one short error instead. An empty batch is sent (PostHog's `/batch/`, as posthog-node
 * posts it); any answer below 500 means the host is there.
 */
export async function checkIngestionHost(host: string, projectKey: string, fetchFn: typeof fetch = fetch): Promise<string | undefined> {
  try {
    const res = await fetchFn(new URL('/batch/', host), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ api_key: projectKey, batch: [], sent_at: new Date().toISOString() }),
      signal: AbortSignal.timeout(15_000),
    });
    await res.body?.cancel().catch(() => undefined);
    return res.status >= 500 ? `${host} answered HTTP ${res.status}` : undefined;
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    return `cannot reach ${host} (${cause?.code ?? cause?.message ?? (error as Error).message})`;
  }
}

/** Loopback hosts need no confirmation: nothing real can be there. */
export function isLoopbackHost(url: URL): boolean {
  const h = url.hostname.replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h);
}
