import { readFile } from 'node:fs/promises';
import { createHash, randomBytes } from 'node:crypto';
import { join, basename, dirname } from 'node:path';
import { mkdtemp, symlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import type { ChdbEngine } from '../engine/chdb-engine.ts';
import { firstLine } from '../engine/chdb-engine.ts';
import { writeFileAtomic } from '../lib/atomic-write.ts';
import { InputFileError } from '../lib/errors.ts';
import type { Logger } from '../lib/logger.ts';
import type { DiscoveredFile } from './discover.ts';
import type { SqlExecutor } from './cloudfront/logs.ts';
import { plainLoadProgress, type LoadProgress } from './load-progress.ts';
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
  /** The load (one `load()` call) whose partition of the store holds its records. */
  loadId: string;
  /** Records read (non-blank lines, or Parquet rows). */
  records: number;
  /** Records kept (may still be duplicates of records in other files). */
  accepted: number;
  rejected: Record<RejectReason, number>;
  /** The first few rejected records, with line numbers, for the data-quality section. */
  examples: Array<{ line: number; reason: RejectReason; text: string }>;
}

/** 2: the store keeps events in the selections' own shape, partitioned by load (see init). */
const MANIFEST_VERSION = 2;

interface Manifest {
  version: typeof MANIFEST_VERSION;
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
/**
 * Bytes (as stored, compressed) per many-file INSERT. Small hourly exports are read many at a time
 * (per-statement overhead dominates them); a file this size or larger is read by an INSERT of its
 * own, so that progress moves file by file and a failure names its file without a second pass.
 */
const BATCH_BYTES = 64 * 1024 * 1024;
/**
 * Settings of a JSON Lines INSERT: two threads sort and write the parts. With one (the default) the
 * engine sorts and writes a file's last blocks alone after reading it, a third of the load's CPU
 * (10M events, two shared cores, back to back: 39 s and 75 s with two, 65 s and 84 s with one).
 */
const PARALLEL_WRITE = ' SETTINGS max_insert_threads = 2';
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

/**
 * The names of EVENTS_COLUMNS, for selecting exactly the events shape from a selection's table, which
 * also carries the store's own columns (load_id, file_id, line, reject, raw).
 */
export const EVENTS_COLUMN_NAMES = EVENTS_COLUMNS.split(/,\s*\n/)
  .map((c) => c.trim().match(/^(`[^`]+`|\S+)/)![1]!)
  .join(', ');

/** How many past selections to keep: each is a copy of its events, so old ones are dropped. */
const KEEP_SELECTIONS = 3;

/**
 * The local event store: a cache of loaded export files in the embedded engine's data folder.
 * Files are identified by path, size and modification time, so a file is read once and read
 * again only when it changes. A report never reads the store as a whole: it asks for a
 * *selection* (exactly the files named on its command line), made once as its own `events`
 * table, deduplicated by uuid. The store holds events in that table's shape, one partition per
 * load, so a selection links the loads' parts instead of copying them (fillSelection).
 */
export class EventStore {
  private manifest: Manifest = emptyManifest();
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
      this.manifest = emptyManifest();
    }
    await this.engine.exec('CREATE DATABASE IF NOT EXISTS store');
    // A store written by an earlier version (one row order per file, selections copied row by row)
    // is read again into the current layout: its files are loaded anew on this run.
    const [old] = await this.engine.objects<{ n: number }>(
      "SELECT count() AS n FROM system.tables WHERE database = 'store' AND name = 'raw_events' AND name NOT IN (SELECT table FROM system.columns WHERE database = 'store' AND name = 'load_id')",
    );
    if (this.manifest.version !== MANIFEST_VERSION || Number(old?.n ?? 0) > 0) {
      if (Object.keys(this.manifest.files ?? {}).length) this.logger.info('the event store changed layout in this version; its files are loaded again');
      for (const s of Object.values(this.manifest.selections ?? {})) await this.engine.exec(`DROP DATABASE IF EXISTS ${s.database}`);
      await this.engine.exec('DROP TABLE IF EXISTS store.raw_events');
      this.manifest = emptyManifest();
    }
    // The selections' `events` shape (EVENTS_COLUMNS, sort order) plus where each record came from:
    // a selection is made by attaching whole partitions (one per load) to its own table, then
    // marking the rows it must not see as deleted; no event is copied (see select).
    await this.engine.exec(storeTableSql('store.raw_events'));
    // A store made before NO_MERGES: the same settings (selections made from now on inherit them).
    await this.engine.exec(`ALTER TABLE store.raw_events MODIFY SETTING ${NO_MERGES}`);
  }

  /**
   * Loads the files not loaded yet; returns every file's record (loaded now or earlier), in order.
   * Small JSON Lines files are read many at a time by one INSERT (per-file overhead dominates small
   * hourly exports), a large one by an INSERT of its own; when a many-file INSERT fails, its files
   * are loaded one by one, so the error names the file. Every file loaded is reported to `progress`
   * (a plain log line per file unless the caller draws a progress bar).
   */
  async load(files: DiscoveredFile[], progress: LoadProgress = plainLoadProgress(this.logger)): Promise<LoadedFile[]> {
    const fresh = files.filter((f) => !this.manifest.files[fileId(f)]);
    // One partition of the store per load: a selection attaches the partitions of its files.
    const loadId = `${this.now().toISOString().replace(/[-:.]/g, '')}-${randomBytes(4).toString('hex')}`;
    const batchable = fresh.filter((f) => exportFormatOf(basename(f.path)) === 'jsonl' && !GLOB_CHARS.test(f.path));
    const single = fresh.filter((f) => !batchable.includes(f));
    if (fresh.length) progress.start({ files: fresh.length, bytes: fresh.reduce((sum, f) => sum + f.size, 0) });
    const done = (batch: DiscoveredFile[]) => {
      for (const f of batch) progress.file(this.manifest.files[fileId(f)]!, f.size);
    };
    try {
      for (const batch of batches(batchable)) {
        try {
          await this.insertBatch(batch, loadId);
          await this.record(batch, loadId);
          done(batch);
        } catch (error) {
          this.logger.debug('batch load failed; loading its files one by one', { reason: firstLine(error) });
          await this.deleteRows(batch.map(fileId));
          for (const f of batch) {
            await this.loadOne(f, loadId);
            done([f]);
          }
        }
      }
      for (const f of single) {
        await this.loadOne(f, loadId);
        done([f]);
      }
    } finally {
      if (fresh.length) progress.end();
    }
    if (fresh.length) await this.saveManifest();
    return files.map((f) => this.manifest.files[fileId(f)]!);
  }

  /** One INSERT over `dir/{a.jsonl,b.jsonl.gz,...}` for files under one common folder. */
  private async insertBatch(batch: DiscoveredFile[], loadId: string): Promise<void> {
    const ids = batch.map(fileId);
    await this.clearLeftovers(ids);
    if (batch.length === 1) {
      // One file: its id is a parameter, and no mapping from the path is needed.
      await this.engine.exec(jsonlInsertSql(batch[0]!.path) + PARALLEL_WRITE, { file_id: ids[0]!, load_id: loadId });
      return;
    }
    const dir = commonDir(batch.map((f) => f.path));
    const rel = batch.map((f) => f.path.slice(dir.length + 1));
    const source = `${dir}/{${rel.join(',')}}`;
    await this.engine.exec(jsonlInsertSql(source, MANY_FILES_ID) + PARALLEL_WRITE, { paths: batch.map((f) => f.path), ids, load_id: loadId });
    const [unmapped] = await this.engine.objects<{ n: number }>("SELECT count() AS n FROM store.raw_events WHERE load_id = {load_id:String} AND file_id = ''", {
      load_id: loadId,
    });
    if (Number(unmapped?.n ?? 0) > 0) {
      await this.engine.exec("DELETE FROM store.raw_events WHERE load_id = {load_id:String} AND file_id = ''", { load_id: loadId });
      throw new Error('the engine read a path that is not in the batch');
    }
  }

  private async loadOne(file: DiscoveredFile, loadId: string): Promise<void> {
    const id = fileId(file);
    const format = exportFormatOf(basename(file.path));
    if (!format) throw new InputFileError(file.path, 'not a PostHog export file (.jsonl, .jsonl.gz or .parquet)');
    await this.clearLeftovers([id]);
    await withPlainPath(file.path, async (path) => {
      try {
        const sql = format === 'jsonl' ? jsonlInsertSql(path) + PARALLEL_WRITE : parquetInsertSql(path, await this.parquetColumns(path));
        await this.engine.exec(sql, { file_id: id, load_id: loadId });
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
    await this.record([file], loadId);
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
  private async record(files: DiscoveredFile[], loadId: string): Promise<void> {
    const found = await fileCounts(this.engine, 'store.raw_events', loadId, files.map(fileId));
    const loadedAt = this.now().toISOString();
    for (const file of files) {
      const id = fileId(file);
      this.manifest.files[id] = loadedFileOf({ ...file, id, format: exportFormatOf(basename(file.path))! }, loadId, loadedAt, found);
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
    const exists = known !== undefined && (await this.engine.hasTable(`${database}.events`));
    let reused = false;
    let events: number;
    let duplicates: number;
    if (known && exists) {
      reused = true;
      events = known.events;
      duplicates = known.duplicates;
    } else {
      await this.engine.exec(`DROP DATABASE IF EXISTS ${database}`);
      await this.engine.exec(`CREATE DATABASE ${database}`);
      await this.fillSelection(database, files, ids);
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

  /**
   * `database.events`: the store's table shape (EVENTS_COLUMNS, so query files run on it unchanged,
   * plus where each record came from), filled without copying a single event. The partitions of
   * the loads that hold the files are attached (the engine links their parts), then the rows the
   * selection must not see are marked deleted: rejected records, records of files outside the
   * selection that were loaded together with them, and every copy of a uuid after its first in
   * (file id, line) order (hideUnusable). Measured on a busy machine: at 10M events the old copy
   * (sorted by file and line, then LIMIT 1 BY uuid) took 216 s after a 280 s load; at 1M events
   * this takes about 1 s.
   */
  private async fillSelection(database: string, files: LoadedFile[], ids: string[]): Promise<void> {
    await this.engine.exec(`CREATE TABLE ${database}.events AS store.raw_events`);
    const parent = await this.parentSelection(ids);
    const loads = [...new Set(files.map((f) => f.loadId))].sort();
    if (!parent) {
      for (const loadId of loads) {
        await this.engine.exec(`ALTER TABLE ${database}.events ATTACH PARTITION ${sqlString(loadId)} FROM store.raw_events`);
      }
      await hideUnusable(this.engine, `${database}.events`, ids);
      return;
    }
    // Grown from a kept selection (last Monday's): its loads' parts come with what it hides.
    for (const loadId of loads.filter((l) => parent.loads.has(l))) {
      await this.engine.exec(`ALTER TABLE ${database}.events ATTACH PARTITION ${sqlString(loadId)} FROM ${parent.database}.events`);
    }
    await fillGrownSelection(this.engine, `${database}.events`, ids, loads.filter((l) => !parent.loads.has(l)));
    this.logger.debug('selection grown from a kept one', { selection: database, from: parent.database });
  }

  /**
   * A kept selection this one can grow from (src/sources/parent-selection.ts does the same for
   * derived state): every file of it selected here, and in each of its loads no file selected
   * here that it does not hold (its parts hide exactly what this selection must hide from them:
   * other files' rows, rejected records, and later copies of a uuid among its files, the same
   * copies as here, since file-id order among its files is the same). The one with most files.
   */
  private async parentSelection(ids: string[]): Promise<{ database: string; loads: Set<string> } | undefined> {
    const wanted = new Set(ids);
    const byLoad = new Map<string, string[]>();
    for (const f of Object.values(this.manifest.files)) byLoad.set(f.loadId, [...(byLoad.get(f.loadId) ?? []), f.id]);
    let best: { database: string; loads: Set<string>; files: number } | undefined;
    for (const s of Object.values(this.manifest.selections)) {
      if (s.files.length >= ids.length || !s.files.every((id) => wanted.has(id))) continue;
      const held = new Set(s.files);
      const loads = new Set(s.files.map((id) => this.manifest.files[id]?.loadId ?? ''));
      if (loads.has('')) continue;
      if (![...loads].every((l) => (byLoad.get(l) ?? []).every((id) => held.has(id) || !wanted.has(id)))) continue;
      if (best && best.files >= s.files.length) continue;
      if (!(await this.engine.hasTable(`${s.database}.events`))) continue;
      best = { database: s.database, loads, files: s.files.length };
    }
    return best;
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

/**
 * The store's table: EVENTS_COLUMNS (PostHog's HogQL names, so query files run on it unchanged) in
 * the order queries read them, plus where each record came from and why it was rejected. Partitioned
 * by load, so that a selection can take whole loads by attaching their parts. The engine never
 * merges its parts (NO_MERGES); a selection's table, made by `CREATE TABLE ... AS` it, inherits that.
 */
export function storeTableSql(name: string): string {
  return `CREATE TABLE IF NOT EXISTS ${name} (
        load_id String,
        file_id LowCardinality(String),
        line UInt64,
        reject LowCardinality(String),
        ${EVENTS_COLUMNS},
        raw String
      ) ENGINE = MergeTree PARTITION BY load_id ORDER BY (event, timestamp) SETTINGS ${NO_MERGES}`;
}

/**
 * No part may be merged (no merge is small enough): a load writes a few parts per file (24 for a
 * week of 10M events), each already sorted. Merging them again, in the store and once more in the
 * selection's attached copies (whose DELETE waited on those merges), cost the load a third more CPU
 * (10M events, 2 shared cores: 75 s of CPU without merges, 96-105 s with them), and the reports did
 * not gain from it: the five core queries took 15-16 s over the 24 unmerged parts, 17-18 s over 5
 * merged ones. Merges never cross partitions (loads) anyway.
 */
export const NO_MERGES = 'max_bytes_to_merge_at_max_space_in_pool = 1, max_bytes_to_merge_at_min_space_in_pool = 1';

/** A file id's position (from 1) in the bound `ids`; 0 for another file's. */
const FILE_INDEX = (fileId: string) => `transform(${fileId}, {ids:Array(String)}, arrayEnumerate({ids:Array(String)}), 0)`;

/**
 * Marks deleted, in a table of the store's shape, every row a report must not see: rejected
 * records, records of files other than `ids`, and every copy of a uuid after its first in
 * (file id, line) order. Duplicates are found in two steps so that only a uuid hash per record is
 * held in memory, not the records: hashes seen more than once, then the exact uuids among those.
 * The later copies are listed in a table of their own first: a DELETE whose condition reads the
 * table it deletes from did not finish on this engine. They are listed by the file's position in
 * `ids` (transform() maps each distinct file id once, not each row) and line: a set of number pairs
 * is looked up several times faster than one keyed by text (10M events: the DELETE took 5.1 s of CPU
 * with (file_id, line), 1.6 s with this).
 */
export async function hideUnusable(engine: SqlExecutor, table: string, ids: string[]): Promise<void> {
  const usable = "reject = '' AND file_id IN {ids:Array(String)}";
  const later = `${table}_later_copies`;
  await engine.exec(`DROP TABLE IF EXISTS ${later}`);
  await engine.exec(
    `CREATE TABLE ${later} ENGINE = Memory AS
     SELECT ${FILE_INDEX('copy.1')} AS file_index, copy.2 AS line FROM (
       SELECT arraySlice(arraySort(groupArray((file_id, line))), 2) AS later
       FROM ${table}
       WHERE ${usable} AND cityHash64(uuid) IN (
         SELECT h FROM ${table} WHERE ${usable} GROUP BY cityHash64(uuid) AS h HAVING count() > 1)
       GROUP BY uuid)
     ARRAY JOIN later AS copy`,
    { ids },
  );
  await engine.exec(
    `DELETE FROM ${table}
     WHERE reject != '' OR file_id NOT IN {ids:Array(String)} OR (${FILE_INDEX('file_id')}, line) IN (SELECT file_index, line FROM ${later})`,
    { ids },
  );
  await engine.exec(`DROP TABLE ${later}`);
}

/**
 * hideUnusable for a selection grown from a kept one (EventStore.fillSelection). The kept
 * selection's parts are attached with what they hide; the new loads' usable records are copied in
 * (a few per Monday), except the later copies of a uuid: among all its visible copies, old and new,
 * every one after the first in (file id, line) order. When a new file sorts before an old one, the
 * old copy is the later one and is hidden in its partition (a DELETE, which waits seconds for the
 * engine's background pool: 3-6 s at 104 weeks, so never run when nothing is to be hidden). At 104
 * weeks of history (10.7M events, 116k new): 0.95-1.06 s (1.5 CPU s) against 5.4 s from every file;
 * the same 10,689,423 events and 53,169 duplicates.
 */
export async function fillGrownSelection(engine: SqlExecutor, table: string, ids: string[], newLoads: string[]): Promise<void> {
  const usable = "reject = '' AND file_id IN {ids:Array(String)}";
  const fresh = `store.raw_events WHERE load_id IN {new_loads:Array(String)} AND ${usable}`;
  const later = `${table}_later_copies`;
  await engine.exec(`DROP TABLE IF EXISTS ${later}`);
  await engine.exec(
    `CREATE TABLE ${later} ENGINE = Memory AS
     SELECT ${FILE_INDEX('copy.1')} AS file_index, copy.2 AS line, copy.3 AS load_id FROM (
       SELECT arraySlice(arraySort(groupArray((file_id, line, load_id))), 2) AS later
       FROM (
           SELECT uuid, file_id, line, load_id FROM ${table}
           WHERE ${usable} AND cityHash64(uuid) IN (SELECT cityHash64(uuid) FROM ${fresh})
           UNION ALL
           SELECT uuid, file_id, line, load_id FROM ${fresh})
       GROUP BY uuid
       HAVING count() > 1)
     ARRAY JOIN later AS copy`,
    { ids, new_loads: newLoads },
  );
  await engine.exec(
    `INSERT INTO ${table}
     SELECT * FROM ${fresh}
         AND (${FILE_INDEX('file_id')}, line) NOT IN (SELECT file_index, line FROM ${later} WHERE load_id IN {new_loads:Array(String)})`,
    { ids, new_loads: newLoads },
  );
  const old = await engine.objects<{ load_id: string }>(`SELECT DISTINCT load_id FROM ${later} WHERE load_id NOT IN {new_loads:Array(String)}`, { new_loads: newLoads });
  for (const { load_id: loadId } of old) {
    await engine.exec(
      `DELETE FROM ${table} IN PARTITION ${sqlString(loadId)}
       WHERE (${FILE_INDEX('file_id')}, line) IN (SELECT file_index, line FROM ${later} WHERE load_id = {load:String})`,
      { ids, load: loadId },
    );
  }
  await engine.exec(`DROP TABLE ${later}`);
}

/** Each file's records by outcome, and its first rejected lines (for the data-quality section). */
export async function fileCounts(
  engine: SqlExecutor,
  table: string,
  loadId: string,
  ids: string[],
): Promise<{
  counts: Array<{ file_id: string; reject: string; n: number }>;
  examples: Array<{ file_id: string; line: number; reason: RejectReason; text: string }>;
}> {
  const counts = await engine.objects<{ file_id: string; reject: string; n: number }>(
    `SELECT file_id, reject, count() AS n FROM ${table}
     WHERE load_id = {load_id:String} AND file_id IN {ids:Array(String)} GROUP BY file_id, reject`,
    { ids, load_id: loadId },
  );
  const examples = await engine.objects<{ file_id: string; line: number; reason: RejectReason; text: string }>(
    `SELECT file_id, line, reject AS reason, raw AS text FROM ${table}
     WHERE load_id = {load_id:String} AND file_id IN {ids:Array(String)} AND reject != '' ORDER BY file_id, line LIMIT 5 BY file_id`,
    { ids, load_id: loadId },
  );
  return { counts, examples };
}

/** A file's record in the store from its counts. */
export function loadedFileOf(
  file: DiscoveredFile & { id: string; format: 'jsonl' | 'parquet' },
  loadId: string,
  loadedAt: string,
  found: Awaited<ReturnType<typeof fileCounts>>,
): LoadedFile {
  const rejected = Object.fromEntries(REJECT_REASONS.map((r) => [r, 0])) as Record<RejectReason, number>;
  let records = 0;
  let accepted = 0;
  for (const { reject, n } of found.counts.filter((c) => c.file_id === file.id)) {
    records += Number(n);
    if (reject === '') accepted += Number(n);
    else rejected[reject as RejectReason] = Number(n);
  }
  return {
    id: file.id,
    path: file.path,
    size: file.size,
    mtimeMs: file.mtimeMs,
    format: file.format,
    loadedAt,
    loadId,
    records,
    accepted,
    rejected,
    examples: found.examples.filter((e) => e.file_id === file.id).map((e) => ({ line: Number(e.line), reason: e.reason, text: e.text })),
  };
}

function emptyManifest(): Manifest {
  return { version: MANIFEST_VERSION, files: {}, selections: {} };
}

/** Files in INSERT batches: consecutive small files together, up to BATCH_FILES or BATCH_BYTES. */
function batches(files: DiscoveredFile[]): DiscoveredFile[][] {
  const out: DiscoveredFile[][] = [];
  let current: DiscoveredFile[] = [];
  let bytes = 0;
  for (const f of files) {
    if (current.length && (current.length >= BATCH_FILES || bytes + f.size > BATCH_BYTES)) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(f);
    bytes += f.size;
  }
  if (current.length) out.push(current);
  return out;
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
