/**
 * The selection a new one grew from: last Monday's files, kept in the store, whose derived tables
 * (installation state, event fingerprints) the new selection can extend with its new files' events
 * instead of deriving them again from all history (issue 13: a Monday's new selection cost a pass
 * over every event, about a minute at two years of ~100k events a week, more every week).
 *
 * A parent is valid when every file of it is in the child and the child sees exactly the parent's
 * events from those files. The child can only hide more of them (a new file's copy of a uuid that
 * comes first in file order hides the parent's copy; nothing the parent hid comes back), so equal
 * counts mean equal sets. The child's events are then the parent's plus those of its new files.
 */
import type { ChdbEngine } from '../engine/chdb-engine.ts';

export interface ParentSelection {
  /** The parent's database. */
  database: string;
  /** The file ids of the parent's events (those not among them are the child's new files). */
  files: string[];
}

/**
 * The valid parent of `database` with the most events among the selections for which `usable`
 * holds (e.g. "has its state derived"), or undefined.
 */
export async function findParentSelection(
  engine: ChdbEngine,
  database: string,
  usable: (candidate: string) => Promise<boolean>,
): Promise<ParentSelection | undefined> {
  const candidates = await engine.objects<{ name: string }>(
    `SELECT name FROM system.databases
     WHERE startsWith(name, 'sel_') AND NOT endsWith(name, '_window') AND name != {db:String}
       AND name IN (SELECT database FROM system.tables WHERE name = 'events')`,
    { db: database },
  );
  const childFiles = await fileCounts(engine, database);
  let best: { parent: ParentSelection; events: number } | undefined;
  for (const { name } of candidates) {
    if (!(await usable(name))) continue;
    const files = await fileCounts(engine, name);
    // Every file of the parent in the child, with as many events seen there.
    const valid = [...files].every(([id, n]) => childFiles.get(id) === n);
    if (!valid) continue;
    const events = [...files.values()].reduce((a, b) => a + b, 0);
    if (!best || events > best.events) best = { parent: { database: name, files: [...files.keys()].sort() }, events };
  }
  return best?.parent;
}

/** Events seen per file id in a selection. */
async function fileCounts(engine: ChdbEngine, database: string): Promise<Map<string, number>> {
  const rows = await engine.objects<{ file_id: string; n: number | string }>(`SELECT toString(file_id) AS file_id, count() AS n FROM ${database}.events GROUP BY file_id`);
  return new Map(rows.map((r) => [r.file_id, Number(r.n)]));
}
