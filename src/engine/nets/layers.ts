/**
 * Layer helpers on top of the ONNX GraphBuilder, naming things the way diffusers/PyTorch do.
 *
 * Naming conventions
 *  - Parameters are initializers named exactly like the diffusers / transformers state-dict keys
 *    AND shaped exactly like them: Linear weight [out, in] (a Transpose node feeds MatMul, or Gemm
 *    uses transB=1), Conv weight [out, in/groups, k, k], norm weight/bias [C]. So trained weights
 *    can be exchanged with a safetensors state dict by name, without reshaping.
 *  - Nodes are named like a PyTorch ONNX export: the module path with '/' between modules and
 *    '.' before list indices, then the op type, with _1, _2 ... for repeats:
 *    key 'down_blocks.0.attentions.0.transformer_blocks.0.attn2' -> node
 *    '/down_blocks.0/attentions.0/transformer_blocks.0/attn2/Softmax'. Node outputs are
 *    '<node name>_output_0'.
 *  - Constants (shape vectors, scalars, InstanceNormalization's unit scale) are Constant nodes,
 *    not initializers, so the initializer list is exactly the state dict.
 *
 * Op vocabulary: only ops the project's autodiff differentiates (see ops.ts), with Sin/Cos
 * allowed on the timestep-only path. GroupNorm is written the way PyTorch exports it
 * (Reshape -> InstanceNormalization -> Reshape -> Mul -> Add), SiLU as Sigmoid + Mul, GELU
 * (erf form) as Div/Erf/Add/Mul/Mul.
 */
import { GraphBuilder, makeValueInfo, type Attrs, type Dim } from '../onnx/builder.ts';
import { makeTensor, type ModelProto } from '../onnx/model.ts';
import { initValues, fanIn, ones, zeros, type Init } from './init.ts';

/** 'a.b.0.c' -> 'a/b.0/c' (list indices stay attached to their module with '.'). */
export function moduleNodePath(key: string): string {
  if (key === '') return '';
  const parts = key.split('.');
  let out = parts[0]!;
  for (let i = 1; i < parts.length; i++) out += /^\d+$/.test(parts[i]!) ? `.${parts[i]}` : `/${parts[i]}`;
  return out;
}

const join = (a: string, b: string) => (a === '' ? b : b === '' ? a : `${a}.${b}`);

export class NetBuilder {
  readonly g: GraphBuilder;
  /** Parameter key -> dims, in creation order. */
  readonly params = new Map<string, number[]>();

  constructor(
    readonly seed: number,
    name: string,
    opset = 17,
  ) {
    this.g = new GraphBuilder({ opset, name });
  }

  // ---------------------------------------------------------------------------------------------
  // Primitives
  // ---------------------------------------------------------------------------------------------

  /** A parameter (initializer) named `key` with diffusers' shape. */
  param(key: string, dims: readonly number[], init: Init): string {
    if (this.params.has(key)) throw new Error(`parameter '${key}' defined twice`);
    const size = dims.reduce((a, d) => a * d, 1);
    const name = this.g.initializer(key, initValues(this.seed, key, size, init), dims);
    if (name !== key) throw new Error(`parameter '${key}' clashes with an existing name`);
    this.params.set(key, [...dims]);
    return name;
  }

  /** A node named '/<module path>/<OpType>' (uniquified); returns its first output. */
  op(scope: string, opType: string, inputs: readonly (string | undefined)[], attrs: Attrs = {}): string {
    return this.g.op(opType, inputs, attrs, { name: `/${moduleNodePath(scope)}${scope === '' ? '' : '/'}${opType}` });
  }

  opN(scope: string, opType: string, inputs: readonly string[], n: number, attrs: Attrs = {}): string[] {
    return this.g.opN(opType, inputs, n, attrs, { name: `/${moduleNodePath(scope)}${scope === '' ? '' : '/'}${opType}` });
  }

  /** A float32 Constant node. */
  constF(scope: string, values: readonly number[] | Float32Array, dims: readonly number[]): string {
    const t = makeTensor('value', Float32Array.from(values), dims);
    return this.op(scope, 'Constant', [], { value: t });
  }

  /** An int64 Constant node (1-D unless dims given). */
  constI(scope: string, values: readonly number[], dims: readonly number[] = [values.length]): string {
    const t = makeTensor('value', BigInt64Array.from(values.map((v) => BigInt(v))), dims);
    return this.op(scope, 'Constant', [], { value: t });
  }

  scalar(scope: string, v: number): string {
    return this.constF(scope, [v], []);
  }

  reshape(scope: string, x: string, shape: readonly number[]): string {
    return this.op(scope, 'Reshape', [x, this.constI(scope, shape)]);
  }

