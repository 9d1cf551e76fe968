/**
 * Image -> latent (VAE encoder), DDIM inversion to z_T under a prompt, and the re-denoise that
 * records cross-attention maps: the data path of Learn-to-Steer's dual-inversion dataset and of
 * `steer classify`.
 *
 * Fixed-point DDIM inversion (guidance 1.0, conditional pass only). Going from z_{t-} to z_t, plain
 * DDIM inversion evaluates the noise at (z_{t-}, t) because z_t is unknown; the exact inverse of a
 * DDIM step needs eps(z_t, t). So z_t is the fixed point of z = g(eps(z, t)), g the DDIM inverse
 * step from z_{t-}: start from the plain estimate and iterate `fixedPoint` times (the authors: 5).
 * Each iteration is one UNet evaluation; a step costs 1 + fixedPoint evaluations.
 *
 * Everything is batched: B images (each with its own prompt embedding) share every UNet call.
 */
import { DDIMScheduler } from '../diffusion/ddim.ts';
import { toCHW, type ImageRGB } from '../image/image.ts';
import type { HostTensor, Session, SessionManager } from '../onnx/session.ts';
import type { AttentionUNet } from '../steer/attention.ts';
import { stacksFromTaps } from '../steer/attention.ts';
import { decodeLatent } from './decode.ts';
import type { Embedding } from './encode.ts';
import type { Pipeline } from './load.ts';

export class InversionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InversionError';
  }
}

/** The VAE encoder session of a pipeline's model folder (error when the folder has none). */
export async function vaeEncoder(pipe: Pipeline, sessions: SessionManager): Promise<Session> {
  const file = pipe.folder.vaeEncoder?.model;
  if (!file) throw new InversionError(`${pipe.folder.dir}: the model folder has no vae_encoder/model.onnx, so images cannot be encoded (Encode Image and inversion need it)`);
  return sessions.get(file);
}

/** Images -> scaled latents (posterior mean x scaling factor), one Float32Array [C*h*w] per image. */
export async function encodeImages(pipe: Pipeline, encoder: Session, images: readonly ImageRGB[]): Promise<Float32Array[]> {
  if (images.length === 0) return [];
  const [c, h, w] = pipe.latentShape;
  const W = images[0]!.width;
  const H = images[0]!.height;
  for (const [i, img] of images.entries()) {
    if (img.width !== W || img.height !== H) throw new InversionError(`image ${i} is ${img.width}x${img.height}; every image of a batch must be ${W}x${H}`);
  }
  const n = 3 * W * H;
  const data = new Float32Array(images.length * n);
  images.forEach((img, i) => data.set(toCHW(img, '-1..1'), i * n));
  const out = await encoder.run({ sample: { data, dims: [images.length, 3, H, W] } });
  const lat = out.latent_sample ?? Object.values(out)[0]!;
  const dims = lat.dims as number[];
  if (dims[1] !== c || dims[2] !== h || dims[3] !== w) {
    throw new InversionError(`${pipe.folder.vaeEncoder?.model}: a ${W}x${H} image encodes to [${dims.join(', ')}], but the UNet takes ${c}x${h}x${w} latents (resize the image to the model's size)`);
  }
  const m = c * h * w;
  const src = lat.data as Float32Array;
  return images.map((_, i) => Float32Array.from(src.subarray(i * m, (i + 1) * m), (v) => v * pipe.scalingFactor));
}

function stack(parts: readonly Float32Array[]): Float32Array {
  const n = parts[0]!.length;
  const out = new Float32Array(parts.length * n);
  parts.forEach((p, i) => {
    if (p.length !== n) throw new InversionError(`batch item ${i} has ${p.length} values, expected ${n}`);
    out.set(p, i * n);
  });
  return out;
}

function split(data: Float32Array, batch: number): Float32Array[] {
  const n = data.length / batch;
  return Array.from({ length: batch }, (_, i) => data.slice(i * n, (i + 1) * n));
}

