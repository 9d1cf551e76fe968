import { attentionUNet } from '../engine/steer/attention.ts';
import { classifyImage } from '../engine/steer/classify.ts';
import { defineNode } from './api.ts';
import { sessions } from './model-load.ts';
import { param } from './params.ts';

export default defineNode({
  type: 'relation.classify',
  version: 1,
  title: 'Classify Relations',
  category: 'Steering',
  description:
    "For each spatial relation the prompt states, predicts the relation the image actually shows with a relation classifier: the image is inverted under the prompt, its attention maps recorded at the classifier's steps, and the class probabilities averaged over them.",
  inputs: [
    { id: 'model', label: 'Model', type: 'MODEL' },
    { id: 'conditioning', label: 'Conditioning', type: 'CONDITIONING' },
    { id: 'image', label: 'Image', type: 'IMAGE' },
    { id: 'classifier', label: 'Classifier', type: 'CLASSIFIER' },
  ],
  outputs: [{ id: 'metrics', label: 'Relations', type: 'METRICS' }],
  params: {
    fixed_point: param.int({ label: 'Fixed-point iterations', default: 1, min: 0, max: 20 }),
  },
  async execute(ctx, { model, conditioning, image, classifier }, p) {
    const unet = await attentionUNet(model, sessions);
    const n = 2 * classifier.info.totalSteps;
    const res = await classifyImage(model, sessions, unet, classifier, image, conditioning.prompt, { fixedPoint: p.fixed_point, signal: ctx.signal, onStep: (i) => ctx.progress(i, n) });
    for (const w of res.warnings) ctx.log.warn(w);
    ctx.preview({
      kind: 'table',
      label: `Relations (inversion PSNR ${res.psnr.toFixed(1)} dB)`,
      columns: ['subject', 'stated', 'object', 'predicted', ...classifier.info.classes],
      rows: res.relations.map((r) => [r.subject, r.stated, r.object, r.predicted, ...classifier.info.classes.map((c) => r.probs[c] ?? 0)]),
    });
    return { metrics: { kind: 'classified' as const, relations: res.relations, psnr: res.psnr } };
  },
});
