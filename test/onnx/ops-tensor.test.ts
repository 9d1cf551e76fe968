import { describe, expect, it } from 'vitest';
import { GraphBuilder, float } from '../../src/engine/onnx/builder.ts';
import type { DType } from '../../src/engine/onnx/model.ts';
import { gradcheck } from './gradcheck.ts';
import { MATMUL_GRAD } from '../../src/engine/onnx/autodiff/rules/tensor.ts';

const TOL = 2e-3;

function model(build: (g: GraphBuilder) => string, inputs: Record<string, number[]>, opset = 17, dtype: DType = 'float32') {
  const g = new GraphBuilder({ opset });
  for (const [k, s] of Object.entries(inputs)) g.input(k, dtype, s);
  g.output(build(g), 'y', dtype);
  return g.toModel();
}

async function check(m: ReturnType<typeof model>, wrt: string[], tol = TOL, label = '') {
  const r = await gradcheck(m, { wrt });
  for (const w of wrt) expect(r.errors[w], `${label} d/d${w}`).toBeLessThan(tol);
  return r;
}

describe('linear algebra', () => {
  it('MatMul: 2-D, batched, broadcast batch, 1-D operands (float64)', async () => {
    const cases: [number[], number[]][] = [
      [[3, 4], [4, 5]],
      [[2, 3, 4], [2, 4, 5]],
      [[2, 2, 3, 4], [4, 5]],
      [[3, 4], [2, 1, 4, 5]],
      [[2, 1, 3, 4], [1, 3, 4, 2]],
      [[4], [4, 5]],
      [[3, 4], [4]],
      [[4], [2, 4, 3]],
      [[2, 3, 4], [4]],
      [[4], [4]],
      [[2, 3, 4], [4, 5]],
      [[1, 3, 4], [4, 5]],
    ];
    const saved = MATMUL_GRAD.weight;
    try {
      for (const weight of ['gemm', 'matmul'] as const) {
        MATMUL_GRAD.weight = weight;
        for (const [sa, sb] of cases) await check(model((g) => g.op('MatMul', ['a', 'b']), { a: sa, b: sb }, 17, 'float64'), ['a', 'b'], 1e-5, `${weight} ${sa}@${sb}`);
      }
    } finally {
      MATMUL_GRAD.weight = saved;
    }
  });

  it('Gemm: transA/transB/alpha/beta, C broadcast', async () => {
    for (const [tA, tB] of [[0, 0], [1, 0], [0, 1], [1, 1]]) {
      for (const cs of [[3, 5], [5], [1, 5], [3, 1]]) {
        const m = model(
          (g) => g.op('Gemm', ['a', 'b', 'c'], { transA: tA, transB: tB, alpha: 0.7, beta: float(2) }),
          { a: tA ? [4, 3] : [3, 4], b: tB ? [5, 4] : [4, 5], c: cs },
          17,
          'float64',
        );
        await check(m, ['a', 'b', 'c'], 1e-5, `gemm ${tA}${tB} c=${cs}`);
      }
    }
  });

  it('Einsum attention forms and ellipsis', async () => {
    const cases: [string, number[], number[]][] = [
      ['bhqd,bhkd->bhqk', [2, 2, 3, 4], [2, 2, 5, 4]],
      ['bhqk,bhkd->bhqd', [2, 2, 3, 5], [2, 2, 5, 4]],
      ['...qd,...kd->...qk', [2, 3, 4], [2, 5, 4]],
      ['ij,jk', [3, 4], [4, 2]],
      ['bij,j->bi', [2, 3, 4], [4]],
      ['bij,bkl->bi', [2, 3, 4], [2, 2, 2]],
    ];
    for (const [eq, sa, sb] of cases) await check(model((g) => g.op('Einsum', ['a', 'b'], { equation: eq }), { a: sa, b: sb }, 17, 'float64'), ['a', 'b'], 1e-5, eq);
  });
});

