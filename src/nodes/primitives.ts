/** Number constants, for wiring one value into several nodes' params (widget-to-input). */
import { defineNode } from './api.ts';
import { param } from './params.ts';

export const primitiveInt = defineNode({
  type: 'primitive.int',
  version: 1,
  title: 'Integer',
  category: 'Primitive',
  description: 'A whole number that several nodes can share: connect it to a param converted to an input (e.g. the steps of two samplers).',
  inputs: [],
  outputs: [{ id: 'value', label: 'Value', type: 'INT' }],
  params: { value: param.int({ label: 'Value', default: 0, min: -(2 ** 31), max: 2 ** 31 - 1 }) },
  execute(_ctx, _inputs, p) {
    return { value: p.value };
  },
});

export const primitiveFloat = defineNode({
  type: 'primitive.float',
  version: 1,
  title: 'Number',
  category: 'Primitive',
  description: 'A number that several nodes can share: connect it to a param converted to an input (e.g. one guidance scale for several branches).',
  inputs: [],
  outputs: [{ id: 'value', label: 'Value', type: 'FLOAT' }],
  params: { value: param.float({ label: 'Value', default: 0, min: -1e9, max: 1e9, step: 0.01 }) },
  execute(_ctx, _inputs, p) {
    return { value: p.value };
  },
});

export const primitiveSeed = defineNode({
  type: 'primitive.seed',
  version: 1,
  title: 'Seed',
  category: 'Primitive',
  description: 'One seed for several Noise nodes (connect it to their Seed param converted to an input), so branches compared side by side start from the same noise.',
  inputs: [],
  outputs: [{ id: 'seed', label: 'Seed', type: 'SEED' }],
  params: { seed: param.seed({ label: 'Seed', default: 0 }) },
  execute(_ctx, _inputs, p) {
    return { seed: p.seed };
  },
});
