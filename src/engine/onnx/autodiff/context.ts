/**
 * What a gradient rule sees: the forward node, its tensors' probed types/shapes, the gradients of
 * its outputs, and an emitter that appends backward nodes using only ai.onnx operators at the
 * model's opset (axes as inputs or attributes as the opset requires).
 */
import { create } from '@bufbuild/protobuf';
import { NodeProtoSchema, AttributeProto_AttributeType, type AttributeProto, type NodeProto, type TensorProto } from 'onnx-buf';
import { makeAttribute, type Attrs } from '../builder.ts';
import { makeTensor, toHalf, type DType } from '../model.ts';
import type { TensorInfo } from './probe.ts';

export class UnsupportedOpError extends Error {
  constructor(readonly opType: string, readonly nodeName: string, detail?: string) {
    super(`no gradient rule for op '${opType}' (node '${nodeName}')${detail ? `: ${detail}` : ''}`);
    this.name = 'UnsupportedOpError';
  }
}

export class GradientError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GradientError';
  }
}

/** Reads a node's attributes with defaults. */
export class AttrReader {
  private readonly map = new Map<string, AttributeProto>();
  constructor(node: NodeProto) {
    for (const a of node.attribute) this.map.set(a.name, a);
  }
  has(name: string): boolean {
    return this.map.has(name);
  }
  int(name: string, def: number): number {
    const a = this.map.get(name);
    return a ? Number(a.i) : def;
  }
  float(name: string, def: number): number {
    const a = this.map.get(name);
    return a ? a.f : def;
  }
  ints(name: string): number[] | undefined {
    const a = this.map.get(name);
    return a ? a.ints.map(Number) : undefined;
  }
  floats(name: string): number[] | undefined {
    const a = this.map.get(name);
    return a ? [...a.floats] : undefined;
  }
  string(name: string, def: string): string {
    const a = this.map.get(name);
    return a && a.type === AttributeProto_AttributeType.STRING ? new TextDecoder().decode(a.s) : def;
  }
}

/** Appends backward nodes and constants; names are unique against the whole model. */
export class Emitter {
  readonly nodes: NodeProto[] = [];
  readonly initializers: TensorProto[] = [];
  private readonly used: Set<string>;
  private readonly constCache = new Map<string, string>();
  private readonly shapeCache = new Map<string, string>();
  private readonly transposeCache = new Map<string, string>();
  private counter = 0;
  /** Types of emitted tensors where known (for rules that chain on them). */
  readonly info: Map<string, TensorInfo>;
  prefix = 'grad';

  constructor(readonly opset: number, used: Set<string>, info: Map<string, TensorInfo>) {
    this.used = used;
    this.info = info;
  }

  fresh(base: string): string {
    let n = `${this.prefix}/${base}`;
    while (this.used.has(n)) n = `${this.prefix}/${base}_${++this.counter}`;
    this.used.add(n);
    return n;
  }

  /** Emits one node; returns its outputs. */
  opN(opType: string, inputs: readonly (string | undefined)[], nOut: number, attrs: Attrs = {}): string[] {
    const outs = Array.from({ length: nOut }, () => this.fresh(`${opType}_out`));
    const attribute: AttributeProto[] = [];
    for (const [k, v] of Object.entries(attrs)) if (v !== undefined) attribute.push(makeAttribute(k, v));
    this.nodes.push(create(NodeProtoSchema, { opType, name: this.fresh(opType), input: inputs.map((i) => i ?? ''), output: outs, attribute }));
    return outs;
  }

  op(opType: string, inputs: readonly (string | undefined)[], attrs: Attrs = {}): string {
    return this.opN(opType, inputs, 1, attrs)[0]!;
  }

