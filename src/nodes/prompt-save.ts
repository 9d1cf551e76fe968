import { join } from 'node:path';
import { promptToJson } from '../shared/prompt.ts';
import { writeFileAtomic } from '../engine/util/fs.ts';
import { defineNode } from './api.ts';
import { param } from './params.ts';

/** Writes a parsed prompt (objects with spans, relation triplets, warnings) as JSON. */
export default defineNode({
  type: 'prompt.save',
  version: 1,
  title: 'Save Parsed Prompt',
  category: 'Prompt',
  description: 'Writes the objects and relation triplets of a parsed prompt to a JSON file in the run\'s output folder.',
  inputs: [{ id: 'prompt', label: 'Prompt', type: 'PROMPT' }],
  outputs: [{ id: 'file', label: 'File', type: 'PATH' }],
  params: {
    filename: param.string({ label: 'File name', default: 'prompt.json', minLength: 1, description: 'Relative to the run\'s output folder.' }),
  },
  async execute(ctx, { prompt }, { filename }) {
    if (/(^|[\\/])\.\.([\\/]|$)/.test(filename)) throw new Error(`file name "${filename}" may not leave the output folder`);
    const file = join(await ctx.outputDir(), filename);
    const doc = { text: prompt.text, ...promptToJson(prompt) };
    await writeFileAtomic(file, `${JSON.stringify(doc, null, 2)}\n`);
    ctx.log.info(`wrote ${file}`);
    return { file };
  },
});
