/**
 * Diffusion-UNet building blocks written the way PyTorch's ONNX exporter emits them
 * (GroupNorm as Reshape -> InstanceNormalization -> Reshape -> Mul -> Add, SiLU as x * Sigmoid(x),
 * GELU as Div/Erf/Add/Mul, attention as MatMul/Mul/Softmax/MatMul over [B, heads, HW, tokens]).
 * Used by the block gradchecks and by bench/grad.ts.
 */
import { GraphBuilder, float } from '../../src/engine/onnx/builder.ts';
import { rng } from './gradcheck.ts';

export class Net {
  private seed = 1;
  constructor(readonly g: GraphBuilder) {}

  weight(name: string, dims: number[], scale?: number): string {
    const fanIn = dims.length > 1 ? dims.slice(1).reduce((a, b) => a * b, 1) : dims[0]!;
    const s = scale ?? 1 / Math.sqrt(fanIn);
    const r = rng(this.seed++);
    const n = dims.reduce((a, b) => a * b, 1);
    return this.g.initializer(name, Float32Array.from({ length: n }, () => r.normal() * s), dims);
  }

  fill(name: string, dims: number[], value: number): string {
    const n = dims.reduce((a, b) => a * b, 1);
    return this.g.initializer(name, new Float32Array(n).fill(value), dims);
  }

  i64(name: string, values: number[]): string {
    return this.g.initializer(name, BigInt64Array.from(values.map(BigInt)), [values.length]);
  }

  f(name: string, v: number): string {
    return this.g.initializer(name, Float32Array.of(v), []);
  }

  silu(x: string, p: string): string {
    return this.g.op('Mul', [x, this.g.op('Sigmoid', [x], {}, { name: `${p}/Sigmoid` })], {}, { name: `${p}/Mul` });
  }

  gelu(x: string, p: string): string {
    const g = this.g;
    const d = g.op('Div', [x, this.f(`${p}/sqrt2`, Math.SQRT2)], {}, { name: `${p}/Div` });
    const e = g.op('Erf', [d], {}, { name: `${p}/Erf` });
    const a = g.op('Add', [e, this.f(`${p}/one`, 1)], {}, { name: `${p}/Add` });
    const m = g.op('Mul', [x, a], {}, { name: `${p}/Mul` });
    return g.op('Mul', [m, this.f(`${p}/half`, 0.5)], {}, { name: `${p}/Mul_1` });
  }

  /** torch.nn.GroupNorm as exported: Reshape [N, G, -1] -> InstanceNorm -> Reshape(Shape(x)) -> Mul -> Add. */
  groupNorm(x: string, C: number, G: number, p: string): string {
    const g = this.g;
    const r = g.op('Reshape', [x, this.i64(`${p}/shape`, [0, G, -1])], {}, { name: `${p}/Reshape` });
    const n = g.op('InstanceNormalization', [r, this.fill(`${p}/in_scale`, [G], 1), this.fill(`${p}/in_bias`, [G], 0)], { epsilon: float(1e-5) }, { name: `${p}/InstanceNormalization` });
    const back = g.op('Reshape', [n, g.op('Shape', [x], {}, { name: `${p}/Shape` })], {}, { name: `${p}/Reshape_1` });
    const gamma = this.weight(`${p}.weight`, [C, 1, 1], 0.3);
    const beta = this.weight(`${p}.bias`, [C, 1, 1], 0.1);
    // perturb gamma around 1
    const gm = g.op('Add', [gamma, this.f(`${p}/gamma_one`, 1)], {}, { name: `${p}/gamma` });
    return g.op('Add', [g.op('Mul', [back, gm], {}, { name: `${p}/Mul` }), beta], {}, { name: `${p}/Add` });
  }

  conv(x: string, cin: number, cout: number, k: number, p: string, stride = 1): string {
    const w = this.weight(`${p}.weight`, [cout, cin, k, k]);
    const b = this.weight(`${p}.bias`, [cout], 0.1);
    const pad = Math.floor(k / 2);
    return this.g.op('Conv', [x, w, b], { kernel_shape: [k, k], strides: [stride, stride], pads: [pad, pad, pad, pad] }, { name: `${p}/Conv` });
  }

  linear(x: string, cin: number, cout: number, p: string, bias = true): string {
    const w = this.weight(`${p}.weight_t`, [cin, cout]);
    const y = this.g.op('MatMul', [x, w], {}, { name: `${p}/MatMul` });
    return bias ? this.g.op('Add', [y, this.weight(`${p}.bias`, [cout], 0.1)], {}, { name: `${p}/Add` }) : y;
  }

