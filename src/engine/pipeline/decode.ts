/** Decode: latent -> VAE decoder -> 8-bit RGB image (model pixel space is [-1, 1]). */
import { fromCHW, type ImageRGB } from '../image/image.ts';
import { assertFinite } from '../util/finite.ts';
import type { Pipeline } from './load.ts';

export async function decodeLatent(pipe: Pipeline, latent: Float32Array): Promise<ImageRGB> {
  const [c, h, w] = pipe.latentShape;
  const scaled = Float32Array.from(latent, (v) => v / pipe.scalingFactor);
  const out = await pipe.vaeDecoder.run({ latent_sample: { data: scaled, dims: [1, c, h, w] } });
  const img = out.sample ?? Object.values(out)[0]!;
  const [, ch, H, W] = img.dims as number[];
  if (ch !== 3 || !H || !W) throw new Error(`${pipe.folder.vaeDecoder.model}: expected a [1, 3, H, W] image, got [${img.dims.join(', ')}]`);
  assertFinite(img.data as Float32Array, 'the decoded image', pipe.folder.vaeDecoder.model);
  return fromCHW(img.data as Float32Array, W, H, '-1..1');
}
