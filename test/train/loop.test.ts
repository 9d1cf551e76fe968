import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CheckpointManager, loadCheckpoint } from '../../src/engine/train/checkpoint.ts';
import { clipGradNorm } from '../../src/engine/train/clip.ts';
import { EMA } from '../../src/engine/train/ema.ts';
import { NonFiniteGuard, NonFiniteLossError } from '../../src/engine/train/guard.ts';
import { runTraining } from '../../src/engine/train/loop.ts';
import { AdamW } from '../../src/engine/train/optim.ts';
import { CosineSchedule, WarmupSchedule } from '../../src/engine/train/schedule.ts';
import type { TensorMap } from '../../src/engine/train/types.ts';

let dir = '';
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'steer-loop-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const bits = (a: Float32Array): number[] => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

/** Linear regression y = X w* + b* on fixed data; a step uses a mini-batch chosen by the step index. */
const N = 16;
const D = 4;
const X = Array.from({ length: N }, (_, n) => Array.from({ length: D }, (_, d) => Math.sin(1 + n * 1.3 + d * 0.7)));
const Y = X.map((x) => x.reduce((s, xi, d) => s + xi * (d - 1.5), 0.25));

function lossAndGrads(p: TensorMap, i: number): { loss: number; grads: TensorMap } {
  const w = p.get('w')!;
  const b = p.get('b')!;
  const gw = new Float64Array(D);
  let gb = 0;
  let loss = 0;
  const batch = [i % N, (i * 5 + 3) % N, (i * 7 + 1) % N, (i * 11 + 2) % N];
  for (const n of batch) {
    const x = X[n]!;
    const r = x.reduce((s, xi, d) => s + xi * w[d]!, b[0]!) - Y[n]!;
    loss += (r * r) / batch.length;
    for (let d = 0; d < D; d++) gw[d]! += (2 * r * x[d]!) / batch.length;
    gb += (2 * r) / batch.length;
  }
  return { loss, grads: new Map([['w', Float32Array.from(gw)], ['b', Float32Array.from([gb])]]) };
}

interface Trainer {
  params: TensorMap;
  opt: AdamW;
  sched: WarmupSchedule;
  ema: EMA;
}

function freshTrainer(): Trainer {
  const params: TensorMap = new Map([['w', new Float32Array(D)], ['b', new Float32Array(1)]]);
  return {
    params,
    opt: new AdamW({ weightDecay: 0.01, noWeightDecay: (n) => n === 'b' }),
    sched: new WarmupSchedule({ warmupSteps: 3, inner: new CosineSchedule({ baseLr: 0.05, totalSteps: 17, minLr: 0.001 }) }),
    ema: new EMA(params, { decay: 0.95 }),
  };
}

function stepFn(t: Trainer) {
  return async (i: number) => {
    const { loss, grads } = lossAndGrads(t.params, i);
    const gradNorm = clipGradNorm(grads, 1.0);
    t.opt.step(t.params, grads, t.sched.lrAt(i));
    t.ema.update(t.params);
    return { loss, gradNorm };
  };
}

function saver(t: Trainer, m: CheckpointManager) {
  return (step: number) =>
    m.save({ step, weights: t.params, optimizer: t.opt.state(), schedule: t.sched.state(), ema: t.ema.state(), metadata: { task: 'linreg' } });
}

