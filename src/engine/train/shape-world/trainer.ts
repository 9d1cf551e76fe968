/**
 * Training of the bundled Shape World latent diffusion model, in two stages:
 *
 *   vae   encoder + decoder on reconstruction MSE + klWeight * KL (graphs.ts)
 *   unet  text encoder + UNet on epsilon-prediction MSE, latents from the trained (EMA) VAE encoder
 *         scaled by scaling_factor = 1 / std(latents), captions dropped to "" with cfgDropout
 *
 * Each step: a deterministic batch (data.ts), one run of the differentiated training graph (the
 * current weights are fed as inputs), gradient clipping (global norm), AdamW with linear warmup +
 * cosine decay, an EMA of the weights (used for export). `runTraining` drives the loop: NaN guard,
 * periodic atomic checkpoints, a checkpoint on abort, exact resume.
 *
 * Output folder layout (`out`):
 *   run.json                       seed + the four configs (fixed at the first run)
 *   graphs/<stage>-<hash>.onnx     cached training graphs
 *   vae/checkpoint-<step>.safetensors, vae/losses.csv, vae/latent-stats.json (scaling_factor)
 *   unet/checkpoint-<step>.safetensors, unet/losses.csv
 *   model/                         exported diffusers ONNX folder (EMA weights) + tokenizer/
 */
import { existsSync, readFileSync, appendFileSync, mkdirSync, cpSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DDIMScheduler } from '../../diffusion/ddim.ts';
import { loadTokenizer, type PromptTokenizer } from '../../model/tokenizer.ts';
import { buildShapeWorld, shapeWorldConfigs, writeModelFolder, type ShapeWorldConfigs, type ShapeWorldConfigsInput, type ShapeWorldModels } from '../../nets/index.ts';
import type { ModelProto } from '../../onnx/model.ts';
import { createSession, SessionManager, type Session, type SessionOptions } from '../../onnx/session.ts';
import { writeFileAtomic, writeFileAtomicSync } from '../../util/fs.ts';
import { CheckpointManager, type Checkpoint } from '../checkpoint.ts';
import { clipGradNorm } from '../clip.ts';
import { EMA } from '../ema.ts';
import { runTraining } from '../loop.ts';
import { AdamW } from '../optim.ts';
import { CosineSchedule, WarmupSchedule } from '../schedule.ts';
import type { JsonObject, TensorMap } from '../types.ts';
import { addNoiseBatch, diffusionInputs, imageBatch, p2TimestepCdf, vaeNoise, type TimestepSampling } from './data.ts';
import { trainingGraph, type StageKind } from './graphs.ts';
import { modelWeights, pickWeights, weightFeeds, withWeights, type WeightSet } from './weights.ts';

export type { StageKind } from './graphs.ts';

/** Hyper-parameters of one stage. */
export interface StageRecipe {
  steps: number;
  batch: number;
  /** Peak learning rate (after warmup). */
  lr: number;
  warmupSteps: number;
  /** Cosine floor as a fraction of lr. */
  minLrFactor: number;
  weightDecay: number;
  /** Maximum EMA decay (diffusers-style warmup (1+s)/(10+s) below it). */
  emaDecay: number;
  /** Global gradient-norm clip. */
  clip: number;
}

/**
 * The recommended recipe, sized for about 3 hours on 2 CPU cores (VAE ~0.6 h, UNet ~2 h measured on a
 * quiet machine); see resources/models/shape-world/TRAINING.md for the measurements.
 */
export const DEFAULT_RECIPE: Record<StageKind, StageRecipe> = {
  vae: { steps: 2000, batch: 8, lr: 1e-3, warmupSteps: 100, minLrFactor: 0.1, weightDecay: 0.01, emaDecay: 0.999, clip: 1 },
  unet: { steps: 15000, batch: 8, lr: 5e-4, warmupSteps: 200, minLrFactor: 0.1, weightDecay: 0.01, emaDecay: 0.999, clip: 1 },
};
/**
 * Timestep sampling of a new UNet run: P2 (see TimestepSampling in data.ts). With uniform timesteps
 * the shipped run drew clean shapes but ignored the caption after 4,365 steps; switched to P2 it
 * followed single-object prompts within ~2,000 more (TRAINING.md).
 */
export const DEFAULT_TIMESTEP_SAMPLING = 'p2' as const;
/** KL weight per latent element, relative to the per-pixel MSE. */
export const DEFAULT_KL_WEIGHT = 1e-5;
/** Fraction of captions replaced by "" in the UNet stage (classifier-free guidance). */
export const DEFAULT_CFG_DROPOUT = 0.1;
/** Images encoded to estimate the latent std (scaling_factor). */
export const DEFAULT_SCALING_SAMPLES = 512;

