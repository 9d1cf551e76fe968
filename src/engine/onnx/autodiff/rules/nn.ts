/**
 * Gradient rules for convolutions, normalizations, pooling and resizing (NCHW layouts, any number
 * of spatial dims unless noted).
 */
import type { GradRule, RuleContext } from '../context.ts';
import type { DType } from '../../model.ts';
import { float, type Attrs } from '../../builder.ts';
import { makeTensor } from '../../model.ts';

const dt = (c: RuleContext) => c.dtype(c.outputs[0]!);
const onnxType = (d: DType) => (d === 'float64' ? 11 : d === 'float16' ? 10 : 1);
const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);

interface ConvGeom {
  ns: number;
  kernel: number[];
  strides: number[];
  dilations: number[];
  padsBegin: number[];
  padsEnd: number[];
  group: number;
}

/** Explicit pads for a Conv/pool node over input spatial sizes `inS` (resolving auto_pad). */
function convGeom(c: RuleContext, inS: number[], kernel: number[]): ConvGeom {
  const ns = inS.length;
  const strides = c.attr.ints('strides') ?? new Array<number>(ns).fill(1);
  const dilations = c.attr.ints('dilations') ?? new Array<number>(ns).fill(1);
  const autoPad = c.attr.string('auto_pad', 'NOTSET');
  let pads = c.attr.ints('pads') ?? new Array<number>(2 * ns).fill(0);
  if (autoPad === 'VALID') pads = new Array<number>(2 * ns).fill(0);
  else if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    pads = new Array<number>(2 * ns).fill(0);
    for (let i = 0; i < ns; i++) {
      const out = Math.ceil(inS[i]! / strides[i]!);
      const total = Math.max(0, (out - 1) * strides[i]! + (kernel[i]! - 1) * dilations[i]! + 1 - inS[i]!);
      const small = Math.floor(total / 2);
      pads[i] = autoPad === 'SAME_UPPER' ? small : total - small;
      pads[ns + i] = total - pads[i]!;
    }
  }
  return { ns, kernel, strides, dilations, padsBegin: pads.slice(0, ns), padsEnd: pads.slice(ns), group: c.attr.int('group', 1) };
}

/**
 * The adjoint of a strided window op, as ConvTranspose(g, w) producing spatial size `inS` from
 * `outS`: pads_end/output_padding are chosen so the result is exactly `inS` (positions that no
 * window touched get zero; windows hanging past the input are cropped).
 */
function transposedGeometry(geom: ConvGeom, inS: number[], outS: number[]): { padsEnd: number[]; outputPadding: number[] } {
  const padsEnd: number[] = [];
  const outputPadding: number[] = [];
  for (let i = 0; i < geom.ns; i++) {
    const full = geom.strides[i]! * (outS[i]! - 1) + (geom.kernel[i]! - 1) * geom.dilations[i]! + 1 - geom.padsBegin[i]!;
    const total = full - inS[i]!; // = pads_end - output_padding
    if (total >= 0) {
      padsEnd.push(total);
      outputPadding.push(0);
    } else {
      padsEnd.push(0);
      outputPadding.push(-total);
    }
  }
  return { padsEnd, outputPadding };
}

/**
 * Weight gradient of a (grouped) convolution: W[o, i, t] = sum_{n, j} I[n, g*ci + i, j*s + t*d - pb] O[n, o, j]
 * computed as one grouped Conv with batch and channels swapped (strides and dilations exchanged).
 * I: [N, G*ci, *inS]; O: [N, G*co, *outS]; returns [G*co, ci, *kernel].
 */
function weightGrad(c: RuleContext, I: string, O: string, ci: number, co: number, inS: number[], outS: number[], geom: ConvGeom): string {
  const e = c.e;
  const G = geom.group;
  const ns = geom.ns;
  const sp = (k: number) => range(k, k + ns);
  // I -> [ci, G*N, *inS] with channel index gi*N + n
  let Ir = e.reshape(I, [-1, G, ci, ...inS]);
  Ir = e.transpose(Ir, [2, 1, 0, ...sp(3)]);
  Ir = e.reshape(Ir, [ci, -1, ...inS]);
  // O -> [G*co, N, *outS]
  let Or = e.reshape(O, [-1, G, co, ...outS]);
  Or = e.transpose(Or, [1, 2, 0, ...sp(3)]);
  Or = e.reshape(Or, [G * co, -1, ...outS]);
  const r = e.op('Conv', [Ir, Or], {
    strides: geom.dilations,
    dilations: geom.strides,
    pads: [...geom.padsBegin, ...geom.padsEnd],
    group: G,
  }); // [ci, G*co, *K']
  let w = e.transpose(r, [1, 0, ...sp(2)]);
  const kp = inS.map((n, i) => Math.floor((n + geom.padsBegin[i]! + geom.padsEnd[i]! - ((outS[i]! - 1) * geom.strides[i]! + 1)) / geom.dilations[i]!) + 1);
  if (kp.some((k, i) => k !== geom.kernel[i])) w = e.slice(w, new Array<number>(ns).fill(0), geom.kernel, sp(2));
  return w;
}

