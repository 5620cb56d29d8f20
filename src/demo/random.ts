/**
 * Seeded randomness for the demo generators: no Math.random and no clock anywhere, so one seed and
 * one set of options give byte-identical output. Each purpose (population, events, bad records, CDN
 * logs, cluster logins, ...) has its own stream, so turning one kind of data on or off never changes
 * another's.
 */
export type Rng = () => number;

/** murmur3 finalizer: a bijection on uint32, so distinct inputs give distinct outputs. */
export function fmix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

export function hash3(a: number, b: number, c: number): number {
  return fmix32((a ^ fmix32((b ^ fmix32((c + 0x9e3779b9) >>> 0)) >>> 0)) >>> 0);
}

/** sfc32: small, fast, passes PractRand; returns floats in [0, 1). */
function sfc32(a: number, b: number, c: number, d: number): Rng {
  return () => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
}

/** The stream numbers: one per purpose (see the module comment). */
export const STREAM_SALTS = 0;
export const STREAM_POPULATION = 1;
export const STREAM_EVENTS = 2;
export const STREAM_BAD = 3;
export const STREAM_CDN = 4;
export const STREAM_CLUSTER = 5;
export const STREAM_VIOLATIONS = 6;

/** An independent stream per purpose (and `sub`, e.g. per day, for streams used by files rendered concurrently). */
export function makeRng(seedLo: number, seedHi: number, stream: number, sub = 0): Rng {
  const base = hash3(hash3(seedLo, seedHi, stream), sub >>> 0, 0x5bd1e995);
  const rng = sfc32(hash3(base, 1, stream), hash3(base, 2, stream), hash3(base, 3, stream), hash3(base, 4, stream));
  for (let i = 0; i < 16; i++) rng();
  return rng;
}

/** Cumulative shares of weights, the last exactly 1 (for `pick`). */
export function cumulative(weights: readonly number[]): Float64Array {
  const out = new Float64Array(weights.length);
  let sum = 0;
  for (const w of weights) sum += w;
  let acc = 0;
  weights.forEach((w, i) => {
    acc += w / sum;
    out[i] = acc;
  });
  out[out.length - 1] = 1;
  return out;
}

/** The index a uniform `u` falls in. */
export function pick(cum: Float64Array, u: number): number {
  const n = cum.length - 1;
  for (let i = 0; i < n; i++) if (u < cum[i]!) return i;
  return n;
}

export function gaussian(rng: Rng): number {
  const u = 1 - rng();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
}

/** An exponential wait with the given mean (ms, whole). */
export function exponential(rng: Rng, mean: number): number {
  return Math.floor(-Math.log(1 - rng()) * mean);
}
