import { describe, expect, it } from 'vitest';
import { DDIM_DEFAULTS, EULER_DEFAULTS, parseSchedulerConfig, SchedulerConfigError } from '../../src/engine/diffusion/config.ts';
import { SD_CONFIG } from './fixtures.ts';
import { makeAlphas, makeBetas, rescaleZeroTerminalSnr, roundHalfEven, spacedTimesteps } from '../../src/engine/diffusion/schedule.ts';


const relClose = (a: number, b: number, tol: number): boolean => Math.abs(a - b) <= tol * Math.abs(b);

describe('parseSchedulerConfig', () => {
  it('fills defaults and ignores unrelated keys', () => {
    const c = parseSchedulerConfig(SD_CONFIG);
    expect(c).toMatchObject({ beta_schedule: 'scaled_linear', steps_offset: 1, set_alpha_to_one: false, prediction_type: 'epsilon', timestep_spacing: 'leading', clip_sample: false });
    expect(parseSchedulerConfig({})).toEqual(DDIM_DEFAULTS);
    expect(parseSchedulerConfig({}, EULER_DEFAULTS).timestep_spacing).toBe('linspace');
  });

  it('reports every problem with the field name', () => {
    let err: unknown;
    try {
      parseSchedulerConfig({ beta_schedule: 'cosine', num_train_timesteps: 0.5, prediction_type: 'x0', use_karras_sigmas: true }, DDIM_DEFAULTS, 'model/scheduler_config.json');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SchedulerConfigError);
    const e = err as SchedulerConfigError;
    expect(e.message.startsWith('model/scheduler_config.json: ')).toBe(true);
    expect(e.issues.some((i) => i.startsWith('beta_schedule:'))).toBe(true);
    expect(e.issues.some((i) => i.startsWith('num_train_timesteps:'))).toBe(true);
    expect(e.issues.some((i) => i.startsWith('prediction_type:'))).toBe(true);
    expect(e.issues).toContain('use_karras_sigmas: Karras sigmas are not supported; set use_karras_sigmas to false');
    expect(() => parseSchedulerConfig({ beta_start: 0.1, beta_end: 0.01 })).toThrow(/beta_end: must be >= beta_start/);
    expect(() => parseSchedulerConfig('nope')).toThrow(SchedulerConfigError);
  });
});

describe('betas and alphas_cumprod', () => {
  it('scaled_linear 0.00085/0.012 matches the closed form', () => {
    const cfg = parseSchedulerConfig(SD_CONFIG);
    const { alphasCumprod } = makeAlphas(makeBetas(cfg));
    // float32 betas (as diffusers) vs the float64 closed form agree to ~1e-6 relative.
    // Closed form: beta_i = (sqrt(b0) + i * (sqrt(b1) - sqrt(b0)) / 999)^2, abar_i = prod_{j<=i} (1 - beta_j).
    const s0 = Math.sqrt(0.00085);
    const s1 = Math.sqrt(0.012);
    const ref: number[] = [];
    let prod = 1;
    for (let i = 0; i < 1000; i++) {
      const b = (s0 + (i * (s1 - s0)) / 999) ** 2;
      prod *= 1 - b;
      ref.push(prod);
    }
    for (const i of [0, 1, 250, 499, 750, 999]) expect(relClose(alphasCumprod[i]!, ref[i]!, 1e-5), `abar[${i}]`).toBe(true);
    expect(alphasCumprod[0]).toBe(Math.fround(0.99915));
    // Pinned (numpy, float32 schedule): 0.2776694, 0.0046600937
    expect(alphasCumprod[499]).toBeCloseTo(0.2776694, 6);
    expect(alphasCumprod[999]).toBeCloseTo(0.0046600937, 8);
  });

  it('linear and squaredcos_cap_v2', () => {
    const lin = makeAlphas(makeBetas(parseSchedulerConfig({}))).alphasCumprod;
    let prod = 1;
    for (let i = 0; i < 1000; i++) prod *= 1 - (0.0001 + (i * (0.02 - 0.0001)) / 999);
    expect(relClose(lin[999]!, prod, 1e-5)).toBe(true);
    expect(lin[999]).toBeCloseTo(4.03583e-5, 9);

    const cosBetas = makeBetas(parseSchedulerConfig({ beta_schedule: 'squaredcos_cap_v2' }));
    const abar = (t: number): number => Math.cos(((t + 0.008) / 1.008) * (Math.PI / 2)) ** 2;
    expect(cosBetas[0]).toBe(Math.fround(1 - abar(1 / 1000) / abar(0)));
    expect(cosBetas[999]).toBe(Math.fround(0.999)); // capped
    expect(cosBetas[500]).toBe(Math.fround(1 - abar(501 / 1000) / abar(500 / 1000)));
  });

  it('zero-terminal-SNR rescaling keeps abar[0] and makes abar[last] 0', () => {
    const betas = makeBetas(parseSchedulerConfig(SD_CONFIG));
    const r = makeAlphas(rescaleZeroTerminalSnr(betas)).alphasCumprod;
    const o = makeAlphas(betas).alphasCumprod;
    expect(r[0]).toBeCloseTo(o[0]!, 7);
    expect(r[999]).toBe(0);
    expect(r[500]!).toBeLessThan(o[500]!);
  });
});

