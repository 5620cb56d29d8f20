import { readdir, stat } from 'node:fs/promises';
import { join, resolve, basename } from 'node:path';
import { UsageError } from '../lib/errors.ts';

export interface DiscoveredFile {
  path: string;
  size: number;
  mtimeMs: number;
}

export interface Discovery {
  files: DiscoveredFile[];
  /** Files inside the named folders that were skipped because of their name (listed in data quality). */
  ignored: string[];
}

/**
 * Lists the files named by the user (files or folders, folders recursively), keeping those whose
 * name `accept`s. A missing path, or a named file of the wrong kind, is a usage error that says what
 * to type instead; files in folders that do not match are listed in `ignored`, never silently lost.
 * Hidden files (`.name`) are skipped: writers use them for files that are not complete yet.
 */
export async function discoverFiles(
  paths: string[],
  accept: (name: string) => boolean,
  what: { flag: string; kinds: string },
): Promise<Discovery> {
  const files = new Map<string, DiscoveredFile>();
  const ignored: string[] = [];
  for (const given of paths) {
    const path = resolve(given);
    let info;
    try {
      info = await stat(path);
    } catch {
      throw new UsageError(`${what.flag} ${given}: no such file or folder`, {
        hint: `pass a file or folder of ${what.kinds}`,
      });
    }
    if (info.isFile()) {
      if (!accept(basename(path))) {
        throw new UsageError(`${what.flag} ${given}: not one of ${what.kinds}`, { hint: `rename it or pass its folder` });
      }
      files.set(path, { path, size: info.size, mtimeMs: Math.trunc(info.mtimeMs) });
      continue;
    }
    for await (const file of walk(path)) {
      const name = basename(file.path);
      if (name.startsWith('.')) continue;
      if (accept(name)) files.set(file.path, file);
      else ignored.push(file.path);
    }
  }
  if (files.size === 0) {
    throw new UsageError(`${what.flag} ${paths.join(' ')}: no ${what.kinds} found`, {
      hint: `point ${what.flag} at a folder that holds ${what.kinds}`,
    });
  }
  return { files: [...files.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)), ignored: ignored.sort() };
}

async function* walk(dir: string): AsyncGenerator<DiscoveredFile> {
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const entry of entries) {
    const path = join(dir, entry.name);
    // Follow symbolic links: an export folder is often a link farm over a shared mount.
    const info = entry.isSymbolicLink() ? await stat(path).catch(() => undefined) : undefined;
    if (entry.isDirectory() || info?.isDirectory()) {
      if (!entry.name.startsWith('.')) yield* walk(path);
    } else if (entry.isFile() || info?.isFile()) {
      const fileInfo = info ?? (await stat(path));
      yield { path, size: fileInfo.size, mtimeMs: Math.trunc(fileInfo.mtimeMs) };
    }
  }
}
