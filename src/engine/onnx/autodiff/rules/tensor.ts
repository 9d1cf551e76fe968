/**
 * Gradient rules for linear algebra, shape manipulation, indexing and reductions.
 */
import type { GradRule, RuleContext } from '../context.ts';
import { float } from '../../builder.ts';
import { makeTensor } from '../../model.ts';

const norm = (a: number, r: number) => (a < 0 ? a + r : a);
const dt = (c: RuleContext) => c.dtype(c.outputs[0]!);
const onnxType = (c: RuleContext) => (dt(c) === 'float64' ? 11 : dt(c) === 'float16' ? 10 : 1);

/** MatMul: which leading (batch) dims of a rank-`rank` product follow symbolic dims (from the output's probe info). */
function batchVarying(c: RuleContext, rank: number): boolean[] | undefined {
  const v = c.info(c.outputs[0]!).varying;
  if (!v) return undefined;
  const out = new Array<boolean>(rank).fill(false);
  const nb = Math.min(rank, v.length) - 2;
  for (let i = 0; i < nb; i++) out[rank - 3 - i] = !!v[v.length - 3 - i];
  return out;
}

/** Swaps the last two axes. */
function swapLast(c: RuleContext, x: string, rank: number): string {
  const perm = Array.from({ length: rank }, (_, i) => i);
  perm[rank - 1] = rank - 2;
  perm[rank - 2] = rank - 1;
  return c.e.transpose(x, perm);
}

function inversePerm(perm: readonly number[]): number[] {
  const inv = new Array<number>(perm.length);
  perm.forEach((p, i) => (inv[p] = i));
  return inv;
}

/** Reshapes the gradient back to the input's runtime shape (Reshape/Flatten/Squeeze/Unsqueeze). */
const reshapeBack: GradRule = (c) => [c.e.reshapeLike(c.gy[0]!, c.inputs[0]!), undefined];

/** Axes of a Reduce* node (attribute before opset 13/18, input after), normalized. */
function reduceAxes(c: RuleContext): { axes: number[]; keepdims: boolean } {
  const rank = c.shape(c.inputs[0]!).length;
  const keepdims = c.attr.int('keepdims', 1) === 1;
  let axes = c.attr.ints('axes');
  if (!axes && c.inputs[1]) {
    const v = c.value(c.inputs[1]);
    if (!v) return c.fail('reduction axes must be a constant (or computable when probing)');
    axes = v;
  }
  if (!axes || axes.length === 0) {
    if (c.attr.int('noop_with_empty_axes', 0) === 1) return { axes: [], keepdims };
    axes = Array.from({ length: rank }, (_, i) => i);
  }
  return { axes: axes.map((a) => norm(a, rank)).sort((a, b) => a - b), keepdims };
}

/** Gradient of a reduction's output broadcast back to the input's shape (keepdims layout). */
function expandBack(c: RuleContext, g: string, axes: number[], keepdims: boolean): string {
  const gk = keepdims || axes.length === 0 ? g : c.e.unsqueeze(g, axes);
  return c.e.op('Expand', [gk, c.e.shapeOf(c.inputs[0]!)]);
}

/**
 * MatMul with a 2-D right operand (a linear layer's weight): dB as one Gemm over the flattened rows
 * ('gemm', default) or as the general batched MatMul + ReduceSum ('matmul'; exported so tests
 * exercise both). Blocks UNet fwd+bwd w.r.t. all weights, same run, min of 30: see bench/results.
 */
export const MATMUL_GRAD: { weight: 'gemm' | 'matmul' } = { weight: 'gemm' };

