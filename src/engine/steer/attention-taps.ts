/**
 * Attention taps: a rewrite pass that exposes a UNet's cross-attention probability maps as extra
 * graph outputs, so one forward pass returns `out_sample` plus every selected attn2 map.
 *
 * Which nodes: Softmax nodes whose name ends in '/attn2/Softmax' (optionally '_<k>'), the naming
 * of PyTorch exports of diffusers UNets, e.g. '/up_blocks.1/attentions.0/transformer_blocks.0/attn2/Softmax'.
 * (Fused-attention exports have no Softmax to tap; export unoptimised.)
 *
 * What each tap gives: an output named `attn2:<layer>` (layer = the module path, e.g.
 * 'up_blocks.1/attentions.0/transformer_blocks.0'), always shaped [batch, heads, H*W, tokens]
 * with rows summing to 1 over tokens. Softmaxes over [batch*heads, H*W, tokens] (diffusers'
 * head_to_batch_dim layout) get a Reshape to that 4-D form; 4-D ones an Identity. Nothing else in
 * the graph changes: existing outputs keep their names, order and values.
 *
 * Shapes come from value_info when it gives heads, H*W and tokens as numbers; otherwise the model is
 * run once with onnxruntime (symbolic dims = 1 unless given) to measure them. Resolution (H, W) is
 * derived from the query length H*W and the latent size (the first 4-D input's H, W, or an option):
 * the H*W of some 2^k downscale; square maps are the fallback.
 */
import { create } from '@bufbuild/protobuf';
import { NodeProtoSchema, ValueInfoProtoSchema, type ModelProto, type NodeProto } from 'onnx-buf';
import { makeAttribute, makeValueInfo, type Dim } from '../onnx/builder.ts';
import { cloneModel, makeTensor, onnxToDtype, type DType } from '../onnx/model.ts';
import { createSession, type HostTensor } from '../onnx/session.ts';

export type UNetBlock = 'down' | 'mid' | 'up';

export interface AttentionTap {
  /** Graph output name: `${prefix}${layer}`. */
  output: string;
  /** Module path of the transformer block, e.g. 'down_blocks.0/attentions.0/transformer_blocks.0'. */
  layer: string;
  /** The Softmax node and its output tensor. */
  node: string;
  tensor: string;
  block: UNetBlock;
  /** N of down_blocks.N / up_blocks.N; null for the mid block. */
  blockIndex: number | null;
  height: number;
  width: number;
  /** H * W. */
  queryLength: number;
  heads: number;
  tokens: number;
  /** Element type of the map (that of the Softmax). */
  dtype: DType;
  /** True when the Softmax runs over [batch*heads, HW, tokens] (a Reshape makes the output 4-D). */
  foldedHeads: boolean;
}

export interface AttentionTapOptions {
  /** Keep layers whose map is one of these: a side length (16 = 16x16) or 'HxW'. */
  resolutions?: readonly (number | string)[];
  /** Keep layers whose `layer` path matches. */
  include?: RegExp;
  /** Drop layers whose `layer` path matches. */
  exclude?: RegExp;
  /** Keep layers in these UNet blocks. */
  blocks?: readonly UNetBlock[];
  /** Latent [H, W] for resolution inference (default: the first 4-D input's static H, W). */
  latentSize?: readonly [number, number];
  /** Output name prefix (default 'attn2:'). */
  prefix?: string;
  /**
   * Probe run settings (only used when value_info lacks the shapes). Symbolic input dims take
   * dimSizes[name], else 1, except 4-D inputs (channels 4, H x W = latentSize or 64 x 64) and the
   * token axis of 3-D inputs (77); inputs not given in `feeds` are random (floats) or zeros (ints).
   */
  probe?: { dimSizes?: Record<string, number>; feeds?: Record<string, HostTensor> };
}

export class AttentionTapError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AttentionTapError';
  }
}

const SOFTMAX_RE = /^\/(.+)\/attn2\/Softmax(?:_\d+)?$/;

