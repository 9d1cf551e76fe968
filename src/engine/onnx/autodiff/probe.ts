/**
 * Shape/type discovery by probing: run the forward graph once with onnxruntime, every node
 * output added as a graph output, and record each tensor's element type and concrete shape
 * (and the values of small integer tensors, which carry static shape arithmetic such as Slice
 * starts or Reshape targets).
 *
 * Symbolic input dimensions get distinct sizes (2, 3, 5, 7, ... unless given), so a dimension that
 * is 1 in the probe really is a broadcast dimension. Rules that depend on runtime sizes read them
 * with Shape() in the generated graph, so a symbolic batch dimension keeps working at other sizes.
 */
import { create } from '@bufbuild/protobuf';
import { GraphProtoSchema, ModelProtoSchema, NodeProtoSchema, ValueInfoProtoSchema, TensorProto_DataLocation, type GraphProto, type ModelProto, type ValueInfoProto } from 'onnx-buf';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { onnxToDtype, allTensors, makeTensor, saveModel, tensorValues, toHalf, type DType } from '../model.ts';
import { createSession, type HostTensor } from '../session.ts';

export interface TensorInfo {
  dtype: DType;
  shape: number[];
  /** Dims that followed a symbolic input dim probed at size 1 (found by a second probe at size 2):
   * they are 1 here but not in general, so they are never treated as broadcast dims. */
  varying?: boolean[];
  /** Values of small numeric tensors (<= 64 elements). */
  value?: number[];
}

export interface ProbeOptions {
  /** Sizes for symbolic dimensions by dim_param name. */
  dimSizes?: Record<string, number>;
  /** Explicit inputs for the probe run; others are random (floats) or zeros (ints). */
  feeds?: Record<string, HostTensor>;
  /** Folder external-data locations are relative to. */
  baseDir?: string;
  seed?: number;
  /** 'light' (default): fetch only shapes, one element and small tensors (two runs, memory like
   * inference); 'full': fetch every intermediate (one run, all activations held at once). */
  mode?: 'light' | 'full';
  /** Light mode only: skip the second run that reads small tensors' values. */
  shapesOnly?: boolean;
}

const SMALL = 64;
const NUMERIC = new Set<DType>(['int64', 'int32', 'float32', 'float64', 'bool', 'uint8', 'int8']);
const PRIMES = [2, 3, 5, 7, 11, 13, 17, 19];

export function valueInfoShape(vi: ValueInfoProto): { dtype?: DType; dims?: (number | string | undefined)[] } {
  if (vi.type?.value.case !== 'tensorType') return {};
  const t = vi.type.value.value;
  let dtype: DType | undefined;
  try {
    dtype = onnxToDtype(t.elemType);
  } catch {
    dtype = undefined;
  }
  const dims = t.shape ? t.shape.dim.map((d) => (d.value.case === 'dimValue' ? Number(d.value.value) : d.value.case === 'dimParam' ? d.value.value : undefined)) : undefined;
  return { dtype, dims };
}

function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function makeFeed(dtype: DType, dims: number[], rand: () => number): HostTensor {
  const n = dims.reduce((a, d) => a * d, 1);
  switch (dtype) {
    case 'float32': return { data: Float32Array.from({ length: n }, () => rand() * 2 - 1), dims };
    case 'float64': return { data: Float64Array.from({ length: n }, () => rand() * 2 - 1), dims };
    case 'float16': return { data: Uint16Array.from({ length: n }, () => toHalf(rand() * 2 - 1)), dims, dtype: 'float16' };
    case 'int64': return { data: new BigInt64Array(n), dims };
    case 'int32': return { data: new Int32Array(n), dims };
    case 'bool': return { data: new Uint8Array(n), dims, dtype: 'bool' };
    default: throw new Error(`probe: cannot make a ${dtype} input`);
  }
}

/** Concrete dims for a graph input, resolving symbolic ones. */
export function concreteInputDims(vi: ValueInfoProto, sym: Map<string, number>, dimSizes: Record<string, number> = {}): number[] {
  const { dims } = valueInfoShape(vi);
  if (!dims) throw new Error(`probe: graph input '${vi.name}' has no shape; give it in feeds`);
  return dims.map((d, i) => {
    if (typeof d === 'number' && d >= 0) return d;
    const key = typeof d === 'string' ? d : `${vi.name}:${i}`;
    if (dimSizes[key] !== undefined) {
      sym.set(key, dimSizes[key]);
      return dimSizes[key];
    }
    if (!sym.has(key)) sym.set(key, PRIMES[sym.size % PRIMES.length]!);
    return sym.get(key)!;
  });
}

