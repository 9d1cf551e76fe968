/**
 * Deterministic training batches for Shape World, generated on the fly.
 *
 * Step `s` of a stage with batch size B uses dataset items s*B .. s*B+B-1 of the `train` split
 * (each generated from its own index, see src/engine/world/dataset.ts), so every step sees new
 * images and a resumed run sees exactly the batches the uninterrupted run would have. All other
 * randomness of a step (VAE posterior noise, diffusion timesteps and noise, caption dropout) is a
 * pure function of (seed, step, item), drawn from the Philox generator the diffusion code uses.
 */
import { philox4x32, randn } from '../../diffusion/rng.ts';
import { toCHW } from '../../image/image.ts';
import type { PromptTokenizer } from '../../model/tokenizer.ts';
import { generateSample } from '../../world/dataset.ts';

/** Independent random streams of one step. */
const TAG = { dropout: 1, timestep: 2 } as const;
/** randn stream = 2*step + this (2^31 steps are plenty). */
const NOISE_STREAM = { vae: 0, unet: 1 } as const;

/** Uniform [0, 1) for (seed, step, item, tag). */
export function uniformAt(seed: number, step: number, item: number, tag: number): number {
  const w = philox4x32([item >>> 0, step >>> 0, tag >>> 0, Math.floor(step / 4294967296) >>> 0], [seed >>> 0, Math.floor(seed / 4294967296) >>> 0]);
  return ((w[0]! >>> 5) * 67108864 + (w[1]! >>> 6)) / 9007199254740992;
}

export interface BatchSource {
  /** Dataset seed (the `seed` of generateSample). */
  seed: number;
  /** Dataset split; default 'train' (evaluation uses 'test'). */
  split?: 'train' | 'test';
  batch: number;
  /** Image side (the VAE's sample_size); the dataset renders 64x64. */
  size: number;
}

/** Dataset item indices of step `step`. */
export function batchIndices(step: number, batch: number): number[] {
  return Array.from({ length: batch }, (_, k) => step * batch + k);
}

export interface ImageBatch {
  images: Float32Array;
  captions: string[];
  indices: number[];
}

/** Images (NCHW in [-1, 1]) and captions of a step. */
export function imageBatch(src: BatchSource, step: number): ImageBatch {
  const indices = batchIndices(step, src.batch);
  const plane = 3 * src.size * src.size;
  const images = new Float32Array(src.batch * plane);
  const captions: string[] = [];
  indices.forEach((index, k) => {
    const s = generateSample({ seed: src.seed, split: src.split ?? 'train' }, index);
    if (s.image.width !== src.size || s.image.height !== src.size) {
      throw new Error(`dataset image is ${s.image.width}x${s.image.height}, the VAE expects ${src.size}x${src.size}`);
    }
    images.set(toCHW(s.image, '-1..1'), k * plane);
    captions.push(s.caption);
  });
  return { images, captions, indices };
}

/** N(0, 1) posterior noise of a VAE step, shape [batch, ...latentShape]. */
export function vaeNoise(seed: number, step: number, shape: readonly number[]): Float32Array {
  return randn(shape, seed, { stream: 2 * step + NOISE_STREAM.vae });
}

/**
 * How a UNet step draws its timesteps.
 *
 * - `uniform`: t ~ U{0..T-1}, the plain epsilon loss of DDPM / Stable Diffusion.
 * - `p2`: perception-prioritised weighting (Choi et al., "Perception Prioritized Training of
 *   Diffusion Models", CVPR 2022), lambda(t) = 1 / (k + SNR(t))^gamma with k = 1, applied by
 *   importance sampling: t is drawn with probability proportional to lambda(t) and the loss stays
 *   the plain mean, which has the same expected gradient as weighting a uniform draw and needs no
 *   change to the training graph. It moves samples from the nearly clean timesteps (where the
 *   model only polishes detail) to the noisy ones where colour, shape and layout, i.e. what the
 *   caption says, are decided.
 *
 * `from`: the first step that uses this sampling; earlier steps used `uniform` (a run can switch
 * when it is resumed and still replays every earlier step exactly).
 */
