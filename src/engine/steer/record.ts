/**
 * Recording attention stacks for a prompt: from an image (encode, invert, re-denoise) or from a
 * noise latent z_T (denoise, guidance 1.0), at chosen steps. What the Extract Attention node runs.
 */
import type { ImageRGB } from '../image/image.ts';
import type { SessionManager } from '../onnx/session.ts';
import { decodeLatent } from '../pipeline/decode.ts';
import type { Conditioning } from '../pipeline/encode.ts';
import { invertAndRecord, redenoise, vaeEncoder } from '../pipeline/invert.ts';
import type { Pipeline } from '../pipeline/load.ts';
import { objectTokenGroups, type AttentionUNet, type MapSpec } from './attention.ts';

export interface RecordedAttention {
  spec: MapSpec;
  objects: string[];
  steps: number[];
  totalSteps: number;
  /** Per recorded step: [objects, C, S, S]. */
  stacks: Float32Array[];
  /** The image the maps describe: the input, or the decoded result of the denoise. */
  image: ImageRGB;
  /** Reconstruction PSNR (image source only). */
  psnr?: number;
}

export interface RecordOptions {
  steps: number;
  record: readonly number[];
  fixedPoint: number;
  signal?: AbortSignal;
  onStep?: (i: number, n: number) => void;
}

export async function recordAttention(pipe: Pipeline, sessions: SessionManager, unet: AttentionUNet, c: Conditioning, source: { image: ImageRGB } | { noise: Float32Array }, o: RecordOptions): Promise<RecordedAttention> {
  const groups = [objectTokenGroups(c.objects)];
  const objects = c.objects.map((x) => x.object);
  if (objects.length === 0) throw new Error(`the prompt "${c.prompt.text}" names no object whose attention to read`);
  if ('image' in source) {
    const res = await invertAndRecord(pipe, await vaeEncoder(pipe, sessions), unet, [source.image], [c.cond], { steps: o.steps, fixedPoint: o.fixedPoint, record: o.record, groups, signal: o.signal, onStep: o.onStep });
    return { spec: unet.spec, objects, steps: [...o.record], totalSteps: o.steps, stacks: res.maps.map((m) => m[0]!), image: source.image, psnr: res.psnr[0]! };
  }
  const re = await redenoise(pipe, unet, [source.noise], [c.cond], { steps: o.steps, record: o.record, groups, signal: o.signal, onStep: o.onStep });
  return { spec: unet.spec, objects, steps: [...o.record], totalSteps: o.steps, stacks: re.maps.map((m) => m[0]!), image: await decodeLatent(pipe, re.z0[0]!) };
}
