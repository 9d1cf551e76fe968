import { encodeImages, vaeEncoder } from '../engine/pipeline/invert.ts';
import { defineNode } from './api.ts';
import { sessions } from './model-load.ts';

export default defineNode({
  type: 'latent.encode',
  version: 1,
  title: 'Encode Image',
  category: 'Latent',
  description:
    "Turns an image into a latent with the model's VAE encoder (the posterior mean, multiplied by the VAE scaling factor as diffusers does). The image must have the model's size (64x64 for Shape World).",
  inputs: [
    { id: 'model', label: 'Model', type: 'MODEL' },
    { id: 'image', label: 'Image', type: 'IMAGE' },
  ],
  outputs: [{ id: 'latent', label: 'Latent', type: 'LATENT' }],
  params: {},
  async execute(_ctx, { model, image }) {
    const [z] = await encodeImages(model, await vaeEncoder(model, sessions), [image]);
    const [c, h, w] = model.latentShape;
    return { latent: { shape: [1, c, h, w] as [number, number, number, number], data: z!, ...(image.meta?.prompt ? { prompt: image.meta.prompt } : {}) } };
  },
});