export type TimestepSampling = { kind: 'uniform' } | { kind: 'p2'; gamma: number; from: number };

/** Inverse-CDF table of the P2 timestep distribution: cdf[t] = P(T <= t). */
export function p2TimestepCdf(alphasCumprod: Float32Array, gamma: number): Float64Array {
  const T = alphasCumprod.length;
  const cdf = new Float64Array(T);
  let acc = 0;
  for (let t = 0; t < T; t++) {
    const ab = alphasCumprod[t]!;
    acc += 1 / (1 + ab / (1 - ab)) ** gamma;
    cdf[t] = acc;
  }
  for (let t = 0; t < T; t++) cdf[t] = cdf[t]! / acc;
  return cdf;
}

/** Smallest t with cdf[t] > u (binary search). */
export function sampleFromCdf(cdf: Float64Array, u: number): number {
  let lo = 0;
  let hi = cdf.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cdf[mid]! > u) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

export interface DiffusionBatch {
  /** Token ids [batch, L] (captions dropped to "" where `dropped`). */
  inputIds: BigInt64Array;
  dropped: boolean[];
  timesteps: Float32Array;
  /** Noise eps (the target), [batch, C, h, w]. */
  noise: Float32Array;
}

/**
 * Caption dropout (classifier-free guidance), timesteps (uniform in [0, numTrainTimesteps), or
 * drawn from `timestepCdf` when given, see TimestepSampling) and the noise of a UNet step.
 */
export function diffusionInputs(
  seed: number,
  step: number,
  captions: readonly string[],
  tokenizer: PromptTokenizer,
  opts: { cfgDropout: number; numTrainTimesteps: number; latentShape: readonly number[]; timestepCdf?: Float64Array },
): DiffusionBatch {
  const B = captions.length;
  const L = tokenizer.maxLength;
  const inputIds = new BigInt64Array(B * L);
  const dropped: boolean[] = [];
  const timesteps = new Float32Array(B);
  for (let k = 0; k < B; k++) {
    const drop = uniformAt(seed, step, k, TAG.dropout) < opts.cfgDropout;
    dropped.push(drop);
    const ids = tokenizer.encode(drop ? '' : captions[k]!, { idsType: 'int64' }).ids as BigInt64Array;
    if (ids.length !== L) throw new Error(`tokenizer returned ${ids.length} ids, expected ${L}`);
    inputIds.set(ids, k * L);
    const u = uniformAt(seed, step, k, TAG.timestep);
    timesteps[k] = opts.timestepCdf ? sampleFromCdf(opts.timestepCdf, u) : Math.min(opts.numTrainTimesteps - 1, Math.floor(u * opts.numTrainTimesteps));
  }
  const noise = randn([B, ...opts.latentShape], seed, { stream: 2 * step + NOISE_STREAM.unet });
  return { inputIds, dropped, timesteps, noise };
}

/** z_t = sqrt(abar_t) z0 + sqrt(1 - abar_t) eps, per item (float32 like diffusers' add_noise). */
export function addNoiseBatch(alphasCumprod: Float32Array, z0: Float32Array, noise: Float32Array, timesteps: Float32Array): Float32Array {
  const B = timesteps.length;
  const per = z0.length / B;
  const out = new Float32Array(z0.length);
  for (let k = 0; k < B; k++) {
    const ab = alphasCumprod[timesteps[k]!]!;
    const a = Math.fround(Math.sqrt(ab));
    const s = Math.fround(Math.sqrt(1 - ab));
    for (let i = k * per; i < (k + 1) * per; i++) out[i] = Math.fround(a * z0[i]!) + Math.fround(s * noise[i]!);
  }
  return out;
}
