/**
 * CloudFront access logs for the demo: the installers of the same population's installations
 * (population.ts), so downloads, in-app updates and release update fetches sit beside the events.
 * Legacy standard logs (gzip W3C with the `#Fields` header, ../shared/reference/cloudfront-logs.md),
 * the format the project's reader accepts first of all.
 *
 * What is in them:
 * - a download of its installer by every new installation, minutes before its first event (Linux
 *   only in part: most Debian-family installs come from the APT repository, not this CDN), and about
 *   as many downloads by people who never opt in to usage data (downloads are not installations);
 * - an in-app update fetch whenever an installation moves to a newer build (`-mac.zip` on macOS, the
 *   installer with the updater's `electron-builder` User-Agent elsewhere), with the updater's
 *   `latest*.yml` and `.blockmap` sidecars;
 * - what the counting rules must see through: retries of the same file on the same day, HEAD
 *   requests, download managers' ranges, viewers that hung up (`000`), double-encoded names, records
 *   delivered twice, 404s, and other Teleport binaries from the same CDN.
 *
 * `writeDemoCdnLogs` returns what it meant to count (downloads and updates per UTC day, platform and
 * version), so a test can hold both the reader and a plain reference counting to it. Every client
 * address is from the documentation range 2001:db8::/32, one per client, so no two clients merge.
 * CloudFront files hold one hour each (many per hour); a demo file holds a whole UTC day, named by its
 * first hour, because staging costs per file (the reader never relies on names).
 */
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { LEGACY_FIELDS } from '../sources/cloudfront/formats.ts';
import { resolve, type DemoOptions } from './events.ts';
import { hash44 } from './ids.ts';
import { APP_VERSIONS, buildPopulation, OS_DARWIN, OS_LINUX, OS_WIN32, RELEASES, type Population } from './population.ts';
import { makeRng, STREAM_CDN, STREAM_POPULATION, type Rng } from './random.ts';
import { DAY, HOUR, iso, MINUTE, SECOND } from './time.ts';

export type Platform = 'macos' | 'windows' | 'linux';

/** What the logs were made to count, per UTC day, platform and version (key `day\tplatform\tversion`). */
export type CdnTruth = Map<string, { downloads: number; updates: number }>;

export interface CdnLogResult {
  files: string[];
  /** request lines written (header lines excluded) */
  lines: number;
  truth: CdnTruth;
}

/** Share of Linux installations whose installer came from this CDN (the rest: the APT repository). */
const LINUX_FROM_CDN = 0.35;
/** Downloads by people who never opt in, per opted-in new installation. */
const UNCOUNTED_DOWNLOADS_PER_NEW = 1.0;
const FILES_PER_DAY = 1;
const HOST = 'cdn.teleport.dev';
const DISTRIBUTION = 'E2DEMOCONNECT0';

const newGroups = (): string[][] => Array.from({ length: FILES_PER_DAY }, () => []);
const enc = (s: string): string => s.replace(/%/g, '%25').replace(/ /g, '%20');
const BROWSER_UA: Record<Platform, string> = {
  macos: enc('Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36'),
  windows: enc('Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36'),
  linux: enc('Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0'),
};
const UPDATER_UA = 'electron-builder';
const OTHER_FILES = ['/teleport-v18.2.1-linux-amd64-bin.tar.gz', '/tsh-18.2.1.pkg', '/teleport-v18.2.1-linux-arm64-bin.tar.gz', '/teleport-v18.2.1-linux-amd64-bin.tar.gz.sha256'];

/** The installer file of a platform (Linux: a package kind 0 deb, 1 rpm, 2 tar.gz), as on the CDN (unencoded). */
function installerName(platform: Platform, version: string, arm: boolean, linuxKind: number, update: boolean): string {
  if (platform === 'macos') return update ? `Teleport Connect-${version}-mac.zip` : `Teleport Connect-${version}.dmg`;
  if (platform === 'windows') return `Teleport Connect Setup-${version}.exe`;
  if (linuxKind === 0) return `teleport-connect_${version}_${arm ? 'arm64' : 'amd64'}.deb`;
  if (linuxKind === 1) return `teleport-connect-${version}.${arm ? 'aarch64' : 'x86_64'}.rpm`;
  return `teleport-connect-${version}-${arm ? 'arm64' : 'x64'}.tar.gz`;
}

