/**
 * Euler sampler in sigma space (Karras et al. 2022, Algorithm 2 with s_churn = 0) with
 * diffusers' EulerDiscreteScheduler conventions.
 *
 *   sigma(t)   = sqrt((1 - alpha_t) / alpha_t)  on the training timesteps (float32), linearly
 *                interpolated (np.interp) at the inference timesteps; a final 0 is appended
 *   timesteps  linspace: linspace(0, N - 1, n) reversed (float32, fractional)
 *              leading:  round(arange(n) * (N // n)) reversed + steps_offset
 *              trailing: round(arange(N, 0, -N / n)) - 1
 *   init_noise_sigma = max sigma (linspace/trailing) or sqrt(max sigma^2 + 1) (leading)
 *   scale_model_input: x / sqrt(sigma^2 + 1)
 *   step: epsilon       x0 = x - sigma * out
 *         v_prediction  x0 = out * (-sigma / sqrt(sigma^2 + 1)) + x / (sigma^2 + 1)
 *         sample        x0 = out
 *         d = (x - x0) / sigma,  x_next = x + d * (sigma_next - sigma)
 */
import type { SchedulerConfig } from './config.ts';
import { EULER_DEFAULTS, parseSchedulerConfig } from './config.ts';
import { linspace, makeAlphas, makeBetas, roundHalfEven } from './schedule.ts';
import { checkSameLength } from './tensor.ts';

const f32 = Math.fround;

export interface EulerStepOutput {
  prevSample: Float32Array;
  predOriginalSample: Float32Array;
}

export class EulerDiscreteScheduler {
  readonly config: SchedulerConfig;
  readonly betas: Float32Array;
  readonly alphasCumprod: Float32Array;
  /** sigma for every training timestep (ascending in t). */
  readonly trainSigmas: Float32Array;
  private ts = new Float32Array(0);
  private sig = new Float32Array(0);

  constructor(config: unknown = {}) {
    this.config = parseSchedulerConfig(config, EULER_DEFAULTS, 'EulerDiscreteScheduler config');
    this.betas = makeBetas(this.config);
    const { alphasCumprod } = makeAlphas(this.betas);
    // With zero terminal SNR the last alpha is 0 (sigma = inf); diffusers uses 2^-24 instead.
    if (this.config.rescale_betas_zero_snr) alphasCumprod[alphasCumprod.length - 1] = 2 ** -24;
    this.alphasCumprod = alphasCumprod;
    this.trainSigmas = new Float32Array(alphasCumprod.length);
    for (let i = 0; i < alphasCumprod.length; i++) {
      const a = alphasCumprod[i]!;
      this.trainSigmas[i] = Math.sqrt(f32(f32(1 - a) / a));
    }
  }

  get numInferenceSteps(): number {
    return this.ts.length;
  }

  /** Inference timesteps (descending, float32 values; may be fractional for 'linspace'). */
  get timesteps(): Float32Array {
    return this.ts;
  }

  /** Sigmas for the inference timesteps plus a final 0 (length n + 1). */
  get sigmas(): Float32Array {
    return this.sig;
  }

  /** Standard deviation of the initial noise: multiply unit Gaussian noise by this. */
  get initNoiseSigma(): number {
    if (this.sig.length === 0) throw new Error('EulerDiscreteScheduler: call setTimesteps() first');
    let max = 0;
    for (const s of this.sig) max = Math.max(max, s);
    const sp = this.config.timestep_spacing;
    return sp === 'linspace' || sp === 'trailing' ? max : f32(Math.sqrt(max * max + 1));
  }

