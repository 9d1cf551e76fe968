/**
 * Symbolic batch dimension: a gradient model built from a probe at one batch size must give the
 * same gradients at another batch size as a model probed at that size.
 */
import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../src/engine/onnx/builder.ts';
import { differentiate } from '../../src/engine/onnx/autodiff/index.ts';
import { createSession, type HostTensor } from '../../src/engine/onnx/session.ts';
import { randn } from './gradcheck.ts';
import { Net } from './blocks.ts';
import { initializerFeeds } from '../../src/engine/onnx/autodiff/check.ts';

async function consistent(build: (g: GraphBuilder, net: Net) => string, inputs: Record<string, (b: number | string) => (number | string)[]>, wrt: string[], label: string) {
  const g = new GraphBuilder({ opset: 18 });
  for (const [k, f] of Object.entries(inputs)) g.input(k, k === 'ids' ? 'int64' : 'float32', f('batch'));
  const net = new Net(g);
  g.output(build(g, net), 'y');
  const m = g.toModel();
  const B = 3;
  const feeds: Record<string, HostTensor> = {};
  let seed = 1;
  for (const [k, f] of Object.entries(inputs)) {
    const dims = f(B) as number[];
    feeds[k] = k === 'ids' ? { data: BigInt64Array.from({ length: dims.reduce((a, b) => a * b, 1) }, (_, i) => BigInt((i * 7) % 5)), dims } : randn(dims, seed++);
  }
  Object.assign(feeds, initializerFeeds(m, wrt));
  const runAt = async (probeBatch: number) => {
    const gm = await differentiate(m, { of: 'y', wrt, dimSizes: { batch: probeBatch } });
    const s = await createSession(gm);
    const r = await s.run(feeds);
    await s.release();
    return r;
  };
  const ref = await runAt(B);
  for (const probeBatch of [2, 1]) {
    const r = await runAt(probeBatch);
    for (const w of wrt) {
      const a = ref[`${w}_grad`]!;
      const b = r[`${w}_grad`]!;
      expect(b.dims, `${label} ${w} probed at ${probeBatch}`).toEqual(a.dims);
      for (let i = 0; i < a.data.length; i++) expect(b.data[i] as number, `${label} ${w}[${i}] probed at ${probeBatch}`).toBeCloseTo(a.data[i] as number, 4);
    }
  }
}

describe('symbolic batch: probe at one size, run at another', () => {
  it('Concat / Split along the batch axis, ReduceMean over it', async () => {
    await consistent((g) => {
      const c = g.op('Concat', ['x', g.op('Mul', ['x', 'x'])], { axis: 0 });
      const [a, b] = g.opN('Split', [c], 2, { axis: 0, num_outputs: 2 });
      return g.op('ReduceMean', [g.op('Mul', [a!, g.op('Exp', [b!])]), g.initializer('axes', BigInt64Array.of(0n, 1n), [2])], { keepdims: 0 });
    }, { x: (b) => [b, 3] }, ['x'], 'concat');
  });

  it('Slice along the batch axis (last rows, strided) and along a static axis', async () => {
    const i64 = (g: GraphBuilder, n: string, v: number[]) => g.initializer(n, BigInt64Array.from(v.map(BigInt)), [v.length]);
    await consistent((g) => {
      const a = g.op('Slice', ['x', i64(g, 's', [-2, 1]), i64(g, 'e', [2 ** 40, 4]), i64(g, 'a', [0, 1])]);
      const b = g.op('Slice', ['x', i64(g, 's2', [0]), i64(g, 'e2', [2 ** 40]), i64(g, 'a2', [0]), i64(g, 'st2', [2])]);
      return g.op('Add', [g.op('ReduceSum', [g.op('Exp', [a])], { keepdims: 0 }), g.op('ReduceSum', [g.op('Tanh', [b])], { keepdims: 0 })]);
    }, { x: (b) => [b, 5] }, ['x'], 'slice');
  });

  it('Gather: embedding lookup by [batch, T] ids and along axis 1 of activations', async () => {
    await consistent((g, net) => {
      const emb = net.weight('emb', [5, 4]);
      const h = g.op('Gather', [emb, 'ids'], { axis: 0 }); // [b, 2, 4]
      const sel = g.op('Gather', [g.op('Mul', [h, 'x']), g.initializer('i', BigInt64Array.of(1n, 0n, 1n), [3])], { axis: 1 }); // [b, 3, 4]
      return g.op('Tanh', [sel]);
    }, { ids: (b) => [b, 2], x: (b) => [b, 2, 4] }, ['x', 'emb'], 'gather');
  });

  it('Tile, Expand, broadcast Add with a batch-1 operand, MatMul batch broadcast', async () => {
    await consistent((g, net) => {
      const t = g.op('Tile', ['x', g.initializer('r', BigInt64Array.of(1n, 2n), [2])]); // [b, 6]
      const pos = net.weight('pos', [1, 6]);
      const h = g.op('Add', [t, pos]);
      const w = net.weight('w', [1, 6, 2]);
      return g.op('MatMul', [g.op('Unsqueeze', [h, g.initializer('ax', BigInt64Array.of(1n), [1])]), w]);
    }, { x: (b) => [b, 3] }, ['x', 'pos', 'w'], 'tile');
  });

  it('GroupNorm / Conv / Resize / attention block', async () => {
    await consistent((g, net) => {
      const h = net.conv(net.silu(net.groupNorm('x', 4, 2, 'gn'), 'act'), 4, 4, 3, 'conv', 2);
      const u = g.op('Resize', [h, '', g.initializer('sc', Float32Array.of(1, 1, 2, 2), [4])], { mode: 'nearest' });
      const seq = g.op('Transpose', [g.op('Reshape', [u, net.i64('flat', [0, 4, 16])])], { perm: [0, 2, 1] });
      return net.crossAttention(seq, 'ctx', 4, 6, 2, 'attn').probs;
    }, { x: (b) => [b, 4, 4, 4], ctx: (b) => [b, 3, 6] }, ['x', 'ctx', 'conv.weight', 'gn.weight'], 'block');
  });
});