const PLATFORM_OF_OS: Record<number, Platform> = { [OS_DARWIN]: 'macos', [OS_WIN32]: 'windows', [OS_LINUX]: 'linux' };

/** One fetch of a file by one client: what the counting sees, and what it was meant to count as. */
interface Fetch {
  ts: number;
  client: number;
  platform: Platform;
  version: string;
  file: string; // unencoded name, without the leading slash
  ua: string; // as logged (URL-encoded)
  update: boolean;
}

/** Writes the logs for [start, end) of the same seed and population as the events; see the module comment. */
export async function writeDemoCdnLogs(dir: string, opts: DemoOptions): Promise<CdnLogResult> {
  const r = resolve(opts);
  const pop = buildPopulation(r.installations, r.startMs, r.endMs, r.eventsPerActiveDay, makeRng(r.seedLo, r.seedHi, STREAM_POPULATION));
  const rng = makeRng(r.seedLo, r.seedHi, STREAM_CDN);
  const fetches = installationFetches(pop, r.startMs, r.endMs, rng);
  fetches.push(...uncountedDownloads(pop, r.startMs, r.endMs, rng));
  fetches.sort((a, b) => a.ts - b.ts || a.client - b.client);

  const truth: CdnTruth = new Map();
  const writer = new LineWriter(rng, r.seedLo);
  await mkdir(dir, { recursive: true });
  const files: string[] = [];
  let total = 0;
  // A day at a time (every record of a fetch falls on the fetch's day): memory holds one day of lines.
  // A record delivered twice (~0.3%) is written again (in the next group's file when a day has several).
  let day = Math.floor(r.startMs / DAY);
  let groups: string[][] = newGroups();
  const flushDay = async (): Promise<void> => {
    for (let g = 0; g < FILES_PER_DAY; g++) {
      const start = day * DAY + g * (DAY / FILES_PER_DAY);
      if (start >= r.endMs) break;
      const hour = iso(start).slice(0, 13).replace('T', '-');
      const unique = hash44(day * FILES_PER_DAY + g, r.seedLo).replace(/[^A-Za-z0-9]/g, '').slice(0, 8).toLowerCase();
      const file = path.join(dir, `${DISTRIBUTION}.${hour}.${unique}.gz`);
      await writeGzip(file, `#Version: 1.0\n#Fields: ${LEGACY_FIELDS.join(' ')}\n` + groups[g]!.map((l) => l + '\n').join(''));
      total += groups[g]!.length;
      files.push(file);
    }
    groups = newGroups();
    day++;
  };
  for (const f of fetches) {
    while (Math.floor(f.ts / DAY) > day) await flushDay();
    for (const { ts, line } of writer.requests(f, r.startMs, r.endMs)) {
      const g = Math.floor((ts % DAY) / (DAY / FILES_PER_DAY));
      groups[g]!.push(line);
      if (rng() < 0.003) groups[(g + 1) % FILES_PER_DAY]!.push(line);
    }
    const key = `${iso(f.ts).slice(0, 10)}\t${f.platform}\t${f.version}`;
    const t = truth.get(key) ?? { downloads: 0, updates: 0 };
    if (f.update) t.updates++;
    else t.downloads++;
    truth.set(key, t);
  }
  while (day * DAY < r.endMs) await flushDay();
  return { files, lines: total, truth };
}

