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
  /** The character between fields (w3c: tab; plain: tab or space). */
  delimiter: '\t' | ' ';
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
export async function inspectLogFile(path: string, plainFields: string[] = LEGACY_FIELDS): Promise<LogFileInfo> {
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
  return inspectLogHead(path, head, plainFields);
}

/** The format and fields of a log file from its first bytes (a local file's, or an S3 object's range). */
export function inspectLogHead(path: string, head: Buffer, plainFields: string[] = LEGACY_FIELDS): LogFileInfo {
  if (/\.parquet(\.(gz|zst|br))?$/i.test(path)) return { path, format: 'parquet', fields: [], delimiter: '\t' };
  const text = decodeStart(head);
  const lines = text.split('\n').map((l) => l.replace(/\r$/, ''));
  const fieldsLine = lines.find((l) => l.startsWith('#Fields:'));
  if (fieldsLine) {
    const fields = fieldsLine.slice('#Fields:'.length).trim().split(/\s+/);
    return { path, format: 'w3c', fields, delimiter: '\t' };
  }
  const first = lines.find((l) => l.trim() !== '' && !l.startsWith('#'));
  if (first === undefined) return { path, format: 'w3c', fields: [], delimiter: '\t' }; // empty file: nothing to count
  if (first.trimStart().startsWith('{')) {
    let keys: string[] = [];
    try {
      keys = Object.keys(JSON.parse(first) as object);
    } catch {
      // a bad first line: the engine counts it; keys come from the standard names
    }
    return { path, format: 'json', fields: keys, delimiter: '\t' };
  }
  return { path, format: 'plain', fields: plainFields, delimiter: first.includes('\t') ? '\t' : ' ' };
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
