/**
 * DDIM sampler (Song et al., "Denoising Diffusion Implicit Models") with diffusers'
 * DDIMScheduler / DDIMInverseScheduler conventions.
 *
 * With alpha_t = alphas_cumprod[t] and the previous timestep t' = t - N // n (N training
 * timesteps, n inference steps; alpha_t' = final_alpha_cumprod when t' < 0):
 *   epsilon:       x0 = (x_t - sqrt(1 - alpha_t) * out) / sqrt(alpha_t),  eps = out
 *   v_prediction:  x0 = sqrt(alpha_t) * x_t - sqrt(1 - alpha_t) * out,
 *                  eps = sqrt(alpha_t) * out + sqrt(1 - alpha_t) * x_t
 *   sample:        x0 = out,  eps = (x_t - sqrt(alpha_t) * x0) / sqrt(1 - alpha_t)
 *   (x0 clipped to +/- clip_sample_range when clip_sample)
 *   sigma  = eta * sqrt((1 - alpha_t') / (1 - alpha_t) * (1 - alpha_t / alpha_t'))
 *   x_t'   = sqrt(alpha_t') * x0 + sqrt(1 - alpha_t' - sigma^2) * eps + sigma * z
 *
 * Arithmetic is float64 on the float32 schedule values; outputs are float32.
 */
import type { SchedulerConfig } from './config.ts';
import { DDIM_DEFAULTS, parseSchedulerConfig } from './config.ts';
import { makeAlphas, makeBetas, spacedTimesteps } from './schedule.ts';
import type { NoiseSource } from './tensor.ts';
import { checkSameLength, resolveNoise } from './tensor.ts';

export interface DDIMStepOptions {
  /** Stochasticity (0 = deterministic DDIM, 1 = DDPM-like). Default 0. */
  eta?: number;
  /** Variance noise z for eta > 0 (a tensor or a function returning one of the given length). */
  noise?: NoiseSource;
  /** Recompute eps from the clipped x0 (diffusers' use_clipped_model_output). Default false. */
  useClippedModelOutput?: boolean;
}

export interface DDIMStepOutput {
  prevSample: Float32Array;
  predOriginalSample: Float32Array;
}

export interface DDIMInverseStepOutput {
  /** The sample at the later (noisier) timestep. */
  nextSample: Float32Array;
  predOriginalSample: Float32Array;
}

export class DDIMScheduler {
  readonly config: SchedulerConfig;
  readonly betas: Float32Array;
  readonly alphas: Float32Array;
  readonly alphasCumprod: Float32Array;
  /** alpha used after the last step (and before the first inversion step). */
  readonly finalAlphaCumprod: number;
  readonly initNoiseSigma = 1;
  private ts: number[] = [];

  /** `config`: a scheduler_config.json object (validated; DDIM defaults for missing fields). */
  constructor(config: unknown = {}) {
    this.config = parseSchedulerConfig(config, DDIM_DEFAULTS, 'DDIMScheduler config');
    this.betas = makeBetas(this.config);
    const { alphas, alphasCumprod } = makeAlphas(this.betas);
    this.alphas = alphas;
    this.alphasCumprod = alphasCumprod;
    this.finalAlphaCumprod = this.config.set_alpha_to_one ? 1 : alphasCumprod[0]!;
  }

  get numInferenceSteps(): number {
    return this.ts.length;
  }

  /** Denoising timesteps (descending); empty until setTimesteps. */
  get timesteps(): readonly number[] {
    return this.ts;
  }

  /** Timesteps for DDIM inversion (ascending), each the target of `inverseStep`. */
  get inverseTimesteps(): readonly number[] {
    return [...this.ts].reverse();
  }

  setTimesteps(numInferenceSteps: number): void {
    this.ts = spacedTimesteps(this.config, numInferenceSteps);
  }

  /** DDIM needs no input scaling; returns the sample itself. */
  scaleModelInput(sample: Float32Array, _t?: number): Float32Array {
    return sample;
  }

  private get stepRatio(): number {
    if (this.ts.length === 0) throw new Error('DDIMScheduler: call setTimesteps() before stepping');
    return Math.floor(this.config.num_train_timesteps / this.ts.length);
  }

  private alphaAt(t: number, what: string): number {
    if (!Number.isInteger(t) || t >= this.config.num_train_timesteps) throw new Error(`${what}: timestep must be an integer below ${this.config.num_train_timesteps}, got ${t}`);
    return t >= 0 ? this.alphasCumprod[t]! : this.finalAlphaCumprod;
  }

  /** Convert a model output (at sqrt(alpha) = sa, sqrt(1 - alpha) = sb) into (x0, eps) per prediction_type, clipping x0 if configured. */
  private predict(out: number, x: number, sa: number, sb: number, clip: boolean): [number, number] {
    let x0: number;
    let eps: number;
    switch (this.config.prediction_type) {
      case 'epsilon':
        x0 = (x - sb * out) / sa;
        eps = out;
        break;
      case 'v_prediction':
        x0 = sa * x - sb * out;
        eps = sa * out + sb * x;
        break;
      case 'sample':
        x0 = out;
        eps = (x - sa * x0) / sb;
        break;
    }
    if (clip && this.config.clip_sample) {
      const r = this.config.clip_sample_range;
      x0 = Math.min(r, Math.max(-r, x0));
    }
    return [x0, eps];
  }

