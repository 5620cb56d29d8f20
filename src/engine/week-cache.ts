/**
 * Reuse of closed weeks (issue 13: a report's cost follows the weeks it shows, not the history
 * behind them). The weekly report shows 12 weeks of trends; eleven of them were already computed by
 * last Monday's report. A query whose rows can be computed a week at a time (grain 'day' or 'week',
 * or `split.weekParts`: every row depends only on events before the end of the week it is dated in)
 * is cut at the week boundaries of its timezone; each week's rows are kept on disk under a key made
 * of the query's text, its other values, the week, and a fingerprint of every event before the
 * week's end. A week is reused only while that fingerprint is unchanged: a late event, a file added
 * or replaced, another selection with different data, all change it, and the week is computed again.
 * Weeks not kept are computed together, one query per run of consecutive weeks, so a first report
 * costs what it did (one query), and a Monday report computes only its new week.
 *
 * Only for the embedded engine: on PostHog each week would be a request of its own (the request
 * budget is per report), and PostHog's closed periods are cached whole (src/engine/query-cache.ts).
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, stat, unlink, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { DateTime } from 'luxon';
import type { Engine, EngineResult, ExecuteRequest } from './engine.ts';
import type { SplitSpec } from './query.ts';
import { toInstant } from '../reports/period.ts';
import { writeFileAtomic } from '../lib/atomic-write.ts';
import type { Logger } from '../lib/logger.ts';

/**
 * Part of every key: raised when something outside a query's text changes what its weeks hold (how
 * state is derived, how rows are cut), so that weeks kept by an older version are not reused.
 */
const KEPT_WEEKS_VERSION = 1;

/**
 * A kept week not read or written for this long is removed (the folder would otherwise grow every
 * week, and with every late event). A Monday report reads the 12-13 weeks before it, so its weeks
 * stay; a backfill of older weeks computes them again.
 */
export const KEEP_UNUSED_MS = 8 * 7 * 86_400_000;

/** How the queries date the rows before their period. */
const BEFORE_DATE = '1970-01-01';

/** A fingerprint of every event before an instant (ms); undefined when it cannot be told (the week is then not reused). */
export type EventsFingerprint = (beforeMs: number) => Promise<string | undefined>;

/** One week's rows as kept on disk. `before`: the rows dated before the week (only when the week began a run). */
interface KeptWeek {
  columns: string[];
  rows: unknown[][];
  before: unknown[][] | null;
}

interface Part {
  from: DateTime;
  to: DateTime;
  /** The part's first and last-plus-one local dates, YYYY-MM-DD (rows are dated so). */
  fromDate: string;
  toDate: string;
}

export class WeekReuseEngine implements Engine {
  readonly name: string;
  readonly horizonWeeks: number | undefined;
  /** Weeks reused and computed, for logs and tests. */
  readonly stats = { reused: 0, computed: 0 };

  /** Removal of long-unused weeks, once per engine (per run), before the first week is read. */
  private pruned: Promise<void> | undefined;

