/**
 * The gradient engine and the training utilities together: a small conv net written with the
 * graph builder, differentiated by our autodiff, trained with AdamW on a fixed batch, and
 * checkpointed mid-way: resuming reproduces the uninterrupted run bit for bit.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GradientRunner } from '../../src/engine/onnx/autodiff/runner.ts';
import { GraphBuilder } from '../../src/engine/onnx/builder.ts';
import { randn } from '../../src/engine/diffusion/rng.ts';
import { loadCheckpoint, saveCheckpoint } from '../../src/engine/train/checkpoint.ts';
import { AdamW } from '../../src/engine/train/optim.ts';
import type { TensorMap } from '../../src/engine/train/types.ts';

const SHAPES: Record<string, number[]> = { w1: [6, 2, 3, 3], b1: [6], w2: [1, 6, 3, 3], b2: [1] };

/** x [4,2,8,8] -> Conv 3x3 (6) -> Relu -> Conv 3x3 (1) -> mean((y - target)^2) */
function convNet() {
  const g = new GraphBuilder({ opset: 17 });
  const x = g.input('x', 'float32', [4, 2, 8, 8]);
  const target = g.input('target', 'float32', [4, 1, 8, 8]);
  const p: Record<string, string> = {};
  for (const [name, dims] of Object.entries(SHAPES)) p[name] = g.initializer(name, randn(dims, name.length * 7 + dims[0]!).map((v) => v * 0.3), dims);
  const h = g.op('Relu', [g.op('Conv', [x, p.w1, p.b1], { pads: [1, 1, 1, 1] }, { name: '/conv1/Conv' })]);
  const y = g.op('Conv', [h, p.w2, p.b2], { pads: [1, 1, 1, 1] }, { name: '/conv2/Conv' });
  const d = g.op('Sub', [y, target]);
  g.output(g.op('ReduceMean', [g.op('Mul', [d, d])], { keepdims: 0 }), 'loss', 'float32', []);
  return g.toModel();
}

const batch = {
  x: { data: randn([4, 2, 8, 8], 1), dims: [4, 2, 8, 8] },
  // a target the net can fit: a fixed smooth function of the input
  target: { data: Float32Array.from({ length: 4 * 64 }, (_, i) => Math.sin(i / 7)), dims: [4, 1, 8, 8] },
};

async function train(runner: GradientRunner, weights: TensorMap, opt: AdamW, steps: number): Promise<number[]> {
  const losses: number[] = [];
  for (let s = 0; s < steps; s++) {
    const feeds = Object.fromEntries([...weights].map(([k, v]) => [k, { data: v, dims: SHAPES[k]! }]));
    const { outputs, grads } = await runner.run({ ...batch, ...feeds });
    losses.push((outputs.loss!.data as Float32Array)[0]!);
    opt.step(weights, new Map(Object.entries(grads).map(([k, v]) => [k, v.data as Float32Array])), 0.02);
  }
  return losses;
}

describe('AdamW training of a conv net through the ONNX autodiff', () => {
  it('drives the loss down on a fixed batch, and resuming from a checkpoint reproduces the run exactly', async () => {
    const model = convNet();
    const runner = await GradientRunner.create(model, { of: 'loss', wrt: Object.keys(SHAPES), keep: [] });
    const init = (): TensorMap => new Map(model.graph!.initializer.map((t) => [t.name, new Float32Array(new Uint8Array(t.rawData).slice().buffer)]));

    const full = init();
    const losses = await train(runner, full, new AdamW({ weightDecay: 0.01 }), 60);
    expect(losses.at(-1)!).toBeLessThan(0.3 * losses[0]!);

    const dir = mkdtempSync(join(tmpdir(), 'steer-conv-'));
    const a = init();
    const optA = new AdamW({ weightDecay: 0.01 });
    const first = await train(runner, a, optA, 30);
    await saveCheckpoint(join(dir, 'ckpt.safetensors'), { step: 30, weights: a, optimizer: optA.state() });
    const ckpt = await loadCheckpoint(join(dir, 'ckpt.safetensors'));
    const optB = new AdamW({ weightDecay: 0.01 });
    optB.loadState(ckpt.optimizer!);
    const second = await train(runner, ckpt.weights, optB, 30);
    expect([...first, ...second]).toEqual(losses);
    for (const [k, v] of full) expect(Buffer.from(ckpt.weights.get(k)!.buffer).equals(Buffer.from(v.buffer))).toBe(true);
    await runner.release();
  });
});
