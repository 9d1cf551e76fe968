import { defineNode } from './api.ts';
import { param } from './params.ts';

export default defineNode({
  type: 'loss.centroid',
  version: 1,
  title: 'Centroid Loss (handcrafted)',
  category: 'Steering',
  description:
    "A handcrafted spatial loss for one relation of the prompt. With c_s, c_o the centroids (in [0, 1], y down) of the subject's and the object's mean attention maps and u the wanted direction from object to subject (left = (-1, 0), above = (0, -1)): loss = softplus(20 * (margin - u . (c_s - c_o))) / 20, near 0 once the subject is `margin` past the object.",
  inputs: [],
  outputs: [{ id: 'loss', label: 'Loss', type: 'LOSS' }],
  params: {
    relation: param.int({ label: 'Relation # (Prompt Parse order)', default: 0, min: 0, max: 15 }),
    margin: param.float({ label: 'Margin (fraction of the image)', default: 0.1, min: 0, max: 1, step: 0.01 }),
    weight: param.float({ label: 'Weight', default: 1, min: 0, max: 100, step: 0.1 }),
  },
  execute(_ctx, _inputs, p) {
    return { loss: { kind: 'centroid' as const, relation: p.relation, weight: p.weight, margin: p.margin } };
  },
});
