/**
 * Reverse-mode differentiation of ONNX graphs.
 *
 * `differentiate(model, { of, wrt, keep })` returns a new model whose outputs are the `keep`
 * outputs, `of`, and `<name>_grad` for every name in `wrt`. If `of` is not a scalar, the sum of
 * its elements is differentiated. Initializers named in `wrt` become graph inputs.
 *
 * How it works:
 *  1. Probe: run the forward with onnxruntime to learn every tensor's type and shape (see
 *     probe.ts; by default only shapes, one element and small tensors are fetched, so memory
 *     stays like inference); symbolic dims keep working because rules read runtime sizes with
 *     Shape().
 *  2. Activity: a tensor is active if it is floating point and depends on a `wrt` tensor through
 *     differentiable ops; a node is on the path if it has an active input and an output that
 *     reaches `of`.
 *  3. Reverse sweep over on-path nodes in reverse topological order; each op's rule (rules/*.ts)
 *     emits backward nodes that read the forward activations by name (nothing is recomputed;
 *     LayerNormalization/MaxPool get their optional Mean/InvStdDev/Indices outputs switched on;
 *     from opset 17 Instance/GroupNormalization are rebuilt around a LayerNormalization that
 *     outputs its statistics, see rules/nn.ts).
 *     Gradients flowing into one tensor from several consumers are added with Sum.
 *  4. Prune: only nodes and initializers the requested outputs need are kept.
 * The result uses only ai.onnx operators at the model's own opset (13 to 21).
 */
import { create } from '@bufbuild/protobuf';
import { NodeProtoSchema, type ModelProto, type NodeProto, type GraphProto } from 'onnx-buf';
import { makeValueInfo } from '../builder.ts';
import { cloneModel, isFloatDtype, onnxOpset, onnxToDtype, type DType } from '../model.ts';
import type { HostTensor } from '../session.ts';
import { AttrReader, Emitter, FOLDED, GradientError, UnsupportedOpError, type GradRule, type RuleContext } from './context.ts';
import { probeShapes, valueInfoShape, type TensorInfo } from './probe.ts';
import { RULES, NON_DIFFERENTIABLE } from './rules/index.ts';

export { UnsupportedOpError, GradientError } from './context.ts';
export { RULES, NON_DIFFERENTIABLE } from './rules/index.ts';
export type { TensorInfo } from './probe.ts';
export { probeShapes } from './probe.ts';

export interface DifferentiateOptions {
  /** The output(s) (or any tensors) to differentiate; non-scalars are summed, several are added. */
  of: string | readonly string[];
  /**
   * 'ones' (default): differentiate sum(of). 'inputs': the model gets an input `<of>_seed` (same
   * shape as `of`) per `of`, and computes the vector-Jacobian product sum_k <seed_k, d of_k / d wrt>
   * (e.g. feed dLoss/dAttention computed elsewhere to get dLoss/dLatent).
   */
  seeds?: 'ones' | 'inputs';
  /** Graph inputs or initializers to differentiate with respect to. */
  wrt: readonly string[];
  /** Other tensors to expose as outputs (forward values). */
  keep?: readonly string[];
  /** Sizes for symbolic dims during the probe run. */
  dimSizes?: Record<string, number>;
  /** Shapes from an earlier `probeShapes(model, ...)` of the same model: skips probing (e.g. when
   * differentiating one model for several `of`/`wrt` sets). */
  shapes?: Map<string, TensorInfo>;
  /** Probe strategy (see probe.ts): 'light' (default, memory like inference) or 'full'. */
  probe?: 'light' | 'full';
  /** Inputs for the probe run (random otherwise). */
  probeFeeds?: Record<string, HostTensor>;
  /** Folder the model's external data is relative to (needed for probing such models). */
  baseDir?: string;
  /** Output name for each gradient; default `${name}_grad`. */
  gradName?: (name: string) => string;
}

export const MIN_OPSET = 13;
export const MAX_OPSET = 21;

/** Turns the named initializers into graph inputs (in place), keeping type and shape. */
export function promoteInitializers(graph: GraphProto, names: readonly string[]): void {
  for (const name of names) {
    const idx = graph.initializer.findIndex((t) => t.name === name);
    if (idx < 0) continue;
    const t = graph.initializer[idx]!;
    graph.initializer.splice(idx, 1);
    const dtype = onnxToDtype(t.dataType);
    const existing = graph.input.findIndex((i) => i.name === name);
    const vi = makeValueInfo(name, dtype, t.dims.map(Number));
    if (existing >= 0) graph.input[existing] = vi;
    else graph.input.push(vi);
  }
}

