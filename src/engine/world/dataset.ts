/**
 * Shape World dataset generator: (image, caption, scene) samples.
 *
 * Item i of (seed, split) is generated from its own Rng, derive(seed, split, i),
 * so any item can be produced alone (`generateSample`) and datasets are
 * reproducible and independent across splits with the same seed. Per item:
 *   1. spatial = chance(spatialRate)  (default SPATIAL_CAPTION_RATE = 10%);
 *   2. scene = generateScene(split rules; a spatial item needs >= 2 objects
 *      with a stateable relation);
 *   3. caption = spatial ? spatialCaption : plainCaption;
 *   4. image = renderScene with mild background noise (sigma 3 by default),
 *      noise seeded from the item seed.
 */
import type { ImageRGB } from '../image/image.ts';
import type { Box } from '../eval/geneval.ts';
import type { Caption } from './captions.ts';
import { SPATIAL_CAPTION_RATE, captionScene } from './captions.ts';
import { renderScene } from './render.ts';
import { Rng, derive } from './rng.ts';
import type { SceneOptions, Split } from './scene.ts';
import { generateScene } from './scene.ts';
import type { Scene } from './types.ts';
import { objectBox } from './types.ts';

export interface DatasetOptions {
  count: number;
  seed: number | string;
  split?: Split;
  /** Fraction of items with a spatial caption. Default SPATIAL_CAPTION_RATE. */
  spatialRate?: number;
  /** Gaussian pixel noise sigma (0..255 units). Default 3. */
  noise?: number;
  /** Index of the first item. Default 0. */
  start?: number;
  /** Extra scene options (sizes, counts, canvas). `split` and `requireRelation` are set per item. */
  scene?: Omit<SceneOptions, 'split' | 'requireRelation'>;
}

export interface Sample {
  index: number;
  split: Split;
  image: ImageRGB;
  caption: string;
  /** Relations the caption states, as indices into scene.objects. */
  stated: Caption['relations'];
  scene: Scene;
  /** Ground-truth boxes, one per scene object. */
  boxes: Box[];
}

/** Item `index` of the dataset (seed, split). */
export function generateSample(opts: Omit<DatasetOptions, 'count' | 'start'>, index: number): Sample {
  const split = opts.split ?? 'train';
  const itemSeed = derive(opts.seed, split, index);
  const rng = new Rng(itemSeed);
  const spatial = rng.chance(opts.spatialRate ?? SPATIAL_CAPTION_RATE);
  const scene = generateScene(rng, { ...opts.scene, split, requireRelation: spatial });
  const caption = captionScene(scene, rng, { spatial });
  const image = renderScene(scene, { noise: opts.noise ?? 3, noiseSeed: derive(itemSeed, 'noise') });
  return { index, split, image, caption: caption.text, stated: caption.relations, scene, boxes: scene.objects.map(objectBox) };
}

/** Lazily yields `count` samples starting at `start`. */
export function* generateDataset(opts: DatasetOptions): Generator<Sample> {
  const start = opts.start ?? 0;
  for (let i = start; i < start + opts.count; i++) yield generateSample(opts, i);
}
