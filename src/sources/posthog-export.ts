/**
 * PostHog batch-export files (S3 destination schema) read by the embedded engine itself: the
 * engine streams the file, so loading a week of events never holds it in this process's memory.
 * Every record is kept in the store, usable or not; unusable ones carry the reason, so they are
 * counted per file (with line numbers) instead of disappearing.
 */

export type ExportFormat = 'jsonl' | 'parquet';

/** Why a record cannot be used. The order is the order of the checks. */
export const REJECT_REASONS = ['bad_json', 'no_distinct_id', 'bad_timestamp'] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

export const EXPORT_KINDS = '.jsonl, .jsonl.gz or .parquet files';

/**
 * PostHog names compressed Parquet `.parquet.zst` (also `.sz`, `.lz4`, `.br`, `.gz`), although the
 * compression is inside the Parquet file (its pages), not around it: read such a file as plain
 * Parquet, never by decompressing the name's suffix (reference posthog.md, "Batch exports").
 */
export const COMPRESSED_PARQUET_NAME = /\.parquet\.(zst|sz|lz4|br|gz)$/i;

/** `.jsonl` (optionally gzip, brotli or zstd compressed: PostHog offers gzip and brotli) or `.parquet` (with any of PostHog's codec suffixes). */
export function exportFormatOf(name: string): ExportFormat | undefined {
  if (/\.jsonl(\.(gz|br|zst))?$/i.test(name)) return 'jsonl';
  if (/\.parquet$/i.test(name) || COMPRESSED_PARQUET_NAME.test(name)) return 'parquet';
  return undefined;
}

/** Columns of the store's raw table, in insert order. */
export const RAW_COLUMNS = [
  'file_id',
  'line',
  'reject',
  'uuid',
  'event',
  'distinct_id',
  'person_id',
  'properties',
  'person_properties',
  'timestamp',
  'created_at',
  'elements_chain',
  'raw',
] as const;

// The SELECT computes helper columns (the parsed timestamp `ts`); the outer one keeps the table's.
const INSERT_HEAD = `INSERT INTO store.raw_events (${RAW_COLUMNS.join(', ')})
SELECT ${RAW_COLUMNS.join(', ')} FROM (`;

// Shared pieces of the record checks. `ts` is the parsed timestamp, NULL when unparsable.
const REJECT_EXPR = (jsonValid: string) => `multiIf(
      NOT (${jsonValid}), 'bad_json',
      distinct_id = '', 'no_distinct_id',
      ts IS NULL, 'bad_timestamp',
      '')`;

/** A record without a uuid still deduplicates against an identical copy of itself. */
const UUID_EXPR = (id: string, content: string) => `if(${id} != '', ${id}, concat('content-', lower(hex(sipHash128(${content})))))`;

/** ClickHouse string literal for a file path. */
export function sqlString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/**
 * A timestamp as text: ISO 8601 (no zone means UTC), or epoch seconds / milliseconds (a number
 * too large to be seconds is milliseconds). NULL when it is none of these.
 */
function textTimestamp(text: string): string {
  return `if(match(${text}, '^[0-9]+(\\.[0-9]+)?$'),
        if(toFloat64(${text}) > 100000000000, toDateTime64(toFloat64(${text}) / 1000, 6, 'UTC'), toDateTime64(toFloat64(${text}), 6, 'UTC')),
        if(${validTimeOfDay(text)}, parseDateTime64BestEffortOrNull(${text}, 6, 'UTC'), NULL))`;
}

/**
 * The engine's best-effort parser rolls an out-of-range time over (`T25:00` becomes 01:00 the next
 * day); such a timestamp is not a time at all, so it is rejected. `24:00:00` (end of day) is allowed.
 */
function validTimeOfDay(text: string): string {
  const groups = `extractGroups(${text}, '^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ]([0-9]{2}):([0-9]{2})(?::([0-9]{2}))?')`;
  return `(empty(${groups})
        OR (toUInt8OrZero(${groups}[1]) < 24 AND toUInt8OrZero(${groups}[2]) < 60 AND toUInt8OrZero(${groups}[3]) < 61)
        OR (${groups}[1] = '24' AND ${groups}[2] = '00' AND toUInt8OrZero(${groups}[3]) = 0))`;
}

/** The file id of a one-file INSERT: bound as a parameter. */
export const SINGLE_FILE_ID = '{file_id:String}';

/**
 * The file id of a many-file INSERT (`file('dir/{a.jsonl,b.jsonl.gz}')`): looked up from the path the
 * engine read; '' when it cannot be mapped (the store checks for that after the INSERT).
 */
export const MANY_FILES_ID = "transform(_path, {paths:Array(String)}, {ids:Array(String)}, '')";

/** The batch-export fields of a JSON line, extracted in one parse. Objects come back as JSON text. */
const LINE_FIELDS =
  'Tuple(uuid String, event String, distinct_id String, person_id String, properties String, person_properties String, ' +
  'timestamp String, created_at String, elements_chain String)';