  /** LayerNorm as exported below opset 17: ReduceMean/Sub/Pow/ReduceMean/Add/Sqrt/Div/Mul/Add. */
  layerNormDecomposed(x: string, C: number, p: string): string {
    const g = this.g;
    const mean = g.op('ReduceMean', [x], { axes: [-1], keepdims: 1 }, { name: `${p}/ReduceMean` });
    const d = g.op('Sub', [x, mean], {}, { name: `${p}/Sub` });
    const v = g.op('ReduceMean', [g.op('Pow', [d, this.f(`${p}/two`, 2)], {}, { name: `${p}/Pow` })], { axes: [-1], keepdims: 1 }, { name: `${p}/ReduceMean_1` });
    const s = g.op('Sqrt', [g.op('Add', [v, this.f(`${p}/eps`, 1e-5)], {}, { name: `${p}/Add` })], {}, { name: `${p}/Sqrt` });
    const n = g.op('Div', [d, s], {}, { name: `${p}/Div` });
    return g.op('Add', [g.op('Mul', [n, this.weight(`${p}.weight`, [C], 0.5)], {}, { name: `${p}/Mul` }), this.weight(`${p}.bias`, [C], 0.1)], {}, { name: `${p}/Add_1` });
  }

  /**
   * Cross-attention over [B, HW, C] queries and [B, T, Cc] context; returns [B, HW, C] and the
   * attention probabilities [B, heads, HW, T] (what Learn-to-Steer's loss reads).
   */
  crossAttention(x: string, ctx: string, C: number, Cc: number, heads: number, p: string, useEinsum = false): { out: string; probs: string } {
    const g = this.g;
    const d = C / heads;
    const split = (t: string, n: string) =>
      g.op('Transpose', [g.op('Reshape', [t, this.i64(`${p}/${n}_shape`, [0, -1, heads, d])], {}, { name: `${p}/${n}/Reshape` })], { perm: [0, 2, 1, 3] }, { name: `${p}/${n}/Transpose` });
    const q = split(this.linear(x, C, C, `${p}.to_q`, false), 'q');
    const k = split(this.linear(ctx, Cc, C, `${p}.to_k`, false), 'k');
    const v = split(this.linear(ctx, Cc, C, `${p}.to_v`, false), 'v');
    let scores: string;
    if (useEinsum) scores = g.op('Einsum', [q, k], { equation: 'bhqd,bhkd->bhqk' }, { name: `${p}/Einsum` });
    else scores = g.op('MatMul', [q, g.op('Transpose', [k], { perm: [0, 1, 3, 2] }, { name: `${p}/kT` })], {}, { name: `${p}/MatMul` });
    const scaled = g.op('Mul', [scores, this.f(`${p}/scale`, 1 / Math.sqrt(d))], {}, { name: `${p}/Mul` });
    const probs = g.op('Softmax', [scaled], { axis: -1 }, { name: `${p}/Softmax` });
    const o = useEinsum ? g.op('Einsum', [probs, v], { equation: 'bhqk,bhkd->bhqd' }, { name: `${p}/Einsum_1` }) : g.op('MatMul', [probs, v], {}, { name: `${p}/MatMul_1` });
    const merged = g.op('Reshape', [g.op('Transpose', [o], { perm: [0, 2, 1, 3] }, { name: `${p}/o/Transpose` }), this.i64(`${p}/o_shape`, [0, -1, C])], {}, { name: `${p}/o/Reshape` });
    return { out: this.linear(merged, C, C, `${p}.to_out`), probs };
  }

  /** ResNet block with timestep embedding: x + conv(silu(gn(conv(silu(gn(x))) + proj(silu(temb))))). */
  resBlock(x: string, temb: string, C: number, Ct: number, G: number, p: string): string {
    const g = this.g;
    let h = this.conv(this.silu(this.groupNorm(x, C, G, `${p}.norm1`), `${p}/act1`), C, C, 3, `${p}.conv1`);
    const t = this.linear(this.silu(temb, `${p}/act_t`), Ct, C, `${p}.time_emb_proj`);
    const t4 = g.op('Unsqueeze', [t, this.i64(`${p}/t_axes`, [2, 3])], {}, { name: `${p}/Unsqueeze` });
    h = g.op('Add', [h, t4], {}, { name: `${p}/Add_t` });
    h = this.conv(this.silu(this.groupNorm(h, C, G, `${p}.norm2`), `${p}/act2`), C, C, 3, `${p}.conv2`);
    return g.op('Add', [x, h], {}, { name: `${p}/Add` });
  }

