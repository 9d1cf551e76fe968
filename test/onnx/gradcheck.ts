/**
 * Finite-difference gradient check for differentiate().
 *
 * Method (decided for onnxruntime's CPU kernels, many of which exist only in float32 — Conv,
 * Erf, InstanceNormalization, LeakyRelu, Elu, ...):
 *  - The loss is L = sum(y * R) with a fixed random R (not sum(y): that would make e.g. Softmax's
 *    gradient identically zero). R is added to the model as an initializer and the engine
 *    differentiates L.
 *  - Finite differences use the forward model's output y as computed by onnxruntime and accumulate
 *    L in float64 in JavaScript, so summation error does not enter; central differences with
 *    eps = 1e-2 (float32 models) or 1e-6 (float64 models). The actual perturbation is re-read
 *    after rounding to the tensor's type.
 *  - A few random coordinates of each gradient are checked; the error of a coordinate is
 *    |analytic - numeric| / max(|analytic|, |numeric|, 1e-2 * max|analytic gradient| + floor).
 *  - Tests default to float32 models with a 1e-2 tolerance; ops with double kernels are also
 *    checked in float64 with a 1e-5 tolerance.
 */
import { create } from '@bufbuild/protobuf';
import { ValueInfoProtoSchema, type ModelProto } from 'onnx-buf';
import { differentiate, promoteInitializers } from '../../src/engine/onnx/autodiff/index.ts';
import { cloneModel, makeTensor, tensorValues, isFloatDtype, type DType } from '../../src/engine/onnx/model.ts';
import { createSession, type HostTensor } from '../../src/engine/onnx/session.ts';
import { concreteInputDims, valueInfoShape } from '../../src/engine/onnx/autodiff/probe.ts';
import { makeAttribute } from '../../src/engine/onnx/builder.ts';
import { centralDifferenceError } from '../../src/engine/onnx/autodiff/check.ts';
import { NodeProtoSchema } from 'onnx-buf';

export function rng(seed: number) {
  let s = seed >>> 0;
  const u = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const normal = () => Math.sqrt(-2 * Math.log(u() + 1e-12)) * Math.cos(2 * Math.PI * u());
  return { u, normal };
}

export function randn(dims: readonly number[], seed = 1, dtype: DType = 'float32', scale = 1): HostTensor {
  const r = rng(seed);
  const n = dims.reduce((a, d) => a * d, 1);
  const vals = Array.from({ length: n }, () => r.normal() * scale);
  return { data: dtype === 'float64' ? Float64Array.from(vals) : Float32Array.from(vals), dims: [...dims] };
}

/** Values bounded away from 0 by `gap` (for kinks at 0: Relu, Abs, ...). */
export function randAway(dims: readonly number[], seed = 1, gap = 0.1, dtype: DType = 'float32'): HostTensor {
  const t = randn(dims, seed, dtype);
  for (let i = 0; i < t.data.length; i++) {
    const v = t.data[i] as number;
    t.data[i] = v >= 0 ? v + gap : v - gap;
  }
  return t;
}

export interface GradcheckOptions {
  wrt: string[];
  of?: string;
  feeds?: Record<string, HostTensor>;
  samples?: number;
  eps?: number;
  seed?: number;
}

export interface GradcheckResult {
  /** Max relative error per wrt name. */
  errors: Record<string, number>;
  gradModel: ModelProto;
  grads: Record<string, HostTensor>;
}

