import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { claimDataFolder, dataFolderError, type ClaimOptions } from '../lib/data-folder.ts';
import { Session } from 'chdb';
import type { Engine, EngineResult, ExecuteRequest } from './engine.ts';
import { toClickHousePlaceholders } from './params.ts';
import { ConnectMetricsError, QueryError } from '../lib/errors.ts';

interface JsonCompact {
  meta: Array<{ name: string; type: string }>;
  data: unknown[][];
}

/**
 * The embedded ClickHouse engine (chdb). chdb allows one session per process, so one instance is
 * created per process and passed around. Every query goes through the async API: a synchronous
 * chdb query blocks the event loop, which would freeze anything else in the process.
 */
export class ChdbEngine implements Engine {
  readonly name = 'embedded';
  private session: Session | undefined;

  private constructor(session: Session, readonly dataDir: string) {
    this.session = session;
  }

  static open(dataDir: string): ChdbEngine {
    try {
      mkdirSync(dataDir, { recursive: true });
    } catch (error) {
      throw dataFolderError(error, dataDir) ?? error;
    }
    let session: Session;
    try {
      session = new Session(dataDir);
    } catch (error) {
      throw new ConnectMetricsError(`cannot open the embedded engine in ${dataDir}: ${firstLine(error)}`, {
        hint: 'another connect-metrics process may be using this data folder; wait for it or pass another --data-dir',
        cause: error,
      });
    }
    return new ChdbEngine(session, dataDir);
  }

  /**
   * The engine in `<dataDir>/clickhouse`, after claiming the data folder: a second process waits for
   * the first (with a message, up to a time limit) instead of failing at once; a folder that cannot
   * be written is one line naming it. Closing the engine releases the claim.
   */
  static async openIn(dataDir: string, options: ClaimOptions): Promise<ChdbEngine> {
    const release = await claimDataFolder(dataDir, options);
    try {
      const engine = ChdbEngine.open(join(dataDir, 'clickhouse'));
      engine.release = release;
      return engine;
    } catch (error) {
      release();
      throw dataFolderError(error, dataDir) ?? error;
    }
  }

  private release: (() => void) | undefined;

  private get live(): Session {
    if (!this.session) throw new ConnectMetricsError('the embedded engine is closed');
    return this.session;
  }

  /** Runs a query file's SQL: `{name}` placeholders are rewritten to `{name:Type}` and bound. */
  async execute(request: ExecuteRequest): Promise<EngineResult> {
    let sql: string;
    try {
      sql = toClickHousePlaceholders(request.sql, request.specs);
    } catch (error) {
      throw new QueryError(request.queryId, firstLine(error));
    }
    try {
      return await this.rows(sql, request.values);
    } catch (error) {
      throw new QueryError(request.queryId, firstLine(error), { cause: error });
    }
  }

  /** Runs ClickHouse SQL with `{name:Type}` placeholders and returns columns and rows. */
  async rows(sql: string, values: Record<string, unknown> = {}): Promise<EngineResult> {
    const result = await this.live.queryBindAsync(sql, values, { format: 'JSONCompact' });
    const text = result.text();
    if (!text.trim()) return { columns: [], rows: [] };
    const parsed = JSON.parse(text) as JsonCompact;
    return { columns: parsed.meta.map((m) => m.name), types: parsed.meta.map((m) => m.type), rows: parsed.data };
  }

  /** Rows as objects keyed by column name (internal queries of the store). */
  async objects<T = Record<string, unknown>>(sql: string, values: Record<string, unknown> = {}): Promise<T[]> {
    const { columns, rows } = await this.rows(sql, values);
    return rows.map((row) => Object.fromEntries(columns.map((c, i) => [c, row[i]])) as T);
  }

  /** Whether `database.name` exists (a derived table is made once and then reused). */
  async hasTable(table: string): Promise<boolean> {
    const [database, name] = table.split('.') as [string, string];
    const [row] = await this.objects<{ n: number }>('SELECT count() AS n FROM system.tables WHERE database = {db:String} AND name = {name:String}', { db: database, name });
    return Number(row?.n) === 1;
  }

  /** A statement with no result (DDL, INSERT ... SELECT). */
  async exec(sql: string, values: Record<string, unknown> = {}): Promise<void> {
    await this.live.queryBindAsync(sql, values, { format: 'Null' });
  }

  close(): void {
    this.session?.close();
    this.session = undefined;
    this.release?.();
    this.release = undefined;
  }
}

/** chdb prefixes messages with "Query failed: Code: N. DB::Exception:"; keep the part a person can act on. */
export function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const cleaned = message.replace(/^Query failed:\s*/, '').replace(/^Code: \d+\. DB::Exception: /, '');
  return cleaned.split('\n')[0]!.replace(/\s*\(version [^)]*\)\s*$/, '').trim();
}
