import { readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join, basename, dirname } from 'node:path';
import { mkdtemp, symlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import type { ChdbEngine } from '../engine/chdb-engine.ts';
import { firstLine } from '../engine/chdb-engine.ts';
import { writeFileAtomic } from '../lib/atomic-write.ts';
import { InputFileError } from '../lib/errors.ts';
import type { Logger } from '../lib/logger.ts';
import type { DiscoveredFile } from './discover.ts';
import {
  COMPRESSED_PARQUET_NAME,
  exportFormatOf,
  jsonlInsertSql,
  MANY_FILES_ID,
  parquetInsertSql,
  REJECT_REASONS,
  sqlString,
  type RejectReason,
} from './posthog-export.ts';

/** What the store knows about one loaded file. */
export interface LoadedFile {
  id: string;
  path: string;
  size: number;
  mtimeMs: number;
  format: 'jsonl' | 'parquet';
  loadedAt: string;
  /** Records read (non-blank lines, or Parquet rows). */
  records: number;
  /** Records kept (may still be duplicates of records in other files). */
  accepted: number;
  rejected: Record<RejectReason, number>;
  /** The first few rejected records, with line numbers, for the data-quality section. */
  examples: Array<{ line: number; reason: RejectReason; text: string }>;
}

interface Manifest {
  version: 1;
  files: Record<string, LoadedFile>;
  selections: Record<string, { database: string; files: string[]; events: number; duplicates: number; lastUsedAt: string }>;
}

export interface Selection {
  /** The database whose `events` table holds exactly the selected files' events, deduplicated by uuid. */
  database: string;
  files: LoadedFile[];
  /** Events after deduplication. */
  events: number;
  /** Accepted records dropped because another record had the same uuid. */
  duplicates: number;
  /** Whether the selection was reused from an earlier run. */
  reused: boolean;
}

/** Files per many-file INSERT: bounds the length of the statement. */
const BATCH_FILES = 256;
/** Characters that the engine's file() reads as a glob; such paths are loaded one by one, through a link. */
const GLOB_CHARS = /[*?{}[\],]/;

/**
 * PostHog's `events` table as HogQL names its columns (`person.properties` is the person properties
 * stored on the event): query files run on it unchanged. The PostHog stand-in uses it too.
 */
export const EVENTS_COLUMNS = `uuid String,
    event LowCardinality(String),
    distinct_id String,
    person_id String,
    properties String,
    \`person.properties\` String,
    timestamp DateTime64(6, 'UTC'),
    created_at Nullable(DateTime64(6, 'UTC')),
    elements_chain String`;

/** How many past selections to keep: each is a copy of its events, so old ones are dropped. */
const KEEP_SELECTIONS = 3;

/**
 * The local event store: a cache of loaded export files in the embedded engine's data folder.
 * Files are identified by path, size and modification time, so a file is read once and read
 * again only when it changes. A report never reads the store as a whole: it asks for a
 * *selection* (exactly the files named on its command line), materialized once as its own
 * `events` table, deduplicated by uuid.
 */
export class EventStore {
  private manifest: Manifest = { version: 1, files: {}, selections: {} };
  private readonly manifestPath: string;

  constructor(
    private readonly engine: ChdbEngine,
    dataDir: string,
    private readonly logger: Logger,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.manifestPath = join(dataDir, 'events-manifest.json');
  }

  async init(): Promise<void> {
    try {
      this.manifest = JSON.parse(await readFile(this.manifestPath, 'utf8')) as Manifest;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
        this.logger.warn(`the store's manifest ${this.manifestPath} is unreadable; loading files again`, { reason: firstLine(error) });
      }
      this.manifest = { version: 1, files: {}, selections: {} };
    }
    await this.engine.exec('CREATE DATABASE IF NOT EXISTS store');
    await this.engine.exec(`CREATE TABLE IF NOT EXISTS store.raw_events (
        file_id LowCardinality(String),
        line UInt64,
        reject LowCardinality(String),
        uuid String,
        event String,
        distinct_id String,
        person_id String,
        properties String,
        person_properties String,
        timestamp DateTime64(6, 'UTC'),
        created_at Nullable(DateTime64(6, 'UTC')),
        elements_chain String,
        raw String
      ) ENGINE = MergeTree ORDER BY (file_id, line)`);
  }

  /**
   * Loads the files not loaded yet; returns every file's record (loaded now or earlier), in order.
   * JSON Lines files are read many at a time by one INSERT (per-file overhead dominates small hourly
   * exports); when that INSERT fails, its files are loaded one by one, so the error names the file.
   */
  async load(files: DiscoveredFile[]): Promise<LoadedFile[]> {
    const fresh = files.filter((f) => !this.manifest.files[fileId(f)]);
    const batchable = fresh.filter((f) => exportFormatOf(basename(f.path)) === 'jsonl' && !GLOB_CHARS.test(f.path));
    const single = fresh.filter((f) => !batchable.includes(f));
    for (let i = 0; i < batchable.length; i += BATCH_FILES) {
      const batch = batchable.slice(i, i + BATCH_FILES);
      try {
        await this.insertBatch(batch);
        await this.record(batch);
      } catch (error) {
        this.logger.debug('batch load failed; loading its files one by one', { reason: firstLine(error) });
        await this.deleteRows(batch.map(fileId));
        for (const f of batch) await this.loadOne(f);
      }
    }
    for (const f of single) await this.loadOne(f);
    if (fresh.length) await this.saveManifest();
    return files.map((f) => this.manifest.files[fileId(f)]!);
  }

  /** One INSERT over `dir/{a.jsonl,b.jsonl.gz,...}` for files under one common folder. */
  private async insertBatch(batch: DiscoveredFile[]): Promise<void> {
    const ids = batch.map(fileId);
    await this.clearLeftovers(ids);
    const dir = commonDir(batch.map((f) => f.path));
    const rel = batch.map((f) => f.path.slice(dir.length + 1));
    const source = rel.length === 1 ? `${dir}/${rel[0]}` : `${dir}/{${rel.join(',')}}`;
    await this.engine.exec(jsonlInsertSql(source, MANY_FILES_ID), { paths: batch.map((f) => f.path), ids });
    const [unmapped] = await this.engine.objects<{ n: number }>("SELECT count() AS n FROM store.raw_events WHERE file_id = ''");
    if (Number(unmapped?.n ?? 0) > 0) {
      await this.engine.exec("DELETE FROM store.raw_events WHERE file_id = ''");
      throw new Error('the engine read a path that is not in the batch');
    }
  }

  private async loadOne(file: DiscoveredFile): Promise<void> {
    const id = fileId(file);
    const format = exportFormatOf(basename(file.path));
    if (!format) throw new InputFileError(file.path, 'not a PostHog export file (.jsonl, .jsonl.gz or .parquet)');
    await this.clearLeftovers([id]);
    await withPlainPath(file.path, async (path) => {
      try {
        const sql = format === 'jsonl' ? jsonlInsertSql(path) : parquetInsertSql(path, await this.parquetColumns(path));
        await this.engine.exec(sql, { file_id: id });
      } catch (error) {
        await this.deleteRows([id]).catch(() => {});
        // Files loaded before this one are recorded, so the next run does not read them again.
        await this.saveManifest();
        throw new InputFileError(file.path, `cannot be read as ${format === 'jsonl' ? 'JSON Lines' : 'Parquet'}: ${firstLine(error)}`, {
          hint: 'replace or remove the file and run again; files loaded before it are kept',
          cause: error,
        });
      }
    });
    await this.record([file]);
  }

  /** Rows of an earlier attempt that crashed mid-file would be counted twice: remove them first. */
  private async clearLeftovers(ids: string[]): Promise<void> {
    const [leftover] = await this.engine.objects<{ n: number }>(
      'SELECT count() AS n FROM store.raw_events WHERE file_id IN {ids:Array(String)}',
      { ids },
    );
    if (Number(leftover?.n ?? 0) > 0) await this.deleteRows(ids);
  }

  private async deleteRows(ids: string[]): Promise<void> {
    await this.engine.exec('DELETE FROM store.raw_events WHERE file_id IN {ids:Array(String)}', { ids });
  }

  /** Counts each file's records by outcome and keeps its first rejected lines, in the manifest. */
  private async record(files: DiscoveredFile[]): Promise<void> {
    const ids = files.map(fileId);
    const counts = await this.engine.objects<{ file_id: string; reject: string; n: number }>(
      'SELECT file_id, reject, count() AS n FROM store.raw_events WHERE file_id IN {ids:Array(String)} GROUP BY file_id, reject',
      { ids },
    );
    const examples = await this.engine.objects<{ file_id: string; line: number; reason: RejectReason; text: string }>(
      `SELECT file_id, line, reject AS reason, raw AS text FROM store.raw_events
       WHERE file_id IN {ids:Array(String)} AND reject != '' ORDER BY file_id, line LIMIT 5 BY file_id`,
      { ids },
    );
    const loadedAt = this.now().toISOString();
    for (const file of files) {
      const id = fileId(file);
      const rejected = Object.fromEntries(REJECT_REASONS.map((r) => [r, 0])) as Record<RejectReason, number>;
      let records = 0;
      let accepted = 0;
      for (const { reject, n } of counts.filter((c) => c.file_id === id)) {
        records += Number(n);
        if (reject === '') accepted += Number(n);
        else rejected[reject as RejectReason] = Number(n);
      }
      this.manifest.files[id] = {
        id,
        path: file.path,
        size: file.size,
        mtimeMs: file.mtimeMs,
        format: exportFormatOf(basename(file.path))!,
        loadedAt,
        records,
        accepted,
        rejected,
        examples: examples.filter((e) => e.file_id === id).map((e) => ({ line: Number(e.line), reason: e.reason, text: e.text })),
      };
      this.logger.debug(`loaded ${file.path}`, { records, accepted });
    }
  }

  private async parquetColumns(path: string): Promise<Map<string, string>> {
    const rows = await this.engine.objects<{ name: string; type: string }>(
      `DESCRIBE file(${sqlString(path)}, 'Parquet')`,
    );
    return new Map(rows.map((r) => [r.name, r.type]));
  }

  /**
   * Makes `events` (in the returned database) hold exactly these files' usable records, each uuid
   * once (the first copy in file-id, line order), and switches the engine to that database.
   */
  async select(files: LoadedFile[]): Promise<Selection> {
    const ids = [...new Set(files.map((f) => f.id))].sort();
    const key = createHash('sha256').update(ids.join('\n')).digest('hex').slice(0, 16);
    const database = `sel_${key}`;
    const known = this.manifest.selections[key];
    const exists = known
      ? (await this.engine.objects<{ n: number }>('SELECT count() AS n FROM system.tables WHERE database = {db:String} AND name = \'events\'', { db: database }))[0]
      : undefined;
    let reused = false;
    let events: number;
    let duplicates: number;
    if (known && Number(exists?.n) === 1) {
      reused = true;
      events = known.events;
      duplicates = known.duplicates;
    } else {
      await this.engine.exec(`DROP DATABASE IF EXISTS ${database}`);
      await this.engine.exec(`CREATE DATABASE ${database}`);
      // The column names are PostHog's HogQL names, so that query files run here unchanged:
      // `person.properties` is what HogQL calls the person properties stored on the event.
      await this.engine.exec(`CREATE TABLE ${database}.events (${EVENTS_COLUMNS}) ENGINE = MergeTree ORDER BY (event, timestamp)`);
      await this.engine.exec(
        `INSERT INTO ${database}.events
         SELECT uuid, event, distinct_id, person_id, properties, person_properties, timestamp, created_at, elements_chain
         FROM store.raw_events
         WHERE file_id IN {ids:Array(String)} AND reject = ''
         ORDER BY file_id, line
         LIMIT 1 BY uuid`,
        { ids },
      );
      const [row] = await this.engine.objects<{ n: number }>(`SELECT count() AS n FROM ${database}.events`);
      events = Number(row?.n ?? 0);
      const accepted = files.reduce((sum, f) => sum + f.accepted, 0);
      duplicates = accepted - events;
    }
    this.manifest.selections[key] = { database, files: ids, events, duplicates, lastUsedAt: this.now().toISOString() };
    await this.dropOldSelections(key);
    await this.saveManifest();
    await this.engine.exec(`USE ${database}`);
    return { database, files, events, duplicates, reused };
  }

  private async dropOldSelections(keep: string): Promise<void> {
    const old = Object.entries(this.manifest.selections)
      .filter(([k]) => k !== keep)
      .sort(([, a], [, b]) => (a.lastUsedAt < b.lastUsedAt ? 1 : -1))
      .slice(KEEP_SELECTIONS - 1);
    for (const [k, s] of old) {
      await this.engine.exec(`DROP DATABASE IF EXISTS ${s.database}`);
      // The view over it and its derived state (src/sources/installation-state.ts).
      await this.engine.exec(`DROP DATABASE IF EXISTS ${s.database}_window`);
      delete this.manifest.selections[k];
    }
  }

  private async saveManifest(): Promise<void> {
    await writeFileAtomic(this.manifestPath, JSON.stringify(this.manifest, null, 1));
  }
}