  /** One denoising step x_t -> x_{t - N//n}. */
  step(modelOutput: Float32Array, t: number, sample: Float32Array, opts: DDIMStepOptions = {}): DDIMStepOutput {
    const what = 'DDIMScheduler.step';
    checkSameLength(what, modelOutput, sample, 'modelOutput', 'sample');
    const eta = opts.eta ?? 0;
    if (!(eta >= 0)) throw new Error(`${what}: eta must be >= 0, got ${eta}`);
    if (!Number.isInteger(t) || t < 0) throw new Error(`${what}: timestep must be an integer >= 0, got ${t}`);
    const prevT = t - this.stepRatio;
    const aT = this.alphaAt(t, what);
    const aPrev = this.alphaAt(prevT, what);
    const sa = Math.sqrt(aT);
    const sb = Math.sqrt(1 - aT);
    const variance = ((1 - aPrev) / (1 - aT)) * (1 - aT / aPrev);
    const std = eta * Math.sqrt(variance);
    const dirCoef = Math.sqrt(1 - aPrev - std * std);
    const saPrev = Math.sqrt(aPrev);
    const z = eta > 0 ? resolveNoise(what, opts.noise, sample.length) : null;
    const n = sample.length;
    const prevSample = new Float32Array(n);
    const predOriginalSample = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const x = sample[i]!;
      const [x0, rawEps] = this.predict(modelOutput[i]!, x, sa, sb, true);
      const eps = opts.useClippedModelOutput ? (x - sa * x0) / sb : rawEps;
      predOriginalSample[i] = x0;
      let p = saPrev * x0 + dirCoef * eps;
      if (z) p += std * z[i]!;
      prevSample[i] = p;
    }
    return { prevSample, predOriginalSample };
  }

  /**
   * One DDIM inversion step (deterministic, eta = 0): from the sample at t - N//n (or the clean
   * sample when that is < 0) to the sample at `t`, as diffusers' DDIMInverseScheduler.step:
   *   x0 = f(out, x_from, alpha_from),  x_t = sqrt(alpha_t) * x0 + sqrt(1 - alpha_t) * eps
   * Iterate t over `inverseTimesteps`. With the same model outputs it exactly undoes `step`.
   */
  inverseStep(modelOutput: Float32Array, t: number, sample: Float32Array): DDIMInverseStepOutput {
    const what = 'DDIMScheduler.inverseStep';
    checkSameLength(what, modelOutput, sample, 'modelOutput', 'sample');
    if (!Number.isInteger(t) || t < 0) throw new Error(`${what}: timestep must be an integer >= 0, got ${t}`);
    const fromT = Math.min(t - this.stepRatio, this.config.num_train_timesteps - 1);
    const aFrom = this.alphaAt(fromT, what);
    const aTo = this.alphaAt(t, what);
    if (aFrom >= 1 && this.config.prediction_type === 'sample') {
      throw new Error(`${what}: prediction_type "sample" cannot be inverted from a clean sample (alpha = 1); use set_alpha_to_one = false`);
    }
    const sa = Math.sqrt(aFrom);
    const sb = Math.sqrt(1 - aFrom);
    const saTo = Math.sqrt(aTo);
    const sbTo = Math.sqrt(1 - aTo);
    const n = sample.length;
    const nextSample = new Float32Array(n);
    const predOriginalSample = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const [x0, eps] = this.predict(modelOutput[i]!, sample[i]!, sa, sb, false);
      predOriginalSample[i] = x0;
      nextSample[i] = saTo * x0 + sbTo * eps;
    }
    return { nextSample, predOriginalSample };
  }

  /** Forward diffusion q(x_t | x_0): sqrt(alpha_t) * x0 + sqrt(1 - alpha_t) * noise. */
  addNoise(x0: Float32Array, noise: Float32Array, t: number): Float32Array {
    return addNoise(this.alphasCumprod, x0, noise, t);
  }

  /** v-prediction target: v = sqrt(alpha_t) * noise - sqrt(1 - alpha_t) * x0. */
  getVelocity(x0: Float32Array, noise: Float32Array, t: number): Float32Array {
    return getVelocity(this.alphasCumprod, x0, noise, t);
  }
}

function alphaFor(alphasCumprod: Float32Array, t: number, what: string): number {
  if (!Number.isInteger(t) || t < 0 || t >= alphasCumprod.length) throw new Error(`${what}: timestep must be an integer in [0, ${alphasCumprod.length}), got ${t}`);
  return alphasCumprod[t]!;
}

/** Forward diffusion q(x_t | x_0) for any alphas_cumprod table. */
export function addNoise(alphasCumprod: Float32Array, x0: Float32Array, noise: Float32Array, t: number): Float32Array {
  checkSameLength('addNoise', x0, noise, 'x0', 'noise');
  const a = alphaFor(alphasCumprod, t, 'addNoise');
  const sa = Math.sqrt(a);
  const sb = Math.sqrt(1 - a);
  const out = new Float32Array(x0.length);
  for (let i = 0; i < out.length; i++) out[i] = sa * x0[i]! + sb * noise[i]!;
  return out;
}

/** v = sqrt(alpha_t) * noise - sqrt(1 - alpha_t) * x0 for any alphas_cumprod table. */
export function getVelocity(alphasCumprod: Float32Array, x0: Float32Array, noise: Float32Array, t: number): Float32Array {
  checkSameLength('getVelocity', x0, noise, 'x0', 'noise');
  const a = alphaFor(alphasCumprod, t, 'getVelocity');
  const sa = Math.sqrt(a);
  const sb = Math.sqrt(1 - a);
  const out = new Float32Array(x0.length);
  for (let i = 0; i < out.length; i++) out[i] = sa * noise[i]! - sb * x0[i]!;
  return out;
}