  constructor(
    private readonly inner: Engine,
    private readonly options: { dir: string; fingerprint: EventsFingerprint; logger: Logger; now?: () => number },
  ) {
    this.name = inner.name;
    this.horizonWeeks = inner.horizonWeeks;
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  async execute(request: ExecuteRequest): Promise<EngineResult> {
    this.pruned ??= this.prune();
    await this.pruned;
    const column = dateColumn(request.split);
    const parts = column === undefined ? undefined : weekParts(request.values);
    if (column === undefined || parts === undefined || parts.length < 2) return this.inner.execute(request);
    const keys = await Promise.all(parts.map((p) => this.keyOf(request, p)));
    const kept = await Promise.all(keys.map((k) => (k === undefined ? undefined : this.read(request.queryId, k))));
    // A query with look-backs (weekParts) may have rows dated before the period: they come with the
    // first week only when that week began a run, or are carried on from the week before (fold).
    // Day and week grains never have such rows.
    const weekSpec = request.split?.weekParts;
    if (weekSpec && kept[0] && kept[0].before === null) {
      const before = weekSpec.fold ? await this.carriedBefore(request, parts[0]!, weekSpec) : undefined;
      kept[0] = before ? { ...kept[0], before } : undefined;
    }
    const weeks: Array<KeptWeek | undefined> = [...kept];
    for (let i = 0; i < parts.length; ) {
      if (weeks[i]) {
        i++;
        continue;
      }
      let j = i;
      while (j + 1 < parts.length && !weeks[j + 1]) j++;
      const run = await this.inner.execute({
        ...request,
        values: { ...request.values, from: toInstant(parts[i]!.from), to: toInstant(parts[j]!.to) },
      });
      const cut = cutByWeek(run, column, parts.slice(i, j + 1));
      for (let k = i; k <= j; k++) {
        weeks[k] = cut[k - i]!;
        const key = keys[k];
        if (key !== undefined) {
          const path = this.path(request.queryId, key);
          await writeFileAtomic(path, JSON.stringify(weeks[k]));
          await this.touch(path);
        }
      }
      this.stats.computed += j - i + 1;
      i = j + 1;
    }
    const reused = kept.filter(Boolean).length;
    this.stats.reused += reused;
    this.options.logger.debug(`${request.queryId}: ${reused} of ${parts.length} weeks reused`, {});
    return combine(weeks as KeptWeek[], request.split!.keys);
  }

  /**
   * The rows dated before `part`, from the week before it when that one is kept with its own earlier
   * rows (last Monday's report began its run there): folded forward by the query's rule (weekParts.fold).
   */
  private async carriedBefore(request: ExecuteRequest, part: Part, spec: NonNullable<SplitSpec['weekParts']>): Promise<unknown[][] | undefined> {
    const zone = String(request.values.timezone ?? 'UTC');
    const start = part.from.setZone(zone).minus({ weeks: 1 });
    const previous: Part = { from: start.toUTC(), to: part.from, fromDate: start.toISODate()!, toDate: part.fromDate };
    const key = await this.keyOf(request, previous);
    const kept = key === undefined ? undefined : await this.read(request.queryId, key);
    if (!kept || kept.before === null) return undefined;
    return foldBefore(kept, spec, request.split!.keys);
  }

  /**
   * Removes the kept weeks (and temporary files of writes cut short) not used for KEEP_UNUSED_MS:
   * a week's file is touched when it is read, so its time is when it was last used.
   */
  private async prune(): Promise<void> {
    let names: string[];
    try {
      names = await readdir(this.options.dir);
    } catch {
      return; // nothing kept yet
    }
    const before = this.now() - KEEP_UNUSED_MS;
    let removed = 0;
    for (const name of names.filter((n) => n.endsWith('.json') || n.endsWith('.tmp'))) {
      const path = join(this.options.dir, name);
      try {
        if ((await stat(path)).mtimeMs < before) {
          await unlink(path);
          removed++;
        }
      } catch {
        // Removed by another run meanwhile: nothing to do.
      }
    }
    if (removed) this.options.logger.debug(`week reuse: removed ${removed} kept weeks unused for ${KEEP_UNUSED_MS / 86_400_000} days`, {});
  }

  /** Marks a kept week used now (on this engine's clock): kept another KEEP_UNUSED_MS (see prune). */
  private async touch(path: string): Promise<void> {
    const at = new Date(this.now());
    await utimes(path, at, at).catch(() => {});
  }

  private async keyOf(request: ExecuteRequest, part: Part): Promise<string | undefined> {
    const fingerprint = await this.options.fingerprint(part.to.toMillis());
    if (fingerprint === undefined) return undefined;
    const rest = Object.entries(request.values)
      .filter(([name]) => name !== 'from' && name !== 'to')
      .sort(([a], [b]) => (a < b ? -1 : 1));
    return createHash('sha256')
      .update(JSON.stringify([KEPT_WEEKS_VERSION, request.queryId, request.sql, rest, toInstant(part.from), toInstant(part.to), fingerprint]))
      .digest('hex')
      .slice(0, 32);
  }

  private path(queryId: string, key: string): string {
    return join(this.options.dir, `${queryId}-${key}.json`);
  }

  private async read(queryId: string, key: string): Promise<KeptWeek | undefined> {
    try {
      const path = this.path(queryId, key);
      const week = JSON.parse(await readFile(path, 'utf8')) as KeptWeek;
      if (!Array.isArray(week.rows) || !Array.isArray(week.columns)) return undefined;
      await this.touch(path);
      return week;
    } catch {
      // Not kept (or unreadable, e.g. cut short by a crash before the rename): computed again.
      return undefined;
    }
  }
}

/** The column that dates a row, when the query can be run a week at a time. */
function dateColumn(split: SplitSpec | undefined): string | undefined {
  if (!split) return undefined;
  if (split.weekParts) return split.weekParts.column;
  return split.grain === 'installation' ? undefined : split.keys[0];
}

/**
 * [from, to) cut at the Mondays 00:00 of the timezone; undefined when from or to is not a local
 * midnight (a row's date would not tell its part) or the values have no range.
 */
export function weekParts(values: Record<string, unknown>): Part[] | undefined {
  const zone = String(values.timezone ?? 'UTC');
  const parse = (v: unknown) => DateTime.fromISO(String(v).replace(' ', 'T').slice(0, 23), { zone: 'UTC' }).setZone(zone);
  if (typeof values.from !== 'string' || typeof values.to !== 'string') return undefined;
  const from = parse(values.from);
  const to = parse(values.to);
  if (!from.isValid || !to.isValid || from >= to) return undefined;
  if (!from.equals(from.startOf('day')) || !to.equals(to.startOf('day'))) return undefined;
  const parts: Part[] = [];
  let start = from;
  while (start < to) {
    let end = start.startOf('week').plus({ weeks: 1 });
    if (end > to) end = to;
    parts.push({ from: start.toUTC(), to: end.toUTC(), fromDate: start.toISODate()!, toDate: end.toISODate()! });
    start = end;
  }
  return parts;
}

/**
 * The rows dated before the week after `week`: its own earlier rows plus, by the query's fold rule,
 * its rows matching `when` with the `sum` columns added into the earlier row of the same other keys
 * (made, dated like the earlier rows and zero elsewhere, when there is none).
 */
export function foldBefore(week: KeptWeek, spec: NonNullable<SplitSpec['weekParts']>, keys: readonly string[]): unknown[][] {
  const fold = spec.fold!;
  const columns = week.columns;
  const at = (c: string) => {
    const i = columns.indexOf(c);
    if (i < 0) throw new Error(`week reuse: fold column ${c} is not in ${columns.join(', ')}`);
    return i;
  };
  const dateAt = at(spec.column);
  const keyAt = keys.map(at).filter((i) => i !== dateAt);
  const sums = fold.sum.map(at);
  const when = Object.entries(fold.when ?? {}).map(([c, v]) => [at(c), v] as const);
  const keyOf = (row: unknown[]) => JSON.stringify(keyAt.map((i) => row[i]));
  const before = new Map<string, unknown[]>();
  for (const row of week.before ?? []) before.set(keyOf(row), [...row]);
  for (const row of week.rows) {
    if (!when.every(([i, v]) => row[i] === v)) continue;
    const k = keyOf(row);
    let into = before.get(k);
    if (!into) {
      // Keyed as the row, dated before the period, every other column 0 before adding.
      into = columns.map((_, i) => (i === dateAt ? BEFORE_DATE : keyAt.includes(i) ? row[i] : 0));
      before.set(k, into);
    }
    for (const i of sums) into[i] = Number(into[i]) + Number(row[i]);
  }
  // A query returns no row for a count of 0 (a week with no new installation adds none).
  return [...before.values()].filter((row) => sums.some((i) => Number(row[i]) !== 0));
}

/** A run's rows by the week they are dated in; rows dated before the run go with its first week. */
function cutByWeek(result: EngineResult, column: string, parts: Part[]): KeptWeek[] {
  const at = result.columns.indexOf(column);
  if (at < 0) throw new Error(`week reuse: the result has no column ${column} (${result.columns.join(', ')})`);
  const weeks: KeptWeek[] = parts.map((_, i) => ({ columns: result.columns, rows: [], before: i === 0 ? [] : null }));
  for (const row of result.rows) {
    const date = String(row[at]).slice(0, 10);
    if (date < parts[0]!.fromDate) {
      weeks[0]!.before!.push(row);
      continue;
    }
    const i = parts.findIndex((p) => date >= p.fromDate && date < p.toDate);
    if (i < 0) throw new Error(`week reuse: a row dated ${date} lies after the range (${parts[0]!.fromDate} to ${parts.at(-1)!.toDate})`);
    weeks[i]!.rows.push(row);
  }
  return weeks;
}

/** The weeks put together: the first week's earlier rows, then every week's, ordered by the keys as the queries order them. */
function combine(weeks: KeptWeek[], keys: readonly string[]): EngineResult {
  const columns = weeks.find((w) => w.columns.length)?.columns ?? [];
  const rows = [...(weeks[0]?.before ?? []), ...weeks.flatMap((w) => w.rows)];
  const idx = keys.map((k) => columns.indexOf(k));
  rows.sort((a, b) => {
    for (const i of idx) {
      const x = String(a[i]);
      const y = String(b[i]);
      if (x !== y) return x < y ? -1 : 1;
    }
    return 0;
  });
  return { columns, rows };
}
