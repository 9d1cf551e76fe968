import { attentionUNet, layerChannels, meanMap, parseSelection, parseStepList } from '../engine/steer/attention.ts';
import { heatmapGrid, overlayHeatmap } from '../engine/steer/heatmap.ts';
import { recordAttention } from '../engine/steer/record.ts';
import { defineNode } from './api.ts';
import { sessions } from './model-load.ts';
import { param } from './params.ts';
import { imagePreview } from './previews.ts';

export default defineNode({
  type: 'attention.extract',
  version: 1,
  title: 'Extract Attention',
  category: 'Steering',
  description:
    "Records the UNet's cross-attention maps of each object of the prompt (its head-noun tokens; a word split into several tokens is averaged) at chosen denoising steps, on the conditional pass only. From an Image: encode, DDIM-invert under the prompt, re-denoise (Learn-to-Steer's data path). From a Noise latent: denoise it at guidance 1. Maps are ordered resolution ascending, then down/mid/up, then heads, resized (bilinear) to 16x16 and renormalised only where resized. The prompt comes with the Conditioning.",
  inputs: [
    { id: 'model', label: 'Model', type: 'MODEL' },
    { id: 'conditioning', label: 'Conditioning', type: 'CONDITIONING' },
    { id: 'image', label: 'Image', type: 'IMAGE', optional: true },
    { id: 'latent', label: 'Noise', type: 'LATENT', optional: true },
  ],
  outputs: [{ id: 'attention', label: 'Attention', type: 'ATTENTION' }],
  params: {
    steps: param.int({ label: 'Steps', default: 50, min: 1, max: 1000 }),
    record: param.string({ label: 'Recorded steps', default: '5,10,15,20,25,49', description: 'Comma-separated denoising step indices (0 = the noisiest).' }),
    fixed_point: param.int({ label: 'Fixed-point iterations', default: 1, min: 0, max: 20 }),
    resolutions: param.string({ label: 'Resolutions', default: '', description: "Map sizes to keep, e.g. '8,16' or '16x16'; empty = all." }),
    include: param.string({ label: 'Layer pattern', default: '', description: "Regular expression on layer paths (e.g. 'up_blocks'); empty = every attn2 layer." }),
    exclude: param.string({ label: 'Exclude pattern', default: '' }),
    heads: param.string({ label: 'Heads', default: '', description: "Head indices, e.g. '0,1'; empty = all." }),
  },
  async execute(ctx, { model, conditioning, image, latent }, p) {
    if (!image && !latent) throw new Error('connect an Image (to invert) or a Noise latent (to denoise)');
    if (image && latent) throw new Error('connect either an Image or a Noise latent, not both');
    const record = parseStepList(p.record, p.steps);
    const unet = await attentionUNet(model, sessions, parseSelection(p));
    const n = image ? 2 * p.steps : p.steps;
    const rec = await recordAttention(model, sessions, unet, conditioning, image ? { image } : { noise: latent!.data }, { steps: p.steps, record, fixedPoint: p.fixed_point, signal: ctx.signal, onStep: (i) => ctx.progress(i, n) });
    const { spec } = rec;
    const mean = (object: number, channels?: number[]) => {
      const out = new Float32Array(spec.size * spec.size);
      for (const s of rec.stacks) {
        const m = meanMap(s, spec, object, channels);
        for (let i = 0; i < out.length; i++) out[i] = out[i]! + m[i]! / rec.stacks.length;
      }
      return out;
    };
    rec.objects.forEach((name, g) => {
      ctx.preview(imagePreview(overlayHeatmap(rec.image, mean(g), spec.size), `${name}: mean over ${spec.channels.length} maps and steps ${rec.steps.join(',')}`));
      const layers = layerChannels(spec);
      ctx.preview(imagePreview(heatmapGrid(layers.map((l) => mean(g, l.channels)), spec.size, Math.min(4, layers.length)), `${name}: one tile per layer (${layers.map((l) => l.layer).join(' | ')})`));
    });
    if (rec.psnr !== undefined) ctx.log.info(`inversion reconstructs the image at ${rec.psnr.toFixed(1)} dB PSNR`);
    return { attention: rec };
  },
});
