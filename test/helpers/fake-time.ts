/**
 * Virtual time for scheduler tests: a clock and timers that fire only when the test moves time.
 * `advanceTo(t)` fires every timer due up to `t` in order, setting the clock to each timer's time
 * first, and lets the work each one starts run (`settle`) before the next.
 */
import type { Clock } from '../../src/lib/clock.ts';
import type { Timers } from '../../src/scheduler/timers.ts';

interface Pending {
  id: number;
  at: number;
  fn: () => void;
}

export class FakeTime implements Clock, Timers {
  private t: number;
  private seq = 0;
  private pending: Pending[] = [];

  constructor(start: Date | string) {
    this.t = new Date(start).getTime();
  }

  now(): Date {
    return new Date(this.t);
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const p = { id: ++this.seq, at: this.t + Math.max(0, ms), fn };
    this.pending.push(p);
    return p.id;
  }

  clearTimeout(handle: unknown): void {
    this.pending = this.pending.filter((p) => p.id !== handle);
  }

  /** The time of the next timer, if any. */
  nextAt(): Date | undefined {
    const next = [...this.pending].sort((a, b) => a.at - b.at || a.id - b.id)[0];
    return next ? new Date(next.at) : undefined;
  }

  /**
   * Moves time to `until`, firing timers in order; after each, awaits `settle()` (e.g. the
   * scheduler becoming idle) so the work a timer started finishes at that virtual instant.
   */
  async advanceTo(until: Date | string, settle: () => Promise<void> = async () => {}): Promise<void> {
    const end = new Date(until).getTime();
    for (;;) {
      const next = [...this.pending].sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!next || next.at > end) break;
      this.pending = this.pending.filter((p) => p !== next);
      this.t = Math.max(this.t, next.at);
      next.fn();
      await settle();
    }
    this.t = Math.max(this.t, end);
  }

  /** Drops all timers (a process that died). */
  reset(): void {
    this.pending = [];
  }
}
