/**
 * Issue 14 point 9: the data folder. Two processes on one data folder wait for each other (with a
 * message and a time limit) instead of the second failing at once; a read-only or full data folder
 * is one line naming the folder and what to do, never a stack trace or an input file blamed.
 *
 * The read-only and full cases need a small file system of their own (tmpfs): they run where this
 * process may mount one (root in CI containers) and are skipped elsewhere.
 */
import { join } from 'node:path';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { afterAll, describe, expect, it } from 'vitest';
import { claimDataFolder, DataFolderError, lockPath } from '../src/lib/data-folder.ts';
import { memoryLogger } from '../src/lib/logger.ts';
import { runCli, tempDir, writeExport } from './helpers/fixtures.ts';

/** A lock as another live process writes it: our parent (the test runner) is alive and not us. */
async function heldByParent(dataDir: string): Promise<number> {
  await mkdir(dataDir, { recursive: true });
  await writeFile(lockPath(dataDir), JSON.stringify({ pid: process.ppid, host: hostname(), what: 'report', since: '2026-12-01T08:00:00.000Z' }) + '\n');
  return process.ppid;
}

describe('two processes on one data folder', () => {
  it('the second waits, saying so once, and goes on when the first is done', async () => {
    const dataDir = join(await tempDir('cm-lock-'), 'data');
    const pid = await heldByParent(dataDir);
    const logger = memoryLogger();
    let sleeps = 0;
    const release = await claimDataFolder(dataDir, {
      logger,
      waitSeconds: 600,
      sleep: async () => {
        // the other process finishes during our second wait
        if (++sleeps === 2) await import('node:fs/promises').then((fs) => fs.unlink(lockPath(dataDir)));
      },
    });
    expect(sleeps).toBe(2);
    const warnings = logger.records.filter((r) => r.level === 'warn').map((r) => r.msg);
    expect(warnings).toEqual([`data folder ${dataDir} is in use by process ${pid} (report, since 2026-12-01T08:00:00.000Z); waiting up to 600 s for it to finish`]);
    expect(JSON.parse(await readFile(lockPath(dataDir), 'utf8'))).toMatchObject({ pid: process.pid });
    release();
    expect(existsSync(lockPath(dataDir))).toBe(false);
  });

  it('gives up after the time limit with one line naming the folder, the holder and what to do', async () => {
    const dataDir = join(await tempDir('cm-lock-'), 'data');
    const pid = await heldByParent(dataDir);
    let clock = 0;
    const error = await claimDataFolder(dataDir, {
      logger: memoryLogger(),
      waitSeconds: 5,
      now: () => clock,
      sleep: async () => {
        clock += 2000; // looks at 0, 2, 4 s; at 6 s the 5 s are over
      },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DataFolderError);
    expect((error as Error).message).toBe(`data folder ${dataDir} is still in use by process ${pid} (report, since 2026-12-01T08:00:00.000Z) after 6 s`);
    expect((error as DataFolderError).hint).toMatch(/wait for it to finish and run again, or pass another --data-dir/);
  });

  it('takes over the lock of a process that is gone, without waiting', async () => {
    const dataDir = join(await tempDir('cm-lock-'), 'data');
    await mkdir(dataDir, { recursive: true });
    const child = spawn(process.execPath, ['-e', '0']);
    const gone = await new Promise<number>((ok) => child.once('exit', () => ok(child.pid!)));
    await writeFile(lockPath(dataDir), JSON.stringify({ pid: gone, host: hostname(), what: 'report', since: '2026-12-01T08:00:00.000Z' }));
    const logger = memoryLogger();
    const release = await claimDataFolder(dataDir, { logger, sleep: async () => expect.fail('must not wait') });
    expect(logger.records.filter((r) => r.level === 'warn')).toEqual([]);
    release();
  });

  it('one process may claim its folder twice (report + downloads): the lock goes with the last release', async () => {
    const dataDir = join(await tempDir('cm-lock-'), 'data');
    const a = await claimDataFolder(dataDir, { logger: memoryLogger() });
    const b = await claimDataFolder(dataDir, { logger: memoryLogger() });
    a();
    expect(existsSync(lockPath(dataDir))).toBe(true);
    b();
    expect(existsSync(lockPath(dataDir))).toBe(false);
  });

  it('through the CLI: a report waits for the other process, then stops at the limit with one line (exit 1)', async () => {
    const dir = await tempDir('cm-lock-cli-');
    await writeExport(join(dir, 'events', 'e.jsonl'), [{ event: 'connect.a', distinct_id: 'a', timestamp: '2026-11-17T10:00:00Z' }]);
    const pid = await heldByParent(join(dir, 'data'));
    const run = await runCli(['report', '--week', '2026-W47', '--events', join(dir, 'events'), '--out', join(dir, 'out'), '--data-dir', join(dir, 'data')], {
      env: { CONNECT_METRICS_DATA_DIR_WAIT_SECONDS: '1' },
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`data folder ${join(dir, 'data')} is in use by process ${pid} (report, since 2026-12-01T08:00:00.000Z); waiting up to 1 s`);
    expect(run.stderr).toMatch(new RegExp(`^error: data folder ${join(dir, 'data')} is still in use by process ${pid} .* after [12] s$`, 'm'));
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(join(dir, 'out'))).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------------
// Read-only and full data folders (a tmpfs of our own)

const mounted: string[] = [];
function mountTmpfs(dir: string, options: string): boolean {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir], { stdio: 'ignore' });
    mounted.push(dir);
    return true;
  } catch {
    return false;
  }
}
afterAll(() => {
  for (const dir of mounted) execFileSync('umount', [dir], { stdio: 'ignore' });
});

describe('a data folder that cannot be written', () => {
  it('read-only: one line naming the folder and what to do (exit 1)', async (ctx) => {
    const dir = await tempDir('cm-ro-');
    const ro = join(dir, 'ro');
    await mkdir(ro);
    if (!mountTmpfs(ro, 'ro,size=1m')) return ctx.skip();
    await writeExport(join(dir, 'events', 'e.jsonl'), [{ event: 'connect.a', distinct_id: 'a', timestamp: '2026-11-17T10:00:00Z' }]);
    for (const dataDir of [ro, join(ro, 'data')]) {
      const run = await runCli(['report', '--week', '2026-W47', '--events', join(dir, 'events'), '--out', join(dir, 'out'), '--data-dir', dataDir]);
      expect(run.code).toBe(1);
      const errors = run.stderr.split('\n').filter((l) => l.startsWith('error:'));
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatch(new RegExp(`^error: data folder ${dataDir} (is|cannot be created: ${ro} is) on a read-only file system$`));
      expect(run.stderr).toMatch(/pass --data-dir \(or set CONNECT_METRICS_DATA_DIR\) to a writable folder/);
      expect(run.stderr).not.toMatch(/\n\s+at /);
    }
  });

  it('full: the data folder is named, not the input file being loaded (exit 1)', async (ctx) => {
    const dir = await tempDir('cm-full-');
    const full = join(dir, 'full');
    await mkdir(full);
    if (!mountTmpfs(full, 'size=3m')) return ctx.skip();
    // about 7 MB of events: more than the 3 MB the folder has
    const lines = Array.from({ length: 40_000 }, (_, i) => ({ uuid: `u${i}`, event: 'connect.a', distinct_id: `d${i % 50}`, timestamp: '2026-11-17T10:00:00Z', properties: { x: 'y'.repeat(50) } }));
    const events = await writeExport(join(dir, 'events', 'big.jsonl'), lines);
    const run = await runCli(['report', '--week', '2026-W47', '--events', join(dir, 'events'), '--out', join(dir, 'out'), '--data-dir', join(full, 'data')]);
    expect(run.code).toBe(1);
    const errors = run.stderr.split('\n').filter((l) => l.startsWith('error:'));
    expect(errors).toEqual([`error: data folder ${join(full, 'data')} is full (no space left on its disk)`]);
    expect(run.stderr).not.toContain(events);
    expect(run.stderr).toMatch(/free space there/);
  });
});
