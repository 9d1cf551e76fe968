/**
 * Finite-difference check of a model produced by differentiate(): for a few random coordinates
 * of each `wrt` tensor, compares `<wrt>_grad` with central differences of sum(of), evaluated with
 * the same gradient model (it outputs `of`), accumulating the sum in float64. A coordinate's error
 * is |analytic - numeric| / max(|analytic|, |numeric|, floor), the floor being 1% of the largest
 * gradient entry or the rounding noise of sum(of) divided by the step, whichever is larger; the
 * numeric value is taken at a few step sizes and the best agreement counts (see below).
 */
import type { ModelProto } from 'onnx-buf';
import { createSession, type HostTensor, type SessionOptions } from '../session.ts';
import { concreteInputDims, makeFeed, valueInfoShape } from './probe.ts';
import { tensorValues } from '../model.ts';

export interface CheckOptions {
  /** As in differentiate() with seeds 'ones': the loss is the sum of all elements of all `of`. */
  of: string | readonly string[];
  wrt: readonly string[];
  /** Inputs; missing float inputs are uniform in [-1, 1], integer inputs zero. */
  feeds?: Record<string, HostTensor>;
  /** Values of initializers that became inputs (name -> tensor), read from the source model. */
  initialValues?: Record<string, HostTensor>;
  dimSizes?: Record<string, number>;
  samples?: number;
  eps?: number;
  seed?: number;
  gradName?: (name: string) => string;
  session?: SessionOptions;
}

export interface CheckResult {
  name: string;
  maxRelError: number;
  checked: number;
}

function lcg(seed: number) {
  let s = seed >>> 0 || 1;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

export interface CentralDifferenceOptions {
  /** The base value of the tensor being perturbed (float32 or float64 data). */
  x: HostTensor;
  /** The analytic gradient (same length as x). */
  analytic: ArrayLike<number>;
  /** The scalar loss with x replaced by the given tensor. */
  loss: (x: HostTensor) => Promise<number>;
  /** Coordinates to check. */
  indices: readonly number[];
  /** Step sizes, tried in order; a coordinate's error is its best agreement over them. */
  steps: readonly number[];
  /** The denominator floor for a step (see CheckResult's error definition). */
  floor: (step: number) => number;
  /** Stop trying further steps for a coordinate once its error is below this. */
  goodEnough?: number;
  onSample?: (index: number, analytic: number, numeric: number, error: number) => void;
}

/**
 * Central differences of `loss` along single coordinates of x, compared with `analytic`: returns
 * the max over `indices` of |analytic - numeric| / max(|analytic|, |numeric|, floor(step)), each
 * coordinate at its best step. The step actually taken is re-read after rounding to x's type.
 * Shared by checkGradients (steer grad --check) and the test suite's gradcheck harness.
 */
export async function centralDifferenceError(o: CentralDifferenceOptions): Promise<number> {
  let worst = 0;
  for (const i of o.indices) {
    const an = o.analytic[i]!;
    let best = Infinity;
    for (const eps of o.steps) {
      const plus = o.x.data.slice() as Float32Array;
      const minus = o.x.data.slice() as Float32Array;
      plus[i] = (o.x.data[i] as number) + eps;
      minus[i] = (o.x.data[i] as number) - eps;
      const h = plus[i]! - minus[i]!;
      const num = ((await o.loss({ data: plus, dims: o.x.dims })) - (await o.loss({ data: minus, dims: o.x.dims }))) / h;
      const err = Math.abs(an - num) / Math.max(Math.abs(an), Math.abs(num), o.floor(eps));
      o.onSample?.(i, an, num, err);
      best = Math.min(best, err);
      if (o.goodEnough !== undefined && best < o.goodEnough) break;
    }
    worst = Math.max(worst, best);
  }
  return worst;
}

/** Values of the source model's initializers named in `names` (for feeding promoted weights). */
export function initializerFeeds(model: ModelProto, names: readonly string[], baseDir?: string): Record<string, HostTensor> {
  const out: Record<string, HostTensor> = {};
  for (const t of model.graph!.initializer) {
    if (!names.includes(t.name)) continue;
    const v = tensorValues(t, baseDir);
    out[t.name] = { data: v.data as Float32Array, dims: v.dims };
  }
  return out;
}

/** `gradModel` is a ModelProto or a path (use a path for models with external data). */
export async function checkGradients(gradModel: ModelProto | string, proto: ModelProto, opts: CheckOptions): Promise<CheckResult[]> {
  const rand = lcg(opts.seed ?? 99);
  const gradName = opts.gradName ?? ((n: string) => `${n}_grad`);
  const feeds: Record<string, HostTensor> = { ...(opts.initialValues ?? {}), ...(opts.feeds ?? {}) };
  const sym = new Map<string, number>();
  for (const vi of proto.graph!.input) {
    if (feeds[vi.name]) continue;
    const { dtype } = valueInfoShape(vi);
    if (!dtype) throw new Error(`input '${vi.name}' has no tensor type`);
    feeds[vi.name] = makeFeed(dtype, concreteInputDims(vi, sym, opts.dimSizes), rand);
  }
  const ofs = typeof opts.of === 'string' ? [opts.of] : [...opts.of];
  const session = await createSession(gradModel, opts.session);
  try {
    const sumOf = async (f: Record<string, HostTensor>) => {
      const r = await session.run(f, ofs);
      let s = 0;
      for (const o of ofs) {
        const d = r[o]!.data as Float32Array;
        for (let i = 0; i < d.length; i++) s += d[i]!;
      }
      return s;
    };
    const base = await session.run(feeds);
    // Rounding noise of the loss (each element within one ulp): differences below ~noise / h are not resolvable.
    let absSum = 0;
    let unit = 1.2e-7;
    for (const o of ofs) {
      const d = base[o]!.data as Float32Array;
      if (d instanceof Float64Array) unit = 2.2e-16;
      for (let i = 0; i < d.length; i++) absSum += Math.abs(d[i]!);
    }
    const results: CheckResult[] = [];
    for (const w of opts.wrt) {
      const ga = base[gradName(w)];
      const x = feeds[w];
      if (!ga || !x) throw new Error(`no gradient output or value for '${w}'`);
      const isDouble = x.data instanceof Float64Array;
      // Several steps: truncation error grows with the step, float32 rounding noise (which deep
      // networks amplify well beyond the output's last bit) shrinks with it; the best agreement
      // over the ladder is the estimate.
      const ladder = opts.eps !== undefined ? [opts.eps] : isDouble ? [1e-6, 1e-5] : [3e-2, 1e-1, 1e-2];
      let maxAbs = 0;
      for (let i = 0; i < ga.data.length; i++) maxAbs = Math.max(maxAbs, Math.abs(ga.data[i] as number));
      const n = x.data.length;
      const samples = Math.min(opts.samples ?? 5, n);
      const indices = Array.from({ length: samples }, (_, k) => (n === samples ? k : Math.floor(rand() * n)));
      const worst = await centralDifferenceError({
        x,
        analytic: ga.data as ArrayLike<number>,
        loss: (v) => sumOf({ ...feeds, [w]: v }),
        indices,
        steps: ladder,
        floor: (eps) => Math.max(1e-2 * maxAbs, (8 * absSum * unit) / (2 * eps), isDouble ? 1e-9 : 1e-6),
        goodEnough: 1e-3,
      });
      results.push({ name: w, maxRelError: worst, checked: samples });
    }
    return results;
  } finally {
    await session.release();
  }
}
