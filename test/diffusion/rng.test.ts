import { describe, expect, it } from 'vitest';
import { numel, philox4x32, randn } from '../../src/engine/diffusion/rng.ts';

describe('philox4x32-10', () => {
  it("matches Random123's known-answer vectors", () => {
    const hex = (a: Uint32Array): string[] => Array.from(a, (x) => x.toString(16).padStart(8, '0'));
    expect(hex(philox4x32([0, 0, 0, 0], [0, 0]))).toEqual(['6627e8d5', 'e169c58d', 'bc57ac4c', '9b00dbd8']);
    expect(hex(philox4x32([0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff], [0xffffffff, 0xffffffff]))).toEqual(['408f276d', '41c83b0e', 'a20bc7c6', '6d5451fd']);
    expect(hex(philox4x32([0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], [0xa4093822, 0x299f31d0]))).toEqual(['d16cfe09', '94fdcceb', '5001e420', '24126ea1']);
  });
});

describe('randn', () => {
  it('pins the first values (regression: must never change)', () => {
    // Also reproduced by an independent Python implementation of the documented algorithm.
    const pinned = (v: number[]): number[] => v.map(Math.fround);
    expect(Array.from(randn([2, 4], 0))).toEqual(pinned([-0.0904730484, -1.00513184, -0.923833609, -2.51295376, 0.125425085, 0.153462216, -1.39289856, -1.07527494]));
    expect(Array.from(randn([8], 42))).toEqual(pinned([1.23454177, 0.611849904, -2.95505333, -0.258856565, -1.49346745, -1.12491095, -1.38479149, -0.835495651]));
    expect(Array.from(randn([4], 2 ** 40 + 5, { stream: 7 }))).toEqual(pinned([-0.712394893, 0.00754957739, 0.0798094049, -0.331934422]));
  });

  it('is deterministic, depends only on (seed, stream, flat index)', () => {
    const a = randn([1, 4, 8, 8], 1234);
    expect(Array.from(randn([1, 4, 8, 8], 1234))).toEqual(Array.from(a));
    expect(Array.from(randn([2, 4, 8, 8], 1234).subarray(0, 256))).toEqual(Array.from(a));
    expect(Array.from(randn([257], 1234).subarray(0, 256))).toEqual(Array.from(a)); // odd length
    expect(Array.from(randn([256], 1235))).not.toEqual(Array.from(a));
    expect(Array.from(randn([256], 1234, { stream: 1 }))).not.toEqual(Array.from(a));
    expect(randn([0], 1).length).toBe(0);
    expect(() => randn([2], -1)).toThrow(/seed/);
    expect(() => randn([2], 1.5)).toThrow(/seed/);
    expect(() => randn([2, -1], 1)).toThrow(/shape/);
    expect(numel([1, 4, 64, 64])).toBe(16384);
  });

  it('is standard normal: mean ~0, std ~1, tails right over 1e5 samples', () => {
    const x = randn([100_000], 7);
    let sum = 0;
    let sq = 0;
    let within1 = 0;
    let beyond3 = 0;
    for (const v of x) {
      sum += v;
      sq += v * v;
      if (Math.abs(v) < 1) within1++;
      if (Math.abs(v) > 3) beyond3++;
    }
    const mean = sum / x.length;
    const std = Math.sqrt(sq / x.length - mean * mean);
    expect(Math.abs(mean)).toBeLessThan(0.01); // 3.2 standard errors
    expect(Math.abs(std - 1)).toBeLessThan(0.01);
    expect(Math.abs(within1 / x.length - 0.6827)).toBeLessThan(0.005);
    expect(beyond3 / x.length).toBeGreaterThan(0.0015);
    expect(beyond3 / x.length).toBeLessThan(0.0040);
    // Neighbouring elements (the two halves of a Box-Muller pair) are uncorrelated.
    let corr = 0;
    for (let i = 0; i + 1 < x.length; i += 2) corr += x[i]! * x[i + 1]!;
    expect(Math.abs(corr / (x.length / 2))).toBeLessThan(0.015);
  });
});