/** Cross-attention Softmax nodes in graph order, with their layer paths. */
export function findCrossAttentionSoftmax(model: ModelProto): { node: NodeProto; layer: string }[] {
  const out: { node: NodeProto; layer: string }[] = [];
  for (const node of model.graph?.node ?? []) {
    if (node.opType !== 'Softmax') continue;
    const m = SOFTMAX_RE.exec(node.name);
    if (m) out.push({ node, layer: m[1]! });
  }
  return out;
}

function blockOf(layer: string): { block: UNetBlock; blockIndex: number | null } {
  const m = /^(down|up)_blocks\.(\d+)(?:\/|$)/.exec(layer);
  if (m) return { block: m[1] as UNetBlock, blockIndex: Number(m[2]) };
  if (/^mid_block(?:\/|$)/.test(layer)) return { block: 'mid', blockIndex: null };
  throw new AttentionTapError(`cannot tell the UNet block of attention layer '${layer}' (expected down_blocks.N, mid_block or up_blocks.N)`);
}

type Shape = (number | string | undefined)[];

function shapeOf(model: ModelProto, tensor: string): { dims: Shape; dtype: DType } | undefined {
  const g = model.graph!;
  const vi = [...g.valueInfo, ...g.output].find((v) => v.name === tensor);
  if (vi?.type?.value.case !== 'tensorType') return undefined;
  const s = vi.type.value.value.shape;
  if (!s) return undefined;
  let dtype: DType;
  try {
    dtype = onnxToDtype(vi.type.value.value.elemType);
  } catch {
    return undefined;
  }
  const dims: Shape = s.dim.map((d) => (d.value.case === 'dimValue' ? Number(d.value.value) : d.value.case === 'dimParam' ? d.value.value : undefined));
  return { dims, dtype };
}

function inputShapes(model: ModelProto): { name: string; dtype: DType; dims: Shape }[] {
  const inits = new Set(model.graph!.initializer.map((t) => t.name));
  const out: { name: string; dtype: DType; dims: Shape }[] = [];
  for (const vi of model.graph!.input) {
    if (inits.has(vi.name) || vi.type?.value.case !== 'tensorType') continue;
    const t = vi.type.value.value;
    const dims: Shape = t.shape ? t.shape.dim.map((d) => (d.value.case === 'dimValue' ? Number(d.value.value) : d.value.case === 'dimParam' ? d.value.value : undefined)) : [];
    out.push({ name: vi.name, dtype: onnxToDtype(t.elemType), dims });
  }
  return out;
}

/**
 * Size for a symbolic input dim nobody gave: 1 (batch and most others), except on 4-D inputs
 * (a latent: channels 4, H and W from latentSize or 64) and on 3-D inputs' axis 1 (text tokens: 77),
 * which is what SD exports with dynamic axes need to run at all.
 */
function probeDefault(rank: number, axis: number, latent?: readonly [number, number]): number {
  if (rank === 4 && axis === 1) return 4;
  if (rank === 4 && axis >= 2) return latent?.[axis - 2] ?? 64;
  if (rank === 3 && axis === 1) return 77;
  return 1;
}

