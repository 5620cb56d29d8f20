/**
 * Past one machine: the query files run on a ClickHouse server (`--source clickhouse://user:pass@host:8123/db`),
 * over either
 * - an `events` table in that database shaped like the store's (EVENTS_COLUMNS: PostHog's HogQL names),
 *   kept by whatever loads it there; or
 * - PostHog batch-export files in S3 (`--events s3://bucket/prefix`), which the server reads itself
 *   with s3(): the same INSERT as the local store's (the same checks, reject reasons with line numbers
 *   per file, the same deduplication by uuid), into a table of the store's shape in a database of
 *   its own (EVENTS_DATABASE), made again on every run. This process only lists the keys.
 */
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { ClickHouseServerEngine, redact } from '../engine/clickhouse-server.ts';
import { UsageError } from '../lib/errors.ts';
import type { Logger } from '../lib/logger.ts';
import type { DownloadRules } from '../config/config.ts';
import { createS3Client, isS3Url, parseS3Url } from './cloudfront/s3.ts';
import { fileCounts, hideUnusable, loadedFileOf, storeTableSql, type LoadedFile } from './event-store.ts';
import { EXPORT_KINDS, exportFormatOf, jsonlInsertSql, MANY_FILES_ID, parquetInsertSql, sqlString, type InsertTarget } from './posthog-export.ts';
import { plainLoadProgress, type LoadProgress } from './load-progress.ts';
import { dataQualityFromFiles, emptyDataQuality, type DataQuality } from '../reports/data-quality.ts';

/** The database the server loads export files into (dropped and made again on each run). */
export const EVENTS_DATABASE = 'connect_metrics_events';
/** Objects per many-object INSERT: bounds the length of the statement. */
const BATCH_OBJECTS = 256;
const GLOB_CHARS = /[*?{}[\],]/;
/** The columns the query files read from `events`. */
const REQUIRED_COLUMNS = ['uuid', 'event', 'distinct_id', 'properties', 'person.properties', 'timestamp'];

export function isClickHouseUrl(value: string | undefined): boolean {
  return value !== undefined && /^clickhouses?:\/\//i.test(value);
}

export interface ClickHouseSourceOptions {
  url: string;
  /** Empty: the `events` table of the URL's database. Else exactly one `s3://bucket/prefix`. */
  events: string[];
  /** S3 client settings and how the server reaches the bucket (shared with the downloads' settings). */
  rules: Pick<DownloadRules, 's3' | 'clickhouse'>;
  logger: Logger;
  now: () => Date;
  progress?: LoadProgress | undefined;
  /** The S3 client (tests, or a caller that has one); default from `rules.s3`. */
  s3Client?: S3Client;
}

export async function openClickHouseSource(options: ClickHouseSourceOptions): Promise<{ engine: ClickHouseServerEngine; dataQuality: DataQuality }> {
  const server = ClickHouseServerEngine.fromUrl(options.url, undefined, '--source');
  const where = `${redact(options.url)}`;
  try {
    if (!options.events.length) {
      await checkEventsTable(server, where);
      return { engine: server, dataQuality: emptyDataQuality(`ClickHouse table ${server.database}.events on ${where}`) };
    }
    const [url, ...more] = options.events;
    if (!url || more.length || !isS3Url(url)) {
      throw new UsageError('--events with --source clickhouse://: give exactly one s3://bucket/prefix (the server reads the files itself)', {
        hint: 'local export files are loaded by the embedded engine: --source files --events PATH',
      });
    }
    const loaded = await loadFromS3(server, url, options, where);
    return loaded;
  } catch (error) {
    await server.close();
    throw error;
  }
}

async function checkEventsTable(server: ClickHouseServerEngine, where: string): Promise<void> {
  const columns = await server
    .objects<{ name: string }>("SELECT name FROM system.columns WHERE database = currentDatabase() AND table = 'events'")
    .catch((error: unknown) => {
      const cause = (error as { cause?: { type?: string } }).cause;
      if (cause?.type === 'UNKNOWN_DATABASE') {
        throw new UsageError(`--source ${where}: there is no database ${server.database} on the server`);
      }
      throw error;
    });
  if (!columns.length) {
    throw new UsageError(`--source ${where}: there is no table events in database ${server.database}`, {
      hint: 'create it with the store\'s columns (docs/operations.md), or pass --events s3://bucket/prefix with PostHog export files',
    });
  }
  const names = new Set(columns.map((c) => c.name));
  const missing = REQUIRED_COLUMNS.filter((c) => !names.has(c));
  if (missing.length) {
    throw new UsageError(`--source ${where}: table ${server.database}.events lacks column(s) ${missing.join(', ')}`, {
      hint: 'its columns must be the store\'s (EVENTS_COLUMNS in src/sources/event-store.ts, see docs/operations.md)',
    });
  }
}