export const DEFAULT_TOKENIZER_DIR = fileURLToPath(new URL('../../../../resources/models/shape-world/tokenizer', import.meta.url));

export class TrainSetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TrainSetupError';
  }
}

export interface StepProgress {
  stage: StageKind;
  completed: number;
  total: number;
  loss: number;
  /** VAE stage: reconstruction MSE and KL (per element). */
  mse?: number;
  kl?: number;
  gradNorm?: number;
  lr: number;
  /** Wall seconds of this step. */
  seconds: number;
  checkpoint?: string;
}

export interface TrainStageOptions extends Partial<StageRecipe> {
  out: string;
  stage: StageKind;
  /** Continue from the newest checkpoint of the stage (a fresh start when there is none). */
  resume?: boolean;
  /** Seed of the initial weights and of all data randomness. Default 0 (fixed in run.json). */
  seed?: number;
  /** Model configs for a new run (fixed in run.json). Default: the shipped configs. */
  configs?: ShapeWorldConfigsInput;
  klWeight?: number;
  cfgDropout?: number;
  /**
   * UNet stage: how timesteps are drawn (see TimestepSampling in data.ts). Default: the
   * checkpoint's, else DEFAULT_TIMESTEP_SAMPLING for a new run. Switching a resumed uniform run to
   * 'p2' applies from its next step.
   */
  timestepSampling?: 'uniform' | 'p2';
  /** gamma of the P2 weighting (default 1). */
  p2Gamma?: number;
  /**
   * Stop (with a checkpoint) once this many steps are done, before the schedule's end; a later
   * `resume` continues on the same schedule. Lets a recipe switch settings at a given step.
   */
  until?: number;
  checkpointEvery?: number;
  keepCheckpoints?: number;
  tokenizerDir?: string;
  /** onnxruntime intra-op threads (default: onnxruntime's choice). */
  threads?: number;
  /** Use the batch (and noise) of step 0 at every step (tests: loss on a fixed batch). */
  fixedBatch?: boolean;
  /** Write `out/model` when the stage completes. Default true. */
  exportAtEnd?: boolean;
  scalingSamples?: number;
  /** Folder of cached training graphs. Default `out/graphs`. */
  graphCacheDir?: string;
  signal?: AbortSignal;
  onProgress?: (p: StepProgress) => void;
  log?: (line: string) => void;
}

export interface TrainStageResult {
  stage: StageKind;
  startStep: number;
  completed: number;
  total: number;
  aborted: boolean;
  /** Loss of every step run in this call. */
  losses: number[];
  lastCheckpoint: string | null;
  /** Mean seconds per step, first step of the call excluded (session warm-up). */
  secondsPerStep: number | null;
  exported?: string;
  scalingFactor?: number;
}

interface RunInfo {
  seed: number;
  configs: ShapeWorldConfigs;
}

const RUN_FORMAT = 'steer-studio/shape-world-train';

/**
 * Sessions of the training graphs, cached by content for the life of the process: a resumed or
 * repeated stage in the same process (tests, both stages in one command) skips the 1-3 s session
 * creation. `releaseTrainingSessions()` frees them.
 */
const trainingSessions = new SessionManager();

export async function releaseTrainingSessions(): Promise<void> {
  await trainingSessions.dispose();
}

/** JSON with object keys sorted (order-independent comparison). */
function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

function deepEqualJson(a: unknown, b: unknown): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

/** Reads out/run.json, or creates it from the options. */
export function openRun(out: string, opts: { seed?: number; configs?: ShapeWorldConfigsInput } = {}): RunInfo {
  const file = join(out, 'run.json');
  if (existsSync(file)) {
    const raw = JSON.parse(readFileSync(file, 'utf8')) as { format?: string; seed?: number; configs?: ShapeWorldConfigsInput };
    if (raw.format !== RUN_FORMAT) throw new TrainSetupError(`${file}: not a Shape World training run (format ${JSON.stringify(raw.format)})`);
    const configs = shapeWorldConfigs(raw.configs ?? {});
    const seed = raw.seed ?? 0;
    if (opts.seed !== undefined && opts.seed !== seed) throw new TrainSetupError(`${file} was started with seed ${seed}, not ${opts.seed}; use another --out folder`);
    if (opts.configs !== undefined && !deepEqualJson(shapeWorldConfigs(opts.configs), configs)) throw new TrainSetupError(`${file} was started with other model configs; use another --out folder`);
    return { seed, configs };
  }
  const info: RunInfo = { seed: opts.seed ?? 0, configs: shapeWorldConfigs(opts.configs ?? {}) };
  mkdirSync(out, { recursive: true });
  writeFileAtomicSync(file, `${JSON.stringify({ format: RUN_FORMAT, version: 1, seed: info.seed, configs: info.configs }, null, 2)}\n`);
  return info;
}

