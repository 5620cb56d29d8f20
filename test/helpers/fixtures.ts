import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { main, type CliIo } from '../../src/cli/main.ts';

export interface TestEvent {
  uuid?: string;
  event: string;
  distinct_id?: string;
  timestamp: string;
  properties?: Record<string, unknown>;
  person_properties?: Record<string, unknown>;
  /** Ingestion time; default the timestamp. */
  created_at?: string;
}

let counter = 0;
/** A unique, readable uuid for hand-made events. */
export function nextUuid(): string {
  counter += 1;
  return `00000000-0000-4000-8000-${String(counter).padStart(12, '0')}`;
}

export function exportLine(e: TestEvent): string {
  return JSON.stringify({
    uuid: e.uuid ?? nextUuid(),
    event: e.event,
    distinct_id: e.distinct_id,
    person_id: '',
    properties: e.properties ?? {},
    person_properties: e.person_properties ?? {},
    elements_chain: '',
    timestamp: e.timestamp,
    created_at: e.created_at ?? e.timestamp,
    _inserted_at: e.created_at ?? e.timestamp,
  });
}

export async function tempDir(prefix = 'cm-test-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/** Writes JSON Lines (gzip when the name ends in .gz); `lines` may mix events and raw strings. */
export async function writeExport(path: string, lines: Array<TestEvent | string>): Promise<string> {
  await mkdir(dirname(path), { recursive: true });
  const text = lines.map((l) => (typeof l === 'string' ? l : exportLine(l))).join('\n') + '\n';
  await writeFile(path, path.endsWith('.gz') ? gzipSync(text) : text);
  return path;
}

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI in-process with a fixed clock and an empty environment. */
export async function runCli(args: string[], options: { now?: string; env?: Record<string, string> } = {}): Promise<CliRun> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = {
    stdout: (t) => out.push(t),
    stderr: (t) => err.push(t),
    clock: { now: () => new Date(options.now ?? '2026-11-24T12:00:00Z') },
    env: options.env ?? {},
  };
  const code = await main(args, io);
  return { code, stdout: out.join(''), stderr: err.join('') };
}

/** Minimal CSV reader for the report's files (quoted fields allowed). */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else if (c !== '\r') field += c;
  }
  if (field !== '' || row.length) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}
