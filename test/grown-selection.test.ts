/**
 * A selection grown from a kept one (last Monday's files plus new ones: EventStore.fillSelection)
 * must hide exactly what a selection made from every file hides: rejected records, records of files
 * loaded with the new ones but not selected, and every copy of a uuid after its first in (file id,
 * line) order, whether that first copy is an old or a new one (a new file's id may sort before an
 * old file's: then the old copy, visible last Monday, is hidden). The reference is a plain count per
 * file of the records a selection keeps, computed here from the lines written.
 */
import { utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir, writeExport, type TestEvent } from './helpers/fixtures.ts';
import { ChdbEngine } from '../src/engine/chdb-engine.ts';
import { EventStore, fileId, type LoadedFile, type Selection } from '../src/sources/event-store.ts';
import { discoverFiles } from '../src/sources/discover.ts';
import { EXPORT_KINDS, exportFormatOf } from '../src/sources/posthog-export.ts';
import { memoryLogger } from '../src/lib/logger.ts';
import { statSync } from 'node:fs';

const ev = (uuid: string, i: number, extra: Record<string, unknown> = {}): TestEvent => ({
  uuid,
  event: 'connect.cluster.login',
  distinct_id: `inst-${i % 7}`,
  timestamp: `2026-11-${String(10 + (i % 10)).padStart(2, '0')}T10:00:${String(i % 60).padStart(2, '0')}Z`,
  properties: extra,
});
const uuid = (tag: string, i: number) => `${tag}${'0'.repeat(8 - tag.length)}-0000-4000-8000-${String(i).padStart(12, '0')}`;

let dir: string;
const engines: ChdbEngine[] = [];
/** The lines of each file as written: an event, or a line that is not an event. */
const lines = new Map<string, Array<TestEvent | string>>();

async function write(name: string, content: Array<TestEvent | string>): Promise<string> {
  const path = await writeExport(join(dir, 'events', name), content);
  lines.set(path, content);
  return path;
}

/** A file's id in the store (its path, size and modification time). */
const idOf = (path: string) => fileId({ path, size: statSync(path).size, mtimeMs: Math.trunc(statSync(path).mtimeMs) } as Parameters<typeof fileId>[0]);

/** Sets a file's modification time (a whole second) so that its id sorts before (or after) all of `others`'. */
async function placeId(path: string, others: string[], before: boolean): Promise<void> {
  const size = statSync(path).size;
  const ids = others.map(idOf);
  for (let s = 1_600_000_000; ; s++) {
    const id = fileId({ path, size, mtimeMs: s * 1000 } as Parameters<typeof fileId>[0]);
    if (ids.every((o) => id < o === before)) {
      await utimes(path, s, s);
      return;
    }
  }
}

/** Records kept per file id, by the rule: usable lines, each uuid's first copy in (file id, line) order. */
function expectedKept(paths: string[]): Record<string, number> {
  const byId = paths.map((p) => ({ id: idOf(p), p }));
  byId.sort((a, b) => (a.id < b.id ? -1 : 1));
  const seen = new Set<string>();
  const kept: Record<string, number> = {};
  for (const { id, p } of byId) {
    for (const l of lines.get(p)!) {
      if (typeof l === 'string') continue; // not JSON: rejected
      if (seen.has(l.uuid!)) continue;
      seen.add(l.uuid!);
      kept[id] = (kept[id] ?? 0) + 1;
    }
  }
  return kept;
}

async function keptPerFile(engine: ChdbEngine, s: Selection): Promise<Record<string, number>> {
  const rows = await engine.objects<{ f: string; n: number }>(`SELECT toString(file_id) AS f, count() AS n FROM ${s.database}.events GROUP BY f`);
  return Object.fromEntries(rows.map((r) => [r.f, Number(r.n)]));
}

const discover = (paths: string[]) => discoverFiles(paths, (n) => exportFormatOf(n) !== undefined, { flag: '--events', kinds: EXPORT_KINDS });

let a1: string, a2: string, early: string, late: string, other: string;