  transpose(scope: string, x: string, perm: readonly number[]): string {
    return this.op(scope, 'Transpose', [x], { perm: [...perm] });
  }

  /** Records a shape for an intermediate value (value_info). */
  annotate(value: string, shape: readonly Dim[]): void {
    this.g.annotate(value, 'float32', shape);
  }

  /**
   * Declares a graph output named `name` by renaming the tensor `value` everywhere (as PyTorch
   * exports do: the last node writes the output directly, no Identity).
   */
  output(value: string, name: string, shape: readonly Dim[]): string {
    this.g.reserve([name]);
    for (const node of this.g.nodes) {
      node.input = node.input.map((i) => (i === value ? name : i));
      node.output = node.output.map((o) => (o === value ? name : o));
    }
    for (const vi of this.g.valueInfo) if (vi.name === value) vi.name = name;
    this.g.outputs.push(makeValueInfo(name, 'float32', shape));
    return name;
  }

  toModel(docString?: string): ModelProto {
    const m = this.g.toModel();
    if (docString) m.docString = docString;
    return m;
  }

  // ---------------------------------------------------------------------------------------------
  // Layers
  // ---------------------------------------------------------------------------------------------

  silu(scope: string, x: string): string {
    return this.op(scope, 'Mul', [x, this.op(scope, 'Sigmoid', [x])]);
  }

  /** GELU, erf form: x * 0.5 * (1 + erf(x / sqrt 2)). */
  gelu(scope: string, x: string): string {
    const e = this.op(scope, 'Erf', [this.op(scope, 'Div', [x, this.scalar(scope, Math.SQRT2)])]);
    const h = this.op(scope, 'Mul', [x, this.op(scope, 'Add', [e, this.scalar(scope, 1)])]);
    return this.op(scope, 'Mul', [h, this.scalar(scope, 0.5)]);
  }

  /** nn.Linear on the last axis. 2-D inputs use Gemm(transB=1); others Transpose(W) + MatMul (+ Add). */
  linear(key: string, x: string, inF: number, outF: number, opts: { bias?: boolean; rank?: number } = {}): string {
    const bias = opts.bias ?? true;
    const w = this.param(`${key}.weight`, [outF, inF], fanIn(inF));
    const b = bias ? this.param(`${key}.bias`, [outF], fanIn(inF)) : undefined;
    if ((opts.rank ?? 3) === 2) return this.op(key, 'Gemm', [x, w, b], { transB: 1 });
    const y = this.op(key, 'MatMul', [x, this.transpose(key, w, [1, 0])]);
    return b ? this.op(key, 'Add', [y, b]) : y;
  }

  /** nn.Conv2d (square kernel, symmetric padding). */
  conv(key: string, x: string, inC: number, outC: number, k: number, opts: { stride?: number; pad?: number; bias?: boolean } = {}): string {
    const stride = opts.stride ?? 1;
    const pad = opts.pad ?? Math.floor(k / 2);
    const w = this.param(`${key}.weight`, [outC, inC, k, k], fanIn(inC * k * k));
    const b = (opts.bias ?? true) ? this.param(`${key}.bias`, [outC], fanIn(inC * k * k)) : undefined;
    return this.op(key, 'Conv', [x, w, b], { kernel_shape: [k, k], strides: [stride, stride], pads: [pad, pad, pad, pad], dilations: [1, 1], group: 1 });
  }

  /** nn.GroupNorm on [B, C, H, W], as PyTorch exports it. */
  groupNorm(key: string, x: string, c: number, h: number, w: number, groups: number, eps: number): string {
    if (c % groups !== 0) throw new Error(`${key}: ${c} channels do not split into ${groups} groups`);
    const r = this.reshape(key, x, [0, groups, -1]);
    const n = this.op(key, 'InstanceNormalization', [r, this.constF(key, new Float32Array(groups).fill(1), [groups]), this.constF(key, new Float32Array(groups), [groups])], { epsilon: eps });
    const back = this.reshape(key, n, [0, c, h, w]);
    const gamma = this.op(key, 'Unsqueeze', [this.param(`${key}.weight`, [c], ones), this.constI(key, [1, 2])]);
    const beta = this.op(key, 'Unsqueeze', [this.param(`${key}.bias`, [c], zeros), this.constI(key, [1, 2])]);
    return this.op(key, 'Add', [this.op(key, 'Mul', [back, gamma]), beta]);
  }

  /** nn.LayerNorm over the last axis. */
  layerNorm(key: string, x: string, c: number, eps: number): string {
    return this.op(key, 'LayerNormalization', [x, this.param(`${key}.weight`, [c], ones), this.param(`${key}.bias`, [c], zeros)], { axis: -1, epsilon: eps });
  }