/**
 * A file's first line without a UTF-8 byte-order mark: some writers start a file with one, and it
 * must not make the first record bad JSON. Only the first line of a file can carry it.
 */
const WITHOUT_BOM = "if(_row_number = 0 AND startsWith(file_line, '\\xEF\\xBB\\xBF'), substring(file_line, 4), file_line)";

/**
 * INSERT of one JSON Lines file: one record per non-blank line. The engine parses each line once
 * into a tuple of the batch-export fields; a nested object (properties) arrives as its JSON text,
 * and a field that holds JSON as a string arrives unwrapped, so both export styles load alike.
 */
export function jsonlInsertSql(source: string, fileId: string = SINGLE_FILE_ID): string {
  return `${INSERT_HEAD}
SELECT
    file_id,
    line,
    ${REJECT_EXPR("isValidJSON(text) AND startsWith(trimLeft(text), '{')")} AS reject,
    ${UUID_EXPR('r.uuid', 'text')} AS uuid,
    r.event AS event,
    r.distinct_id AS distinct_id,
    r.person_id AS person_id,
    r.properties AS properties,
    r.person_properties AS person_properties,
    ${textTimestamp('r.timestamp')} AS ts,
    ifNull(ts, toDateTime64(0, 6, 'UTC')) AS timestamp,
    ${textTimestamp('r.created_at')} AS created_at,
    r.elements_chain AS elements_chain,
    if(reject = '', '', substring(text, 1, 300)) AS raw
FROM (
    SELECT ${WITHOUT_BOM} AS text, toUInt64(_row_number + 1) AS line, JSONExtract(text, '${LINE_FIELDS}') AS r, ${fileId} AS file_id
    FROM file(${sqlString(source)}, 'LineAsString', 'file_line String')
    WHERE trimBoth(file_line) != ''))`;
}

/**
 * INSERT of one Parquet file. Parquet is typed, so each column is converted according to the type
 * the file declares (read with DESCRIBE first): strings as they are, JSON held as maps or tuples
 * written back as JSON text, timestamps as timestamps or strings.
 */
export function parquetInsertSql(path: string, columns: Map<string, string>): string {
  // Source columns are renamed c_<name> in a subquery, so that the output aliases (uuid, event, ...)
  // never shadow the input columns they are computed from.
  const col = (name: string) => `c_${name}`;
  const text = (name: string) => (columns.has(name) ? `toString(ifNull(${col(name)}, ''))` : `''`);
  const json = (name: string) => {
    const type = columns.get(name);
    if (type === undefined) return `''`;
    if (/^(Nullable\()?(String|LowCardinality)/.test(type)) return `toString(ifNull(${col(name)}, ''))`;
    return `toJSONString(${col(name)})`;
  };
  const time = (name: string) => {
    const type = columns.get(name);
    if (type === undefined) return 'NULL';
    const c = col(name);
    if (/DateTime/.test(type)) return `toDateTime64(${c}, 6, 'UTC')`;
    if (/Int|Float|Decimal/.test(type)) {
      return `if(${c} > 100000000000, toDateTime64(${c} / 1000, 6, 'UTC'), toDateTime64(${c}, 6, 'UTC'))`;
    }
    return textTimestamp(`toString(${c})`);
  };
  const props = json('properties');
  const personProps = json('person_properties');
  const valid = `(${props} = '' OR isValidJSON(${props})) AND (${personProps} = '' OR isValidJSON(${personProps}))`;
  return `${INSERT_HEAD}
SELECT
    {file_id:String} AS file_id,
    toUInt64(c__row_number + 1) AS line,
    ${REJECT_EXPR(valid)} AS reject,
    ${UUID_EXPR(text('uuid'), `concat(${text('distinct_id')}, ${text('event')}, toString(${time('timestamp')}), ${props})`)} AS uuid,
    ${text('event')} AS event,
    ${text('distinct_id')} AS distinct_id,
    ${text('person_id')} AS person_id,
    ${props} AS properties,
    ${personProps} AS person_properties,
    ${time('timestamp')} AS ts,
    ifNull(ts, toDateTime64(0, 6, 'UTC')) AS timestamp,
    ${time('created_at')} AS created_at,
    ${text('elements_chain')} AS elements_chain,
    if(reject = '', '', substring(concat(distinct_id, ' ', event, ' ', properties), 1, 300)) AS raw
FROM (SELECT ${[...PARQUET_COLUMNS].filter((n) => columns.has(n)).map((n) => `${quoteIdent(n)} AS ${col(n)}`).concat('_row_number AS c__row_number').join(', ')}
      FROM file(${sqlString(path)}, 'Parquet')))`;
}

/** The batch-export columns the loader reads from a Parquet file; others are ignored. */
export const PARQUET_COLUMNS = ['uuid', 'event', 'distinct_id', 'person_id', 'properties', 'person_properties', 'timestamp', 'created_at', 'elements_chain'] as const;

function quoteIdent(name: string): string {
  return '`' + name.replace(/`/g, '\\`') + '`';
}
