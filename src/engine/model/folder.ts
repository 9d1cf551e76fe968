/**
 * Reads a model folder in the diffusers ONNX layout (what `OnnxStableDiffusionPipeline`
 * and optimum's exports write, and what Shape World ships):
 *
 *   model_index.json            {"_class_name": ..., "unet": ["diffusers", "OnnxRuntimeModel"], ...}
 *   tokenizer/                  tokenizer.json (+ tokenizer_config.json), or CLIP vocab.json + merges.txt
 *   text_encoder/model.onnx
 *   unet/model.onnx             (+ external weights: model.onnx_data, weights.pb, ...)
 *   vae_decoder/model.onnx
 *   vae_encoder/model.onnx      optional
 *   scheduler/scheduler_config.json
 *   <component>/config.json     optional (vae_decoder/config.json: scaling_factor, latent_channels, sample_size)
 *
 * Only the layout and the JSON files are checked; no ONNX session is created here. Every
 * problem is collected and reported with the file it concerns.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { readTokenizerFiles, TokenizerFileError } from './tokenizer.ts';

const componentEntry = z.tuple([z.string().nullable(), z.string().nullable()]);

const modelIndexSchema = z
  .object({
    _class_name: z.string().min(1),
    _diffusers_version: z.string().optional(),
  })
  .loose();

const schedulerConfigSchema = z
  .object({
    _class_name: z.string().optional(),
    num_train_timesteps: z.number().int().positive(),
    beta_start: z.number().optional(),
    beta_end: z.number().optional(),
    beta_schedule: z.string().optional(),
    prediction_type: z.string().optional(),
  })
  .loose();
export type SchedulerConfig = z.infer<typeof schedulerConfigSchema>;

const vaeConfigSchema = z
  .object({
    scaling_factor: z.number().positive().optional(),
    latent_channels: z.number().int().positive().optional(),
    sample_size: z.number().int().positive().optional(),
  })
  .loose();

/** A component's ONNX model and what sits next to it. Paths are absolute. */
export interface OnnxComponent {
  name: string;
  dir: string;
  model: string;
  /** Size of model.onnx in bytes (without external data). */
  bytes: number;
  /** External weight files next to model.onnx (model.onnx_data, weights.pb, ...), absolute paths. */
  externalData: string[];
  /** Size of the external weight files in bytes. */
  externalBytes: number;
  /** <component>/config.json, when present. */
  config?: Record<string, unknown>;
}

export interface ModelFolder {
  dir: string;
  /** model_index.json `_class_name`. */
  className: string;
  diffusersVersion?: string;
  /** Every component entry of model_index.json: name -> [library, class] (nulls for a disabled one). */
  components: Record<string, [string | null, string | null]>;
  modelIndex: Record<string, unknown>;
  tokenizer: { dir: string; files: string[] };
  textEncoder: OnnxComponent;
  unet: OnnxComponent;
  vaeDecoder: OnnxComponent;
  vaeEncoder?: OnnxComponent;
  scheduler: { path: string; config: SchedulerConfig };
  /** From vae_decoder/config.json (or vae_encoder/config.json), where given. */
  vae: { scalingFactor?: number; latentChannels?: number; sampleSize?: number };
}