  /**
   * Multi-head attention as [B, heads, Nq, Nk] maps: Softmax(MatMul(Q, K^T) * scale (+ mask)) V.
   * `x` is [B, Nq, qDim]; `ctx` [B, Nk, ctxDim] (defaults to x: self-attention). Returns
   * [B, Nq, outDim] after the output projection. The Softmax output is annotated with its shape.
   */
  attention(
    key: string,
    x: string,
    o: {
      ctx?: string;
      nq: number;
      nk: number;
      qDim: number;
      ctxDim?: number;
      inner: number;
      heads: number;
      qkvBias: boolean;
      names: { q: string; k: string; v: string; out: string };
      mask?: string;
    },
  ): string {
    const ctx = o.ctx ?? x;
    const ctxDim = o.ctxDim ?? o.qDim;
    if (o.inner % o.heads !== 0) throw new Error(`${key}: ${o.inner} channels do not split into ${o.heads} heads`);
    const dh = o.inner / o.heads;
    const q = this.linear(join(key, o.names.q), x, o.qDim, o.inner, { bias: o.qkvBias });
    const k = this.linear(join(key, o.names.k), ctx, ctxDim, o.inner, { bias: o.qkvBias });
    const v = this.linear(join(key, o.names.v), ctx, ctxDim, o.inner, { bias: o.qkvBias });
    const qh = this.transpose(key, this.reshape(key, q, [0, o.nq, o.heads, dh]), [0, 2, 1, 3]); // [B, h, Nq, dh]
    const kt = this.transpose(key, this.reshape(key, k, [0, o.nk, o.heads, dh]), [0, 2, 3, 1]); // [B, h, dh, Nk]
    const vh = this.transpose(key, this.reshape(key, v, [0, o.nk, o.heads, dh]), [0, 2, 1, 3]); // [B, h, Nk, dh]
    let logits = this.op(key, 'Mul', [this.op(key, 'MatMul', [qh, kt]), this.scalar(key, 1 / Math.sqrt(dh))]);
    if (o.mask) logits = this.op(key, 'Add', [logits, o.mask]);
    const p = this.op(key, 'Softmax', [logits], { axis: -1 });
    this.annotate(p, ['batch', o.heads, o.nq, o.nk]);
    const a = this.op(key, 'MatMul', [p, vh]); // [B, h, Nq, dh]
    const merged = this.reshape(key, this.transpose(key, a, [0, 2, 1, 3]), [0, o.nq, o.inner]);
    return this.linear(join(key, o.names.out), merged, o.inner, o.qDim);
  }

  /**
   * diffusers ResnetBlock2D: norm1 -> SiLU -> conv1 (+ time_emb_proj(SiLU(temb))) -> norm2 -> SiLU
   * -> conv2, plus the input (through a 1x1 conv_shortcut when channels change).
   */
  resnet(key: string, x: string, o: { inC: number; outC: number; h: number; w: number; groups: number; eps: number; temb?: { value: string; dim: number } }): string {
    const nl = join(key, 'nonlinearity');
    let h = this.groupNorm(join(key, 'norm1'), x, o.inC, o.h, o.w, o.groups, o.eps);
    h = this.silu(nl, h);
    h = this.conv(join(key, 'conv1'), h, o.inC, o.outC, 3);
    if (o.temb) {
      const t = this.linear(join(key, 'time_emb_proj'), this.silu(nl, o.temb.value), o.temb.dim, o.outC, { rank: 2 });
      h = this.op(key, 'Add', [h, this.op(key, 'Unsqueeze', [t, this.constI(key, [2, 3])])]);
    }
    h = this.groupNorm(join(key, 'norm2'), h, o.outC, o.h, o.w, o.groups, o.eps);
    h = this.silu(nl, h);
    h = this.conv(join(key, 'conv2'), h, o.outC, o.outC, 3);
    const skip = o.inC !== o.outC ? this.conv(join(key, 'conv_shortcut'), x, o.inC, o.outC, 1, { pad: 0 }) : x;
    return this.op(key, 'Add', [skip, h]);
  }

  /** [B, C, H, W] -> [B, H*W, C]. */
  toTokens(scope: string, x: string, c: number, h: number, w: number): string {
    return this.reshape(scope, this.transpose(scope, x, [0, 2, 3, 1]), [0, h * w, c]);
  }

  /** [B, H*W, C] -> [B, C, H, W]. */
  fromTokens(scope: string, x: string, c: number, h: number, w: number): string {
    return this.transpose(scope, this.reshape(scope, x, [0, h, w, c]), [0, 3, 1, 2]);
  }
}

/** Total number of parameter values. */
export function paramCount(params: ReadonlyMap<string, readonly number[]>): number {
  let n = 0;
  for (const d of params.values()) n += d.reduce((a, b) => a * b, 1);
  return n;
}
