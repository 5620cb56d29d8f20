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

/**
 * Columns of the store's table, in insert order. The store keeps the events in the very shape of a
 * selection's `events` table (EVENTS_COLUMNS: PostHog's HogQL names, `person.properties` included,
 * and the same sort order) plus where each record came from, so that a selection is made by
 * attaching the store's parts rather than copying every event again (src/sources/event-store.ts).
 */
export const RAW_COLUMNS = [
  'load_id',
  'file_id',
  'line',
  'reject',
  'uuid',
  'event',
  'distinct_id',
  'person_id',
  'properties',
  '`person.properties`',
  'timestamp',
  'created_at',
  'elements_chain',
  'raw',
] as const;

// The SELECT computes helper columns (the parsed timestamp `ts`); the outer one keeps the table's.
// `person_properties` is renamed to HogQL's `person.properties` here, where nothing reads it any more.
const insertHead = (into: string) => `INSERT INTO ${into} (${RAW_COLUMNS.join(', ')})
SELECT ${RAW_COLUMNS.map((c) => (c === '`person.properties`' ? 'person_properties' : c)).join(', ')} FROM (`;

/**
 * Where an INSERT reads and writes: by default the local store's table and the engine's file();
 * a ClickHouse server loading PostHog exports from S3 passes its own table and s3() reader.
 */
export interface InsertTarget {
  /** The table written, e.g. `store.raw_events`. */
  into: string;
  /** The table function reading `source` in `format` (with `structure` when given). */
  reader: (source: string, format: string, structure?: string) => string;
}

export const LOCAL_TARGET: InsertTarget = {
  into: 'store.raw_events',
  reader: (source, format, structure) => `file(${sqlString(source)}, '${format}'${structure ? `, '${structure}'` : ''})`,
};

/** The load a row belongs to: bound as a parameter (the store's partition key). */
export const LOAD_ID = '{load_id:String}';

