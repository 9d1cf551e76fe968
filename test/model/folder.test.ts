import { join } from 'node:path';
import { rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { SHAPE_WORLD_MAX_LENGTH } from '../../src/engine/model/wordlevel.ts';
import { describeModelFolder, ModelFolderError, readModelFolder } from '../../src/engine/model/folder.ts';
import { loadTokenizer } from '../../src/engine/model/tokenizer.ts';
import { buildWordLevelTokenizer } from '../../src/engine/model/wordlevel.ts';
import { cleanTemp, tempDir, tinyBpe, writeTree } from './helpers.ts';

afterAll(cleanTemp);

const ONNX = new Uint8Array([8, 7, 18, 4, 116, 101, 115, 116]); // any bytes: layout tests only

function modelIndex(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    _class_name: 'OnnxStableDiffusionPipeline',
    _diffusers_version: '0.30.0',
    text_encoder: ['diffusers', 'OnnxRuntimeModel'],
    tokenizer: ['transformers', 'PreTrainedTokenizerFast'],
    unet: ['diffusers', 'OnnxRuntimeModel'],
    vae_decoder: ['diffusers', 'OnnxRuntimeModel'],
    vae_encoder: ['diffusers', 'OnnxRuntimeModel'],
    scheduler: ['diffusers', 'DDIMScheduler'],
    safety_checker: [null, null],
    requires_safety_checker: false,
    ...extra,
  };
}

function makeFolder(extra: Record<string, string | Uint8Array | object> = {}): string {
  const dir = tempDir('steer-folder-');
  const { tokenizer, config } = buildWordLevelTokenizer();
  writeTree(dir, {
    'model_index.json': modelIndex(),
    'tokenizer/tokenizer.json': tokenizer,
    'tokenizer/tokenizer_config.json': config,
    'text_encoder/model.onnx': ONNX,
    'unet/model.onnx': ONNX,
    'vae_decoder/model.onnx': ONNX,
    'vae_decoder/config.json': { scaling_factor: 0.5, latent_channels: 4, sample_size: 64 },
    'vae_encoder/model.onnx': ONNX,
    'scheduler/scheduler_config.json': { _class_name: 'DDIMScheduler', num_train_timesteps: 1000, beta_schedule: 'linear', prediction_type: 'epsilon' },
    ...extra,
  });
  return dir;
}

function problemsOf(dir: string): string[] {
  try {
    readModelFolder(dir);
  } catch (e) {
    expect(e).toBeInstanceOf(ModelFolderError);
    return (e as ModelFolderError).problems;
  }
  throw new Error('expected the folder to be rejected');
}

