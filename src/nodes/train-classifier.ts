import { resolve } from 'node:path';
import { parseStepList } from '../engine/steer/attention.ts';
import { loadClassifier } from '../engine/steer/classifier.ts';
import { DEFAULT_CLASSIFIER_RECIPE, parseAugment, trainClassifier } from '../engine/steer/classifier-train.ts';
import { AUGMENT_NAMES, augmentText } from '../engine/steer/map-transforms.ts';
import { defineNode } from './api.ts';
import { sessions } from './model-load.ts';
import { param } from './params.ts';

export default defineNode({
  type: 'train.classifier',
  version: 3,
  // v1 trained every recorded step; v2 had no Augment param (it always swapped and mirrored) and no Symmetry
  migrate: (from, p) => ({ ...p, ...(from < 2 ? { buckets: '', train_steps: 'buckets' } : {}), ...(from < 3 ? { augment: 'swap,mirror', symmetry: 'none' } : {}) }),
  title: 'Train Relation Classifier',
  category: 'Training',
  description:
    "Trains a relation classifier on a relation dataset (the authors' recipe: AdamW lr 1e-4, weight decay 0.05, batch 64, reduce-on-plateau, early stopping, best-validation weights) and exports model.onnx + classifier.json into the output folder. Resumes from its checkpoints when 'Resume' is on. Same as 'steer train classifier'.",
  inputs: [{ id: 'dataset', label: 'Dataset', type: 'DATASET' }],
  outputs: [{ id: 'classifier', label: 'Classifier', type: 'CLASSIFIER' }],
  params: {
    out: param.path({ label: 'Output folder', default: '.train/classifier' }),
    epochs: param.int({ label: 'Max epochs', default: DEFAULT_CLASSIFIER_RECIPE.maxEpochs, min: 1, max: 10000 }),
    patience: param.int({ label: 'Early-stopping patience', default: DEFAULT_CLASSIFIER_RECIPE.earlyStopPatience, min: 1, max: 1000 }),
    lr: param.float({ label: 'Learning rate', default: DEFAULT_CLASSIFIER_RECIPE.lr, min: 1e-7, max: 0.1 }),
    seed: param.seed({ label: 'Seed', default: 0 }),
    buckets: param.string({ label: 'Step buckets', default: '', description: "The classifier's trained steps, recorded steps of the dataset, e.g. '5,10,15,20,25,49'; empty = every recorded step." }),
    train_steps: param.enum({ label: 'Training steps', choices: ['buckets', 'all'], default: 'buckets', description: "buckets: only samples at the bucket steps (the authors' recipe); all: every recorded step trains the bucket it maps to (as steering reads it; measured worse)." }),
    augment: param.string({ label: 'Augment', default: augmentText(DEFAULT_CLASSIFIER_RECIPE.augment), description: `Training-sample transforms, each applied with probability 1/2, all exact for the relation: a comma list of ${AUGMENT_NAMES.join(', ')} (subject/object swap, left-right mirror, top-bottom flip, transpose), or none.` }),
    symmetry: param.string({ label: 'Symmetry', default: augmentText(DEFAULT_CLASSIFIER_RECIPE.symmetry), description: 'Test-time symmetry built into the exported model: its prediction is averaged over every combination of these transforms (same names as Augment), or none.' }),
    positive_only: param.boolean({ label: 'Positive prompts only (ablation)', default: false }),
    resume: param.boolean({ label: 'Resume', default: true }),
  },
  async execute(ctx, { dataset }, p) {
    const out = resolve(ctx.baseDir, p.out);
    const res = await trainClassifier({
      data: dataset.dir,
      out,
      resume: p.resume,
      recipe: { maxEpochs: p.epochs, earlyStopPatience: p.patience, lr: p.lr, seed: p.seed, positiveOnly: p.positive_only, augment: parseAugment(p.augment, 'Augment'), symmetry: parseAugment(p.symmetry, 'Symmetry'), buckets: p.buckets.trim() === '' ? null : parseStepList(p.buckets, Number.MAX_SAFE_INTEGER, 'Step buckets'), trainSteps: p.train_steps },
      signal: ctx.signal,
      onProgress: (q) => ctx.progress(q.epoch - 1 + q.step / q.stepsPerEpoch, q.maxEpochs, `epoch ${q.epoch}, loss ${q.trainLoss.toFixed(3)}${q.val ? `, val ${(q.val.accuracy * 100).toFixed(1)}%` : ''}`),
      log: (line) => ctx.log.info(line),
    });
    const m = res.info.metrics;
    ctx.preview({
      kind: 'table',
      label: 'Classifier accuracy',
      columns: ['split', 'accuracy', 'samples'],
      rows: Object.entries(m).map(([k, v]) => [k, Math.round(v.accuracy * 1000) / 10, v.count]),
    });
    return { classifier: await loadClassifier(res.dir, sessions) };
  },
});
