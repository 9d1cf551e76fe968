/**
 * Small ONNX graph-composition helpers for the Shape World training graphs.
 *
 * `embedGraph` copies one model's graph into a target graph. Every non-initializer value name and
 * every node name of the source gets a prefix (so two graphs with overlapping names such as
 * `sample` or `/conv_in/Conv_output_0` can live side by side), except
 *   - initializers: they keep their names (the weights stay named like the component model's
 *     state dict, so gradients map straight back to each component), and
 *   - the source's graph inputs, which are wired to target tensors through `inputs`.
 * It returns the target names of the source's graph outputs.
 *
 * `GraphOps` appends plain ai.onnx nodes (the loss arithmetic) with unique names.
 * `structureHash` hashes a model without its initializer data (architecture only).
 */
import { createHash } from 'node:crypto';
import { create } from '@bufbuild/protobuf';
import { GraphProtoSchema, NodeProtoSchema, type GraphProto, type ModelProto, type NodeProto } from 'onnx-buf';
import { makeAttribute, makeValueInfo, type Attrs, type Dim } from '../../onnx/builder.ts';
import { cloneModel, makeTensor, newModel, onnxOpset, serializeModel, type DType, type TensorProto } from '../../onnx/model.ts';

export class GraphMergeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GraphMergeError';
  }
}

/** All names (values and nodes) currently used in a graph. */
function usedNames(g: GraphProto): Set<string> {
  const s = new Set<string>();
  for (const i of g.input) s.add(i.name);
  for (const t of g.initializer) s.add(t.name);
  for (const n of g.node) {
    if (n.name) s.add(n.name);
    for (const o of n.output) if (o) s.add(o);
  }
  return s;
}

function sameTensorShape(a: TensorProto, b: TensorProto): boolean {
  return a.dataType === b.dataType && a.dims.length === b.dims.length && a.dims.every((d, i) => d === b.dims[i]);
}

export interface EmbedOptions {
  /** Prefix for the source's node names and non-initializer value names, e.g. `dec/`. */
  prefix: string;
  /** Source graph input name -> target tensor name. Every source graph input must be given. */
  inputs: Record<string, string>;
}

/**
 * Copies `src`'s nodes and initializers into `target` (in place). Returns source output name ->
 * target tensor name.
 */
export function embedGraph(target: GraphProto, src: ModelProto, opts: EmbedOptions): Map<string, string> {
  const sg = src.graph;
  if (!sg) throw new GraphMergeError('source model has no graph');
  const inits = new Set(sg.initializer.map((t) => t.name));
  for (const vi of sg.input) {
    if (inits.has(vi.name)) continue;
    if (opts.inputs[vi.name] === undefined) throw new GraphMergeError(`source graph input '${vi.name}' is not wired (inputs: ${Object.keys(opts.inputs).join(', ') || 'none'})`);
  }
  for (const k of Object.keys(opts.inputs)) {
    if (!sg.input.some((vi) => vi.name === k)) throw new GraphMergeError(`'${k}' is not an input of the source graph`);
  }
  const taken = usedNames(target);
  const targetInits = new Map(target.initializer.map((t) => [t.name, t]));
  const rename = (v: string): string => {
    if (v === '') return v;
    const mapped = opts.inputs[v];
    if (mapped !== undefined) return mapped;
    if (inits.has(v)) return v;
    return opts.prefix + v;
  };
  // Initializers: shared by name; the same name must mean the same tensor shape.
  for (const t of sg.initializer) {
    const existing = targetInits.get(t.name);
    if (existing) {
      if (!sameTensorShape(existing, t)) throw new GraphMergeError(`initializer '${t.name}' exists in both graphs with different shapes`);
      continue;
    }
    if (taken.has(t.name)) throw new GraphMergeError(`initializer '${t.name}' collides with a tensor of the target graph`);
    target.initializer.push(t);
    targetInits.set(t.name, t);
    taken.add(t.name);
  }
  for (const n of sg.node) {
    for (const a of n.attribute) if (a.g || a.graphs.length > 0) throw new GraphMergeError(`node '${n.name}' (${n.opType}) has a subgraph attribute; not supported`);
    const outputs = n.output.map((o) => {
      const r = rename(o);
      if (r && taken.has(r)) throw new GraphMergeError(`value '${r}' (from '${o}') already exists in the target graph`);
      if (r) taken.add(r);
      return r;
    });
    const name = n.name ? opts.prefix + n.name : '';
    if (name && taken.has(name)) throw new GraphMergeError(`node name '${name}' already exists in the target graph`);
    if (name) taken.add(name);
    const copy: NodeProto = create(NodeProtoSchema, { ...n, name, input: n.input.map(rename), output: outputs });
    target.node.push(copy);
  }
  const out = new Map<string, string>();
  for (const o of sg.output) out.set(o.name, rename(o.name));
  return out;
}

