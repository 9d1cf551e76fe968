import { randn } from '../engine/diffusion/rng.ts';
import { defineNode } from './api.ts';
import { param } from './params.ts';

/** Seeds drawn for "randomize" stay below 2^32 so they are easy to type back in. */
const RANDOM_SEED_LIMIT = 2 ** 32;

export default defineNode({
  type: 'latent.noise',
  version: 1,
  title: 'Noise Latent',
  category: 'Latent',
  description:
    'Gaussian noise for the first denoising step, from the project\'s documented Philox generator: the same seed gives the same latent on every machine. With "randomize", a fresh seed is drawn each run and reported with the result (the seed used, not the next one).',
  inputs: [],
  outputs: [{ id: 'latent', label: 'Latent', type: 'LATENT' }],
  params: {
    seed: param.seed({ label: 'Seed', default: 0 }),
    randomize: param.boolean({ label: 'Randomize seed each run', default: false }),
    batch: param.int({ label: 'Batch', default: 1, min: 1, max: 64 }),
    channels: param.int({ label: 'Channels', default: 4, min: 1, max: 64 }),
    height: param.int({ label: 'Height (latent px)', default: 16, min: 1, max: 512 }),
    width: param.int({ label: 'Width (latent px)', default: 16, min: 1, max: 512 }),
  },
  deterministic: (p) => !p.randomize,
  execute(ctx, _inputs, p) {
    const seed = p.randomize ? Math.floor(Math.random() * RANDOM_SEED_LIMIT) : p.seed;
    const shape: [number, number, number, number] = [p.batch, p.channels, p.height, p.width];
    if (p.randomize) ctx.log.info(`seed ${seed}`);
    return { latent: { shape, data: randn(shape, seed), seed } };
  },
});
