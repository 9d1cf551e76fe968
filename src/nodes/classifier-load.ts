import { attentionUNet } from '../engine/steer/attention.ts';
import { loadClassifier, sha256File } from '../engine/steer/classifier.ts';
import { defineNode } from './api.ts';
import { resolveModelPath, sessions } from './model-load.ts';
import { param } from './params.ts';

/** The classifier installed with Steer Studio for the bundled model. */
export const DEFAULT_CLASSIFIER = 'resources/classifiers/shape-world-relations';

export default defineNode({
  type: 'classifier.load',
  version: 1,
  title: 'Load Relation Classifier',
  category: 'Steering',
  description:
    "Opens a relation classifier folder (model.onnx + classifier.json). With a Model connected, refuses a classifier trained on another UNet or on other attention maps, saying what differs. Use one per relation to swap classifiers per relation.",
  inputs: [{ id: 'model', label: 'Model (to check the fit)', type: 'MODEL', optional: true }],
  outputs: [{ id: 'classifier', label: 'Classifier', type: 'CLASSIFIER' }],
  params: {
    path: param.path({ label: 'Classifier folder', default: DEFAULT_CLASSIFIER, description: "Relative paths: the graph's folder, then the working folder, then the Steer Studio folder." }),
  },
  async execute(ctx, { model }, p) {
    const dir = resolveModelPath(p.path, ctx.baseDir);
    let against;
    if (model) {
      const unet = await attentionUNet(model, sessions);
      against = { unetSha256: sha256File(model.folder.unet.model), spec: unet.spec, model: model.folder.unet.model };
    }
    const classifier = await loadClassifier(dir, sessions, against);
    const test = classifier.info.metrics.test;
    ctx.log.info(`${classifier.info.name}: ${classifier.info.classes.join(', ')}; test accuracy ${test ? (test.accuracy * 100).toFixed(1) + '%' : 'not measured'}`);
    return { classifier };
  },
});
