/**
 * UNet (unet/model.onnx), a small Stable-Diffusion-style UNet2DConditionModel.
 *
 *   sample                float32 [batch, 4, S, S]      noisy latent (S = sample_size, 16)
 *   timestep              float32 [batch]               diffusion timestep (0..999; fractional ok)
 *   encoder_hidden_states float32 [batch, L, D]         text encoder last_hidden_state (L = text_length, 32)
 *   -> out_sample         float32 [batch, 4, S, S]      predicted noise (epsilon)
 *
 * Layout (defaults: block_out_channels [64, 96], layers_per_block 1, 4 heads everywhere):
 *   time_proj (sinusoidal, flip_sin_to_cos, freq_shift 0) -> time_embedding.linear_1 -> SiLU -> linear_2
 *   conv_in
 *   down_blocks.i  (CrossAttnDownBlock2D): { resnets.j, attentions.j } x layers_per_block,
 *                  downsamplers.0.conv (3x3 stride 2) except on the last block
 *   mid_block      (UNetMidBlock2DCrossAttn): resnets.0, attentions.0, resnets.1
 *   up_blocks.i    (CrossAttnUpBlock2D): { concat skip, resnets.j, attentions.j } x (layers_per_block + 1),
 *                  upsamplers.0 (nearest Resize x2, conv) except on the last block
 *   conv_norm_out -> SiLU -> conv_out
 * Each attentions.j is a Transformer2DModel with linear projections (SD 2.x style): norm (GroupNorm),
 * proj_in, transformer_blocks.0 { norm1, attn1 (self), norm2, attn2 (cross, K/V from
 * encoder_hidden_states), norm3, ff (GEGLU: ff.net.0.proj -> ff.net.2) }, proj_out, residual.
 * Cross-attention Softmax nodes are named '/<block>/attentions.<j>/transformer_blocks.0/attn2/Softmax'
 * over [batch, heads, H*W, L] like unoptimised SD exports, so the attention-tap pass finds them.
 */
import type { ModelProto } from '../onnx/model.ts';
import { parseUNetConfig, type UNetConfig, type UNetConfigInput } from './config.ts';
import { NetBuilder } from './layers.ts';

export const UNET_INPUTS = { sample: 'sample', timestep: 'timestep', encoderHiddenStates: 'encoder_hidden_states' } as const;
export const UNET_OUTPUT = 'out_sample';

interface Ctx {
  n: NetBuilder;
  c: UNetConfig;
  temb: { value: string; dim: number };
  ctx: string;
}

function transformer2d(t: Ctx, key: string, x: string, ch: number, size: number): string {
  const { n, c } = t;
  const heads = c.attention_head_dim;
  const L = c.text_length;
  const hw = size * size;
  let h = n.groupNorm(`${key}.norm`, x, ch, size, size, c.norm_num_groups, c.transformer_norm_eps);
  h = n.toTokens(key, h, ch, size, size);
  h = n.linear(`${key}.proj_in`, h, ch, ch);
  const b = `${key}.transformer_blocks.0`;
  const names = { q: 'to_q', k: 'to_k', v: 'to_v', out: 'to_out.0' };
  let a = n.attention(`${b}.attn1`, n.layerNorm(`${b}.norm1`, h, ch, 1e-5), { nq: hw, nk: hw, qDim: ch, inner: ch, heads, qkvBias: false, names });
  h = n.op(b, 'Add', [a, h]);
  a = n.attention(`${b}.attn2`, n.layerNorm(`${b}.norm2`, h, ch, 1e-5), { ctx: t.ctx, nq: hw, nk: L, qDim: ch, ctxDim: c.cross_attention_dim, inner: ch, heads, qkvBias: false, names });
  h = n.op(b, 'Add', [a, h]);
  // GEGLU feed-forward: proj to 2 * 4ch, split into (value, gate), value * GELU(gate), project back.
  const inner = 4 * ch;
  const ff = n.layerNorm(`${b}.norm3`, h, ch, 1e-5);
  const proj = n.linear(`${b}.ff.net.0.proj`, ff, ch, 2 * inner);
  const [val, gate] = n.opN(`${b}.ff.net.0`, 'Split', [proj, n.constI(`${b}.ff.net.0`, [inner, inner])], 2, { axis: -1 });
  const geglu = n.op(`${b}.ff.net.0`, 'Mul', [val!, n.gelu(`${b}.ff.net.0`, gate!)]);
  h = n.op(b, 'Add', [n.linear(`${b}.ff.net.2`, geglu, inner, ch), h]);
  h = n.linear(`${key}.proj_out`, h, ch, ch);
  h = n.fromTokens(key, h, ch, size, size);
  return n.op(key, 'Add', [h, x]);
}

function resnet(t: Ctx, key: string, x: string, inC: number, outC: number, size: number): string {
  return t.n.resnet(key, x, { inC, outC, h: size, w: size, groups: t.c.norm_num_groups, eps: t.c.norm_eps, temb: t.temb });
}

