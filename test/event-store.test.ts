import { join } from 'node:path';
import { mkdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChdbEngine } from '../src/engine/chdb-engine.ts';
import { EventStore, type LoadedFile } from '../src/sources/event-store.ts';
import { discoverFiles } from '../src/sources/discover.ts';
import { EXPORT_KINDS, exportFormatOf } from '../src/sources/posthog-export.ts';
import { memoryLogger } from '../src/lib/logger.ts';
import { InputFileError, UsageError } from '../src/lib/errors.ts';
import { exportLine, tempDir, writeExport } from './helpers/fixtures.ts';

async function tempDirUnder(root: string, name: string): Promise<string> {
  await mkdir(join(root, name), { recursive: true });
  return join(root, name);
}

const discover = (paths: string[]) => discoverFiles(paths, (n) => exportFormatOf(n) !== undefined, { flag: '--events', kinds: EXPORT_KINDS });

describe('event store', () => {
  let dir: string;
  let engine: ChdbEngine;
  let store: EventStore;
  const dataDir = () => join(dir, 'data');

  beforeAll(async () => {
    dir = await tempDir();
    engine = ChdbEngine.open(join(dataDir(), 'clickhouse'));
    store = new EventStore(engine, dataDir(), memoryLogger());
    await store.init();
  });
  afterAll(() => engine?.close());

  const count = async (sql: string) => Number((await engine.objects<{ n: number }>(sql))[0]!.n);

  it('counts unusable records per file with their line numbers, and keeps the rest', async () => {
    const path = await writeExport(join(dir, 'bad', 'x.jsonl'), [
      { event: 'connect.a', distinct_id: 'd1', timestamp: '2026-11-16T10:00:00Z' },
      '{"uuid": "u-2", "event": "connect.a", "distinct_id": "d2"', // truncated JSON (line 2)
      '', // a blank line is not a record (line 3)
      { event: 'connect.a', timestamp: '2026-11-16T10:00:00Z' }, // no distinct_id (line 4)
      { event: 'connect.a', distinct_id: '', timestamp: '2026-11-16T10:00:00Z' }, // empty distinct_id (line 5)
      { event: 'connect.a', distinct_id: 'd3', timestamp: 'not-a-time' }, // line 6
      { event: 'connect.a', distinct_id: 'd4', timestamp: '2026-11-16 10:00:00' }, // no zone: UTC
      JSON.stringify({ uuid: 'epoch-ms', event: 'connect.a', distinct_id: 'd5', timestamp: 1_795_340_000_000 }),
    ]);
    const [file] = await store.load((await discover([path])).files);
    expect(file).toMatchObject({
      records: 7,
      accepted: 3,
      rejected: { bad_json: 1, no_distinct_id: 2, bad_timestamp: 1 },
    });
    expect(file!.examples.map((e) => [e.line, e.reason])).toEqual([
      [2, 'bad_json'],
      [4, 'no_distinct_id'],
      [5, 'no_distinct_id'],
      [6, 'bad_timestamp'],
    ]);
    const sel = await store.select([file!]);
    expect(sel.events).toBe(3);
    const rows = await engine.objects<{ distinct_id: string; timestamp: string }>('SELECT distinct_id, timestamp FROM events ORDER BY distinct_id');
    expect(rows).toEqual([
      { distinct_id: 'd1', timestamp: '2026-11-16 10:00:00.000000' },
      { distinct_id: 'd4', timestamp: '2026-11-16 10:00:00.000000' },
      { distinct_id: 'd5', timestamp: new Date(1_795_340_000_000).toISOString().replace('T', ' ').replace('Z', '000') },
    ]);
  });

  it('keeps each object field exactly as the line has it, whatever the key order, nesting or spacing', async () => {
    // Each line's expected properties / person properties come from JSON.parse of the line itself.
    const lines = [
      '{"uuid":"o1","event":"e","distinct_id":"a","properties":{"k":"v","n":{"properties":1}},"person_properties":{"os":"linux"},"timestamp":"2026-11-16T10:00:00Z"}',
      '{"uuid":"o2","event":"e","distinct_id":"a","person_properties":{"properties":{"x":1}},"properties":{"k":"w"},"timestamp":"2026-11-16T10:00:00Z"}',
      '{"uuid": "o3", "event": "e", "distinct_id": "a", "properties": {"k": "spaced"}, "person_properties": {"os": "darwin"}, "timestamp": "2026-11-16T10:00:00Z"}',
      '{"uuid":"o4","event":"e{","distinct_id":"a","properties":{"k":"brace before"},"person_properties":{},"timestamp":"2026-11-16T10:00:00Z"}',
      '{"uuid":"o5","event":"e","distinct_id":"a","properties":"{\\"k\\":\\"as a string\\"}","person_properties":null,"timestamp":"2026-11-16T10:00:00Z"}',
      '{"uuid":"o6","event":"e","distinct_id":"a","x\\"properties":{"k":"not me"},"properties":{"k":"me"},"timestamp":"2026-11-16T10:00:00Z"}',
      '{"uuid":"o7","event":"e","distinct_id":"a","elements_chain":"","timestamp":"2026-11-16T10:00:00Z","person_properties":{"properties":{"k":"nested only"}}}',
    ];
    const path = join(dir, 'objects', 'o.jsonl');
    await writeFile(join(await tempDirUnder(dir, 'objects'), 'o.jsonl'), lines.join('\n') + '\n');
    const [file] = await store.load((await discover([path])).files);
    expect(file).toMatchObject({ records: 7, accepted: 7 });
    await store.select([file!]);
    const rows = await engine.objects<{ uuid: string; p: string; pp: string }>('SELECT uuid, properties AS p, `person.properties` AS pp FROM events ORDER BY uuid');
    const parse = (text: string) => (text === '' ? undefined : (JSON.parse(text) as unknown));
    const expected = lines.map((l) => {
      const o = JSON.parse(l) as Record<string, unknown>;
      const asObject = (v: unknown) => (typeof v === 'string' ? JSON.parse(v) : v === null ? undefined : v);
      return { uuid: o['uuid'], p: asObject(o['properties']), pp: asObject(o['person_properties']) };
    });
    expect(rows.map((r) => ({ uuid: r.uuid, p: parse(r.p), pp: parse(r.pp) }))).toEqual(expected);
  });

  it('fails on a corrupt gzip file with its path and the reason, and keeps nothing of it', async () => {
    const good = await writeExport(join(dir, 'corrupt', 'a.jsonl'), [{ event: 'connect.a', distinct_id: 'd1', timestamp: '2026-11-16T10:00:00Z' }]);
    const bad = join(dir, 'corrupt', 'b.jsonl.gz');
    await writeFile(bad, 'this is not gzip');
    const files = (await discover([join(dir, 'corrupt')])).files;
    const error = await store.load(files).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputFileError);
    expect((error as Error).message).toContain(bad);
    expect((error as Error).message).toMatch(/inflate|gzip|decompress/i);
    // The good file before it was loaded and stays; the bad one left no rows behind.
    expect(await count(`SELECT count() AS n FROM store.raw_events WHERE raw = '' AND distinct_id = 'd1' AND event = 'connect.a'`)).toBeGreaterThan(0);
    const [loadedGood] = await store.load([files[0]!]);
    expect(loadedGood!.path).toBe(good);
  });

  it('fails on a .parquet file that is not Parquet', async () => {
    const bad = join(dir, 'notparquet', 'x.parquet');
    await writeExport(join(dir, 'notparquet', 'x.jsonl'), []);
    await writeFile(bad, exportLine({ event: 'connect.a', distinct_id: 'd', timestamp: '2026-11-16T10:00:00Z' }));
    const error = await store.load((await discover([bad])).files).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputFileError);
    expect((error as Error).message).toContain(bad);
  });

  it('reads Parquet batch exports (typed timestamps, JSON as strings)', async () => {
    const path = join(dir, 'pq', 'events.parquet');
    await engine.exec(`INSERT INTO FUNCTION file('${path}', 'Parquet')
      SELECT 'p-' || toString(number) AS uuid, 'connect.protocol.use' AS event, 'dp' || toString(number % 3) AS distinct_id, '' AS person_id,
             '{"connect.protocol":"ssh"}' AS properties, '{}' AS person_properties, '' AS elements_chain,
             toDateTime64('2026-11-17 12:00:00', 6, 'UTC') + number AS timestamp, toDateTime64('2026-11-17 13:00:00', 6, 'UTC') AS created_at
      FROM numbers(10)`);
    const [file] = await store.load((await discover([path])).files);
    expect(file).toMatchObject({ format: 'parquet', records: 10, accepted: 10 });
    await store.select([file!]);
    expect(await count(`SELECT count(DISTINCT distinct_id) AS n FROM events WHERE JSONExtractString(properties, 'connect.protocol') = 'ssh'`)).toBe(3);
  });

  it('reads a file once; a changed file is read again, replacing its old rows', async () => {
    const path = await writeExport(join(dir, 'cache', 'c.jsonl'), [{ event: 'connect.a', distinct_id: 'c1', timestamp: '2026-11-16T10:00:00Z' }]);
    const first = (await store.load((await discover([path])).files))[0]!;
    const again = (await store.load((await discover([path])).files))[0]!;
    expect(again.loadedAt).toBe(first.loadedAt);
    expect(again.id).toBe(first.id);
    // A second store object over the same folder (the next run) also finds it loaded.
    const next = new EventStore(engine, dataDir(), memoryLogger(), () => new Date('2030-01-01T00:00:00Z'));
    await next.init();
    expect((await next.load((await discover([path])).files))[0]!.loadedAt).toBe(first.loadedAt);

    await writeExport(path, [
      { event: 'connect.a', distinct_id: 'c1', timestamp: '2026-11-16T10:00:00Z' },
      { event: 'connect.a', distinct_id: 'c2', timestamp: '2026-11-16T11:00:00Z' },
    ]);
    await utimes(path, new Date('2026-11-20T00:00:00Z'), new Date('2026-11-20T00:00:00Z'));
    const changed = (await next.load((await discover([path])).files))[0]!;
    expect(changed.id).not.toBe(first.id);
    expect(changed.loadedAt).toBe('2030-01-01T00:00:00.000Z');
    const sel = await next.select([changed]);
    expect(sel.events).toBe(2);
  });

  it('a selection holds exactly its files: events loaded earlier from other folders never leak in', async () => {
    const a = await writeExport(join(dir, 'iso', 'a', 'a.jsonl'), [{ event: 'connect.a', distinct_id: 'only-a', timestamp: '2026-11-16T10:00:00Z' }]);
    const b = await writeExport(join(dir, 'iso', 'b', 'b.jsonl.gz'), [{ event: 'connect.a', distinct_id: 'only-b', timestamp: '2026-11-16T10:00:00Z' }]);
    const fa = await store.load((await discover([a])).files);
    const fb = await store.load((await discover([b])).files);
    await store.select(fb);
    expect(await engine.objects('SELECT distinct_id FROM events')).toEqual([{ distinct_id: 'only-b' }]);
    const both = await store.select([...fa, ...fb]);
    expect(both.events).toBe(2);
    const again = await store.select(fb);
    expect(again.reused).toBe(true);
    expect(await engine.objects('SELECT distinct_id FROM events')).toEqual([{ distinct_id: 'only-b' }]);
  });

  it('deduplicates by uuid across files and within a file, and counts what it dropped', async () => {
    const e1 = { uuid: 'dup-1', event: 'connect.a', distinct_id: 'x', timestamp: '2026-11-16T10:00:00Z' };
    const e2 = { uuid: 'dup-2', event: 'connect.b', distinct_id: 'y', timestamp: '2026-11-16T11:00:00Z' };
    const f1 = await writeExport(join(dir, 'dups', '1.jsonl'), [e1, e1, e2]);
    const f2 = await writeExport(join(dir, 'dups', 'nested', '2.jsonl.gz'), [e2]);
    const files: LoadedFile[] = await store.load((await discover([join(dir, 'dups')])).files);
    expect(files.map((f) => f.path)).toEqual([f1, f2]);
    const sel = await store.select(files);
    expect(sel.events).toBe(2);
    expect(sel.duplicates).toBe(2);
  });

  it('never merges parts, in the store or in a selection (a load pays for writing them once)', async () => {
    const f = await writeExport(join(dir, 'nomerge', 'a.jsonl'), [{ event: 'connect.a', distinct_id: 'm', timestamp: '2026-11-16T10:00:00Z' }]);
    const sel = await store.select(await store.load((await discover([f])).files));
    const tables = await engine.objects<{ database: string; engine_full: string }>(
      "SELECT database, engine_full FROM system.tables WHERE (database = 'store' AND name = 'raw_events') OR (database = {db:String} AND name = 'events') ORDER BY database",
      { db: sel.database },
    );
    expect(tables.map((t) => t.database)).toEqual([sel.database, 'store']);
    for (const t of tables) {
      expect(t.engine_full).toContain('max_bytes_to_merge_at_max_space_in_pool = 1');
      expect(t.engine_full).toContain('max_bytes_to_merge_at_min_space_in_pool = 1');
    }
  });

  it('stops merging the parts of a store made before it stopped', async () => {
    const settings = async () => (await engine.objects<{ e: string }>("SELECT engine_full AS e FROM system.tables WHERE database = 'store' AND name = 'raw_events'"))[0]!.e;
    // The table as the previous version made it: without the settings.
    await engine.exec('ALTER TABLE store.raw_events RESET SETTING max_bytes_to_merge_at_max_space_in_pool, max_bytes_to_merge_at_min_space_in_pool');
    expect(await settings()).not.toContain('max_bytes_to_merge');
    await new EventStore(engine, dataDir(), memoryLogger()).init();
    expect(await settings()).toContain('max_bytes_to_merge_at_max_space_in_pool = 1, max_bytes_to_merge_at_min_space_in_pool = 1');
  });

  it('tells what to type when a path is missing or has no event files, and lists skipped files', async () => {
    await expect(discover([join(dir, 'nope')])).rejects.toBeInstanceOf(UsageError);
    await expect(discover([join(dir, 'nope')])).rejects.toThrow(/--events .*nope: no such file or folder/);
    await writeFile(join(dir, 'manifest.json'), '{}');
    await expect(discover([join(dir, 'manifest.json')])).rejects.toThrow(/not one of/);
    await writeExport(join(dir, 'mixed', 'a.jsonl'), []);
    await writeFile(join(dir, 'mixed', 'README.txt'), 'x');
    await writeFile(join(dir, 'mixed', '.a.jsonl.partial'), 'x');
    const found = await discover([join(dir, 'mixed')]);
    expect(found.files).toHaveLength(1);
    expect(found.ignored).toEqual([join(dir, 'mixed', 'README.txt')]);
  });

  it('loads files whose names the engine would read as globs ({a,b}, *, commas), beside plain ones', async () => {
    const odd = await writeExport(join(dir, 'globs', 'export{1,2}*[x].jsonl'), [
      { event: 'connect.a', distinct_id: 'g1', timestamp: '2026-11-16T10:00:00Z' },
    ]);
    const plain = await writeExport(join(dir, 'globs', 'plain.jsonl.gz'), [
      { event: 'connect.a', distinct_id: 'g2', timestamp: '2026-11-16T10:00:00Z' },
      { event: 'connect.a', distinct_id: 'g3', timestamp: '2026-11-16T10:00:00Z' },
    ]);
    const loaded = await store.load((await discover([join(dir, 'globs')])).files);
    expect(loaded.map((f) => [f.path, f.records])).toEqual([
      [odd, 1],
      [plain, 2],
    ]);
    const sel = await store.select(loaded);
    expect(sel.events).toBe(3);
  });

  it('writes its manifest atomically as JSON (no temp files left behind)', async () => {
    const manifest = JSON.parse(await readFile(join(dataDir(), 'events-manifest.json'), 'utf8')) as { files: Record<string, unknown> };
    expect(Object.keys(manifest.files).length).toBeGreaterThan(3);
  });
});