  setTimesteps(numInferenceSteps: number): void {
    const n = numInferenceSteps;
    const N = this.config.num_train_timesteps;
    if (!Number.isInteger(n) || n < 1) throw new Error(`EulerDiscreteScheduler: number of inference steps must be an integer >= 1, got ${n}`);
    if (n > N) throw new Error(`EulerDiscreteScheduler: number of inference steps (${n}) cannot exceed num_train_timesteps (${N})`);
    let ts: number[];
    if (this.config.timestep_spacing === 'linspace') ts = Array.from(linspace(0, N - 1, n), f32).reverse();
    else if (this.config.timestep_spacing === 'leading') {
      const ratio = Math.floor(N / n);
      ts = Array.from({ length: n }, (_, i) => i * ratio + this.config.steps_offset).reverse();
    } else {
      const r = N / n;
      const delta = N - r - N;
      ts = Array.from({ length: Math.ceil(N / r) }, (_, i) => roundHalfEven(N + i * delta) - 1);
    }
    this.ts = Float32Array.from(ts);
    this.sig = new Float32Array(ts.length + 1);
    ts.forEach((t, i) => (this.sig[i] = this.interpSigma(t)));
    this.sig[ts.length] = 0;
  }

  /** np.interp(t, arange(N), trainSigmas), clamped at the ends. */
  private interpSigma(t: number): number {
    const s = this.trainSigmas;
    if (t <= 0) return s[0]!;
    if (t >= s.length - 1) return s[s.length - 1]!;
    const i = Math.floor(t);
    const frac = t - i;
    return frac === 0 ? s[i]! : s[i]! + (s[i + 1]! - s[i]!) * frac;
  }

  /** Index of `t` in the inference timesteps (first match). */
  indexForTimestep(t: number): number {
    if (this.ts.length === 0) throw new Error('EulerDiscreteScheduler: call setTimesteps() before stepping');
    const i = this.ts.indexOf(f32(t));
    if (i < 0) throw new Error(`EulerDiscreteScheduler: timestep ${t} is not one of the inference timesteps`);
    return i;
  }

  /** Scale the denoiser input: x / sqrt(sigma^2 + 1). */
  scaleModelInput(sample: Float32Array, t: number): Float32Array {
    const sigma = this.sig[this.indexForTimestep(t)]!;
    const c = 1 / Math.sqrt(sigma * sigma + 1);
    const out = new Float32Array(sample.length);
    for (let i = 0; i < out.length; i++) out[i] = sample[i]! * c;
    return out;
  }

  step(modelOutput: Float32Array, t: number, sample: Float32Array): EulerStepOutput {
    const what = 'EulerDiscreteScheduler.step';
    checkSameLength(what, modelOutput, sample, 'modelOutput', 'sample');
    const k = this.indexForTimestep(t);
    const sigma = this.sig[k]!;
    const dt = this.sig[k + 1]! - sigma;
    const n = sample.length;
    const prevSample = new Float32Array(n);
    const predOriginalSample = new Float32Array(n);
    const s2 = sigma * sigma + 1;
    for (let i = 0; i < n; i++) {
      const x = sample[i]!;
      const out = modelOutput[i]!;
      let x0: number;
      switch (this.config.prediction_type) {
        case 'epsilon':
          x0 = x - sigma * out;
          break;
        case 'v_prediction':
          x0 = out * (-sigma / Math.sqrt(s2)) + x / s2;
          break;
        case 'sample':
          x0 = out;
          break;
      }
      predOriginalSample[i] = x0;
      const d = (x - x0) / sigma;
      prevSample[i] = x + d * dt;
    }
    return { prevSample, predOriginalSample };
  }

  /** Forward noising in sigma space: x0 + sigma(t) * noise, t one of the inference timesteps. */
  addNoise(x0: Float32Array, noise: Float32Array, t: number): Float32Array {
    checkSameLength('EulerDiscreteScheduler.addNoise', x0, noise, 'x0', 'noise');
    const sigma = this.sig[this.indexForTimestep(t)]!;
    const out = new Float32Array(x0.length);
    for (let i = 0; i < out.length; i++) out[i] = x0[i]! + sigma * noise[i]!;
    return out;
  }
}
