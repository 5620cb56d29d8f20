/**
 * Issue 14 point 4: PostHog batch exports as PostHog's export code writes them
 * (/work/shared/reference/posthog.md, "Batch exports"): compressed Parquet is named `.parquet.zst`
 * (also `.sz`, `.lz4`, `.br`, `.gz`) although the compression is inside the Parquet file, and a file
 * may start with a UTF-8 byte-order mark, which must not make its first record bad.
 */
import { join } from 'node:path';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChdbEngine } from '../src/engine/chdb-engine.ts';
import { EventStore } from '../src/sources/event-store.ts';
import { discoverFiles } from '../src/sources/discover.ts';
import { EXPORT_KINDS, exportFormatOf } from '../src/sources/posthog-export.ts';
import { memoryLogger } from '../src/lib/logger.ts';
import { exportLine, tempDir } from './helpers/fixtures.ts';

const discover = (paths: string[]) => discoverFiles(paths, (n) => exportFormatOf(n) !== undefined, { flag: '--events', kinds: EXPORT_KINDS });
const BOM = '\uFEFF';

describe('PostHog export files as PostHog writes them', () => {
  let dir: string;
  let engine: ChdbEngine;
  let store: EventStore;

  beforeAll(async () => {
    dir = await tempDir('cm-export-formats-');
    engine = ChdbEngine.open(join(dir, 'data', 'clickhouse'));
    store = new EventStore(engine, join(dir, 'data'), memoryLogger());
    await store.init();
  });
  afterAll(() => engine?.close());

  it('names every compressed-Parquet suffix an event file, and nothing else new', () => {
    for (const suffix of ['zst', 'sz', 'lz4', 'br', 'gz']) expect(exportFormatOf(`2026-11-16T00:00:00-2026-11-16T01:00:00.parquet.${suffix}`)).toBe('parquet');
    expect(exportFormatOf('x.parquet')).toBe('parquet');
    expect(exportFormatOf('x.parquet.txt')).toBeUndefined();
    expect(exportFormatOf('x.csv.zst')).toBeUndefined();
  });

  it('reads `.parquet.zst` (zstd inside the file, not around it) and the other names as plain Parquet', async () => {
    const names = ['a.parquet.zst', 'b.parquet.sz', 'c.parquet.lz4', 'd.parquet.br', 'e.parquet.gz'];
    for (const [i, name] of names.entries()) {
      // Written as PostHog does: a Parquet file whose pages are compressed (zstd, snappy, lz4, brotli, gzip), then named with the suffix.
      const codec = ['zstd', 'snappy', 'lz4', 'brotli', 'gzip'][i]!;
      const tmp = join(dir, 'pq', `tmp-${i}.parquet`);
      await engine.exec(`INSERT INTO FUNCTION file('${tmp}', 'Parquet')
        SELECT 'pz-${i}-' || toString(number) AS uuid, 'connect.login' AS event, 'dz${i}-' || toString(number % 4) AS distinct_id, '' AS person_id,
               '{}' AS properties, '{}' AS person_properties, '' AS elements_chain,
               toDateTime64('2026-11-17 12:00:00', 6, 'UTC') + number AS timestamp, toDateTime64('2026-11-17 13:00:00', 6, 'UTC') AS created_at
        FROM numbers(${6 + i}) SETTINGS output_format_parquet_compression_method = '${codec}'`);
      await rename(tmp, join(dir, 'pq', name));
    }
    const found = await discover([join(dir, 'pq')]);
    expect(found.ignored).toEqual([]);
    expect(found.files.map((f) => f.path.split('/').pop())).toEqual(names);
    const loaded = await store.load(found.files);
    // 6, 7, 8, 9, 10 rows written: every one read, none rejected
    expect(loaded.map((f) => [f.format, f.records, f.accepted])).toEqual(names.map((_, i) => ['parquet', 6 + i, 6 + i]));
    const sel = await store.select(loaded);
    expect(sel.events).toBe(6 + 7 + 8 + 9 + 10);
  });

  it('a UTF-8 byte-order mark at the start of a file does not make its first record bad (plain and gzip)', async () => {
    const lines = [
      exportLine({ uuid: 'bom-1', event: 'connect.a', distinct_id: 'b1', timestamp: '2026-11-16T10:00:00Z' }),
      exportLine({ uuid: 'bom-2', event: 'connect.a', distinct_id: 'b2', timestamp: '2026-11-16T11:00:00Z' }),
      '{"uuid": "bom-3", "event": "connect.a"', // really bad (line 3)
    ];
    const plain = join(dir, 'bom', 'a.jsonl');
    const gz = join(dir, 'bom', 'b.jsonl.gz');
    await mkdir(join(dir, 'bom'), { recursive: true });
    await writeFile(plain, BOM + lines.join('\n') + '\n');
    await writeFile(gz, gzipSync(BOM + lines.join('\n').replace(/bom-/g, 'bomz-') + '\n'));
    const loaded = await store.load((await discover([join(dir, 'bom')])).files);
    for (const f of loaded) {
      expect(f).toMatchObject({ records: 3, accepted: 2, rejected: { bad_json: 1, no_distinct_id: 0, bad_timestamp: 0 } });
      expect(f.examples.map((e) => e.line)).toEqual([3]);
    }
    await store.select(loaded);
    const rows = await engine.objects<{ uuid: string; distinct_id: string }>('SELECT uuid, distinct_id FROM events ORDER BY uuid');
    expect(rows).toEqual([
      { uuid: 'bom-1', distinct_id: 'b1' },
      { uuid: 'bom-2', distinct_id: 'b2' },
      { uuid: 'bomz-1', distinct_id: 'b1' },
      { uuid: 'bomz-2', distinct_id: 'b2' },
    ]);
  });
});