/**
 * Strategy switches (exported so tests exercise every path):
 * - weight: how dW is computed.
 *   'auto' (default): for group 1, by shape (see `weightStrategy`): one Gemm for a plain 1x1,
 *   else 'eyeconv' or 'taps'; grouped convolutions use 'conv' (plain 1x1: 'im2col').
 *   'taps': O channel-major ([co, N*HW]) and I channels-last ([N, *S, ci]), both via Transpose;
 *   then one Gemm [co, N*HW] x [N*HW, ci] per kernel offset on the shifted/strided Slice of the
 *   padded input, concatenated to [co, K*ci] and transposed to [co, ci, K] (0-20% faster than
 *   stacking on a new axis, measured at batch 1 and 8 by `bench/conv-wgrad.ts --set b8`); no
 *   K-times-larger column matrix is built. Group 1 only.
 *   'eyeconv': the column matrix [N, ci*K, *outS] by one depthwise-style Conv of the input with a
 *   constant identity kernel [ci*K, 1, *k] (group ci; the forward's strides, dilations and pads),
 *   then one Gemm with the channel-major output gradient. Group 1 only.
 *   'conv': one grouped Conv with batch and channels swapped, whose kernel is the whole output
 *   grid (onnxruntime then runs ci small GEMMs with an image-sized im2col each: the slowest).
 *   'im2col': Slice windows concatenated into [N, G, ci*K, HW] and one batched MatMul.
 *   Measured by bench/conv-wgrad.ts (onnxruntime-node 1.30 CPU, 1 thread, min of 30, all
 *   candidates in the same run; a shared 2-core machine, so +-15%), ms:
 *     shape (N ci->co HxW)         conv   eyeconv  taps   (im2col, an earlier run)
 *     N1 32->32 32x32 3x3          1.10   0.74     0.55   (0.72)
 *     N1 64->32 32x32 3x3          2.27   1.68     1.19   (1.29)
 *     N1 64->64 16x16 3x3          1.32   0.88     0.79   (0.66)
 *     N1 96->96 8x8 3x3            0.58   0.35     0.40   (0.74)
 *     N4 96->96 8x8 3x3            1.57   1.03     0.81   (1.53)
 *     N1 4->32 32x32 3x3           0.32   0.28     0.37   (0.17)
 *     N1 32->64 32x32 3x3 stride 2 0.55   0.35     0.39   (0.56)
 *     N1 64->32 32x32 1x1          0.76   0.18     0.16   (0.12; one Gemm 0.13)
 * - input: 'auto' uses a Conv with the flipped, channel-swapped kernel for stride-1 convolutions
 *   (unless the weight gets a gradient and co >= N*HW, see the Conv rule) and ConvTranspose
 *   otherwise; 'conv' always the flipped Conv at stride 1; 'convtranspose' always uses ConvTranspose (measured equal within noise).
 */
export const CONV_GRAD: { weight: 'auto' | 'taps' | 'eyeconv' | 'im2col' | 'conv'; input: 'auto' | 'conv' | 'convtranspose' } = { weight: 'auto', input: 'auto' };

type WeightGradFn = (c: RuleContext, I: string, O: string, ci: number, co: number, inS: number[], outS: number[], geom: ConvGeom) => string;

/**
 * The dW formulation for a Conv (or ConvTranspose, I and O swapped) with input I of probed batch
 * `n`. Rule of thumb from bench/conv-wgrad.ts (1 thread): 1x1 without stride/padding -> one Gemm
 * of the channel-major tensors; few input channels (< 16), a small contraction (N*HW <= 128), or a
 * strided conv with N*HW <= 256 -> 'eyeconv'; else 'taps'.
 */
function weightStrategy(geom: ConvGeom, n: number, ci: number, outS: number[]): WeightGradFn {
  const mode = CONV_GRAD.weight;
  const K = geom.kernel.reduce((a, b) => a * b, 1);
  const plain1x1 = K === 1 && geom.strides.every((s) => s === 1) && geom.padsBegin.every((p) => p === 0) && geom.padsEnd.every((p) => p === 0);
  if (mode === 'im2col') return weightGradIm2col;
  if (mode === 'conv') return weightGrad;
  if (geom.group !== 1) return plain1x1 ? weightGradIm2col : weightGrad;
  if (mode === 'taps') return weightGradTaps;
  if (mode === 'eyeconv') return weightGradEyeConv;
  if (plain1x1) return weightGradPointwise;
  if (K === 1) return weightGradTaps;
  const hw = n * outS.reduce((a, b) => a * b, 1);
  const strided = geom.strides.some((s) => s > 1);
  const eyeOk = ci * K * K <= 1 << 20; // the identity kernel is a constant of ci*K*K elements
  if (eyeOk && (ci < 16 || hw <= 128 || (strided && hw <= 256))) return weightGradEyeConv;
  return weightGradTaps;
}

/** dW of a 1x1 convolution without stride or padding (group 1): O as [co, N*HW] x (I as [ci, N*HW])^T. */
function weightGradPointwise(c: RuleContext, I: string, O: string, ci: number, co: number, _inS: number[], _outS: number[], geom: ConvGeom): string {
  const r = c.e.op('Gemm', [channelMajor(c, O, co, geom.ns), channelMajor(c, I, ci, geom.ns)], { transB: 1 });
  return c.e.reshape(r, [co, ci, ...geom.kernel]);
}

/** End pads so every window read of I (spatial `inS`) for an output grid `outS` is in range. */
function windowPadEnd(geom: ConvGeom, inS: number[], outS: number[]): number[] {
  return outS.map((o, i) => Math.max(0, (geom.kernel[i]! - 1) * geom.dilations[i]! + (o - 1) * geom.strides[i]! + 1 - geom.padsBegin[i]! - inS[i]!));
}

/**
 * The K = prod(kernel) input windows a convolution reads, kernel taps in row-major order: for tap
 * t the strided slice [starts, ends) of the (begin- and `padEnd`-padded) input along the spatial
 * axes; `trivial` when that slice is the whole padded input (stride 1, 1x1 kernel).
 */
function kernelWindows(geom: ConvGeom, inS: number[], outS: number[], padEnd: number[]): { starts: number[]; ends: number[]; trivial: boolean }[] {
  const ns = geom.ns;
  const K = geom.kernel.reduce((a, b) => a * b, 1);
  const out: { starts: number[]; ends: number[]; trivial: boolean }[] = [];
  const idx = new Array<number>(ns).fill(0);
  for (let t = 0; t < K; t++) {
    const starts = idx.map((k, i) => k * geom.dilations[i]!);
    const ends = starts.map((st, i) => st + (outS[i]! - 1) * geom.strides[i]! + 1);
    const trivial = starts.every((st, i) => st === 0 && ends[i] === inS[i]! + geom.padsBegin[i]! + padEnd[i]! && geom.strides[i] === 1);
    out.push({ starts, ends, trivial });
    for (let i = ns - 1; i >= 0; i--) {
      if (++idx[i]! < geom.kernel[i]!) break;
      idx[i] = 0;
    }
  }
  return out;
}

