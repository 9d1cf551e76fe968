/**
 * The denoising loop: DDIM or Euler (diffusers conventions, read from the model's
 * scheduler_config.json), classifier-free guidance, progress and cancellation per step.
 * Steering plugs in through `beforeStep`, which may replace the latent before each step.
 */
import { DDIMScheduler } from '../diffusion/ddim.ts';
import { EulerDiscreteScheduler } from '../diffusion/euler.ts';
import { classifierFreeGuidance } from '../diffusion/guidance.ts';
import { randn } from '../diffusion/rng.ts';
import { assertFinite } from '../util/finite.ts';
import { yieldToEventLoop } from '../util/yield.ts';
import type { Embedding } from './encode.ts';
import type { Pipeline } from './load.ts';

export type SchedulerName = 'ddim' | 'euler';

export interface SampleOptions {
  cond: Embedding;
  uncond: Embedding;
  /** Initial noise, [1, C, H, W] (unit variance; scaled by the scheduler's init sigma here). */
  noise: Float32Array;
  steps: number;
  guidance: number;
  scheduler: SchedulerName;
  /** DDIM eta (0 = deterministic DDIM); eta > 0 draws its per-step noise from `seed`. */
  eta?: number;
  /** Seed of the per-step noise when eta > 0 (streams 1..steps of the Philox generator). */
  seed?: number;
  signal?: AbortSignal;
  /** After step i (1-based count); `x0` is the scheduler's prediction of the clean latent at that step. */
  onStep?: (i: number, steps: number, t: number, x0: Float32Array) => void;
  /**
   * Called before each step with the current latent; may return a replacement (steering).
   * `modelInput` scales a latent the way the scheduler feeds it to the UNet.
   */
  beforeStep?: (i: number, t: number, latent: Float32Array, modelInput: (x: Float32Array) => Float32Array) => Promise<Float32Array | void> | Float32Array | void;
}

function makeScheduler(schedulerConfig: Record<string, unknown>, name: SchedulerName) {
  // diffusers' from_config: the model's scheduler config, whatever class it was saved for
  const { _class_name: _c, _diffusers_version: _v, ...config } = schedulerConfig;
  return name === 'ddim' ? new DDIMScheduler(config) : new EulerDiscreteScheduler(config);
}

/** Whether the scheduler can run `steps` steps (DDIM: every timestep it visits is a trained one; Euler interpolates). */
function runnable(schedulerConfig: Record<string, unknown>, name: SchedulerName, steps: number): boolean {
  try {
    const s = makeScheduler(schedulerConfig, name);
    s.setTimesteps(steps);
    const n = Number(schedulerConfig.num_train_timesteps ?? 1000);
    return s.timesteps.length > 0 && (name === 'euler' || [...s.timesteps].every((t) => t >= 0 && t < n));
  } catch {
    return false;
  }
}

/**
 * Why `steps` cannot run on this scheduler config (undefined when it can): the most steps it runs
 * follows from num_train_timesteps, timestep_spacing and steps_offset (DDIM with "leading" spacing
 * and offset 1 runs at most 999 of 1000). Cheap, so callers check it before loading a model.
 */
export function stepsProblem(schedulerConfig: Record<string, unknown>, name: SchedulerName, steps: number): string | undefined {
  if (!Number.isInteger(steps) || steps < 1) return `steps must be a positive integer, got ${steps}`;
  if (runnable(schedulerConfig, name, steps)) return undefined;
  let max = Math.min(steps, Number(schedulerConfig.num_train_timesteps ?? 1000));
  while (max > 1 && !runnable(schedulerConfig, name, max)) max--;
  const c = schedulerConfig;
  const config = `num_train_timesteps ${String(c.num_train_timesteps)}, timestep_spacing "${String(c.timestep_spacing ?? 'leading')}", steps_offset ${String(c.steps_offset ?? 0)}`;
  return `the model's ${name} scheduler runs at most ${max} steps (${config}), got ${steps}`;
}