/** Runs the model once and returns the concrete shapes of `tensors`. */
async function probeShapes(model: ModelProto, tensors: readonly string[], opts: AttentionTapOptions['probe'] = {}, latent?: readonly [number, number]): Promise<{ shapes: Map<string, { dims: number[]; dtype: DType }>; batch: number }> {
  const probe = cloneModel(model);
  const g = probe.graph!;
  const existing = new Set(g.output.map((o) => o.name));
  // Name-only outputs: onnxruntime infers their types (so float16 exports work too).
  for (const t of tensors) if (!existing.has(t)) g.output.push(create(ValueInfoProtoSchema, { name: t }));
  const feeds: Record<string, HostTensor> = {};
  let batch = 1;
  let first = true;
  let state = 12345;
  const rand = () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state / 4294967296 - 0.5;
  };
  for (const inp of inputShapes(model)) {
    const given = opts.feeds?.[inp.name];
    if (given) {
      feeds[inp.name] = given;
      if (first && given.dims.length > 0) batch = given.dims[0]!;
      first = false;
      continue;
    }
    const dims = inp.dims.map((d, axis) => (typeof d === 'number' ? d : ((d !== undefined ? opts.dimSizes?.[d] : undefined) ?? probeDefault(inp.dims.length, axis, latent))));
    if (first && dims.length > 0) batch = dims[0]!;
    first = false;
    const size = dims.reduce((a, d) => a * d, 1);
    let data: HostTensor['data'];
    if (inp.dtype === 'float32') data = Float32Array.from({ length: size }, rand);
    else if (inp.dtype === 'float64') data = Float64Array.from({ length: size }, rand);
    else if (inp.dtype === 'int64') data = new BigInt64Array(size);
    else if (inp.dtype === 'int32') data = new Int32Array(size);
    else throw new AttentionTapError(`cannot make a probe value for input '${inp.name}' of type ${inp.dtype}; pass probe.feeds`);
    feeds[inp.name] = { data, dims };
  }
  const session = await createSession(probe, { graphOptimizationLevel: 'disabled' });
  try {
    const res = await session.run(feeds, tensors);
    const shapes = new Map<string, { dims: number[]; dtype: DType }>();
    for (const t of tensors) {
      const r = res[t]!;
      const dtype: DType = r.data instanceof Float32Array ? 'float32' : r.data instanceof Float64Array ? 'float64' : 'float16';
      shapes.set(t, { dims: [...r.dims], dtype });
    }
    return { shapes, batch };
  } finally {
    await session.release();
  }
}

function latentSizeOf(model: ModelProto, opts: AttentionTapOptions): [number, number] | undefined {
  if (opts.latentSize) return [opts.latentSize[0], opts.latentSize[1]];
  for (const inp of inputShapes(model)) {
    const [, , h, w] = inp.dims;
    if (inp.dims.length === 4 && typeof h === 'number' && typeof w === 'number') return [h, w];
  }
  return undefined;
}

function resolutionOf(q: number, latent: [number, number] | undefined, layer: string): [number, number] {
  if (latent) {
    for (let k = 0; k < 16; k++) {
      const h = Math.ceil(latent[0] / 2 ** k);
      const w = Math.ceil(latent[1] / 2 ** k);
      if (h * w === q) return [h, w];
    }
  }
  const s = Math.round(Math.sqrt(q));
  if (s * s === q) return [s, s];
  throw new AttentionTapError(`attention layer '${layer}': query length ${q} is not a downscale of the latent size${latent ? ` ${latent[0]}x${latent[1]}` : ''} nor square; pass latentSize`);
}

function matchesResolution(h: number, w: number, wanted: readonly (number | string)[]): boolean {
  return wanted.some((r) => (typeof r === 'number' ? h === r && w === r : r.toLowerCase() === `${h}x${w}`));
}

/**
 * Describes the cross-attention maps of `model` that the options select (probing once if needed),
 * without changing the model.
 */