describe('shape ops', () => {
  it('Reshape / Flatten / Squeeze / Unsqueeze / Transpose', async () => {
    await check(model((g) => g.op('Mul', [g.op('Reshape', ['x', g.initializer('s', BigInt64Array.of(4n, -1n), [2])]), g.initializer('w', Float32Array.from({ length: 6 }, (_, i) => i - 2), [6])]), { x: [2, 3, 4] }), ['x']);
    await check(model((g) => g.op('Flatten', ['x'], { axis: 2 }), { x: [2, 3, 2, 2] }), ['x']);
    await check(model((g) => g.op('Squeeze', ['x', g.initializer('ax', BigInt64Array.of(1n), [1])]), { x: [2, 1, 3] }), ['x']);
    await check(model((g) => g.op('Unsqueeze', ['x', g.initializer('ax', BigInt64Array.of(0n, 3n), [2])]), { x: [2, 3] }), ['x']);
    await check(model((g) => g.op('Transpose', ['x'], { perm: [2, 0, 1] }), { x: [2, 3, 4] }), ['x']);
    await check(model((g) => g.op('Transpose', ['x']), { x: [2, 3, 4] }), ['x']);
  });

  it('Concat and Split (unused split outputs get zero gradient)', async () => {
    await check(model((g) => g.op('Concat', ['a', 'b', 'c'], { axis: 1 }), { a: [2, 1, 3], b: [2, 4, 3], c: [2, 2, 3] }), ['a', 'b', 'c']);
    await check(model((g) => g.op('Concat', ['a', 'b'], { axis: -1 }), { a: [2, 3], b: [2, 2] }), ['a', 'b']);
    // opset 13: split sizes as input
    await check(model((g) => {
      const [p, , r] = g.opN('Split', ['x', g.initializer('sp', BigInt64Array.of(1n, 2n, 3n), [3])], 3, { axis: 1 });
      return g.op('Mul', [p!, g.op('ReduceSum', [r!, g.initializer('ax', BigInt64Array.of(1n), [1])], { keepdims: 1 })]);
    }, { x: [2, 6] }, 13), ['x']);
    // opset 18: num_outputs
    await check(model((g) => g.opN('Split', ['x'], 2, { axis: 0, num_outputs: 2 })[1]!, { x: [4, 3] }, 18), ['x']);
  });

  it('Slice: negative/clamped starts, axes, steps', async () => {
    const i64 = (g: GraphBuilder, n: string, v: number[]) => g.initializer(n, BigInt64Array.from(v.map(BigInt)), [v.length]);
    await check(model((g) => g.op('Slice', ['x', i64(g, 's', [1, 0]), i64(g, 'e', [3, 100]), i64(g, 'a', [0, 2])]), { x: [4, 3, 5] }), ['x']);
    await check(model((g) => g.op('Slice', ['x', i64(g, 's', [-3]), i64(g, 'e', [-1]), i64(g, 'a', [1])]), { x: [2, 6] }), ['x']);
    await check(model((g) => g.op('Slice', ['x', i64(g, 's', [1, 0]), i64(g, 'e', [7, 5]), i64(g, 'a', [1, 0]), i64(g, 'st', [2, 3])]), { x: [5, 8] }), ['x']);
    // negative steps: flip, strided reverse with clamped start
    await check(model((g) => g.op('Slice', ['x', i64(g, 's', [-1]), i64(g, 'e', [-(2 ** 53)]), i64(g, 'a', [1]), i64(g, 'st', [-1])]), { x: [2, 5] }), ['x']);
    await check(model((g) => g.op('Slice', ['x', i64(g, 's', [100, 6]), i64(g, 'e', [0, 1]), i64(g, 'a', [0, 1]), i64(g, 'st', [-2, -3])]), { x: [5, 8] }), ['x']);
  });

  it('Gather before opset 16 (one-hot path)', async () => {
    await check(model((g) => g.op('Gather', ['x', g.initializer('i', BigInt64Array.of(2n, 0n, 2n, -1n), [2, 2])], { axis: 1 }), { x: [3, 4] }, 13), ['x']);
  });

  it('Gather (axis 0 and 1, 2-D and scalar indices, repeats) and GatherElements', async () => {
    await check(model((g) => g.op('Gather', ['x', g.initializer('i', BigInt64Array.of(2n, 0n, 2n, -1n), [2, 2])], { axis: 0 }), { x: [4, 3] }), ['x']);
    await check(model((g) => g.op('Gather', ['x', g.initializer('i', BigInt64Array.of(1n, 1n, 3n), [3])], { axis: 1 }), { x: [2, 4, 3] }), ['x']);
    await check(model((g) => g.op('Gather', ['x', g.initializer('i', BigInt64Array.of(1n), [])], { axis: 2 }), { x: [2, 2, 3] }), ['x']);
    await check(model((g) => g.op('GatherElements', ['x', g.initializer('i', BigInt64Array.of(0n, 2n, 2n, 1n, 1n, 1n), [2, 3])], { axis: 1 }), { x: [2, 3] }), ['x']);
  });

  it('Expand / Tile / Pad (constant, reflect, edge, wrap)', async () => {
    const i64 = (g: GraphBuilder, n: string, v: number[]) => g.initializer(n, BigInt64Array.from(v.map(BigInt)), [v.length]);
    await check(model((g) => g.op('Expand', ['x', i64(g, 's', [2, 3, 4])]), { x: [3, 1] }), ['x']);
    await check(model((g) => g.op('Tile', ['x', i64(g, 'r', [2, 1, 3])]), { x: [2, 3, 2] }), ['x']);
    await check(model((g) => g.op('Pad', ['x', i64(g, 'p', [0, 1, 2, 0, 2, 1])]), { x: [2, 3, 2] }), ['x']);
    await check(model((g) => g.op('Pad', ['x', i64(g, 'p', [1, 2]), g.initializer('v', Float32Array.of(0.5), []), i64(g, 'a', [-1])]), { x: [2, 3] }, 18), ['x']);
    for (const mode of ['reflect', 'edge']) {
      await check(model((g) => g.op('Pad', ['x', i64(g, 'p', [0, 0, 2, 1, 0, 0, 1, 3])], { mode }), { x: [2, 1, 4, 5] }), ['x'], TOL, mode);
    }
    await check(model((g) => g.op('Pad', ['x', i64(g, 'p', [0, 2, 1, 0, 3, 2])], { mode: 'wrap' }), { x: [2, 4, 3] }, 19), ['x'], TOL, 'wrap');
  });
});

