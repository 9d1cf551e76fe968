import { describe, expect, it } from 'vitest';
import { GraphBuilder, type Attrs } from '../../src/engine/onnx/builder.ts';
import type { DType } from '../../src/engine/onnx/model.ts';
import { gradcheck, randAway, randn } from './gradcheck.ts';
import { differentiate } from '../../src/engine/onnx/autodiff/index.ts';
import { createSession } from '../../src/engine/onnx/session.ts';
import type { HostTensor } from '../../src/engine/onnx/session.ts';

const TOL: Record<string, number> = { float32: 2e-3, float64: 1e-5 };

function unary(op: string, dtype: DType, shape: number[], attrs: Attrs = {}, opset = 17) {
  const g = new GraphBuilder({ opset });
  const x = g.input('x', dtype, shape);
  g.output(g.op(op, [x], attrs), 'y', dtype);
  return g.toModel();
}

function binary(op: string, dtype: DType, sa: number[], sb: number[], opset = 17) {
  const g = new GraphBuilder({ opset });
  const a = g.input('a', dtype, sa);
  const b = g.input('b', dtype, sb);
  g.output(g.op(op, [a, b]), 'y', dtype);
  return g.toModel();
}

const positive = (dims: number[], seed: number, dtype: DType = 'float32'): HostTensor => {
  const t = randn(dims, seed, dtype);
  for (let i = 0; i < t.data.length; i++) t.data[i] = 0.5 + Math.abs(t.data[i] as number);
  return t;
};

