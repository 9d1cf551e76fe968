import { defineNode } from './api.ts';
import { param } from './params.ts';

export default defineNode({
  type: 'loss.binding',
  version: 1,
  title: 'Binding Loss (SynGen-style)',
  category: 'Steering',
  description:
    "Keeps each object's colour (and other attribute words) on that object: with P the attention maps as distributions over the image and BC(P, Q) = sum sqrt(P Q) their overlap (1 = the same map), loss = (1 - BC(attribute, its noun)) + BC(attribute, the other noun), averaged over the ordered pairs of objects. Against the model's habit of swapping the colours of two shapes. Runs at every iteration beside the relation loss.",
  inputs: [],
  outputs: [{ id: 'loss', label: 'Loss', type: 'LOSS' }],
  params: {
    weight: param.float({ label: 'Weight', default: 1, min: 0, max: 100, step: 0.1 }),
  },
  execute(_ctx, _inputs, p) {
    return { loss: { kind: 'binding' as const, weight: p.weight } };
  },
});
