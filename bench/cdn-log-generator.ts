/**
 * Synthetic CloudFront legacy standard logs for the benchmark: hourly gzip W3C files named like
 * CloudFront's (`E2BENCH.YYYY-MM-DD-HH.<id>.gz`), a realistic mix of traffic of which Connect
 * installers are a small part (tsh, teleport and web assets dominate), with ranges, HEADs, 304s and
 * double-encoded names. Deterministic (seeded), streamed, written under a temp name then renamed.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { LEGACY_FIELDS } from '../src/sources/cloudfront/formats.ts';

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PATHS = [
  '/teleport-v18.2.0-linux-amd64-bin.tar.gz',
  '/tsh-18.2.0.pkg',
  '/teleport-ent-v18.2.0-linux-arm64-bin.tar.gz',
  '/assets/app.js',
  '/assets/style.css',
  '/Teleport%2520Connect-18.2.0.dmg',
  '/Teleport%20Connect-18.2.0-mac.zip',
  '/Teleport%20Connect%20Setup-18.2.0.exe',
  '/teleport-connect_18.2.0_amd64.deb',
  '/teleport-connect-18.2.0.x86_64.rpm',
  '/Teleport%20Connect-18.2.0.dmg.blockmap',
  '/latest-mac.yml',
];
// Connect installers are ~3% of requests: the CDN mostly serves Teleport's server binaries, tsh and
// web assets. (The share decides how many lines are kept for counting; the bench prints it.)
const WEIGHTS = [35, 25, 10, 15, 11.6, 1, 0.8, 0.7, 0.3, 0.2, 0.2, 0.2];
const UAS = ['Mozilla/5.0%20(Macintosh;%20Intel%20Mac%20OS%20X%2010_15_7)', 'curl/8.4.0', 'electron-builder', 'Homebrew/4.2.0', 'Mozilla/5.0%20(Windows%20NT%2010.0)'];

export async function writeCdnLogs(dir: string, options: { lines: number; start: Date; hours: number; seed: number }): Promise<{ files: string[]; lines: number }> {
  await mkdir(dir, { recursive: true });
  const rand = mulberry32(options.seed);
  const total = WEIGHTS.reduce((s, w) => s + w, 0);
  const cumulative = WEIGHTS.map((_, i) => WEIGHTS.slice(0, i + 1).reduce((s, w) => s + w, 0) / total);
  const pick = () => {
    const r = rand();
    return PATHS[cumulative.findIndex((c) => r < c)] ?? PATHS[0]!;
  };
  const perFile = Math.ceil(options.lines / options.hours);
  const files: string[] = [];
  let written = 0;
  for (let h = 0; h < options.hours && written < options.lines; h++) {
    const hour = new Date(options.start.getTime() + h * 3_600_000);
    const iso = hour.toISOString();
    const date = iso.slice(0, 10);
    const name = `E2BENCH.${date}-${iso.slice(11, 13)}.${(h * 7919).toString(36)}.gz`;
    const path = join(dir, name);
    const n = Math.min(perFile, options.lines - written);
    function* chunks(): Generator<string> {
      yield `#Version: 1.0\n#Fields: ${LEGACY_FIELDS.join(' ')}\n`;
      let buf = '';
      for (let i = 0; i < n; i++) {
        const sec = Math.floor(rand() * 3600);
        const time = `${String(hour.getUTCHours()).padStart(2, '0')}:${String(Math.floor(sec / 60)).padStart(2, '0')}:${String(sec % 60).padStart(2, '0')}`;
        const r = rand();
        const method = r < 0.03 ? 'HEAD' : 'GET';
        const status = r < 0.08 ? '304' : r < 0.12 ? '206' : r < 0.13 ? '000' : '200';
        const range = status === '206' ? (rand() < 0.5 ? '0' : String(Math.floor(rand() * 1e8))) : '-';
        const ip = `203.0.${Math.floor(rand() * 256)}.${Math.floor(rand() * 256)}`;
        buf +=
          `${date}\t${time}\tFRA56-P${1 + Math.floor(rand() * 9)}\t${Math.floor(rand() * 2e8)}\t${ip}\t${method}\td111111abcdef8.cloudfront.net\t${pick()}\t${status}\t-\t` +
          `${UAS[Math.floor(rand() * UAS.length)]}\t-\t-\tHit\t${Math.floor(rand() * 2 ** 52).toString(36)}${i.toString(36)}Bench==\tcdn.teleport.dev\thttps\t312\t${(rand() * 3).toFixed(3)}\t-\t` +
          `TLSv1.3\tTLS_AES_128_GCM_SHA256\tHit\tHTTP/2.0\t-\t-\t${40000 + Math.floor(rand() * 20000)}\t0.010\tHit\tapplication/octet-stream\t${Math.floor(rand() * 2e8)}\t${range}\t-\n`;
        if (buf.length > 1 << 20) {
          yield buf;
          buf = '';
        }
      }
      if (buf) yield buf;
    }
    await pipeline(Readable.from(chunks()), createGzip({ level: 1 }), createWriteStream(`${path}.partial`));
    await rename(`${path}.partial`, path);
    files.push(path);
    written += n;
  }
  return { files, lines: written };
}
