/**
 * Micro-benchmark of formulations of a convolution's weight gradient dW[o, i, t] =
 * sum_{n, j} I[n, i, j*s + t - p] O[n, o, j] on onnxruntime-node CPU (used to pick the strategy in
 * src/engine/onnx/autodiff/rules/nn.ts weightGrad*). All candidates run in the same process,
 * interleaved round by round; min of --runs (default 40) after a warm-up, 1 thread.
 *
 *   npx tsx bench/conv-wgrad.ts [--runs 40] [--threads 1] [--only conv,per_tap_nhwc,...] [--set all|taps] [--json out.json]
 *
 * Candidates (names as printed): conv (the old default: batch/channels swapped Conv), im2col_old
 * (CONV_GRAD.weight 'im2col'), gemm_cat0/gemm_cat1 (channel-major windows concatenated, one Gemm),
 * per_tap* (one Gemm per kernel offset; per_tap_nhwc is CONV_GRAD 'taps'), eyeconv/eyedw*
 * (im2col by a Conv with identity kernels; eyedw_gen_cm is CONV_GRAD 'eyeconv'), eye_einsum,
 * mm1x1* (1x1 only; mm1x1_cm is the plain-1x1 path), flatrow / ostack (stride-1 "same" convs
 * only: contiguous row windows of the flattened padded input, or one Gemm over per-tap shifted
 * output gradients; both slower than per_tap_nhwc_cat1 at every --set b8 shape, kept as measured
 * alternatives). Every candidate is checked against conv.
 * Shapes: the convolutions of the blocks UNet and the Shape World UNet at batch 1, 2 and 4.
 */
import { GraphBuilder } from '../src/engine/onnx/builder.ts';
import { createSession, type HostTensor, type Session } from '../src/engine/onnx/session.ts';

interface Shape { N: number; ci: number; co: number; H: number; k: number; s: number; p: number }
type Build = (g: GraphBuilder, I: string, O: string, sh: Shape, Ho: number) => string | undefined;

const arg = (n: string, d: string) => { const i = process.argv.indexOf(`--${n}`); return i >= 0 ? process.argv[i + 1]! : d; };
const i64 = (g: GraphBuilder, v: number[]) => g.constant(BigInt64Array.from(v.map(BigInt)), [v.length]);
const reshape = (g: GraphBuilder, x: string, s: number[]) => g.op('Reshape', [x, i64(g, s)]);
const transpose = (g: GraphBuilder, x: string, perm: number[]) => g.op('Transpose', [x], { perm });
const slice = (g: GraphBuilder, x: string, st: number[], en: number[], ax: number[], steps: number[]) => g.op('Slice', [x, i64(g, st), i64(g, en), i64(g, ax), i64(g, steps)]);

function padded(g: GraphBuilder, x: string, sh: Shape, Ho: number): string {
  const need = (sh.k - 1) + (Ho - 1) * sh.s + 1;
  const pe = Math.max(0, need - sh.p - sh.H);
  if (sh.p === 0 && pe === 0) return x;
  return g.op('Pad', [x, i64(g, [0, 0, sh.p, sh.p, 0, 0, pe, pe])]);
}
function taps(g: GraphBuilder, x: string, sh: Shape, Ho: number, ax: number[]): string[] {
  const r: string[] = [];
  for (let a = 0; a < sh.k; a++) for (let b = 0; b < sh.k; b++) r.push(sh.k === 1 && sh.s === 1 ? x : slice(g, x, [a, b], [a + (Ho - 1) * sh.s + 1, b + (Ho - 1) * sh.s + 1], ax, [sh.s, sh.s]));
  return r;
}
/** The K windows of I read by each kernel tap, channels-last ([N, Ho, Wo, ci]) from the padded NHWC input. */
function nhwcWindows(g: GraphBuilder, I: string, sh: Shape, Ho: number): string[] {
  const It = transpose(g, I, [0, 2, 3, 1]); // [N, H, W, ci]
  const need = (sh.k - 1) + (Ho - 1) * sh.s + 1;
  const pe = Math.max(0, need - sh.p - sh.H);
  const Ip = sh.p === 0 && pe === 0 ? It : g.op('Pad', [It, i64(g, [0, sh.p, sh.p, 0, 0, pe, pe, 0])]);
  const t: string[] = [];
  for (let a = 0; a < sh.k; a++) for (let b = 0; b < sh.k; b++) t.push(sh.k === 1 && sh.s === 1 ? Ip : slice(g, Ip, [a, b], [a + (Ho - 1) * sh.s + 1, b + (Ho - 1) * sh.s + 1], [1, 2], [sh.s, sh.s]));
  return t;
}
/**
 * For the flat-row candidates (stride 1, "same" pads): the padded channels-last input flattened to
 * rows [N*Hp*Wp, ci], and the channel-major output gradient zero-padded onto the same grid [co, N, Hp, Wp].
 */