describe('elementwise binary ops with broadcasting', () => {
  const shapes: [number[], number[]][] = [
    [[2, 3], [2, 3]],
    [[2, 3, 4], [4]],
    [[2, 1, 4], [3, 1]],
    [[1], [2, 3]],
    [[], [3, 2]],
  ];
  for (const op of ['Add', 'Sub', 'Mul', 'Div']) {
    for (const dtype of ['float32', 'float64'] as const) {
      it(`${op} ${dtype}`, async () => {
        for (const [sa, sb] of shapes) {
          const feeds = op === 'Div' ? { a: randn(sa, 1, dtype), b: positive(sb, 2, dtype) } : undefined;
          const r = await gradcheck(binary(op, dtype, sa, sb), { wrt: ['a', 'b'], feeds });
          expect(r.errors.a, `${op} ${sa}x${sb}`).toBeLessThan(TOL[dtype]!);
          expect(r.errors.b, `${op} ${sa}x${sb}`).toBeLessThan(TOL[dtype]!);
        }
      });
    }
  }

  it('Max/Min ties share the gradient: d/dx Max(x, x) = 1', async () => {
    const g = new GraphBuilder({ opset: 17 });
    const x = g.input('x', 'float32', [3]);
    g.output(g.op('Max', [x, x]), 'y');
    const r = await gradcheck(g.toModel(), { wrt: ['x'] });
    expect(r.errors.x).toBeLessThan(TOL.float32!);
  });

  it('Pow with constant exponent (folded scalars, Constant node, broadcast)', async () => {
    // scalar exponents are folded (2, 1, 0.5, -1, 3, 0 without a Pow in the backward; 1.5 as
    // Pow(x, 0.5) * 1.5); the per-element exponents [0.5, 1.5, 3] take the generic rule
    for (const exp of [[2], [1], [0.5], [-1], [3], [1.5], [0], [0.5, 1.5, 3]]) {
      for (const viaConstantNode of [false, true]) {
        const g = new GraphBuilder({ opset: 17 });
        const x = g.input('x', 'float64', [2, 3]);
        const dims = exp.length === 1 ? [] : [3];
        const e = viaConstantNode ? g.constant(Float64Array.from(exp), dims) : g.initializer('e', Float64Array.from(exp), dims);
        g.output(g.op('Pow', [x, e]), 'y', 'float64');
        const r = await gradcheck(g.toModel(), { wrt: ['x'], feeds: { x: positive([2, 3], 3, 'float64') } });
        expect(r.errors.x, `exponent ${exp.join(',')}${viaConstantNode ? ' (Constant)' : ''}`).toBeLessThan(1e-5);
        if (exp.length === 1 && exp[0] !== 1.5) expect(r.gradModel.graph!.node.filter((n) => n.opType === 'Pow').length, `exponent ${exp[0]}: only the forward Pow`).toBe(1);
      }
    }
  });

  it('Pow with an exponent fed as a graph input is not folded to its probed value', async () => {
    const g = new GraphBuilder({ opset: 17 });
    const x = g.input('x', 'float32', [4]);
    const e = g.input('e', 'float32', []);
    g.output(g.op('Pow', [x, e]), 'y');
    const xs = Float32Array.of(0.5, 1, 1.5, 2);
    const gm = await differentiate(g.toModel(), { of: 'y', wrt: ['x'], probeFeeds: { x: { data: xs, dims: [4] }, e: { data: Float32Array.of(2), dims: [] } } });
    const s = await createSession(gm);
    const out = (await s.run({ x: { data: xs, dims: [4] }, e: { data: Float32Array.of(3), dims: [] } })).x_grad!.data as Float32Array;
    await s.release();
    xs.forEach((v, i) => expect(out[i]).toBeCloseTo(3 * v * v, 4));
  });

  it('Pow with both operands differentiated', async () => {
    const r = await gradcheck(binary('Pow', 'float64', [2, 3], [3]), { wrt: ['a', 'b'], feeds: { a: positive([2, 3], 1, 'float64'), b: randn([3], 2, 'float64') } });
    expect(r.errors.a).toBeLessThan(1e-5);
    expect(r.errors.b).toBeLessThan(1e-5);
  });

  it('Max / Min / Where / Sum / Mean with broadcasting', async () => {
    for (const op of ['Max', 'Min', 'Sum', 'Mean']) {
      const dt: DType = op === 'Mean' ? 'float32' : 'float64';
      const g = new GraphBuilder({ opset: 17 });
      const a = g.input('a', dt, [2, 3]);
      const b = g.input('b', dt, [3]);
      const c = g.input('c', dt, [2, 1]);
      g.output(g.op(op, [a, b, c]), 'y', dt);
      const r = await gradcheck(g.toModel(), { wrt: ['a', 'b', 'c'] });
      for (const k of ['a', 'b', 'c']) expect(r.errors[k], `${op} ${k}`).toBeLessThan(TOL[dt]!);
    }
    const g = new GraphBuilder({ opset: 17 });
    const a = g.input('a', 'float32', [2, 3]);
    const b = g.input('b', 'float32', [3]);
    const cond = g.op('Greater', [a, g.initializer('zero', new Float32Array(1), [])]);
    g.output(g.op('Where', [cond, a, b]), 'y');
    const r = await gradcheck(g.toModel(), { wrt: ['a', 'b'] });
    expect(r.errors.a).toBeLessThan(1e-2);
    expect(r.errors.b).toBeLessThan(1e-2);
  });
});

