/**
 * How a load of export files reports its progress: a plain log line per file (logs, CI, the
 * service), or a line redrawn in place on a terminal (files done of total, events, rate, time
 * left) once the load has taken more than a few seconds. The clock is injected, so tests can
 * drive both without waiting.
 */
import type { Logger } from '../lib/logger.ts';
import type { LoadedFile } from './event-store.ts';

export interface LoadProgress {
  /** Before the first file: how many files and bytes (as stored) are to be read. */
  start(total: { files: number; bytes: number }): void;
  /** After each file (the files of one many-file INSERT are reported together when it ends). */
  file(file: LoadedFile, bytes: number): void;
  end(): void;
}

/** One line per file, at info level: what was read and what was rejected. */
export function plainLoadProgress(logger: Logger): LoadProgress {
  let total = 0;
  let done = 0;
  return {
    start(t) {
      total = t.files;
      done = 0;
    },
    file(f) {
      done++;
      const rejected = Object.values(f.rejected).reduce((a, b) => a + b, 0);
      logger.info(`loaded ${f.path} (${done}/${total}): ${f.records} records, ${rejected} rejected`);
    },
    end() {},
  };
}

/** A terminal line is drawn only once the load has run this long (a quick load stays silent). */
const TERMINAL_AFTER_MS = 2000;

/**
 * The terminal variant: `write` is stderr of a TTY. Files done of total, events loaded, the rate,
 * and the time left estimated from the bytes still to read at the rate bytes have been read so far.
 */
export function terminalLoadProgress(write: (text: string) => void, now: () => Date): LoadProgress {
  let total = { files: 0, bytes: 0 };
  let started = 0;
  let files = 0;
  let bytes = 0;
  let events = 0;
  let drawn = false;
  const draw = () => {
    const elapsed = now().getTime() - started;
    if (elapsed < TERMINAL_AFTER_MS) return;
    const rate = events / (elapsed / 1000);
    const left =
      files >= total.files ? 'done' : bytes > 0 && total.bytes > bytes ? `about ${formatDuration(((total.bytes - bytes) / bytes) * elapsed)} left` : 'time left unknown';
    write(`\r\x1b[2Kloading events: ${files}/${total.files} files, ${events.toLocaleString('en-US')} events, ${Math.round(rate).toLocaleString('en-US')} events/s, ${left}`);
    drawn = true;
  };
  return {
    start(t) {
      total = t;
      started = now().getTime();
      files = bytes = events = 0;
      drawn = false;
    },
    file(f, size) {
      files++;
      bytes += size;
      events += f.records;
      draw();
    },
    end() {
      if (drawn) write('\n');
      drawn = false;
    },
  };
}

export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}