describe('reductions', () => {
  for (const op of ['ReduceSum', 'ReduceMean', 'ReduceMax', 'ReduceMin', 'ReduceSumSquare', 'ReduceL2', 'ReduceLogSumExp']) {
    for (const opset of [13, 18]) {
      it(`${op} opset ${opset}: axes, keepdims, all axes`, async () => {
        for (const [axes, keep] of [[[1], 1], [[0, 2], 0], [[-1], 0], [undefined, 1], [undefined, 0]] as const) {
          const m = model((g) => {
            const axesAsInput = op === 'ReduceSum' || opset >= 18;
            if (!axes) return g.op(op, ['x'], { keepdims: keep });
            if (axesAsInput) return g.op(op, ['x', g.initializer('ax', BigInt64Array.from(axes.map(BigInt)), [axes.length])], { keepdims: keep });
            return g.op(op, ['x'], { axes: [...axes], keepdims: keep });
          }, { x: [2, 3, 4] }, opset);
          await check(m, ['x'], TOL, `${op} ${axes} ${keep}`);
        }
      });
    }
  }
});

describe('shape arithmetic from the graph (values known from the probe)', () => {
  it('GEGLU-style chunk: Slice with ends computed by Shape/Gather/Div', async () => {
    const g = new GraphBuilder({ opset: 17 });
    const h = g.input('h', 'float32', [2, 3, 8]);
    const i64 = (n: string, v: number[], dims = [v.length]) => g.initializer(n, BigInt64Array.from(v.map(BigInt)), dims);
    const last = g.op('Gather', [g.op('Shape', [h]), i64('two', [2], [])], { axis: 0 });
    const half = g.op('Unsqueeze', [g.op('Div', [last, i64('den', [2], [])]), i64('ax0', [0])]);
    const a = g.op('Slice', [h, i64('zero', [0]), half, i64('axm1', [-1])]);
    const b = g.op('Slice', [h, half, i64('big', [2 ** 31 - 1]), i64('axm1b', [-1])]);
    g.output(g.op('Mul', [a, g.op('Gelu', [b])]), 'y');
    const m = g.toModel();
    m.opsetImport[0]!.version = 20n; // Gelu
    await check(m, ['h'], TOL, 'geglu');
  });

  it('Dropout (inference) and Sum pass gradients through', async () => {
    await check(model((g) => g.op('Sum', [g.op('Dropout', ['x']), 'x', g.op('Exp', ['x'])]), { x: [2, 3] }), ['x']);
    await check(model((g) => g.op('Dropout', ['x', g.initializer('r', Float32Array.of(0.5), []), g.initializer('t', Uint8Array.of(0), [], 'bool')]), { x: [2, 3] }), ['x']);
  });
});

