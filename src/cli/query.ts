import type { CliIo, GlobalOptions } from './main.ts';
import type { Logger } from '../lib/logger.ts';
import { UsageError } from '../lib/errors.ts';
import { allQueries, findQuery } from '../queries/index.ts';
import { loadSettings } from './session.ts';
import { dayRange } from '../reports/period.ts';
import { openSource } from '../sources/open-source.ts';
import { terminalLoadProgress } from '../sources/load-progress.ts';
import { standardParams } from '../jobs/weekly-report.ts';
import { runQuery } from '../engine/run-query.ts';
import type { QueryDefinition } from '../engine/query.ts';
import { toCsv, formatCell } from '../render/csv.ts';
import { alignTable } from '../render/digest.ts';

export function queriesCommand(io: CliIo): void {
  for (const q of allQueries) {
    io.stdout(`${q.id}\n  ${q.description}\n  parameters: ${Object.keys(q.params).join(', ')}\n  columns: ${Object.keys(q.row.shape).join(', ')}\n`);
  }
}

/** `--param k=v`: the value is read according to the parameter's type (lists comma-separated). */
export function parseParamFlags(query: QueryDefinition, flags: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const flag of flags) {
    const eq = flag.indexOf('=');
    if (eq <= 0) throw new UsageError(`--param ${flag}: expected name=value`);
    const name = flag.slice(0, eq);
    const raw = flag.slice(eq + 1);
    const spec = query.params[name];
    if (!spec) {
      throw new UsageError(`--param ${name}: query ${query.id} has no parameter ${name}`, {
        hint: `its parameters: ${Object.keys(query.params).join(', ')}`,
      });
    }
    out[name] = spec.type === 'Array(String)' ? (raw === '' ? [] : raw.split(',')) : spec.type === 'Int64' || spec.type === 'Float64' ? Number(raw) : raw;
  }
  return out;
}

export async function queryCommand(
  id: string,
  opts: GlobalOptions & { from: string; to: string; events?: string[]; source?: string; param: string[]; format: 'table' | 'csv' | 'json' },
  io: CliIo,
  logger: Logger,
): Promise<void> {
  const query = findQuery(id);
  if (!query) {
    throw new UsageError(`unknown query ${id}`, { hint: `known queries: ${allQueries.map((q) => q.id).join(', ')}` });
  }
  const { config, catalog } = await loadSettings(opts, io);
  const range = dayRange(opts.from, opts.to, config.timezone);
  const values = { ...standardParams({ catalog, eventPrefix: config.eventPrefix }, range, config.timezone), ...parseParamFlags(query, opts.param) };
  const source = await openSource({
    config,
    source: opts.source,
    events: opts.events,
    logger,
    now: () => io.clock.now(),
    fetch: io.fetch,
    progress: io.stderrIsTTY ? terminalLoadProgress(io.stderr, () => io.clock.now()) : undefined,
  });
  try {
    const rows = (await runQuery(source.engine, query, values)) as Array<Record<string, unknown>>;
    const columns = Object.keys(query.row.shape);
    if (opts.format === 'json') {
      io.stdout(JSON.stringify(rows, null, 2) + '\n');
    } else if (opts.format === 'csv') {
      io.stdout(toCsv({ header: columns, rows: rows.map((r) => columns.map((c) => r[c] as string | number)) }));
    } else {
      const table = {
        title: query.id,
        header: columns,
        numeric: columns.map((c) => rows.some((r) => typeof r[c] === 'number')),
        rows: rows.map((r) => columns.map((c) => formatCell(r[c] as string | number))),
      };
      io.stdout(alignTable(table).join('\n') + `\n(${rows.length} rows)\n`);
    }
  } finally {
    source.close();
  }
}