/** One UNet evaluation for cond (and uncond when guiding): returns the guided noise prediction. */
export async function predictNoise(pipe: Pipeline, latentIn: Float32Array, t: number, cond: Embedding, uncond: Embedding, guidance: number): Promise<Float32Array> {
  const [c, h, w] = pipe.latentShape;
  const timestep = (batch: number) => {
    const data = pipe.io.timestepType === 'int64' ? BigInt64Array.from({ length: batch }, () => BigInt(Math.round(t))) : Float32Array.from({ length: batch }, () => t);
    return { data, dims: pipe.io.timestepShape === 'scalar' ? [] : [batch] };
  };
  const run = async (sample: Float32Array, batch: number, ehs: Float32Array) => {
    const out = await pipe.unet.run({
      sample: { data: sample, dims: [batch, c, h, w] },
      timestep: timestep(batch),
      encoder_hidden_states: { data: ehs, dims: [batch, cond.dims[1], cond.dims[2]] },
    });
    return (out.out_sample ?? Object.values(out)[0]!).data as Float32Array;
  };
  if (guidance === 1) return run(latentIn, 1, cond.data);
  if (pipe.io.batchable && pipe.io.timestepShape === 'vector') {
    const n = latentIn.length;
    const both = new Float32Array(2 * n);
    both.set(latentIn, 0);
    both.set(latentIn, n);
    const ehs = new Float32Array(2 * cond.data.length);
    ehs.set(uncond.data, 0);
    ehs.set(cond.data, cond.data.length);
    const eps = await run(both, 2, ehs);
    return classifierFreeGuidance(eps.subarray(0, n), eps.subarray(n), guidance);
  }
  const epsU = await run(latentIn, 1, uncond.data);
  const epsC = await run(latentIn, 1, cond.data);
  return classifierFreeGuidance(epsU, epsC, guidance);
}

export async function sampleLatent(pipe: Pipeline, o: SampleOptions): Promise<Float32Array> {
  const problem = stepsProblem(pipe.schedulerConfig, o.scheduler, o.steps);
  if (problem) throw new Error(problem);
  const scheduler = makeScheduler(pipe.schedulerConfig, o.scheduler);
  scheduler.setTimesteps(o.steps);
  const sigma0 = scheduler.initNoiseSigma;
  let latent: Float32Array = Float32Array.from(o.noise, (v) => v * sigma0);
  const timesteps = [...scheduler.timesteps];
  const unetFile = pipe.folder.unet.model;
  assertFinite(latent, 'the initial noise latent', 'the noise input (no model)');
  for (let i = 0; i < timesteps.length; i++) {
    await yieldToEventLoop(); // lets Ctrl+C and cancel requests arrive between steps
    o.signal?.throwIfAborted();
    const t = timesteps[i]!;
    const at = { step: i + 1, steps: timesteps.length };
    const replaced = await o.beforeStep?.(i, t, latent, (x) => scheduler.scaleModelInput(x, t));
    if (replaced) {
      assertFinite(replaced, 'the steered latent', 'the beforeStep hook (steering)', at);
      latent = replaced;
    }
    const input = scheduler.scaleModelInput(latent, t);
    const eps = await predictNoise(pipe, input, t, o.cond, o.uncond, o.guidance);
    assertFinite(eps, 'the noise prediction', unetFile, at);
    const out =
      scheduler instanceof DDIMScheduler
        ? scheduler.step(eps, t, latent, o.eta ? { eta: o.eta, noise: (n: number) => randn([n], o.seed ?? 0, { stream: i + 1 }) } : {})
        : scheduler.step(eps, t, latent);
    latent = out.prevSample;
    assertFinite(latent, 'the latent', unetFile, at);
    o.onStep?.(i + 1, timesteps.length, t, out.predOriginalSample);
  }
  return latent;
}
