/**
 * The CDN-log benchmark: a week of hourly gzip logs (default 20 million lines). Lines per second and
 * peak memory of the project's path (stage + count), beside `zcat FILES | wc -l` and beside the
 * embedded engine only reading the same files, all measured in this run. Run by `npm run bench`.
 */
import { execFileSync, execSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeCdnLogs } from './cdn-log-generator.ts';

export async function runDownloadsBench(args: { lines: number; root: string; out: (s: string) => void }): Promise<boolean> {
  // v2: Connect installers ~3% of the traffic (v1 had 15%).
  const dir = join(args.root, `cdn-v2-${args.lines}`);
  if (!existsSync(join(dir, '.complete'))) {
    await rm(dir, { recursive: true, force: true });
    args.out(`generating ${(args.lines / 1e6).toFixed(0)}M log lines in hourly files into ${dir} ...\n`);
    const t = Date.now();
    const r = await writeCdnLogs(dir, { lines: args.lines, start: new Date('2026-11-16T00:00:00Z'), hours: 168, seed: 5 });
    await writeFile(join(dir, '.complete'), String(r.lines));
    args.out(`generated ${r.files.length} files in ${((Date.now() - t) / 1000).toFixed(1)} s (not measured below)\n`);
  }
  const files = readdirSync(dir).filter((f) => f.endsWith('.gz')).sort();
  const half = files.slice(0, Math.floor(files.length / 2));

  const zcat = (() => {
    const t = process.hrtime.bigint();
    const out = execSync(`zcat ${files.map((f) => `'${join(dir, f)}'`).join(' ')} | wc -l`, { encoding: 'utf8', maxBuffer: 1 << 20 });
    return { seconds: Number(process.hrtime.bigint() - t) / 1e9, lines: Number(out.trim()) };
  })();
  const phase = (name: string, list: string[]) =>
    JSON.parse(
      execFileSync(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'downloads-phase.ts'), name, dir, join(args.root, 'work', `cdn-${name}`), JSON.stringify(list)], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
      })
        .trim()
        .split('\n')
        .pop()!,
    ) as { seconds: number; lines: number; maxRssMb: number; downloads?: number };
  const engine = phase('engine', files);
  const decompress = phase('decompress', files);
  const ours = phase('ours', files);
  const quarter = files.slice(0, Math.floor(files.length / 4));
  const stageQuarter = phase('stage', quarter);
  const stageHalf = phase('stage', half);
  const stageAll = phase('stage', files);
  // zcat counts header lines too: compare rates over the log lines each side read.
  const rate = (lines: number, s: number) => lines / s;
  const rZcat = rate(zcat.lines, zcat.seconds);
  const rEngine = rate(engine.lines, engine.seconds);
  const rOurs = rate(ours.lines, ours.seconds);
  const fmt = (r: number) => `${(r / 1e6).toFixed(2)}M lines/s`;
  args.out(
    `\nCDN logs: ${files.length} hourly gzip files, ${ours.lines} log lines\n` +
      `  zcat FILES | wc -l            ${zcat.seconds.toFixed(2)} s  ${fmt(rZcat)}\n` +
      `  engine reading them (TSV)     ${engine.seconds.toFixed(2)} s  ${fmt(rEngine)}  peak RSS ${engine.maxRssMb} MB  (its native reader, the counting fields parsed)\n` +
      `  engine decompressing only     ${decompress.seconds.toFixed(2)} s  ${fmt(rate(decompress.lines, decompress.seconds))}  peak RSS ${decompress.maxRssMb} MB  (line count: the floor)\n` +
      `  connect-metrics (stage+count) ${ours.seconds.toFixed(2)} s  ${fmt(rOurs)}  peak RSS ${ours.maxRssMb} MB  (${ours.downloads} downloads+updates)\n` +
      `  ratio to the engine: ${(rOurs / rEngine).toFixed(2)} (target >= 0.8)   ratio to zcat: ${(rOurs / rZcat).toFixed(2)} (target >= 1.2)\n` +
      `  reading the files only, peak RSS: ${stageQuarter.maxRssMb} MB with ${quarter.length} files, ${stageHalf.maxRssMb} MB with ${half.length}, ${stageAll.maxRssMb} MB with ${files.length}\n` +
      `  (the rest of the peak is the counting query, whose request-id dedupe holds the qualifying requests: ${ours.downloads} here)\n`,
  );
  return rOurs / rEngine >= 0.8 && rOurs / rZcat >= 1.2;
}