/** One UNet call on a batch sharing timestep t; returns all outputs. */
export async function unetBatch(pipe: Pipeline, session: Session, latents: Float32Array, batch: number, t: number, ehs: Float32Array, outputs?: readonly string[]): Promise<Record<string, HostTensor>> {
  const [c, h, w] = pipe.latentShape;
  const hidden = ehs.length / batch;
  const tokens = hidden / pipe.hiddenSize;
  const timestep = pipe.io.timestepType === 'int64' ? { data: BigInt64Array.from({ length: batch }, () => BigInt(Math.round(t))), dims: [batch] } : { data: Float32Array.from({ length: batch }, () => t), dims: [batch] };
  if (pipe.io.timestepShape === 'scalar') timestep.dims = [];
  return session.run(
    {
      sample: { data: latents, dims: [batch, c, h, w] },
      timestep,
      encoder_hidden_states: { data: ehs, dims: [batch, tokens, pipe.hiddenSize] },
    },
    outputs,
  );
}

const noisePred = (out: Record<string, HostTensor>) => (out.out_sample ?? Object.values(out)[0]!).data as Float32Array;

export interface InvertOptions {
  steps: number;
  /** Fixed-point iterations per step (0 = plain DDIM inversion). */
  fixedPoint: number;
  signal?: AbortSignal;
  onStep?: (i: number, steps: number) => void;
}

/** DDIM inversion of a batch of clean latents z_0 to z_T, each under its own conditioning. */
export async function invertLatents(pipe: Pipeline, z0: readonly Float32Array[], conds: readonly Embedding[], o: InvertOptions): Promise<Float32Array[]> {
  const B = z0.length;
  if (conds.length !== B) throw new InversionError(`${B} latents but ${conds.length} prompt embeddings`);
  if (!Number.isInteger(o.fixedPoint) || o.fixedPoint < 0) throw new InversionError(`fixed-point iterations must be an integer >= 0, got ${o.fixedPoint}`);
  if (!pipe.io.batchable && B > 1) throw new InversionError(`${pipe.folder.unet.model} has a static batch of 1; invert one image at a time`);
  const scheduler = ddimFor(pipe, o.steps);
  const ehs = stack(conds.map((c) => c.data));
  let z = stack(z0);
  const ts = scheduler.inverseTimesteps;
  for (let i = 0; i < ts.length; i++) {
    o.signal?.throwIfAborted();
    const t = ts[i]!;
    const from = z;
    let eps = noisePred(await unetBatch(pipe, pipe.unet, from, B, t, ehs));
    z = scheduler.inverseStep(eps, t, from).nextSample;
    for (let k = 0; k < o.fixedPoint; k++) {
      o.signal?.throwIfAborted();
      eps = noisePred(await unetBatch(pipe, pipe.unet, z, B, t, ehs));
      z = scheduler.inverseStep(eps, t, from).nextSample;
    }
    o.onStep?.(i + 1, ts.length);
  }
  return split(z, B);
}

export function ddimFor(pipe: Pipeline, steps: number): DDIMScheduler {
  if (!Number.isInteger(steps) || steps < 1) throw new InversionError(`steps must be a positive integer, got ${steps}`);
  const { _class_name: _c, _diffusers_version: _v, ...config } = pipe.schedulerConfig;
  const s = new DDIMScheduler(config);
  if (steps > s.config.num_train_timesteps) throw new InversionError(`steps must be at most ${s.config.num_train_timesteps} (the scheduler's num_train_timesteps), got ${steps}`);
  s.setTimesteps(steps);
  return s;
}

export interface RedenoiseOptions {
  steps: number;
  /** Denoising step indices (0 = first, noisiest) at which to record attention maps. */
  record: readonly number[];
  /** Token groups per batch item (one list of token positions per object). */
  groups: readonly (readonly (readonly number[])[])[];
  signal?: AbortSignal;
  onStep?: (i: number, steps: number) => void;
}

export interface RedenoiseResult {
  /** Final latents per batch item. */
  z0: Float32Array[];
  /** maps[r][b]: the [G, C, S, S] stack of batch item b at record[r]. */
  maps: Float32Array[][];
}

