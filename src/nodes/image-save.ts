import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { encodePng } from '../engine/image/png.ts';
import { writeFileAtomic } from '../engine/util/fs.ts';
import { defineNode } from './api.ts';
import { param } from './params.ts';
import { imagePreview } from './previews.ts';

/** PNG text keywords Save Image writes; Load/drop-on-canvas read the graph back from them. */
export const PNG_KEYS = { graph: 'steer_graph', seed: 'steer_seed', prompt: 'steer_prompt', sampling: 'steer_sampling' } as const;

export default defineNode({
  type: 'image.save',
  version: 1,
  title: 'Save Image',
  category: 'Image',
  description:
    'Writes the image as PNG into the run\'s output folder, as PREFIX_00001.png, PREFIX_00002.png, ... The graph that made it is embedded (tEXt/iTXt chunk "steer_graph"), with the seed actually used, the prompt and how it was sampled ("steer_sampling": the steering method and every setting), so dropping the PNG on the canvas gives the graph back.',
  inputs: [{ id: 'image', label: 'Image', type: 'IMAGE' }],
  outputs: [{ id: 'file', label: 'File', type: 'PATH' }],
  params: {
    prefix: param.string({ label: 'File name prefix', default: 'steer', minLength: 1, maxLength: 100 }),
    embed_graph: param.boolean({ label: 'Embed graph', default: true }),
    filename: param.string({ label: 'Exact file name', default: '', description: 'When set (e.g. "cat.png"), writes exactly this file, replacing it; otherwise PREFIX_NNNNN.png.' }),
  },
  async execute(ctx, { image }, { prefix, embed_graph, filename }) {
    if (!/^[\w.-]+$/.test(prefix)) throw new Error(`file name prefix "${prefix}" may only use letters, digits, "_", "-" and "."`);
    if (filename && !/^[\w.-]+\.png$/i.test(filename)) throw new Error(`file name "${filename}" must be a plain name ending in .png (letters, digits, "_", "-", ".")`);
    const dir = await ctx.outputDir();
    const text: Record<string, string> = {};
    if (embed_graph) text[PNG_KEYS.graph] = JSON.stringify(ctx.graph);
    if (image.meta?.seed !== undefined) text[PNG_KEYS.seed] = String(image.meta.seed);
    if (image.meta?.prompt !== undefined) text[PNG_KEYS.prompt] = image.meta.prompt;
    if (image.meta?.sampling !== undefined) text[PNG_KEYS.sampling] = JSON.stringify(image.meta.sampling);
    const bytes = encodePng(image, { text, compressAbove: 4096 });
    const file = join(dir, filename || `${prefix}_${String(await nextIndex(dir, prefix)).padStart(5, '0')}.png`);
    await writeFileAtomic(file, bytes);
    ctx.preview(imagePreview(image, file));
    ctx.log.info(`wrote ${file}`);
    return { file };
  },
  // Writes a new numbered file every run; never served from the cache.
  deterministic: false,
});

async function nextIndex(dir: string, prefix: string): Promise<number> {
  const pattern = new RegExp(`^${prefix.replace(/[.]/g, '\\.')}_(\\d+)\\.png$`);
  let max = 0;
  for (const f of await readdir(dir)) {
    const m = pattern.exec(f);
    if (m) max = Math.max(max, Number(m[1]));
  }
  return max + 1;
}
