/**
 * An S3-compatible server for tests: s3rver 3.7 in a child process on loopback, with the settings it
 * needs (docs: test-infra.md):
 * - it runs under `node --openssl-legacy-provider`, since its continuation tokens use DES and every
 *   listing of more than one page fails with 500 without it;
 * - it accepts only the access key S3RVER with the secret S3RVER (`credentials`);
 * - `list-fix.cjs` is preloaded: s3rver reports a common prefix (Delimiter '/') only when an
 *   object sits directly in it, which hides nested partition folders (`E1/2026/11/16/10/x.gz`);
 * - clients use path-style addressing, region us-east-1 and checksums only when required (the
 *   production client sets the last one itself whenever an endpoint is configured).
 * The production code is pointed at `endpoint` unchanged; this is the other side of the wire.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { S3Client } from '@aws-sdk/client-s3';

export interface S3StandIn {
  /** http://127.0.0.1:PORT */
  endpoint: string;
  /** The buckets created at start. */
  buckets: string[];
  /** The only credentials s3rver accepts. */
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** The client settings s3rver needs, besides the credentials. */
  clientOptions: { endpoint: string; region: string; forcePathStyle: true };
  /** Where s3rver keeps the objects (removed by close). */
  directory: string;
  close(): Promise<void>;
}

const STARTUP_TIMEOUT_MS = 20_000;
const LIST_FIX = join(dirname(fileURLToPath(import.meta.url)), 'list-fix.cjs');

export async function startS3StandIn(opts: { buckets?: string[] } = {}): Promise<S3StandIn> {
  const buckets = opts.buckets ?? ['logs'];
  const directory = await mkdtemp(join(tmpdir(), 's3-standin-'));
  const bin = join(dirname(createRequire(import.meta.url).resolve('s3rver/package.json')), 'bin', 's3rver.js');
  const args = ['--openssl-legacy-provider', '--require', LIST_FIX, bin, '-d', directory, '-a', '127.0.0.1', '-p', '0', '-s'];
  for (const b of buckets) args.push('--configure-bucket', b);
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  let port: number;
  try {
    port = await waitForPort(child);
  } catch (error) {
    child.kill('SIGKILL');
    process.off('exit', killOnExit);
    await rm(directory, { recursive: true, force: true });
    throw error;
  }
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    buckets,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    clientOptions: { endpoint, region: 'us-east-1', forcePathStyle: true },
    directory,
    async close() {
      process.off('exit', killOnExit);
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise<void>((r) => child.once('exit', () => r()));
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }
      await rm(directory, { recursive: true, force: true });
    },
  };
}

function waitForPort(child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => fail(new Error(`s3rver did not start within ${STARTUP_TIMEOUT_MS} ms: ${err || out}`)), STARTUP_TIMEOUT_MS);
    const fail = (error: Error) => {
      clearTimeout(timer);
      reject(error);
    };
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      const m = /S3rver listening on 127\.0\.0\.1:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      err += chunk;
      if (process.env.S3_STANDIN_DEBUG) process.stderr.write(chunk);
    });
    child.once('exit', (code, signal) => fail(new Error(`s3rver exited (${code ?? signal}) before listening: ${err || out}`)));
  });
}

export interface RecordedCall {
  command: string;
  input: Record<string, unknown>;
}

/**
 * Records every command the client sends (name and input), through the SDK's middleware stack:
 * what the production code asked for, as the server saw it, without replacing any of it.
 */
export function recordCalls(client: S3Client): RecordedCall[] {
  const calls: RecordedCall[] = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      calls.push({ command: String(context.commandName), input: { ...(args.input as Record<string, unknown>) } });
      return next(args);
    },
    { step: 'initialize', name: 'recordCalls' },
  );
  return calls;
}
