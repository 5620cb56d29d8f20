/**
 * The data folder (`--data-dir`): one process at a time works in its embedded engine, and a folder
 * that cannot be written (read-only, full, not ours) is one line naming the folder and what to do,
 * never a stack trace or an input file blamed.
 *
 * The engine (ClickHouse in-process) locks its folder itself, but a second process then fails at
 * once. So a process first claims the folder with a lock file of its own (`engine.lock`: pid, host,
 * command, since) created with O_EXCL; a second process waits for it, saying so once, up to a time
 * limit. A lock left by a process that is gone (same host, pid not alive) is taken over.
 */
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { access, mkdir, open, readFile, stat, unlink } from 'node:fs/promises';
import { constants } from 'node:fs';
import { unlinkSync } from 'node:fs';
import { ConnectMetricsError } from './errors.ts';
import type { Logger } from './logger.ts';
import { sleep as abortableSleep } from './abort.ts';

/** The data folder cannot be used: read-only, full, or in use for longer than the wait. Exit 1. */
export class DataFolderError extends ConnectMetricsError {}

/** How long a second process waits for the folder by default (a weekly report takes a minute or two). */
export const DEFAULT_DATA_DIR_WAIT_SECONDS = 600;

export interface ClaimOptions {
  logger: Logger;
  /** What this process is doing, shown to a process that waits for it (`report`, `serve`). */
  what?: string;
  waitSeconds?: number;
  /** Pause between looks at the lock. Default 1 s. */
  pollMs?: number;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

interface Holder {
  pid: number;
  host: string;
  what: string;
  since: string;
}

/** Claims held by this process, per folder: a second claim in the same process shares the first. */
const held = new Map<string, number>();

export function lockPath(dataDir: string): string {
  return join(dataDir, 'engine.lock');
}

/**
 * Claims the data folder for this process; returns the release (synchronous: engines close
 * synchronously). Waits while another live process holds it, up to `waitSeconds`.
 */
export async function claimDataFolder(dataDir: string, options: ClaimOptions): Promise<() => void> {
  const path = lockPath(dataDir);
  const release = () => {
    const n = (held.get(dataDir) ?? 1) - 1;
    if (n > 0) return void held.set(dataDir, n);
    held.delete(dataDir);
    try {
      unlinkSync(path);
    } catch {
      // already gone: nothing to release
    }
  };
  if (held.has(dataDir)) {
    held.set(dataDir, held.get(dataDir)! + 1);
    return release;
  }
  const sleep = options.sleep ?? ((ms: number) => abortableSleep(ms));
  const now = options.now ?? Date.now;
  const waitMs = (options.waitSeconds ?? DEFAULT_DATA_DIR_WAIT_SECONDS) * 1000;
  const started = now();
  let told = false;
  try {
    await mkdir(dataDir, { recursive: true });
  } catch (error) {
    throw dataFolderError(error, dataDir) ?? (await whyNotCreated(dataDir, error));
  }
  for (;;) {
    try {
      const handle = await open(path, 'wx');
      try {
        const me: Holder = { pid: process.pid, host: hostname(), what: options.what ?? 'connect-metrics', since: new Date(now()).toISOString() };
        await handle.writeFile(JSON.stringify(me) + '\n');
      } finally {
        await handle.close();
      }
      held.set(dataDir, 1);
      return release;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw dataFolderError(error, dataDir) ?? error;
    }
    const holder = await readHolder(path);
    if (holder === undefined) {
      // Being written by the process that just created it; unreadable for long: left half-written, taken over.
      const age = await stat(path).then((st) => Date.now() - st.mtimeMs, () => 0);
      if (age > 5000) await unlink(path).catch(() => undefined);
      else await sleep(50);
      continue;
    }
    if (holder.host === hostname() && (!alive(holder.pid) || holder.pid === process.pid)) {
      // (Our own pid without a claim of ours: a lock from before a restart that reused the pid.)
      // A lock of a process that is gone (crash, kill -9): take it over.
      options.logger.debug(`data folder ${dataDir}: taking over the lock of process ${holder.pid}, which is gone`);
      await unlink(path).catch(() => undefined);
      continue;
    }
    const who = `process ${holder.pid}${holder.host !== hostname() ? ` on ${holder.host}` : ''} (${holder.what}, since ${holder.since})`;
    const waited = now() - started;
    if (waited >= waitMs) {
      throw new DataFolderError(`data folder ${dataDir} is still in use by ${who} after ${Math.round(waited / 1000)} s`, {
        hint: 'wait for it to finish and run again, or pass another --data-dir; if that process is gone, delete ' + path,
      });
    }
    if (!told) {
      options.logger.warn(`data folder ${dataDir} is in use by ${who}; waiting up to ${Math.round(waitMs / 1000)} s for it to finish`);
      told = true;
    }
    await sleep(Math.min(options.pollMs ?? 1000, Math.max(1, waitMs - waited)));
  }
}

/** Why the folder could not be created, from its nearest existing parent (a read-only mount answers ENOENT to mkdir -p). */
async function whyNotCreated(dataDir: string, error: unknown): Promise<Error> {
  let parent = dirname(dataDir);
  while (parent !== dirname(parent) && !(await stat(parent).then(() => true, () => false))) parent = dirname(parent);
  const denied = await access(parent, constants.W_OK).then(() => undefined, (e: unknown) => e);
  const reason = (denied ? dataFolderError(denied, parent) : undefined)?.message.replace(/^data folder \S+ /, '') ?? firstLine(error);
  return new DataFolderError(`data folder ${dataDir} cannot be created: ${parent} ${reason}`, {
    hint: 'pass --data-dir (or set CONNECT_METRICS_DATA_DIR) to a writable folder with room',
    cause: error,
  });
}

function firstLine(error: unknown): string {
  return ((error as Error)?.message ?? String(error)).split('\n')[0]!;
}

async function readHolder(path: string): Promise<Holder | undefined> {
  try {
    const h = JSON.parse(await readFile(path, 'utf8')) as Holder;
    return typeof h.pid === 'number' ? h : undefined;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const FULL = /ENOSPC|EDQUOT|No space left on device|Disk quota exceeded|NOT_ENOUGH_SPACE|not enough space/i;
const READ_ONLY = /EROFS|Read-only file system/i;
const DENIED = /EACCES|EPERM|Permission denied|Operation not permitted/i;

/**
 * The error as a problem of the data folder (full, read-only, not writable), with what to do; or
 * undefined when it is something else. Inputs are only ever read, so "no space" and "read-only" are
 * the data folder's; "permission denied" only when it names a path inside the folder (an input
 * file that cannot be read stays that file's error). Looks through `cause`s (the engine's error
 * inside an input-file error).
 */
export function dataFolderError(error: unknown, dataDir: string): DataFolderError | undefined {
  for (let e: unknown = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof DataFolderError) return e;
    const text = `${(e as NodeJS.ErrnoException).code ?? ''} ${(e as Error).message ?? String(e)}`;
    const path = (e as NodeJS.ErrnoException).path;
    const inFolder = (path !== undefined && (path === dataDir || path.startsWith(dataDir + '/'))) || text.includes(dataDir);
    const fix = `pass --data-dir (or set CONNECT_METRICS_DATA_DIR) to a writable folder with room`;
    if (FULL.test(text)) {
      return new DataFolderError(`data folder ${dataDir} is full (no space left on its disk)`, {
        hint: `free space there, or ${fix}; the event store (clickhouse/) is a cache that can be deleted, the ledger (scheduler/) and reports/ cannot`,
        cause: error,
      });
    }
    if (READ_ONLY.test(text)) return new DataFolderError(`data folder ${dataDir} is on a read-only file system`, { hint: fix, cause: error });
    if (DENIED.test(text) && inFolder) return new DataFolderError(`data folder ${dataDir} cannot be written by this user (permission denied)`, { hint: fix, cause: error });
  }
  return undefined;
}
