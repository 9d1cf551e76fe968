import { decodeLatent } from '../engine/pipeline/decode.ts';
import { defineNode } from './api.ts';
import { imagePreview } from './previews.ts';

export default defineNode({
  type: 'latent.decode',
  version: 1,
  title: 'Decode',
  category: 'Latent',
  description: 'Turns a latent into an image with the model\'s VAE decoder (latents are divided by the VAE scaling factor first).',
  inputs: [
    { id: 'model', label: 'Model', type: 'MODEL' },
    { id: 'latent', label: 'Latent', type: 'LATENT' },
  ],
  outputs: [{ id: 'image', label: 'Image', type: 'IMAGE' }],
  params: {},
  async execute(ctx, { model, latent }) {
    const rgb = await decodeLatent(model, latent.data);
    const image = { ...rgb, meta: { ...(latent.seed !== undefined ? { seed: latent.seed } : {}), ...(latent.prompt !== undefined ? { prompt: latent.prompt } : {}), ...(latent.sampling ? { sampling: latent.sampling } : {}) } };
    ctx.preview(imagePreview(image));
    return { image };
  },
});