function flatRows(g: GraphBuilder, I: string, O: string, sh: Shape): { flat: string; Oc: string; Hp: number; Wp: number; R: number } {
  const { N, ci, H, p } = sh;
  const Hp = H + 2 * p, Wp = H + 2 * p;
  const It = g.op('Pad', [transpose(g, I, [0, 2, 3, 1]), i64(g, [0, p, p, 0, 0, p, p, 0])]);
  const Oc = g.op('Pad', [transpose(g, O, [1, 0, 2, 3]), i64(g, [0, 0, 0, 0, 0, 0, 2 * p, 2 * p])]);
  return { flat: reshape(g, It, [N * Hp * Wp, ci]), Oc, Hp, Wp, R: N * Hp * Wp };
}
/** [N, C, H, W] -> [C, N*H*W] (Reshape when N = 1). */
const chanMajor = (g: GraphBuilder, x: string, N: number, C: number) => reshape(g, N === 1 ? x : transpose(g, x, [1, 0, 2, 3]), [C, -1]);

const CANDIDATES: Record<string, Build> = {
  // current: Conv with batch and channels swapped, kernel = whole output grid
  conv: (g, I, O, sh) => {
    const Ir = transpose(g, I, [1, 0, 2, 3]);
    const Or = transpose(g, O, [1, 0, 2, 3]);
    const r = g.op('Conv', [Ir, Or], { strides: [1, 1], dilations: [sh.s, sh.s], pads: [sh.p, sh.p, sh.p, sh.p] });
    let w = transpose(g, r, [1, 0, 2, 3]);
    const kp = Math.floor((sh.H + 2 * sh.p - ((Math.floor((sh.H + 2 * sh.p - sh.k) / sh.s)) * sh.s + 1))) + 1;
    if (kp !== sh.k) w = slice(g, w, [0, 0], [sh.k, sh.k], [2, 3], [1, 1]);
    return w;
  },
  // existing im2col option: slices unsqueezed + Concat axis 2 + batched MatMul + ReduceSum
  im2col_old: (g, I, O, sh, Ho) => {
    const K = sh.k * sh.k;
    const t = taps(g, padded(g, I, sh, Ho), sh, Ho, [2, 3]);
    const col = K === 1 ? t[0]! : g.op('Concat', t.map((x) => g.op('Unsqueeze', [x, i64(g, [2])])), { axis: 2 });
    const X = reshape(g, col, [-1, 1, sh.ci * K, Ho * Ho]);
    const Ot = transpose(g, reshape(g, O, [-1, 1, sh.co, Ho * Ho]), [0, 1, 3, 2]);
    const s = g.op('ReduceSum', [g.op('MatMul', [X, Ot]), i64(g, [0])], { keepdims: 0 });
    return reshape(g, transpose(g, s, [0, 2, 1]), [sh.co, sh.ci, sh.k, sh.k]);
  },
  // channel-major layout, slices concatenated along a new axis 1 ([ci, K, NHW]), one Gemm(O, X^T)
  gemm_cat1: (g, I, O, sh, Ho) => {
    const K = sh.k * sh.k;
    const It = sh.N === 1 ? reshape(g, I, [sh.ci, 1, sh.H, sh.H]) : transpose(g, I, [1, 0, 2, 3]);
    const t = taps(g, padded(g, It, sh, Ho), sh, Ho, [2, 3]);
    const col = K === 1 ? t[0]! : g.op('Concat', t.map((x) => g.op('Unsqueeze', [x, i64(g, [1])])), { axis: 1 });
    const X = reshape(g, col, [sh.ci * K, -1]);
    const r = g.op('Gemm', [chanMajor(g, O, sh.N, sh.co), X], { transB: 1 });
    return reshape(g, r, [sh.co, sh.ci, sh.k, sh.k]);
  },
  // channel-major, slices concatenated along axis 0 ([K*ci, NHW], contiguous copies), Gemm, small transpose
  gemm_cat0: (g, I, O, sh, Ho) => {
    const K = sh.k * sh.k;
    const It = sh.N === 1 ? reshape(g, I, [sh.ci, 1, sh.H, sh.H]) : transpose(g, I, [1, 0, 2, 3]);
    const t = taps(g, padded(g, It, sh, Ho), sh, Ho, [2, 3]);
    const col = K === 1 ? t[0]! : g.op('Concat', t, { axis: 0 });
    const X = reshape(g, col, [sh.ci * K, -1]);
    const r = g.op('Gemm', [chanMajor(g, O, sh.N, sh.co), X], { transB: 1 }); // [co, K*ci]
    return reshape(g, transpose(g, reshape(g, r, [sh.co, K, sh.ci]), [0, 2, 1]), [sh.co, sh.ci, sh.k, sh.k]);
  },
  // per-offset: K Gemms [co, NHW] x [NHW, ci], stacked
  per_tap: (g, I, O, sh, Ho) => {
    const K = sh.k * sh.k;
    const It = sh.N === 1 ? reshape(g, I, [sh.ci, 1, sh.H, sh.H]) : transpose(g, I, [1, 0, 2, 3]);
    const Om = chanMajor(g, O, sh.N, sh.co);
    const t = taps(g, padded(g, It, sh, Ho), sh, Ho, [2, 3]).map((x) => g.op('Gemm', [Om, reshape(g, x, [sh.ci, -1])], { transB: 1 }));
    const r = K === 1 ? t[0]! : g.op('Concat', t.map((x) => g.op('Unsqueeze', [x, i64(g, [2])])), { axis: 2 });
    return reshape(g, r, [sh.co, sh.ci, sh.k, sh.k]);
  },
  // im2col by a Conv with identity kernels over [N*ci, 1, H, W], then Gemm / batched MatMul
  eyeconv: (g, I, O, sh) => {
    const K = sh.k * sh.k;
    const eye = new Float32Array(K * K);
    for (let i = 0; i < K; i++) eye[i * K + i] = 1;
    const x1 = reshape(g, I, [-1, 1, sh.H, sh.H]);
    const col = g.op('Conv', [x1, g.constant(eye, [K, 1, sh.k, sh.k])], { strides: [sh.s, sh.s], pads: [sh.p, sh.p, sh.p, sh.p] }); // [N*ci, K, Ho, Wo]
    if (sh.N === 1) return reshape(g, g.op('Gemm', [reshape(g, O, [sh.co, -1]), reshape(g, col, [sh.ci * K, -1])], { transB: 1 }), [sh.co, sh.ci, sh.k, sh.k]);
    const m = g.op('MatMul', [reshape(g, O, [sh.N, sh.co, -1]), transpose(g, reshape(g, col, [sh.N, sh.ci * K, -1]), [0, 2, 1])]);
    return reshape(g, g.op('ReduceSum', [m, i64(g, [0])], { keepdims: 0 }), [sh.co, sh.ci, sh.k, sh.k]);
  },
  // same, identity kernel as a depthwise (group = ci) Conv over [N, ci, H, W]
  eyedw: (g, I, O, sh) => {
    const K = sh.k * sh.k;
    const eye = new Float32Array(sh.ci * K * K);
    for (let c = 0; c < sh.ci; c++) for (let i = 0; i < K; i++) eye[(c * K + i) * K + i] = 1;
    const col = g.op('Conv', [I, g.constant(eye, [sh.ci * K, 1, sh.k, sh.k])], { strides: [sh.s, sh.s], pads: [sh.p, sh.p, sh.p, sh.p], group: sh.ci }); // [N, ci*K, Ho, Wo]
    if (sh.N === 1) return reshape(g, g.op('Gemm', [reshape(g, O, [sh.co, -1]), reshape(g, col, [sh.ci * K, -1])], { transB: 1 }), [sh.co, sh.ci, sh.k, sh.k]);
    const m = g.op('MatMul', [reshape(g, O, [sh.N, sh.co, -1]), transpose(g, reshape(g, col, [sh.N, sh.ci * K, -1]), [0, 2, 1])]);
    return reshape(g, g.op('ReduceSum', [m, i64(g, [0])], { keepdims: 0 }), [sh.co, sh.ci, sh.k, sh.k]);
  },
  // Einsum over the eye-conv columns
  eye_einsum: (g, I, O, sh) => {
    const K = sh.k * sh.k;
    const eye = new Float32Array(K * K);
    for (let i = 0; i < K; i++) eye[i * K + i] = 1;
    const col = sh.k === 1 && sh.s === 1 && sh.p === 0 ? I : g.op('Conv', [reshape(g, I, [-1, 1, sh.H, sh.H]), g.constant(eye, [K, 1, sh.k, sh.k])], { strides: [sh.s, sh.s], pads: [sh.p, sh.p, sh.p, sh.p] });
    const r = g.op('Einsum', [reshape(g, O, [sh.N, sh.co, -1]), reshape(g, col, [sh.N, sh.ci * K, -1])], { equation: 'noj,nij->oi' });
    return reshape(g, r, [sh.co, sh.ci, sh.k, sh.k]);
  },
  // 1x1 only: batched MatMul with transposed O (current 1x1 path) vs Gemm
  mm1x1: (g, I, O, sh) => {
    if (sh.k !== 1 || sh.s !== 1 || sh.p !== 0) return undefined;
    if (sh.N === 1) return reshape(g, g.op('Gemm', [reshape(g, O, [sh.co, -1]), reshape(g, I, [sh.ci, -1])], { transB: 1 }), [sh.co, sh.ci, 1, 1]);
    const m = g.op('MatMul', [reshape(g, O, [sh.N, sh.co, -1]), transpose(g, reshape(g, I, [sh.N, sh.ci, -1]), [0, 2, 1])]);
    return reshape(g, g.op('ReduceSum', [m, i64(g, [0])], { keepdims: 0 }), [sh.co, sh.ci, 1, 1]);
  },
  mm1x1_cm: (g, I, O, sh) => {
    if (sh.k !== 1 || sh.s !== 1 || sh.p !== 0) return undefined;
    return reshape(g, g.op('Gemm', [chanMajor(g, O, sh.N, sh.co), chanMajor(g, I, sh.N, sh.ci)], { transB: 1 }), [sh.co, sh.ci, 1, 1]);
  },
  // per-tap variants: NHWC slices so B is not transposed; or [ci, co] products
  per_tap_nhwc: (g, I, O, sh, Ho) => {
    const K = sh.k * sh.k;
    const Om = reshape(g, transpose(g, O, [1, 0, 2, 3]), [sh.co, -1]);
    const t = nhwcWindows(g, I, sh, Ho).map((x) => g.op('Gemm', [Om, reshape(g, x, [-1, sh.ci])]));
    const r = K === 1 ? t[0]! : g.op('Concat', t.map((x) => g.op('Unsqueeze', [x, i64(g, [2])])), { axis: 2 });
    return reshape(g, r, [sh.co, sh.ci, sh.k, sh.k]);
  },
  // channels-last windows concatenated on the channel axis ([N, Ho, Wo, K*ci]), one Gemm, small transpose
  cat_nhwc: (g, I, O, sh, Ho) => {
    const K = sh.k * sh.k;
    const Om = reshape(g, transpose(g, O, [1, 0, 2, 3]), [sh.co, -1]);
    const t = nhwcWindows(g, I, sh, Ho);
    const col = K === 1 ? t[0]! : g.op('Concat', t, { axis: 3 });
    const r = g.op('Gemm', [Om, reshape(g, col, [-1, K * sh.ci])]); // [co, K*ci]
    return reshape(g, transpose(g, reshape(g, r, [sh.co, K, sh.ci]), [0, 2, 1]), [sh.co, sh.ci, sh.k, sh.k]);
  },
  // per_tap_nhwc with the [co, ci] products concatenated on axis 1 (no Unsqueeze), small transpose
  per_tap_nhwc_cat1: (g, I, O, sh, Ho) => {
    const K = sh.k * sh.k;
    const Om = reshape(g, transpose(g, O, [1, 0, 2, 3]), [sh.co, -1]);
    const t = nhwcWindows(g, I, sh, Ho).map((x) => g.op('Gemm', [Om, reshape(g, x, [-1, sh.ci])]));
    const r = K === 1 ? t[0]! : g.op('Concat', t, { axis: 1 }); // [co, K*ci]
    return reshape(g, transpose(g, reshape(g, r, [sh.co, K, sh.ci]), [0, 2, 1]), [sh.co, sh.ci, sh.k, sh.k]);
  },
  per_tap_ci: (g, I, O, sh, Ho) => {
    const K = sh.k * sh.k;
    const It = transpose(g, I, [1, 0, 2, 3]);
    const Om = reshape(g, transpose(g, O, [1, 0, 2, 3]), [sh.co, -1]);
    const t = taps(g, padded(g, It, sh, Ho), sh, Ho, [2, 3]).map((x) => g.op('Gemm', [reshape(g, x, [sh.ci, -1]), Om], { transB: 1 }));
    const r = K === 1 ? t[0]! : g.op('Concat', t, { axis: 0 }); // [K*ci, co]
    return reshape(g, transpose(g, reshape(g, r, [K, sh.ci, sh.co]), [2, 1, 0]), [sh.co, sh.ci, sh.k, sh.k]);
  },
  per_tap_ot: (g, I, O, sh, Ho) => {
    const K = sh.k * sh.k;
    const It = transpose(g, I, [1, 0, 2, 3]);
    const Ot = reshape(g, transpose(g, O, [0, 2, 3, 1]), [-1, sh.co]); // [NHW, co]
    const t = taps(g, padded(g, It, sh, Ho), sh, Ho, [2, 3]).map((x) => g.op('Gemm', [reshape(g, x, [sh.ci, -1]), Ot]));
    const r = K === 1 ? t[0]! : g.op('Concat', t, { axis: 0 }); // [K*ci, co]
    return reshape(g, transpose(g, reshape(g, r, [K, sh.ci, sh.co]), [2, 1, 0]), [sh.co, sh.ci, sh.k, sh.k]);
  },
  // batch-generic variants (valid whatever N is at run time): channel-major via Transpose
  per_tap_gen: (g, I, O, sh, Ho) => {
    const K = sh.k * sh.k;
    const It = transpose(g, I, [1, 0, 2, 3]);
    const Om = reshape(g, transpose(g, O, [1, 0, 2, 3]), [sh.co, -1]);
    const t = taps(g, padded(g, It, sh, Ho), sh, Ho, [2, 3]).map((x) => g.op('Gemm', [Om, reshape(g, x, [sh.ci, -1])], { transB: 1 }));
    const r = K === 1 ? t[0]! : g.op('Concat', t.map((x) => g.op('Unsqueeze', [x, i64(g, [2])])), { axis: 2 });
    return reshape(g, r, [sh.co, sh.ci, sh.k, sh.k]);
  },
  eyedw_gen: (g, I, O, sh) => {
    const K = sh.k * sh.k;
    const eye = new Float32Array(sh.ci * K * K);
    for (let c = 0; c < sh.ci; c++) for (let i = 0; i < K; i++) eye[(c * K + i) * K + i] = 1;
    const col = g.op('Conv', [I, g.constant(eye, [sh.ci * K, 1, sh.k, sh.k])], { strides: [sh.s, sh.s], pads: [sh.p, sh.p, sh.p, sh.p], group: sh.ci });
    const m = g.op('MatMul', [reshape(g, O, [0, sh.co, -1]), transpose(g, reshape(g, col, [0, sh.ci * K, -1]), [0, 2, 1])]);
    return reshape(g, g.op('ReduceSum', [m, i64(g, [0])], { keepdims: 0 }), [sh.co, sh.ci, sh.k, sh.k]);
  },
  // Flat-row windows (stride 1, "same" pads): on the padded channels-last input flattened to rows
  // [N*Hp*Wp, ci], tap (a, b) reads the contiguous row range starting at a*Wp + b when the output
  // gradient is laid out on the same padded grid (zeros outside H x W): contiguous Slices, a
  // contraction longer by Hp*Wp/(H*W).
  flatrow: (g, I, O, sh, Ho) => {
    if (sh.s !== 1 || 2 * sh.p !== sh.k - 1) return undefined;
    const { N, co, ci, k } = sh;
    const { flat, Oc, Hp, Wp } = flatRows(g, I, O, sh);
    const Leff = (N - 1) * Hp * Wp + (Ho - 1) * Wp + Ho;
    const Oeff = slice(g, reshape(g, Oc, [co, -1]), [0], [Leff], [1], [1]);
    const t: string[] = [];
    for (let a = 0; a < k; a++) for (let b = 0; b < k; b++) t.push(g.op('Gemm', [Oeff, slice(g, flat, [a * Wp + b], [a * Wp + b + Leff], [0], [1])]));
    const K = k * k;
    const r = g.op('Concat', t, { axis: 1 });
    return reshape(g, transpose(g, reshape(g, r, [co, K, ci]), [0, 2, 1]), [co, ci, k, k]);
  },
  // One Gemm [K*co, R] x [R, ci] over the flat rows, the output gradient shifted per tap instead of
  // the input windows (one B operand for all taps).
  ostack: (g, I, O, sh) => {
    if (sh.s !== 1 || 2 * sh.p !== sh.k - 1) return undefined;
    const { ci, co, k } = sh;
    const { flat, Oc, Wp, R } = flatRows(g, I, O, sh);
    const maxOff = (k - 1) * Wp + (k - 1);
    const P = g.op('Pad', [reshape(g, Oc, [co, R]), i64(g, [0, maxOff, 0, 0])]); // [co, maxOff + R]
    const t: string[] = [];
    for (let a = 0; a < k; a++) for (let b = 0; b < k; b++) { const off = a * Wp + b; t.push(slice(g, P, [maxOff - off], [maxOff - off + R], [1], [1])); }
    const r = g.op('Gemm', [g.op('Concat', t, { axis: 0 }), flat]); // [K*co, ci]
    return reshape(g, transpose(g, reshape(g, r, [k * k, co, ci]), [1, 2, 0]), [co, ci, k, k]);
  },
  eyedw_gen_cm: (g, I, O, sh) => {
    const K = sh.k * sh.k;
    const eye = new Float32Array(sh.ci * K * K);
    for (let c = 0; c < sh.ci; c++) for (let i = 0; i < K; i++) eye[(c * K + i) * K + i] = 1;
    const col = g.op('Conv', [I, g.constant(eye, [sh.ci * K, 1, sh.k, sh.k])], { strides: [sh.s, sh.s], pads: [sh.p, sh.p, sh.p, sh.p], group: sh.ci });
    const r = g.op('Gemm', [reshape(g, transpose(g, O, [1, 0, 2, 3]), [sh.co, -1]), reshape(g, transpose(g, col, [1, 0, 2, 3]), [sh.ci * K, -1])], { transB: 1 });
    return reshape(g, r, [sh.co, sh.ci, sh.k, sh.k]);
  },
};

