/**
 * Small deterministic PRNG for Shape World.
 *
 * Generator: mulberry32 (Tommy Ettinger's 32-bit generator; one 32-bit state
 * word, period 2^32). Each step adds the odd constant 0x6D2B79F5 to the state
 * and mixes it with two multiply-xorshift rounds. Good enough statistically
 * for scene sampling, tiny, and identical on every platform because it uses
 * only 32-bit integer ops (Math.imul, >>>).
 *
 * Seeds: any number or string is hashed to a 32-bit state with splitmix32-style
 * finalisers (`hashSeed`), so nearby seeds (0, 1, 2 ...) give unrelated
 * streams. `derive(seed, ...parts)` makes independent sub-seeds, e.g. one per
 * dataset item, so item i can be generated without generating items 0..i-1.
 */

/** splitmix32-style avalanche of a 32-bit integer. */
export function mix32(x: number): number {
  let z = (x + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** Hashes a number (integer part and fraction bits) or string to a 32-bit seed. */
export function hashSeed(seed: number | string): number {
  if (typeof seed === 'number') {
    const lo = seed >>> 0;
    const hi = Math.floor(seed / 4294967296) >>> 0;
    return mix32(lo ^ mix32(hi));
  }
  let h = 0x811c9dc5; // FNV-1a over UTF-16 code units, then mixed
  for (let i = 0; i < seed.length; i++) h = Math.imul(h ^ seed.charCodeAt(i), 0x01000193);
  return mix32(h >>> 0);
}

/** An independent 32-bit seed from a base seed and any path of parts. */
export function derive(seed: number | string, ...parts: (number | string)[]): number {
  let h = hashSeed(seed);
  for (const p of parts) h = mix32(h ^ hashSeed(p));
  return h;
}

export class Rng {
  private state: number;

  constructor(seed: number | string = 0) {
    this.state = hashSeed(seed);
  }

  /** Next raw 32-bit unsigned integer (mulberry32 step). */
  nextUint32(): number {
    this.state = (this.state + 0x6d2b79f5) | 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Uniform float in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform float in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** Uniform integer in [lo, hi] (inclusive). */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('Rng.pick: empty list');
    return items[Math.floor(this.next() * items.length)]!;
  }

  /** Fisher-Yates shuffle, returning a new array. */
  shuffle<T>(items: readonly T[]): T[] {
    const a = items.slice();
    for (let i = a.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      [a[i], a[j]] = [a[j]!, a[i]!];
    }
    return a;
  }

  /** Standard normal sample (Box-Muller). */
  normal(): number {
    const u = 1 - this.next(); // (0, 1]
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** A new generator seeded from this one's stream (advances this one once). */
  fork(): Rng {
    return new Rng(this.nextUint32());
  }
}
