/**
 * CloudFront access log files: which format a file is in and what its fields are, read from the
 * file itself (the `#Fields` header of W3C files, the keys of JSON lines, the Parquet schema), never
 * assumed from positions. Formats: legacy standard logs (gzip W3C) and standard logging v2 (`w3c`,
 * `json`, `plain`, `parquet`).
 */
import { open } from 'node:fs/promises';
import { gunzipSync, inflateRawSync } from 'node:zlib';

export type LogFormat = 'w3c' | 'json' | 'plain' | 'parquet';

/** The fields the counting rules read (CloudFront's names). */
export const USED_FIELDS = [
  'date',
  'time',
  'timestamp',
  'timestamp(ms)',
  'c-ip',
  'cs-method',
  'cs-uri-stem',
  'sc-status',
  'cs(User-Agent)',
  'x-edge-request-id',
  'x-host-header',
  'sc-range-start',
] as const;

/** Legacy standard logs' fields, in order: the default field list of `plain` files, which carry none. */
export const LEGACY_FIELDS = (
  'date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem sc-status cs(Referer) cs(User-Agent) cs-uri-query ' +
  'cs(Cookie) x-edge-result-type x-edge-request-id x-host-header cs-protocol cs-bytes time-taken x-forwarded-for ssl-protocol ' +
  'ssl-cipher x-edge-response-result-type cs-protocol-version fle-status fle-encrypted-fields c-port time-to-first-byte ' +
  'x-edge-detailed-result-type sc-content-type sc-content-len sc-range-start sc-range-end'
).split(' ');

export interface LogFileInfo {
  path: string;
  format: LogFormat;
  /** Field names in file order (w3c, plain); for json and parquet, the names the first record has. */
  fields: string[];
  /** The text between fields (w3c: tab, or the configured v2 delimiter; plain: that, tab or space). */
  delimiter: string;
  /** Why the file cannot be counted (a field the rules need is missing, not a CloudFront field list). */
  notCountable?: string;
}

/** How files that do not say it themselves are read: plain files' field order, v2's field delimiter. */
export interface LogReadOptions {
  /** Field order of v2 `plain` files (downloads.plainFields); default the legacy order. */
  plainFields?: string[] | undefined;
  /** The delimiter of v2 `w3c` and `plain` output (downloads.fieldDelimiter, up to 5 characters); default tab. */
  fieldDelimiter?: string | undefined;
  /** Whether the counting filters on x-host-header (downloads.hosts set): then the field is needed. */
  needsHost?: boolean | undefined;
}

/**
 * Standard logging v2's other field names (AWS developer guide, "Standard logging v2" field list):
 * together with LEGACY_FIELDS they tell a CloudFront field list from any other header.
 */
const V2_EXTRA_FIELDS = [
  'timestamp', 'timestamp(ms)', 'DistributionId', 'c-country', 'cache-behavior-path-pattern', 'origin-fbl', 'origin-lbl',
  'asn', 'cs-accept', 'cs-accept-encoding', 'cs-headers', 'cs-header-names', 'cs-headers-count',
  'primary-distribution-id', 'primary-distribution-dns-name',
];

/**
 * A field name in one spelling: AWS's Athena table for v2 Parquet uses underscores (`cs_uri_stem`,
 * `cs_user_agent`), W3C output hyphens and parentheses (`cs-uri-stem`, `cs(User-Agent)`): both are
 * accepted (reference cloudfront-logs.md, "Standard logging v2 details that bite").
 */
export function fieldKey(name: string): string {
  return name.trim().toLowerCase().replace(/\(/g, '_').replace(/\)/g, '').replace(/-/g, '_');
}

const KNOWN_KEYS = new Set([...LEGACY_FIELDS, ...V2_EXTRA_FIELDS].map(fieldKey));

/** The file's own name for each CloudFront field it has, by CloudFront's name (`cs-uri-stem` -> `cs_uri_stem`). */
export function fieldNames(fields: readonly string[]): Map<string, string> {
  const own = new Map(fields.map((f) => [fieldKey(f), f]));
  const out = new Map<string, string>();
  for (const name of [...LEGACY_FIELDS, ...V2_EXTRA_FIELDS]) {
    const f = own.get(fieldKey(name));
    if (f !== undefined) out.set(name, f);
  }
  return out;
}

/**
 * Why a file with this field list can never produce a download, or undefined when it can: a list
 * with no CloudFront field at all is not a CloudFront log; one lacking a field the counting rules
 * read (docs/downloads.md) would count zero without saying so (reference cloudfront-logs.md: treat
 * it as unreadable, named with the missing field).
 */
export function notCountableReason(fields: readonly string[], options: { needsHost?: boolean | undefined } = {}): string | undefined {
  if (!fields.some((f) => KNOWN_KEYS.has(fieldKey(f)))) {
    const shown = fields.slice(0, 4).join(' ') + (fields.length > 4 ? ' ...' : '');
    return `not countable: its field list (${shown || 'empty'}) is not a CloudFront field list`;
  }
  const has = fieldNames(fields);
  const missing: string[] = [];
  if (!(has.has('date') && has.has('time')) && !has.has('timestamp') && !has.has('timestamp(ms)')) {
    missing.push(has.has('date') ? 'time' : has.has('time') ? 'date' : 'date and time (or timestamp)');
  }
  for (const f of ['c-ip', 'cs-method', 'cs-uri-stem', 'sc-status', 'cs(User-Agent)', 'sc-range-start']) if (!has.has(f)) missing.push(f);
  if (options.needsHost && !has.has('x-host-header')) missing.push('x-host-header (downloads.hosts is set)');
  if (!missing.length) return undefined;
  return `not countable: no ${missing.join(', no ')} field${missing.length > 1 ? 's' : ''} (the counting rules need ${missing.length > 1 ? 'them' : 'it'})`;
}

