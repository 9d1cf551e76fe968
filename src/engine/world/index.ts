/**
 * Shape World: a synthetic 64x64 world of coloured shapes with exact ground
 * truth — seeded PRNG, renderer, scene sampler with held-out combinations,
 * web-style captioner, dataset generator and a colour/shape detector.
 */
export * from './types.ts';
export * from './rng.ts';
export * from './render.ts';
export * from './heldout.ts';
export * from './scene.ts';
export * from './captions.ts';
export * from './dataset.ts';
export * from './detect.ts';