  /** Emits one node writing the given (existing) output names, e.g. a forward tensor being rebuilt. */
  opTo(opType: string, inputs: readonly (string | undefined)[], outputs: readonly string[], attrs: Attrs = {}): void {
    const attribute: AttributeProto[] = [];
    for (const [k, v] of Object.entries(attrs)) if (v !== undefined) attribute.push(makeAttribute(k, v));
    this.nodes.push(create(NodeProtoSchema, { opType, name: this.fresh(opType), input: inputs.map((i) => i ?? ''), output: [...outputs], attribute }));
  }

  /** A constant tensor (as an initializer), deduplicated. */
  constant(values: readonly number[], dtype: DType, dims: readonly number[] = [values.length]): string {
    const key = `${dtype}:${dims.join('x')}:${values.join(',')}`;
    const hit = this.constCache.get(key);
    if (hit) return hit;
    const name = this.fresh(dtype === 'int64' ? 'const_i64' : 'const');
    let data;
    switch (dtype) {
      case 'float32': data = Float32Array.from(values); break;
      case 'float64': data = Float64Array.from(values); break;
      case 'float16': data = Uint16Array.from(values, toHalf); break;
      case 'int64': data = BigInt64Array.from(values.map((v) => BigInt(v))); break;
      case 'int32': data = Int32Array.from(values); break;
      case 'bool': data = Uint8Array.from(values); break;
      default: throw new Error(`constant of type ${dtype}`);
    }
    this.initializers.push(makeTensor(name, data, dims, dtype));
    this.constCache.set(key, name);
    return name;
  }

  scalar(value: number, dtype: DType): string {
    return this.constant([value], dtype, []);
  }

  ints(values: readonly number[]): string {
    return this.constant(values, 'int64', [values.length]);
  }

  shapeOf(x: string): string {
    const hit = this.shapeCache.get(x);
    if (hit) return hit;
    const s = this.op('Shape', [x]);
    this.shapeCache.set(x, s);
    return s;
  }

  reduceSum(x: string, axes: readonly number[], keepdims: boolean): string {
    return this.op('ReduceSum', [x, this.ints(axes)], { keepdims: keepdims ? 1 : 0 });
  }

  /** ReduceMean/ReduceMax/... with axes as input (opset >= 18) or attribute. */
  reduce(op: string, x: string, axes: readonly number[], keepdims: boolean): string {
    if (op === 'ReduceSum') return this.reduceSum(x, axes, keepdims);
    if (this.opset >= 18) return this.op(op, [x, this.ints(axes)], { keepdims: keepdims ? 1 : 0 });
    return this.op(op, [x], { axes: [...axes], keepdims: keepdims ? 1 : 0 });
  }

  unsqueeze(x: string, axes: readonly number[]): string {
    return this.op('Unsqueeze', [x, this.ints(axes)]);
  }

  squeeze(x: string, axes: readonly number[]): string {
    return this.op('Squeeze', [x, this.ints(axes)]);
  }

  reshape(x: string, shape: readonly number[] | string): string {
    return this.op('Reshape', [x, typeof shape === 'string' ? shape : this.ints(shape)]);
  }

  /** Reshape to the runtime shape of `like`. */
  reshapeLike(x: string, like: string): string {
    return this.op('Reshape', [x, this.shapeOf(like)]);
  }

  /** Transposes are memoized per (tensor, perm): rules that need the same layout of a shared
   * tensor (e.g. the weight gradients of two convolutions reading one activation) emit it once. */
  transpose(x: string, perm: readonly number[]): string {
    const key = `${x}\u0000${perm.join(',')}`;
    const hit = this.transposeCache.get(key);
    if (hit) return hit;
    const t = this.op('Transpose', [x], { perm: [...perm] });
    this.transposeCache.set(key, t);
    return t;
  }

  slice(x: string, starts: readonly number[], ends: readonly number[], axes: readonly number[], steps?: readonly number[]): string {
    return this.op('Slice', [x, this.ints(starts), this.ints(ends), this.ints(axes), steps ? this.ints(steps) : undefined]);
  }

