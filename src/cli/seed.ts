import type { CliIo } from './main.ts';
import type { Logger } from '../lib/logger.ts';
import { ConnectMetricsError, UsageError } from '../lib/errors.ts';
import { generateDemoEvents } from '../demo/generator.ts';
import { checkIngestionHost, isLoopbackHost, seedPostHog } from '../sinks/posthog-seed.ts';

export interface SeedOptions {
  host: string;
  projectKey: string;
  days: string;
  installations: string;
  seed: string;
  yesThisIsStaging?: boolean;
}

/** `connect-metrics seed`: the demo's synthetic stream, sent to a PostHog project with posthog-node. */
export async function seedCommand(opts: SeedOptions, io: CliIo, logger: Logger): Promise<void> {
  let url: URL;
  try {
    url = new URL(opts.host);
  } catch {
    throw new UsageError(`--host ${opts.host}: not a URL`, { hint: 'e.g. --host https://us.i.posthog.com (the ingestion host)' });
  }
  if (!isLoopbackHost(url) && !opts.yesThisIsStaging) {
    throw new UsageError(`--host ${url.host}: refusing to send synthetic events to a real PostHog project`, {
      hint: 'add --yes-this-is-staging if this project is a staging project made for trying things',
    });
  }
  if (opts.projectKey.startsWith('phx_')) {
    throw new UsageError('--project-key: that is a personal API key (phx_...); sending events needs the project API key (phc_...)');
  }
  if (!/^phc_[A-Za-z0-9_-]+$/.test(opts.projectKey)) {
    throw new UsageError('--project-key: expected the project API key (phc_ followed by letters and digits)');
  }
  const days = Number(opts.days);
  const installations = Number(opts.installations);
  const seed = Number(opts.seed);
  if (!Number.isInteger(days) || days < 1 || days > 400) throw new UsageError(`--days ${opts.days}: expected a whole number from 1 to 400`);
  if (!Number.isInteger(installations) || installations < 1 || installations > 100_000) {
    throw new UsageError(`--installations ${opts.installations}: expected a whole number from 1 to 100000`);
  }
  if (!Number.isInteger(seed)) throw new UsageError(`--seed ${opts.seed}: expected a whole number`);
  const unreachable = await checkIngestionHost(url.origin, opts.projectKey, io.fetch);
  if (unreachable) {
    throw new ConnectMetricsError(`seed: ${unreachable}; nothing was sent`, { hint: 'check --host (the ingestion host, e.g. https://us.i.posthog.com) and try again later' });
  }
  const end = new Date(Math.floor(io.clock.now().getTime() / 3_600_000) * 3_600_000);
  const start = new Date(end.getTime() - days * 86_400_000);
  logger.info(`seed: ${installations} installations, ${days} days to ${end.toISOString()}, to ${url.origin}`);
  const started = Date.now();
  const result = await seedPostHog(generateDemoEvents({ seed, start, end, installations }), { host: url.origin, projectKey: opts.projectKey, logger });
  const seconds = (Date.now() - started) / 1000;
  if (result.failedBatches > 0) {
    // The host failed during the run: not a usage error (exit 1).
    throw new ConnectMetricsError(`seed: ${result.failedBatches} batches were not accepted (of ${result.sent} events); see the warnings above`);
  }
  io.stdout(`sent ${result.sent} events in ${seconds.toFixed(1)} s\n`);
}
