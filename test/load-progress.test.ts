/**
 * Progress of a load of export files: a plain line per file for logs, or one line redrawn in place
 * on a terminal (files done of total, events, rate, time left) once the load has run a few seconds.
 * The clock is injected: the figures are checked against values worked out by hand.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ChdbEngine } from '../src/engine/chdb-engine.ts';
import { EventStore, type LoadedFile } from '../src/sources/event-store.ts';
import { discoverFiles } from '../src/sources/discover.ts';
import { EXPORT_KINDS, exportFormatOf } from '../src/sources/posthog-export.ts';
import { memoryLogger } from '../src/lib/logger.ts';
import { terminalLoadProgress } from '../src/sources/load-progress.ts';
import { tempDir, writeExport } from './helpers/fixtures.ts';

const file = (records: number): LoadedFile =>
  ({ records, accepted: records, rejected: { bad_json: 0, no_distinct_id: 0, bad_timestamp: 0 } }) as unknown as LoadedFile;

describe('load progress', () => {
  it('logs a plain line per file: which, how far, records and rejects', async () => {
    const dir = await tempDir();
    await writeExport(join(dir, 'ev', 'a.jsonl'), [
      { event: 'connect.a', distinct_id: 'd1', timestamp: '2026-11-16T10:00:00Z' },
      { event: 'connect.a', timestamp: '2026-11-16T10:00:00Z' },
    ]);
    await writeExport(join(dir, 'ev', 'b.jsonl.gz'), [{ event: 'connect.a', distinct_id: 'd2', timestamp: '2026-11-16T10:00:00Z' }]);
    const engine = ChdbEngine.open(join(dir, 'data', 'clickhouse'));
    try {
      const logger = memoryLogger();
      const store = new EventStore(engine, join(dir, 'data'), logger);
      await store.init();
      const found = await discoverFiles([join(dir, 'ev')], (n) => exportFormatOf(n) !== undefined, { flag: '--events', kinds: EXPORT_KINDS });
      await store.load(found.files);
      expect(logger.records.filter((r) => r.msg.startsWith('loaded ')).map((r) => [r.level, r.msg])).toEqual([
        ['info', `loaded ${join(dir, 'ev', 'a.jsonl')} (1/2): 2 records, 1 rejected`],
        ['info', `loaded ${join(dir, 'ev', 'b.jsonl.gz')} (2/2): 1 records, 0 rejected`],
      ]);
    } finally {
      engine.close();
    }
  });

  it('on a terminal: nothing for a quick load, then files, events, rate and time left redrawn in place', () => {
    let t = Date.parse('2026-11-24T12:00:00Z');
    const out: string[] = [];
    const p = terminalLoadProgress((s) => out.push(s), () => new Date(t));
    p.start({ files: 4, bytes: 400 });
    t += 1000;
    p.file(file(1000), 100);
    expect(out).toEqual([]); // 1 s in: a quick load shows nothing
    t += 3000;
    p.file(file(3000), 100);
    // 4 s in: 2 of 4 files, 4,000 events (1,000 a second); 200 of 400 bytes read, so 4 s more.
    expect(out).toEqual(['\r\x1b[2Kloading events: 2/4 files, 4,000 events, 1,000 events/s, about 4 s left']);
    t += 4000;
    p.file(file(2000), 100);
    // 8 s in: 6,000 events (750 a second); 300 of 400 bytes read, so a third of 8 s more.
    t += 2000;
    p.file(file(4000), 100);
    // 10 s in: every file read; 10,000 events, 1,000 a second.
    p.end();
    expect(out.slice(1)).toEqual([
      '\r\x1b[2Kloading events: 3/4 files, 6,000 events, 750 events/s, about 3 s left',
      '\r\x1b[2Kloading events: 4/4 files, 10,000 events, 1,000 events/s, done',
      '\n',
    ]);
  });
});
