import { describe, expect, it } from 'vitest';
import { addNoise, DDIMScheduler, getVelocity } from '../../src/engine/diffusion/ddim.ts';
import { classifierFreeGuidance } from '../../src/engine/diffusion/guidance.ts';
import { randn } from '../../src/engine/diffusion/rng.ts';
import { SD_CONFIG } from './fixtures.ts';

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};

describe('DDIMScheduler', () => {
  it('one step matches a hand computation (epsilon, eta 0)', () => {
    const s = new DDIMScheduler(SD_CONFIG);
    s.setTimesteps(50);
    expect(s.timesteps[0]).toBe(981);
    const x = Float32Array.from([1, -0.5, 0.25]);
    const eps = Float32Array.from([0.2, 0.1, -0.3]);
    const { prevSample, predOriginalSample } = s.step(eps, 981, x);
    const a = s.alphasCumprod[981]!;
    const ap = s.alphasCumprod[961]!;
    for (let i = 0; i < 3; i++) {
      const x0 = (x[i]! - Math.sqrt(1 - a) * eps[i]!) / Math.sqrt(a);
      const prev = Math.sqrt(ap) * x0 + Math.sqrt(1 - ap) * eps[i]!;
      expect(predOriginalSample[i]).toBeCloseTo(x0, 5);
      expect(prevSample[i]).toBeCloseTo(prev, 6);
    }
    // Last step (t = 1 -> -19) uses the final alpha: alphas_cumprod[0] since set_alpha_to_one is false.
    const last = s.step(eps, 1, x);
    const a1 = s.alphasCumprod[1]!;
    const a0 = s.alphasCumprod[0]!;
    expect(s.finalAlphaCumprod).toBe(a0);
    const x00 = (x[0]! - Math.sqrt(1 - a1) * eps[0]!) / Math.sqrt(a1);
    expect(last.prevSample[0]).toBeCloseTo(Math.sqrt(a0) * x00 + Math.sqrt(1 - a0) * eps[0]!, 6);
  });

  it('eta > 0 adds sigma * z with the DDIM variance', () => {
    const s = new DDIMScheduler(SD_CONFIG);
    s.setTimesteps(50);
    const x = Float32Array.from([0.5, -1]);
    const eps = Float32Array.from([0.3, 0.7]);
    const z = Float32Array.from([1, -2]);
    const { prevSample } = s.step(eps, 501, x, { eta: 0.5, noise: z });
    const a = s.alphasCumprod[501]!;
    const ap = s.alphasCumprod[481]!;
    const sigma = 0.5 * Math.sqrt(((1 - ap) / (1 - a)) * (1 - a / ap));
    for (let i = 0; i < 2; i++) {
      const x0 = (x[i]! - Math.sqrt(1 - a) * eps[i]!) / Math.sqrt(a);
      expect(prevSample[i]).toBeCloseTo(Math.sqrt(ap) * x0 + Math.sqrt(1 - ap - sigma * sigma) * eps[i]! + sigma * z[i]!, 6);
    }
    expect(() => s.step(eps, 501, x, { eta: 0.5 })).toThrow(/needs a noise source/);
    const fromFn = s.step(eps, 501, x, { eta: 0.5, noise: (n) => randn([n], 3) });
    expect(fromFn.prevSample.length).toBe(2);
  });

  it('uses prev = t - N // n whatever the spacing (diffusers DDIM behaviour, also for linspace)', () => {
    const s = new DDIMScheduler({ ...SD_CONFIG, timestep_spacing: 'linspace' });
    s.setTimesteps(50);
    expect(s.timesteps.slice(0, 3)).toEqual([999, 979, 958]);
    const x = Float32Array.from([0.3]);
    const eps = Float32Array.from([-0.4]);
    const a = s.alphasCumprod[979]!;
    const ap = s.alphasCumprod[959]!; // not 958: the spacing is not uniform but the step is
    const x0 = (0.3 - Math.sqrt(1 - a) * -0.4) / Math.sqrt(a);
    expect(s.step(eps, 979, x).prevSample[0]).toBeCloseTo(Math.sqrt(ap) * x0 + Math.sqrt(1 - ap) * -0.4, 6);
  });

  // With uniform spacing (leading, trailing with n | N) each step lands exactly on the next timestep.
  for (const spacing of ['leading', 'trailing'] as const) {
    it(`eta 0 with the exact epsilon recovers x0 over all steps (${spacing})`, () => {
      const s = new DDIMScheduler({ ...SD_CONFIG, timestep_spacing: spacing, set_alpha_to_one: true });
      s.setTimesteps(50);
      const x0 = randn([1, 4, 8, 8], 1);
      const noise = randn([1, 4, 8, 8], 2);
      let x = s.addNoise(x0, noise, s.timesteps[0]!);
      for (const t of s.timesteps) x = s.step(noise, t, x).prevSample;
      expect(maxAbsDiff(x, x0)).toBeLessThan(1e-4);
    });
  }

  it('v_prediction and sample prediction recover x0 with exact model outputs', () => {
    const x0 = randn([2, 3, 4], 5);
    const noise = randn([2, 3, 4], 6);
    for (const prediction_type of ['v_prediction', 'sample'] as const) {
      const s = new DDIMScheduler({ ...SD_CONFIG, prediction_type, set_alpha_to_one: true, timestep_spacing: 'trailing' });
      s.setTimesteps(25);
      let x = s.addNoise(x0, noise, s.timesteps[0]!);
      for (const t of s.timesteps) {
        // The trajectory stays on x_t = sqrt(a_t) x0 + sqrt(1 - a_t) noise, so the exact outputs are known.
        const out = prediction_type === 'v_prediction' ? s.getVelocity(x0, noise, t) : x0;
        x = s.step(out, t, x).prevSample;
      }
      expect(maxAbsDiff(x, x0), prediction_type).toBeLessThan(1e-4);
    }
  });

  it('v-prediction conversion: v -> (x0, eps) matches the epsilon path', () => {
    const t = 601;
    const x0 = randn([16], 10);
    const noise = randn([16], 11);
    const epsS = new DDIMScheduler(SD_CONFIG);
    const vS = new DDIMScheduler({ ...SD_CONFIG, prediction_type: 'v_prediction' });
    epsS.setTimesteps(50);
    vS.setTimesteps(50);
    const xt = epsS.addNoise(x0, noise, t);
    const v = vS.getVelocity(x0, noise, t);
    const a = epsS.alphasCumprod[t]!;
    // v = sqrt(a) * noise - sqrt(1 - a) * x0, written out
    expect(v[3]).toBeCloseTo(Math.sqrt(a) * noise[3]! - Math.sqrt(1 - a) * x0[3]!, 6);
    const viaV = vS.step(v, t, xt);
    const viaEps = epsS.step(noise, t, xt);
    expect(maxAbsDiff(viaV.predOriginalSample, x0)).toBeLessThan(1e-5);
    expect(maxAbsDiff(viaV.prevSample, viaEps.prevSample)).toBeLessThan(1e-5);
  });

  it('clip_sample clips the predicted x0 (and useClippedModelOutput recomputes eps from it)', () => {
    const s = new DDIMScheduler({ clip_sample: true, clip_sample_range: 1 });
    s.setTimesteps(10);
    const { predOriginalSample } = s.step(Float32Array.from([-5, 0]), 900, Float32Array.from([0, 3]));
    expect(Array.from(predOriginalSample)).toEqual([1, 1]);
    const a = s.alphasCumprod[900]!;
    const ap = s.alphasCumprod[800]!;
    const eps = (3 - Math.sqrt(a) * 1) / Math.sqrt(1 - a);
    const r = s.step(Float32Array.from([0]), 900, Float32Array.from([3]), { useClippedModelOutput: true });
    expect(r.prevSample[0]).toBeCloseTo(Math.sqrt(ap) * 1 + Math.sqrt(1 - ap) * eps, 5);
    expect(() => new DDIMScheduler({ prediction_type: 'x0' })).toThrow(/^DDIMScheduler config: prediction_type:/);
  });

  it('inversion step exactly undoes a denoising step with the same model output', () => {
    const s = new DDIMScheduler(SD_CONFIG);
    s.setTimesteps(50);
    const x = randn([64], 20);
    const eps = randn([64], 21);
    for (const t of [981, 501, 21]) {
      const prev = s.step(eps, t, x).prevSample;
      const back = s.inverseStep(eps, t, prev).nextSample;
      expect(maxAbsDiff(back, x)).toBeLessThan(2e-5);
    }
  });

  it('DDIM inversion then denoising round-trips (model output independent of x)', () => {
    const s = new DDIMScheduler({ ...SD_CONFIG, set_alpha_to_one: true });
    s.setTimesteps(50);
    expect(s.inverseTimesteps[0]).toBe(1);
    expect(s.inverseTimesteps[49]).toBe(981);
    const x0 = randn([1, 4, 4, 4], 30);
    const model = (t: number): Float32Array => randn([1, 4, 4, 4], 1000 + t);
    let x = x0;
    for (const t of s.inverseTimesteps) x = s.inverseStep(model(t), t, x).nextSample;
    const xT = x;
    expect(maxAbsDiff(xT, x0)).toBeGreaterThan(0.5);
    for (const t of s.timesteps) x = s.step(model(t), t, x).prevSample;
    expect(maxAbsDiff(x, x0)).toBeLessThan(1e-4);
  });

  it('addNoise is q(x_t | x_0) and validates inputs', () => {
    const s = new DDIMScheduler(SD_CONFIG);
    const x0 = Float32Array.from([1, 2]);
    const n = Float32Array.from([0.5, -0.5]);
    const a = s.alphasCumprod[999]!;
    const xt = addNoise(s.alphasCumprod, x0, n, 999);
    expect(xt[1]).toBeCloseTo(Math.sqrt(a) * 2 - Math.sqrt(1 - a) * 0.5, 6);
    expect(Array.from(s.addNoise(x0, n, 999))).toEqual(Array.from(xt));
    expect(Array.from(getVelocity(s.alphasCumprod, x0, n, 999))).toEqual(Array.from(s.getVelocity(x0, n, 999)));
    expect(() => s.addNoise(x0, n, 1000)).toThrow(/\[0, 1000\)/);
    expect(() => s.addNoise(x0, Float32Array.from([1]), 5)).toThrow(/x0 has 2 elements but noise has 1/);
    expect(() => s.step(n, 5, x0)).toThrow(/setTimesteps/);
  });
});

describe('classifierFreeGuidance', () => {
  it('uncond + scale * (cond - uncond)', () => {
    const u = Float32Array.from([1, 2, -1]);
    const c = Float32Array.from([2, 0, -1]);
    expect(Array.from(classifierFreeGuidance(u, c, 7.5))).toEqual([8.5, -13, -1]);
    expect(Array.from(classifierFreeGuidance(u, c, 1))).toEqual(Array.from(c));
    expect(Array.from(classifierFreeGuidance(u, c, 0))).toEqual(Array.from(u));
    expect(() => classifierFreeGuidance(u, Float32Array.from([1]), 2)).toThrow(/uncond has 3 elements but cond has 1/);
  });
});
