/**
 * Deterministic synthetic data for `connect-metrics demo`, the benchmark and the `seed` command: a
 * PostHog project's S3 batch export (Connect's events, optionally the clusters' logins and a few
 * tracking-plan violations) and, in cdn-logs.ts, the CloudFront logs of the same installers.
 * Everything comes from seeded PRNGs (no Math.random, no clock): the same seed and options give
 * byte-identical output.
 *
 * Where things live: population.ts (the installed base every kind of data shares), events.ts
 * (Connect's events), cluster-logins.ts (`tp.user.login`), violations.ts (events that break the
 * tracking plan), cdn-logs.ts (CloudFront logs), random.ts / ids.ts / time.ts (seeded randomness,
 * identifiers and hashes, time text). This file writes the export files.
 *
 * What a consumer sees:
 * - Event timestamps lie in [start, end); rows whose `_inserted_at` would fall at or after `end` are not
 *   exported yet (as in a real export cut at `end`), so the last hours before `end` are a little thin.
 * - Duplicates (~0.5%) repeat a row in a later day's file with the same uuid and content but a later
 *   `_inserted_at` (the row was inserted again); dedupe on `uuid`.
 * - Bad records exist only in the files written by `writeDemoExport`; `generateDemoEvents` yields only
 *   well-formed records (duplicates included).
 * - Files are named by whole UTC days even when `start`/`end` are not midnight; a partial day's file
 *   simply holds fewer rows. Every UTC day overlapping [start, end) gets a file, empty ones included.
 * - Volume (two-week range): about 0.30 x eventsPerActiveDay events per installation per day on average,
 *   0.38x on weekdays and 0.12x on weekends; weekday DAU about 41% of `installations`, weekend about 16%.
 *   10M events from 200k installations over two weeks needs eventsPerActiveDay of about 11.8.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { ClusterLogins } from './cluster-logins.ts';
import type { DayStore } from './day-store.ts';
import { DemoStream, resolve, type DayBatch, type DemoOptions, type ExportRecord, type Resolved } from './events.ts';
import { randomUuidWords, uuidString } from './ids.ts';
import { makeRng, STREAM_BAD, type Rng } from './random.ts';
import { DAY, isoSeconds } from './time.ts';
import { Violations } from './violations.ts';

export type { DemoOptions, ExportRecord } from './events.ts';

/** The event stream with the side streams the options ask for. */
function openStream(r: Resolved): DemoStream {
  const gen = new DemoStream(r);
  if (r.clusterLogins) gen.addSide(new ClusterLogins(gen));
  if (r.violations) gen.addSide(new Violations(gen));
  return gen;
}

/**
 * How many side rows go before Connect's row `k` of the day (`_inserted_at` order, Connect's first
 * at equal times), given that `j` of them are already out; k = store.len: all the rest.
 */
function sideRowsBefore(batch: DayBatch, k: number, j: number): number {
  const { store, side } = batch;
  if (k >= store.len) return side.length;
  const t = store.inserted[k]!;
  while (j < side.length && side[j]!.inserted < t) j++;
  return j;
}


/** Events in ingestion order (`_inserted_at` ascending). */
export function generateDemoEvents(opts: DemoOptions): Iterable<ExportRecord> {
  const r = resolve(opts);
  return {
    *[Symbol.iterator](): Iterator<ExportRecord> {
      const gen = openStream(r);
      for (const batch of gen.days()) {
        if (batch === null) continue;
        let j = 0;
        for (let k = 0; k <= batch.store.len; k++) {
          for (const end = sideRowsBefore(batch, k, j); j < end; j++) yield JSON.parse(batch.side[j]!.line) as ExportRecord;
          if (k < batch.store.len) yield gen.record(batch.store, k);
        }
      }
    },
  };
}

/** Bad lines for one file: at least one of each kind, at random positions (kind 0, a truncated line, only when `truncated`). */
function planBadRecords(rng: Rng, rows: number, truncated: boolean): { at: number; kind: number }[] {
  if (rows === 0) return [];
  const n = 3 + Math.floor(rng() * 4);
  const plan: { at: number; kind: number }[] = [];
  for (let j = 0; j < n; j++) {
    const at = Math.floor(rng() * rows);
    const kind = j < 3 ? j : Math.floor(rng() * 3);
    plan.push({ at, kind: kind === 0 && !truncated ? 1 : kind });
  }
  plan.sort((x, y) => x.at - y.at || x.kind - y.kind);
  return plan;
}

