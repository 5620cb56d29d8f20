/** One CDN-log measurement in its own process (so maxRSS is its own). Prints one JSON line. */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { ChdbEngine } from '../src/engine/chdb-engine.ts';
import { stageLogFiles } from '../src/sources/cloudfront/logs.ts';
import { runQuery } from '../src/engine/run-query.ts';
import { queries } from '../src/queries/index.ts';
import { silentLogger } from '../src/lib/logger.ts';

const [phase, dir, work, listJson] = process.argv.slice(2) as [string, string, string, string];
const names = JSON.parse(listJson) as string[];
rmSync(work, { recursive: true, force: true });
const engine = ChdbEngine.open(work);
const t = process.hrtime.bigint();
const out: Record<string, unknown> = { phase };
const list = `${dir}/{${names.join(',')}}`;
if (phase === 'engine') {
  // The engine reading the logs as what they are: tab-separated records, the fields the counting
  // needs parsed out (its native TSV reader), nothing counted.
  const cols = Array.from({ length: 33 }, (_, i) => `c${i + 1} String`).join(', ');
  const [row] = await engine.objects<{ n: number }>(
    `SELECT count() AS n FROM (SELECT c1, c2, c5, c6, c8, c9, c11, c15, c16, c32 FROM file('${list}', 'TSVRaw', '${cols}')
     WHERE c1 != '') SETTINGS input_format_tsv_skip_first_lines = 2`,
  );
  out.lines = Number(row!.n);
} else if (phase === 'decompress') {
  // The floor: the engine only decompressing and splitting lines.
  const [row] = await engine.objects<{ n: number }>(`SELECT count() AS n FROM file('${list}', 'LineAsString') WHERE NOT startsWith(line, '#')`);
  out.lines = Number(row!.n);
} else {
  const files = names.map((n) => ({ path: join(dir, n), size: 0, mtimeMs: 0 }));
  const stats = await stageLogFiles(engine, files, { logger: silentLogger });
  out.lines = stats.reduce((s, f) => s + f.lines, 0);
  if (phase === 'stage') {
    // Reading the files only (no counting query): the part whose memory must not grow with files.
    out.seconds = Number(process.hrtime.bigint() - t) / 1e9;
    out.maxRssMb = Math.round(process.resourceUsage().maxRSS / 1024);
    engine.close();
    process.stdout.write(JSON.stringify(out) + '\n');
    process.exit(0);
  }
  const rows = await runQuery(engine, queries.downloads_daily, {
    from: '2026-11-16 00:00:00.000000',
    to: '2026-11-23 00:00:00.000000',
    timezone: 'UTC',
    hosts: [],
    update_user_agents: ['electron-builder'],
  });
  out.downloads = rows.reduce((s, r) => s + r.downloads + r.updates, 0);
}
out.seconds = Number(process.hrtime.bigint() - t) / 1e9;
out.maxRssMb = Math.round(process.resourceUsage().maxRSS / 1024);
engine.close();
process.stdout.write(JSON.stringify(out) + '\n');