function checkpointManager(out: string, stage: StageKind, keep = 2): CheckpointManager {
  return new CheckpointManager({ dir: join(out, stage), prefix: 'checkpoint', keep });
}

/** Newest checkpoint of a stage, or null. */
export async function latestCheckpoint(out: string, stage: StageKind): Promise<Checkpoint | null> {
  return (await checkpointManager(out, stage).latestReadable())?.checkpoint ?? null;
}

function sessionOptions(threads?: number): SessionOptions {
  return threads ? { intraOpNumThreads: threads, interOpNumThreads: 1 } : {};
}

function loadStageTokenizer(dir: string, configs: ShapeWorldConfigs): PromptTokenizer {
  const tok = loadTokenizer(dir, { idsType: 'int64' });
  const L = configs.textEncoder.max_position_embeddings;
  if (tok.maxLength !== L) throw new TrainSetupError(`tokenizer ${dir} pads to ${tok.maxLength} ids, the text encoder takes ${L}`);
  if (tok.vocabSize > configs.textEncoder.vocab_size) throw new TrainSetupError(`tokenizer ${dir} has ${tok.vocabSize} ids, the text encoder's vocab_size is ${configs.textEncoder.vocab_size}`);
  return tok;
}

export interface LatentStats {
  scaling_factor: number;
  mean: number;
  std: number;
  samples: number;
  vae_step: number;
}

/** Encodes `samples` training images with the given encoder and returns 1/std of the latents. */
export async function computeLatentStats(encoder: ModelProto, opts: { seed: number; size: number; samples: number; batch?: number; threads?: number; vaeStep: number }): Promise<LatentStats> {
  const session = await createSession(encoder, sessionOptions(opts.threads));
  const B = opts.batch ?? 16;
  let n = 0;
  let sum = 0;
  let sumSq = 0;
  try {
    for (let step = 0; step * B < opts.samples; step++) {
      const batch = Math.min(B, opts.samples - step * B);
      // Items are those of the training steps with batch B (the first samples/B batches).
      const { images } = imageBatch({ seed: opts.seed, batch: B, size: opts.size }, step);
      const x = images.subarray(0, batch * 3 * opts.size * opts.size);
      const res = await session.run({ sample: { data: x, dims: [batch, 3, opts.size, opts.size] } }, ['latent_sample']);
      for (const v of res.latent_sample!.data as Float32Array) {
        sum += v;
        sumSq += v * v;
        n++;
      }
    }
  } finally {
    await session.release();
  }
  const mean = sum / n;
  const std = Math.sqrt(Math.max(sumSq / n - mean * mean, 1e-12));
  return { scaling_factor: 1 / std, mean, std, samples: opts.samples, vae_step: opts.vaeStep };
}

function readLatentStats(out: string): LatentStats | null {
  const file = join(out, 'vae', 'latent-stats.json');
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as LatentStats) : null;
}

/** EMA weights of a checkpoint (the weights themselves when it has no EMA). */
function emaOf(ckpt: Checkpoint): TensorMap {
  return ckpt.ema && ckpt.ema.tensors.size > 0 ? ckpt.ema.tensors : ckpt.weights;
}

/** Computes and writes vae/latent-stats.json from the newest VAE checkpoint's EMA encoder. */
export async function updateLatentStats(out: string, opts: { samples?: number; threads?: number; log?: (s: string) => void } = {}): Promise<LatentStats> {
  const run = openRun(out);
  const ckpt = await latestCheckpoint(out, 'vae');
  if (!ckpt) throw new TrainSetupError(`${join(out, 'vae')}: no VAE checkpoint; train the vae stage first`);
  const { models } = buildShapeWorld(run.configs, run.seed);
  const encoder = withWeights(models.vaeEncoder, pickWeights(models.vaeEncoder, emaOf(ckpt), 'VAE encoder'));
  const stats = await computeLatentStats(encoder, { seed: run.seed, size: run.configs.vae.sample_size, samples: opts.samples ?? DEFAULT_SCALING_SAMPLES, threads: opts.threads, vaeStep: ckpt.step });
  await writeFileAtomic(join(out, 'vae', 'latent-stats.json'), `${JSON.stringify(stats, null, 2)}\n`);
  opts.log?.(`latents of ${stats.samples} images: mean ${stats.mean.toFixed(4)}, std ${stats.std.toFixed(4)} -> scaling_factor ${stats.scaling_factor.toFixed(5)}`);
  return stats;
}

