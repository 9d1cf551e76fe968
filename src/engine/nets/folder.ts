/**
 * Writes a Shape World model folder in the diffusers ONNX layout:
 *
 *   model_index.json
 *   text_encoder/model.onnx   text_encoder/config.json
 *   unet/model.onnx           unet/config.json
 *   vae_encoder/model.onnx    vae_encoder/config.json
 *   vae_decoder/model.onnx    vae_decoder/config.json   (scaling_factor, latent_channels, sample_size)
 *   scheduler/scheduler_config.json
 *
 * The tokenizer/ folder is written by the tokenizer's own code, not here (model_index.json names
 * it). Every file is written atomically (temporary file + rename), so a reader sees the old or the
 * new file, never half of one. Models are stored with their weights inline (all are far below 2 GB).
 */
import { join } from 'node:path';
import { serializeModel, type ModelProto } from '../onnx/model.ts';
import { writeFileAtomic } from '../util/fs.ts';
import { checkConsistency, type ShapeWorldConfigs } from './config.ts';

export interface ShapeWorldModels {
  textEncoder: ModelProto;
  unet: ModelProto;
  vaeEncoder: ModelProto;
  vaeDecoder: ModelProto;
}

export interface WriteModelFolderOptions {
  /** model_index.json's tokenizer entry (library, class). */
  tokenizer?: [string, string];
  /** Extra model_index.json fields (e.g. a version or training notes). */
  extraIndex?: Record<string, unknown>;
}

export const MODEL_FOLDER_FILES = [
  'model_index.json',
  'text_encoder/model.onnx',
  'text_encoder/config.json',
  'unet/model.onnx',
  'unet/config.json',
  'vae_encoder/model.onnx',
  'vae_encoder/config.json',
  'vae_decoder/model.onnx',
  'vae_decoder/config.json',
  'scheduler/scheduler_config.json',
] as const;

export function modelIndex(opts: WriteModelFolderOptions = {}): Record<string, unknown> {
  return {
    _class_name: 'OnnxStableDiffusionPipeline',
    _diffusers_version: '0.30.0',
    _name_or_path: 'shape-world',
    feature_extractor: [null, null],
    requires_safety_checker: false,
    safety_checker: [null, null],
    scheduler: ['diffusers', 'DDIMScheduler'],
    text_encoder: ['diffusers', 'OnnxRuntimeModel'],
    tokenizer: opts.tokenizer ?? ['transformers', 'PreTrainedTokenizerFast'],
    unet: ['diffusers', 'OnnxRuntimeModel'],
    vae_decoder: ['diffusers', 'OnnxRuntimeModel'],
    vae_encoder: ['diffusers', 'OnnxRuntimeModel'],
    ...opts.extraIndex,
  };
}

const json = (v: unknown) => `${JSON.stringify(v, null, 2)}\n`;

/** Writes every file of the folder (creating sub-folders); returns the paths written. */
export async function writeModelFolder(dir: string, models: ShapeWorldModels, configs: ShapeWorldConfigs, opts: WriteModelFolderOptions = {}): Promise<string[]> {
  checkConsistency(configs);
  const files: [string, string | Uint8Array][] = [
    ['text_encoder/model.onnx', serializeModel(models.textEncoder)],
    ['text_encoder/config.json', json(configs.textEncoder)],
    ['unet/model.onnx', serializeModel(models.unet)],
    ['unet/config.json', json(configs.unet)],
    ['vae_encoder/model.onnx', serializeModel(models.vaeEncoder)],
    ['vae_encoder/config.json', json(configs.vae)],
    ['vae_decoder/model.onnx', serializeModel(models.vaeDecoder)],
    ['vae_decoder/config.json', json(configs.vae)],
    ['scheduler/scheduler_config.json', json(configs.scheduler)],
    // Last: a folder with model_index.json is complete.
    ['model_index.json', json(modelIndex(opts))],
  ];
  const written: string[] = [];
  for (const [rel, data] of files) {
    const path = join(dir, ...rel.split('/'));
    await writeFileAtomic(path, data);
    written.push(path);
  }
  return written;
}