beforeAll(async () => {
  dir = await tempDir('cm-grown-');
  // Last Monday's files: a2 repeats some of a1's events (hidden in the kept selection already).
  const a1Events = Array.from({ length: 30 }, (_, i) => ev(uuid('a', i), i));
  a1 = await write('a1.jsonl', [...a1Events, '{"bad json', ev(uuid('a', 30), 30)]);
  a2 = await write('a2.jsonl', [...a1Events.slice(0, 4).map((e) => ({ ...e, properties: { copy: 'a2' } })), ...Array.from({ length: 10 }, (_, i) => ev(uuid('b', i), 40 + i))]);
  // New files: copies of old events (some in a file whose id sorts before a1's and a2's, so the new
  // copy is the first), copies among themselves, events of their own, a rejected line each.
  early = await write('early.jsonl', [
    ...a1Events.slice(2, 8).map((e) => ({ ...e, properties: { copy: 'early' } })),
    ...Array.from({ length: 8 }, (_, i) => ev(uuid('c', i), 60 + i)),
    '{"event": "connect.x"}',
  ]);
  late = await write('late.jsonl', [
    ...a1Events.slice(6, 12).map((e) => ({ ...e, properties: { copy: 'late' } })),
    ...Array.from({ length: 4 }, (_, i) => ev(uuid('c', i), 60 + i)),
    ...Array.from({ length: 5 }, (_, i) => ev(uuid('d', i), 80 + i)),
    'not json',
  ]);
  // Loaded with the new files but never selected: its copies must not hide anything.
  other = await write('other.jsonl', a1Events.slice(12, 16).map((e) => ({ ...e, properties: { copy: 'other' } })));
  await placeId(early, [a1, a2], true);
  await placeId(late, [a1, a2], false);
}, 60_000);
afterAll(() => {
  for (const e of engines) e.close();
});

async function freshStore(name: string): Promise<{ engine: ChdbEngine; store: EventStore; logger: ReturnType<typeof memoryLogger> }> {
  const engine = ChdbEngine.open(join(dir, name, 'clickhouse'));
  engines.push(engine);
  const logger = memoryLogger();
  const store = new EventStore(engine, join(dir, name), logger);
  await store.init();
  return { engine, store, logger };
}

describe('a selection grown from last Monday\'s', () => {
  it('hides what a selection made from every file hides (old or new first copies, rejects, files loaded beside)', async () => {
    // The precondition the files were placed for: one new id before both old ones, one after.
    expect(idOf(early) < idOf(a1) && idOf(early) < idOf(a2)).toBe(true);
    expect(idOf(late) > idOf(a1) && idOf(late) > idOf(a2)).toBe(true);

    const grown = await freshStore('grown');
    const parent = await grown.store.select(await grown.store.load((await discover([a1, a2])).files));
    expect(await keptPerFile(grown.engine, parent)).toEqual(expectedKept([a1, a2]));
    const loaded: LoadedFile[] = await grown.store.load((await discover([early, late, other])).files);
    // The new files were loaded together with the one left out (one load, one partition).
    expect(new Set(loaded.map((f) => f.loadId)).size).toBe(1);
    const all = await grown.store.load((await discover([a1, a2, early, late])).files);
    const child = await grown.store.select(all);
    expect(grown.logger.records.some((r) => r.msg === 'selection grown from a kept one')).toBe(true);

    const expected = expectedKept([a1, a2, early, late]);
    expect(await keptPerFile(grown.engine, child)).toEqual(expected);
    // The copies kept are the same records, not only as many.
    const kept = async (e: ChdbEngine, s: Selection) =>
      (await e.objects<{ k: string }>(`SELECT concat(uuid, ' ', properties) AS k FROM ${s.database}.events ORDER BY k`)).map((r) => r.k);
    const grownKept = await kept(grown.engine, child);
    // Last Monday's selection is unchanged by the one grown from it.
    expect(await keptPerFile(grown.engine, parent)).toEqual(expectedKept([a1, a2]));
    const grownCounts = { events: child.events, duplicates: child.duplicates };
    grown.engine.close(); // one engine per process

    // The same files selected from scratch (all loaded at once, no kept selection).
    const scratch = await freshStore('scratch');
    const whole = await scratch.store.select((await scratch.store.load((await discover([a1, a2, early, late, other])).files)).filter((f) => f.path !== other));
    expect(scratch.logger.records.some((r) => r.msg === 'selection grown from a kept one')).toBe(false);
    expect(await keptPerFile(scratch.engine, whole)).toEqual(expected);
    expect(await kept(scratch.engine, whole)).toEqual(grownKept);
    expect({ events: whole.events, duplicates: whole.duplicates }).toEqual(grownCounts);
  }, 120_000);
});
