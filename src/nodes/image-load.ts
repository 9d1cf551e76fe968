import { readPngFile } from '../engine/image/png.ts';
import { defineNode } from './api.ts';
import { PNG_KEYS } from './image-save.ts';
import { resolveModelPath } from './model-load.ts';
import { param } from './params.ts';
import { imagePreview } from './previews.ts';

export default defineNode({
  type: 'image.load',
  version: 1,
  title: 'Load Image',
  category: 'Image',
  description:
    "Reads a PNG file. When the PNG was made by Steer Studio, the prompt and seed it carries travel with the image. Relative paths: the graph's folder, then the working folder, then the Steer Studio folder.",
  inputs: [],
  outputs: [
    { id: 'image', label: 'Image', type: 'IMAGE' },
    { id: 'prompt', label: 'Embedded prompt', type: 'STRING' },
  ],
  params: {
    path: param.path({ label: 'PNG file', default: 'resources/examples/red-circle-left-of-blue-square-seed1.png' }),
  },
  async execute(ctx, _inputs, p) {
    if (p.path === '') throw new Error('choose a PNG file');
    const file = resolveModelPath(p.path, ctx.baseDir);
    const { image: rgb, text } = await readPngFile(file);
    const seed = text[PNG_KEYS.seed] !== undefined ? Number(text[PNG_KEYS.seed]) : undefined;
    const prompt = text[PNG_KEYS.prompt] ?? '';
    const image = { ...rgb, meta: { ...(seed !== undefined && Number.isFinite(seed) ? { seed } : {}), ...(prompt ? { prompt } : {}) } };
    ctx.preview(imagePreview(image, file));
    return { image, prompt };
  },
});
