/**
 * A small typed builder for ONNX graphs.
 *
 *   const g = new GraphBuilder({ opset: 17 });
 *   const x = g.input('x', 'float32', [1, 4, 16, 16]);
 *   const w = g.initializer('w', Float32Array.from(...), [8, 4, 3, 3]);
 *   const y = g.op('Conv', [x, w], { strides: [1, 1], pads: [1, 1, 1, 1] }, { name: '/down/conv' });
 *   g.output(y, 'y');
 *   const model = g.toModel();
 *
 * Values are plain tensor names (strings). Attribute values are typed from their JavaScript
 * value: number (int if integral, unless wrapped with `float()`), number[] (ints, or floats when
 * any is fractional or wrapped with `floats()`), string, string[], TensorProto, or a GraphProto.
 */
import { create } from '@bufbuild/protobuf';
import {
  AttributeProtoSchema,
  AttributeProto_AttributeType,
  GraphProtoSchema,
  NodeProtoSchema,
  TensorShapeProtoSchema,
  TensorShapeProto_DimensionSchema,
  TypeProtoSchema,
  TypeProto_TensorSchema,
  ValueInfoProtoSchema,
  type AttributeProto,
  type GraphProto,
  type ModelProto,
  type NodeProto,
  type TensorProto,
  type ValueInfoProto,
} from 'onnx-buf';
import { dtypeToOnnx, makeTensor, newModel, makeOpset, type DType, type TypedArrayLike } from './model.ts';

/** A dimension: a number, or a symbolic name such as 'batch'. */
export type Dim = number | string;

/** Explicitly typed attribute values, for when the JavaScript value is ambiguous. */
export class TypedAttr {
  constructor(readonly type: 'float' | 'floats' | 'int' | 'ints', readonly value: number | readonly number[]) {}
}
export const float = (v: number) => new TypedAttr('float', v);
export const floats = (v: readonly number[]) => new TypedAttr('floats', v);
export const int = (v: number) => new TypedAttr('int', v);
export const ints = (v: readonly number[]) => new TypedAttr('ints', v);

export type AttrValue = number | readonly number[] | string | readonly string[] | TensorProto | GraphProto | TypedAttr | bigint | readonly bigint[];
export type Attrs = Record<string, AttrValue | undefined>;

export function makeAttribute(name: string, value: AttrValue): AttributeProto {
  const A = AttributeProto_AttributeType;
  const a = create(AttributeProtoSchema, { name });
  if (value instanceof TypedAttr) {
    const v = value.value;
    switch (value.type) {
      case 'float': a.type = A.FLOAT; a.f = v as number; break;
      case 'floats': a.type = A.FLOATS; a.floats = [...(v as number[])]; break;
      case 'int': a.type = A.INT; a.i = BigInt(v as number); break;
      case 'ints': a.type = A.INTS; a.ints = (v as number[]).map((x) => BigInt(x)); break;
    }
  } else if (typeof value === 'bigint') {
    a.type = A.INT; a.i = value;
  } else if (typeof value === 'number') {
    if (Number.isInteger(value)) { a.type = A.INT; a.i = BigInt(value); }
    else { a.type = A.FLOAT; a.f = value; }
  } else if (typeof value === 'string') {
    a.type = A.STRING; a.s = new TextEncoder().encode(value);
  } else if (Array.isArray(value)) {
    const arr = value as readonly unknown[];
    if (arr.length > 0 && typeof arr[0] === 'string') {
      a.type = A.STRINGS; a.strings = (arr as string[]).map((s) => new TextEncoder().encode(s));
    } else if (arr.length > 0 && typeof arr[0] === 'bigint') {
      a.type = A.INTS; a.ints = [...(arr as bigint[])];
    } else if ((arr as number[]).every((x) => Number.isInteger(x))) {
      a.type = A.INTS; a.ints = (arr as number[]).map((x) => BigInt(x));
    } else {
      a.type = A.FLOATS; a.floats = [...(arr as number[])];
    }
  } else if ((value as { $typeName?: string }).$typeName === 'onnx.TensorProto') {
    a.type = A.TENSOR; a.t = value as TensorProto;
  } else if ((value as { $typeName?: string }).$typeName === 'onnx.GraphProto') {
    a.type = A.GRAPH; a.g = value as GraphProto;
  } else {
    throw new Error(`attribute '${name}': unsupported value`);
  }
  return a;
}

export function makeValueInfo(name: string, dtype: DType, shape?: readonly Dim[]): ValueInfoProto {
  const tensorType = create(TypeProto_TensorSchema, { elemType: dtypeToOnnx(dtype) });
  if (shape) {
    tensorType.shape = create(TensorShapeProtoSchema, {
      dim: shape.map((d) =>
        create(TensorShapeProto_DimensionSchema, {
          value: typeof d === 'number' ? { case: 'dimValue', value: BigInt(d) } : { case: 'dimParam', value: d },
        }),
      ),
    });
  }
  return create(ValueInfoProtoSchema, { name, type: create(TypeProtoSchema, { value: { case: 'tensorType', value: tensorType } }) });
}

export interface GraphBuilderOptions {
  opset?: number;
  name?: string;
  /** Extra opset imports, e.g. { 'com.microsoft': 1 }. */
  domains?: Record<string, number>;
}

