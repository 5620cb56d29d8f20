/**
 * The hot path: each log line is read once by the embedded engine. Per file, one aggregation counts
 * the lines and the unparsable lines and collects the few lines that can be a Teleport Connect
 * installer request (`groupArrayIf`); an ARRAY JOIN then turns each file into one summary row (line
 * 0) plus its kept lines, split into fields only then. Files go through in batches, so memory holds
 * at most one batch's kept lines, however many files there are.
 *
 * A line is kept when it may hold an installer request (MAY_BE_CONNECT below); everything else is
 * only counted.
 */
import { fieldNames, type LogFileInfo } from './formats.ts';
import { sqlString } from '../posthog-export.ts';

/** The database the embedded engine stages logs in. */
export const DB = 'cdn';

/**
 * Where lines are read from: the embedded engine's `file()` over local paths, or a ClickHouse
 * server's `s3()` over the bucket (scale-out). `file` is the expression naming each row's file.
 */
export interface Reader {
  table(source: string, format: 'LineAsString' | 'Parquet'): string;
  file: string;
}

export const localFiles: Reader = { table: (source, format) => `file(${sqlString(source)}, '${format}')`, file: '_path' };

/** One row per kept line; line 0 holds a file's counts. */
export const STAGING_COLUMNS = `
    file LowCardinality(String),
    line UInt64,
    lines UInt64,
    unparsable UInt64,
    request_id String,
    ts Nullable(DateTime64(3, 'UTC')),
    ip String,
    method String,
    status String,
    host String,
    path_raw String,
    ua_raw String,
    range_start String`;

/** A field's value expression, '' when the file lacks the field or has CloudFront's empty value `-`. */
type FieldExpr = (name: string) => string;

const dash = (expr: string) => `if(${expr} = '-', '', ${expr})`;

function timestampExpr(field: FieldExpr, has: (name: string) => boolean): string {
  if (has('date') && has('time')) return `parseDateTime64BestEffortOrNull(concat(${field('date')}, ' ', ${field('time')}), 3, 'UTC')`;
  if (has('timestamp(ms)')) return `toDateTime64(toFloat64OrNull(${field('timestamp(ms)')}) / 1000, 3, 'UTC')`;
  if (has('timestamp')) return `toDateTime64(toFloat64OrNull(${field('timestamp')}), 3, 'UTC')`;
  return 'NULL';
}

/** The staged fields, in the order stagedColumns() produces them. */
const STAGED_NAMES = 'ts, request_id, ip, method, status, host, path_raw, ua_raw, range_start';

/**
 * Whether a line may hold a Connect installer request: it contains "onnect" (every installer name
 * does), or a percent-encoded letter (%41-%7A, or %2541-%257A encoded twice), which could spell
 * "onnect" once decoded. Both are fast substring searches; the counting query decides after decoding.
 */
const MAY_BE_CONNECT = (text: string) =>
  `(position(${text}, 'onnect') > 0 OR multiSearchAny(${text}, ['%4', '%5', '%6', '%7', '%254', '%255', '%256', '%257']))`;

function stagedColumns(field: FieldExpr, ts: string): string {
  return `${ts} AS ts,
        ${field('x-edge-request-id')} AS request_id,
        ${field('c-ip')} AS ip,
        ${field('cs-method')} AS method,
        ${field('sc-status')} AS status,
        ${field('x-host-header')} AS host,
        ${field('cs-uri-stem')} AS path_raw,
        ${field('cs(User-Agent)')} AS ua_raw,
        ${field('sc-range-start')} AS range_start`;
}

export interface GroupPlan {
  /** The INSERT of a batch of files (`source`: a path or a `dir/{a,b}` list); `fileExpr` names the file. */
  insert: (source: string, fileExpr?: string) => string;
}