/**
 * Reconstruction MSE (pixel values in [-1, 1]) of the newest VAE checkpoint's EMA weights on
 * `samples` images of the dataset's 'test' split, decoding the posterior mean.
 */
export async function evaluateVae(out: string, opts: { samples?: number; threads?: number } = {}): Promise<{ mse: number; samples: number; vaeStep: number }> {
  const run = openRun(out);
  const ckpt = await latestCheckpoint(out, 'vae');
  if (!ckpt) throw new TrainSetupError(`${join(out, 'vae')}: no VAE checkpoint`);
  const { models } = buildShapeWorld(run.configs, run.seed);
  const ema = emaOf(ckpt);
  const enc = await createSession(withWeights(models.vaeEncoder, pickWeights(models.vaeEncoder, ema, 'VAE encoder')), sessionOptions(opts.threads));
  const dec = await createSession(withWeights(models.vaeDecoder, pickWeights(models.vaeDecoder, ema, 'VAE decoder')), sessionOptions(opts.threads));
  const size = run.configs.vae.sample_size;
  const samples = opts.samples ?? 64;
  const B = 16;
  let sum = 0;
  let n = 0;
  try {
    for (let step = 0; step * B < samples; step++) {
      const batch = Math.min(B, samples - step * B);
      const { images } = imageBatch({ seed: run.seed, split: 'test', batch: B, size }, step);
      const x = images.subarray(0, batch * 3 * size * size);
      const z = (await enc.run({ sample: { data: x, dims: [batch, 3, size, size] } }, ['latent_sample'])).latent_sample!;
      const y = (await dec.run({ latent_sample: z })).sample!.data as Float32Array;
      for (let i = 0; i < x.length; i++) {
        const d = y[i]! - x[i]!;
        sum += d * d;
      }
      n += x.length;
    }
  } finally {
    await enc.release();
    await dec.release();
  }
  return { mse: sum / n, samples, vaeStep: ckpt.step };
}

/**
 * Writes `out/model` (diffusers ONNX layout) from the EMA weights of the newest checkpoint of each
 * stage (initial weights for a stage not trained yet), with vae scaling_factor from
 * vae/latent-stats.json, and copies the tokenizer next to it. Returns the folder.
 */
export async function exportShapeWorld(out: string, opts: { dir?: string; tokenizerDir?: string; log?: (s: string) => void } = {}): Promise<string> {
  const run = openRun(out);
  const { models } = buildShapeWorld(run.configs, run.seed);
  const vae = await latestCheckpoint(out, 'vae');
  const unet = await latestCheckpoint(out, 'unet');
  const stats = readLatentStats(out);
  const pick = (m: ModelProto, ck: Checkpoint | null, what: string) => (ck ? withWeights(m, pickWeights(m, emaOf(ck), what)) : m);
  const trained: ShapeWorldModels = {
    vaeEncoder: pick(models.vaeEncoder, vae, 'VAE encoder'),
    vaeDecoder: pick(models.vaeDecoder, vae, 'VAE decoder'),
    textEncoder: pick(models.textEncoder, unet, 'text encoder'),
    unet: pick(models.unet, unet, 'UNet'),
  };
  const scaling = stats?.scaling_factor ?? run.configs.vae.scaling_factor;
  const configs: ShapeWorldConfigs = { ...run.configs, vae: { ...run.configs.vae, scaling_factor: scaling } };
  const dir = opts.dir ?? join(out, 'model');
  const training: JsonObject = {
    seed: run.seed,
    vae_steps: vae?.step ?? 0,
    unet_steps: unet?.step ?? 0,
    vae_batch: (vae?.metadata?.batch as number | undefined) ?? null,
    unet_batch: (unet?.metadata?.batch as number | undefined) ?? null,
    scaling_factor: scaling,
    weights: 'EMA',
  };
  if (vae) {
    const ev = await evaluateVae(out, { samples: 64 });
    training.vae_test_mse = ev.mse;
    opts.log?.(`VAE (EMA, step ${ev.vaeStep}) reconstruction MSE on ${ev.samples} test images: ${ev.mse.toFixed(5)}`);
  }
  await writeModelFolder(dir, trained, configs, { extraIndex: { _shape_world_training: training } });
  const tokDir = opts.tokenizerDir ?? DEFAULT_TOKENIZER_DIR;
  if (existsSync(tokDir)) cpSync(tokDir, join(dir, 'tokenizer'), { recursive: true });
  opts.log?.(`exported ${dir} (vae step ${training.vae_steps}, unet step ${training.unet_steps}, scaling_factor ${scaling.toFixed(5)})`);
  return dir;
}

