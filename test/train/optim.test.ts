import { describe, expect, it } from 'vitest';
import { AdamW, SGD } from '../../src/engine/train/optim.ts';
import { clipGradNorm, globalNorm } from '../../src/engine/train/clip.ts';
import type { TensorMap } from '../../src/engine/train/types.ts';

const tm = (o: Record<string, number[]>): TensorMap => new Map(Object.entries(o).map(([k, v]) => [k, Float32Array.from(v)]));

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-6): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) expect(Math.abs(actual[i]! - expected[i]!)).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(expected[i]!)));
}

/** The PyTorch AdamW rule written out with plain float64 numbers. */
function adamwReference(p0: number[], grads: number[][], lrs: number[], b1: number, b2: number, eps: number, wd: number): number[] {
  const p = [...p0];
  const m = p.map(() => 0);
  const v = p.map(() => 0);
  grads.forEach((g, k) => {
    const t = k + 1;
    const lr = lrs[k]!;
    for (let i = 0; i < p.length; i++) {
      p[i] = p[i]! * (1 - lr * wd);
      m[i] = b1 * m[i]! + (1 - b1) * g[i]!;
      v[i] = b2 * v[i]! + (1 - b2) * g[i]! * g[i]!;
      const bc1 = 1 - b1 ** t;
      const bc2 = 1 - b2 ** t;
      p[i] = p[i]! - (lr / bc1) * (m[i]! / (Math.sqrt(v[i]!) / Math.sqrt(bc2) + eps));
    }
  });
  return p;
}

/** The PyTorch SGD rule written out with plain float64 numbers. */
function sgdReference(p0: number[], grads: number[][], lr: number, mom: number, damp: number, nesterov: boolean, wd: number): number[] {
  const p = [...p0];
  let buf: number[] | null = null;
  for (const g of grads) {
    const d = g.map((gi, i) => gi + wd * p[i]!);
    let step = d;
    if (mom !== 0) {
      buf = buf === null ? [...d] : buf.map((b, i) => mom * b + (1 - damp) * d[i]!);
      const b = buf;
      step = nesterov ? d.map((di, i) => di + mom * b[i]!) : b;
    }
    for (let i = 0; i < p.length; i++) p[i] = p[i]! - lr * step[i]!;
  }
  return p;
}

describe('AdamW', () => {
  it('matches the written-out PyTorch rule over several steps (with changing lr)', () => {
    const grads = [
      [0.5, -1.0, 3.0, 1e-4],
      [0.25, 0.5, -2.0, 0],
      [-0.5, 0.125, 1.0, -1e-3],
      [1.5, -0.75, 0.0, 2.0],
    ];
    const lrs = [0.1, 0.05, 0.02, 0.01];
    const params = tm({ w: [1, -2, 0.5, 0] });
    const opt = new AdamW({ betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0.01 });
    grads.forEach((g, k) => opt.step(params, tm({ w: g }), lrs[k]!));
    expectClose(params.get('w')!, adamwReference([1, -2, 0.5, 0], grads, lrs, 0.9, 0.999, 1e-8, 0.01));
  });

  it('reproduces a hand-derived vector (PyTorch AdamW formula)', () => {
    // lr = 0.1, betas = (0.9, 0.999), eps = 1e-8, weight_decay = 0.01, p0 = [1, -2].
    // Step 1, g = [0.5, -1]:
    //   p = p0 * (1 - 0.1*0.01) = [0.999, -1.998]
    //   m = 0.1*g = [0.05, -0.1];  v = 0.001*g^2 = [0.00025, 0.001]
    //   bc1 = 0.1, bc2 = 0.001  ->  sqrt(v)/sqrt(bc2) = [0.5, 1]
    //   p -= (0.1/0.1) * m / ([0.5, 1] + 1e-8) = [0.099999998, -0.099999999]
    //   p1 = [0.899000002, -1.898000001]
    // Step 2, g = [0.25, 0.5]:
    //   p = p1 * 0.999 = [0.898101002, -1.896102001]
    //   m = 0.9*m + 0.1*g = [0.07, -0.04];  v = 0.999*v + 0.001*g^2 = [0.00031225, 0.001249]
    //   bc1 = 0.19, bc2 = 0.001999  ->  sqrt(v)/sqrt(bc2) = [0.395224, 0.790443]
    //   p -= (0.1/0.19) * m / (... + 1e-8) = [0.093217961, -0.026633704]
    //   p2 = [0.804883040, -1.869468297]
    const params = tm({ p: [1, -2] });
    const opt = new AdamW({ betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0.01 });
    opt.step(params, tm({ p: [0.5, -1] }), 0.1);
    expectClose(params.get('p')!, [0.899000002, -1.898000001], 1e-7);
    opt.step(params, tm({ p: [0.25, 0.5] }), 0.1);
    expectClose(params.get('p')!, [0.80488304, -1.869468297], 1e-7);
  });

  it('skips parameters without gradients and exempts noWeightDecay names', () => {
    const params = tm({ a: [1], b: [1], bias: [1] });
    const opt = new AdamW({ weightDecay: 0.5, noWeightDecay: (n) => n === 'bias' });
    opt.step(params, tm({ a: [0], bias: [0] }), 0.1);
    expect(params.get('a')![0]).toBeCloseTo(0.95, 7); // decay only (zero grad -> zero update)
    expect(params.get('bias')![0]).toBe(1);
    expect(params.get('b')![0]).toBe(1);
    expect(opt.state().json.steps).toEqual({ a: 1, bias: 1 });
  });

  it('rejects mismatched gradients with clear errors', () => {
    const opt = new AdamW();
    expect(() => opt.step(tm({ a: [1, 2] }), tm({ a: [1] }), 0.1)).toThrow(/"a" has 1 elements, parameter has 2/);
    expect(() => opt.step(tm({ a: [1] }), tm({ z: [1] }), 0.1)).toThrow(/"z" has no matching parameter/);
    expect(() => opt.step(tm({ a: [1] }), tm({ a: [1] }), NaN)).toThrow(/learning rate/);
  });

  it('state()/loadState() continues bit-exactly', () => {
    const g = (k: number): TensorMap => tm({ w: [Math.sin(k), Math.cos(k), 0.3 * k] });
    const a = tm({ w: [0.1, 0.2, 0.3] });
    const optA = new AdamW({ weightDecay: 0.1 });
    for (let k = 0; k < 6; k++) optA.step(a, g(k), 0.01);

    const b = tm({ w: [0.1, 0.2, 0.3] });
    const optB = new AdamW({ weightDecay: 0.1 });
    for (let k = 0; k < 3; k++) optB.step(b, g(k), 0.01);
    const optC = new AdamW({ weightDecay: 0.1 });
    optC.loadState(optB.state());
    for (let k = 3; k < 6; k++) optC.step(b, g(k), 0.01);
    expect(Array.from(b.get('w')!)).toEqual(Array.from(a.get('w')!));
    expect(() => new SGD().loadState(optA.state())).toThrow(/"adamw", expected "sgd"/);
  });
});