  /** Spatial transformer: GN -> proj_in -> LN -> cross-attn (+res) -> LN -> GELU MLP (+res) -> proj_out (+res). */
  transformer(x: string, ctx: string, C: number, H: number, W: number, Cc: number, heads: number, p: string): { out: string; probs: string } {
    const g = this.g;
    const n = this.groupNorm(x, C, Math.min(C, 4), `${p}.norm`);
    const seq = g.op('Transpose', [g.op('Reshape', [n, this.i64(`${p}/flat`, [0, C, H * W])], {}, { name: `${p}/Reshape` })], { perm: [0, 2, 1] }, { name: `${p}/Transpose` });
    let h = this.linear(seq, C, C, `${p}.proj_in`);
    const a = this.crossAttention(g.op('LayerNormalization', [h, this.fill(`${p}.ln1.w`, [C], 1), this.fill(`${p}.ln1.b`, [C], 0)], { axis: -1, epsilon: float(1e-5) }, { name: `${p}/ln1` }), ctx, C, Cc, heads, `${p}.attn2`);
    h = g.op('Add', [h, a.out], {}, { name: `${p}/Add_attn` });
    const m = this.linear(this.gelu(this.linear(this.layerNormDecomposed(h, C, `${p}.ln2`), C, 2 * C, `${p}.ff1`), `${p}/gelu`), 2 * C, C, `${p}.ff2`);
    h = g.op('Add', [h, m], {}, { name: `${p}/Add_ff` });
    h = this.linear(h, C, C, `${p}.proj_out`);
    const back = g.op('Reshape', [g.op('Transpose', [h], { perm: [0, 2, 1] }, { name: `${p}/Transpose_1` }), this.i64(`${p}/unflat`, [0, C, H, W])], {}, { name: `${p}/Reshape_1` });
    return { out: g.op('Add', [x, back], {}, { name: `${p}/Add` }), probs: a.probs };
  }
}

export interface UNetConfig {
  batch: number | string;
  channels: number; // latent channels
  size: number; // latent H = W
  base: number; // model channels
  tokens: number;
  ctxDim: number;
  tembDim: number;
  heads: number;
}

/**
 * A small UNet: conv_in -> res -> down (strided conv) -> res + transformer -> up (nearest Resize
 * x2 + conv) -> concat skip -> res -> GN/SiLU/conv_out. Inputs: sample [B, 4, S, S], temb
 * [B, Ct], context [B, T, Cc]. Outputs: noise_pred, attn_probs (mid cross-attention).
 */
export function buildUNet(cfg: UNetConfig, opset = 17) {
  const g = new GraphBuilder({ opset });
  const net = new Net(g);
  const B = cfg.batch;
  const C = cfg.base;
  const S = cfg.size;
  const x = g.input('sample', 'float32', [B, cfg.channels, S, S]);
  const temb = g.input('temb', 'float32', [B, cfg.tembDim]);
  const ctx = g.input('context', 'float32', [B, cfg.tokens, cfg.ctxDim]);
  const h0 = net.conv(x, cfg.channels, C, 3, 'conv_in');
  const h1 = net.resBlock(h0, temb, C, cfg.tembDim, Math.min(C, 4), 'down.res');
  const d = net.conv(h1, C, 2 * C, 3, 'down.sample', 2);
  const m1 = net.resBlock(d, temb, 2 * C, cfg.tembDim, Math.min(2 * C, 4), 'mid.res');
  const t = net.transformer(m1, ctx, 2 * C, S / 2, S / 2, cfg.ctxDim, cfg.heads, 'mid.attn');
  const up = g.op('Resize', [t.out, '', g.initializer('up.scales', Float32Array.of(1, 1, 2, 2), [4])], { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' }, { name: 'up/Resize' });
  const u = net.conv(up, 2 * C, C, 3, 'up.conv');
  const cat = g.op('Concat', [u, h1], { axis: 1 }, { name: 'up/Concat' });
  const u2 = net.conv(cat, 2 * C, C, 1, 'up.skip');
  const u3 = net.resBlock(u2, temb, C, cfg.tembDim, Math.min(C, 4), 'up.res');
  const out = net.conv(net.silu(net.groupNorm(u3, C, Math.min(C, 4), 'norm_out'), 'act_out'), C, cfg.channels, 3, 'conv_out');
  g.output(out, 'noise_pred');
  g.output(t.probs, 'attn_probs');
  return g.toModel();
}