/** Kahn's algorithm (iterative, stable: keeps the given order where it is already valid). */
function topoSort(nodes: NodeProto[], available: Set<string>): NodeProto[] {
  const producer = new Map<string, number>();
  nodes.forEach((n, i) => n.output.forEach((o) => o && producer.set(o, i)));
  const indeg = new Array<number>(nodes.length).fill(0);
  const consumers: number[][] = nodes.map(() => []);
  nodes.forEach((n, i) => {
    const deps = new Set<number>();
    for (const inp of n.input) {
      if (!inp || available.has(inp)) continue;
      const p = producer.get(inp);
      if (p !== undefined && p !== i) deps.add(p);
    }
    indeg[i] = deps.size;
    for (const p of deps) consumers[p]!.push(i);
  });
  const ready: number[] = [];
  for (let i = nodes.length - 1; i >= 0; i--) if (indeg[i] === 0) ready.push(i);
  const order: NodeProto[] = [];
  // A min-ordered ready list keeps the original order for already-sorted graphs.
  while (ready.length) {
    ready.sort((a, b) => b - a);
    const i = ready.pop()!;
    order.push(nodes[i]!);
    for (const c of consumers[i]!) if (--indeg[c]! === 0) ready.push(c);
  }
  if (order.length !== nodes.length) {
    const stuck = nodes.find((_, i) => indeg[i]! > 0)!;
    throw new GradientError(`graph has a cycle or a missing input at node '${stuck.name}' (${stuck.opType})`);
  }
  return order;
}

