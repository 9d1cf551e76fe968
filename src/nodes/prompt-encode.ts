import { encodePrompt } from '../engine/pipeline/encode.ts';
import { defineNode } from './api.ts';
import { param } from './params.ts';

export default defineNode({
  type: 'prompt.encode',
  version: 1,
  title: 'Encode Prompt',
  category: 'Conditioning',
  description:
    'Runs the text encoder on the prompt (and on the negative prompt, for classifier-free guidance) and maps each parsed object to its token indices, multi-token words included: what steering reads attention by.',
  inputs: [
    { id: 'model', label: 'Model', type: 'MODEL' },
    { id: 'prompt', label: 'Prompt', type: 'PROMPT' },
  ],
  outputs: [{ id: 'conditioning', label: 'Conditioning', type: 'CONDITIONING' }],
  params: { negative: param.string({ label: 'Negative prompt', default: '' }) },
  async execute(ctx, { model, prompt }, { negative }) {
    const conditioning = await encodePrompt(model, prompt, negative);
    for (const w of conditioning.warnings) ctx.log.warn(w);
    ctx.preview({
      kind: 'table',
      label: 'Object tokens',
      columns: ['object', 'tokens', 'head noun token'],
      rows: conditioning.objects.map((o) => [
        o.object,
        o.tokenIndices.map((i) => `${i}:${conditioning.tokens[i]}`).join(' '),
        o.headTokenIndices.map((i) => `${i}:${conditioning.tokens[i]}`).join(' '),
      ]),
    });
    return { conditioning };
  },
});