describe('SGD', () => {
  const grads = [
    [0.5, -1.0, 2.0],
    [0.25, 0.5, -1.0],
    [-0.5, 0.125, 0.0],
    [1.0, 1.0, 1.0],
  ];
  for (const cfg of [
    { momentum: 0, dampening: 0, nesterov: false, weightDecay: 0 },
    { momentum: 0.9, dampening: 0, nesterov: false, weightDecay: 0.1 },
    { momentum: 0.9, dampening: 0.5, nesterov: false, weightDecay: 0 },
    { momentum: 0.8, dampening: 0, nesterov: true, weightDecay: 0.01 },
  ]) {
    it(`matches the written-out PyTorch rule (${JSON.stringify(cfg)})`, () => {
      const params = tm({ w: [1, -2, 0.5] });
      const opt = new SGD(cfg);
      for (const g of grads) opt.step(params, tm({ w: g }), 0.1);
      expectClose(params.get('w')!, sgdReference([1, -2, 0.5], grads, 0.1, cfg.momentum, cfg.dampening, cfg.nesterov, cfg.weightDecay));
    });
  }

  it('hand-computed momentum steps', () => {
    // lr 0.1, momentum 0.9, p0 = 1: g1 = 1 -> buf = 1, p = 0.9; g2 = 1 -> buf = 1.9, p = 0.71
    const params = tm({ w: [1] });
    const opt = new SGD({ momentum: 0.9 });
    opt.step(params, tm({ w: [1] }), 0.1);
    expect(params.get('w')![0]).toBeCloseTo(0.9, 6);
    opt.step(params, tm({ w: [1] }), 0.1);
    expect(params.get('w')![0]).toBeCloseTo(0.71, 6);
  });

  it('validates nesterov and round-trips state', () => {
    expect(() => new SGD({ nesterov: true })).toThrow(/nesterov/);
    const opt = new SGD({ momentum: 0.9 });
    const p = tm({ w: [1, 2] });
    opt.step(p, tm({ w: [0.5, 0.5] }), 0.1);
    const s = opt.state();
    expect(s.json.kind).toBe('sgd');
    expect(Array.from(s.tensors.get('momentum_buffer/w')!)).toEqual([0.5, 0.5]);
    const fresh = new SGD({ momentum: 0.9 });
    fresh.loadState(s);
    const p2 = new Map([['w', new Float32Array(p.get('w')!)]]);
    opt.step(p, tm({ w: [0.1, -0.1] }), 0.1);
    fresh.step(p2, tm({ w: [0.1, -0.1] }), 0.1);
    expect(Array.from(p2.get('w')!)).toEqual(Array.from(p.get('w')!));
  });
});

describe('clipGradNorm', () => {
  it('scales to maxNorm and returns the pre-clip norm', () => {
    const g = tm({ a: [3, 0], b: [0, 4] }); // norm 5
    const norm = clipGradNorm(g, 1);
    expect(norm).toBe(5);
    const coef = 1 / (5 + 1e-6);
    expectClose(g.get('a')!, [3 * coef, 0]);
    expectClose(g.get('b')!, [0, 4 * coef]);
    expect(globalNorm(g)).toBeCloseTo(1, 5);
  });

  it('leaves small gradients and non-finite gradients untouched', () => {
    const g = tm({ a: [0.3, 0.4] });
    expect(clipGradNorm(g, 1)).toBeCloseTo(0.5, 7);
    expect(Array.from(g.get('a')!)).toEqual([Math.fround(0.3), Math.fround(0.4)]);
    const bad = tm({ a: [NaN, 1] });
    expect(clipGradNorm(bad, 1)).toBeNaN();
    expect(bad.get('a')![1]).toBe(1);
  });
});
