/**
 * VAE (vae_encoder/model.onnx, vae_decoder/model.onnx), a small AutoencoderKL.
 *
 *   encoder: sample float32 [batch, 3, 64, 64] -> latent_sample     float32 [batch, 4, 16, 16]  (posterior mean)
 *                                               latent_parameters float32 [batch, 8, 16, 16]  (mean ++ logvar)
 *   decoder: latent_sample float32 [batch, 4, 16, 16] -> sample float32 [batch, 3, 64, 64]
 *
 * Encoder: conv_in, down_blocks.i { resnets.j } + downsamplers.0.conv (3x3, stride 2, pad 1) on
 * all but the last block, mid_block (resnets.0, attentions.0, resnets.1), conv_norm_out, SiLU,
 * conv_out (2 * latent channels), then quant_conv (1x1). Decoder: post_quant_conv (1x1), conv_in,
 * mid_block, up_blocks.i { resnets.0..layers_per_block } + upsamplers.0 (nearest x2 + conv),
 * conv_norm_out, SiLU, conv_out. Names follow diffusers' AutoencoderKL state dict
 * (`encoder.down_blocks.0.resnets.0.conv1.weight`, `decoder.mid_block.attentions.0.to_q.weight`,
 * `quant_conv.weight`, ...). The mid-block attention is single-head over H*W tokens.
 *
 * Differences from diffusers: the downsampling conv pads 1 on every side (diffusers pads only
 * right/bottom by 1, then pad 0) - same output size, simpler gradient. `latent_sample` is the
 * posterior mean (diffusers' ONNX export samples it); sample with latent_parameters if needed.
 * Scaling: the models never apply `scaling_factor` (see VaeConfigSchema).
 */
import type { ModelProto } from '../onnx/model.ts';
import { parseVaeConfig, type VaeConfig, type VaeConfigInput } from './config.ts';
import { NetBuilder } from './layers.ts';

export const VAE_ENCODER_IO = { input: 'sample', output: 'latent_sample', parameters: 'latent_parameters' } as const;
export const VAE_DECODER_IO = { input: 'latent_sample', output: 'sample' } as const;

function midBlock(n: NetBuilder, c: VaeConfig, key: string, x: string, ch: number, size: number): string {
  const g = c.norm_num_groups;
  let h = n.resnet(`${key}.resnets.0`, x, { inC: ch, outC: ch, h: size, w: size, groups: g, eps: c.norm_eps });
  if (c.mid_block_add_attention) {
    const a = `${key}.attentions.0`;
    let t = n.groupNorm(`${a}.group_norm`, h, ch, size, size, g, c.norm_eps);
    t = n.toTokens(a, t, ch, size, size);
    t = n.attention(a, t, { nq: size * size, nk: size * size, qDim: ch, inner: ch, heads: 1, qkvBias: true, names: { q: 'to_q', k: 'to_k', v: 'to_v', out: 'to_out.0' } });
    h = n.op(a, 'Add', [n.fromTokens(a, t, ch, size, size), h]);
  }
  return n.resnet(`${key}.resnets.1`, h, { inC: ch, outC: ch, h: size, w: size, groups: g, eps: c.norm_eps });
}

export function buildVaeEncoder(config: VaeConfigInput = {}, seed = 0): ModelProto {
  const c = parseVaeConfig(config);
  const n = new NetBuilder(seed, 'vae_encoder');
  const boc = c.block_out_channels;
  const nb = boc.length;
  let size = c.sample_size;
  const x = n.g.input(VAE_ENCODER_IO.input, 'float32', ['batch', c.in_channels, size, size]);
  let h = n.conv('encoder.conv_in', x, c.in_channels, boc[0]!, 3);
  for (let i = 0; i < nb; i++) {
    const out = boc[i]!;
    let inC = i === 0 ? boc[0]! : boc[i - 1]!;
    for (let j = 0; j < c.layers_per_block; j++) {
      h = n.resnet(`encoder.down_blocks.${i}.resnets.${j}`, h, { inC, outC: out, h: size, w: size, groups: c.norm_num_groups, eps: c.norm_eps });
      inC = out;
    }
    if (i < nb - 1) {
      h = n.conv(`encoder.down_blocks.${i}.downsamplers.0.conv`, h, out, out, 3, { stride: 2, pad: 1 });
      size /= 2;
    }
  }
  const top = boc[nb - 1]!;
  h = midBlock(n, c, 'encoder.mid_block', h, top, size);
  h = n.groupNorm('encoder.conv_norm_out', h, top, size, size, c.norm_num_groups, c.norm_eps);
  h = n.silu('encoder.conv_act', h);
  h = n.conv('encoder.conv_out', h, top, 2 * c.latent_channels, 3);
  const params = n.conv('quant_conv', h, 2 * c.latent_channels, 2 * c.latent_channels, 1, { pad: 0 });
  const mean = n.op('', 'Slice', [params, n.constI('', [0]), n.constI('', [c.latent_channels]), n.constI('', [1])]);
  n.output(mean, VAE_ENCODER_IO.output, ['batch', c.latent_channels, size, size]);
  n.output(params, VAE_ENCODER_IO.parameters, ['batch', 2 * c.latent_channels, size, size]);
  return n.toModel(`Shape World VAE encoder (seed ${seed})`);
}

export function buildVaeDecoder(config: VaeConfigInput = {}, seed = 0): ModelProto {
  const c = parseVaeConfig(config);
  const n = new NetBuilder(seed, 'vae_decoder');
  const boc = c.block_out_channels;
  const nb = boc.length;
  let size = c.sample_size / 2 ** (nb - 1);
  const z = n.g.input(VAE_DECODER_IO.input, 'float32', ['batch', c.latent_channels, size, size]);
  let h = n.conv('post_quant_conv', z, c.latent_channels, c.latent_channels, 1, { pad: 0 });
  const rev = [...boc].reverse();
  h = n.conv('decoder.conv_in', h, c.latent_channels, rev[0]!, 3);
  h = midBlock(n, c, 'decoder.mid_block', h, rev[0]!, size);
  let prev = rev[0]!;
  for (let i = 0; i < nb; i++) {
    const out = rev[i]!;
    for (let j = 0; j <= c.layers_per_block; j++) {
      h = n.resnet(`decoder.up_blocks.${i}.resnets.${j}`, h, { inC: j === 0 ? prev : out, outC: out, h: size, w: size, groups: c.norm_num_groups, eps: c.norm_eps });
    }
    if (i < nb - 1) {
      const key = `decoder.up_blocks.${i}.upsamplers.0`;
      h = n.op(key, 'Resize', [h, '', n.constF(key, [1, 1, 2, 2], [4])], { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' });
      size *= 2;
      h = n.conv(`${key}.conv`, h, out, out, 3);
    }
    prev = out;
  }
  h = n.groupNorm('decoder.conv_norm_out', h, boc[0]!, size, size, c.norm_num_groups, c.norm_eps);
  h = n.silu('decoder.conv_act', h);
  h = n.conv('decoder.conv_out', h, boc[0]!, c.out_channels, 3);
  n.output(h, VAE_DECODER_IO.output, ['batch', c.out_channels, size, size]);
  return n.toModel(`Shape World VAE decoder (seed ${seed})`);
}