/**
 * Probes the model; if some symbolic input dim is probed at size 1 (because dimSizes says so),
 * probes again with it at 2 to learn which size-1 dims follow it (TensorInfo.varying). If that
 * second run fails (a model that only works at size 1), the first result is used as is.
 */
export async function probeShapes(model: ModelProto, opts: ProbeOptions = {}): Promise<Map<string, TensorInfo>> {
  const sym = new Map<string, number>();
  const info = await probeModel(model, opts, sym);
  const ones = [...sym.entries()].filter(([, v]) => v === 1).map(([k]) => k);
  if (ones.length === 0) return info;
  let second: Map<string, TensorInfo>;
  try {
    second = await probeModel(model, { ...opts, shapesOnly: true, dimSizes: { ...opts.dimSizes, ...Object.fromEntries(ones.map((k) => [k, 2])) } });
  } catch {
    return info;
  }
  for (const [name, a] of info) {
    const b = second.get(name);
    if (!b || b.shape.length !== a.shape.length) continue;
    const varying = a.shape.map((d, i) => d !== b.shape[i]);
    if (varying.some(Boolean)) a.varying = varying;
  }
  return info;
}

export async function probeModel(model: ModelProto, opts: ProbeOptions = {}, symOut?: Map<string, number>): Promise<Map<string, TensorInfo>> {
  const info = new Map<string, TensorInfo>();
  const g = model.graph!;
  const rand = rng(opts.seed ?? 1234);
  // Initializers: known without running.
  const initNames = new Set(g.initializer.map((t) => t.name));
  for (const t of g.initializer) {
    const dtype = onnxToDtype(t.dataType);
    const shape = t.dims.map(Number);
    const rec: TensorInfo = { dtype, shape };
    if (NUMERIC.has(dtype) && shape.reduce((a, d) => a * d, 1) <= SMALL && t.dataLocation !== TensorProto_DataLocation.EXTERNAL) {
      rec.value = Array.from(tensorValues(t).data as ArrayLike<number | bigint>, Number);
    }
    info.set(t.name, rec);
  }
  const feeds: Record<string, HostTensor> = {};
  const sym = symOut ?? new Map<string, number>();
  for (const vi of g.input) {
    if (initNames.has(vi.name)) continue;
    const given = opts.feeds?.[vi.name];
    if (given) {
      feeds[vi.name] = given;
      continue;
    }
    const { dtype } = valueInfoShape(vi);
    if (!dtype) throw new Error(`probe: graph input '${vi.name}' has no tensor type`);
    feeds[vi.name] = makeFeed(dtype, concreteInputDims(vi, sym, opts.dimSizes), rand);
  }
  for (const [name, f] of Object.entries(feeds)) {
    const vi = g.input.find((i) => i.name === name);
    const dtype = (vi && valueInfoShape(vi).dtype) ?? 'float32';
    info.set(name, { dtype, shape: [...f.dims], value: NUMERIC.has(dtype) && f.data.length <= SMALL && !(f.data instanceof Uint16Array) ? Array.from(f.data as ArrayLike<number | bigint>, Number) : undefined });
  }
  const produced: string[] = [];
  const seen = new Set<string>();
  for (const n of g.node) for (const o of n.output) if (o && !seen.has(o)) {
    seen.add(o);
    produced.push(o);
  }
  if ((opts.mode ?? 'light') === 'light') {
    try {
      await probeLight(model, produced, feeds, opts, info);
      return info;
    } catch (err) {
      // e.g. a non-tensor value (sequence) somewhere: fall back to fetching every value.
      if (process.env.STEER_DEBUG === '1') process.stderr.write(`light probe failed, fetching every tensor: ${(err as Error).message}\n`);
    }
  }
  const probe = withGraph(model, { output: produced.map((name) => create(ValueInfoProtoSchema, { name })) });
  const res = await runProbe(probe, feeds, opts);
  for (const [name, t] of Object.entries(res)) {
    const dtype = ortTypeToDtype(t.type);
    const rec: TensorInfo = { dtype, shape: [...t.dims] };
    if (NUMERIC.has(dtype) && t.size <= SMALL) rec.value = Array.from(t.data as ArrayLike<number | bigint>, Number);
    info.set(name, rec);
  }
  return info;
}

/**
 * Memory-light probe: first run outputs only Shape(t) and one element of every tensor t (so the
 * runtime frees activations as usual), second run fetches the tensors with <= 64 elements.
 */
