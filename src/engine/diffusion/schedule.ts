/**
 * Noise schedules (betas, alphas_cumprod) as diffusers computes them.
 *
 * diffusers builds betas as float32 torch tensors and takes alphas_cumprod = cumprod(1 - betas)
 * in float32 (PyTorch's CPU cumprod accumulates in double and rounds each output). We compute
 * every value in float64 from the closed form and round to float32 where diffusers holds a
 * float32 tensor; values may differ from torch.linspace(dtype=float32) by one float32 ulp.
 *
 *   linear:            beta_i = linspace(beta_start, beta_end, N)_i
 *   scaled_linear:     beta_i = linspace(sqrt(beta_start), sqrt(beta_end), N)_i ^ 2
 *   squaredcos_cap_v2: beta_i = min(1 - abar((i+1)/N) / abar(i/N), 0.999),
 *                      abar(t) = cos((t + 0.008) / 1.008 * pi / 2)^2      (computed in float64)
 *   alphas_cumprod_i = prod_{j<=i} (1 - beta_j)
 */
import type { SchedulerConfig } from './config.ts';

const f32 = Math.fround;

/** numpy/torch linspace in float64: start + i * (end - start) / (n - 1), last value = end. */
export function linspace(start: number, end: number, n: number): Float64Array {
  const out = new Float64Array(n);
  if (n === 1) {
    out[0] = start;
    return out;
  }
  const step = (end - start) / (n - 1);
  for (let i = 0; i < n; i++) out[i] = start + i * step;
  out[n - 1] = end;
  return out;
}

/** Round half to even (numpy's np.round). */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

function cosineAlphaBar(t: number): number {
  return Math.cos(((t + 0.008) / 1.008) * (Math.PI / 2)) ** 2;
}

/** Betas for the config's schedule (float32 values). */
export function makeBetas(cfg: SchedulerConfig): Float32Array {
  const N = cfg.num_train_timesteps;
  let betas: Float32Array;
  if (cfg.trained_betas) betas = Float32Array.from(cfg.trained_betas);
  else if (cfg.beta_schedule === 'linear') betas = Float32Array.from(linspace(cfg.beta_start, cfg.beta_end, N));
  else if (cfg.beta_schedule === 'scaled_linear') {
    const s = linspace(Math.sqrt(cfg.beta_start), Math.sqrt(cfg.beta_end), N);
    betas = new Float32Array(N);
    for (let i = 0; i < N; i++) {
      const b = f32(s[i]!); // linspace is a float32 tensor, squared in float32
      betas[i] = b * b;
    }
  } else {
    betas = new Float32Array(N);
    for (let i = 0; i < N; i++) betas[i] = Math.min(1 - cosineAlphaBar((i + 1) / N) / cosineAlphaBar(i / N), 0.999);
  }
  return cfg.rescale_betas_zero_snr ? rescaleZeroTerminalSnr(betas) : betas;
}

/**
 * Rescale betas to zero terminal SNR (Lin et al. 2023, "Common Diffusion Noise Schedules and
 * Sample Steps are Flawed", Algorithm 1): shift sqrt(alphas_cumprod) so the last value is 0 and
 * scale it so the first value is unchanged, then convert back to betas.
 */
export function rescaleZeroTerminalSnr(betas: Float32Array): Float32Array {
  const N = betas.length;
  const sqrtBar = new Float64Array(N);
  let prod = 1;
  for (let i = 0; i < N; i++) {
    prod *= 1 - betas[i]!;
    sqrtBar[i] = Math.sqrt(prod);
  }
  const first = sqrtBar[0]!;
  const last = sqrtBar[N - 1]!;
  const bar = new Float64Array(N);
  for (let i = 0; i < N; i++) {
    const s = ((sqrtBar[i]! - last) * first) / (first - last);
    bar[i] = s * s;
  }
  const out = new Float32Array(N);
  out[0] = 1 - bar[0]!;
  for (let i = 1; i < N; i++) out[i] = 1 - bar[i]! / bar[i - 1]!;
  return out;
}

/** alphas = 1 - betas and their cumulative product (both float32). */
export function makeAlphas(betas: Float32Array): { alphas: Float32Array; alphasCumprod: Float32Array } {
  const N = betas.length;
  const alphas = new Float32Array(N);
  const alphasCumprod = new Float32Array(N);
  let prod = 1;
  for (let i = 0; i < N; i++) {
    alphas[i] = 1 - betas[i]!;
    prod *= alphas[i]!;
    alphasCumprod[i] = prod;
  }
  return { alphas, alphasCumprod };
}

/**
 * Inference timesteps for the three diffusers spacings (integers, descending), as used by
 * DDIMScheduler.set_timesteps:
 *   linspace: round_half_even(linspace(0, N - 1, n)) reversed
 *   leading:  round(arange(n) * (N // n)) reversed, + steps_offset
 *   trailing: round_half_even(arange(N, 0, -N / n)) - 1
 */
export function spacedTimesteps(cfg: SchedulerConfig, n: number): number[] {
  const N = cfg.num_train_timesteps;
  if (!Number.isInteger(n) || n < 1) throw new Error(`number of inference steps must be an integer >= 1, got ${n}`);
  if (n > N) throw new Error(`number of inference steps (${n}) cannot exceed num_train_timesteps (${N})`);
  let ts: number[];
  if (cfg.timestep_spacing === 'linspace') {
    ts = Array.from(linspace(0, N - 1, n), roundHalfEven).reverse();
  } else if (cfg.timestep_spacing === 'leading') {
    const ratio = Math.floor(N / n);
    ts = Array.from({ length: n }, (_, i) => i * ratio + cfg.steps_offset).reverse();
  } else {
    // numpy arange(N, 0, -r): length ceil(N / r), values N + i * delta with delta = (N - r) - N.
    const r = N / n;
    const len = Math.ceil(N / r);
    const delta = N - r - N;
    ts = Array.from({ length: len }, (_, i) => roundHalfEven(N + i * delta) - 1);
  }
  return ts;
}
