import { defineNode } from './api.ts';
import { param } from './params.ts';

/** A text constant, for wiring one string into several nodes. */
export default defineNode({
  type: 'primitive.text',
  version: 1,
  title: 'Text',
  category: 'Primitive',
  description: 'A piece of text (a prompt, a file name) that several nodes can share.',
  inputs: [],
  outputs: [{ id: 'text', label: 'Text', type: 'STRING' }],
  params: { text: param.string({ label: 'Text', multiline: true, default: '' }) },
  execute(_ctx, _inputs, params) {
    return { text: params.text };
  },
});
