/**
 * The hot path: one pass of the embedded engine over a group of log files with the same format and
 * fields. Every line is counted (per file: lines, unparsable lines); only the lines that can be a
 * Teleport Connect installer request are kept, with the fields the counting rules need. The pass
 * groups by (file, kept line number), where every line that is not kept shares the number 0, so the
 * engine returns one summary row per file plus one row per kept line, in a single read of the data.
 *
 * Keeping a line needs the text `onnect` in it: every installer name contains "Connect" or
 * "connect", and CloudFront percent-encodes only reserved characters, never letters.
 */
import type { LogFileInfo } from './formats.ts';
import { sqlString } from '../posthog-export.ts';

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

function timestampExpr(field: FieldExpr, has: (name: string) => boolean): string {
  if (has('date') && has('time')) return `parseDateTime64BestEffortOrNull(concat(${field('date')}, ' ', ${field('time')}), 3, 'UTC')`;
  if (has('timestamp(ms)')) return `toDateTime64(toFloat64OrNull(${field('timestamp(ms)')}) / 1000, 3, 'UTC')`;
  if (has('timestamp')) return `toDateTime64(toFloat64OrNull(${field('timestamp')}), 3, 'UTC')`;
  return 'NULL';
}

function keptColumns(field: FieldExpr, ts: string): string {
  const kept = (expr: string) => `if(keep, ${expr}, '')`;
  return `
        if(keep, ${ts}, NULL) AS ts,
        ${kept(field('x-edge-request-id'))} AS request_id,
        ${kept(field('c-ip'))} AS ip,
        ${kept(field('cs-method'))} AS method,
        ${kept(field('sc-status'))} AS status,
        ${kept(field('x-host-header'))} AS host,
        ${kept(field('cs-uri-stem'))} AS path_raw,
        ${kept(field('cs(User-Agent)'))} AS ua_raw,
        ${kept(field('sc-range-start'))} AS range_start`;
}

const dash = (expr: string) => `if(${expr} = '-', '', ${expr})`;

/** The per-line SELECT for a group of files of one format and field list; `source` is a path or `dir/{a,b}` list. */
function perLineSelect(info: LogFileInfo, source: string): string {
  const src = sqlString(source);
  if (info.format === 'w3c' || info.format === 'plain') {
    const n = info.fields.length;
    const index = new Map(info.fields.map((f, i) => [f, i + 1]));
    const has = (name: string) => index.has(name);
    const field: FieldExpr = (name) => (index.has(name) ? dash(`f[${index.get(name)}]`) : `''`);
    const sep = info.delimiter === '\t' ? '\\t' : ' ';
    // A line may carry one trailing empty column; any other count of fields is unparsable.
    return `
    SELECT _path AS file, toUInt64(_row_number + 1) AS line_no,
        splitByChar('${sep}', text) AS f,
        NOT (length(f) = ${n} OR (length(f) = ${n + 1} AND f[${n + 1}] = '')) AS bad,
        NOT bad AND position(text, 'onnect') > 0 AS keep,
        ${keptColumns(field, timestampExpr(field, has))}
    FROM file(${src}, 'LineAsString', 'text String')
    WHERE text != '' AND NOT startsWith(text, '#')`;
  }
  if (info.format === 'json') {
    // JSON lines name their fields in every record; the engine reads each value as text, and the
    // time from whichever of date+time, timestamp(ms), timestamp the record has.
    const field: FieldExpr = (name) => dash(`JSONExtract(text, ${sqlString(name)}, 'String')`);
    const jsonTimestamp = `coalesce(
            if(JSONHas(text, 'date'), ${timestampExpr(field, (n) => n === 'date' || n === 'time')}, NULL),
            if(JSONHas(text, 'timestamp(ms)'), ${timestampExpr(field, (n) => n === 'timestamp(ms)')}, NULL),
            if(JSONHas(text, 'timestamp'), ${timestampExpr(field, (n) => n === 'timestamp')}, NULL))`;
    return `
    SELECT _path AS file, toUInt64(_row_number + 1) AS line_no,
        NOT isValidJSON(text) AS bad,
        NOT bad AND position(text, 'onnect') > 0 AS keep,
        ${keptColumns(field, jsonTimestamp)}
    FROM file(${src}, 'LineAsString', 'text String')
    WHERE trimBoth(text) != ''`;
  }
  // Parquet: typed columns, named by the file's schema.
  const names = new Set(info.fields);
  const has = (name: string) => names.has(name);
  const field: FieldExpr = (name) => (names.has(name) ? dash(`toString(\`${name.replace(/`/g, '\\`')}\`)`) : `''`);
  const keepExpr = `position(concat(${field('cs-uri-stem')}, ' '), 'onnect') > 0`;
  return `
    SELECT _path AS file, toUInt64(_row_number + 1) AS line_no,
        false AS bad,
        ${keepExpr} AS keep,
        ${keptColumns(field, timestampExpr(field, has))}
    FROM file(${src}, 'Parquet')`;
}

/** INSERT of one group's summary rows and kept lines into the staging table. */
export function stagingInsertSql(table: string, info: LogFileInfo, source: string): string {
  return `INSERT INTO ${table}
SELECT file, if(keep, line_no, 0) AS line, count() AS lines, countIf(bad) AS unparsable,
    any(request_id), any(ts), any(ip), any(method), any(status), any(host), any(path_raw), any(ua_raw), any(range_start)
FROM (${perLineSelect(info, source)}
)
GROUP BY file, line`;
}