export async function describeAttentionTaps(model: ModelProto, opts: AttentionTapOptions = {}): Promise<AttentionTap[]> {
  const prefix = opts.prefix ?? 'attn2:';
  const found = findCrossAttentionSoftmax(model).filter(({ layer }) => (!opts.include || opts.include.test(layer)) && (!opts.exclude || !opts.exclude.test(layer)));
  const selected = found.filter(({ layer }) => !opts.blocks || opts.blocks.includes(blockOf(layer).block));
  // Shapes: value_info first.
  const known = new Map<string, { heads: number; q: number; t: number; layout: 'bhqt' | 'Bqt'; dtype: DType }>();
  const missing: string[] = [];
  for (const { node } of selected) {
    const tensor = node.output[0]!;
    const info = shapeOf(model, tensor);
    const s = info?.dims;
    if (info && s && s.length === 4 && typeof s[1] === 'number' && typeof s[2] === 'number' && typeof s[3] === 'number') known.set(tensor, { heads: s[1], q: s[2], t: s[3], layout: 'bhqt', dtype: info.dtype });
    else missing.push(tensor);
  }
  if (missing.length > 0) {
    const { shapes, batch } = await probeShapes(model, missing, opts.probe, opts.latentSize);
    for (const t of missing) {
      const { dims: s, dtype } = shapes.get(t)!;
      if (s.length === 4) known.set(t, { heads: s[1]!, q: s[2]!, t: s[3]!, layout: 'bhqt', dtype });
      else if (s.length === 3) {
        if (s[0]! % batch !== 0) throw new AttentionTapError(`softmax '${t}' has leading dim ${s[0]} not divisible by the batch ${batch}`);
        known.set(t, { heads: s[0]! / batch, q: s[1]!, t: s[2]!, layout: 'Bqt', dtype });
      } else throw new AttentionTapError(`softmax '${t}' has rank ${s.length}; expected [batch, heads, HW, tokens] or [batch*heads, HW, tokens]`);
    }
  }
  const latent = latentSizeOf(model, opts);
  const taps: AttentionTap[] = [];
  const seen = new Set<string>();
  for (const { node, layer } of selected) {
    const tensor = node.output[0]!;
    const k = known.get(tensor)!;
    const [height, width] = resolutionOf(k.q, latent, layer);
    if (opts.resolutions && !matchesResolution(height, width, opts.resolutions)) continue;
    let output = `${prefix}${layer}`;
    for (let i = 1; seen.has(output); i++) output = `${prefix}${layer}#${i}`;
    seen.add(output);
    taps.push({ output, layer, node: node.name, tensor, ...blockOf(layer), height, width, queryLength: k.q, heads: k.heads, tokens: k.t, dtype: k.dtype, foldedHeads: k.layout === 'Bqt' });
  }
  return taps;
}

/**
 * Returns a copy of `model` with the selected cross-attention maps as extra outputs (after the
 * existing ones, in graph order), and a description of each. The input model is not modified.
 */
export async function addAttentionTaps(model: ModelProto, opts: AttentionTapOptions = {}): Promise<{ model: ModelProto; taps: AttentionTap[] }> {
  const taps = await describeAttentionTaps(model, opts);
  const out = cloneModel(model);
  const g = out.graph!;
  const used = new Set<string>();
  for (const n of g.node) {
    used.add(n.name);
    for (const o of n.output) used.add(o);
  }
  for (const v of [...g.input, ...g.initializer]) used.add(v.name);
  const batchDim: Dim = (() => {
    const d = inputShapes(model)[0]?.dims[0];
    return typeof d === 'string' || typeof d === 'number' ? d : 'batch';
  })();
  const fresh = (base: string) => {
    let n = base;
    for (let i = 1; used.has(n); i++) n = `${base}_${i}`;
    used.add(n);
    return n;
  };
  for (const tap of taps) {
    if (used.has(tap.output)) throw new AttentionTapError(`output name '${tap.output}' is already used in the model`);
    used.add(tap.output);
    const base = `/${tap.layer}/attn2/tap`;
    if (tap.foldedHeads) {
      const shapeName = fresh(`${base}/shape`);
      g.node.push(create(NodeProtoSchema, { opType: 'Constant', name: fresh(`${base}/Constant`), output: [shapeName], attribute: [makeAttribute('value', makeTensor('value', BigInt64Array.from([-1n, BigInt(tap.heads), BigInt(tap.queryLength), BigInt(tap.tokens)]), [4]))] }));
      g.node.push(create(NodeProtoSchema, { opType: 'Reshape', name: fresh(`${base}/Reshape`), input: [tap.tensor, shapeName], output: [tap.output] }));
    } else {
      g.node.push(create(NodeProtoSchema, { opType: 'Identity', name: fresh(`${base}/Identity`), input: [tap.tensor], output: [tap.output] }));
    }
    g.output.push(makeValueInfo(tap.output, tap.dtype, [batchDim, tap.heads, tap.queryLength, tap.tokens]));
  }
  return { model: out, taps };
}

