import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseSchedulerConfig as parseDiffusionScheduler } from '../../src/engine/diffusion/config.ts';
import { loadModel } from '../../src/engine/onnx/model.ts';
import { createSession } from '../../src/engine/onnx/session.ts';
import { buildShapeWorld, MODEL_FOLDER_FILES, NetConfigError, shapeWorldConfigs, writeModelFolder } from '../../src/engine/nets/index.ts';
import { randf } from './util.ts';

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'shape-world-'));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function listAll(dir: string, prefix = ''): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...listAll(join(dir, e.name), rel));
    else out.push(rel);
  }
  return out.sort();
}

const readJson = (dir: string, rel: string) => JSON.parse(readFileSync(join(dir, rel), 'utf8')) as Record<string, unknown>;

describe('writeModelFolder', () => {
  it('writes the diffusers ONNX layout (no tokenizer, no temp files left)', async () => {
    const dir = tmp();
    const { models, configs } = buildShapeWorld({}, 1);
    const written = await writeModelFolder(dir, models, configs);
    expect(written).toHaveLength(MODEL_FOLDER_FILES.length);
    expect(listAll(dir)).toEqual([...MODEL_FOLDER_FILES].sort());

    const index = readJson(dir, 'model_index.json');
    expect(index._class_name).toBe('OnnxStableDiffusionPipeline');
    for (const k of ['text_encoder', 'unet', 'vae_encoder', 'vae_decoder']) expect(index[k]).toEqual(['diffusers', 'OnnxRuntimeModel']);
    expect(index.scheduler).toEqual(['diffusers', 'DDIMScheduler']);
    expect(index.tokenizer).toBeDefined();

    const vae = readJson(dir, 'vae_decoder/config.json');
    expect(vae).toMatchObject({ scaling_factor: 1, latent_channels: 4, sample_size: 64, block_out_channels: [32, 64, 64] });
    expect(readJson(dir, 'unet/config.json')).toMatchObject({ sample_size: 16, in_channels: 4, out_channels: 4, cross_attention_dim: 64, block_out_channels: [64, 96], attention_head_dim: 4 });
    expect(readJson(dir, 'text_encoder/config.json')).toMatchObject({ vocab_size: configs.textEncoder.vocab_size, hidden_size: 64, max_position_embeddings: configs.textEncoder.max_position_embeddings, causal_attention: true });
    expect(readJson(dir, 'unet/config.json').text_length).toBe(configs.textEncoder.max_position_embeddings);

    const sched = readJson(dir, 'scheduler/scheduler_config.json');
    expect(sched).toEqual({
      _class_name: 'DDIMScheduler',
      num_train_timesteps: 1000,
      beta_start: 0.00085,
      beta_end: 0.012,
      beta_schedule: 'scaled_linear',
      prediction_type: 'epsilon',
      steps_offset: 1,
      timestep_spacing: 'leading',
      set_alpha_to_one: false,
      clip_sample: false,
    });
    // The diffusion engine's own parser accepts it.
    expect(parseDiffusionScheduler(sched)).toMatchObject({ beta_schedule: 'scaled_linear', steps_offset: 1, set_alpha_to_one: false, clip_sample: false });
  });

  it('the written models load and run: encode -> decode round trip shapes', async () => {
    const dir = tmp();
    const { models, configs } = buildShapeWorld({ vae: { scaling_factor: 0.5 } }, 2);
    await writeModelFolder(dir, models, configs);
    expect(readJson(dir, 'vae_decoder/config.json').scaling_factor).toBe(0.5);
    const enc = await createSession(join(dir, 'vae_encoder/model.onnx'));
    const dec = await createSession(join(dir, 'vae_decoder/model.onnx'));
    try {
      const z = (await enc.run({ sample: randf([1, 3, 64, 64], 3) })).latent_sample!;
      const x = (await dec.run({ latent_sample: z })).sample!;
      expect(x.dims).toEqual([1, 3, 64, 64]);
    } finally {
      await enc.release();
      await dec.release();
    }
    expect(loadModel(join(dir, 'unet/model.onnx')).model.graph!.output.map((o) => o.name)).toEqual(['out_sample']);
  });

  it('refuses inconsistent configs before writing anything', async () => {
    const dir = tmp();
    const { models, configs } = buildShapeWorld({}, 1);
    const bad = { ...configs, unet: { ...configs.unet, cross_attention_dim: 32 } };
    await expect(writeModelFolder(dir, models, bad)).rejects.toThrow(NetConfigError);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('configs are zod-validated with defaults filled in', () => {
    const c = shapeWorldConfigs();
    expect(c.unet.time_embedding_dim).toBe(256);
    expect(c.unet.down_block_types).toEqual(['CrossAttnDownBlock2D', 'CrossAttnDownBlock2D']);
    expect(c.vae.up_block_types).toEqual(['UpDecoderBlock2D', 'UpDecoderBlock2D', 'UpDecoderBlock2D']);
    expect(c.scheduler.beta_schedule).toBe('scaled_linear');
    expect(() => shapeWorldConfigs({ scheduler: { prediction_type: 'v_prediction' as never } })).toThrow(/prediction_type/);
    expect(() => shapeWorldConfigs({ unet: { layers_per_block: 0 } })).toThrow(/layers_per_block/);
  });
});
