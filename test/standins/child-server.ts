/**
 * Starts a test stand-in server as a child process (chdb allows one engine per process, and the test
 * process has its own): `node --import tsx <entry> <config-json>`, which prints `listening <port>`
 * once ready and exits when its stdin closes. Stopping closes stdin, then SIGTERM, then SIGKILL.
 */
import { spawn, type ChildProcess } from 'node:child_process';

export interface ChildServer {
  port: number;
  stop(): Promise<void>;
}

const STARTUP_TIMEOUT_MS = 60_000;

export async function startChildServer(options: { name: string; entry: string; cwd: string; config: unknown; debug: boolean }): Promise<ChildServer> {
  const child = spawn(process.execPath, ['--import', 'tsx', options.entry, JSON.stringify(options.config)], {
    cwd: options.cwd,
    stdio: ['pipe', 'pipe', 'pipe'],
    env: process.env,
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-20_000);
    if (options.debug) process.stderr.write(chunk);
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  try {
    const port = await new Promise<number>((resolvePort, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`the ${options.name} did not start within ${STARTUP_TIMEOUT_MS} ms\n${stderr}`)), STARTUP_TIMEOUT_MS);
      child.stdout!.setEncoding('utf8');
      child.stdout!.on('data', (chunk: string) => {
        out += chunk;
        const m = /^listening (\d+)$/m.exec(out);
        if (m) {
          clearTimeout(timer);
          resolvePort(Number(m[1]));
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`the ${options.name} exited with code ${code} before listening\n${stderr}`));
      });
      child.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
    return { port, stop: () => stop(child, exited) };
  } catch (error) {
    await stop(child, exited);
    throw error;
  }
}

async function stop(child: ChildProcess, exited: Promise<number | null>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const within = (ms: number) => Promise.race([exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms))]);
  child.stdin?.end();
  if (await within(5000)) return;
  child.kill('SIGTERM');
  if (await within(3000)) return;
  child.kill('SIGKILL');
  await exited;
}