/** Downloads by new installations and update fetches by every installation that moves to a newer build. */
function installationFetches(pop: Population, startMs: number, endMs: number, rng: Rng): Fetch[] {
  const out: Fetch[] = [];
  const R = RELEASES.length;
  for (let i = 0; i < pop.n; i++) {
    const platform = PLATFORM_OF_OS[pop.os[i]!];
    const arm = pop.arch[i] === 1;
    const linuxKind = Math.floor(rng() * 3);
    const fromCdn = platform !== 'linux' || rng() < LINUX_FROM_CDN;
    if (platform === undefined || pop.draft[i] === 1) continue; // no installer (other OS), or builds too old to update themselves
    const created = pop.created[i]!;
    const base = { client: i, platform };
    if (created >= startMs && fromCdn) {
      const version = APP_VERSIONS[pop.appVersion[i]!]!;
      const ts = created - 2 * MINUTE - Math.floor(rng() * 20 * MINUTE);
      if (ts >= startMs) out.push({ ...base, ts, version, file: installerName(platform, version, arm, linuxKind, false), ua: BROWSER_UA[platform], update: false });
    }
    // Updates: the minor upgrade (when it came before any release), then each release it takes. The
    // updater fetches the file while the app runs, hours before the new build first starts; no
    // updater for the Linux tar.gz.
    const moves: { at: number; version: number }[] = [];
    const firstRelease = Math.min(...Array.from({ length: R }, (_, k) => pop.release[i * R + k]!));
    if (pop.upgrade[i]! < firstRelease) moves.push({ at: pop.upgrade[i]!, version: pop.appVersion[i]! + 1 });
    for (let k = 0; k < R; k++) if (Number.isFinite(pop.release[i * R + k]!)) moves.push({ at: pop.release[i * R + k]!, version: APP_VERSIONS.indexOf(RELEASES[k]!.version) });
    for (const move of moves) {
      if (platform === 'linux' && linuxKind === 2) break;
      const ts = Math.max(move.at - Math.floor(rng() * 8 * HOUR), releaseOf(pop, move.version));
      if (ts < startMs || ts >= endMs) continue;
      const version = APP_VERSIONS[move.version]!;
      out.push({ ...base, ts, version, file: installerName(platform, version, arm, linuxKind, true), ua: UPDATER_UA, update: true });
    }
  }
  return out;
}

/** When a build came out: the release time for releases, the range's start for the others. */
function releaseOf(pop: Population, version: number): number {
  const k = RELEASES.findIndex((rel) => rel.version === APP_VERSIONS[version]);
  return k >= 0 ? pop.releaseAt[k]! : -Infinity;
}

/** Downloads by people who never opt in: the newest build out, spread over the days like new installations. */
function uncountedDownloads(pop: Population, startMs: number, endMs: number, rng: Rng): Fetch[] {
  const out: Fetch[] = [];
  let newOnes = 0;
  for (let i = 0; i < pop.n; i++) if (pop.created[i]! >= startMs) newOnes++;
  const n = Math.round(newOnes * UNCOUNTED_DOWNLOADS_PER_NEW);
  // About the OS mix of the installations, Linux mostly elsewhere (the APT repository).
  const platforms: Platform[] = [...Array<Platform>(11).fill('macos'), ...Array<Platform>(6).fill('windows'), 'linux'];
  for (let k = 0; k < n; k++) {
    // Same shape as the installations' growth (more towards the end), working hours of some time zone.
    const ts = startMs + Math.floor(Math.sqrt(rng()) * (endMs - startMs));
    const platform = platforms[Math.floor(rng() * platforms.length)]!;
    let newest = APP_VERSIONS.indexOf(RELEASES[0]!.version) - 1; // the newest build out before the range
    RELEASES.forEach((rel, j) => {
      if (ts >= pop.releaseAt[j]!) newest = APP_VERSIONS.indexOf(rel.version);
    });
    const version = APP_VERSIONS[newest]!;
    out.push({ ts, client: pop.n + k, platform, version, file: installerName(platform, version, rng() < 0.3, Math.floor(rng() * 3), false), ua: BROWSER_UA[platform], update: false });
  }
  return out;
}

/** Renders a fetch as the log records a client and CloudFront would leave, noise included. */
class LineWriter {
  private seq = 0;
  constructor(
    private readonly rng: Rng,
    private readonly salt: number,
  ) {}