export class ModelFolderError extends Error {
  constructor(readonly dir: string, readonly problems: string[]) {
    super(`${dir} is not a usable diffusers ONNX model folder:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ModelFolderError';
  }
}

const HINTS: Record<string, string> = {
  model_index: 'a diffusers ONNX export has model_index.json at the top of the folder',
  text_encoder: 'a diffusers ONNX export has text_encoder/model.onnx next to model_index.json',
  unet: 'a diffusers ONNX export has unet/model.onnx next to model_index.json',
  vae_decoder: 'a diffusers ONNX export has vae_decoder/model.onnx next to model_index.json',
  vae_encoder: 'vae_encoder/model.onnx is optional, but a folder that names it must have it',
  scheduler: 'a diffusers ONNX export has scheduler/scheduler_config.json next to model_index.json',
  tokenizer: 'a diffusers ONNX export has tokenizer/tokenizer.json (or CLIP vocab.json + merges.txt) next to model_index.json',
};

/** Files that hold ONNX external data next to model.onnx. */
const EXTERNAL_DATA = /^(?:.*\.onnx_data|.*\.onnx\.data|weights\.pb|.*\.weight|.*\.bin|.*\.data)$/u;

function zodText(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.length > 0 ? i.path.join('.') : '(top level)'}: ${i.message}`).join('; ');
}

/** Validates `dir` and returns its paths and configs; throws ModelFolderError listing every problem. */
export function readModelFolder(dirIn: string): ModelFolder {
  const dir = resolve(dirIn);
  const problems: string[] = [];
  if (!existsSync(dir)) throw new ModelFolderError(dir, [`${dir}: no such folder`]);
  if (!statSync(dir).isDirectory()) throw new ModelFolderError(dir, [`${dir}: is a file, not a model folder`]);

  const readJsonFile = (rel: string): unknown => {
    try {
      return JSON.parse(readFileSync(join(dir, rel), 'utf8'));
    } catch (e) {
      problems.push(`${rel}: ${e instanceof SyntaxError ? `not valid JSON (${e.message})` : `cannot be read (${(e as Error).message})`}`);
      return undefined;
    }
  };
  const isFile = (rel: string): boolean => existsSync(join(dir, rel)) && statSync(join(dir, rel)).isFile();

  // model_index.json
  let className = '';
  let diffusersVersion: string | undefined;
  let modelIndex: Record<string, unknown> = {};
  const components: Record<string, [string | null, string | null]> = {};
  if (!isFile('model_index.json')) problems.push(`model_index.json: missing; ${HINTS.model_index}`);
  else {
    const raw = readJsonFile('model_index.json');
    if (raw !== undefined) {
      const parsed = modelIndexSchema.safeParse(raw);
      if (!parsed.success) problems.push(`model_index.json: ${zodText(parsed.error)}`);
      else {
        modelIndex = parsed.data;
        className = parsed.data._class_name;
        diffusersVersion = parsed.data._diffusers_version;
        for (const [key, value] of Object.entries(parsed.data)) {
          if (key.startsWith('_') || !Array.isArray(value)) continue;
          const entry = componentEntry.safeParse(value);
          if (entry.success) components[key] = entry.data;
          else problems.push(`model_index.json: "${key}" must be [library, class], like ["diffusers", "OnnxRuntimeModel"]`);
        }
      }
    }
  }
  const indexRead = className !== '';
  const requireEntry = (name: string): void => {
    if (!indexRead) return;
    const entry = components[name];
    if (entry === undefined) problems.push(`model_index.json: no "${name}" entry; ${HINTS[name]}`);
    else if (entry[0] === null || entry[1] === null) problems.push(`model_index.json: "${name}" is disabled ([null, null]) but the pipeline needs it`);
  };

  // ONNX components
  const onnxComponent = (name: string, optional: boolean): OnnxComponent | undefined => {
    const rel = `${name}/model.onnx`;
    const named = components[name] !== undefined && components[name]![0] !== null;
    if (!isFile(rel)) {
      if (!optional) {
        requireEntry(name);
        problems.push(`${rel}: missing; ${HINTS[name]}`);
      } else if (named) {
        problems.push(`${rel}: missing; ${HINTS[name]}`);
      }
      return undefined;
    }
    if (!optional) requireEntry(name);
    const cdir = join(dir, name);
    const bytes = statSync(join(dir, rel)).size;
    if (bytes === 0) problems.push(`${rel}: empty file`);
    const externalData = readdirSync(cdir)
      .filter((f) => f !== 'model.onnx' && EXTERNAL_DATA.test(f) && statSync(join(cdir, f)).isFile())
      .sort()
      .map((f) => join(cdir, f));
    const externalBytes = externalData.reduce((n, f) => n + statSync(f).size, 0);
    const out: OnnxComponent = { name, dir: cdir, model: join(dir, rel), bytes, externalData, externalBytes };
    if (isFile(`${name}/config.json`)) {
      const cfg = readJsonFile(`${name}/config.json`);
      if (cfg !== undefined) {
        if (cfg === null || typeof cfg !== 'object' || Array.isArray(cfg)) problems.push(`${name}/config.json: must be a JSON object`);
        else out.config = cfg as Record<string, unknown>;
      }
    }
    return out;
  };
  const textEncoder = onnxComponent('text_encoder', false);
  const unet = onnxComponent('unet', false);
  const vaeDecoder = onnxComponent('vae_decoder', false);
  const vaeEncoder = onnxComponent('vae_encoder', true);

  // VAE config
  const vae: ModelFolder['vae'] = {};
  for (const c of [vaeDecoder, vaeEncoder]) {
    if (!c?.config) continue;
    const parsed = vaeConfigSchema.safeParse(c.config);
    if (!parsed.success) {
      problems.push(`${c.name}/config.json: ${zodText(parsed.error)}`);
      continue;
    }
    vae.scalingFactor ??= parsed.data.scaling_factor;
    vae.latentChannels ??= parsed.data.latent_channels;
    vae.sampleSize ??= parsed.data.sample_size;
  }
  for (const k of Object.keys(vae) as (keyof typeof vae)[]) if (vae[k] === undefined) delete vae[k];

  // Scheduler
  let scheduler: ModelFolder['scheduler'] | undefined;
  const schedRel = 'scheduler/scheduler_config.json';
  requireEntry('scheduler');
  if (!isFile(schedRel)) problems.push(`${schedRel}: missing; ${HINTS.scheduler}`);
  else {
    const raw = readJsonFile(schedRel);
    if (raw !== undefined) {
      const parsed = schedulerConfigSchema.safeParse(raw);
      if (!parsed.success) problems.push(`${schedRel}: ${zodText(parsed.error)}`);
      else scheduler = { path: join(dir, schedRel), config: parsed.data };
    }
  }

  // Tokenizer
  let tokenizer: ModelFolder['tokenizer'] | undefined;
  requireEntry('tokenizer');
  const tdir = join(dir, 'tokenizer');
  if (!existsSync(tdir) || !statSync(tdir).isDirectory()) problems.push(`tokenizer/tokenizer.json: missing; ${HINTS.tokenizer}`);
  else {
    try {
      readTokenizerFiles(tdir);
      tokenizer = { dir: tdir, files: readdirSync(tdir).sort() };
    } catch (e) {
      if (!(e instanceof TokenizerFileError)) throw e;
      const rel = e.message.startsWith(`${dir}/`) ? e.message.slice(dir.length + 1) : e.message;
      problems.push(rel.replace(/^tokenizer\/tokenizer\.json: missing;.*$/u, `tokenizer/tokenizer.json: missing; ${HINTS.tokenizer}`));
    }
  }

  if (problems.length > 0 || !textEncoder || !unet || !vaeDecoder || !scheduler || !tokenizer) throw new ModelFolderError(dir, problems);
  return {
    dir,
    className,
    ...(diffusersVersion !== undefined ? { diffusersVersion } : {}),
    components,
    modelIndex,
    tokenizer,
    textEncoder,
    unet,
    vaeDecoder,
    ...(vaeEncoder ? { vaeEncoder } : {}),
    scheduler,
    vae,
  };
}

function size(bytes: number): string {
  if (bytes >= 1024 ** 3) return `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
  if (bytes >= 1024 ** 2) return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${bytes} B`;
}

/** One line: "OnnxStableDiffusionPipeline (/models/sd): text_encoder 470.0 MiB, unet 1.6 GiB (+ weights.pb), ..." */
export function describeModelFolder(f: ModelFolder): string {
  const part = (c: OnnxComponent): string =>
    `${c.name} ${size(c.bytes + c.externalBytes)}${c.externalData.length > 0 ? ` (+ ${c.externalData.map((p) => p.slice(c.dir.length + 1)).join(', ')})` : ''}`;
  const parts = [f.textEncoder, f.unet, f.vaeDecoder, ...(f.vaeEncoder ? [f.vaeEncoder] : [])].map(part);
  const sched = `${f.scheduler.config._class_name ?? 'scheduler'} (${f.scheduler.config.num_train_timesteps} steps)`;
  const vae = [
    f.vae.latentChannels !== undefined ? `${f.vae.latentChannels} latent channels` : '',
    f.vae.scalingFactor !== undefined ? `scaling ${f.vae.scalingFactor}` : '',
  ].filter((s) => s !== '');
  return `${f.className} (${f.dir}): ${parts.join(', ')}, ${sched}${vae.length > 0 ? `, ${vae.join(', ')}` : ''}`;
}