function rand(n: number, seed: number): Float32Array {
  let s = seed;
  return Float32Array.from({ length: n }, () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1);
}

const SHAPES: Shape[] = [];
const SET = arg('set', 'all');
if (SET === 'b8') for (const N of [1, 8]) {
  for (const [ci, co, H] of [[32, 32, 32], [64, 32, 32], [64, 64, 16], [4, 32, 32], [96, 96, 8], [192, 96, 8]] as const) SHAPES.push({ N, ci, co, H, k: 3, s: 1, p: 1 });
  SHAPES.push({ N, ci: 32, co: 64, H: 32, k: 3, s: 2, p: 1 });
}
else if (SET === 'taps') for (const [ci, co, H] of [[32, 32, 32], [64, 32, 32], [64, 64, 16], [160, 64, 16], [128, 64, 16]] as const) SHAPES.push({ N: 1, ci, co, H, k: 3, s: 1, p: 1 });
else for (const N of [1, 2]) {
  for (const [ci, co, H] of [[4, 32, 32], [32, 32, 32], [64, 32, 32], [32, 4, 32], [64, 64, 16], [160, 64, 16], [96, 96, 8], [192, 96, 8]] as const) if (N === 1 || [32, 64, 96].includes(ci) && ci === co) SHAPES.push({ N, ci, co, H, k: 3, s: 1, p: 1 });
  SHAPES.push({ N, ci: 32, co: 64, H: 32, k: 3, s: 2, p: 1 }, { N, ci: 64, co: 64, H: 16, k: 3, s: 2, p: 1 });
  for (const [ci, co, H] of [[64, 32, 32], [160, 64, 16], [192, 96, 8]] as const) SHAPES.push({ N, ci, co, H, k: 1, s: 1, p: 0 });
}
if (SET === 'all') SHAPES.push({ N: 4, ci: 64, co: 64, H: 16, k: 3, s: 1, p: 1 }, { N: 4, ci: 96, co: 96, H: 8, k: 3, s: 1, p: 1 }, { N: 4, ci: 32, co: 32, H: 32, k: 3, s: 1, p: 1 });

