/**
 * Shape World training (src/engine/train/shape-world) with tiny configs: the loss drops on a fixed
 * batch in both stages, an interrupted + resumed run reproduces the uninterrupted one bit for bit,
 * and the export is a loadable diffusers ONNX folder.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { register } from '../../src/cli/commands/train.ts';
import { UsageError } from '../../src/cli/errors.ts';
import { readModelFolder } from '../../src/engine/model/folder.ts';
import { buildShapeWorld, shapeWorldConfigs, type ShapeWorldConfigsInput } from '../../src/engine/nets/index.ts';
import { loadModel, tensorValues } from '../../src/engine/onnx/model.ts';
import { createSession } from '../../src/engine/onnx/session.ts';
import { latestCheckpoint, releaseTrainingSessions, trainStage, trainingGraph, type TrainStageOptions } from '../../src/engine/train/shape-world/index.ts';

const TINY: ShapeWorldConfigsInput = {
  vae: { block_out_channels: [8, 8, 8], norm_num_groups: 4 },
  unet: { block_out_channels: [16], norm_num_groups: 4, attention_head_dim: 2, cross_attention_dim: 16 },
  textEncoder: { hidden_size: 16, intermediate_size: 32, num_hidden_layers: 1, num_attention_heads: 2 },
};
const COMMON: Partial<TrainStageOptions> = { batch: 2, warmupSteps: 1, lr: 3e-3, threads: 2, scalingSamples: 8, checkpointEvery: 0 };
/** One graph cache for every run of this file (the graphs depend only on the configs). */
const graphCache = () => join(root, 'graph-cache');

let root = '';
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'steer-sw-train-'));
});
afterAll(async () => {
  await releaseTrainingSessions();
  await rm(root, { recursive: true, force: true });
});

const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

