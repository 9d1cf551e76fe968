/**
 * Prompt Parse: prompt text -> objects and spatial relation triplets (PROMPT).
 * "a photo of a dog to the right of a teddy bear" gives the objects "dog" and "teddy bear"
 * and the relation (dog, right, teddy bear). Parsing lives in src/engine/prompt/parse.ts.
 */
import { parsePrompt } from '../engine/prompt/parse.ts';
import { defineNode } from './api.ts';
import { param } from './params.ts';

export default defineNode({
  type: 'prompt.parse',
  version: 1,
  title: 'Prompt Parse',
  category: 'Prompt',
  description:
    'Finds the objects in a prompt ("red circle", "teddy bear") and the spatial relations between them ' +
    '(left, right, above, below, near) with their character spans. Phrasings such as "left of", ' +
    '"on the left of", "to the right of", "on top of", "under", "next to" are understood; what is not ' +
    'understood is reported as a warning, never guessed.',
  inputs: [{ id: 'text', label: 'Text', type: 'STRING', optional: true, description: 'Overrides the text param when connected' }],
  outputs: [{ id: 'prompt', label: 'Prompt', type: 'PROMPT' }],
  params: {
    text: param.string({ label: 'Prompt', multiline: true, default: 'a photo of a dog to the right of a teddy bear' }),
  },
  execute(ctx, inputs, params) {
    const prompt = parsePrompt(inputs.text ?? params.text);
    ctx.preview({
      kind: 'table',
      label: 'Relations',
      columns: ['subject', 'relation', 'object', 'directional'],
      rows: prompt.relations.map((r) => [r.subject, r.relation, r.object, r.directional]),
    });
    for (const warning of prompt.warnings) ctx.log.warn(warning);
    return { prompt };
  },
});
