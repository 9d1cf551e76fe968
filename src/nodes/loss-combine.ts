import type { LossSpec } from '../engine/steer/losses.ts';
import { defineNode } from './api.ts';
import { param } from './params.ts';

export default defineNode({
  type: 'loss.combine',
  version: 1,
  title: 'Combine Losses',
  category: 'Steering',
  description:
    "One loss from several: 'sum' adds them (each with its own node's weight) at every iteration; 'alternate' uses one per iteration in turn (iteration k uses loss k mod K, as the authors alternate relations). The result has this node's weight.",
  inputs: [
    { id: 'loss', label: 'Loss', type: 'LOSS' },
    { id: 'loss2', label: 'Loss 2', type: 'LOSS', optional: true },
    { id: 'loss3', label: 'Loss 3', type: 'LOSS', optional: true },
    { id: 'loss4', label: 'Loss 4', type: 'LOSS', optional: true },
  ],
  outputs: [{ id: 'loss', label: 'Loss', type: 'LOSS' }],
  params: {
    mode: param.enum({ label: 'Mode', choices: ['sum', 'alternate'], default: 'sum' }),
    weight: param.float({ label: 'Weight', default: 1, min: 0, max: 100, step: 0.1 }),
  },
  execute(_ctx, { loss, loss2, loss3, loss4 }, p) {
    const parts = [loss, loss2, loss3, loss4].filter((l): l is LossSpec => l !== undefined);
    return { loss: { kind: 'combine' as const, mode: p.mode, weight: p.weight, parts } };
  },
});