describe('runTraining', () => {
  it('resumes bit-exactly: 20 steps == 10 steps + save + load into fresh objects + 10 steps', async () => {
    const a = freshTrainer();
    const ma = new CheckpointManager({ dir: join(dir, 'a') });
    const ra = await runTraining({ startStep: 0, steps: 20, step: stepFn(a), checkpointEvery: 5, save: saver(a, ma) });
    expect(ra).toMatchObject({ completed: 20, aborted: false });
    expect(ra.lastLoss!).toBeLessThan(lossAndGrads(freshTrainer().params, 19).loss); // it learned something

    const b = freshTrainer();
    const mb = new CheckpointManager({ dir: join(dir, 'b') });
    await runTraining({ startStep: 0, steps: 10, step: stepFn(b), save: saver(b, mb) });
    const path = (await mb.latest())!;
    const ck = await loadCheckpoint(path);
    expect(ck.step).toBe(10);
    const c = freshTrainer();
    for (const [k, v] of ck.weights) c.params.get(k)!.set(v);
    c.opt.loadState(ck.optimizer!);
    c.sched.loadState(ck.schedule!);
    c.ema.loadState(ck.ema!);
    const rc = await runTraining({ startStep: ck.step, steps: 20, step: stepFn(c), save: saver(c, mb), lastGoodCheckpoint: { step: ck.step, path } });
    expect(rc.completed).toBe(20);

    for (const k of ['w', 'b']) {
      expect(bits(c.params.get(k)!)).toEqual(bits(a.params.get(k)!));
      expect(bits(c.ema.weights.get(k)!)).toEqual(bits(a.ema.weights.get(k)!));
    }
    const sa = a.opt.state();
    const sc = c.opt.state();
    expect(sc.json).toEqual(sa.json);
    for (const [k, v] of sa.tensors) expect(bits(sc.tensors.get(k)!)).toEqual(bits(v));
    // The final checkpoints are byte-identical too (same step, same state).
    expect((await readFile(ma.pathFor(20))).equals(await readFile(mb.pathFor(20)))).toBe(true);
  });

  it('saves on abort and can resume from that step', async () => {
    const t = freshTrainer();
    const m = new CheckpointManager({ dir });
    const ac = new AbortController();
    const saved: number[] = [];
    const r = await runTraining({
      startStep: 0,
      steps: 20,
      step: stepFn(t),
      checkpointEvery: 5,
      save: async (s) => {
        saved.push(s);
        return saver(t, m)(s);
      },
      signal: ac.signal,
      onProgress: (p) => {
        if (p.completed === 7) ac.abort();
      },
    });
    expect(r).toMatchObject({ completed: 7, aborted: true });
    expect(saved).toEqual([5, 7]);
    expect((await loadCheckpoint((await m.latest())!)).step).toBe(7);
    expect(r.lastCheckpoint).toEqual({ step: 7, path: m.pathFor(7) });
  });

  it('stops on a NaN loss without saving and names the last good checkpoint', async () => {
    const t = freshTrainer();
    const m = new CheckpointManager({ dir, keep: 5 });
    const saved: number[] = [];
    const inner = stepFn(t);
    const err = await runTraining({
      startStep: 0,
      steps: 20,
      checkpointEvery: 5,
      step: async (i) => (i === 12 ? NaN : inner(i)),
      save: async (s) => {
        saved.push(s);
        return saver(t, m)(s);
      },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NonFiniteLossError);
    const e = err as NonFiniteLossError;
    expect(e.step).toBe(12);
    expect(e.message).toContain('step 12');
    expect(e.message).toContain('loss is NaN');
    expect(e.message).toContain(`Last good checkpoint is ${m.pathFor(10)} (step 10), kept unchanged`);
    expect(saved).toEqual([5, 10]);
    expect((await loadCheckpoint(m.pathFor(10))).step).toBe(10);
  });

  it('an infinite gradient norm also trips the guard', async () => {
    const err = await runTraining({ startStep: 3, steps: 5, step: async () => ({ loss: 1, gradNorm: Infinity }), save: async () => undefined }).catch((x: unknown) => x);
    expect(err).toBeInstanceOf(NonFiniteLossError);
    expect((err as Error).message).toMatch(/step 3: gradient norm is Infinity \(loss 1\).*No checkpoint had been saved yet/);
  });
});

describe('NonFiniteGuard', () => {
  it('throws on NaN/Inf and refuses later saves', () => {
    const g = new NonFiniteGuard({ step: 100, path: '/ckpt/100.safetensors' });
    g.check(101, 0.5, 2);
    g.recordCheckpoint(105, '/ckpt/105.safetensors');
    expect(() => g.check(106, -Infinity)).toThrow('Training stopped at step 106: loss is -Infinity. Nothing was saved for this step. Last good checkpoint is /ckpt/105.safetensors (step 105), kept unchanged.');
    expect(g.tripped).toBeInstanceOf(NonFiniteLossError);
    expect(() => g.recordCheckpoint(107, '/ckpt/107.safetensors')).toThrow(/refusing to save/);
    expect(() => g.check(107, 0.1)).toThrow(NonFiniteLossError);
    expect(g.lastGoodCheckpoint).toEqual({ step: 105, path: '/ckpt/105.safetensors' });
  });
});
