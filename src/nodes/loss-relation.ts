import { defineNode } from './api.ts';
import { param } from './params.ts';
import { RELATION_PARAMS, relationRef } from './loss-params.ts';

export default defineNode({
  type: 'loss.relation',
  version: 2,
  title: 'Relation Loss (learned)',
  category: 'Steering',
  description:
    "Learn-to-Steer's learned loss: the cross-entropy between the relation classifier's reading of two objects' attention maps and the relation the prompt states. By default it steers every left/right/above/below relation of the prompt (combined as Latent Optimize's 'Several relations' says); set Relation # to steer one, or type the relation by hand ('red circle, left, blue square'). Use one node per relation to give each relation its own classifier.",
  inputs: [{ id: 'classifier', label: 'Classifier', type: 'CLASSIFIER' }],
  outputs: [{ id: 'loss', label: 'Loss', type: 'LOSS' }],
  params: {
    ...RELATION_PARAMS,
    weight: param.float({ label: 'Weight', default: 1, min: 0, max: 100, step: 0.1 }),
  },
  // v1 steered the relation # given (default 0); v2 adds "every relation" (-1) and typed triplets.
  migrate: (from, p) => (from < 2 ? { ...p, triplet: '' } : p),
  execute(_ctx, { classifier }, p) {
    return { loss: { kind: 'learned' as const, relation: relationRef(p), weight: p.weight, classifier } };
  },
});