const runs = Number(arg('runs', '40'));
const threads = Number(arg('threads', '1'));
const only = arg('only', '');
const results: Record<string, unknown>[] = [];
for (const sh of SHAPES) {
  const Ho = Math.floor((sh.H + 2 * sh.p - sh.k) / sh.s) + 1;
  const feeds: Record<string, HostTensor> = { I: { data: rand(sh.N * sh.ci * sh.H * sh.H, 1), dims: [sh.N, sh.ci, sh.H, sh.H] }, O: { data: rand(sh.N * sh.co * Ho * Ho, 2), dims: [sh.N, sh.co, Ho, Ho] } };
  const sessions: [string, Session][] = [];
  for (const [name, build] of Object.entries(CANDIDATES)) {
    if (only && !only.split(',').includes(name)) continue;
    const g = new GraphBuilder({ opset: 17 });
    const I = g.input('I', 'float32', [sh.N, sh.ci, sh.H, sh.H]);
    const O = g.input('O', 'float32', [sh.N, sh.co, Ho, Ho]);
    const out = build(g, I, O, sh, Ho);
    if (!out) continue;
    g.output(out, 'dW');
    sessions.push([name, await createSession(g.toModel(), { intraOpNumThreads: threads })]);
  }
  const ref = (await sessions[0]![1].run(feeds)).dW!;
  const best = new Map<string, number>();
  for (const [name, s] of sessions) {
    const r = (await s.run(feeds)).dW!;
    let md = 0, mx = 0;
    for (let i = 0; i < r.data.length; i++) { md = Math.max(md, Math.abs((r.data[i] as number) - (ref.data[i] as number))); mx = Math.max(mx, Math.abs(ref.data[i] as number)); }
    if (r.data.length !== ref.data.length || md > 1e-4 * mx) throw new Error(`${name} wrong for ${JSON.stringify(sh)}: ${md} / ${mx}`);
    best.set(name, Infinity);
  }
  for (let i = 0; i < runs; i++) for (const [name, s] of sessions) {
    const t = performance.now();
    await s.run(feeds);
    best.set(name, Math.min(best.get(name)!, performance.now() - t));
  }
  const row: Record<string, unknown> = { ...sh, Ho };
  for (const [k, v] of best) row[k] = Number(v.toFixed(3));
  results.push(row);
  const sorted = [...best].sort((a, b) => a[1] - b[1]);
  console.log(`N${sh.N} ${sh.ci}->${sh.co} ${sh.H}x${sh.H} k${sh.k} s${sh.s} p${sh.p}: ${sorted.map(([k, v]) => `${k} ${v.toFixed(3)}`).join('  ')}`);
  for (const [, s] of sessions) await s.release();
}
if (arg('json', '')) (await import('node:fs')).writeFileSync(arg('json', ''), JSON.stringify(results, null, 1));
