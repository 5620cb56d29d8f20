/**
 * The run ledger: one JSON file recording, per job, each scheduled time and what became of it.
 * Written whole with write-then-rename (src/lib/atomic-write.ts), so a crash leaves the old or the new
 * file, never half of one. A record still `running` when the service starts belongs to a run that
 * was cut short (crash, kill -9, deadline at shutdown): it is retried.
 *
 * Keyed by job id and the scheduled instant (ISO, UTC), so a scheduled time runs at most once to
 * success however often the service restarts; the Slack metadata check covers the window between
 * posting and recording.
 */
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { dataFolderError } from '../lib/data-folder.ts';
import { writeFileAtomic } from '../lib/atomic-write.ts';
import { ConnectMetricsError } from '../lib/errors.ts';

/** queued: taken up, waiting for its turn; running: started (if found at start: cut short). */
export type RunState = 'queued' | 'running' | 'succeeded' | 'failed' | 'skipped';

export interface RunRecord {
  state: RunState;
  /** Attempts started so far (a run cut short counts). */
  attempts: number;
  /** How the run came about: at its time, caught up after downtime, a retry, or a backfill. */
  trigger: 'scheduled' | 'catch-up' | 'retry' | 'backfill';
  startedAt?: string;
  finishedAt?: string;
  durationMs?: number;
  error?: string;
  /** When a failed run is tried again; absent when retries are used up (it stays failed). */
  nextRetryAt?: string;
  /** Why a time was skipped (outside the catch-up window). */
  reason?: string;
  /** A short result from the job (report id, alerts posted). */
  summary?: string;
  /** Backfill: what the week was made from (the --events paths, or the PostHog project). */
  inputs?: string[];
  /** Backfill: the folder the week's report went to. */
  output?: string;
}

export interface JobLedger {
  /** When the scheduler first knew this job: times before are never caught up. */
  since: string;
  /** Cron times up to here have been taken up (queued or skipped): the catch-up starts after it. */
  checkedUntil?: string;
  runs: Record<string, RunRecord>;
}

export interface LedgerData {
  version: 1;
  jobs: Record<string, JobLedger>;
}

/** Runs kept per job (older ones are dropped when the file is written): about 2 years of a daily job. */
export const RUNS_KEPT = 800;

export class LedgerError extends ConnectMetricsError {}

export class Ledger {
  private data: LedgerData;
  private writing: Promise<void> = Promise.resolve();

  private constructor(
    readonly path: string,
    data: LedgerData,
  ) {
    this.data = data;
  }

  static async open(path: string): Promise<Ledger> {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return new Ledger(path, { version: 1, jobs: {} });
      throw error;
    }
    let data: LedgerData;
    try {
      data = JSON.parse(text) as LedgerData;
    } catch (error) {
      throw new LedgerError(`run ledger ${path}: not valid JSON (${(error as Error).message})`, {
        hint: 'it is written atomically, so this is damage from outside: move it aside and start again (missed runs before now are then not caught up)',
      });
    }
    if (data?.version !== 1 || typeof data.jobs !== 'object') throw new LedgerError(`run ledger ${path}: unknown format (version ${String(data?.version)})`);
    return new Ledger(path, data);
  }

  job(jobId: string): JobLedger | undefined {
    return this.data.jobs[jobId];
  }

  /** Registers a job the first time it is seen; returns its ledger. */
  ensureJob(jobId: string, since: Date): JobLedger {
    return (this.data.jobs[jobId] ??= { since: since.toISOString(), runs: {} });
  }

  get(jobId: string, scheduledFor: Date | string): RunRecord | undefined {
    return this.data.jobs[jobId]?.runs[typeof scheduledFor === 'string' ? scheduledFor : scheduledFor.toISOString()];
  }

  /** Records (replacing) the state of one run and writes the file. */
  async set(jobId: string, scheduledFor: Date | string, record: RunRecord): Promise<void> {
    const key = typeof scheduledFor === 'string' ? scheduledFor : scheduledFor.toISOString();
    // Keys of scheduled jobs are instants; others (backfill: week/timezone/source/sinks) are labels.
    const job = this.data.jobs[jobId] ?? this.ensureJob(jobId, Number.isNaN(Date.parse(key)) ? new Date(0) : new Date(key));
    job.runs[key] = record;
    await this.save();
  }

  /** Runs of a job, oldest scheduled time first. */
  runs(jobId: string): Array<[string, RunRecord]> {
    return Object.entries(this.data.jobs[jobId]?.runs ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }

  jobIds(): string[] {
    return Object.keys(this.data.jobs).sort();
  }

  snapshot(): LedgerData {
    return structuredClone(this.data);
  }

  /** Writes are chained so two never interleave; each writes the whole current state. */
  save(): Promise<void> {
    const next = this.writing.then(async () => {
      for (const job of Object.values(this.data.jobs)) {
        const keys = Object.keys(job.runs).sort();
        for (const k of keys.slice(0, Math.max(0, keys.length - RUNS_KEPT))) delete job.runs[k];
      }
      try {
        await writeFileAtomic(this.path, JSON.stringify(this.data, null, 1) + '\n');
      } catch (error) {
        // <dataDir>/scheduler/ledger.json: a full or read-only data folder says so, in one line.
        throw dataFolderError(error, dirname(dirname(this.path))) ?? error;
      }
    });
    this.writing = next.catch(() => undefined);
    return next;
  }
}