export const TENSOR_RULES: Record<string, GradRule> = {
  // Y = A @ B (numpy matmul semantics, batched, broadcasting, 1-D operands promoted)
  MatMul: (c) => {
    const [a, b] = c.inputs as [string, string];
    const ra = c.shape(a).length;
    const rb = c.shape(b).length;
    const e = c.e;
    let g = c.gy[0]!;
    let gShape = c.shape(c.outputs[0]!);
    // Promote 1-D operands: A [k] -> [1, k] (g gets a unit axis at -2), B [k] -> [k, 1] (at -1).
    let a2 = a;
    let b2 = b;
    if (ra === 1) {
      a2 = e.unsqueeze(a, [0]);
      g = e.unsqueeze(g, [gShape.length - (rb === 1 ? 0 : 1)]);
      gShape = [...gShape.slice(0, gShape.length - (rb === 1 ? 0 : 1)), 1, ...gShape.slice(gShape.length - (rb === 1 ? 0 : 1))];
    }
    if (rb === 1) {
      b2 = e.unsqueeze(b, [1]);
      g = e.unsqueeze(g, [gShape.length]);
      gShape = [...gShape, 1];
    }
    const r2a = Math.max(ra, 2);
    const r2b = Math.max(rb, 2);
    let da: string | undefined;
    let db: string | undefined;
    if (c.needs[0]) {
      let t = e.op('MatMul', [g, swapLast(c, b2, r2b)]); // [..., m, k]
      let tShape = [...gShape.slice(0, -1), c.shape(b).length === 1 ? c.shape(b)[0]! : c.shape(b)[r2b - 2]!];
      if (ra === 1) {
        t = e.squeeze(t, [tShape.length - 2]);
        tShape = [...tShape.slice(0, -2), tShape[tShape.length - 1]!];
      }
      da = e.unbroadcast(t, tShape, a, c.shape(a), batchVarying(c, tShape.length));
    }
    if (c.needs[1] && ra >= 2 && rb === 2 && MATMUL_GRAD.weight === 'gemm') {
      // B [k, n] shared by every batch row (a linear layer's weight): one Gemm over the flattened
      // rows, dB = A_rows^T g_rows, instead of a batched MatMul, a Transpose and a ReduceSum.
      const rows = (x: string) => (ra === 2 ? x : e.op('Flatten', [x], { axis: ra - 1 }));
      db = e.op('Gemm', [rows(a), rows(g)], { transA: 1 });
    } else if (c.needs[1]) {
      let t = e.op('MatMul', [swapLast(c, a2, r2a), g]); // [..., k, n]
      const kdim = ra === 1 ? c.shape(a)[0]! : c.shape(a)[ra - 1]!;
      let tShape = [...gShape.slice(0, -2), kdim, gShape[gShape.length - 1]!];
      if (rb === 1) {
        t = e.squeeze(t, [tShape.length - 1]);
        tShape = tShape.slice(0, -1);
      }
      db = e.unbroadcast(t, tShape, b, c.shape(b), batchVarying(c, tShape.length));
    }
    return [da, db];
  },
  // Y = alpha * A' @ B' + beta * C, A' = transA ? A^T : A, B' likewise
  Gemm: (c) => {
    const [a, b, cc] = c.inputs as [string, string, string | undefined];
    const alpha = c.attr.float('alpha', 1);
    const beta = c.attr.float('beta', 1);
    const transA = c.attr.int('transA', 0);
    const transB = c.attr.int('transB', 0);
    const g = c.gy[0]!;
    const e = c.e;
    let da: string | undefined;
    let db: string | undefined;
    let dc: string | undefined;
    if (c.needs[0]) {
      // dA' = alpha * g @ B'^T
      const t = e.op('Gemm', [g, b], { alpha: float(alpha), transB: 1 - transB });
      da = transA ? e.transpose(t, [1, 0]) : t;
    }
    if (c.needs[1]) {
      // dB' = alpha * A'^T @ g
      const t = e.op('Gemm', [a, g], { alpha: float(alpha), transA: 1 - transA });
      db = transB ? e.transpose(t, [1, 0]) : t;
    }
    if (cc && c.needs[2]) {
      const s = beta === 1 ? g : e.op('Mul', [g, e.scalar(beta, dt(c))]);
      dc = e.unbroadcast(s, c.shape(c.outputs[0]!), cc, c.shape(cc), c.outputs[0]!);
    }
    return [da, db, dc];
  },
  Reshape: reshapeBack,
  Flatten: reshapeBack,
  Squeeze: reshapeBack,
  Unsqueeze: reshapeBack,
  Transpose: (c) => {
    const rank = c.shape(c.inputs[0]!).length;
    const perm = c.attr.ints('perm') ?? Array.from({ length: rank }, (_, i) => rank - 1 - i);
    return [c.e.transpose(c.gy[0]!, inversePerm(perm))];
  },
  // Concat: split the gradient along the axis at the inputs' (probed) sizes.
  Concat: (c) => {
    const rank = c.shape(c.outputs[0]!).length;
    const axis = norm(c.attr.int('axis', 0), rank);
    const sizes = c.inputs.map((x) => c.shape(x)[axis]!);
    const nonEmpty = sizes.map((s, i) => ({ s, i })).filter((p) => p.s > 0);
    // Split sizes read at run time, so concatenating along a symbolic (batch) axis keeps working.
    const e = c.e;
    const splitSizes = e.op('Concat', nonEmpty.map((p) => e.op('Gather', [e.shapeOf(c.inputs[p.i]!), e.ints([axis])], { axis: 0 })), { axis: 0 });
    const parts = e.opN('Split', [c.gy[0]!, splitSizes], nonEmpty.length, { axis });
    const out: (string | undefined)[] = c.inputs.map(() => undefined);
    nonEmpty.forEach((p, j) => (out[p.i] = c.needs[p.i] ? parts[j] : undefined));
    return out;
  },
  // Split: concatenate output gradients (zeros for outputs that do not reach the loss).
  Split: (c) => {
    const rank = c.shape(c.inputs[0]!).length;
    const axis = norm(c.attr.int('axis', 0), rank);
    const parts = c.outputs.map((o, i) => c.gy[i] ?? c.e.zerosLike(o, dt(c)));
    return [c.e.op('Concat', parts, { axis }), undefined];
  },
  // Slice: pad the gradient with zeros back to the input shape (positive steps: zeros interleaved).
  Slice: (c) => {
    const x = c.inputs[0]!;
    const xs = c.shape(x);
    const rank = xs.length;
    const starts = c.value(c.inputs[1]!);
    const ends = c.value(c.inputs[2]!);
    const axesIn = c.inputs[3] ? c.value(c.inputs[3]) : Array.from({ length: starts?.length ?? 0 }, (_, i) => i);
    const steps = c.inputs[4] ? c.value(c.inputs[4]) : undefined;
    if (!starts || !ends || !axesIn || (c.inputs[4] && !steps)) return c.fail('starts/ends/axes/steps must be constant (or computable when probing)');
    const pads = new Array<number>(2 * rank).fill(0);
    let g = c.gy[0]!;
    const gShape = [...c.shape(c.outputs[0]!)];
    const e = c.e;
    // Pads computed at run time from Shape(x) for positive steps (so slicing a symbolic axis works);
    // negative steps use the probed sizes.
    const dynBegin = new Map<number, number>();
    for (let j = 0; j < axesIn.length; j++) {
      const ax = norm(axesIn[j]!, rank);
      const dim = xs[ax]!;
      let step = steps?.[j] ?? 1;
      if (step === 0) return c.fail('Slice step 0');
      let s = starts[j]!;
      const n = gShape[ax]!;
      if (n === 0) return [e.zerosLike(x, c.dtype(x))];
      if (step > 0) s = s < 0 ? Math.max(0, s + dim) : Math.min(s, dim);
      else {
        // Negative step: elements s, s+step, ..., s+(n-1)step. Reverse g so it runs upwards from
        // the last element with step |step|.
        s = s < 0 ? Math.max(-1, s + dim) : Math.min(s, dim - 1);
        s = s + (n - 1) * step;
        step = -step;
        g = e.slice(g, [-1], [-(2 ** 62)], [ax], [-1]);
      }
      if (step > 1) {
        // Interleave step-1 zeros after each element: [.., n, ..] -> [.., n, step, ..] -> [.., n*step, ..], keep (n-1)*step+1.
        const u = e.unsqueeze(g, [ax + 1]);
        const upads = new Array<number>(2 * (gShape.length + 1)).fill(0);
        upads[gShape.length + 1 + ax + 1] = step - 1;
        const padded = e.op('Pad', [u, e.ints(upads)]);
        // Merge axes ax, ax+1 and keep (n-1)*step+1, with n read at run time (symbolic axes work).
        const ps = e.op('Shape', [padded]);
        const r = gShape.length + 1;
        const nRt = e.op('Gather', [ps, e.ints([ax])], { axis: 0 });
        const pieces = [
          ...(ax > 0 ? [e.op('Slice', [ps, e.ints([0]), e.ints([ax])])] : []),
          e.op('Mul', [nRt, e.ints([step])]),
          ...(ax + 2 < r ? [e.op('Slice', [ps, e.ints([ax + 2]), e.ints([r])])] : []),
        ];
        const merged = e.reshape(padded, e.op('Concat', pieces, { axis: 0 }));
        const keep = e.op('Sub', [e.op('Mul', [nRt, e.ints([step])]), e.ints([step - 1])]);
        g = e.op('Slice', [merged, e.ints([0]), keep, e.ints([ax])]);
        gShape[ax] = (n - 1) * step + 1;
      }
      pads[ax] = s;
      pads[rank + ax] = dim - s - gShape[ax]!;
      if ((steps?.[j] ?? 1) > 0) dynBegin.set(ax, starts[j]!);
    }
    if (pads.some((p) => p < 0)) return c.fail('internal: negative padding');
    if (pads.every((p) => p === 0) && dynBegin.size === 0) return [g, undefined, undefined, undefined, undefined];
    const zero = e.ints([0]);
    const xShape = e.shapeOf(x);
    const gShapeRt = e.op('Shape', [g]);
    const begins: string[] = [];
    const endsP: string[] = [];
    for (let ax = 0; ax < rank; ax++) {
      const raw = dynBegin.get(ax);
      if (raw === undefined) {
        begins.push(e.ints([pads[ax]!]));
        endsP.push(e.ints([pads[rank + ax]!]));
        continue;
      }
      const dim = e.op('Gather', [xShape, e.ints([ax])], { axis: 0 });
      const r = e.ints([raw]);
      const normd = raw < 0 ? e.op('Add', [r, dim]) : r;
      const st = e.op('Max', [e.op('Min', [normd, dim]), zero]);
      const len = e.op('Gather', [gShapeRt, e.ints([ax])], { axis: 0 });
      begins.push(st);
      endsP.push(e.op('Sub', [e.op('Sub', [dim, st]), len]));
    }
    const dx = e.op('Pad', [g, e.op('Concat', [...begins, ...endsP], { axis: 0 })]);
    return [dx, undefined, undefined, undefined, undefined];
  },
  // Gather: scatter-add of g into zeros at the gathered rows (ScatterND add; one-hot MatMul before opset 16).
  Gather: (c) => {
    const [data, idx] = c.inputs as [string, string];
    const ds = c.shape(data);
    const rank = ds.length;
    const axis = norm(c.attr.int('axis', 0), rank);
    const e = c.e;
    const N = ds[axis]!;
    const idxRank = c.shape(idx).length;
    // g has shape data[:axis] + idx.shape + data[axis+1:]; move the idx block to the front.
    let g = c.gy[0]!;
    const gRank = rank - 1 + idxRank;
    if (axis > 0) {
      const perm = [...Array.from({ length: idxRank }, (_, i) => axis + i), ...Array.from({ length: axis }, (_, i) => i), ...Array.from({ length: gRank - axis - idxRank }, (_, i) => axis + idxRank + i)];
      g = e.transpose(g, perm);
    }
    // Sizes of the other data axes, read at run time (data may carry a symbolic batch axis).
    const restAxes = [...Array.from({ length: axis }, (_, i) => i), ...Array.from({ length: rank - axis - 1 }, (_, i) => axis + 1 + i)];
    const restShape = restAxes.length ? e.op('Gather', [e.shapeOf(data), e.ints(restAxes)], { axis: 0 }) : undefined;
    const withLead = (lead: number) => (restShape ? e.op('Concat', [e.ints([lead]), restShape], { axis: 0 }) : e.ints([lead]));
    const g2 = e.reshape(g, withLead(-1)); // [M, ...rest]
    const flatIdx = e.reshape(idx, [-1]);
    let d: string;
    if (c.opset >= 16) {
      // ScatterND with reduction='add' into zeros [N, ...rest]; negative indices wrapped first.
      const idx64 = c.dtype(idx) === 'int64' ? flatIdx : e.op('Cast', [flatIdx], { to: 7 });
      const wrapped = e.op('Where', [e.op('Less', [idx64, e.constant([0], 'int64', [])]), e.op('Add', [idx64, e.constant([N], 'int64', [])]), idx64]);
      const zeros = e.op('ConstantOfShape', [withLead(N)], { value: makeTensor('value', dt(c) === 'float64' ? new Float64Array(1) : dt(c) === 'float16' ? new Uint16Array(1) : new Float32Array(1), [1], dt(c)) });
      d = e.op('ScatterND', [zeros, e.unsqueeze(wrapped, [1]), g2], { reduction: 'add' });
    } else {
      // opset < 16: one-hot matrix product dData[n, r] = sum_m onehot[m, n] g[m, r]
      const oh = e.op('OneHot', [flatIdx, e.ints([N]), e.constant([0, 1], dt(c))], { axis: -1 }); // [M, N]
      const d2 = e.op('MatMul', [e.transpose(oh, [1, 0]), e.op('Flatten', [g2], { axis: 1 })]); // [N, R]
      d = e.reshape(d2, withLead(N));
    }
    if (axis > 0) {
      const perm = [...Array.from({ length: axis }, (_, i) => i + 1), 0, ...Array.from({ length: rank - axis - 1 }, (_, i) => axis + 1 + i)];
      d = e.transpose(d, perm);
    }
    return [d, undefined];
  },
  // GatherElements: ScatterElements with reduction='add' (opset >= 16).
  GatherElements: (c) => {
    if (c.opset < 16) return c.fail('needs opset >= 16 (ScatterElements reduction=add)');
    const [data, idx] = c.inputs as [string, string];
    const axis = c.attr.int('axis', 0);
    const z = c.e.zerosLike(data, c.dtype(data));
    return [c.e.op('ScatterElements', [z, idx, c.gy[0]!], { axis, reduction: 'add' }), undefined];
  },
  ReduceSum: (c) => {
    const { axes, keepdims } = reduceAxes(c);
    if (axes.length === 0) return [c.gy[0]!, undefined];
    return [expandBack(c, c.gy[0]!, axes, keepdims), undefined];
  },
  ReduceMean: (c) => {
    const { axes, keepdims } = reduceAxes(c);
    if (axes.length === 0) return [c.gy[0]!, undefined];
    // count = size(x) / size(y), read at run time (the reduced axes may include a symbolic batch)
    const e = c.e;
    const to = dt(c) === 'float64' ? 11 : dt(c) === 'float16' ? 10 : 1;
    const count = e.op('Div', [e.op('Cast', [e.op('Size', [c.inputs[0]!])], { to }), e.op('Cast', [e.op('Size', [c.outputs[0]!])], { to })]);
    const g = e.op('Div', [c.gy[0]!, count]);
    return [expandBack(c, g, axes, keepdims), undefined];
  },
  // y = sum x^2: dx = 2 x g
  ReduceSumSquare: (c) => {
    const { axes, keepdims } = reduceAxes(c);
    const x = c.inputs[0]!;
    const g = axes.length === 0 ? c.gy[0]! : expandBack(c, c.gy[0]!, axes, keepdims);
    return [c.e.op('Mul', [g, c.e.op('Mul', [x, c.e.scalar(2, dt(c))])]), undefined];
  },
  // y = sqrt(sum x^2): dx = x g / y
  ReduceL2: (c) => {
    const { axes, keepdims } = reduceAxes(c);
    if (axes.length === 0) return [c.e.op('Mul', [c.gy[0]!, c.e.op('Sign', [c.inputs[0]!])]), undefined];
    const q = c.e.op('Div', [c.gy[0]!, c.outputs[0]!]);
    return [c.e.op('Mul', [c.inputs[0]!, expandBack(c, q, axes, keepdims)]), undefined];
  },
  // y = log sum e^x: dx = g e^(x - y)
  ReduceLogSumExp: (c) => {
    const { axes, keepdims } = reduceAxes(c);
    if (axes.length === 0) return [c.gy[0]!, undefined];
    const yk = keepdims ? c.outputs[0]! : c.e.unsqueeze(c.outputs[0]!, axes);
    const p = c.e.op('Exp', [c.e.op('Sub', [c.inputs[0]!, yk])]);
    return [c.e.op('Mul', [p, expandBack(c, c.gy[0]!, axes, keepdims)]), undefined];
  },
  ReduceMax: (c) => reduceExtremum(c),
  ReduceMin: (c) => reduceExtremum(c),
  Expand: (c) => [c.e.unbroadcast(c.gy[0]!, c.shape(c.outputs[0]!), c.inputs[0]!, c.shape(c.inputs[0]!), c.outputs[0]!), undefined],
  // Tile: y viewed as [r0, d0, r1, d1, ...]; sum over the repeat axes.
  Tile: (c) => {
    const xs = c.shape(c.inputs[0]!);
    const reps = c.value(c.inputs[1]!);
    if (!reps) return c.fail('repeats must be constant');
    // [r0, d0, r1, d1, ...] with the d_i read at run time (x may have a symbolic batch axis)
    const e = c.e;
    const parts: string[] = [];
    xs.forEach((_, i) => parts.push(e.ints([reps[i]!]), e.op('Gather', [e.shapeOf(c.inputs[0]!), e.ints([i])], { axis: 0 })));
    const r = e.reshape(c.gy[0]!, e.op('Concat', parts, { axis: 0 }));
    const s = c.e.reduceSum(r, xs.map((_, i) => 2 * i), false);
    return [s, undefined];
  },
  // Pad (non-negative pads): constant -> slice the gradient back out; reflect / edge / wrap -> also
  // add the padded parts' gradients onto the elements they copied (axis by axis: the pads commute).
  Pad: (c) => {
    const mode = c.attr.string('mode', 'constant');
    const xs = c.shape(c.inputs[0]!);
    const rank = xs.length;
    const padsV = c.value(c.inputs[1]!);
    if (!padsV) return c.fail('pads must be constant');
    const axes = c.inputs[3] ? c.value(c.inputs[3])!.map((a) => norm(a, rank)) : Array.from({ length: rank }, (_, i) => i);
    if (padsV.some((p) => p < 0)) return c.fail('negative pads are not supported');
    const e = c.e;
    if (mode === 'constant') {
      const starts = axes.map((_, j) => padsV[j]!);
      const ends = axes.map((ax, j) => padsV[j]! + xs[ax]!);
      return [e.slice(c.gy[0]!, starts, ends, axes), undefined, undefined, undefined];
    }
    if (mode !== 'reflect' && mode !== 'edge' && mode !== 'wrap') return c.fail(`Pad mode '${mode}' is not supported`);
    let g = c.gy[0]!;
    const zeroPad = (t: string, ax: number, before: number, after: number) => {
      if (before === 0 && after === 0) return t;
      const p = new Array<number>(2 * rank).fill(0);
      p[ax] = before;
      p[rank + ax] = after;
      return e.op('Pad', [t, e.ints(p)]);
    };
    const reverse = (t: string, ax: number) => e.slice(t, [-1], [-(2 ** 62)], [ax], [-1]);
    axes.forEach((ax, j) => {
      const pb = padsV[j]!;
      const pe = padsV[axes.length + j]!;
      const n = xs[ax]!;
      if (pb === 0 && pe === 0) return;
      if ((mode === 'reflect' && (pb > n - 1 || pe > n - 1)) || (mode === 'wrap' && (pb > n || pe > n))) c.fail(`${mode} pads larger than the axis`);
      let acc = e.slice(g, [pb], [pb + n], [ax]);
      if (pb > 0) {
        const part = e.slice(g, [0], [pb], [ax]);
        // reflect: y[i] = x[pb - i] -> reversed part covers x[1..pb]; edge: all x[0]; wrap: x[n-pb..n-1]
        const add = mode === 'reflect' ? zeroPad(reverse(part, ax), ax, 1, n - 1 - pb) : mode === 'edge' ? zeroPad(e.reduceSum(part, [ax], true), ax, 0, n - 1) : zeroPad(part, ax, n - pb, 0);
        acc = e.op('Add', [acc, add]);
      }
      if (pe > 0) {
        const part = e.slice(g, [pb + n], [pb + n + pe], [ax]);
        // reflect: y[pb+n+k] = x[n-2-k] -> reversed part covers x[n-1-pe..n-2]; edge: x[n-1]; wrap: x[0..pe-1]
        const add = mode === 'reflect' ? zeroPad(reverse(part, ax), ax, n - 1 - pe, 1) : mode === 'edge' ? zeroPad(e.reduceSum(part, [ax], true), ax, n - 1, 0) : zeroPad(part, ax, 0, n - pe);
        acc = e.op('Add', [acc, add]);
      }
      g = acc;
    });
    return [g, undefined, undefined, undefined];
  },
  Einsum: (c) => einsumGrad(c),
  // y = cumsum(x): dx = cumsum of g in the opposite direction (same exclusivity).
  CumSum: (c) => {
    const reverse = c.attr.int('reverse', 0);
    return [c.e.op('CumSum', [c.gy[0]!, c.inputs[1]!], { exclusive: c.attr.int('exclusive', 0), reverse: 1 - reverse }), undefined];
  },
  // Trilu keeps a triangle: the gradient keeps the same triangle.
  Trilu: (c) => [c.e.op('Trilu', [c.gy[0]!, c.inputs[1] || undefined], { upper: c.attr.int('upper', 1) }), undefined],
  // TopK values: scatter their gradient back to the selected positions (indices are distinct per slice).
  TopK: (c) => {
    const x = c.inputs[0]!;
    const rank = c.shape(x).length;
    const axis = norm(c.attr.int('axis', -1), rank);
    const idx = c.forwardOutput(1);
    return [c.e.op('ScatterElements', [c.e.zerosLike(x, c.dtype(x)), idx, c.gy[0]!], { axis }), undefined];
  },
  // Pure permutations of elements: the gradient applies the inverse permutation.
  DepthToSpace: (c) => {
    const b = c.attr.int('blocksize', 1);
    if (c.attr.string('mode', 'DCR') === 'DCR') return [c.e.op('SpaceToDepth', [c.gy[0]!], { blocksize: b })];
    // CRD: x [N, C*b*b, H, W] -> [N, C, b, b, H, W] -> perm [0, 1, 4, 2, 5, 3] -> [N, C, H*b, W*b]
    const [, C4, H, W] = c.shape(c.inputs[0]!) as [number, number, number, number];
    const C = C4 / (b * b);
    const r = c.e.reshape(c.gy[0]!, [-1, C, H, b, W, b]);
    return [c.e.reshape(c.e.transpose(r, [0, 1, 3, 5, 2, 4]), [-1, C4, H, W])];
  },
  SpaceToDepth: (c) => [c.e.op('DepthToSpace', [c.gy[0]!], { blocksize: c.attr.int('blocksize', 1), mode: 'DCR' })],
};