describe('elementwise unary ops', () => {
  const cases: { op: string; attrs?: Attrs; feed?: (dims: number[], dtype: DType) => HostTensor; double?: boolean; opset?: number; shapes?: number[][] }[] = [
    { op: 'Neg', double: true },
    { op: 'Sqrt', feed: (d, t) => positive(d, 5, t), double: true },
    { op: 'Reciprocal', feed: (d, t) => positive(d, 5, t), double: true },
    { op: 'Exp', double: true },
    { op: 'Log', feed: (d, t) => positive(d, 5, t), double: true },
    { op: 'Abs', feed: (d, t) => randAway(d, 5, 0.1, t), double: true },
    { op: 'Tanh', double: true },
    { op: 'Sigmoid', double: true },
    { op: 'Relu', feed: (d, t) => randAway(d, 5, 0.1, t), double: true },
    { op: 'LeakyRelu', attrs: { alpha: 0.2 }, feed: (d, t) => randAway(d, 5, 0.1, t) },
    { op: 'Elu', attrs: { alpha: 0.7 }, feed: (d, t) => randAway(d, 5, 0.1, t) },
    { op: 'Softplus' },
    { op: 'HardSigmoid', attrs: { alpha: 0.3, beta: 0.4 }, feed: (d, t) => randAway(d, 5, 0.1, t) },
    { op: 'HardSwish', feed: (d, t) => { const r = randn(d, 5, t, 2.5); for (let i = 0; i < r.data.length; i++) if (Math.abs(Math.abs(r.data[i] as number) - 3) < 0.1) r.data[i] = 2; return r; } },
    { op: 'Selu', feed: (d, t) => randAway(d, 5, 0.1, t) },
    { op: 'Mish', opset: 18 },
    { op: 'Sin', double: true },
    { op: 'Cos', double: true },
    { op: 'Erf' },
    { op: 'Gelu', opset: 20 },
    { op: 'Gelu', attrs: { approximate: 'tanh' }, opset: 20 },
    { op: 'Identity', double: true },
    { op: 'Softmax', attrs: { axis: -1 }, double: true },
    { op: 'Softmax', attrs: { axis: 1 }, double: true, shapes: [[2, 3, 4]] },
    { op: 'LogSoftmax', attrs: { axis: -1 }, double: true },
    { op: 'LogSoftmax', attrs: { axis: 0 }, double: true },
  ];
  for (const c of cases) {
    const dtypes: DType[] = c.double ? ['float32', 'float64'] : ['float32'];
    for (const dtype of dtypes) {
      it(`${c.op} ${JSON.stringify(c.attrs ?? {})} ${dtype}`, async () => {
        for (const shape of c.shapes ?? [[5], [2, 3, 4]]) {
          const feeds = c.feed ? { x: c.feed(shape, dtype) } : undefined;
          const r = await gradcheck(unary(c.op, dtype, shape, c.attrs, c.opset ?? 17), { wrt: ['x'], feeds });
          expect(r.errors.x, `${c.op} [${shape}]`).toBeLessThan(TOL[dtype]!);
        }
      });
    }
  }

  it('Clip with min/max inputs and with only max', async () => {
    for (const bounds of [[-0.5, 0.5], [undefined, 0.3]] as const) {
      const g = new GraphBuilder({ opset: 17 });
      const x = g.input('x', 'float32', [3, 4]);
      const lo = bounds[0] === undefined ? undefined : g.initializer('lo', Float32Array.of(bounds[0]), []);
      const hi = g.initializer('hi', Float32Array.of(bounds[1]), []);
      g.output(g.op('Clip', [x, lo, hi]), 'y');
      // keep values away from the clip points
      const feed = randn([3, 4], 9);
      for (let i = 0; i < feed.data.length; i++) {
        const v = feed.data[i] as number;
        for (const b of [bounds[0], bounds[1]]) if (b !== undefined && Math.abs(v - b) < 0.05) feed.data[i] = b + 0.1;
      }
      const r = await gradcheck(g.toModel(), { wrt: ['x'], feeds: { x: feed }, samples: 12 });
      expect(r.errors.x).toBeLessThan(1e-2);
    }
  });

  it('PRelu with a per-channel slope', async () => {
    const g = new GraphBuilder({ opset: 17 });
    const x = g.input('x', 'float32', [2, 3, 4]);
    const s = g.input('s', 'float32', [3, 1]);
    g.output(g.op('PRelu', [x, s]), 'y');
    const r = await gradcheck(g.toModel(), { wrt: ['x', 's'], feeds: { x: randAway([2, 3, 4], 3), s: randn([3, 1], 4) } });
    expect(r.errors.x).toBeLessThan(TOL.float32!);
    expect(r.errors.s).toBeLessThan(TOL.float32!);
  });

  it('Cast float32 -> float64 -> float32', async () => {
    const g = new GraphBuilder({ opset: 17 });
    const x = g.input('x', 'float32', [4]);
    const d = g.op('Cast', [x], { to: 11 });
    const y = g.op('Cast', [g.op('Mul', [d, d])], { to: 1 });
    g.output(y, 'y');
    const r = await gradcheck(g.toModel(), { wrt: ['x'] });
    expect(r.errors.x).toBeLessThan(1e-2);
  });
});