describe('readModelFolder', () => {
  it('reads a complete folder: paths, configs, components', () => {
    const dir = makeFolder();
    const f = readModelFolder(dir);
    expect(f.className).toBe('OnnxStableDiffusionPipeline');
    expect(f.diffusersVersion).toBe('0.30.0');
    expect(f.unet.model).toBe(join(dir, 'unet/model.onnx'));
    expect(f.unet.bytes).toBe(ONNX.length);
    expect(f.unet.externalData).toEqual([]);
    expect(f.vaeEncoder?.model).toBe(join(dir, 'vae_encoder/model.onnx'));
    expect(f.vae).toEqual({ scalingFactor: 0.5, latentChannels: 4, sampleSize: 64 });
    expect(f.scheduler.config.num_train_timesteps).toBe(1000);
    expect(f.scheduler.config._class_name).toBe('DDIMScheduler');
    expect(f.components.safety_checker).toEqual([null, null]);
    expect(f.components.unet).toEqual(['diffusers', 'OnnxRuntimeModel']);
    expect(f.tokenizer.files).toEqual(['tokenizer.json', 'tokenizer_config.json']);
    expect(loadTokenizer(f.tokenizer.dir).maxLength).toBe(SHAPE_WORLD_MAX_LENGTH);
    expect(describeModelFolder(f)).toBe(
      `OnnxStableDiffusionPipeline (${dir}): text_encoder 8 B, unet 8 B, vae_decoder 8 B, vae_encoder 8 B, DDIMScheduler (1000 steps), 4 latent channels, scaling 0.5`,
    );
  });

  it('vae_encoder and per-component config.json are optional', () => {
    const dir = makeFolder({ 'model_index.json': modelIndex({ vae_encoder: undefined }) });
    rmSync(join(dir, 'vae_encoder'), { recursive: true });
    rmSync(join(dir, 'vae_decoder/config.json'));
    const f = readModelFolder(dir);
    expect(f.vaeEncoder).toBeUndefined();
    expect(f.vae).toEqual({});
  });

  it('finds and reports external weight files', () => {
    const dir = makeFolder({ 'unet/weights.pb': new Uint8Array(2048), 'text_encoder/model.onnx_data': new Uint8Array(10) });
    const f = readModelFolder(dir);
    expect(f.unet.externalData).toEqual([join(dir, 'unet/weights.pb')]);
    expect(f.unet.externalBytes).toBe(2048);
    expect(f.textEncoder.externalData).toEqual([join(dir, 'text_encoder/model.onnx_data')]);
    expect(describeModelFolder(f)).toContain('unet 2.0 KiB (+ weights.pb)');
    expect(describeModelFolder(f)).toContain('text_encoder 18 B (+ model.onnx_data)');
  });

  it('accepts a CLIP tokenizer given as vocab.json + merges.txt', () => {
    const { vocab, merges } = tinyBpe();
    const dir = makeFolder();
    rmSync(join(dir, 'tokenizer'), { recursive: true });
    writeTree(dir, {
      'tokenizer/vocab.json': vocab,
      'tokenizer/merges.txt': `#version: 0.2\n${merges.join('\n')}\n`,
      'tokenizer/tokenizer_config.json': { model_max_length: 77, pad_token: '<|endoftext|>' },
    });
    expect(loadTokenizer(readModelFolder(dir).tokenizer.dir).modelType).toBe('BPE');
  });

  it.each([
    ['unet/model.onnx', 'unet/model.onnx: missing; a diffusers ONNX export has unet/model.onnx next to model_index.json'],
    ['text_encoder/model.onnx', 'text_encoder/model.onnx: missing; a diffusers ONNX export has text_encoder/model.onnx next to model_index.json'],
    ['vae_decoder/model.onnx', 'vae_decoder/model.onnx: missing; a diffusers ONNX export has vae_decoder/model.onnx next to model_index.json'],
    ['vae_encoder/model.onnx', 'vae_encoder/model.onnx: missing; vae_encoder/model.onnx is optional, but a folder that names it must have it'],
    ['scheduler/scheduler_config.json', 'scheduler/scheduler_config.json: missing; a diffusers ONNX export has scheduler/scheduler_config.json next to model_index.json'],
    ['tokenizer/tokenizer.json', 'tokenizer/tokenizer.json: missing; a diffusers ONNX export has tokenizer/tokenizer.json (or CLIP vocab.json + merges.txt) next to model_index.json'],
    ['tokenizer', 'tokenizer/tokenizer.json: missing; a diffusers ONNX export has tokenizer/tokenizer.json (or CLIP vocab.json + merges.txt) next to model_index.json'],
    ['model_index.json', 'model_index.json: missing; a diffusers ONNX export has model_index.json at the top of the folder'],
  ])('names a missing %s', (rel, message) => {
    const dir = makeFolder();
    rmSync(join(dir, rel), { recursive: true });
    expect(problemsOf(dir)).toEqual([message]);
  });

  it('collects several problems at once, each with its file', () => {
    const dir = makeFolder({
      'model_index.json': modelIndex({ unet: undefined, scheduler: ['diffusers'] }),
      'scheduler/scheduler_config.json': { _class_name: 'DDIMScheduler' },
      'vae_decoder/config.json': { scaling_factor: -1 },
    });
    rmSync(join(dir, 'vae_decoder/model.onnx'));
    writeTree(dir, { 'vae_decoder/model.onnx': new Uint8Array(0) });
    const problems = problemsOf(dir);
    expect(problems).toContain('model_index.json: "scheduler" must be [library, class], like ["diffusers", "OnnxRuntimeModel"]');
    expect(problems).toContain('model_index.json: no "unet" entry; a diffusers ONNX export has unet/model.onnx next to model_index.json');
    expect(problems).toContain('vae_decoder/model.onnx: empty file');
    expect(problems.some((p) => p.startsWith('vae_decoder/config.json: scaling_factor:'))).toBe(true);
    expect(problems.some((p) => p.startsWith('scheduler/scheduler_config.json: num_train_timesteps:'))).toBe(true);
    expect(problems).toContain('model_index.json: no "scheduler" entry; a diffusers ONNX export has scheduler/scheduler_config.json next to model_index.json');
    expect(() => readModelFolder(dir)).toThrow(`${dir} is not a usable diffusers ONNX model folder:`);
  });

  it('names malformed JSON files', () => {
    const dir = makeFolder({ 'model_index.json': '{"_class_name":', 'tokenizer/tokenizer.json': '{}' });
    const problems = problemsOf(dir);
    expect(problems[0]).toMatch(/^model_index\.json: not valid JSON/);
    expect(problems).toContainEqual(expect.stringMatching(/^tokenizer\/tokenizer\.json: not a tokenizer\.json \(model:/));
    const d2 = makeFolder({ 'model_index.json': { unet: ['diffusers', 'OnnxRuntimeModel'] } });
    expect(problemsOf(d2)[0]).toMatch(/^model_index\.json: _class_name:/);
  });

  it('a disabled required component is a problem', () => {
    const dir = makeFolder({ 'model_index.json': modelIndex({ text_encoder: [null, null] }) });
    expect(problemsOf(dir)).toEqual(['model_index.json: "text_encoder" is disabled ([null, null]) but the pipeline needs it']);
  });

  it('names a folder that does not exist', () => {
    expect(() => readModelFolder('/nonexistent/steer-model')).toThrow(/\/nonexistent\/steer-model: no such folder/);
  });
});
