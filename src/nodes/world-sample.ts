import { generateSample } from '../engine/world/dataset.ts';
import { defineNode } from './api.ts';
import { param } from './params.ts';
import { imagePreview } from './previews.ts';

export default defineNode({
  type: 'world.sample',
  version: 1,
  title: 'Shape World Sample',
  category: 'Dataset',
  description:
    'One rendered Shape World scene (64x64, 1-3 coloured shapes) with its web-style caption, exactly reproducible from (seed, split, index). Ground truth for checking detectors and evaluation rules.',
  inputs: [],
  outputs: [
    { id: 'image', label: 'Image', type: 'IMAGE' },
    { id: 'caption', label: 'Caption', type: 'STRING' },
  ],
  params: {
    seed: param.seed({ label: 'Dataset seed', default: 0 }),
    split: param.enum({ label: 'Split', choices: ['train', 'test', 'unseen'], default: 'test' }),
    index: param.int({ label: 'Item index', default: 0, min: 0 }),
    spatial_rate: param.float({ label: 'Share of spatial captions', default: 0.1, min: 0, max: 1, step: 0.05, widget: 'slider' }),
  },
  execute(ctx, _inputs, p) {
    const s = generateSample({ seed: p.seed, split: p.split, spatialRate: p.spatial_rate }, p.index);
    const image = { ...s.image, meta: { seed: p.seed, prompt: s.caption } };
    ctx.preview(imagePreview(image, s.caption));
    return { image, caption: s.caption };
  },
});
