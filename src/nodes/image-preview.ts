import { defineNode } from './api.ts';
import { param } from './params.ts';
import { imagePreview } from './previews.ts';

export default defineNode({
  type: 'image.preview',
  version: 1,
  title: 'Preview Image',
  category: 'Image',
  description: 'Shows an image in the editor without saving it; passes it through unchanged.',
  inputs: [{ id: 'image', label: 'Image', type: 'IMAGE' }],
  outputs: [{ id: 'image', label: 'Image', type: 'IMAGE' }],
  params: { label: param.string({ label: 'Label', default: '' }) },
  execute(ctx, { image }, { label }) {
    ctx.preview(imagePreview(image, label || undefined));
    return { image };
  },
});
