import { defineNode } from './api.ts';
import { param } from './params.ts';

export default defineNode({
  type: 'loss.presence',
  version: 1,
  title: 'Presence Loss (Attend-and-Excite)',
  category: 'Steering',
  description:
    "Pushes every object of the prompt to be drawn (Attend-and-Excite): for each object, its attention divided by all text tokens' attention at each pixel, smoothed (3x3 Gaussian), and loss = 1 - the peak, averaged over the objects. Add it to a relation loss in Latent Optimize: it runs at every iteration, and the early stop looks at the relation loss only.",
  inputs: [],
  outputs: [{ id: 'loss', label: 'Loss', type: 'LOSS' }],
  params: {
    weight: param.float({ label: 'Weight', default: 1, min: 0, max: 100, step: 0.1 }),
  },
  execute(_ctx, _inputs, p) {
    return { loss: { kind: 'presence' as const, weight: p.weight } };
  },
});
