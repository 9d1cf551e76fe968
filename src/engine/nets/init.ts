/**
 * Deterministic initial weights.
 *
 * Every tensor gets its own generator, seeded from (model seed, tensor name): adding or removing
 * a layer never changes the initial values of the others, and the same (seed, name, shape) gives
 * the same bytes on every machine. Only uniform draws are used (integer arithmetic and one exact
 * division per value, then float32 rounding), so no transcendental function is involved.
 *
 * Generator: SplitMix32-style mixing of a 32-bit state (Weyl increment 0x9e3779b9, then two
 * xor-shift-multiply rounds); the key is FNV-1a of the tensor name xor-mixed with the seed.
 */

/** FNV-1a 32-bit hash of a string's UTF-16 code units. */
export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** A stream of uniform numbers in [0, 1) for (seed, key). */
export function uniformStream(seed: number, key: string): () => number {
  if (!Number.isInteger(seed) || seed < 0) throw new Error(`seed must be a non-negative integer, got ${seed}`);
  let state = (fnv1a(key) ^ Math.imul(seed >>> 0, 0x85ebca6b) ^ Math.floor(seed / 4294967296)) >>> 0;
  return () => {
    state = (state + 0x9e3779b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    z = (z ^ (z >>> 16)) >>> 0;
    return z / 4294967296;
  };
}

/** How a parameter starts out. */
export type Init =
  | { kind: 'uniform'; bound: number } // U(-bound, bound)
  | { kind: 'const'; value: number };

/** PyTorch's default for Linear/Conv weights and biases: U(-1/sqrt(fan_in), 1/sqrt(fan_in)). */
export const fanIn = (fan: number): Init => ({ kind: 'uniform', bound: 1 / Math.sqrt(fan) });
/** Uniform with standard deviation `std` (bound = std * sqrt(3)); used for embeddings. */
export const uniformStd = (std: number): Init => ({ kind: 'uniform', bound: std * Math.sqrt(3) });
export const ones: Init = { kind: 'const', value: 1 };
export const zeros: Init = { kind: 'const', value: 0 };

export function initValues(seed: number, key: string, size: number, init: Init): Float32Array {
  const out = new Float32Array(size);
  if (init.kind === 'const') {
    out.fill(init.value);
    return out;
  }
  const next = uniformStream(seed, key);
  for (let i = 0; i < size; i++) out[i] = (2 * next() - 1) * init.bound;
  return out;
}