/** Appends ai.onnx nodes to a graph under a name prefix. */
export class GraphOps {
  private count = 0;
  private readonly taken: Set<string>;
  constructor(
    readonly graph: GraphProto,
    readonly prefix: string,
  ) {
    this.taken = usedNames(graph);
  }

  private fresh(base: string): string {
    let name = `${this.prefix}${base}`;
    while (this.taken.has(name)) name = `${this.prefix}${base}_${++this.count}`;
    this.taken.add(name);
    return name;
  }

  /** Adds a node; returns its (first) output. `output` fixes the output's name. */
  op(opType: string, inputs: readonly string[], attrs: Attrs = {}, output?: string): string {
    const out = output ?? this.fresh(`${opType}_out`);
    if (output !== undefined) {
      if (this.taken.has(output)) throw new GraphMergeError(`value '${output}' already exists`);
      this.taken.add(output);
    }
    const attribute = Object.entries(attrs)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => makeAttribute(k, v!));
    this.graph.node.push(create(NodeProtoSchema, { opType, name: this.fresh(`/${opType}`), input: [...inputs], output: [out], attribute }));
    return out;
  }

  /** A float32 scalar (or small vector) Constant node. */
  constF(values: readonly number[], dims: readonly number[] = []): string {
    const out = this.fresh('const');
    this.graph.node.push(create(NodeProtoSchema, { opType: 'Constant', name: this.fresh('/Constant'), input: [], output: [out], attribute: [makeAttribute('value', makeTensor(out, Float32Array.from(values), dims))] }));
    return out;
  }

  /** An int64 Constant node. */
  constI(values: readonly number[], dims: readonly number[] = [values.length]): string {
    const out = this.fresh('const');
    this.graph.node.push(create(NodeProtoSchema, { opType: 'Constant', name: this.fresh('/Constant'), input: [], output: [out], attribute: [makeAttribute('value', makeTensor(out, BigInt64Array.from(values, (v) => BigInt(v)), dims))] }));
    return out;
  }

  input(name: string, dtype: DType, shape: readonly Dim[]): string {
    if (this.taken.has(name)) throw new GraphMergeError(`input '${name}' already exists`);
    this.taken.add(name);
    this.graph.input.push(makeValueInfo(name, dtype, shape));
    return name;
  }

  /** Declares a graph output named `name` (an Identity when `value` has another name). */
  output(value: string, name: string, dtype: DType = 'float32', shape?: readonly Dim[]): string {
    const v = value === name ? value : this.op('Identity', [value], {}, name);
    this.graph.output.push(makeValueInfo(v, dtype, shape));
    return v;
  }
}

/** An empty graph, and a model around a graph at the components' opset. */
export function emptyGraph(name: string): GraphProto {
  return create(GraphProtoSchema, { name });
}

export function modelFor(graph: GraphProto, like: ModelProto): ModelProto {
  return newModel(graph, onnxOpset(like));
}

/**
 * sha256 (hex) of a model's structure: the serialized model with initializer data removed (names,
 * types and shapes stay), so the hash changes with the architecture, not with the weights.
 */
export function structureHash(models: readonly ModelProto[], extra: unknown = null): string {
  const h = createHash('sha256');
  for (const m of models) {
    const c = cloneModel(m);
    for (const t of c.graph!.initializer) {
      t.rawData = new Uint8Array(0);
      t.floatData = [];
      t.int64Data = [];
      t.int32Data = [];
      t.doubleData = [];
    }
    c.docString = '';
    c.graph!.docString = '';
    c.graph!.name = '';
    h.update(serializeModel(c));
  }
  h.update(JSON.stringify(extra));
  return h.digest('hex');
}
