import { resolve } from 'node:path';
import { buildRelationDataset, DEFAULT_RECIPE } from '../engine/steer/relation-dataset.ts';
import { parseStepList } from '../engine/steer/attention.ts';
import { defineNode } from './api.ts';
import { sessions } from './model-load.ts';
import { param } from './params.ts';

export default defineNode({
  type: 'dataset.relations',
  version: 1,
  title: 'Relation Dataset (dual inversion)',
  category: 'Dataset',
  description:
    "Builds (or resumes) Learn-to-Steer's dual-inversion dataset: for each image with a known relation, a prompt stating it and one stating a wrong one are each inverted and re-denoised while the two objects' attention maps are recorded; every sample is labelled with the TRUE relation. Shards are written atomically; a rerun with the same settings continues where it stopped. Same as 'steer dataset relations'.",
  inputs: [{ id: 'model', label: 'Model', type: 'MODEL' }],
  outputs: [{ id: 'dataset', label: 'Dataset', type: 'DATASET' }],
  params: {
    out: param.path({ label: 'Dataset folder', default: '.train/relations' }),
    count: param.int({ label: 'Images', default: 1200, min: 1, max: 1000000 }),
    source: param.enum({ label: 'Source', choices: ['rendered', 'generated', 'both'], default: 'rendered' }),
    seed: param.seed({ label: 'Seed', default: 0 }),
    steps: param.int({ label: 'Steps', default: DEFAULT_RECIPE.steps, min: 1, max: 1000 }),
    fixed_point: param.int({ label: 'Fixed-point iterations', default: DEFAULT_RECIPE.fixedPoint, min: 0, max: 20 }),
    record: param.string({ label: 'Recorded steps', default: DEFAULT_RECIPE.record.join(',') }),
    psnr_min: param.float({ label: 'PSNR filter (dB)', default: DEFAULT_RECIPE.psnrMin, min: 0, max: 100, step: 0.5 }),
  },
  async execute(ctx, { model }, p) {
    const out = resolve(ctx.baseDir, p.out);
    const manifest = await buildRelationDataset(model, sessions, {
      out,
      recipe: { ...DEFAULT_RECIPE, count: p.count, source: p.source, seed: p.seed, steps: p.steps, fixedPoint: p.fixed_point, record: parseStepList(p.record, p.steps), psnrMin: p.psnr_min },
      signal: ctx.signal,
      onProgress: (q) => ctx.progress(q.images, q.total, `${q.samples} samples, ${q.dropped} dropped`),
      log: (line) => ctx.log.info(line),
    });
    const samples = manifest.shards.reduce((a, s) => a + s.samples, 0);
    return { dataset: { dir: out, samples } };
  },
});