async function probeLight(model: ModelProto, produced: string[], feeds: Record<string, HostTensor>, opts: ProbeOptions, info: Map<string, TensorInfo>): Promise<void> {
  const flat = '__probe__/flat';
  const zero = '__probe__/zero';
  const one = '__probe__/one';
  const g = model.graph!;
  const nodes = [...g.node];
  const outs: string[] = [];
  produced.forEach((name, i) => {
    const sh = `__probe__/shape/${i}`;
    const r = `__probe__/flat/${i}`;
    const el = `__probe__/elem/${i}`;
    nodes.push(
      create(NodeProtoSchema, { opType: 'Shape', name: `__probe__/Shape/${i}`, input: [name], output: [sh] }),
      create(NodeProtoSchema, { opType: 'Reshape', name: `__probe__/Reshape/${i}`, input: [name, flat], output: [r] }),
      create(NodeProtoSchema, { opType: 'Slice', name: `__probe__/Slice/${i}`, input: [r, zero, one], output: [el] }),
    );
    outs.push(sh, el);
  });
  const probe = withGraph(model, {
    node: nodes,
    initializer: [...g.initializer, makeTensor(flat, BigInt64Array.of(-1n), [1]), makeTensor(zero, BigInt64Array.of(0n), [1]), makeTensor(one, BigInt64Array.of(1n), [1])],
    output: outs.map((name) => create(ValueInfoProtoSchema, { name })),
  });
  const res = await runProbe(probe, feeds, opts);
  const small: string[] = [];
  produced.forEach((name, i) => {
    const sh = res[`__probe__/shape/${i}`]!;
    const el = res[`__probe__/elem/${i}`]!;
    const shape = Array.from(sh.data as BigInt64Array, Number);
    const dtype = ortTypeToDtype(el.type);
    info.set(name, { dtype, shape });
    if (NUMERIC.has(dtype) && shape.reduce((a, d) => a * d, 1) <= SMALL) small.push(name);
  });
  if (small.length === 0 || opts.shapesOnly) return;
  const vp = withGraph(model, { output: small.map((name) => create(ValueInfoProtoSchema, { name })) });
  const vals = await runProbe(vp, feeds, opts);
  for (const name of small) info.get(name)!.value = Array.from(vals[name]!.data as ArrayLike<number | bigint>, Number);
}

/** A model sharing `model`'s messages (no deep copy of the weights) with some graph fields replaced. */
function withGraph(model: ModelProto, changes: Partial<Pick<GraphProto, 'node' | 'initializer' | 'output'>>): ModelProto {
  const g = model.graph!;
  return create(ModelProtoSchema, {
    irVersion: model.irVersion,
    opsetImport: model.opsetImport,
    functions: model.functions,
    graph: create(GraphProtoSchema, { name: g.name, node: changes.node ?? g.node, initializer: changes.initializer ?? g.initializer, input: g.input, output: changes.output ?? g.output, valueInfo: g.valueInfo, sparseInitializer: g.sparseInitializer }),
  });
}

/** Runs a probe model (saved next to the original when it has external data). */
async function runProbe(probe: ModelProto, feeds: Record<string, HostTensor>, opts: ProbeOptions): Promise<Record<string, ort.Tensor>> {
  const hasExternal = allTensors(probe).some((t) => t.dataLocation === TensorProto_DataLocation.EXTERNAL);
  let tmp: string | undefined;
  let tmpFile: string | undefined;
  let session;
  try {
    if (hasExternal) {
      if (!opts.baseDir) throw new Error('probe: model has external data; pass baseDir');
      // Prefer a temporary file in the model's own folder so no data has to be linked or copied.
      let p = join(opts.baseDir, `.steer-probe-${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}.onnx`);
      try {
        saveModel(probe, p, { baseDir: opts.baseDir, externalData: 'keep' });
        tmpFile = p;
      } catch {
        tmp = mkdtempSync(join(tmpdir(), 'steer-probe-'));
        p = join(tmp, 'probe.onnx');
        saveModel(probe, p, { baseDir: opts.baseDir, externalData: 'keep' });
      }
      session = await createSession(p, { graphOptimizationLevel: 'disabled' });
    } else {
      session = await createSession(probe, { graphOptimizationLevel: 'disabled' });
    }
    try {
      return await session.inner.run(Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, toOrt(v)])));
    } finally {
      await session.release();
    }
  } finally {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
    if (tmpFile) rmSync(tmpFile, { force: true });
  }
}

function toOrt(t: HostTensor): ort.Tensor {
  if (t.dtype === 'bool') return new ort.Tensor('bool', t.data as Uint8Array, t.dims);
  if (t.data instanceof Uint16Array) return new ort.Tensor('float16', t.data, t.dims);
  return new ort.Tensor(t.data as Float32Array, t.dims);
}

function ortTypeToDtype(t: string): DType {
  switch (t) {
    case 'float32': return 'float32';
    case 'float64': return 'float64';
    case 'float16': return 'float16';
    case 'int64': return 'int64';
    case 'int32': return 'int32';
    case 'int8': return 'int8';
    case 'uint8': return 'uint8';
    case 'bool': return 'bool';
    default: return 'string';
  }
}