/** [N, C, *S] -> [C, N*prod(S)] (a Transpose, memoized per tensor, then a Reshape). */
function channelMajor(c: RuleContext, x: string, C: number, ns: number): string {
  return c.e.reshape(c.e.transpose(x, [1, 0, ...range(2, 2 + ns)]), [C, -1]);
}

/**
 * Same contract as weightGrad (group 1): per kernel offset t, dW[:, :, t] = O_cm x I_t with O_cm =
 * O as [co, N*HW] and I_t the shifted/strided window of the padded channels-last input as
 * [N*HW, ci] (channels-last so Gemm's B needs no transposition: measured 4-25% faster than
 * channel-major windows with transB). The channels-last Transpose is memoized per tensor, so
 * convolutions reading the same activation (a ResNet block's conv1 and 1x1 skip) share it.
 */
function weightGradTaps(c: RuleContext, I: string, O: string, ci: number, co: number, inS: number[], outS: number[], geom: ConvGeom): string {
  const e = c.e;
  const ns = geom.ns;
  const sp = range(1, 1 + ns);
  const K = geom.kernel.reduce((a, b) => a * b, 1);
  const padEnd = windowPadEnd(geom, inS, outS);
  let It = e.transpose(I, [0, ...range(2, 2 + ns), 1]); // [N, *inS, ci]
  if (geom.padsBegin.some((p) => p > 0) || padEnd.some((p) => p > 0)) It = e.op('Pad', [It, e.ints([0, ...geom.padsBegin, 0, 0, ...padEnd, 0])]);
  const Om = channelMajor(c, O, co, ns); // [co, N*HW]
  const cols = kernelWindows(geom, inS, outS, padEnd).map(({ starts, ends, trivial }) => {
    const win = trivial ? It : e.slice(It, starts, ends, sp, geom.strides);
    return e.op('Gemm', [Om, e.reshape(win, [-1, ci])]); // [co, ci]
  });
  if (K === 1) return e.reshape(cols[0]!, [co, ci, ...geom.kernel]);
  // [co, K*ci] -> [co, ci, K]: one small weight-sized Transpose instead of K Unsqueezes
  const w = e.op('Concat', cols, { axis: 1 });
  return e.reshape(e.op('Transpose', [e.reshape(w, [co, K, ci])], { perm: [0, 2, 1] }), [co, ci, ...geom.kernel]);
}

/**
 * Same contract as weightGrad (group 1): the column matrix col[n, i*K + t, j] = I[n, i, j*s + t*d - pb]
 * is one Conv of I with a constant identity kernel ([ci*K, 1, *k], group ci, the forward's strides,
 * dilations and begin pads), then dW = O as [co, N*HW] x col as [N*HW, ci*K].
 */
function weightGradEyeConv(c: RuleContext, I: string, O: string, ci: number, co: number, inS: number[], outS: number[], geom: ConvGeom): string {
  const e = c.e;
  const ns = geom.ns;
  const K = geom.kernel.reduce((a, b) => a * b, 1);
  const eye = new Array<number>(ci * K * K).fill(0);
  for (let i = 0; i < ci; i++) for (let t = 0; t < K; t++) eye[(i * K + t) * K + t] = 1;
  const padEnd = windowPadEnd(geom, inS, outS);
  let col = e.op('Conv', [I, e.constant(eye, dt(c), [ci * K, 1, ...geom.kernel])], {
    strides: geom.strides,
    dilations: geom.dilations,
    pads: [...geom.padsBegin, ...padEnd],
    group: ci,
    kernel_shape: geom.kernel,
  }); // [N, ci*K, *o'] with o' >= outS
  const got = inS.map((n, i) => Math.floor((n + geom.padsBegin[i]! + padEnd[i]! - ((geom.kernel[i]! - 1) * geom.dilations[i]! + 1)) / geom.strides[i]!) + 1);
  if (got.some((g, i) => g !== outS[i])) col = e.slice(col, new Array<number>(ns).fill(0), outS, range(2, 2 + ns));
  const r = e.op('Gemm', [channelMajor(c, O, co, ns), channelMajor(c, col, ci * K, ns)], { transB: 1 }); // [co, ci*K]
  return e.reshape(r, [co, ci, ...geom.kernel]);
}

/** Same contract as weightGrad, computed as im2col + batched MatMul. */
function weightGradIm2col(c: RuleContext, I: string, O: string, ci: number, co: number, inS: number[], outS: number[], geom: ConvGeom): string {
  const e = c.e;
  const G = geom.group;
  const ns = geom.ns;
  const sp = range(2, 2 + ns);
  const K = geom.kernel.reduce((a, b) => a * b, 1);
  const HW = outS.reduce((a, b) => a * b, 1);
  // Pad I so every window read is in range.
  const padEnd = windowPadEnd(geom, inS, outS);
  let Ip = I;
  if (geom.padsBegin.some((p) => p > 0) || padEnd.some((p) => p > 0)) Ip = e.op('Pad', [I, e.ints([0, 0, ...geom.padsBegin, 0, 0, ...padEnd])]);
  const taps = kernelWindows(geom, inS, outS, padEnd).map(({ starts, ends, trivial }) => {
    const sl = trivial ? Ip : e.slice(Ip, starts, ends, sp, geom.strides);
    return K === 1 ? sl : e.unsqueeze(sl, [2]);
  });
  const col = K === 1 ? taps[0]! : e.op('Concat', taps, { axis: 2 }); // [N, G*ci, K, *outS]
  const X = e.reshape(col, [-1, G, ci * K, HW]);
  const Ot = e.transpose(e.reshape(O, [-1, G, co, HW]), [0, 1, 3, 2]); // [N, G, HW, co]
  const prod = e.op('MatMul', [X, Ot]); // [N, G, ci*K, co]
  const summed = e.reduceSum(prod, [0], false); // [G, ci*K, co]
  return e.reshape(e.transpose(summed, [0, 2, 1]), [G * co, ci, ...geom.kernel]);
}

/**
 * Input gradient of a stride-1 convolution as a Conv: dx = conv(g, w') with w'[i, o] = flip(w[o, i])
 * (per group), pads (k-1)d - p. Returns undefined when the pads would be negative.
 */
