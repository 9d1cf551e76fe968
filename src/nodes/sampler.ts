import { sampleLatent } from '../engine/pipeline/sample.ts';
import { defineNode } from './api.ts';
import { param } from './params.ts';
import type { Pipeline } from '../engine/pipeline/load.ts';
import type { LatentValue } from './values.ts';

/** Params every denoiser node shares (Sampler, Latent Optimize). */
export const SAMPLING_PARAMS = {
  steps: param.int({ label: 'Steps', default: 50, min: 1, max: 1000 }),
  guidance: param.float({ label: 'Guidance (CFG)', default: 7.5, min: 1, max: 30, step: 0.5 }),
  scheduler: param.enum({ label: 'Scheduler', choices: ['ddim', 'euler'], default: 'ddim' }),
} as const;

/** A denoiser takes one latent of the model's shape; otherwise an error saying what to set. */
export function checkNoiseLatent(model: Pipeline, latent: LatentValue, who: string): void {
  const [, c, h, w] = latent.shape;
  const [mc, mh, mw] = model.latentShape;
  if (latent.shape[0] !== 1 || c !== mc || h !== mh || w !== mw) {
    const batch = latent.shape[0] !== 1 ? `batch ${latent.shape[0]}: ${who} denoises one latent at a time, so set Noise Latent to batch 1` : '';
    const size = c !== mc || h !== mh || w !== mw ? `set Noise Latent to channels ${mc}, height ${mh}, width ${mw}` : '';
    throw new Error(`the noise latent is ${latent.shape.join('x')} but this model denoises 1x${mc}x${mh}x${mw} latents: ${[batch, size].filter(Boolean).join('; and ')}`);
  }
}

export default defineNode({
  type: 'diffusion.sample',
  version: 1,
  title: 'Sampler',
  category: 'Sampling',
  description:
    'Denoises the noise latent with the model\'s UNet: DDIM (eta 0 = deterministic) or Euler, with classifier-free guidance, using the model\'s scheduler_config.json as diffusers does.',
  inputs: [
    { id: 'model', label: 'Model', type: 'MODEL' },
    { id: 'conditioning', label: 'Conditioning', type: 'CONDITIONING' },
    { id: 'latent', label: 'Noise', type: 'LATENT' },
  ],
  outputs: [{ id: 'latent', label: 'Latent', type: 'LATENT' }],
  params: {
    ...SAMPLING_PARAMS,
    eta: param.float({ label: 'DDIM eta', default: 0, min: 0, max: 1, step: 0.1 }),
  },
  async execute(ctx, { model, conditioning, latent }, p) {
    checkNoiseLatent(model, latent, 'the Sampler');
    const data = await sampleLatent(model, {
      cond: conditioning.cond,
      uncond: conditioning.uncond,
      noise: latent.data,
      steps: p.steps,
      guidance: p.guidance,
      scheduler: p.scheduler,
      eta: p.eta,
      ...(latent.seed !== undefined ? { seed: latent.seed } : {}),
      signal: ctx.signal,
      onStep: (i, n) => ctx.progress(i, n, `step ${i}/${n}`),
    });
    return { latent: { shape: latent.shape, data, ...(latent.seed !== undefined ? { seed: latent.seed } : {}), prompt: conditioning.prompt.text, sampling: { method: 'none', steps: p.steps, guidance: p.guidance, scheduler: p.scheduler } } };
  },
});
