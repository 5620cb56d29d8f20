/**
 * Time for the scheduler, injected: a clock and timers. Real: the system clock and setTimeout.
 * Tests (the soak, restart tests) pass a virtual clock whose timers fire when the test moves time.
 */
import type { Clock } from '../lib/clock.ts';

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** setTimeout caps delays at about 24.8 days; longer waits are chained in one-day steps. */
const MAX_DELAY = 86_400_000;

export const realTimers: Timers = {
  setTimeout(fn, ms) {
    const handle: { t?: NodeJS.Timeout } = {};
    const arm = (left: number) => {
      handle.t = setTimeout(() => (left > MAX_DELAY ? arm(left - MAX_DELAY) : fn()), Math.min(left, MAX_DELAY));
    };
    arm(Math.max(0, ms));
    return handle;
  },
  clearTimeout(handle) {
    clearTimeout((handle as { t?: NodeJS.Timeout }).t);
  },
};

export interface SchedulerTime {
  clock: Clock;
  timers: Timers;
}