export async function differentiate(model: ModelProto, opts: DifferentiateOptions): Promise<ModelProto> {
  const src = model.graph;
  if (!src) throw new GradientError('model has no graph');
  const opset = onnxOpset(model);
  if (opset < MIN_OPSET || opset > MAX_OPSET) throw new GradientError(`ai.onnx opset ${opset} is not supported (supported: ${MIN_OPSET} to ${MAX_OPSET})`);
  const gradName = opts.gradName ?? ((n: string) => `${n}_grad`);

  const out = cloneModel(model);
  const g = out.graph!;
  const inputNames = new Set(g.input.map((i) => i.name));
  const initNames = new Set(g.initializer.map((t) => t.name));
  const produced = new Set<string>();
  for (const n of g.node) for (const o of n.output) if (o) produced.add(o);
  const exists = (n: string) => inputNames.has(n) || initNames.has(n) || produced.has(n);

  // Validate names.
  const ofs: string[] = typeof opts.of === 'string' ? [opts.of] : [...opts.of];
  if (ofs.length === 0) throw new GradientError('nothing to differentiate (empty of)');
  for (const o of ofs) if (!exists(o)) throw new GradientError(`of '${o}' is not a tensor of the model (outputs: ${g.output.map((x) => x.name).join(', ')})`);
  for (const w of opts.wrt) {
    if (!inputNames.has(w) && !initNames.has(w)) throw new GradientError(`wrt '${w}' is not a graph input or initializer`);
  }
  for (const k of opts.keep ?? []) if (!exists(k)) throw new GradientError(`keep '${k}' is not a tensor of the model`);
  if (new Set(opts.wrt).size !== opts.wrt.length) throw new GradientError('wrt names repeat');

  // The emitter records nothing in `info`, but copy a caller's map anyway so it stays reusable.
  let info: Map<string, TensorInfo>;
  if (opts.shapes) info = new Map([...opts.shapes].map(([k, v]) => [k, { ...v }]));
  else {
    try {
      info = await probeShapes(model, { dimSizes: opts.dimSizes, feeds: opts.probeFeeds, baseDir: opts.baseDir, mode: opts.probe });
    } catch (err) {
      throw new GradientError(`running the model once to learn its shapes failed (give symbolic dimension sizes with dimSizes / --dim NAME=SIZE, or probeFeeds): ${(err as Error).message}`);
    }
  }
  for (const w of opts.wrt) {
    if (!isFloatDtype(info.get(w)?.dtype)) throw new GradientError(`wrt '${w}' is not a floating-point tensor (${info.get(w)?.dtype ?? 'unknown type'})`);
  }
  for (const o of ofs) if (!isFloatDtype(info.get(o)?.dtype)) throw new GradientError(`of '${o}' is not a floating-point tensor`);

  promoteInitializers(g, opts.wrt.filter((w) => initNames.has(w)));
  const graphInputs = new Set(g.input.map((i) => i.name));
  const nodes = topoSort(g.node, new Set([...graphInputs, ...g.initializer.map((t) => t.name)]));

  // Static values of small int tensors: initializers/Constant nodes are in the probe info already.
  const valueOf = (name: string): number[] | undefined => info.get(name)?.value;
  // True constants: initializers still initializers after promotion, and Constant node outputs.
  const constNames = new Set<string>(g.initializer.map((t) => t.name));
  for (const n of nodes) if (n.opType === 'Constant' && (n.domain === '' || n.domain === 'ai.onnx')) n.output.forEach((o) => o && constNames.add(o));
  const constValueOf = (name: string): number[] | undefined => (constNames.has(name) ? valueOf(name) : undefined);
  const producerOf = new Map<string, NodeProto>();
  for (const n of nodes) for (const o of n.output) if (o) producerOf.set(o, n);
  // Forward nodes a rule rebuilt (RuleContext.replaceForward).
  const replaced = new Map<NodeProto, NodeProto[]>();

  // Activity analysis (forward).
  const active = new Set<string>(opts.wrt);
  for (const n of nodes) {
    if (NON_DIFFERENTIABLE.has(n.opType)) continue;
    if (!n.input.some((i) => i && active.has(i))) continue;
    for (const o of n.output) if (o && isFloatDtype(info.get(o)?.dtype)) active.add(o);
  }
  // Reachability to `of` (backward).
  const reaches = new Set<string>(ofs);
  for (let i = nodes.length - 1; i >= 0; i--) {
    const n = nodes[i]!;
    if (n.output.some((o) => o && reaches.has(o))) for (const inp of n.input) if (inp) reaches.add(inp);
  }

  const used = new Set<string>([...graphInputs, ...g.initializer.map((t) => t.name), ...produced]);
  for (const n of g.node) used.add(n.name);
  const e = new Emitter(opset, used, info);

  const grads = new Map<string, string[]>();
  const addGrad = (name: string, gname: string) => {
    const l = grads.get(name);
    if (l) l.push(gname);
    else grads.set(name, [gname]);
  };
  const takeGrad = (name: string): string | undefined => {
    const l = grads.get(name);
    if (!l || l.length === 0) return undefined;
    if (l.length === 1) return l[0];
    const s = e.op('Sum', l);
    grads.set(name, [s]);
    return s;
  };

  const seedInputs = [];
  for (const o of ofs) {
    const dtype = info.get(o)!.dtype;
    if (opts.seeds === 'inputs') {
      const name = `${o}_seed`;
      if (used.has(name)) throw new GradientError(`seed input name '${name}' collides with an existing tensor`);
      used.add(name);
      const decl = model.graph!.output.find((x) => x.name === o) ?? model.graph!.input.find((x) => x.name === o);
      const dims = decl ? valueInfoShape(decl).dims : undefined;
      seedInputs.push(makeValueInfo(name, dtype, dims && dims.every((d) => d !== undefined) ? (dims as (number | string)[]) : undefined));
      if (active.has(o)) addGrad(o, name);
    } else if (active.has(o)) addGrad(o, e.onesLike(o, dtype));
  }

  for (let i = nodes.length - 1; i >= 0; i--) {
    const n = nodes[i]!;
    if (!n.input.some((x) => x && active.has(x))) continue;
    if (!n.output.some((o) => o && active.has(o) && reaches.has(o))) continue;
    const gy = n.output.map((o) => (o ? takeGrad(o) : undefined));
    if (gy.every((x) => x === undefined)) continue;
    if (n.domain !== '' && n.domain !== 'ai.onnx') throw new UnsupportedOpError(`${n.domain}.${n.opType}`, n.name, 'only ai.onnx operators are differentiable');
    const rule: GradRule | undefined = RULES[n.opType];
    if (!rule) throw new UnsupportedOpError(n.opType, n.name);
    e.prefix = `grad${n.name && n.name.startsWith('/') ? '' : '/'}${n.name || n.opType}`;
    const ctx: RuleContext = {
      node: n,
      inputs: [...n.input],
      outputs: [...n.output],
      gy,
      needs: n.input.map((x) => !!x && active.has(x)),
      attr: new AttrReader(n),
      opset,
      e,
      info: (name) => {
        const r = info.get(name);
        if (!r) throw new UnsupportedOpError(n.opType, n.name, `no type/shape known for tensor '${name}'`);
        return r;
      },
      shape: (name) => ctx.info(name).shape,
      dtype: (name) => ctx.info(name).dtype,
      value: valueOf,
      constValue: constValueOf,
      producer: (name) => producerOf.get(name),
      replaceForward: (build) => {
        const start = e.nodes.length;
        const prefix = e.prefix;
        e.prefix = n.name || n.opType;
        try {
          build();
        } finally {
          e.prefix = prefix;
        }
        replaced.set(n, e.nodes.splice(start));
      },
      forwardOutput: (index) => {
        while (n.output.length <= index) n.output.push('');
        if (!n.output[index]) {
          const name = e.fresh(`fwd_out${index}`);
          n.output[index] = name;
        }
        return n.output[index]!;
      },
      fail: (detail) => {
        throw new UnsupportedOpError(n.opType, n.name, detail);
      },
    };
    const gx = rule(ctx);
    n.input.forEach((inp, k) => {
      const gk = gx[k];
      if (!inp || !active.has(inp)) return;
      // A needed gradient the rule does not provide would silently be zero: refuse instead.
      if (!gk) throw new UnsupportedOpError(n.opType, n.name, `the gradient with respect to input ${k} ('${inp}') is not implemented`);
      if (gk !== FOLDED) addGrad(inp, gk);
    });
  }

  // Outputs.
  const outputs = [];
  const seen = new Set<string>();
  // Declared outputs keep their original value_info; other tensors get their type only (their
  // probed sizes may not hold for another batch size).
  const origOutputs = new Map(model.graph!.output.map((o) => [o.name, o]));
  const outVi = (name: string) => origOutputs.get(name) ?? makeValueInfo(name, info.get(name)!.dtype);
  for (const k of opts.keep ?? []) if (!seen.has(k)) { seen.add(k); outputs.push(outVi(k)); }
  for (const o of ofs) if (!seen.has(o)) { seen.add(o); outputs.push(outVi(o)); }
  e.prefix = 'grad';
  const outputIds = new Set<NodeProto>();
  for (const w of opts.wrt) {
    const gname = gradName(w);
    if (used.has(gname)) throw new GradientError(`gradient output name '${gname}' collides with an existing tensor`);
    const wInfo = info.get(w)!;
    const gw = takeGrad(w) ?? e.zerosLike(w, wInfo.dtype);
    const id = create(NodeProtoSchema, { opType: 'Identity', name: e.fresh('output'), input: [gw], output: [gname] });
    e.nodes.push(id);
    outputIds.add(id);
    used.add(gname);
    outputs.push(makeValueInfo(gname, wInfo.dtype, wInfo.shape.map((d, i) => symbolicDim(g, w, i) ?? d)));
  }
  renameGradientOutputs(e.nodes, outputIds, new Set([...outputs.map((o) => o.name), ...graphInputs]));

  // Assemble and prune.
  const allNodes = [...nodes.flatMap((n) => replaced.get(n) ?? [n]), ...e.nodes];
  const needed = new Set(outputs.map((o) => o.name));
  const keepNodes: NodeProto[] = [];
  for (let i = allNodes.length - 1; i >= 0; i--) {
    const n = allNodes[i]!;
    if (!n.output.some((o) => o && needed.has(o))) continue;
    keepNodes.push(n);
    for (const inp of n.input) if (inp) needed.add(inp);
  }
  keepNodes.reverse();
  g.node = keepNodes;
  g.initializer = [...g.initializer, ...e.initializers].filter((t) => needed.has(t.name));
  g.output = outputs;
  g.input.push(...seedInputs);
  g.valueInfo = g.valueInfo.filter((v) => needed.has(v.name));
  return out;
}