function inputGradStride1(c: RuleContext, g: string, w: string, ws: number[], geom: ConvGeom, inS: number[], outS: number[]): string | undefined {
  const e = c.e;
  const ns = geom.ns;
  const G = geom.group;
  const cout = ws[0]!;
  const cig = ws[1]!;
  const pb = geom.kernel.map((k, i) => (k - 1) * geom.dilations[i]! - geom.padsBegin[i]!);
  const pe = geom.kernel.map((k, i) => inS[i]! - (outS[i]! + pb[i]! - (k - 1) * geom.dilations[i]!));
  if (pb.some((p) => p < 0) || pe.some((p) => p < 0)) return undefined;
  const K = geom.kernel.reduce((a, b) => a * b, 1);
  let wt: string;
  if (G === 1 && c.dtype(w) !== 'float16') {
    // w [co, ci*K] -> 2-D Transpose -> [ci, K, co]; reversing the flattened taps reverses every
    // spatial axis, done per block by the K x K anti-identity J (J x [K, co]); -> [ci, co, K].
    // When w gets a gradient it is a graph input and this runs every step: measured 2-3x faster
    // than the negative-step Slice + 4-D Transpose below (64x64x3x3: 131 vs 267 us, 1 thread).
    // Not for float16: onnxruntime 1.30 CPU segfaults on a float16 MatMul(J, Reshape(Transpose(w)))
    // at graph optimization level 'all' (runs at 'extended'; a float16 MatMul fed directly runs).
    const t2 = e.reshape(e.transpose(e.reshape(w, [cout, cig * K]), [1, 0]), [cig, K, cout]);
    if (K === 1) wt = e.reshape(t2, [cig, cout, ...geom.kernel]);
    else {
      const J = new Array<number>(K * K).fill(0);
      for (let t = 0; t < K; t++) J[t * K + (K - 1 - t)] = 1;
      wt = e.reshape(e.op('Transpose', [e.op('MatMul', [e.constant(J, c.dtype(w), [K, K]), t2])], { perm: [0, 2, 1] }), [cig, cout, ...geom.kernel]);
    }
  } else {
    // w [G*co, ci, *k] -> [G, co, ci, *k] -> [G, ci, co, *k] -> [G*ci, co, *k], spatially flipped
    wt = G === 1 ? e.transpose(w, [1, 0, ...range(2, 2 + ns)]) : e.reshape(e.transpose(e.reshape(w, [G, cout / G, cig, ...geom.kernel]), [0, 2, 1, ...range(3, 3 + ns)]), [G * cig, cout / G, ...geom.kernel]);
    wt = e.slice(wt, new Array<number>(ns).fill(-1), new Array<number>(ns).fill(-(2 ** 62)), range(2, 2 + ns), new Array<number>(ns).fill(-1));
  }
  return e.op('Conv', [g, wt], { dilations: geom.dilations, pads: [...pb, ...pe], group: G, kernel_shape: geom.kernel });
}

/** Shared normalization backward: dx = inv * (gh - mean(gh) - xhat * mean(gh * xhat)) over `axes`. */
function normBackward(c: RuleContext, gh: string, xhat: string, inv: string, axes: number[]): string {
  const e = c.e;
  const m1 = e.reduce('ReduceMean', gh, axes, true);
  const m2 = e.reduce('ReduceMean', e.op('Mul', [gh, xhat]), axes, true);
  return e.op('Mul', [inv, e.op('Sub', [e.op('Sub', [gh, m1]), e.op('Mul', [xhat, m2])])]);
}

/**
 * Where the Instance/GroupNormalization backward gets its statistics: 'forward' (default; opset
 * >= 17) rebuilds the forward node around a LayerNormalization that outputs them; 'recompute'
 * recomputes mean and 1/std in the backward (always so below opset 17). Exported so tests and
 * benchmarks exercise both.
 */
export const NORM_GRAD: { stats: 'forward' | 'recompute' } = { stats: 'forward' };

/** True when every value is `v` (values known). */
function isFill(values: number[] | undefined, v: number): boolean {
  return !!values && values.length > 0 && values.every((x) => x === v);
}

/**
 * Rebuilds the forward normalization (in the node's place; opset >= 17) as a LayerNormalization
 * over the axes from `axis` of x (first reshaped to `reshape` when given; `rank` is the rank it
 * then has), with unit scale, no bias and its Mean and InvStdDev outputs switched on, so the
 * backward reads the forward's own normalized tensor and 1/std instead of recomputing them.
 * `finish(xhat)` emits what maps the normalized tensor to the node's output (writing the node's
 * output name) and returns true, or returns false when the normalized tensor is the output itself.
 * Statistics are kept in float32 (float64 for float64 data), as the node computes them; inv is
 * returned in the data type. onnxruntime's LayerNormalization takes the variance in one pass
 * (E[x^2] - E[x]^2), so where a group's mean dwarfs its spread the output drifts from
 * InstanceNormalization's: max |difference| on the normalized output (1,024 values per group)
 * measured 2e-7 at mean/std 0, 1.4e-6 at 10, 2e-5 at 100 and 6e-5 to 1.5e-4 at 1000
 * (NORM_GRAD 'recompute' keeps the node as it is).
 */
function normalizeWithStats(c: RuleContext, x: string, rank: number, axis: number, eps: number, d: DType, finish: (xhat: string) => boolean, reshape?: number[]): { xhat: string; inv: string } {
  const e = c.e;
  let xhat = '';
  let inv = '';
  c.replaceForward(() => {
    const xr = reshape ? e.reshape(x, reshape) : x;
    const one = makeTensor('value', d === 'float64' ? Float64Array.of(1) : d === 'float16' ? Uint16Array.of(0x3c00) : Float32Array.of(1), [1], d);
    const ones = e.op('ConstantOfShape', [e.op('Slice', [e.op('Shape', [xr]), e.ints([axis]), e.ints([rank])])], { value: one });
    const normalized = e.fresh('normalized');
    inv = e.fresh('inv_std');
    e.opTo('LayerNormalization', [xr, ones], [normalized, e.fresh('mean'), inv], { axis, epsilon: float(eps), stash_type: d === 'float64' ? 11 : 1 });
    xhat = normalized;
    if (!finish(normalized)) {
      // the normalized tensor is the output: write it under the output's name
      const last = e.nodes[e.nodes.length - 1]!;
      last.output[0] = c.outputs[0]!;
      xhat = c.outputs[0]!;
    }
  });
  if (d === 'float16') inv = e.op('Cast', [inv], { to: onnxType(d) });
  return { xhat, inv };
}

