import { decodeLatent } from '../engine/pipeline/decode.ts';
import { invertLatents, psnr, redenoise } from '../engine/pipeline/invert.ts';
import { defineNode } from './api.ts';
import { param } from './params.ts';
import { imagePreview } from './previews.ts';

export default defineNode({
  type: 'latent.invert',
  version: 1,
  title: 'Invert (DDIM)',
  category: 'Latent',
  description:
    'DDIM inversion of a clean latent to the noise z_T that denoises back to it under the prompt (guidance 1.0, conditional pass only). Each step solves for z_t with fixed-point iterations (Learn-to-Steer uses 5; 1 is enough for Shape World, see the README). With "Measure reconstruction" it re-denoises z_T and reports the PSNR against the decoded input.',
  inputs: [
    { id: 'model', label: 'Model', type: 'MODEL' },
    { id: 'conditioning', label: 'Conditioning', type: 'CONDITIONING' },
    { id: 'latent', label: 'Latent', type: 'LATENT' },
  ],
  outputs: [
    { id: 'noise', label: 'Noise z_T', type: 'LATENT' },
    { id: 'psnr', label: 'PSNR (dB)', type: 'FLOAT' },
  ],
  params: {
    steps: param.int({ label: 'Steps', default: 50, min: 1, max: 1000 }),
    fixed_point: param.int({ label: 'Fixed-point iterations', default: 1, min: 0, max: 20 }),
    measure: param.boolean({ label: 'Measure reconstruction', default: true }),
  },
  async execute(ctx, { model, conditioning, latent }, p) {
    const total = p.measure ? 2 * p.steps : p.steps;
    const [zT] = await invertLatents(model, [latent.data], [conditioning.cond], { steps: p.steps, fixedPoint: p.fixed_point, signal: ctx.signal, onStep: (i) => ctx.progress(i, total, `inversion step ${i}/${p.steps}`) });
    let value = Number.NaN;
    if (p.measure) {
      const re = await redenoise(model, null, [zT!], [conditioning.cond], { steps: p.steps, record: [], groups: [[]], signal: ctx.signal, onStep: (i) => ctx.progress(p.steps + i, total, `re-denoise step ${i}/${p.steps}`) });
      const original = await decodeLatent(model, latent.data);
      const back = await decodeLatent(model, re.z0[0]!);
      value = psnr(original, back);
      ctx.preview(imagePreview(back, `reconstruction, ${value.toFixed(1)} dB PSNR`));
      ctx.log.info(`reconstruction PSNR ${value.toFixed(2)} dB`);
    }
    return { noise: { shape: latent.shape, data: zT!, prompt: conditioning.prompt.text }, psnr: value };
  },
});
