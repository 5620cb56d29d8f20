/**
 * Identifiers and hashes for the demo generators: UUIDv4-shaped ids and HMAC-shaped hashes (base64 of
 * 32 bytes, 44 characters) derived from counters, written as bytes straight into an output buffer (the
 * hot path). The string forms are decoded from the same bytes, so both always agree.
 */
import { fmix32, type Rng } from './random.ts';

const HEX = Buffer.from('0123456789abcdef', 'latin1');
const B64 = Buffer.from('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/', 'latin1');
/** The words the put* functions write: filled by uuidWords / randomUuidWords / hashWords. */
const WORDS = new Uint32Array(8);
const SCRATCH = Buffer.alloc(64);

export const latin1 = (text: string): Buffer => Buffer.from(text, 'latin1');

/** Version 4 and the RFC 4122 variant in WORDS[1..2]. */
function markUuidV4(): void {
  WORDS[1] = (WORDS[1]! & 0xffff0fff) | 0x4000;
  WORDS[2] = (WORDS[2]! & 0x3fffffff) | 0x80000000;
}

/** Four words of a UUIDv4-shaped id; unique for distinct n < 2^32 (WORDS[0] is a bijection of n). */
export function uuidWords(n: number, salt: number): void {
  const w0 = fmix32((n ^ salt) >>> 0);
  const w1 = fmix32((w0 ^ 0x68e31da4 ^ salt) >>> 0);
  const w2 = fmix32((w1 + 0xb5297a4d + salt) >>> 0);
  WORDS[0] = w0;
  WORDS[1] = w1;
  WORDS[2] = w2;
  WORDS[3] = fmix32((w2 ^ 0x1b56c4e9 ^ n) >>> 0);
  markUuidV4();
}

/** Random words from the PRNG (used for bad records, which must not collide with real uuids). */
export function randomUuidWords(rng: Rng): void {
  for (let j = 0; j < 4; j++) WORDS[j] = Math.floor(rng() * 4294967296);
  markUuidV4();
}

function putHexWord(out: Uint8Array, off: number, w: number, from: number, to: number): number {
  for (let sh = 28 - from * 4; sh >= 32 - to * 4; sh -= 4) out[off++] = HEX[(w >>> sh) & 15]!;
  return off;
}

/** Writes the UUID in WORDS[0..3] (36 bytes): 8-4-4-4-12 hex digits. */
export function putUuid(out: Uint8Array, off: number): number {
  const w1 = WORDS[1]!;
  const w2 = WORDS[2]!;
  off = putHexWord(out, off, WORDS[0]!, 0, 8);
  out[off++] = 45;
  off = putHexWord(out, off, w1, 0, 4);
  out[off++] = 45;
  off = putHexWord(out, off, w1, 4, 8);
  out[off++] = 45;
  off = putHexWord(out, off, w2, 0, 4);
  out[off++] = 45;
  off = putHexWord(out, off, w2, 4, 8);
  return putHexWord(out, off, WORDS[3]!, 0, 8);
}

export function uuidString(): string {
  putUuid(SCRATCH, 0);
  return SCRATCH.toString('latin1', 0, 36);
}

export function uuidFromCounter(n: number, salt: number): string {
  uuidWords(n, salt);
  return uuidString();
}

/** Eight words of a digest-like hash into WORDS. */
export function hashWords(n: number, salt: number): void {
  let w = fmix32((n ^ salt) >>> 0);
  for (let j = 0; j < 8; j++) {
    w = fmix32((w + 0x9e3779b9 + j + salt) >>> 0);
    WORDS[j] = w;
  }
}

function wordByte(j: number): number {
  return (WORDS[j >>> 2]! >>> (24 - 8 * (j & 3))) & 255;
}

/** Writes WORDS as base64 of 32 bytes (44 bytes with the '=' pad): shaped like an HMAC-SHA256 digest. */
export function putB64(out: Uint8Array, off: number): number {
  for (let j = 0; j < 33; j += 3) {
    // The 33rd byte is the padding: a zero whose last sextet is replaced by '='.
    const v = (wordByte(j) << 16) | (wordByte(j + 1) << 8) | (j + 2 < 32 ? wordByte(j + 2) : 0);
    out[off++] = B64[v >>> 18]!;
    out[off++] = B64[(v >>> 12) & 63]!;
    out[off++] = B64[(v >>> 6) & 63]!;
    out[off++] = j + 2 < 32 ? B64[v & 63]! : 61; // '='
  }
  return off;
}

/** An HMAC-shaped hash of a counter: the demo's anonymized cluster and user names. */
export function hash44(n: number, salt: number): string {
  hashWords(n, salt);
  putB64(SCRATCH, 0);
  return SCRATCH.toString('latin1', 0, 44);
}

export function putBytes(out: Uint8Array, off: number, src: Uint8Array): number {
  const n = src.length;
  for (let j = 0; j < n; j++) out[off + j] = src[j]!;
  return off + n;
}