/**
 * Deterministic DDIM (guidance 1.0) from z_T under each item's conditioning, recording attention
 * stacks at `record` steps (`unet` null: the plain UNet, nothing recorded).
 */
export async function redenoise(pipe: Pipeline, unet: AttentionUNet | null, zT: readonly Float32Array[], conds: readonly Embedding[], o: RedenoiseOptions): Promise<RedenoiseResult> {
  const B = zT.length;
  if (conds.length !== B || o.groups.length !== B) throw new InversionError(`${B} latents, ${conds.length} embeddings and ${o.groups.length} token-group sets: they must match`);
  const scheduler = ddimFor(pipe, o.steps);
  for (const r of o.record) if (!Number.isInteger(r) || r < 0 || r >= o.steps) throw new InversionError(`recorded step ${r} is outside 0..${o.steps - 1}`);
  if (!unet && o.record.length > 0) throw new InversionError('recording attention needs the UNet with attention taps');
  const ehs = stack(conds.map((c) => c.data));
  let z = stack(zT);
  const maps: Float32Array[][] = o.record.map(() => []);
  const ts = scheduler.timesteps;
  const session = unet?.session ?? pipe.unet;
  const tapNames = unet?.taps.map((t) => t.output) ?? [];
  const outName = session.outputNames.includes('out_sample') ? 'out_sample' : session.outputNames[0]!;
  for (let i = 0; i < ts.length; i++) {
    o.signal?.throwIfAborted();
    const t = ts[i]!;
    const want = o.record.indexOf(i);
    const out = await unetBatch(pipe, session, z, B, t, ehs, want >= 0 ? [outName, ...tapNames] : [outName]);
    if (want >= 0 && unet) {
      const stacks = stacksFromTaps(unet.spec, unet.taps, out, o.groups);
      o.record.forEach((r, k) => {
        if (r === i) maps[k] = stacks;
      });
    }
    z = scheduler.step(out[outName]!.data as Float32Array, t, z).prevSample;
    o.onStep?.(i + 1, ts.length);
  }
  return { z0: split(z, B), maps };
}

/** PSNR in dB between two 8-bit images of the same size (peak 255). */
export function psnr(a: ImageRGB, b: ImageRGB): number {
  if (a.width !== b.width || a.height !== b.height) throw new InversionError(`PSNR of a ${a.width}x${a.height} and a ${b.width}x${b.height} image`);
  let se = 0;
  for (let i = 0; i < a.data.length; i++) {
    const d = a.data[i]! - b.data[i]!;
    se += d * d;
  }
  const mse = se / a.data.length;
  return mse === 0 ? Infinity : 10 * Math.log10((255 * 255) / mse);
}

export interface InvertRecordOptions extends InvertOptions {
  record: readonly number[];
  groups: readonly (readonly (readonly number[])[])[];
}

export interface InvertRecordResult {
  /** Reconstruction PSNR per image (decoded re-denoised latent vs the input image). */
  psnr: number[];
  maps: Float32Array[][];
  reconstructions: ImageRGB[];
  zT: Float32Array[];
}

/** Encode -> invert -> re-denoise (recording maps) -> decode -> PSNR, for a batch of images. */
export async function invertAndRecord(pipe: Pipeline, encoder: Session, unet: AttentionUNet, images: readonly ImageRGB[], conds: readonly Embedding[], o: InvertRecordOptions): Promise<InvertRecordResult> {
  const z0 = await encodeImages(pipe, encoder, images);
  const half = (i: number, n: number) => o.onStep?.(i, 2 * n);
  const zT = await invertLatents(pipe, z0, conds, { ...o, onStep: half });
  const re = await redenoise(pipe, unet, zT, conds, { steps: o.steps, record: o.record, groups: o.groups, signal: o.signal, onStep: (i, n) => o.onStep?.(n + i, 2 * n) });
  const reconstructions: ImageRGB[] = [];
  for (const z of re.z0) reconstructions.push(await decodeLatent(pipe, z));
  return { psnr: images.map((img, i) => psnr(img, reconstructions[i]!)), maps: re.maps, reconstructions, zT };
}