/** Names that look like log files: CloudFront's `.gz`, or v2's `.log`, `.json`, `.txt`, `.parquet` (optionally compressed). */
export function isLogFileName(name: string): boolean {
  return /\.(gz|log|json|jsonl|txt|w3c|parquet)(\.(gz|zst|br))?$/i.test(name) || /\.\d{4}-\d{2}-\d{2}-\d{2}\.[^.]+\.gz$/.test(name);
}

export const LOG_KINDS = 'CloudFront log files (.gz, .log, .json, .parquet)';

/**
 * Reads the start of a file (decompressing a gzip start) to tell its format and fields. Throws with
 * the reason when the file cannot be read at all (the caller names the file and goes on).
 */
export async function inspectLogFile(path: string, options: LogReadOptions = {}): Promise<LogFileInfo> {
  if (/\.parquet(\.(gz|zst|br))?$/i.test(path)) return { path, format: 'parquet', fields: [], delimiter: '\t' };
  const handle = await open(path, 'r');
  let head: Buffer;
  try {
    const buf = Buffer.alloc(16 * 1024); // the header lines and a first record
    const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
    head = buf.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
  return inspectLogHead(path, head, options);
}

/** The format and fields of a log file from its first bytes (a local file's, or an S3 object's range). */
export function inspectLogHead(path: string, head: Buffer, options: LogReadOptions = {}): LogFileInfo {
  if (/\.parquet(\.(gz|zst|br))?$/i.test(path)) return { path, format: 'parquet', fields: [], delimiter: '\t' };
  const plainFields = options.plainFields ?? LEGACY_FIELDS;
  const text = decodeStart(head).replace(/^\uFEFF/, '');
  // The last line of a 16 KB head may be cut short: only whole lines are looked at.
  const lines = text.split('\n').map((l) => l.replace(/\r$/, ''));
  if (head.length >= 16 * 1024 && lines.length > 1) lines.pop();
  const fieldsLine = lines.find((l) => l.startsWith('#Fields:'));
  const records = lines.filter((l) => l.trim() !== '' && !l.startsWith('#'));
  const first = records[0];
  const check = (info: LogFileInfo): LogFileInfo => {
    const reason = notCountableReason(info.fields, options);
    return reason ? { ...info, notCountable: reason } : info;
  };
  if (fieldsLine) {
    // The #Fields header is space-separated; the records use tab (legacy) or the configured v2 delimiter.
    const fields = fieldsLine.slice('#Fields:'.length).trim().split(/\s+/).filter(Boolean);
    return check({ path, format: 'w3c', fields, delimiter: delimiterOf(first, fields.length, [options.fieldDelimiter, '\t']) });
  }
  if (first === undefined) return { path, format: 'w3c', fields: [], delimiter: '\t' }; // empty file: nothing to count
  if (first.trimStart().startsWith('{')) {
    // The keys of the first record that parses (a bad first line is counted by the engine as unparsable).
    for (const line of records) {
      try {
        const keys = Object.keys(JSON.parse(line) as object);
        return check({ path, format: 'json', fields: keys, delimiter: '\t' });
      } catch {
        // try the next line
      }
    }
    return { path, format: 'json', fields: [], delimiter: '\t', notCountable: 'not countable: no line of its start is a JSON object' };
  }
  const delimiter = delimiterOf(first, plainFields.length, [options.fieldDelimiter, '\t', ' ']);
  const info = check({ path, format: 'plain', fields: plainFields, delimiter });
  const parts = first.split(delimiter).length;
  if (!info.notCountable && parts !== plainFields.length && !(parts === plainFields.length + 1 && first.endsWith(delimiter))) {
    // A file without a header is read by downloads.plainFields: one whose first record does not
    // have that many fields is not a plain CloudFront log (or the setting does not fit it).
    return {
      ...info,
      notCountable: `not countable: no #Fields header, and its first line has ${parts} fields where the plain field list (downloads.plainFields) has ${plainFields.length}`,
    };
  }
  return info;
}

/** The first candidate delimiter that splits `line` into `n` fields (one trailing empty allowed); else the first candidate. */
function delimiterOf(line: string | undefined, n: number, candidates: Array<string | undefined>): string {
  const given = candidates.filter((c): c is string => c !== undefined && c !== '');
  if (line !== undefined) {
    for (const d of given) {
      const parts = line.split(d).length;
      if (parts === n || (parts === n + 1 && line.endsWith(d))) return d;
    }
  }
  return given[0]!;
}

/** The first bytes of a file as text; a gzip start is inflated as far as it goes. */
function decodeStart(head: Buffer): string {
  if (head[0] === 0x1f && head[1] === 0x8b) {
    try {
      return gunzipSync(head, { finishFlush: 2 /* Z_SYNC_FLUSH: a truncated stream is fine */ }).toString('utf8');
    } catch (error) {
      // gunzip of a prefix may still fail for a large header; inflate the raw deflate data instead
      try {
        const flags = head[3]!;
        let offset = 10;
        if (flags & 4) offset += 2 + head.readUInt16LE(10);
        if (flags & 8) offset = head.indexOf(0, offset) + 1;
        if (flags & 16) offset = head.indexOf(0, offset) + 1;
        return inflateRawSync(head.subarray(offset), { finishFlush: 2 }).toString('utf8');
      } catch {
        throw new Error(`not a readable gzip file (${(error as Error).message})`);
      }
    }
  }
  return head.toString('utf8');
}
