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

/**
 * The service's logger (`serve`, `backfill`): pino, one JSON object a line (time, level, msg and the
 * fields), or pino-pretty's readable lines for a terminal. Same Logger interface as the rest.
 */
export async function pinoLogger(options: { level?: LogLevel; format: 'json' | 'pretty'; fd?: number; name?: string }): Promise<Logger & { flush(): void }> {
  const { default: pino } = await import('pino');
  const fd = options.fd ?? 2;
  const stream =
    options.format === 'pretty'
      ? (await import('pino-pretty')).default({ destination: fd, sync: true, translateTime: 'SYS:yyyy-mm-dd HH:MM:ss.l o', ignore: 'pid,hostname' })
      : pino.destination({ fd, sync: true });
  const base = pino({ level: options.level ?? 'info', base: { name: options.name ?? 'connect-metrics' }, timestamp: pino.stdTimeFunctions.isoTime }, stream);
  const log = (at: LogLevel) => (msg: string, fields?: LogFields) => (fields ? base[at](fields, msg) : base[at](msg));
  return { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error'), flush: () => base.flush() };
}
