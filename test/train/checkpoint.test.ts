import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CheckpointError, CheckpointManager, encodeCheckpoint, loadCheckpoint, nodeFileOps, saveCheckpoint } from '../../src/engine/train/checkpoint.ts';
import type { Checkpoint, FileOps } from '../../src/engine/train/checkpoint.ts';
import { decodeSafetensors, encodeSafetensors } from '../../src/engine/train/safetensors.ts';
import { AdamW } from '../../src/engine/train/optim.ts';
import { EMA } from '../../src/engine/train/ema.ts';
import { CosineSchedule, WarmupSchedule } from '../../src/engine/train/schedule.ts';

let dir = '';
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'steer-ckpt-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const bits = (a: Float32Array): number[] => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

function sampleCheckpoint(step = 7): Checkpoint {
  const weights = new Map<string, Float32Array>([
    ['conv.weight', Float32Array.from([1.5, -0, 1e-45, 3.4028234663852886e38, -2.5, Math.PI])],
    ['conv.bias', Float32Array.from([0.1, -0.2])],
    ['/odd/name with spaces', Float32Array.from([Infinity])],
  ]);
  const opt = new AdamW({ weightDecay: 0.05 });
  const grads = new Map([...weights].map(([k, v]) => [k, v.map((x, i) => (Number.isFinite(x) ? 0.01 * (i + 1) : 0))]));
  const ema = new EMA(weights, { decay: 0.99 });
  opt.step(weights, grads, 1e-3);
  ema.update(weights);
  const sched = new WarmupSchedule({ warmupSteps: 3, inner: new CosineSchedule({ baseLr: 1e-3, totalSteps: 10, minLr: 1e-6 }) });
  return {
    step,
    weights,
    shapes: new Map([['conv.weight', [2, 3]]]),
    optimizer: opt.state(),
    schedule: sched.state(),
    ema: ema.state(),
    metadata: { prompt: 'a cat left of a dog', seed: 42, nested: { ok: true, list: [1, 2.5] } },
  };
}

describe('safetensors codec', () => {
  it('writes the documented layout', () => {
    const buf = encodeSafetensors(new Map([['x', { shape: [2], data: Float32Array.from([1, 2]) }]]), { a: 'b' });
    const n = Number(buf.readBigUInt64LE(0));
    expect(n % 8).toBe(0);
    const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8'));
    expect(header).toEqual({ __metadata__: { a: 'b' }, x: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } });
    expect(buf.length).toBe(8 + n + 8);
    expect(buf.readFloatLE(8 + n)).toBe(1);
    expect(buf.readFloatLE(8 + n + 4)).toBe(2);
    expect(decodeSafetensors(buf).metadata).toEqual({ a: 'b' });
  });
});