/** Rewrites a losses.csv keeping the header and rows of steps < `before` (a resumed run's rows follow). */
function truncateCsv(file: string, header: string, before: number): void {
  let rows: string[] = [];
  if (existsSync(file)) {
    rows = readFileSync(file, 'utf8')
      .split('\n')
      .slice(1)
      .filter((l) => l.trim() !== '' && Number(l.split(',')[0]) < before);
  }
  writeFileAtomicSync(file, `${[header, ...rows].join('\n')}\n`);
}

function hyperOf(ckpt: Checkpoint | null): Partial<StageRecipe> & { klWeight?: number; cfgDropout?: number; timestepSampling?: TimestepSampling } {
  const m = ckpt?.metadata;
  if (!m) return {};
  const num = (k: string) => (typeof m[k] === 'number' ? (m[k] as number) : undefined);
  const sampling: TimestepSampling | undefined =
    m.timestep_sampling === 'p2' ? { kind: 'p2', gamma: num('p2_gamma') ?? 1, from: num('timestep_sampling_from') ?? 0 } : m.timestep_sampling === 'uniform' || m.stage === 'unet' ? { kind: 'uniform' } : undefined;
  return {
    timestepSampling: sampling,
    batch: num('batch'),
    lr: num('lr'),
    warmupSteps: num('warmup_steps'),
    minLrFactor: num('min_lr_factor'),
    weightDecay: num('weight_decay'),
    emaDecay: num('ema_decay'),
    clip: num('clip'),
    steps: num('total_steps'),
    klWeight: num('kl_weight'),
    cfgDropout: num('cfg_dropout'),
  };
}

/**
 * The timestep sampling of this call: the option, else the checkpoint's, else the default for a new
 * run (uniform for a resumed checkpoint that predates the option). A uniform
 * run may switch to P2 once (from its next step, recorded so a resume replays it exactly); any
 * other change would make earlier steps unreproducible and is refused.
 */
function pickTimestepSampling(
  saved: TimestepSampling | undefined,
  opts: Pick<TrainStageOptions, 'timestepSampling' | 'p2Gamma'>,
  startStep: number,
  latestPath: string | null,
  log: (line: string) => void,
): TimestepSampling {
  const kind = opts.timestepSampling ?? saved?.kind ?? (startStep === 0 ? DEFAULT_TIMESTEP_SAMPLING : 'uniform');
  if (opts.p2Gamma !== undefined && !(Number.isFinite(opts.p2Gamma) && opts.p2Gamma >= 0)) throw new TrainSetupError(`p2 gamma must be a number >= 0, got ${opts.p2Gamma}`);
  if (kind === 'uniform') {
    if (saved?.kind === 'p2') throw new TrainSetupError(`${latestPath} draws timesteps with p2 (gamma ${saved.gamma}) since step ${saved.from}; an exact resume cannot switch back to uniform`);
    return { kind: 'uniform' };
  }
  const gamma = opts.p2Gamma ?? (saved?.kind === 'p2' ? saved.gamma : 1);
  if (saved?.kind === 'p2') {
    if (saved.gamma !== gamma) throw new TrainSetupError(`${latestPath} draws timesteps with p2 gamma ${saved.gamma}; an exact resume needs the same gamma (got ${gamma})`);
    return saved;
  }
  if (startStep > 0) log(`note: timesteps are drawn with p2 weighting (gamma ${gamma}) from step ${startStep} on; steps before it stay uniform`);
  return { kind: 'p2', gamma, from: startStep };
}

/** No weight decay on biases and 1-D parameters (norm scales). */
function noDecay(shapes: Map<string, number[]>): (name: string) => boolean {
  return (name) => name.endsWith('.bias') || (shapes.get(name)?.length ?? 1) <= 1;
}

/** A run folder to --resume: it exists and holds run.json (a mistyped folder is not a fresh run). */
export function assertResumable(out: string): void {
  if (existsSync(join(out, 'run.json'))) return;
  throw new TrainSetupError(`--resume: ${out} ${existsSync(out) ? 'has no run.json, so it is not a training run' : 'does not exist'}; check the --out folder (without --resume a new run starts there)`);
}