describe('Shape World training', () => {
  it('the VAE training graph is cached by structure and maps gradients to state-dict names', async () => {
    const { models } = buildShapeWorld(TINY, 0);
    const cacheDir = graphCache();
    const a = await trainingGraph('vae', [models.vaeEncoder, models.vaeDecoder], { klWeight: 1e-5, cacheDir });
    const b = await trainingGraph('vae', [buildShapeWorld(TINY, 7).models.vaeEncoder, buildShapeWorld(TINY, 7).models.vaeDecoder], { klWeight: 1e-5, cacheDir });
    expect(a.cached).toBe(false);
    expect(b.cached).toBe(true); // other weights, same structure
    expect(b.hash).toBe(a.hash);
    const outs = a.model.graph!.output.map((o) => o.name);
    expect(outs).toContain('loss');
    expect(outs).toContain('mse');
    expect(outs).toContain('encoder.conv_in.weight_grad');
    expect(outs).toContain('decoder.conv_out.weight_grad');
    expect(a.wrt).toContain('quant_conv.weight');
    expect(a.wrt).toContain('post_quant_conv.weight');
  });

  it('VAE and UNet stages lower the loss on a fixed batch; export writes a loadable model folder', async () => {
    const out = join(root, 'fixed');
    const vae = await trainStage({ ...COMMON, out, stage: 'vae', configs: TINY, steps: 8, fixedBatch: true, exportAtEnd: false, graphCacheDir: graphCache() });
    expect(vae.completed).toBe(8);
    expect(vae.losses).toHaveLength(8);
    expect(vae.losses.every(Number.isFinite)).toBe(true);
    expect(vae.losses.at(-1)!).toBeLessThan(0.6 * vae.losses[0]!);
    expect(vae.scalingFactor).toBeGreaterThan(0);

    const unet = await trainStage({ ...COMMON, out, stage: 'unet', steps: 8, fixedBatch: true, graphCacheDir: graphCache() });
    expect(unet.losses.at(-1)!).toBeLessThan(0.8 * unet.losses[0]!);
    expect(unet.exported).toBe(join(out, 'model'));

    // The exported folder: readable layout, EMA weights, scaling factor, runnable models.
    const folder = readModelFolder(join(out, 'model'));
    expect(folder.vae.scalingFactor).toBeCloseTo(vae.scalingFactor!, 6);
    const dec = JSON.parse(await readFile(join(out, 'model', 'vae_decoder', 'config.json'), 'utf8')) as { scaling_factor: number; block_out_channels: number[] };
    expect(dec.block_out_channels).toEqual([8, 8, 8]);
    const ck = (await latestCheckpoint(out, 'unet'))!;
    const exportedUnet = loadModel(join(out, 'model', 'unet', 'model.onnx')).model;
    const w = exportedUnet.graph!.initializer.find((t) => t.name === 'conv_in.weight')!;
    expect(bits(tensorValues(w).data as Float32Array)).toEqual(bits(ck.ema!.tensors.get('conv_in.weight')!));
    const s = await createSession(join(out, 'model', 'vae_decoder', 'model.onnx'));
    try {
      const r = await s.run({ latent_sample: { data: new Float32Array(4 * 16 * 16), dims: [1, 4, 16, 16] } });
      expect(r.sample!.dims).toEqual([1, 3, 64, 64]);
    } finally {
      await s.release();
    }
  });

  it('an interrupted and resumed run reproduces the uninterrupted run exactly (both stages)', async () => {
    const full = join(root, 'full');
    const split = join(root, 'split');
    const steps = 4;
    const base = { ...COMMON, configs: TINY, steps, exportAtEnd: false, graphCacheDir: graphCache() } as const;
    const a1 = await trainStage({ ...base, out: full, stage: 'vae' });
    const a2 = await trainStage({ ...base, out: full, stage: 'unet' });

    const run = async (stage: 'vae' | 'unet') => {
      const ctl = new AbortController();
      const first = await trainStage({ ...base, out: split, stage, signal: ctl.signal, onProgress: (p) => p.completed === 2 && ctl.abort() });
      expect(first.aborted).toBe(true);
      expect(first.completed).toBe(2);
      await expect(trainStage({ ...base, out: split, stage })).rejects.toThrow(/--resume/);
      const second = await trainStage({ ...base, out: split, stage, resume: true });
      expect(second.startStep).toBe(2);
      return [...first.losses, ...second.losses];
    };
    expect(await run('vae')).toEqual(a1.losses);
    expect(await run('unet')).toEqual(a2.losses);
    for (const stage of ['vae', 'unet'] as const) {
      const x = (await latestCheckpoint(full, stage))!;
      const y = (await latestCheckpoint(split, stage))!;
      expect(y.step).toBe(steps);
      for (const [name, v] of x.weights) expect(bits(y.weights.get(name)!), name).toEqual(bits(v));
      for (const [name, v] of x.ema!.tensors) expect(bits(y.ema!.tensors.get(name)!), name).toEqual(bits(v));
      for (const [name, v] of x.optimizer!.tensors) expect(bits(y.optimizer!.tensors.get(name)!), name).toEqual(bits(v));
      expect(y.optimizer!.json).toEqual(x.optimizer!.json);
    }
    const losses = (await readFile(join(split, 'unet', 'losses.csv'), 'utf8')).trim().split('\n');
    expect(losses).toHaveLength(1 + steps); // header + one row per step, no duplicates after resume
  });

  it('a resumed uniform run can switch to p2 timesteps once; the switch is replayed exactly and cannot be undone', async () => {
    const base = { ...COMMON, configs: TINY, steps: 4, exportAtEnd: false, graphCacheDir: graphCache() } as const;
    const prep = async (dir: string) => {
      await trainStage({ ...base, out: dir, stage: 'vae', steps: 2 });
      const r = await trainStage({ ...base, out: dir, stage: 'unet', until: 2, timestepSampling: 'uniform' });
      expect([r.completed, r.total, r.aborted]).toEqual([2, 4, false]);
    };
    const a = join(root, 'p2-a');
    const b = join(root, 'p2-b');
    await prep(a);
    await prep(b);
    const logs: string[] = [];
    const ra = await trainStage({ ...base, out: a, stage: 'unet', resume: true, timestepSampling: 'p2', log: (l) => logs.push(l) });
    expect(logs.some((l) => /p2 weighting \(gamma 1\) from step 2/.test(l))).toBe(true);
    const ck = (await latestCheckpoint(a, 'unet'))!;
    expect(ck.metadata).toMatchObject({ timestep_sampling: 'p2', p2_gamma: 1, timestep_sampling_from: 2 });

    // b: switch at step 2 as well, stop at 3, resume without options: the same losses as a.
    const ctl = new AbortController();
    const b1 = await trainStage({ ...base, out: b, stage: 'unet', resume: true, timestepSampling: 'p2', signal: ctl.signal, onProgress: (p) => p.completed === 3 && ctl.abort() });
    const b2 = await trainStage({ ...base, out: b, stage: 'unet', resume: true });
    expect([...b1.losses, ...b2.losses]).toEqual(ra.losses);
    // and a different path (uniform all the way) gives other losses: the sampling really changed.
    const c = join(root, 'p2-c');
    await prep(c);
    const rc = await trainStage({ ...base, out: c, stage: 'unet', resume: true });
    expect(rc.losses).not.toEqual(ra.losses);

    await expect(trainStage({ ...base, out: b, stage: 'unet', resume: true, steps: 6, timestepSampling: 'uniform' })).rejects.toThrow(/cannot switch back to uniform/);
    await expect(trainStage({ ...base, out: b, stage: 'unet', resume: true, steps: 6, until: 4 })).rejects.toThrow(/until must be/);
    await expect(trainStage({ ...base, out: b, stage: 'unet', resume: true, steps: 6, p2Gamma: 0.5 })).rejects.toThrow(/same gamma/);
  });

  it('steer train shape-world: usage errors', async () => {
    const program = new Command('steer').exitOverride().configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
    register(program);
    const runCli = (...args: string[]) => program.parseAsync(['train', 'shape-world', ...args], { from: 'user' });
    const out = join(root, 'cli');
    await expect(runCli('--out', out, '--stage', 'decoder')).rejects.toBeInstanceOf(UsageError);
    await expect(runCli('--out', out, '--steps', '10')).rejects.toThrow(/--stage/);
    await expect(runCli('--out', out, '--stage', 'vae', '--batch', '0')).rejects.toThrow(/--batch/);
    await expect(runCli('--out', join(root, 'full'), '--stage', 'vae', '--steps', '3')).rejects.toThrow(/--resume/);
    await expect(runCli('--stage', 'vae')).rejects.toBeInstanceOf(CommanderError);
    await expect(runCli('--out', out, '--stage', 'unet', '--timesteps', 'logit-normal')).rejects.toThrow(/--timesteps/);
    await expect(runCli('--out', out, '--stage', 'unet', '--p2-gamma', '-1')).rejects.toThrow(/--p2-gamma/);
    await expect(runCli('--out', out, '--until', '5')).rejects.toThrow(/--stage/);
    // --export alone rewrites the model folder of an existing run.
    await rm(join(root, 'fixed', 'model'), { recursive: true, force: true });
    await runCli('--out', join(root, 'fixed'), '--export');
    expect(readModelFolder(join(root, 'fixed', 'model')).vae.scalingFactor).toBeGreaterThan(0);
    expect(shapeWorldConfigs(TINY).vae.block_out_channels).toEqual([8, 8, 8]);
  });
});
