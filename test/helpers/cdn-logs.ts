import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { gzipSync } from 'node:zlib';
import { LEGACY_FIELDS } from '../../src/sources/cloudfront/formats.ts';

export type LogRecord = Partial<Record<string, string>>;

let n = 0;
/** A CloudFront request with sensible defaults: a 200 GET of a macOS installer. */
export function request(overrides: LogRecord = {}): LogRecord {
  n += 1;
  return {
    date: '2026-11-17',
    time: '10:00:00',
    'x-edge-location': 'FRA56-P1',
    'sc-bytes': '123456789',
    'c-ip': '192.0.2.1',
    'cs-method': 'GET',
    'cs(Host)': 'd111111abcdef8.cloudfront.net',
    'cs-uri-stem': '/Teleport%2520Connect-18.2.0.dmg',
    'sc-status': '200',
    'cs(Referer)': '-',
    'cs(User-Agent)': 'Mozilla/5.0%20(Macintosh)',
    'cs-uri-query': '-',
    'cs(Cookie)': '-',
    'x-edge-result-type': 'Hit',
    'x-edge-request-id': `req-${n}-${Math.random().toString(36).slice(2, 10)}`,
    'x-host-header': 'cdn.teleport.dev',
    'cs-protocol': 'https',
    'cs-bytes': '300',
    'time-taken': '1.2',
    'x-forwarded-for': '-',
    'ssl-protocol': 'TLSv1.3',
    'ssl-cipher': 'TLS_AES_128_GCM_SHA256',
    'x-edge-response-result-type': 'Hit',
    'cs-protocol-version': 'HTTP/2.0',
    'fle-status': '-',
    'fle-encrypted-fields': '-',
    'c-port': '443',
    'time-to-first-byte': '0.01',
    'x-edge-detailed-result-type': 'Hit',
    'sc-content-type': 'application/octet-stream',
    'sc-content-len': '123456789',
    'sc-range-start': '-',
    'sc-range-end': '-',
    ...overrides,
  };
}

/** A legacy standard log file: gzip W3C with the two header lines; `fields` defaults to the legacy list. */
export async function writeW3c(path: string, records: Array<LogRecord | string>, fields: string[] = LEGACY_FIELDS, opts: { trailingEmpty?: boolean } = {}): Promise<string> {
  const lines = ['#Version: 1.0', `#Fields: ${fields.join(' ')}`];
  for (const r of records) {
    if (typeof r === 'string') lines.push(r);
    else lines.push(fields.map((f) => r[f] ?? '-').join('\t') + (opts.trailingEmpty ? '\t' : ''));
  }
  return write(path, lines.join('\n') + '\n');
}

/** v2 JSON lines. */
export async function writeJsonLog(path: string, records: Array<LogRecord | string>, fields: string[] = LEGACY_FIELDS): Promise<string> {
  const lines = records.map((r) => (typeof r === 'string' ? r : JSON.stringify(Object.fromEntries(fields.map((f) => [f, r[f] ?? '-'])))));
  return write(path, lines.join('\n') + '\n');
}

/** v2 plain: values only, no header, in the legacy field order. */
export async function writePlain(path: string, records: LogRecord[], sep: string = '\t'): Promise<string> {
  return write(path, records.map((r) => LEGACY_FIELDS.map((f) => r[f] ?? '-').join(sep)).join('\n') + '\n');
}

async function write(path: string, text: string): Promise<string> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, path.endsWith('.gz') ? gzipSync(text) : text);
  return path;
}