async function loadFromS3(
  server: ClickHouseServerEngine,
  url: string,
  options: ClickHouseSourceOptions,
  where: string,
): Promise<{ engine: ClickHouseServerEngine; dataQuality: DataQuality }> {
  const { bucket, prefix } = parseS3Url(url);
  const client = options.s3Client ?? createS3Client(options.rules.s3 ?? {});
  const listed = await listObjects(client, bucket, prefix);
  const objects = listed.filter((o) => exportFormatOf(o.key.slice(o.key.lastIndexOf('/') + 1)) !== undefined);
  const ignored = listed.filter((o) => !objects.includes(o)).map((o) => `s3://${bucket}/${o.key}`);
  if (!objects.length) throw new UsageError(`--events ${url}: no ${EXPORT_KINDS} under this prefix`);
  const odd = objects.find((o) => GLOB_CHARS.test(o.key));
  if (odd) {
    // s3() reads such a key as a pattern; there is no plain-name link to take as with local files.
    throw new UsageError(`--events ${url}: s3://${bucket}/${odd.key} has a character s3() reads as a pattern (* ? { } [ ] ,)`, {
      hint: 'rename the object, or load the files locally with --source files',
    });
  }
  const ch = options.rules.clickhouse ?? {};
  const s3 = options.rules.s3 ?? {};
  const baseUrl = ch.s3BaseUrl ?? (s3.endpoint ? `${s3.endpoint.replace(/\/+$/, '')}/${bucket}` : `https://${bucket}.s3.${s3.region ?? (await client.config.region())}.amazonaws.com`);
  const credentials = ch.passCredentials ? await client.config.credentials() : undefined;
  const auth = credentials ? `${sqlString(credentials.accessKeyId)}, ${sqlString(credentials.secretAccessKey)}, ` : '';
  const table = `${EVENTS_DATABASE}.events`;
  const target: InsertTarget = {
    into: table,
    reader: (source, format, structure) => `s3(${sqlString(source)}, ${auth}'${format}'${structure ? `, '${structure}'` : ''})`,
  };

  const started = Date.now();
  await server.exec(`DROP DATABASE IF EXISTS ${EVENTS_DATABASE}`);
  await server.exec(`CREATE DATABASE ${EVENTS_DATABASE}`);
  await server.exec(storeTableSql(table));
  const loadId = 'run';
  const loadedAt = options.now().toISOString();
  const progress = options.progress ?? plainLoadProgress(options.logger);
  const files: LoadedFile[] = [];
  progress.start({ files: objects.length, bytes: objects.reduce((s, o) => s + o.size, 0) });
  try {
    const jsonl = objects.filter((o) => exportFormatOf(o.key) === 'jsonl');
    const parquet = objects.filter((o) => exportFormatOf(o.key) === 'parquet');
    const record = async (batch: S3Object[]) => {
      const found = await fileCounts(server, table, loadId, batch.map((o) => o.id));
      for (const o of batch) {
        const file = loadedFileOf({ id: o.id, path: `s3://${bucket}/${o.key}`, size: o.size, mtimeMs: o.mtimeMs, format: exportFormatOf(o.key)! }, loadId, loadedAt, found);
        files.push(file);
        progress.file(file, o.size);
      }
    };
    for (let i = 0; i < jsonl.length; i += BATCH_OBJECTS) {
      const batch = jsonl.slice(i, i + BATCH_OBJECTS);
      const source = batch.length === 1 ? `${baseUrl}/${batch[0]!.key}` : `${baseUrl}/{${batch.map((o) => o.key).join(',')}}`;
      // The server's _path is `bucket/key`.
      await server.exec(jsonlInsertSql(source, batch.length === 1 ? undefined : MANY_FILES_ID, target), {
        load_id: loadId,
        ...(batch.length === 1 ? { file_id: batch[0]!.id } : { paths: batch.map((o) => `${bucket}/${o.key}`), ids: batch.map((o) => o.id) }),
      });
      await record(batch);
    }
    for (const o of parquet) {
      const source = `${baseUrl}/${o.key}`;
      const described = await server.objects<{ name: string; type: string }>(`DESCRIBE ${target.reader(source, 'Parquet')}`);
      await server.exec(parquetInsertSql(source, new Map(described.map((d) => [d.name, d.type])), target), { load_id: loadId, file_id: o.id });
      await record([o]);
    }
  } finally {
    progress.end();
  }
  await hideUnusable(server, table, objects.map((o) => o.id));
  const [row] = await server.objects<{ n: number }>(`SELECT count() AS n FROM ${table}`);
  const events = Number(row?.n ?? 0);
  const duplicates = files.reduce((s, f) => s + f.accepted, 0) - events;
  options.logger.info(`events: ${events} from ${files.length} objects in ${url}, loaded on ${where} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  const engine = server.withDatabase(EVENTS_DATABASE);
  await server.close();
  const dataQuality = { ...dataQualityFromFiles(files, ignored, { events, duplicates }), origin: `export files in ${url}, loaded on a ClickHouse server` };
  return { engine, dataQuality };
}

interface S3Object {
  key: string;
  /** The object's identity for this run: its key (ids only need to tell this run's objects apart). */
  id: string;
  size: number;
  mtimeMs: number;
}

/** Every object under the prefix, sorted by key (paginated). */
async function listObjects(client: S3Client, bucket: string, prefix: string): Promise<S3Object[]> {
  const out: S3Object[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ...(token ? { ContinuationToken: token } : {}) }));
    for (const o of page.Contents ?? []) {
      if (!o.Key || o.Key.endsWith('/')) continue;
      // Hidden names are files a writer has not finished, as with local folders.
      if (o.Key.slice(o.Key.lastIndexOf('/') + 1).startsWith('.')) continue;
      out.push({ key: o.Key, id: o.Key, size: o.Size ?? 0, mtimeMs: o.LastModified?.getTime() ?? 0 });
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}
