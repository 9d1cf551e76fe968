import { describe, expect, it } from 'vitest';
import { EulerDiscreteScheduler } from '../../src/engine/diffusion/euler.ts';
import { randn } from '../../src/engine/diffusion/rng.ts';
import { SD_CONFIG } from './fixtures.ts';

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};

describe('EulerDiscreteScheduler', () => {
  it('sigmas follow sqrt((1 - abar) / abar), interpolated at linspace timesteps', () => {
    const s = new EulerDiscreteScheduler({ ...SD_CONFIG, timestep_spacing: 'linspace' });
    s.setTimesteps(50);
    expect(s.timesteps.length).toBe(50);
    expect(s.sigmas.length).toBe(51);
    expect(s.timesteps[0]).toBe(999);
    expect(s.timesteps[1]).toBe(Math.fround(999 - 999 / 49));
    expect(s.timesteps[49]).toBe(0);
    const sig = (t: number): number => Math.sqrt((1 - s.alphasCumprod[t]!) / s.alphasCumprod[t]!);
    expect(s.sigmas[0]).toBeCloseTo(sig(999), 5);
    const t1 = s.timesteps[1]!;
    const lo = Math.floor(t1);
    expect(s.sigmas[1]).toBeCloseTo(sig(lo) + (sig(lo + 1) - sig(lo)) * (t1 - lo), 5);
    expect(s.sigmas[49]).toBeCloseTo(sig(0), 6);
    expect(s.sigmas[50]).toBe(0);
    // Pinned (numpy on the float32 schedule): 14.614649, 12.93677971, 0.02916753
    expect(s.sigmas[0]).toBeCloseTo(14.614649, 4);
    expect(s.sigmas[1]).toBeCloseTo(12.93678, 4);
    expect(s.sigmas[49]).toBeCloseTo(0.02916753, 7);
    expect(s.initNoiseSigma).toBe(s.sigmas[0]);
  });

  it('leading spacing: offset timesteps and init_noise_sigma = sqrt(sigma_max^2 + 1)', () => {
    const s = new EulerDiscreteScheduler({ ...SD_CONFIG, timestep_spacing: 'leading' });
    s.setTimesteps(50);
    expect(Array.from(s.timesteps.slice(0, 3))).toEqual([981, 961, 941]);
    expect(s.timesteps[49]).toBe(1);
    const sMax = Math.sqrt((1 - s.alphasCumprod[981]!) / s.alphasCumprod[981]!);
    expect(s.sigmas[0]).toBeCloseTo(sMax, 5);
    expect(s.initNoiseSigma).toBeCloseTo(Math.sqrt(sMax * sMax + 1), 5);
    const tr = new EulerDiscreteScheduler({ ...SD_CONFIG, timestep_spacing: 'trailing' });
    tr.setTimesteps(10);
    expect(Array.from(tr.timesteps)).toEqual([999, 899, 799, 699, 599, 499, 399, 299, 199, 99]);
    expect(tr.initNoiseSigma).toBe(tr.sigmas[0]);
  });

  it('scaleModelInput and one epsilon step match a hand computation', () => {
    const s = new EulerDiscreteScheduler(SD_CONFIG);
    s.setTimesteps(20);
    const t = s.timesteps[3]!;
    const sigma = s.sigmas[3]!;
    const next = s.sigmas[4]!;
    const x = Float32Array.from([3, -4]);
    const eps = Float32Array.from([0.5, 1.5]);
    const scaled = s.scaleModelInput(x, t);
    expect(scaled[0]).toBeCloseTo(3 / Math.sqrt(sigma * sigma + 1), 6);
    const { prevSample, predOriginalSample } = s.step(eps, t, x);
    for (let i = 0; i < 2; i++) {
      const x0 = x[i]! - sigma * eps[i]!;
      const d = (x[i]! - x0) / sigma;
      expect(predOriginalSample[i]).toBeCloseTo(x0, 5);
      expect(prevSample[i]).toBeCloseTo(x[i]! + d * (next - sigma), 5);
    }
    expect(() => s.step(eps, 12.5, x)).toThrow(/not one of the inference timesteps/);
  });

  it('v_prediction step converts v to x0', () => {
    const s = new EulerDiscreteScheduler({ ...SD_CONFIG, prediction_type: 'v_prediction' });
    s.setTimesteps(10);
    const t = s.timesteps[2]!;
    const sigma = s.sigmas[2]!;
    const x = Float32Array.from([2]);
    const v = Float32Array.from([-0.7]);
    const x0 = -0.7 * (-sigma / Math.sqrt(sigma * sigma + 1)) + 2 / (sigma * sigma + 1);
    const r = s.step(v, t, x);
    expect(r.predOriginalSample[0]).toBeCloseTo(x0, 6);
    expect(r.prevSample[0]).toBeCloseTo(2 + ((2 - x0) / sigma) * (s.sigmas[3]! - sigma), 5);
  });

  for (const prediction_type of ['epsilon', 'v_prediction'] as const) {
    it(`exact model outputs recover x0 (${prediction_type})`, () => {
      const s = new EulerDiscreteScheduler({ ...SD_CONFIG, prediction_type });
      s.setTimesteps(30);
      const x0 = randn([1, 4, 4, 4], 40);
      const noise = randn([1, 4, 4, 4], 41);
      let x = s.addNoise(x0, noise, s.timesteps[0]!);
      s.timesteps.forEach((t, k) => {
        const sigma = s.sigmas[k]!;
        // v target of the variance-preserving input x / sqrt(sigma^2 + 1): a = 1 / (1 + sigma^2)
        const sa = 1 / Math.sqrt(1 + sigma * sigma);
        const sb = sigma * sa;
        const out = prediction_type === 'epsilon' ? noise : noise.map((n, i) => sa * n - sb * x0[i]!);
        x = s.step(out, t, x).prevSample;
      });
      expect(maxAbsDiff(x, x0)).toBeLessThan(1e-4);
    });
  }

  it('needs setTimesteps first', () => {
    const s = new EulerDiscreteScheduler();
    expect(() => s.initNoiseSigma).toThrow(/setTimesteps/);
    expect(() => s.step(new Float32Array(1), 999, new Float32Array(1))).toThrow(/setTimesteps/);
  });
});