/**
 * The gradient outputs are first written as Identity(<backward tensor>) -> `<wrt>_grad`; where the
 * backward tensor is made by a backward node and is not itself an output or input, that node writes
 * `<wrt>_grad` directly (every use renamed) and the Identity goes: one node less per gradient
 * (hundreds for a UNet's weights, each a kernel launch per step).
 */
function renameGradientOutputs(backward: NodeProto[], outputIds: Set<NodeProto>, reserved: Set<string>): void {
  const producer = new Map<string, NodeProto>();
  for (const n of backward) for (const o of n.output) if (o) producer.set(o, n);
  const rename = new Map<string, string>();
  const drop = new Set<NodeProto>();
  for (const id of outputIds) {
    const from = id.input[0]!;
    const p = producer.get(from);
    // already claimed by another gradient output (shared tensor): this one keeps its Identity
    if (!p || p === id || reserved.has(from) || rename.has(from)) continue;
    const to = id.output[0]!;
    p.output = p.output.map((o) => (o === from ? to : o));
    rename.set(from, to);
    drop.add(id);
  }
  if (rename.size === 0) return;
  // one pass over the backward nodes renames every use
  for (const n of backward) if (n.input.some((i) => rename.has(i))) n.input = n.input.map((i) => rename.get(i) ?? i);
  backward.splice(0, backward.length, ...backward.filter((n) => !drop.has(n)));
}

/** The dim_param of a graph input's dimension, if symbolic (so outputs keep a symbolic batch). */
function symbolicDim(g: GraphProto, name: string, i: number): string | undefined {
  const vi = g.input.find((x) => x.name === name) ?? g.output.find((x) => x.name === name);
  if (!vi) return undefined;
  const d = valueInfoShape(vi).dims?.[i];
  return typeof d === 'string' ? d : undefined;
}

export type { DType };
