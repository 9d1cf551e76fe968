import { defineNode } from './api.ts';
import { param } from './params.ts';

export default defineNode({
  type: 'loss.relation',
  version: 1,
  title: 'Relation Loss (learned)',
  category: 'Steering',
  description:
    "Learn-to-Steer's learned loss for one relation of the prompt: the cross-entropy between the relation classifier's reading of the two objects' attention maps and the relation the prompt states. Connect one per relation, each with the classifier you choose, into Latent Optimize.",
  inputs: [{ id: 'classifier', label: 'Classifier', type: 'CLASSIFIER' }],
  outputs: [{ id: 'loss', label: 'Loss', type: 'LOSS' }],
  params: {
    relation: param.int({ label: 'Relation # (Prompt Parse order)', default: 0, min: 0, max: 15 }),
    weight: param.float({ label: 'Weight', default: 1, min: 0, max: 100, step: 0.1 }),
  },
  execute(_ctx, { classifier }, p) {
    return { loss: { kind: 'learned' as const, relation: p.relation, weight: p.weight, classifier } };
  },
});