  *requests(f: Fetch, startMs: number, endMs: number): Generator<{ ts: number; line: string }> {
    const rng = this.rng;
    const ip = clientIp(f.client);
    let name = '/' + f.file.replace(/ /g, '%20');
    if (f.file.includes(' ') && rng() < 0.1) name = name.replace(/%20/g, '%2520'); // double-encoded on the way
    const size = String(80_000_000 + Math.floor(rng() * 120_000_000));
    const at = (ts: number, method: string, status: string, opts: { path?: string; rangeStart?: string; ua?: string } = {}): { ts: number; line: string } => ({
      ts,
      line: this.line(ts, ip, method, opts.path ?? name, status, opts.ua ?? f.ua, size, opts.rangeStart ?? '-'),
    });
    const sameDay = (ts: number): boolean => Math.floor(ts / DAY) === Math.floor(f.ts / DAY) && ts < endMs && ts >= startMs;
    const u = rng();
    if (f.update) {
      // The updater asks for the feed first and fetches the blockmap beside the file.
      const feed = f.platform === 'macos' ? '/latest-mac.yml' : f.platform === 'windows' ? '/latest.yml' : '/latest-linux.yml';
      if (sameDay(f.ts - 2 * SECOND)) yield at(f.ts - 2 * SECOND, 'GET', '200', { path: feed });
      if (f.platform !== 'linux' && sameDay(f.ts - SECOND)) yield at(f.ts - SECOND, 'GET', '200', { path: name + '.blockmap' });
    } else if (u < 0.03 && sameDay(f.ts - SECOND)) {
      yield at(f.ts - SECOND, 'HEAD', '200');
    } else if (u < 0.05 && sameDay(f.ts - 5 * MINUTE)) {
      yield at(f.ts - 5 * MINUTE, 'GET', '000'); // hung up, then tried again
    } else if (u < 0.07 && sameDay(f.ts - 3 * MINUTE)) {
      yield at(f.ts - 3 * MINUTE, 'GET', '404', { path: name.replace(/\d+\.\d+\.\d+/, '99.0.0') }); // a mistyped version
    }
    // The counted request: a plain 200, or a download manager's ranges (only the one from byte 0 counts).
    if (!f.update && rng() < 0.03) {
      yield at(f.ts, 'GET', '206', { rangeStart: '0' });
      yield at(f.ts + 1, 'GET', '206', { rangeStart: String(Math.floor(Number(size) / 2)) });
    } else {
      yield at(f.ts, 'GET', '200');
    }
    // Fetched again the same day (a second try, another browser tab): still one download.
    if (rng() < 0.04) {
      const again = f.ts + 10 * MINUTE + Math.floor(rng() * 3 * HOUR);
      if (sameDay(again)) yield at(again, 'GET', '200');
    }
    // The same CDN serves the rest of Teleport: about one other request per installer request.
    if (rng() < 0.9) {
      const other = OTHER_FILES[Math.floor(rng() * OTHER_FILES.length)]!;
      const ts = f.ts + Math.floor(rng() * HOUR);
      if (sameDay(ts)) yield { ts, line: this.line(ts, clientIp(0x3fffffff - f.client), 'GET', other, rng() < 0.1 ? '304' : '200', 'curl/8.5.0', '40000000', '-') };
    }
  }

  private line(ts: number, ip: string, method: string, uri: string, status: string, ua: string, size: string, rangeStart: string): string {
    const t = iso(ts);
    const id = hash44(this.seq++, this.salt ^ 0x2f6b1d).slice(0, 43).replace(/\+/g, '-').replace(/\//g, '_') + '=';
    const hit = status === '200' || status === '206' ? 'Hit' : 'Error';
    const bytes = status === '200' ? size : status === '206' ? String(Number(size) - Number(rangeStart)) : '512';
    const rangeEnd = rangeStart === '-' ? '-' : String(Number(size) - 1);
    // In LEGACY_FIELDS order.
    return [
      t.slice(0, 10), t.slice(11, 19), 'FRA56-P1', bytes, ip, method, 'd111111abcdef8.cloudfront.net', uri, status, '-', ua, '-', '-',
      hit, id, HOST, 'https', '312', '1.204', '-', 'TLSv1.3', 'TLS_AES_128_GCM_SHA256', hit, 'HTTP/2.0', '-', '-', '443', '0.010', hit,
      'application/octet-stream', size, rangeStart, rangeEnd,
    ].join('\t');
  }
}

/** A client's address in the IPv6 documentation range (2001:db8::/32): one per client, never a real one. */
function clientIp(client: number): string {
  return `2001:db8:${((client >>> 16) & 0xffff).toString(16)}:${(client & 0xffff).toString(16)}::1`;
}

async function writeGzip(file: string, text: string): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    await pipeline(Readable.from([Buffer.from(text, 'utf8')]), createGzip({ level: 1 }), createWriteStream(tmp));
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}