/** Trains one stage (see the module comment). */
export async function trainStage(opts: TrainStageOptions): Promise<TrainStageResult> {
  const out = resolve(opts.out);
  const stage = opts.stage;
  const log = opts.log ?? (() => undefined);
  if (opts.resume) assertResumable(out);
  const run = openRun(out, { seed: opts.seed, configs: opts.configs });
  const { seed, configs } = run;
  const mgr = checkpointManager(out, stage, opts.keepCheckpoints ?? 2);
  if (!opts.resume && (await mgr.latest())) throw new TrainSetupError(`${join(out, stage)} already has checkpoints (${await mgr.latest()}); pass --resume to continue, or use another --out folder`);
  const readable = await mgr.latestReadable();
  for (const bad of readable?.skipped ?? []) log(`warning: ${bad.reason}; renamed it to ${basename(bad.path)}.corrupt and resumed from the previous checkpoint`);
  const latestPath = readable?.path ?? null;
  const ckpt = readable?.checkpoint ?? null;
  if (ckpt?.metadata?.stage !== undefined && ckpt.metadata.stage !== stage) throw new TrainSetupError(`${latestPath} is a ${String(ckpt.metadata.stage)} checkpoint`);

  // Hyper-parameters: explicit options > the checkpoint's > the default recipe.
  const saved = hyperOf(ckpt);
  const pickOpt = <K extends keyof StageRecipe>(k: K): StageRecipe[K] => (opts[k] ?? saved[k] ?? DEFAULT_RECIPE[stage][k]) as StageRecipe[K];
  const recipe: StageRecipe = {
    steps: pickOpt('steps'),
    batch: pickOpt('batch'),
    lr: pickOpt('lr'),
    warmupSteps: pickOpt('warmupSteps'),
    minLrFactor: pickOpt('minLrFactor'),
    weightDecay: pickOpt('weightDecay'),
    emaDecay: pickOpt('emaDecay'),
    clip: pickOpt('clip'),
  };
  const klWeight = opts.klWeight ?? saved.klWeight ?? DEFAULT_KL_WEIGHT;
  const cfgDropout = opts.cfgDropout ?? saved.cfgDropout ?? DEFAULT_CFG_DROPOUT;
  if (ckpt) {
    const changed: string[] = [];
    for (const k of ['batch', 'lr', 'warmupSteps', 'minLrFactor', 'weightDecay', 'emaDecay', 'clip'] as const) {
      if (saved[k] !== undefined && saved[k] !== recipe[k]) changed.push(`${k} ${saved[k]} -> ${recipe[k]}`);
    }
    if (stage === 'vae' && saved.klWeight !== undefined && saved.klWeight !== klWeight) changed.push(`klWeight ${saved.klWeight} -> ${klWeight}`);
    if (stage === 'unet' && saved.cfgDropout !== undefined && saved.cfgDropout !== cfgDropout) changed.push(`cfgDropout ${saved.cfgDropout} -> ${cfgDropout}`);
    if (changed.length > 0) throw new TrainSetupError(`${latestPath} was trained with other settings (${changed.join(', ')}); an exact resume needs the same ones`);
    if (saved.steps !== undefined && saved.steps !== recipe.steps) log(`note: total steps ${saved.steps} -> ${recipe.steps}: the cosine schedule is stretched from here on`);
  }
  const timestepSampling = pickTimestepSampling(saved.timestepSampling, opts, ckpt?.step ?? 0, latestPath, log);
  if (!Number.isInteger(recipe.steps) || recipe.steps < 1) throw new TrainSetupError(`steps must be an integer >= 1, got ${recipe.steps}`);
  if (!Number.isInteger(recipe.batch) || recipe.batch < 1) throw new TrainSetupError(`batch must be an integer >= 1, got ${recipe.batch}`);
  const startStep = ckpt?.step ?? 0;
  if (opts.until !== undefined && !(Number.isInteger(opts.until) && opts.until > startStep)) throw new TrainSetupError(`until must be an integer step after the current one (${startStep}), got ${opts.until}`);
  const endStep = Math.min(Math.max(recipe.steps, startStep), opts.until ?? Infinity);
  const B = recipe.batch;

  // Models, weights, training graph.
  const { models } = buildShapeWorld(configs, seed);
  const components = stage === 'vae' ? ([models.vaeEncoder, models.vaeDecoder] as const) : ([models.textEncoder, models.unet] as const);
  const init = modelWeights(components);
  const state: WeightSet = { weights: ckpt ? new Map() : init.weights, shapes: init.shapes };
  if (ckpt) {
    for (const [name, w] of init.weights) {
      const saved = ckpt.weights.get(name);
      if (!saved || saved.length !== w.length) throw new TrainSetupError(`${latestPath}: weight '${name}' is missing or has another size`);
      state.weights.set(name, saved);
    }
  }
  const t0 = performance.now();
  const graph = await trainingGraph(stage, components, { klWeight, cacheDir: opts.graphCacheDir ?? join(out, 'graphs') });
  log(`${stage}: training graph ${graph.cached ? 'from cache' : 'built'} (${graph.model.graph!.node.length} nodes, ${graph.wrt.length} weights) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const session = await trainingSessions.get(graph.model, sessionOptions(opts.threads));
  const extraSessions: Session[] = [];

  const schedule = new WarmupSchedule({
    warmupSteps: recipe.warmupSteps,
    inner: new CosineSchedule({ baseLr: recipe.lr, totalSteps: Math.max(1, recipe.steps - recipe.warmupSteps), minLr: recipe.lr * recipe.minLrFactor }),
  });
  const opt = new AdamW({ weightDecay: recipe.weightDecay, noWeightDecay: noDecay(state.shapes) });
  const ema = new EMA(state.weights, { decay: recipe.emaDecay, warmup: 'diffusers' });
  if (ckpt) {
    if (ckpt.optimizer) opt.loadState(ckpt.optimizer);
    if (ckpt.schedule) schedule.loadState(ckpt.schedule);
    if (ckpt.ema) ema.loadState(ckpt.ema);
  }

  // Stage-specific inputs.
  const size = configs.vae.sample_size;
  const lc = configs.vae.latent_channels;
  const ls = configs.unet.sample_size;
  const latentShape = [lc, ls, ls];
  let encoderSession: Session | null = null;
  let tokenizer: PromptTokenizer | null = null;
  let alphasCumprod: Float32Array | null = null;
  let scalingFactor: number | undefined;
  let vaeStep: number | undefined;
  if (stage === 'unet') {
    const vae = await latestCheckpoint(out, 'vae');
    if (!vae) throw new TrainSetupError(`${join(out, 'vae')}: no VAE checkpoint; train the vae stage first (steer train shape-world --stage vae)`);
    vaeStep = vae.step;
    const savedVae = ckpt?.metadata?.vae_step;
    if (typeof savedVae === 'number' && savedVae !== vae.step) log(`warning: this UNet run started on VAE step ${savedVae}, the newest VAE checkpoint is step ${vae.step}`);
    let stats = readLatentStats(out);
    if (!stats || stats.vae_step !== vae.step) stats = await updateLatentStats(out, { threads: opts.threads, log, samples: opts.scalingSamples });
    scalingFactor = typeof ckpt?.metadata?.scaling_factor === 'number' ? ckpt.metadata.scaling_factor : stats.scaling_factor;
    const encoder = withWeights(models.vaeEncoder, pickWeights(models.vaeEncoder, emaOf(vae), 'VAE encoder'));
    encoderSession = await createSession(encoder, sessionOptions(opts.threads));
    extraSessions.push(encoderSession);
    tokenizer = loadStageTokenizer(opts.tokenizerDir ?? DEFAULT_TOKENIZER_DIR, configs);
    alphasCumprod = new DDIMScheduler(configs.scheduler).alphasCumprod;
  }

  const metadata: JsonObject = {
    stage,
    seed,
    batch: B,
    lr: recipe.lr,
    warmup_steps: recipe.warmupSteps,
    min_lr_factor: recipe.minLrFactor,
    weight_decay: recipe.weightDecay,
    ema_decay: recipe.emaDecay,
    clip: recipe.clip,
    total_steps: recipe.steps,
    graph_hash: graph.hash,
    ...(stage === 'vae'
      ? { kl_weight: klWeight }
      : {
          cfg_dropout: cfgDropout,
          scaling_factor: scalingFactor!,
          vae_step: vaeStep!,
          timestep_sampling: timestepSampling.kind,
          ...(timestepSampling.kind === 'p2' ? { p2_gamma: timestepSampling.gamma, timestep_sampling_from: timestepSampling.from } : {}),
        }),
    ...(opts.fixedBatch ? { fixed_batch: true } : {}),
  };

  const csv = join(out, stage, 'losses.csv');
  const header = stage === 'vae' ? 'step,loss,mse,kl,grad_norm,lr,seconds' : 'step,loss,grad_norm,lr,seconds';
  mkdirSync(join(out, stage), { recursive: true });
  truncateCsv(csv, header, startStep);

  let lastInfo: { loss: number; mse?: number; kl?: number; gradNorm: number; lr: number; seconds: number } = { loss: NaN, gradNorm: NaN, lr: 0, seconds: 0 };
  const losses: number[] = [];
  const times: number[] = [];
  const src = { seed, batch: B, size };
  const timestepCdf = stage === 'unet' && timestepSampling.kind === 'p2' ? p2TimestepCdf(alphasCumprod!, timestepSampling.gamma) : undefined;
  const stepFn = async (i: number) => {
    const ts = performance.now();
    const dataStep = opts.fixedBatch ? 0 : i;
    const { images, captions } = imageBatch(src, dataStep);
    let feeds: Record<string, { data: Float32Array | BigInt64Array; dims: readonly number[] }>;
    if (stage === 'vae') {
      feeds = { image: { data: images, dims: [B, 3, size, size] }, eps: { data: vaeNoise(seed, dataStep, [B, ...latentShape]), dims: [B, ...latentShape] } };
    } else {
      const enc = await encoderSession!.run({ sample: { data: images, dims: [B, 3, size, size] } }, ['latent_sample']);
      const z0 = enc.latent_sample!.data as Float32Array;
      for (let k = 0; k < z0.length; k++) z0[k] = Math.fround(z0[k]! * scalingFactor!);
      const cdf = timestepSampling.kind === 'p2' && i >= timestepSampling.from ? timestepCdf : undefined;
      const d = diffusionInputs(seed, dataStep, captions, tokenizer!, { cfgDropout, numTrainTimesteps: alphasCumprod!.length, latentShape, timestepCdf: cdf });
      feeds = {
        input_ids: { data: d.inputIds, dims: [B, tokenizer!.maxLength] },
        sample: { data: addNoiseBatch(alphasCumprod!, z0, d.noise, d.timesteps), dims: [B, ...latentShape] },
        timestep: { data: d.timesteps, dims: [B] },
        target: { data: d.noise, dims: [B, ...latentShape] },
      };
    }
    const res = await session.run({ ...feeds, ...weightFeeds(state) });
    const loss = (res.loss!.data as Float32Array)[0]!;
    const grads: TensorMap = new Map();
    for (const name of graph.wrt) grads.set(name, res[`${name}_grad`]!.data as Float32Array);
    const gradNorm = clipGradNorm(grads, recipe.clip);
    const lr = schedule.lrAt(i);
    if (Number.isFinite(loss) && Number.isFinite(gradNorm)) {
      opt.step(state.weights, grads, lr);
      ema.update(state.weights);
    }
    const seconds = (performance.now() - ts) / 1000;
    losses.push(loss);
    if (i > startStep) times.push(seconds);
    const mse = res.mse ? (res.mse.data as Float32Array)[0] : undefined;
    const kl = res.kl ? (res.kl.data as Float32Array)[0] : undefined;
    const row = stage === 'vae' ? [i, loss, mse, kl, gradNorm, lr, seconds.toFixed(3)] : [i, loss, gradNorm, lr, seconds.toFixed(3)];
    appendFileSync(csv, `${row.join(',')}\n`);
    lastInfo = { loss, mse, kl, gradNorm, lr, seconds };
    return { loss, gradNorm };
  };

  let result;
  try {
    result = await runTraining({
      startStep,
      steps: endStep,
      step: stepFn,
      checkpointEvery: opts.checkpointEvery ?? 100,
      save: (completed) =>
        mgr.save({ step: completed, weights: state.weights, shapes: state.shapes, optimizer: opt.state(), schedule: schedule.state(), ema: ema.state(), metadata }),
      signal: opts.signal,
      lastGoodCheckpoint: latestPath && ckpt ? { step: ckpt.step, path: latestPath } : null,
      onProgress: (p) => opts.onProgress?.({ stage, completed: p.completed, total: p.total, loss: p.loss, mse: lastInfo.mse, kl: lastInfo.kl, gradNorm: p.gradNorm, lr: lastInfo.lr, seconds: lastInfo.seconds, checkpoint: p.checkpoint }),
    });
  } finally {
    for (const s of extraSessions) await s.release();
  }

  const res: TrainStageResult = {
    stage,
    startStep,
    completed: result.completed,
    total: recipe.steps,
    aborted: result.aborted,
    losses,
    lastCheckpoint: result.lastCheckpoint?.path ?? latestPath,
    secondsPerStep: times.length > 0 ? times.reduce((a, b) => a + b, 0) / times.length : null,
    scalingFactor,
  };
  if (!result.aborted && result.completed >= recipe.steps) {
    if (stage === 'vae') res.scalingFactor = (await updateLatentStats(out, { threads: opts.threads, log, samples: opts.scalingSamples })).scaling_factor;
    if (opts.exportAtEnd ?? true) res.exported = await exportShapeWorld(out, { tokenizerDir: opts.tokenizerDir, log });
  }
  return res;
}