export class GraphBuilder {
  readonly opset: number;
  readonly nodes: NodeProto[] = [];
  readonly inputs: ValueInfoProto[] = [];
  readonly outputs: ValueInfoProto[] = [];
  readonly initializers: TensorProto[] = [];
  readonly valueInfo: ValueInfoProto[] = [];
  private readonly used = new Set<string>();
  private readonly counters = new Map<string, number>();
  private readonly name: string;
  private readonly domains: Record<string, number>;

  constructor(opts: GraphBuilderOptions = {}) {
    this.opset = opts.opset ?? 17;
    this.name = opts.name ?? 'graph';
    this.domains = opts.domains ?? {};
  }

  /** Returns `base` if unused, else `base_1`, `base_2`, ...; marks the result used. */
  unique(base: string): string {
    let name = base;
    while (this.used.has(name)) {
      const k = (this.counters.get(base) ?? 0) + 1;
      this.counters.set(base, k);
      name = `${base}_${k}`;
    }
    this.used.add(name);
    return name;
  }

  /** Marks existing names (e.g. of a graph being extended) as taken. */
  reserve(names: Iterable<string>): void {
    for (const n of names) this.used.add(n);
  }

  input(name: string, dtype: DType, shape?: readonly Dim[]): string {
    if (this.used.has(name)) throw new Error(`name '${name}' is already used`);
    this.used.add(name);
    this.inputs.push(makeValueInfo(name, dtype, shape));
    return name;
  }

  initializer(name: string, data: TypedArrayLike, dims: readonly number[], dtype?: DType): string;
  initializer(name: string, ctor: Float32ArrayConstructor | Float64ArrayConstructor, dims: readonly number[]): string;
  initializer(name: string, data: TypedArrayLike | Float32ArrayConstructor | Float64ArrayConstructor, dims: readonly number[], dtype?: DType): string {
    const unique = this.unique(name);
    const size = dims.reduce((a, d) => a * d, 1);
    const arr = typeof data === 'function' ? new data(size) : data;
    this.initializers.push(makeTensor(unique, arr, dims, dtype));
    return unique;
  }

  /** A Constant node holding `data`. */
  constant(data: TypedArrayLike, dims: readonly number[], opts: { name?: string; dtype?: DType } = {}): string {
    const out = this.unique(opts.name ?? 'const');
    this.nodes.push(create(NodeProtoSchema, { opType: 'Constant', name: this.unique(`${out}/Constant`), input: [], output: [out], attribute: [makeAttribute('value', makeTensor(out, data, dims, opts.dtype))] }));
    return out;
  }

  /** Adds a node with one output; returns the output name. */
  op(opType: string, inputs: readonly (string | undefined)[], attrs: Attrs = {}, opts: { name?: string; output?: string; domain?: string } = {}): string {
    const [out] = this.opN(opType, inputs, 1, attrs, opts.output ? { ...opts, outputs: [opts.output] } : opts);
    return out!;
  }

  /** Adds a node with `nOutputs` outputs (names may be '' for skipped optional outputs via opts.outputs). */
  opN(opType: string, inputs: readonly (string | undefined)[], nOutputs: number, attrs: Attrs = {}, opts: { name?: string; outputs?: string[]; domain?: string } = {}): string[] {
    const nodeName = this.unique(opts.name ?? `/${opType}`);
    const outputs: string[] = [];
    for (let i = 0; i < nOutputs; i++) {
      const given = opts.outputs?.[i];
      if (given !== undefined) {
        if (given !== '' && this.used.has(given)) throw new Error(`output name '${given}' is already used`);
        if (given !== '') this.used.add(given);
        outputs.push(given);
      } else outputs.push(this.unique(`${nodeName}_output_${i}`));
    }
    const attribute: AttributeProto[] = [];
    for (const [k, v] of Object.entries(attrs)) if (v !== undefined) attribute.push(makeAttribute(k, v));
    this.nodes.push(create(NodeProtoSchema, { opType, name: nodeName, domain: opts.domain ?? '', input: inputs.map((i) => i ?? ''), output: outputs, attribute }));
    return outputs;
  }

  /** Declares `value` a graph output named `name` (an Identity is inserted if the names differ). */
  output(value: string, name: string = value, dtype: DType = 'float32', shape?: readonly Dim[]): string {
    let v = value;
    if (name !== value) {
      if (this.used.has(name)) throw new Error(`name '${name}' is already used`);
      this.used.add(name);
      this.nodes.push(create(NodeProtoSchema, { opType: 'Identity', name: this.unique(`/output/${name}`), input: [value], output: [name] }));
      v = name;
    }
    this.outputs.push(makeValueInfo(v, dtype, shape));
    return v;
  }

  /** Records a shape annotation for an intermediate value. */
  annotate(value: string, dtype: DType, shape: readonly Dim[]): void {
    this.valueInfo.push(makeValueInfo(value, dtype, shape));
  }

  toGraph(): GraphProto {
    return create(GraphProtoSchema, {
      name: this.name,
      node: this.nodes,
      input: this.inputs,
      output: this.outputs,
      initializer: this.initializers,
      valueInfo: this.valueInfo,
    });
  }

  toModel(): ModelProto {
    const m = newModel(this.toGraph(), this.opset);
    for (const [d, v] of Object.entries(this.domains)) m.opsetImport.push(makeOpset(d, v));
    return m;
  }
}