function badLine(gen: DemoStream, s: DayStore, k: number, kind: number, rng: Rng): string {
  const rec = gen.record(s, k) as unknown as Record<string, unknown>;
  // Own uuid so that a reader which drops the bad line still has the real row it was copied from.
  randomUuidWords(rng);
  rec['uuid'] = uuidString();
  if (kind === 1) delete rec['distinct_id'];
  if (kind === 2) rec['timestamp'] = 'not-a-time';
  const json = JSON.stringify(rec);
  if (kind === 0) return json.slice(0, Math.floor(json.length * (0.2 + 0.7 * rng()))) + '\n';
  return json + '\n';
}

const CHUNK_BYTES = 1 << 20;
const MAX_LINE_BYTES = 8 << 10; // generous: real lines are under 1 KB
/** Files compressed at once: gzip runs in libuv's pool while the main thread renders the next day. */
const FILES_IN_FLIGHT = 3;

/** Writes gzip JSONL files, one per UTC day of `_inserted_at`, named like PostHog batch exports:
 *  `${dir}/${intervalStartISO}-${intervalEndISO}.jsonl.gz` e.g. `2026-11-16T00:00:00Z-2026-11-17T00:00:00Z.jsonl.gz`.
 *  Writes each file to a temp name then renames it. Streams (never builds a whole file in memory).
 *  Bad records (when enabled) are mixed in as raw lines. */
export async function writeDemoExport(
  dir: string,
  opts: DemoOptions,
): Promise<{ files: string[]; records: number; badRecords: number; duplicates: number; sideRecords: number }> {
  const r = resolve(opts);
  await mkdir(dir, { recursive: true });
  const gen = openStream(r);
  const files: string[] = [];
  const totals = { records: 0, badRecords: 0, duplicates: 0, sideRecords: 0 };

  const writeDay = async (batch: DayBatch, final: string): Promise<void> => {
    const tmp = `${final}.tmp-${process.pid}`;
    const { store } = batch;
    // One bad-record stream per day: files are rendered concurrently, so a shared one would not be deterministic.
    const badRng = makeRng(r.seedLo, r.seedHi, STREAM_BAD, batch.dayStart / DAY);
    const plan = r.badRecords ? planBadRecords(badRng, store.len, r.truncatedLines) : [];

    function* chunks(): Generator<Buffer> {
      let out = Buffer.allocUnsafe(CHUNK_BYTES + MAX_LINE_BYTES);
      let off = 0;
      let p = 0;
      let j = 0;
      for (let k = 0; k <= store.len; k++) {
        // Side rows are few: plain JSON (a line is far below MAX_LINE_BYTES).
        for (const end = sideRowsBefore(batch, k, j); j < end; j++) {
          off += out.write(batch.side[j]!.line, off, 'utf8');
          totals.records++;
          totals.sideRecords++;
          if (off >= CHUNK_BYTES) {
            yield out.subarray(0, off);
            out = Buffer.allocUnsafe(CHUNK_BYTES + MAX_LINE_BYTES);
            off = 0;
          }
        }
        if (k === store.len) break;
        while (p < plan.length && plan[p]!.at === k) {
          off += out.write(badLine(gen, store, k, plan[p]!.kind, badRng), off, 'latin1');
          totals.badRecords++;
          p++;
        }
        off = gen.encode(out, off, store, k);
        totals.records++;
        totals.duplicates += store.dup[k]!;
        if (off >= CHUNK_BYTES) {
          yield out.subarray(0, off);
          out = Buffer.allocUnsafe(CHUNK_BYTES + MAX_LINE_BYTES);
          off = 0;
        }
      }
      if (off > 0) yield out.subarray(0, off);
    }

    try {
      await pipeline(
        Readable.from(chunks(), { objectMode: false, highWaterMark: 2 * CHUNK_BYTES }),
        createGzip({ level: 1, memLevel: 9, chunkSize: 1 << 20 }),
        createWriteStream(tmp, { highWaterMark: 1 << 20 }),
      );
      await rename(tmp, final);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  };

  const inFlight: Promise<void>[] = [];
  try {
    for (const batch of gen.days()) {
      if (batch === null) {
        await new Promise<void>((done) => setImmediate(done)); // let zlib and fs callbacks run
        continue;
      }
      const final = path.join(dir, `${isoSeconds(batch.dayStart)}-${isoSeconds(batch.dayStart + DAY)}.jsonl.gz`);
      files.push(final);
      const p = writeDay(batch, final);
      p.catch(() => undefined); // handled below; avoids an unhandled rejection while others run
      inFlight.push(p);
      if (inFlight.length >= FILES_IN_FLIGHT) await inFlight.shift();
    }
    await Promise.all(inFlight);
  } catch (err) {
    await Promise.allSettled(inFlight);
    throw err;
  }
  return { files, ...totals };
}