/** The INSERT for a group of text log files (w3c, plain or json): one read per line. */
export function textGroupPlan(info: LogFileInfo, reader: Reader = localFiles, db: string = DB): GroupPlan {
  let bad: string;
  let fields: string;
  let splitFrom = '';
  // The file's own spelling of each field (`cs-uri-stem` or `cs_uri_stem`).
  const own = fieldNames(info.fields);
  if (info.format === 'json') {
    bad = `NOT isValidJSON(line)`;
    // JSON lines name their fields in every record; each value is read as text, the time from
    // whichever of date+time, timestamp(ms), timestamp the record has.
    const key = (name: string) => sqlString(own.get(name) ?? name);
    const field: FieldExpr = (name) => dash(`JSONExtract(text, ${key(name)}, 'String')`);
    const ts = `coalesce(
            if(JSONHas(text, ${key('date')}), ${timestampExpr(field, (n) => n === 'date' || n === 'time')}, NULL),
            if(JSONHas(text, ${key('timestamp(ms)')}), ${timestampExpr(field, (n) => n === 'timestamp(ms)')}, NULL),
            if(JSONHas(text, ${key('timestamp')}), ${timestampExpr(field, (n) => n === 'timestamp')}, NULL))`;
    fields = stagedColumns(field, ts);
  } else {
    const n = info.fields.length;
    // The delimiter is read from the configuration for v2 output (up to 5 characters), tab otherwise.
    const sep = sqlString(info.delimiter);
    // A line may carry one trailing empty column; any other number of fields is unparsable.
    // Counting separators needs no split.
    bad = `NOT (countSubstrings(line, ${sep}) = ${n - 1} OR (countSubstrings(line, ${sep}) = ${n} AND endsWith(line, ${sep})))`;
    const position = new Map(info.fields.map((f, i) => [f, i + 1]));
    const index = (name: string) => (own.has(name) ? position.get(own.get(name)!) : undefined);
    const field: FieldExpr = (name) => (index(name) !== undefined ? dash(`f[${index(name)}]`) : `''`);
    fields = stagedColumns(field, timestampExpr(field, (name) => index(name) !== undefined));
    splitFrom = info.delimiter.length === 1 ? `splitByChar(${sep}, text) AS f,` : `splitByString(${sep}, text) AS f,`;
  }
  return {
    insert: (source, fileExpr = reader.file) => `INSERT INTO ${db}.staging
SELECT file, line, lines, unparsable, request_id, ts, ip, method, status, host, path_raw, ua_raw, range_start
FROM (
    SELECT file, k.1 AS line, if(line = 0, file_lines, 0) AS lines, if(line = 0, file_unparsable, 0) AS unparsable,
        k.2 AS text, ${splitFrom}
        ${fields}
    FROM (
        SELECT ${fileExpr} AS file, count() AS file_lines, countIf(${bad}) AS file_unparsable,
            groupArrayIf((toUInt64(_row_number + 1), line), ${MAY_BE_CONNECT('line')} AND NOT (${bad})) AS kept
        FROM ${reader.table(source, 'LineAsString')}
        WHERE line != '' AND NOT startsWith(line, '#')
        GROUP BY file
    )
    ARRAY JOIN arrayConcat([(toUInt64(0), '')], kept) AS k
)`,
  };
}

/** Parquet is columnar and typed: the count and the kept rows are two cheap reads of a few columns. */
export function parquetGroupPlan(info: LogFileInfo, reader: Reader = localFiles, db: string = DB): GroupPlan {
  // Column names as the file spells them: `cs-uri-stem` or, as AWS's Athena table does, `cs_uri_stem`.
  const names = fieldNames(info.fields);
  const field: FieldExpr = (name) => {
    const column = names.get(name);
    return column !== undefined ? dash(`toString(\`${column.replace(/`/g, '\\`')}\`)`) : `''`;
  };
  return {
    insert: (source, fileExpr = reader.file) => `INSERT INTO ${db}.staging (file, line, lines, unparsable)
SELECT ${fileExpr}, 0, count(), 0 FROM ${reader.table(source, 'Parquet')} GROUP BY 1;
INSERT INTO ${db}.staging (file, line, lines, unparsable, ${STAGED_NAMES})
SELECT ${fileExpr} AS file, toUInt64(_row_number + 1) AS line, 0 AS lines, 0 AS unparsable,
    ${stagedColumns(field, timestampExpr(field, (n) => names.has(n)))}
FROM ${reader.table(source, 'Parquet')}
WHERE ${MAY_BE_CONNECT(field('cs-uri-stem'))}`,
  };
}
