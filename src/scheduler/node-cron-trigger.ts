/**
 * The production trigger: one node-cron task per job, in the job's timezone. node-cron only wakes
 * the scheduler; the scheduler decides what is due from its own schedule computation (cron.ts), so a
 * wake-up that comes late (a busy event loop) or twice does not lose or double a run.
 *
 * node-cron is loaded when `serve` starts. If it cannot be loaded, `serve` falls back to a timer on
 * the system clock (same schedule computation) and says so in the log.
 */
import type { Logger } from '../lib/logger.ts';
import { realTimers } from './timers.ts';
import { systemClock } from '../lib/clock.ts';
import { timerTrigger, type Trigger } from './scheduler.ts';

interface CronTask {
  stop(): void | Promise<void>;
  destroy?(): void | Promise<void>;
}
interface NodeCronModule {
  schedule(expression: string, fn: () => void, options: { timezone?: string; name?: string; noOverlap?: boolean }): CronTask;
}

export async function loadNodeCron(): Promise<NodeCronModule | undefined> {
  try {
    const specifier = 'node-cron';
    const mod = (await import(specifier)) as { default?: NodeCronModule } & NodeCronModule;
    return mod.default ?? mod;
  } catch {
    return undefined;
  }
}

export async function productionTrigger(logger: Logger): Promise<{ trigger: Trigger; name: string }> {
  const cron = await loadNodeCron();
  if (!cron) {
    logger.warn('node-cron is not installed; scheduling with a timer on the system clock instead (same schedules)');
    return { trigger: timerTrigger({ clock: systemClock, timers: realTimers }), name: 'timer' };
  }
  const tasks: CronTask[] = [];
  return {
    name: 'node-cron',
    trigger: {
      start(jobs, wake) {
        for (const job of jobs) {
          tasks.push(cron.schedule(job.definition.schedule, () => wake(), { timezone: job.definition.timezone, name: job.definition.id }));
        }
      },
      async stop() {
        for (const t of tasks) await (t.destroy ? t.destroy() : t.stop());
      },
    },
  };
}
