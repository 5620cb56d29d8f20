/** `connect-metrics status`: the run ledger, per job: recent runs, outcomes, the next scheduled time. */
import { DateTime } from 'luxon';
import type { CliIo, GlobalOptions } from './main.ts';
import { UsageError } from '../lib/errors.ts';
import { loadSettings } from './session.ts';
import { Ledger, type RunRecord } from '../scheduler/ledger.ts';
import { nextFireTime, parseCron } from '../scheduler/cron.ts';
import { ledgerPath } from './serve.ts';
import { scheduledJobs } from '../jobs/scheduled.ts';
import { silentLogger } from '../lib/logger.ts';

export interface StatusOptions extends GlobalOptions {
  json?: boolean;
  runs: string;
}

export async function statusCommand(opts: StatusOptions, io: CliIo): Promise<void> {
  const count = Number(opts.runs);
  if (!Number.isInteger(count) || count < 1) throw new UsageError(`--runs ${opts.runs}: expected a whole number from 1`);
  const { config, catalog } = await loadSettings(opts, io);
  const ledger = await Ledger.open(ledgerPath(config.dataDir));
  const now = io.clock.now();
  const jobs = scheduledJobs({ config, catalog, clock: io.clock, logger: silentLogger });
  const ids = [...new Set([...jobs.map((j) => j.id), ...ledger.jobIds()])];
  const out = ids.map((id) => {
    const def = jobs.find((j) => j.id === id);
    const next = def ? nextFireTime(parseCron(def.schedule, def.timezone, def.scheduleSetting), now) : undefined;
    const runs = ledger.runs(id);
    const last = runs.slice(-count).reverse();
    const lastSuccess = [...runs].reverse().find(([, r]) => r.state === 'succeeded');
    return {
      job: id,
      schedule: def ? `${def.schedule} ${def.timezone}` : '(not configured)',
      next: next?.toISOString() ?? null,
      lastSuccess: lastSuccess ? { scheduledFor: lastSuccess[0], ...lastSuccess[1] } : null,
      failedForGood: runs.filter(([, r]) => r.state === 'failed' && !r.nextRetryAt).length,
      runs: last.map(([scheduledFor, r]) => ({ scheduledFor, ...r })),
    };
  });
  if (opts.json) {
    io.stdout(JSON.stringify({ ledger: ledger.path, now: now.toISOString(), jobs: out }, null, 2) + '\n');
    return;
  }
  const tz = config.timezone;
  // Scheduled runs are keyed by instant; backfill's by week (`2026-W47/UTC/files/csv`): shown as it is.
  const local = (key: string | null | undefined) => {
    if (!key) return '-';
    const at = DateTime.fromISO(key, { zone: tz });
    return at.isValid ? at.toFormat('ccc yyyy-MM-dd HH:mm') : key;
  };
  const lines: string[] = [`ledger: ${ledger.path}`, `times in ${tz}`, ''];
  for (const j of out) {
    lines.push(`${j.job}  (${j.schedule})  next: ${local(j.next)}${j.failedForGood ? `  FAILED RUNS: ${j.failedForGood}` : ''}`);
    if (!j.runs.length) lines.push('  no runs yet');
    for (const r of j.runs) lines.push(`  ${local(r.scheduledFor)}  ${describe(r)}`);
    lines.push('');
  }
  io.stdout(lines.join('\n'));
}

function describe(r: RunRecord): string {
  const attempts = r.attempts > 1 ? ` after ${r.attempts} attempts` : '';
  const took = r.durationMs !== undefined ? ` in ${(r.durationMs / 1000).toFixed(1)} s` : '';
  switch (r.state) {
    case 'succeeded':
      return `succeeded${attempts}${took} (${r.trigger})${r.summary ? `: ${r.summary}` : ''}`;
    case 'failed':
      return `failed (attempt ${r.attempts}): ${r.error ?? ''}${r.nextRetryAt ? `; retry at ${r.nextRetryAt}` : '; no retries left'}`;
    case 'skipped':
      return `skipped: ${r.reason ?? ''}`;
    case 'running':
      return `running since ${r.startedAt ?? '?'} (attempt ${r.attempts}; if the service is not running, it runs again at the next start)`;
    case 'queued':
      return 'queued';
  }
}