export async function gradcheck(model: ModelProto, opts: GradcheckOptions): Promise<GradcheckResult> {
  const r = rng(opts.seed ?? 7);
  const samples = opts.samples ?? 6;
  const of = opts.of ?? model.graph!.output[0]!.name;
  const initNames = new Set(model.graph!.initializer.map((t) => t.name));

  // Base point: feeds for every input, initial values for promoted initializers.
  const feeds: Record<string, HostTensor> = { ...(opts.feeds ?? {}) };
  const sym = new Map<string, number>();
  let seed = 100;
  for (const vi of model.graph!.input) {
    if (feeds[vi.name] || initNames.has(vi.name)) continue;
    const { dtype } = valueInfoShape(vi);
    feeds[vi.name] = randn(concreteInputDims(vi, sym), seed++, dtype);
  }
  for (const w of opts.wrt) {
    if (feeds[w]) continue;
    const t = model.graph!.initializer.find((x) => x.name === w);
    if (!t) throw new Error(`gradcheck: no value for ${w}`);
    const v = tensorValues(t);
    feeds[w] = { data: v.data as Float32Array, dims: v.dims };
  }

  // Forward model with `of` as its only output and wrt initializers as inputs.
  const fwd = cloneModel(model);
  promoteInitializers(fwd.graph!, opts.wrt.filter((w) => initNames.has(w)));
  fwd.graph!.output = [create(ValueInfoProtoSchema, { name: of })];
  const fs = await createSession(fwd);
  const y0 = (await fs.run(feeds))[of]!;
  const isDouble = y0.data instanceof Float64Array;
  const R = randn(y0.dims, 4242, isDouble ? 'float64' : 'float32');
  const loss = async (f: Record<string, HostTensor>) => {
    const y = (await fs.run(f))[of]!.data as Float32Array;
    let s = 0;
    for (let i = 0; i < y.length; i++) s += y[i]! * (R.data[i] as number);
    return s;
  };

  // Loss model: L = ReduceSum(of * R).
  const lm = cloneModel(model);
  const g = lm.graph!;
  g.initializer.push(makeTensor('gc_R', R.data as Float32Array, R.dims));
  g.node.push(create(NodeProtoSchema, { opType: 'Mul', name: 'gc_mul', input: [of, 'gc_R'], output: ['gc_prod'] }));
  g.node.push(create(NodeProtoSchema, { opType: 'ReduceSum', name: 'gc_sum', input: ['gc_prod'], output: ['gc_loss'], attribute: [makeAttribute('keepdims', 0)] }));
  g.output = [create(ValueInfoProtoSchema, { name: 'gc_loss' })];
  const probeFeeds = Object.fromEntries(Object.entries(feeds).filter(([k]) => !initNames.has(k)));
  const gradModel = await differentiate(lm, { of: 'gc_loss', wrt: opts.wrt, probeFeeds });
  const gs = await createSession(gradModel);
  const res = await gs.run(feeds);
  await gs.release();

  const errors: Record<string, number> = {};
  const grads: Record<string, HostTensor> = {};
  for (const w of opts.wrt) {
    const ga = res[`${w}_grad`]!;
    grads[w] = ga;
    const base = feeds[w]!;
    if (!isFloatDtype(base.data instanceof Float64Array ? 'float64' : 'float32')) continue;
    const wDouble = base.data instanceof Float64Array;
    const eps = opts.eps ?? (wDouble ? 1e-6 : 1e-2);
    let maxAbs = 0;
    for (let i = 0; i < ga.data.length; i++) maxAbs = Math.max(maxAbs, Math.abs(ga.data[i] as number));
    const n = base.data.length;
    const idxs = n <= samples ? Array.from({ length: n }, (_, i) => i) : Array.from({ length: samples }, () => Math.floor(r.u() * n));
    const worst = await centralDifferenceError({
      x: base,
      analytic: ga.data as ArrayLike<number>,
      loss: (v) => loss({ ...feeds, [w]: v }),
      indices: idxs,
      steps: [eps],
      floor: () => 1e-2 * maxAbs + (wDouble ? 1e-9 : 1e-5),
      onSample: process.env.GRADCHECK_DEBUG ? (i, an, num, err) => console.log(w, i, an, num, err) : undefined,
    });
    errors[w] = worst;
  }
  await fs.release();
  return { errors, gradModel, grads };
}

/** Op types used by a model, with their domains. */
export function opTypes(model: ModelProto): Set<string> {
  return new Set(model.graph!.node.map((n) => (n.domain && n.domain !== 'ai.onnx' ? `${n.domain}.${n.opType}` : n.opType)));
}
