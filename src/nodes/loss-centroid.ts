import { defineNode } from './api.ts';
import { RELATION_PARAMS, relationRef } from './loss-params.ts';
import { param } from './params.ts';

export default defineNode({
  type: 'loss.centroid',
  version: 2,
  title: 'Centroid Loss (handcrafted)',
  category: 'Steering',
  description:
    "A handcrafted spatial loss. With c_s, c_o the centroids (in [0, 1], y down) of the subject's and the object's mean attention maps and u the wanted direction from object to subject (left = (-1, 0), above = (0, -1)): loss = softplus(20 * (margin - u . (c_s - c_o))) / 20, near 0 once the subject is `margin` past the object. Steers every relation of the prompt by default, one (Relation #), or one typed by hand.",
  inputs: [],
  outputs: [{ id: 'loss', label: 'Loss', type: 'LOSS' }],
  params: {
    ...RELATION_PARAMS,
    margin: param.float({ label: 'Margin (fraction of the image)', default: 0.1, min: 0, max: 1, step: 0.01 }),
    weight: param.float({ label: 'Weight', default: 1, min: 0, max: 100, step: 0.1 }),
  },
  migrate: (from, p) => (from < 2 ? { ...p, triplet: '' } : p),
  execute(_ctx, _inputs, p) {
    return { loss: { kind: 'centroid' as const, relation: relationRef(p), weight: p.weight, margin: p.margin } };
  },
});