// Shared pieces of the record checks. `ts` is the parsed timestamp, NULL when unparsable.
const REJECT_EXPR = (jsonInvalid: string) => `multiIf(
      ${jsonInvalid}, 'bad_json',
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

/** A date and a time of day that is plainly valid (hour 00-23, minute and second 00-59). */
const PLAIN_TIME_OF_DAY = '^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ](?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]';

/**
 * The engine's best-effort parser rolls an out-of-range time over (`T25:00` becomes 01:00 the next
 * day); such a timestamp is not a time at all, so it is rejected. `24:00:00` (end of day) is allowed.
 * Nearly every timestamp passes the one match() of PLAIN_TIME_OF_DAY; only the others have their
 * hour, minute and second taken apart (extractGroups allocates arrays: it measured as a tenth of
 * the JSON Lines INSERT's work when run on every line). OR evaluates its second operand only for
 * the lines whose first is false.
 */
function validTimeOfDay(text: string): string {
  const groups = `extractGroups(${text}, '^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ]([0-9]{2}):([0-9]{2})(?::([0-9]{2}))?')`;
  return `(match(${text}, '${PLAIN_TIME_OF_DAY}')
        OR empty(${groups})
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

/**
 * The scalar batch-export fields of a JSON line, extracted in one parse. The objects (properties,
 * person properties) are not in it: the engine's JSON functions rebuild an object's text value by
 * value, which measured as the largest single cost of loading (see objectFields).
 */
const LINE_FIELDS =
  'Tuple(uuid String, event String, distinct_id String, person_id String, timestamp String, created_at String, elements_chain String)';

/**
 * A file's first line without a UTF-8 byte-order mark: some writers start a file with one, and it
 * must not make the first record bad JSON. Only the first line of a file can carry it.
 */
const WITHOUT_BOM = "if(_row_number = 0 AND startsWith(file_line, '\\xEF\\xBB\\xBF'), substring(file_line, 4), file_line)";

/**
 * Both object fields of a JSON line as their JSON text. Fast path: the text is cut out of the line
 * as it is (simpleJSONExtractRaw scans for `"name":` without parsing), which is right only when that
 * first `"name":` is the top-level key. It is known to be when the line has no other `{` before it
 * than the line's own (so it is not inside another object) or, when the other object field comes
 * first, none between the end of that one and it; and when the value is an object. Anything else
 * (pretty-printed JSON, a field holding JSON as a string, null, a brace in an earlier string) takes
 * the exact path: the parser's own extraction, as before. Inside a JSON string a quote is always
 * escaped, so `"name":` cannot be text inside a value (one preceded by a backslash is refused).
 * The checks combine the helper columns of objectCuts with least() / greatest() rather than AND /
 * OR / if(): those evaluate an operand only on the lines still in play, which copies the lines' text
 * for every step that searches it (the engine inlines the inner SELECT's columns where they are
 * used); this way each search runs once over all lines. Measured on two daily files: the object
 * fields' share of the INSERT's SELECT went from 2.0 to 0.9 s of engine CPU.
 * (Forcing short-circuit evaluation of the exact path measured slower than the default.)
 */
function objectFields(text: string): string {
  const field = (name: string, other: string) => {
    const at = `at_${name}`;
    const cut = `cut_${name}`;
    // The other field first: no `{` between the line's own and it, none from its end up to `"name":`.
    const afterOther = `least(second_brace >= at_${other}, ${at} >= ${objectEnd(other)}, brace_after_${other} = 0 OR brace_after_${other} >= ${at})`;
    const otherFirst = `(at_${other} > 0 AND at_${other} < ${at})`;
    const topLevel = `least(${at} > 1, NOT escaped_${name}, greatest(least(${otherFirst}, ${afterOther}), least(NOT ${otherFirst}, second_brace >= ${at})), startsWith(${cut}, '{'))`;
    return `if(${topLevel}, ${cut}, JSONExtract(${text}, '${name}', 'String'))`;
  };
  return `${field('properties', 'person_properties')} AS properties,
    ${field('person_properties', 'properties')} AS person_properties`;
}

/** Where the text cut out for `name` ends in the line (just after it). */
const objectEnd = (name: string) => `(at_${name} + ${name.length + 3} + length(cut_${name}))`;

/**
 * Helper columns of objectFields, computed once per line in the inner SELECT: where `"name":` first
 * occurs and the text after it, whether a backslash precedes it (then it ends a longer key's name,
 * `"x\\"name":`), the first `{` after the cut, and the line's second `{`. position() searches
 * without copying the text.
 */
function objectCuts(text: string): string {
  return ['properties', 'person_properties']
    .map(
      (n) =>
        `position(${text}, '"${n}":') AS at_${n}, trimBoth(simpleJSONExtractRaw(${text}, '${n}')) AS cut_${n}, ` +
        `substring(${text}, at_${n} - 1, 1) = '\\\\' AS escaped_${n}, position(${text}, '{', ${objectEnd(n)}) AS brace_after_${n}`,
    )
    .concat(`position(${text}, '{', position(${text}, '{') + 1) AS second_brace`)
    .join(', ');
}

/**
 * INSERT of JSON Lines files: one record per non-blank line. The engine parses each line once into
 * the scalar batch-export fields and cuts the object fields out (objectFields); a field that holds
 * JSON as a string arrives unwrapped, so both export styles load alike. A line is bad JSON when it
 * is not an object, or when the parse found no distinct_id and a validity check then fails (a failed
 * parse gives every field empty, so a line with a distinct_id has parsed).
 */
export function jsonlInsertSql(source: string, fileId: string = SINGLE_FILE_ID, target: InsertTarget = LOCAL_TARGET): string {
  return `${insertHead(target.into)}
SELECT
    ${LOAD_ID} AS load_id,
    file_id,
    line,
    ${REJECT_EXPR("NOT (startsWith(text, '{') OR startsWith(trimLeft(text), '{')) OR (r.distinct_id = '' AND NOT isValidJSON(text))")} AS reject,
    ${UUID_EXPR('r.uuid', 'text')} AS uuid,
    r.event AS event,
    r.distinct_id AS distinct_id,
    r.person_id AS person_id,
    ${objectFields('text')},
    ${textTimestamp('r.timestamp')} AS ts,
    ifNull(ts, toDateTime64(0, 6, 'UTC')) AS timestamp,
    ${textTimestamp('r.created_at')} AS created_at,
    r.elements_chain AS elements_chain,
    if(reject = '', '', substring(text, 1, 300)) AS raw
FROM (
    SELECT ${WITHOUT_BOM} AS text, toUInt64(_row_number + 1) AS line, JSONExtract(text, '${LINE_FIELDS}') AS r, ${objectCuts('text')}, ${fileId} AS file_id
    FROM ${target.reader(source, 'LineAsString', 'file_line String')}
    WHERE startsWith(file_line, '{') OR trimBoth(file_line) != ''))`;
}

/**
 * INSERT of one Parquet file. Parquet is typed, so each column is converted according to the type
 * the file declares (read with DESCRIBE first): strings as they are, JSON held as maps or tuples
 * written back as JSON text, timestamps as timestamps or strings.
 */
export function parquetInsertSql(path: string, columns: Map<string, string>, target: InsertTarget = LOCAL_TARGET): string {
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
  return `${insertHead(target.into)}
SELECT
    ${LOAD_ID} AS load_id,
    {file_id:String} AS file_id,
    toUInt64(c__row_number + 1) AS line,
    ${REJECT_EXPR(`NOT (${valid})`)} AS reject,
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
      FROM ${target.reader(path, 'Parquet')}))`;
}

/** The batch-export columns the loader reads from a Parquet file; others are ignored. */
export const PARQUET_COLUMNS = ['uuid', 'event', 'distinct_id', 'person_id', 'properties', 'person_properties', 'timestamp', 'created_at', 'elements_chain'] as const;

function quoteIdent(name: string): string {
  return '`' + name.replace(/`/g, '\\`') + '`';
}