  /** Zeros with the runtime shape of `like` and element type `dtype`. */
  zerosLike(like: string, dtype: DType): string {
    return this.op('ConstantOfShape', [this.shapeOf(like)], { value: makeTensor('value', zeroArray(dtype), [1], dtype) });
  }

  onesLike(like: string, dtype: DType): string {
    const one = zeroArray(dtype);
    one[0] = (dtype === 'float16' ? toHalf(1) : dtype === 'int64' ? 1n : 1) as never;
    return this.op('ConstantOfShape', [this.shapeOf(like)], { value: makeTensor('value', one, [1], dtype) });
  }

  /**
   * Sums `g` (whose shape is `gShape`) down to the shape of `target` (numpy broadcasting). `like`
   * names a forward tensor with g's shape, whose probe info tells which size-1 dims are really
   * symbolic (probed at 1) and so may broadcast at run time.
   */
  unbroadcast(g: string, gShape: readonly number[], target: string, tShape: readonly number[], like?: string | readonly boolean[]): string {
    const r = gShape.length;
    const tr = tShape.length;
    const gVar = typeof like === 'string' ? this.info.get(like)?.varying : like;
    const tVar = this.info.get(target)?.varying;
    const axes: number[] = [];
    for (let i = 0; i < r; i++) {
      const j = i - (r - tr);
      if (j < 0) axes.push(i);
      else if (tShape[j] === 1 && !tVar?.[j] && (gShape[i] !== 1 || gVar?.[i])) axes.push(i);
    }
    if (axes.length === 0 && r === tr) return g;
    const s = axes.length ? this.reduceSum(g, axes, true) : g;
    if (r === tr) return s;
    return this.reshapeLike(s, target);
  }
}

function zeroArray(dtype: DType) {
  switch (dtype) {
    case 'float32': return new Float32Array(1);
    case 'float64': return new Float64Array(1);
    case 'float16': return new Uint16Array(1);
    case 'int64': return new BigInt64Array(1);
    case 'int32': return new Int32Array(1);
    default: throw new Error(`zeros of type ${dtype}`);
  }
}

export interface RuleContext {
  node: NodeProto;
  /** The node's input names ('' for omitted optional inputs). */
  inputs: string[];
  outputs: string[];
  /** Gradient of each output (undefined: the output does not reach the differentiated value). */
  gy: (string | undefined)[];
  /** Which inputs need a gradient. */
  needs: boolean[];
  attr: AttrReader;
  opset: number;
  e: Emitter;
  info(name: string): TensorInfo;
  shape(name: string): number[];
  dtype(name: string): DType;
  /** Static values of a small integer tensor (initializer, Constant, or probed). */
  value(name: string): number[] | undefined;
  /** Values of a small tensor that is a true constant (an initializer not fed as an input, or a
   * Constant node's output); undefined otherwise, even where a probe saw a value. */
  constValue(name: string): number[] | undefined;
  /** The forward node producing a tensor (undefined for graph inputs and initializers). */
  producer(name: string): NodeProto | undefined;
  /** Makes the forward node produce its optional output `index` (e.g. LayerNorm's Mean); returns its name. */
  forwardOutput(index: number): string;
  /**
   * Replaces the forward node by the nodes `build` emits (through `e`, in the forward's place), which
   * must write every output of the node that is used; lets a rule rebuild the forward so that it
   * also yields what the backward needs (e.g. normalization statistics) instead of recomputing it.
   * `build` must not use the Emitter's memoized helpers (shapeOf, transpose, reshapeLike,
   * zerosLike, onesLike): their cached nodes could sit in the backward part of the graph.
   */
  replaceForward(build: () => void): void;
  fail(detail: string): never;
}

/**
 * Returned by a rule for an input whose contribution it has already folded into another input's
 * gradient (e.g. SiLU's x * Sigmoid(x): the Sigmoid path is folded into x's gradient).
 */
export const FOLDED = '\u0000folded';

/** A gradient rule returns, for each input, the name of its gradient (or undefined for none). */
export type GradRule = (ctx: RuleContext) => (string | undefined)[];