/** ReduceMax/ReduceMin: the gradient is shared equally among tied extrema. */
function reduceExtremum(c: RuleContext): (string | undefined)[] {
  const { axes, keepdims } = reduceAxes(c);
  const x = c.inputs[0]!;
  const e = c.e;
  if (axes.length === 0) return [c.gy[0]!, undefined];
  const yk = keepdims ? c.outputs[0]! : e.unsqueeze(c.outputs[0]!, axes);
  const gk = keepdims ? c.gy[0]! : e.unsqueeze(c.gy[0]!, axes);
  const m = e.op('Cast', [e.op('Equal', [x, yk])], { to: onnxType(c) });
  const cnt = e.reduceSum(m, axes, true);
  return [e.op('Mul', [m, e.op('Div', [gk, cnt])]), undefined];
}

/** Einsum with explicit or implicit output; operands without repeated indices. */
function einsumGrad(c: RuleContext): (string | undefined)[] {
  const eq = c.attr.string('equation', '').replace(/\s+/g, '');
  const [lhs, rhs0] = eq.split('->') as [string, string | undefined];
  let rhs = rhs0;
  let terms = lhs.split(',');
  if (terms.length !== c.inputs.length) return c.fail('equation does not match inputs');
  // Expand '...' to explicit letters using probed ranks.
  const used = new Set(eq.replace(/[^a-zA-Z]/g, ''));
  const free = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'.split('').filter((ch) => !used.has(ch));
  let ell = '';
  if (eq.includes('...')) {
    const maxEll = Math.max(...terms.map((t, i) => (t.includes('...') ? c.shape(c.inputs[i]!).length - (t.length - 3) : 0)));
    ell = free.slice(0, maxEll).join('');
    terms = terms.map((t, i) => (t.includes('...') ? t.replace('...', ell.slice(ell.length - (c.shape(c.inputs[i]!).length - (t.length - 3)))) : t));
    if (rhs !== undefined) rhs = rhs.replace('...', ell);
  }
  if (rhs === undefined) {
    const counts = new Map<string, number>();
    for (const ch of terms.join('')) counts.set(ch, (counts.get(ch) ?? 0) + 1);
    rhs = ell + [...counts.entries()].filter(([ch, n]) => n === 1 && !ell.includes(ch)).map(([ch]) => ch).sort().join('');
  }
  for (const t of terms) if (new Set(t).size !== t.length) c.fail('repeated indices within one operand (traces/diagonals) are not supported');
  const out = rhs;
  return terms.map((t, i) => {
    if (!c.needs[i]) return undefined;
    const others = terms.filter((_, j) => j !== i);
    const avail = new Set([...out, ...others.join('')]);
    // Indices of operand i that appear nowhere else were summed over x alone: broadcast back.
    const kept = [...t].filter((ch) => avail.has(ch)).join('');
    const ins = [c.gy[0]!, ...c.inputs.filter((_, j) => j !== i)];
    let d = c.e.op('Einsum', ins, { equation: `${[out, ...others].join(',')}->${kept}` });
    if (kept.length !== t.length) {
      const missing = [...t].map((ch, ax) => (avail.has(ch) ? -1 : ax)).filter((ax) => ax >= 0);
      d = c.e.op('Expand', [c.e.unsqueeze(d, missing), c.e.shapeOf(c.inputs[i]!)]);
    }
    return d;
  });
}