describe('timesteps', () => {
  const cfg = (spacing: 'leading' | 'trailing' | 'linspace', steps_offset = 1) => parseSchedulerConfig({ ...SD_CONFIG, timestep_spacing: spacing, steps_offset });

  it('leading, 1000 train steps, 50 steps, offset 1 -> 981, 961, ..., 1', () => {
    const ts = spacedTimesteps(cfg('leading'), 50);
    expect(ts).toEqual(Array.from({ length: 50 }, (_, i) => 981 - 20 * i));
    expect(spacedTimesteps(cfg('leading'), 10)).toEqual([901, 801, 701, 601, 501, 401, 301, 201, 101, 1]);
  });

  it('trailing -> 999, 979, ..., 19 (offset ignored)', () => {
    expect(spacedTimesteps(cfg('trailing'), 50)).toEqual(Array.from({ length: 50 }, (_, i) => 999 - 20 * i));
    expect(spacedTimesteps(cfg('trailing'), 10)).toEqual([999, 899, 799, 699, 599, 499, 399, 299, 199, 99]);
    // Non-divisible: numpy round(arange(1000, 0, -1000/30)) - 1
    expect(spacedTimesteps(cfg('trailing'), 30)).toEqual([
      999, 966, 932, 899, 866, 832, 799, 766, 732, 699, 666, 632, 599, 566, 532, 499, 466, 432, 399, 366, 332, 299, 266, 232, 199, 166, 132, 99, 66, 32,
    ]);
  });

  it('linspace -> round_half_even(linspace(0, 999, n)) reversed (offset ignored)', () => {
    expect(spacedTimesteps(cfg('linspace'), 10)).toEqual([999, 888, 777, 666, 555, 444, 333, 222, 111, 0]);
    const ts = spacedTimesteps(cfg('linspace'), 50);
    expect(ts).toEqual(Array.from({ length: 50 }, (_, i) => roundHalfEven((999 * (49 - i)) / 49)));
    // numpy: np.linspace(0, 999, 50).round()[::-1]
    expect(ts).toEqual([
      999, 979, 958, 938, 917, 897, 877, 856, 836, 816, 795, 775, 754, 734, 714, 693, 673, 652, 632, 612, 591, 571, 550, 530, 510, 489, 469, 449, 428, 408, 387, 367,
      347, 326, 306, 285, 265, 245, 224, 204, 183, 163, 143, 122, 102, 82, 61, 41, 20, 0,
    ]);
  });

  it('round half to even', () => {
    expect([0.5, 1.5, 2.5, -0.5, -1.5, 2.4, 2.6].map(roundHalfEven)).toEqual([0, 2, 2, -0, -2, 2, 3]);
    expect(() => spacedTimesteps(cfg('leading'), 0)).toThrow(/>= 1/);
    expect(() => spacedTimesteps(cfg('leading'), 1001)).toThrow(/cannot exceed/);
  });
});
