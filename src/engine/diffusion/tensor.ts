/** Small helpers shared by the schedulers (flat Float32Array tensors). */

export function checkSameLength(what: string, a: Float32Array, b: Float32Array, aName: string, bName: string): void {
  if (a.length !== b.length) throw new Error(`${what}: ${aName} has ${a.length} elements but ${bName} has ${b.length}`);
}

/** Resolve a noise source to a tensor of `n` elements. */
export type NoiseSource = Float32Array | ((n: number) => Float32Array);

export function resolveNoise(what: string, noise: NoiseSource | undefined, n: number): Float32Array {
  if (noise === undefined) throw new Error(`${what}: eta > 0 needs a noise source (opts.noise)`);
  const t = typeof noise === 'function' ? noise(n) : noise;
  if (t.length !== n) throw new Error(`${what}: noise has ${t.length} elements, expected ${n}`);
  return t;
}