/** Mean and 1/sqrt(var + eps) of x over axes (keepdims). */
function moments(c: RuleContext, x: string, axes: number[], eps: number, d: DType): { mean: string; inv: string } {
  const e = c.e;
  const mean = e.reduce('ReduceMean', x, axes, true);
  const xc = e.op('Sub', [x, mean]);
  const v = e.reduce('ReduceMean', e.op('Mul', [xc, xc]), axes, true);
  const inv = e.op('Reciprocal', [e.op('Sqrt', [e.op('Add', [v, e.scalar(eps, d)])])]);
  return { mean, inv };
}

/** [C] -> [C, 1, ..., 1] for broadcasting against [N, C, *S]. */
function perChannel(c: RuleContext, v: string, ns: number): string {
  return ns === 0 ? v : c.e.unsqueeze(v, range(1, ns + 1));
}

export const NN_RULES: Record<string, GradRule> = {
  Conv: (c) => {
    const [x, w, b] = c.inputs as [string, string, string | undefined];
    const xs = c.shape(x);
    const ws = c.shape(w);
    const ys = c.shape(c.outputs[0]!);
    const inS = xs.slice(2);
    const outS = ys.slice(2);
    const geom = convGeom(c, inS, ws.slice(2));
    const e = c.e;
    const g = c.gy[0]!;
    let dx: string | undefined;
    let dw: string | undefined;
    let db: string | undefined;
    // The flipped, channel-swapped kernel is constant-folded by onnxruntime when w is an initializer.
    // A weight that gets a gradient is a graph input: the flip (a negative-step Slice, run element
    // by element) and the 9-float-block Transpose then run every step, at a cost that grows with
    // co*ci*K while ConvTranspose's extra cost (col2im) grows with ci*K*N*HW; so 'auto' switches to
    // ConvTranspose (w read as is) when co >= N*HW (Shape World's 96-channel 8x8 convs: profiled
    // 1.3 ms + 0.9 ms of flip + transpose for a 96x96x3x3 / 96x192x3x3 weight; blocks UNet's
    // 32x32 and 16x16 convs keep the flipped Conv, 7% faster there than ConvTranspose).
    const dynamicFlipCostly = c.needs[1] === true && ws[0]! >= xs[0]! * outS.reduce((a, b) => a * b, 1);
    if (c.needs[0] && (CONV_GRAD.input === 'conv' || (CONV_GRAD.input === 'auto' && !dynamicFlipCostly)) && geom.strides.every((st) => st === 1)) dx = inputGradStride1(c, g, w, ws, geom, inS, outS);
    if (c.needs[0] && !dx) {
      const t = transposedGeometry(geom, inS, outS);
      dx = e.op('ConvTranspose', [g, w], {
        strides: geom.strides,
        dilations: geom.dilations,
        pads: [...geom.padsBegin, ...t.padsEnd],
        output_padding: t.outputPadding,
        group: geom.group,
        kernel_shape: geom.kernel,
      });
    }
    if (c.needs[1]) dw = weightStrategy(geom, xs[0]!, ws[1]!, outS)(c, x, g, ws[1]!, ws[0]! / geom.group, inS, outS, geom);
    if (b && c.needs[2]) db = e.reduceSum(g, [0, ...range(2, ys.length)], false);
    return [dx, dw, db];
  },
  // ConvTranspose: y[n, co, q*s + t*d - pb] += x[n, ci, q] w[ci, co, t] (positions outside [0, So)
  // dropped). Only the begin pads matter for the adjoint; with output_shape or auto_pad they are
  // derived as the spec says from the (probed) output size.
  ConvTranspose: (c) => {
    const [x, w, b] = c.inputs as [string, string, string | undefined];
    const xs = c.shape(x);
    const ws = c.shape(w);
    const ys = c.shape(c.outputs[0]!);
    const inS = xs.slice(2);
    const outS = ys.slice(2);
    const ns = inS.length;
    const kernel = ws.slice(2);
    const strides = c.attr.ints('strides') ?? new Array<number>(ns).fill(1);
    const dilations = c.attr.ints('dilations') ?? new Array<number>(ns).fill(1);
    const outPad = c.attr.ints('output_padding') ?? new Array<number>(ns).fill(0);
    const autoPad = c.attr.string('auto_pad', 'NOTSET');
    const keff = kernel.map((k, i) => (k - 1) * dilations[i]! + 1);
    let padsBegin: number[];
    if (c.attr.has('output_shape') || autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
      padsBegin = inS.map((n, i) => {
        const total = strides[i]! * (n - 1) + outPad[i]! + keff[i]! - outS[i]!;
        return autoPad === 'SAME_UPPER' ? Math.floor(total / 2) : total - Math.floor(total / 2);
      });
      if (padsBegin.some((p) => p < 0)) return c.fail('output_shape larger than the full transposed convolution is not supported');
    } else if (autoPad === 'VALID') padsBegin = new Array<number>(ns).fill(0);
    else padsBegin = (c.attr.ints('pads') ?? new Array<number>(2 * ns).fill(0)).slice(0, ns);
    // End padding so that every window the adjoint needs is inside the padded output gradient.
    const padsEnd = inS.map((n, i) => Math.max(0, (n - 1) * strides[i]! + keff[i]! - outS[i]! - padsBegin[i]!));
    const group = c.attr.int('group', 1);
    const geom: ConvGeom = { ns, kernel, strides, dilations, padsBegin, padsEnd, group };
    const e = c.e;
    const g = c.gy[0]!;
    let dx: string | undefined;
    let dw: string | undefined;
    let db: string | undefined;
    if (c.needs[0]) {
      dx = e.op('Conv', [g, w], { strides, dilations, pads: [...padsBegin, ...padsEnd], group, kernel_shape: kernel });
      const convOut = outS.map((o, i) => Math.floor((o + padsBegin[i]! + padsEnd[i]! - keff[i]!) / strides[i]!) + 1);
      if (convOut.some((n, i) => n !== inS[i])) dx = e.slice(dx, new Array<number>(ns).fill(0), inS, range(2, 2 + ns));
    }
    if (c.needs[1]) {
      // dW = weightGrad(I = g, O = x)
      dw = weightStrategy(geom, ys[0]!, ws[1]!, inS)(c, g, x, ws[1]!, ws[0]! / group, outS, inS, geom);
    }
    if (b && c.needs[2]) db = e.reduceSum(g, [0, ...range(2, ys.length)], false);
    return [dx, dw, db];
  },
  // y = scale * (x - mean) / sqrt(var + eps) + B with statistics over the spatial axes per (n, c).
  // From opset 17 the forward is rebuilt as a LayerNormalization over the spatial axes (see
  // normalizeWithStats); below, the statistics are recomputed in the backward.
  InstanceNormalization: (c) => {
    const [x, scale, bias] = c.inputs as [string, string, string];
    const xs = c.shape(x);
    const ns = xs.length - 2;
    const axes = range(2, xs.length);
    const d = dt(c);
    const e = c.e;
    const g = c.gy[0]!;
    const eps = c.attr.float('epsilon', 1e-5);
    let xhat: string;
    let inv: string;
    // A unit scale and zero bias (PyTorch's GroupNorm export) need no affine step either way.
    const unitScale = isFill(c.constValue(scale), 1);
    const unit = unitScale && isFill(c.constValue(bias), 0);
    if (c.opset >= 17 && NORM_GRAD.stats === 'forward') {
      ({ xhat, inv } = normalizeWithStats(c, x, xs.length, 2, eps, d, (xh) => {
        if (unit) return false;
        e.opTo('Add', [e.op('Mul', [xh, perChannel(c, scale, ns)]), perChannel(c, bias, ns)], [c.outputs[0]!]);
        return true;
      }));
    } else {
      const m = moments(c, x, axes, eps, d);
      inv = m.inv;
      xhat = e.op('Mul', [e.op('Sub', [x, m.mean]), inv]);
    }
    const dx = c.needs[0] ? normBackward(c, unitScale ? g : e.op('Mul', [g, perChannel(c, scale, ns)]), xhat, inv, axes) : undefined;
    const dscale = c.needs[1] ? e.reduceSum(e.op('Mul', [g, xhat]), [0, ...axes], false) : undefined;
    const dB = c.needs[2] ? e.reduceSum(g, [0, ...axes], false) : undefined;
    return [dx, dscale, dB];
  },
  // Uses the node's own Mean / InvStdDev outputs (switched on if unused).
  LayerNormalization: (c) => {
    const [x, scale, bias] = c.inputs as [string, string, string | undefined];
    const xs = c.shape(x);
    const rank = xs.length;
    let axis = c.attr.int('axis', -1);
    if (axis < 0) axis += rank;
    const axes = range(axis, rank);
    const d = dt(c);
    const e = c.e;
    const g = c.gy[0]!;
    let mean = c.forwardOutput(1);
    let inv = c.forwardOutput(2);
    if (d !== 'float32') {
      mean = e.op('Cast', [mean], { to: onnxType(d) });
      inv = e.op('Cast', [inv], { to: onnxType(d) });
    }
    const xhat = e.op('Mul', [e.op('Sub', [x, mean]), inv]);
    const dx = c.needs[0] ? normBackward(c, e.op('Mul', [g, scale]), xhat, inv, axes) : undefined;
    const dscale = c.needs[1] ? e.unbroadcast(e.op('Mul', [g, xhat]), xs, scale, c.shape(scale), x) : undefined;
    const dB = bias && c.needs[2] ? e.unbroadcast(g, xs, bias, c.shape(bias), x) : undefined;
    return [dx, dscale, dB];
  },
  // GroupNormalization: opset 18 scale/bias per group ([G]), opset 21 per channel ([C]); told apart by shape.
  GroupNormalization: (c) => {
    const [x, scale, bias] = c.inputs as [string, string, string];
    const xs = c.shape(x);
    const C = xs[1]!;
    const G = c.attr.int('num_groups', 1);
    const ns = xs.length - 2;
    const d = dt(c);
    const e = c.e;
    const g = c.gy[0]!;
    const perGroup = c.shape(scale)[0] !== C || (G === C && c.opset < 21);
    const toChannels = (v: string) => (perGroup ? e.reshape(e.op('Expand', [e.reshape(v, [G, 1]), e.ints([G, C / G])]), [C]) : v);
    // The forward is rebuilt as Reshape -> LayerNormalization (statistics out) -> Reshape -> affine.
    let xhatG = '';
    let xhat = '';
    let scaleC = '';
    let inv = '';
    if (NORM_GRAD.stats === 'forward') {
      ({ inv } = normalizeWithStats(c, x, 3, 2, c.attr.float('epsilon', 1e-5), d, (xh) => {
        xhatG = xh;
        xhat = e.op('Reshape', [xh, e.op('Shape', [x])]);
        scaleC = perChannel(c, toChannels(scale), ns);
        e.opTo('Add', [e.op('Mul', [xhat, scaleC]), perChannel(c, toChannels(bias), ns)], [c.outputs[0]!]);
        return true;
      }, [0, G, -1]));
    } else {
      const xg = e.reshape(x, [0, G, -1]);
      const m = moments(c, xg, [2], c.attr.float('epsilon', 1e-5), d);
      inv = m.inv;
      xhatG = e.op('Mul', [e.op('Sub', [xg, m.mean]), inv]);
      xhat = e.reshapeLike(xhatG, x);
      scaleC = perChannel(c, toChannels(scale), ns);
    }
    let dx: string | undefined;
    if (c.needs[0]) {
      const gh = e.op('Mul', [g, scaleC]);
      dx = e.reshapeLike(normBackward(c, e.reshape(gh, [0, G, -1]), xhatG, inv, [2]), x);
    }
    const fromChannels = (v: string) => (perGroup ? e.reduceSum(e.reshape(v, [G, C / G]), [1], false) : v);
    const dscale = c.needs[1] ? fromChannels(e.reduceSum(e.op('Mul', [g, xhat]), [0, ...range(2, ns + 2)], false)) : undefined;
    const dB = c.needs[2] ? fromChannels(e.reduceSum(g, [0, ...range(2, ns + 2)], false)) : undefined;
    return [dx, dscale, dB];
  },
  // Inference-mode BatchNormalization: y = scale * (x - mean) * inv + B, inv = 1/sqrt(var + eps).
  BatchNormalization: (c) => {
    if (c.attr.int('training_mode', 0) === 1 || c.outputs.filter((o) => o).length > 1) return c.fail('only inference-mode BatchNormalization is supported');
    const [x, scale, , mean, v] = c.inputs as [string, string, string, string, string];
    const xs = c.shape(x);
    const ns = xs.length - 2;
    const d = dt(c);
    const e = c.e;
    const g = c.gy[0]!;
    const inv = e.op('Reciprocal', [e.op('Sqrt', [e.op('Add', [v, e.scalar(c.attr.float('epsilon', 1e-5), d)])])]);
    const invB = perChannel(c, inv, ns);
    const scB = perChannel(c, scale, ns);
    const red = [0, ...range(2, ns + 2)];
    const xc = e.op('Sub', [x, perChannel(c, mean, ns)]);
    const gsum = c.needs[2] || c.needs[3] ? e.reduceSum(g, red, false) : undefined;
    return [
      c.needs[0] ? e.op('Mul', [g, e.op('Mul', [scB, invB])]) : undefined,
      c.needs[1] ? e.reduceSum(e.op('Mul', [g, e.op('Mul', [xc, invB])]), red, false) : undefined,
      c.needs[2] ? gsum : undefined,
      c.needs[3] ? e.op('Neg', [e.op('Mul', [gsum!, e.op('Mul', [scale, inv])])]) : undefined,
      c.needs[4]
        ? e.op('Mul', [e.reduceSum(e.op('Mul', [g, xc]), red, false), e.op('Mul', [scale, e.op('Mul', [e.scalar(-0.5, d), e.op('Mul', [inv, e.op('Mul', [inv, inv])])])])])
        : undefined,
    ];
  },
  GlobalAveragePool: (c) => {
    const xs = c.shape(c.inputs[0]!);
    const n = xs.slice(2).reduce((a, b) => a * b, 1);
    return [c.e.op('Expand', [c.e.op('Div', [c.gy[0]!, c.e.scalar(n, dt(c))]), c.e.shapeOf(c.inputs[0]!)])];
  },
  // GlobalMaxPool: like ReduceMax over the spatial axes (ties share the gradient).
  GlobalMaxPool: (c) => {
    const x = c.inputs[0]!;
    const e = c.e;
    const axes = range(2, c.shape(x).length);
    const m = e.op('Cast', [e.op('Equal', [x, c.outputs[0]!])], { to: onnxType(dt(c)) });
    const cnt = e.reduceSum(m, axes, true);
    return [e.op('Mul', [m, e.op('Div', [c.gy[0]!, cnt])])];
  },
  // AveragePool: ConvTranspose of g / divisor with a ones kernel, one group per channel.
  AveragePool: (c) => {
    const x = c.inputs[0]!;
    const xs = c.shape(x);
    const ys = c.shape(c.outputs[0]!);
    const inS = xs.slice(2);
    const outS = ys.slice(2);
    const kernel = c.attr.ints('kernel_shape')!;
    const geom = convGeom(c, inS, kernel);
    const C = xs[1]!;
    const d = dt(c);
    const e = c.e;
    const K = kernel.reduce((a, b) => a * b, 1);
    const padded = geom.padsBegin.some((p) => p > 0) || geom.padsEnd.some((p) => p > 0) || c.attr.int('ceil_mode', 0) === 1;
    let gd: string;
    if (c.attr.int('count_include_pad', 0) === 0 && padded) {
      // divisor = number of valid input elements in each window
      const attrs: Record<string, number[] | number | string> = { kernel_shape: kernel, strides: geom.strides, pads: [...geom.padsBegin, ...geom.padsEnd], count_include_pad: 1 };
      if (c.attr.has('dilations')) attrs.dilations = geom.dilations;
      if (c.attr.int('ceil_mode', 0)) attrs.ceil_mode = 1;
      const cntK = e.op('AveragePool', [e.onesLike(x, d)], attrs);
      gd = e.op('Div', [c.gy[0]!, e.op('Mul', [cntK, e.scalar(K, d)])]);
    } else {
      gd = e.op('Div', [c.gy[0]!, e.scalar(K, d)]);
    }
    const ones = e.constant(new Array<number>(C * K).fill(1), d, [C, 1, ...kernel]);
    const t = transposedGeometry(geom, inS, outS);
    return [
      e.op('ConvTranspose', [gd, ones], {
        strides: geom.strides,
        dilations: geom.dilations,
        pads: [...geom.padsBegin, ...t.padsEnd],
        output_padding: t.outputPadding,
        group: C,
        kernel_shape: kernel,
      }),
    ];
  },
  // MaxPool: scatter-add g at the argmax positions from the node's own Indices output.
  // Windows that cannot overlap (stride >= kernel extent) give unique indices, so before opset 16
  // a plain ScatterElements is exact.
  MaxPool: (c) => {
    if (c.attr.int('storage_order', 0) !== 0) return c.fail('storage_order=1 is not supported');
    const kernel = c.attr.ints('kernel_shape')!;
    const strides = c.attr.ints('strides') ?? kernel.map(() => 1);
    const dil = c.attr.ints('dilations') ?? kernel.map(() => 1);
    const disjoint = kernel.every((k, i) => strides[i]! >= (k - 1) * dil[i]! + 1);
    if (c.opset < 16 && !disjoint) return c.fail('overlapping windows need opset >= 16 (ScatterElements reduction=add)');
    const x = c.inputs[0]!;
    const e = c.e;
    const idx = c.forwardOutput(1);
    const flatZeros = e.reshape(e.zerosLike(x, c.dtype(x)), [-1]);
    const s = e.op('ScatterElements', [flatZeros, e.reshape(idx, [-1]), e.reshape(c.gy[0]!, [-1])], c.opset >= 16 ? { axis: 0, reduction: 'add' } : { axis: 0 });
    return [e.reshapeLike(s, x)];
  },
  // Resize is separable and linear in X along each resized axis: y = R_a x along axis a. R_a is
  // obtained in-graph by resizing an identity basis with the same attributes, so every mode and
  // coordinate transformation of the forward is matched exactly; the gradient applies R_a^T.
  Resize: (c) => {
    const [x, roi, scales, sizes] = c.inputs as [string, string | undefined, string | undefined, string | undefined];
    const xs = c.shape(x);
    const ys = c.shape(c.outputs[0]!);
    const rank = xs.length;
    if (c.attr.has('axes')) return c.fail("the 'axes' attribute is not supported");
    if (c.attr.string('coordinate_transformation_mode', 'half_pixel') === 'tf_crop_and_resize') return c.fail('tf_crop_and_resize is not supported');
    if (c.attr.string('keep_aspect_ratio_policy', 'stretch') !== 'stretch') return c.fail('keep_aspect_ratio_policy must be stretch');
    void roi;
    const scaleV = scales ? c.value(scales) : undefined;
    const useScales = !!scaleV && scaleV.length === rank;
    const resized = range(0, rank).filter((a) => xs[a] !== ys[a] || (useScales && scaleV![a] !== 1));
    if (resized.includes(0)) return c.fail('resizing the batch axis is not supported');
    if (!useScales && !sizes) return c.fail('needs constant scales or sizes');
    const e = c.e;
    const d = dt(c);
    const attrs: Record<string, string | number> = {};
    for (const a of c.node.attribute) {
      if (a.name === 'mode' || a.name === 'coordinate_transformation_mode' || a.name === 'nearest_mode') attrs[a.name] = new TextDecoder().decode(a.s);
      else if (a.name === 'cubic_coeff_a' || a.name === 'extrapolation_value') attrs[a.name] = a.f;
      else if (a.name === 'exclude_outside' || a.name === 'antialias') attrs[a.name] = Number(a.i);
    }
    const floatAttrs: Attrs = Object.fromEntries(Object.entries(attrs).map(([k, v]) => [k, typeof v === 'number' && (k === 'cubic_coeff_a' || k === 'extrapolation_value') ? float(v) : v]));
    let g = c.gy[0]!;
    // Fast path: nearest with integer scales where output o reads input floor(o / s): asymmetric +
    // floor (PyTorch's export), and half_pixel + round_prefer_* (o = ks + r maps to k + (r + 1/2)/s - 1/2,
    // strictly within 1/2 of k): sum each s-block.
    const ctm = (attrs.coordinate_transformation_mode as string | undefined) ?? 'half_pixel';
    const nmode = (attrs.nearest_mode as string | undefined) ?? 'round_prefer_floor';
    const intScale = resized.every((a) => ys[a]! % xs[a]! === 0 && (!useScales || scaleV![a] === ys[a]! / xs[a]!));
    const blocky = (attrs.mode ?? 'nearest') === 'nearest' && intScale && !attrs.antialias && (((ctm === 'half_pixel' || ctm === 'pytorch_half_pixel') && nmode.startsWith('round')) || (ctm === 'asymmetric' && nmode === 'floor'));
    if (blocky && resized.length > 0) {
      // float32 with only spatial axes resized: the block sum is a depthwise Conv with a ones
      // kernel of the scale's size and stride (bench/resize-grad.ts, 1 thread: 1.4-3.8x faster than
      // the ReduceSum over the interleaved block axes, e.g. 111 vs 282 us for 64x32x32 at batch 1).
      const C = xs[1]!;
      if (d === 'float32' && rank >= 3 && rank <= 5 && resized.every((a) => a >= 2) && C > 0) {
        const k = range(2, rank).map((a) => ys[a]! / xs[a]!);
        const K = k.reduce((p, q) => p * q, 1);
        const ones = e.constant(new Array<number>(C * K).fill(1), d, [C, 1, ...k]);
        return [e.op('Conv', [g, ones], { kernel_shape: k, strides: k, group: C }), undefined, undefined, undefined];
      }
      const shp: number[] = [];
      const sumAxes: number[] = [];
      for (let a = 0; a < rank; a++) {
        if (resized.includes(a)) {
          shp.push(xs[a]!, ys[a]! / xs[a]!);
          sumAxes.push(shp.length - 1);
        } else shp.push(a === 0 ? -1 : xs[a]!);
      }
      return [e.reduceSum(e.reshape(g, shp), sumAxes, false), undefined, undefined, undefined];
    }
    for (const a of resized) {
      const n = xs[a]!;
      const m = ys[a]!;
      const eye = new Array<number>(n * n).fill(0);
      for (let i = 0; i < n; i++) eye[i * n + i] = 1;
      const eShape = new Array<number>(rank).fill(1);
      eShape[0] = n;
      eShape[a] = n;
      const basis = e.constant(eye, d, eShape);
      let rt: string;
      if (useScales) {
        const s = new Array<number>(rank).fill(1);
        s[a] = scaleV![a]!;
        rt = e.op('Resize', [basis, '', e.constant(s, 'float32', [rank])], floatAttrs);
      } else {
        const sz = [...eShape];
        sz[a] = m;
        rt = e.op('Resize', [basis, '', '', e.ints(sz)], floatAttrs);
      }
      rt = e.reshape(rt, [n, m]); // rt[j, o] = R[o, j]
      if (a === rank - 1) g = e.op('MatMul', [g, e.transpose(rt, [1, 0])]);
      else if (a === rank - 2) g = e.op('MatMul', [rt, g]);
      else {
        const perm = range(0, rank).filter((i) => i !== a).concat([a]);
        const inv = new Array<number>(rank);
        perm.forEach((p, i) => (inv[p] = i));
        g = e.transpose(e.op('MatMul', [e.transpose(g, perm), e.transpose(rt, [1, 0])]), inv);
      }
    }
    return [g, undefined, undefined, undefined];
  },
};
