import { join } from 'node:path';
import { writeFileAtomic } from '../lib/atomic-write.ts';
import { toCsv, type Table } from '../render/csv.ts';

/**
 * Writes the report's files into the output folder. Each file is written under a temporary name
 * and renamed into place, so a crash leaves the previous version or the new one, never half a file.
 */
export async function writeReportFiles(
  outDir: string,
  files: { tables: Record<string, Table>; json?: Record<string, unknown> },
): Promise<string[]> {
  const written: string[] = [];
  for (const [name, table] of Object.entries(files.tables)) {
    const path = join(outDir, name);
    await writeFileAtomic(path, toCsv(table));
    written.push(path);
  }
  for (const [name, value] of Object.entries(files.json ?? {})) {
    const path = join(outDir, name);
    await writeFileAtomic(path, JSON.stringify(value, null, 2) + '\n');
    written.push(path);
  }
  return written;
}
