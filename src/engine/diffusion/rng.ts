/**
 * Seeded Gaussian noise that is identical on every machine.
 *
 * Algorithm
 *   Generator: Philox4x32-10 (Salmon, Moraes, Dror & Shaw, "Parallel Random Numbers: As Easy as
 *   1, 2, 3", SC 2011), a counter-based generator: output block = bijection(counter, key), ten
 *   rounds, multipliers 0xD2511F53 / 0xCD9E8D57, key increments 0x9E3779B9 / 0xBB67AE85. It is
 *   checked against Random123's published known-answer vectors. Only 32-bit integer arithmetic
 *   (Math.imul plus an exact 32x32->64 split multiply), no BigInt.
 *
 *   Seed -> key: seed is an integer in [0, 2^53); key = (seed mod 2^32, floor(seed / 2^32)).
 *   Block b (b = 0, 1, 2, ...) uses counter = (b mod 2^32, floor(b / 2^32), stream, 0), where
 *   `stream` (default 0, < 2^32) selects an independent sequence for the same seed.
 *
 *   Block b gives four uint32 words x0..x3, turned into two float64 uniforms with 53 random bits:
 *     u1 = ((x0 >>> 5) * 2^26 + (x1 >>> 6)) / 2^53,   u2 = ((x2 >>> 5) * 2^26 + (x3 >>> 6)) / 2^53
 *   and two standard normals by Box-Muller in float64:
 *     r = sqrt(-2 ln(1 - u1)),  z0 = r cos(2 pi u2),  z1 = r sin(2 pi u2)
 *
 * Fill order
 *   Element 2b gets z0 and element 2b+1 gets z1 of block b, each rounded to float32. Elements
 *   are the flat row-major (C order) positions of the shape, e.g. NCHW:
 *   index = ((n * C + c) * H + h) * W + w. With an odd count the last z1 is dropped. So the
 *   values depend only on (seed, stream, flat index): randn([1,4,64,64], s) equals the first
 *   16384 values of randn([2,4,64,64], s).
 *
 * Portability: integer steps are exact; ln/cos/sin come from V8's own fdlibm port (not the
 * platform libm), so Node gives the same float64 values on every OS/CPU, and the float32
 * rounding absorbs any last-ulp difference in practice.
 */

const M0 = 0xd2511f53;
const M1 = 0xcd9e8d57;
const W0 = 0x9e3779b9;
const W1 = 0xbb67ae85;
const TWO32 = 4294967296;

/** Writes floor(a * b / 2^32) into out[0] and (a * b) mod 2^32 into out[1], exactly. */
function mulhilo(a: number, b: number, out: Uint32Array, at: number): void {
  out[at + 1] = Math.imul(a, b);
  const t = (a & 0xffff) * b; // < 2^48, exact
  const u = (a >>> 16) * b; // < 2^48, exact
  const ul = u % 65536;
  const uh = (u - ul) / 65536; // a*b = uh * 2^32 + ul * 2^16 + t
  out[at] = uh + Math.floor((ul * 65536 + t) / TWO32);
}

const scratch = new Uint32Array(4);

/** Philox4x32-10 block function: counter (4 words) and key (2 words) -> 4 words. */
export function philox4x32(counter: ArrayLike<number>, key: ArrayLike<number>, out: Uint32Array = new Uint32Array(4)): Uint32Array {
  let c0 = counter[0]! >>> 0;
  let c1 = counter[1]! >>> 0;
  let c2 = counter[2]! >>> 0;
  let c3 = counter[3]! >>> 0;
  let k0 = key[0]! >>> 0;
  let k1 = key[1]! >>> 0;
  for (let r = 0; r < 10; r++) {
    if (r > 0) {
      k0 = (k0 + W0) >>> 0;
      k1 = (k1 + W1) >>> 0;
    }
    mulhilo(M0, c0, scratch, 0); // scratch[0] = hi0, scratch[1] = lo0
    mulhilo(M1, c2, scratch, 2); // scratch[2] = hi1, scratch[3] = lo1
    const hi0 = scratch[0]!;
    const lo0 = scratch[1]!;
    const hi1 = scratch[2]!;
    const lo1 = scratch[3]!;
    c0 = (hi1 ^ c1 ^ k0) >>> 0;
    c1 = lo1;
    c2 = (hi0 ^ c3 ^ k1) >>> 0;
    c3 = lo0;
  }
  out[0] = c0;
  out[1] = c1;
  out[2] = c2;
  out[3] = c3;
  return out;
}

function checkSeed(seed: number): void {
  if (!Number.isSafeInteger(seed) || seed < 0) throw new Error(`seed must be an integer in [0, 2^53), got ${seed}`);
}

export interface RandnOptions {
  /** Independent stream for the same seed (integer in [0, 2^32)). Default 0. */
  stream?: number;
}

/** Number of elements of a shape (row-major). */
export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new Error(`invalid shape ${JSON.stringify(shape)}`);
    n *= d;
  }
  return n;
}

/** Standard normal float32 tensor of `shape` for `seed` (see the module comment for the exact algorithm). */
export function randn(shape: readonly number[], seed: number, opts: RandnOptions = {}): Float32Array {
  checkSeed(seed);
  const stream = opts.stream ?? 0;
  if (!Number.isInteger(stream) || stream < 0 || stream >= TWO32) throw new Error(`stream must be an integer in [0, 2^32), got ${stream}`);
  const n = numel(shape);
  const out = new Float32Array(n);
  const key = [seed % TWO32, Math.floor(seed / TWO32)];
  const ctr = [0, 0, stream, 0];
  const words = new Uint32Array(4);
  const blocks = Math.ceil(n / 2);
  for (let b = 0; b < blocks; b++) {
    ctr[0] = b % TWO32;
    ctr[1] = Math.floor(b / TWO32);
    philox4x32(ctr, key, words);
    const u1 = ((words[0]! >>> 5) * 67108864 + (words[1]! >>> 6)) / 9007199254740992;
    const u2 = ((words[2]! >>> 5) * 67108864 + (words[3]! >>> 6)) / 9007199254740992;
    const r = Math.sqrt(-2 * Math.log(1 - u1));
    const theta = 2 * Math.PI * u2;
    out[2 * b] = r * Math.cos(theta);
    if (2 * b + 1 < n) out[2 * b + 1] = r * Math.sin(theta);
  }
  return out;
}