/** Sinusoidal timestep features [batch, dim] (diffusers get_timestep_embedding; timestep-only path). */
function timeProj(n: NetBuilder, timestep: string, dim: number, flipSinToCos: boolean, freqShift: number): string {
  const half = dim / 2;
  const freqs = Array.from({ length: half }, (_, i) => Math.exp((-Math.log(10000) * i) / (half - freqShift)));
  const args = n.op('time_proj', 'Mul', [n.op('time_proj', 'Unsqueeze', [timestep, n.constI('time_proj', [1])]), n.constF('time_proj', freqs, [1, half])]);
  const sin = n.op('time_proj', 'Sin', [args]);
  const cos = n.op('time_proj', 'Cos', [args]);
  return n.op('time_proj', 'Concat', flipSinToCos ? [cos, sin] : [sin, cos], { axis: 1 });
}

export function buildUNet(config: UNetConfigInput = {}, seed = 0): ModelProto {
  const c = parseUNetConfig(config);
  const n = new NetBuilder(seed, 'unet');
  const S = c.sample_size;
  const boc = c.block_out_channels;
  const nb = boc.length;
  const sample = n.g.input(UNET_INPUTS.sample, 'float32', ['batch', c.in_channels, S, S]);
  const timestep = n.g.input(UNET_INPUTS.timestep, 'float32', ['batch']);
  const ctx = n.g.input(UNET_INPUTS.encoderHiddenStates, 'float32', ['batch', c.text_length, c.cross_attention_dim]);

  // Time embedding.
  const tdim = c.time_embedding_dim;
  const tproj = timeProj(n, timestep, boc[0]!, c.flip_sin_to_cos, c.freq_shift);
  let temb = n.linear('time_embedding.linear_1', tproj, boc[0]!, tdim, { rank: 2 });
  temb = n.silu('time_embedding.act', temb);
  temb = n.linear('time_embedding.linear_2', temb, tdim, tdim, { rank: 2 });
  const t: Ctx = { n, c, temb: { value: temb, dim: tdim }, ctx };

  let h = n.conv('conv_in', sample, c.in_channels, boc[0]!, 3);
  const skips: { value: string; ch: number }[] = [{ value: h, ch: boc[0]! }];

  // Down.
  let size = S;
  for (let i = 0; i < nb; i++) {
    const out = boc[i]!;
    let inC = i === 0 ? boc[0]! : boc[i - 1]!;
    for (let j = 0; j < c.layers_per_block; j++) {
      h = resnet(t, `down_blocks.${i}.resnets.${j}`, h, inC, out, size);
      h = transformer2d(t, `down_blocks.${i}.attentions.${j}`, h, out, size);
      skips.push({ value: h, ch: out });
      inC = out;
    }
    if (i < nb - 1) {
      h = n.conv(`down_blocks.${i}.downsamplers.0.conv`, h, out, out, 3, { stride: 2, pad: 1 });
      size /= 2;
      skips.push({ value: h, ch: out });
    }
  }

  // Mid.
  const mc = boc[nb - 1]!;
  h = resnet(t, 'mid_block.resnets.0', h, mc, mc, size);
  h = transformer2d(t, 'mid_block.attentions.0', h, mc, size);
  h = resnet(t, 'mid_block.resnets.1', h, mc, mc, size);

  // Up.
  const rev = [...boc].reverse();
  let prev = rev[0]!;
  for (let i = 0; i < nb; i++) {
    const out = rev[i]!;
    for (let j = 0; j <= c.layers_per_block; j++) {
      const skip = skips.pop()!;
      const key = `up_blocks.${i}`;
      const inC = j === 0 ? prev : out;
      h = n.op(key, 'Concat', [h, skip.value], { axis: 1 });
      h = resnet(t, `${key}.resnets.${j}`, h, inC + skip.ch, out, size);
      h = transformer2d(t, `${key}.attentions.${j}`, h, out, size);
    }
    if (i < nb - 1) {
      const key = `up_blocks.${i}.upsamplers.0`;
      h = n.op(key, 'Resize', [h, '', n.constF(key, [1, 1, 2, 2], [4])], { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' });
      size *= 2;
      h = n.conv(`${key}.conv`, h, out, out, 3);
    }
    prev = out;
  }
  if (skips.length !== 0) throw new Error(`internal: ${skips.length} unused skip connections`);

  h = n.groupNorm('conv_norm_out', h, boc[0]!, S, S, c.norm_num_groups, c.norm_eps);
  h = n.silu('conv_act', h);
  h = n.conv('conv_out', h, boc[0]!, c.out_channels, 3);
  n.output(h, UNET_OUTPUT, ['batch', c.out_channels, S, S]);
  return n.toModel(`Shape World UNet (seed ${seed})`);
}