describe('checkpoint files', () => {
  it('round-trips bit-exactly', async () => {
    const ckpt = sampleCheckpoint();
    const file = join(dir, 'a.safetensors');
    await saveCheckpoint(file, ckpt);
    const back = await loadCheckpoint(file);
    expect(back.step).toBe(7);
    expect([...back.weights.keys()]).toEqual([...ckpt.weights.keys()]);
    for (const [k, v] of ckpt.weights) expect(bits(back.weights.get(k)!)).toEqual(bits(v));
    expect(back.shapes!.get('conv.weight')).toEqual([2, 3]);
    expect(back.shapes!.get('conv.bias')).toEqual([2]);
    expect(back.optimizer!.json).toEqual(ckpt.optimizer!.json);
    for (const [k, v] of ckpt.optimizer!.tensors) expect(bits(back.optimizer!.tensors.get(k)!)).toEqual(bits(v));
    expect(back.ema!.json).toEqual(ckpt.ema!.json);
    for (const [k, v] of ckpt.ema!.tensors) expect(bits(back.ema!.tensors.get(k)!)).toEqual(bits(v));
    expect(back.schedule).toEqual(ckpt.schedule);
    expect(back.metadata).toEqual(ckpt.metadata);
    // Re-encoding what was loaded gives the same bytes.
    expect(encodeCheckpoint(back).equals(await readFile(file))).toBe(true);
    // Loaded state drives fresh objects.
    new AdamW({ weightDecay: 0.05 }).loadState(back.optimizer!);
    new EMA(back.weights, { decay: 0.99 }).loadState(back.ema!);
  });

  it('a failing temp write leaves the previous checkpoint intact', async () => {
    const file = join(dir, 'ckpt.safetensors');
    await saveCheckpoint(file, sampleCheckpoint(1));
    const before = await readFile(file);
    const failing: FileOps = {
      ...nodeFileOps,
      async writeFileSynced(path, data) {
        await nodeFileOps.writeFileSynced(path, data.slice(0, 20)); // partial write, then the disk "fills up"
        throw new Error('ENOSPC: no space left on device');
      },
    };
    const err = await saveCheckpoint(file, sampleCheckpoint(2), { fileOps: failing }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CheckpointError);
    expect((err as Error).message).toContain(file);
    expect((err as Error).message).toMatch(/ENOSPC.*previous file at that path \(if any\) is unchanged/);
    expect((await readFile(file)).equals(before)).toBe(true);
    expect(await readdir(dir)).toEqual(['ckpt.safetensors']); // temp file removed
    expect((await loadCheckpoint(file)).step).toBe(1);

    const failingRename: FileOps = { ...nodeFileOps, rename: () => Promise.reject(new Error('EXDEV')) };
    await expect(saveCheckpoint(file, sampleCheckpoint(3), { fileOps: failingRename })).rejects.toThrow(/EXDEV/);
    expect((await readFile(file)).equals(before)).toBe(true);
    expect(await readdir(dir)).toEqual(['ckpt.safetensors']);
  });

  it('refuses to store NaN in JSON state', async () => {
    const ckpt = sampleCheckpoint();
    ckpt.metadata = { loss: NaN };
    await expect(saveCheckpoint(join(dir, 'x.safetensors'), ckpt)).rejects.toThrow(/metadata\.loss is NaN/);
  });

  it('loadCheckpoint names the file and the problem', async () => {
    const missing = join(dir, 'nope.safetensors');
    await expect(loadCheckpoint(missing)).rejects.toThrow(`checkpoint ${missing}: no such file`);

    const good = encodeCheckpoint(sampleCheckpoint());
    const cases: [string, Uint8Array, RegExp][] = [
      ['tiny', Buffer.from([1, 2, 3]), /too short/],
      ['truncated', good.subarray(0, good.length - 10), /outside the data section|cover/],
      ['garbage', Buffer.concat([Buffer.from([4, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('{{{{')]), /not valid JSON/],
      ['foreign', encodeSafetensors(new Map([['x', { shape: [1], data: Float32Array.from([1]) }]])), /not a Steer Studio checkpoint/],
      ['badstep', encodeSafetensors(new Map(), { format: 'steer-studio/checkpoint', format_version: '1', step: '-1' }), /"step"/],
      ['badjson', encodeSafetensors(new Map(), { format: 'steer-studio/checkpoint', format_version: '1', step: '1', optimizer: '{' }), /"optimizer" in __metadata__ is not valid JSON/],
      ['version', encodeSafetensors(new Map(), { format: 'steer-studio/checkpoint', format_version: '9', step: '1' }), /format_version "9"/],
      ['prefix', encodeSafetensors(new Map([['zzz', { shape: [1], data: Float32Array.from([1]) }]]), { format: 'steer-studio/checkpoint', format_version: '1', step: '1' }), /unexpected tensor "zzz"/],
    ];
    for (const [name, bytes, re] of cases) {
      const f = join(dir, `${name}.safetensors`);
      await writeFile(f, bytes);
      const err = await loadCheckpoint(f).catch((e: unknown) => e);
      expect(err, name).toBeInstanceOf(CheckpointError);
      expect((err as Error).message, name).toContain(f);
      expect((err as Error).message, name).toMatch(re);
    }
  });

  it('CheckpointManager keeps the newest N complete checkpoints', async () => {
    const m = new CheckpointManager({ dir: join(dir, 'run'), keep: 2 });
    expect(await m.latest()).toBeNull();
    for (const step of [5, 10, 15]) await m.save(sampleCheckpoint(step));
    expect((await m.list()).map((c) => c.step)).toEqual([10, 15]);
    expect(await m.latest()).toBe(join(dir, 'run', 'checkpoint-00000015.safetensors'));
    const failing: FileOps = { ...nodeFileOps, writeFileSynced: () => Promise.reject(new Error('EIO')) };
    const m2 = new CheckpointManager({ dir: join(dir, 'run'), keep: 1, fileOps: failing });
    await expect(m2.save(sampleCheckpoint(20))).rejects.toThrow(/EIO/);
    expect((await m.list()).map((c) => c.step)).toEqual([10, 15]); // nothing pruned on failure
  });
});