/** A file's identity in the store: its absolute path, size and modification time. */
export function fileId(file: DiscoveredFile): string {
  return createHash('sha256').update(`${file.path}\0${file.size}\0${file.mtimeMs}`).digest('hex').slice(0, 16);
}


/** The longest folder that holds all the paths. */
function commonDir(paths: string[]): string {
  let dir = dirname(paths[0]!);
  while (!paths.every((p) => p.startsWith(dir + '/')) && dir !== dirname(dir)) dir = dirname(dir);
  return dir === '/' ? '' : dir;
}

/**
 * The engine's file() treats `*`, `?`, `{a,b}` and `[..]` in a path as a glob, and a suffix like
 * `.zst` as outer compression; such a path is read through a plain-named symbolic link instead.
 */
async function withPlainPath<T>(path: string, fn: (path: string) => Promise<T>): Promise<T> {
  // A compressed-Parquet name (`.parquet.zst`) would make the engine decompress the whole file by
  // its suffix; the compression is inside the Parquet file, so it is read through a `.parquet` link.
  const compressedParquet = COMPRESSED_PARQUET_NAME.test(path);
  if (!GLOB_CHARS.test(path) && !compressedParquet) return fn(path);
  const dir = await mkdtemp(join(tmpdir(), 'connect-metrics-'));
  const ext = compressedParquet ? '.parquet' : (basename(path).match(/\.(jsonl(\.(gz|br|zst))?|parquet)$/i)?.[0] ?? '');
  const link = join(dir, `input${ext}`);
  try {
    await symlink(path, link);
    return await fn(link);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
