/**
 * Timestep sampling of the Shape World UNet stage (src/engine/train/shape-world/data.ts): the P2
 * distribution is the normalised 1/(1+SNR)^gamma and the sampler draws from it.
 */
import { describe, expect, it } from 'vitest';
import { DDIMScheduler } from '../../src/engine/diffusion/ddim.ts';
import { loadTokenizer } from '../../src/engine/model/tokenizer.ts';
import { DEFAULT_TOKENIZER_DIR, diffusionInputs, p2TimestepCdf, sampleFromCdf } from '../../src/engine/train/shape-world/index.ts';

const ab = new DDIMScheduler({ beta_schedule: 'scaled_linear', beta_start: 0.00085, beta_end: 0.012, num_train_timesteps: 1000 }).alphasCumprod;

describe('P2 timestep sampling', () => {
  it('the CDF is the normalised 1/(1+SNR)^gamma', () => {
    for (const gamma of [0.5, 1]) {
      const cdf = p2TimestepCdf(ab, gamma);
      expect(cdf).toHaveLength(1000);
      expect(cdf[999]).toBeCloseTo(1, 12);
      for (let t = 1; t < 1000; t++) expect(cdf[t]!).toBeGreaterThan(cdf[t - 1]!);
      // ratio of two probabilities equals the ratio of the weights
      const p = (t: number) => cdf[t]! - cdf[t - 1]!;
      const w = (t: number) => 1 / (1 + ab[t]! / (1 - ab[t]!)) ** gamma;
      expect(p(800) / p(100)).toBeCloseTo(w(800) / w(100), 6);
    }
    // gamma 0 is uniform
    const flat = p2TimestepCdf(ab, 0);
    expect(flat[499]).toBeCloseTo(0.5, 12);
  });

  it('sampleFromCdf inverts the CDF, and P2 moves samples from clean to noisy timesteps', () => {
    const cdf = p2TimestepCdf(ab, 1);
    expect(sampleFromCdf(cdf, 0)).toBe(0);
    expect(sampleFromCdf(cdf, 1 - 1e-12)).toBe(999);
    expect(sampleFromCdf(cdf, cdf[500]!)).toBe(501);
    expect(sampleFromCdf(cdf, cdf[500]! - 1e-9)).toBe(500);
    const n = 20000;
    let low = 0;
    let high = 0;
    for (let i = 0; i < n; i++) {
      const t = sampleFromCdf(cdf, (i + 0.5) / n);
      if (t < 200) low++;
      if (t >= 500) high++;
    }
    expect(low / n).toBeCloseTo(cdf[199]!, 3);
    expect(low / n).toBeLessThan(0.1); // uniform: 0.2
    expect(high / n).toBeGreaterThan(0.65); // uniform: 0.5
  });

  it('diffusionInputs draws timesteps from the CDF when given, deterministically', () => {
    const tok = loadTokenizer(DEFAULT_TOKENIZER_DIR);
    const caps = Array.from({ length: 64 }, () => 'a red circle');
    const opts = { cfgDropout: 0.1, numTrainTimesteps: 1000, latentShape: [4, 2, 2] };
    const cdf = p2TimestepCdf(ab, 1);
    const u = diffusionInputs(7, 3, caps, tok, opts);
    const p = diffusionInputs(7, 3, caps, tok, { ...opts, timestepCdf: cdf });
    expect(diffusionInputs(7, 3, caps, tok, { ...opts, timestepCdf: cdf }).timesteps).toEqual(p.timesteps);
    // same uniforms, pushed through another inverse CDF: the order is kept, the values move up
    expect(p.noise).toEqual(u.noise);
    expect(p.dropped).toEqual(u.dropped);
    const mean = (a: Float32Array) => a.reduce((x, y) => x + y, 0) / a.length;
    expect(mean(p.timesteps)).toBeGreaterThan(mean(u.timesteps));
    for (let k = 0; k < 64; k++) for (let j = 0; j < 64; j++) if (u.timesteps[k]! < u.timesteps[j]!) expect(p.timesteps[k]!).toBeLessThanOrEqual(p.timesteps[j]!);
  });
});
