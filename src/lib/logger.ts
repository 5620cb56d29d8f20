/**
 * A small structured logger interface. The CLI writes human-readable lines to stderr (stdout is
 * for the report itself); tests pass a memory logger and assert on what was logged.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
}

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

function formatFields(fields: LogFields | undefined): string {
  if (!fields) return '';
  const parts = Object.entries(fields).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  return parts.length ? ` (${parts.join(' ')})` : '';
}

/** Human-readable lines on a stream (stderr by default), at or above `level`. */
export function streamLogger(level: LogLevel = 'info', write: (line: string) => void = (l) => process.stderr.write(l)): Logger {
  const log = (at: LogLevel) => (msg: string, fields?: LogFields) => {
    if (ORDER[at] < ORDER[level]) return;
    const tag = at === 'info' ? '' : `${at}: `;
    write(`${tag}${msg}${formatFields(fields)}\n`);
  };
  return { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
}

export interface MemoryLogger extends Logger {
  readonly records: Array<{ level: LogLevel; msg: string; fields?: LogFields }>;
}

/** Keeps every record in memory: for tests. */
export function memoryLogger(): MemoryLogger {
  const records: MemoryLogger['records'] = [];
  const log = (level: LogLevel) => (msg: string, fields?: LogFields) => {
    records.push(fields === undefined ? { level, msg } : { level, msg, fields });
  };
  return { records, debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