describe('scans, triangles, top-k', () => {
  it('CumSum (forward/reverse, exclusive), Trilu (upper/lower, k), TopK values', async () => {
    const i64 = (g: GraphBuilder, n: string, v: number[], dims = [v.length]) => g.initializer(n, BigInt64Array.from(v.map(BigInt)), dims);
    for (const [reverse, exclusive] of [[0, 0], [1, 0], [0, 1], [1, 1]]) {
      await check(model((g) => g.op('CumSum', ['x', i64(g, 'ax', [1], [])], { reverse, exclusive }), { x: [2, 5] }), ['x'], TOL, `cumsum ${reverse}${exclusive}`);
    }
    await check(model((g) => g.op('Trilu', ['x'], { upper: 0 }), { x: [2, 3, 4] }), ['x'], TOL, 'tril');
    await check(model((g) => g.op('Trilu', ['x', i64(g, 'k', [1], [])], { upper: 1 }), { x: [3, 4] }), ['x'], TOL, 'triu k=1');
    await check(model((g) => g.opN('TopK', ['x', i64(g, 'k', [2])], 2, { axis: 1 })[0]!, { x: [3, 5] }), ['x'], TOL, 'topk');
  });
});

describe('element permutations', () => {
  for (const mode of ['DCR', 'CRD']) {
    it(`DepthToSpace ${mode} and SpaceToDepth`, async () => {
      await check(model((g) => g.op('DepthToSpace', ['x'], { blocksize: 2, mode }), { x: [2, 8, 2, 3] }), ['x']);
    });
  }
  it('SpaceToDepth', async () => {
    await check(model((g) => g.op('SpaceToDepth', ['x'], { blocksize: 2 }), { x: [1, 2, 4, 6] }), ['x']);
  });
});

describe('opsets 13 to 21', () => {
  for (const opset of [13, 15, 16, 18, 20, 21]) {
    it(`opset ${opset}: conv + reductions + softmax + split/concat + resize`, async () => {
      const g = new GraphBuilder({ opset });
      const x = g.input('x', 'float32', [1, 2, 4, 4]);
      const w = g.initializer('w', Float32Array.from({ length: 4 * 2 * 9 }, (_, i) => Math.sin(i) * 0.3), [4, 2, 3, 3]);
      const c = g.op('Conv', [x, w], { pads: [1, 1, 1, 1], strides: [2, 2] });
      const axesAttr = opset < 18;
      const mean = axesAttr ? g.op('ReduceMean', [c], { axes: [2, 3], keepdims: 1 }) : g.op('ReduceMean', [c, g.initializer('ax', BigInt64Array.of(2n, 3n), [2])], { keepdims: 1 });
      const sm = g.op('Softmax', [g.op('Sub', [c, mean])], { axis: 1 });
      const parts = opset >= 18 ? g.opN('Split', [sm], 2, { axis: 1, num_outputs: 2 }) : g.opN('Split', [sm, g.initializer('sp', BigInt64Array.of(2n, 2n), [2])], 2, { axis: 1 });
      const cat = g.op('Concat', [parts[1]!, g.op('Mul', [parts[0]!, parts[0]!])], { axis: 1 });
      const up = g.op('Resize', [cat, '', g.initializer('sc', Float32Array.of(1, 1, 2, 2), [4])], { mode: 'nearest' });
      g.output(opset >= 16 ? g.op('MaxPool', [up], { kernel_shape: [2, 2], strides: [1, 1] }) : up, 'y');
      await check(g.toModel(), ['x', 'w'], TOL, `opset ${opset}`);
    });
  }
});
