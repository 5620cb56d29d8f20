/**
 * The service's HTTP endpoint on loopback: GET /healthz and GET /metrics (Prometheus text format).
 * It runs in the scheduler's event loop, so any answer at all shows the loop is alive (the engine
 * runs queries asynchronously and does not block it; docs/operations.md).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Scheduler } from './scheduler.ts';
import { nextFireTime } from './cron.ts';
import type { Clock } from '../lib/clock.ts';

export function metricsText(scheduler: Scheduler, clock: Clock): string {
  const m = scheduler.jobMetrics();
  const running = scheduler.runningJob();
  const now = clock.now();
  const lines: string[] = [];
  const seconds = (d: Date) => (d.getTime() / 1000).toFixed(3);
  const family = (name: string, type: 'gauge' | 'counter', help: string, value: (job: string) => string | undefined) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const job of scheduler.jobs) {
      const id = job.definition.id;
      const v = value(id);
      if (v !== undefined) lines.push(`${name}{job="${id}"} ${v}`);
    }
  };
  family('connect_metrics_job_last_run_timestamp_seconds', 'gauge', 'Start of the last run of the job (Unix time).', (id) => {
    const d = m.get(id)?.lastRun;
    return d && seconds(d);
  });
  family('connect_metrics_job_last_success_timestamp_seconds', 'gauge', 'End of the last successful run of the job (Unix time).', (id) => {
    const d = m.get(id)?.lastSuccess;
    return d && seconds(d);
  });
  family('connect_metrics_job_last_duration_seconds', 'gauge', 'Duration of the last finished run of the job.', (id) => {
    const ms = m.get(id)?.lastDurationMs;
    return ms === undefined ? undefined : (ms / 1000).toFixed(3);
  });
  family('connect_metrics_job_failures_total', 'counter', 'Failed attempts of the job since the service started.', (id) => String(m.get(id)?.failures ?? 0));
  family('connect_metrics_job_runs_total', 'counter', 'Attempts started since the service started.', (id) => String(m.get(id)?.runs ?? 0));
  family('connect_metrics_job_skipped_total', 'counter', 'Scheduled times skipped since the service started (missed, outside the catch-up window).', (id) => String(m.get(id)?.skipped ?? 0));
  family('connect_metrics_job_running', 'gauge', '1 while a run of the job is going.', (id) => (running?.jobId === id ? '1' : '0'));
  family('connect_metrics_job_next_run_timestamp_seconds', 'gauge', 'Next scheduled time of the job (Unix time).', (id) => {
    const job = scheduler.jobs.find((j) => j.definition.id === id)!;
    const next = nextFireTime(job.cron, now);
    return next && seconds(next);
  });
  lines.push('# HELP connect_metrics_scheduler_up 1 while the scheduler takes up runs (0 while starting or stopping).', '# TYPE connect_metrics_scheduler_up gauge');
  lines.push(`connect_metrics_scheduler_up ${scheduler.state === 'running' ? 1 : 0}`);
  return lines.join('\n') + '\n';
}

export async function startHttp(scheduler: Scheduler, options: { port: number; host?: string; clock: Clock }): Promise<{ server: Server; port: number; url: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/healthz') {
      const ok = scheduler.state === 'running';
      const running = scheduler.runningJob();
      const body = JSON.stringify({
        status: ok ? 'ok' : scheduler.state,
        running: running ? { job: running.jobId, scheduledFor: running.scheduledFor.toISOString() } : null,
        lastActivity: scheduler.lastActivity?.toISOString() ?? null,
      });
      res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' }).end(body + '\n');
      return;
    }
    if (path === '/metrics') {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(metricsText(scheduler, options.clock));
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /healthz or /metrics\n');
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    server,
    port,
    url: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}
