/**
 * Training a relation classifier on a relation dataset (relation-dataset.ts) with the project's
 * autodiff, the authors' recipe: AdamW (lr 1e-4, weight decay 0.05), batch 64 shuffled,
 * ReduceLROnPlateau on validation loss (x0.5, patience 5, min lr 1e-6), early stopping on
 * validation loss (patience 10), at most `maxEpochs`; the kept model is the best-validation one.
 *
 * Checkpoints after every epoch (weights, best weights, optimiser, plateau state, history) in
 * `<out>/checkpoints`; `resume` continues exactly (batch order and dropout masks are functions of
 * (seed, epoch, step)). The result is exported as `<out>/model.onnx` + `<out>/classifier.json`.
 *
 * `positiveOnly` trains on the maps of prompts that state the true relation only (no dual
 * inversion): the leakage ablation. `augment` (not in the authors' recipe, added because our
 * dataset is small): subject/object swap, left-right mirroring, top-bottom flipping and
 * transposition, all exact label transforms (see Augment).
 *
 * Step buckets: `buckets` names the denoising steps the classifier is trained for (its step
 * embedding has one entry per step); they must be recorded by the dataset. A dataset may record
 * more steps than that (e.g. 1,3,5,7,9,10,... for buckets 5,10,...): with `trainSteps: 'all'`
 * each recorded step trains the bucket BUCKET_RULE maps it to, which is the bucket the steering
 * loop reads that step with (steps 0-5 read bucket 5); the default, 'buckets', trains on the
 * bucket steps only, which measured better (resources/classifiers/shape-world-relations/
 * TRAINING.md: it overfits later). Validation (early stopping) and every
 * metric use the samples at the bucket steps themselves, so numbers stay comparable across
 * datasets; `test-every-step` adds the test samples of every recorded step.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Relation } from '../eval/geneval.ts';
import { differentiate } from '../onnx/autodiff/index.ts';
import { serializeModel } from '../onnx/model.ts';
import { SessionManager, type HostTensor, type Session } from '../onnx/session.ts';
import { CheckpointManager, loadCheckpoint } from '../train/checkpoint.ts';
import { AdamW } from '../train/optim.ts';
import { ReduceLROnPlateau } from '../train/schedule.ts';
import { modelWeights, withWeights } from '../train/shape-world/weights.ts';
import type { JsonObject, TensorMap } from '../train/types.ts';
import { writeFileAtomic } from '../util/fs.ts';
import { lockFolder } from '../util/lock.ts';
import { yieldToEventLoop } from '../util/yield.ts';
import { derive, Rng } from '../world/rng.ts';
import { recordedPath } from './artefact.ts';
import { specHash } from './attention.ts';
import { BUCKET_RULE, bucketFor, CLASSIFIER_FORMAT, CLASSIFIER_VERSION, type ClassifierInfo, type ClassifierMetrics } from './classifier.ts';
import { buildClassifier, classifierSymmetry, DEFAULT_CLASSIFIER_CONFIG, type ClassifierConfig } from './classifier-net.ts';
import { AUGMENT_NAMES, augmentLabel, augmentText, NO_TRANSFORM, pixelPermutation, transformCombos, type Augment } from './map-transforms.ts';
import { loadRelationDataset, type DatasetSplit, type LoadedDataset, type SampleMeta } from './relation-dataset.ts';

export interface ClassifierRecipe {
  seed: number;
  batch: number;
  lr: number;
  weightDecay: number;
  maxEpochs: number;
  earlyStopPatience: number;
  plateau: { factor: number; patience: number; minLr: number };
  evalBatch: number;
  positiveOnly: boolean;
  /** The classifier's trained steps (one bucket each), a subset of the dataset's recorded steps; null: every recorded step. */
  buckets: number[] | null;
  /** 'all': every recorded step trains, into its bucket by BUCKET_RULE; 'buckets': only samples at the bucket steps (the authors' recipe). */
  trainSteps: 'all' | 'buckets';
  /** Training-time transforms (see Augment), each applied with probability 1/2. */
  augment: Augment;
  /**
   * Test-time symmetry built into the exported graph (and used for validation): it averages the
   * log-probabilities over every combination of these transforms (classifier-net.ts, `symmetry`).
   */
  symmetry: Augment;
  model: Omit<ClassifierConfig, 'channels' | 'size' | 'classes' | 'buckets'>;
}

export const DEFAULT_CLASSIFIER_RECIPE: ClassifierRecipe = {
  seed: 0,
  batch: 64,
  lr: 1e-4,
  weightDecay: 0.05,
  maxEpochs: 100,
  earlyStopPatience: 10,
  plateau: { factor: 0.5, patience: 5, minLr: 1e-6 },
  evalBatch: 256,
  positiveOnly: false,
  buckets: null,
  trainSteps: 'buckets',
  // all four transforms, in training and built into the export: measured best on the shipped
  // dataset (resources/classifiers/shape-world-relations/TRAINING.md)
  augment: { swap: true, mirror: true, flip: true, transpose: true },
  symmetry: { swap: true, mirror: true, flip: true, transpose: true },
  model: DEFAULT_CLASSIFIER_CONFIG,
};

export class ClassifierTrainError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ClassifierTrainError';
  }
}

export interface EpochProgress {
  epoch: number;
  maxEpochs: number;
  step: number;
  stepsPerEpoch: number;
  trainLoss: number;
  lr: number;
  val?: { loss: number; accuracy: number };
}

export interface TrainClassifierOptions {
  data: string | LoadedDataset;
  out: string;
  name?: string;
  resume?: boolean;
  recipe?: Partial<ClassifierRecipe>;
  threads?: number;
  signal?: AbortSignal;
  onProgress?: (p: EpochProgress) => void;
  log?: (line: string) => void;
}

export interface TrainClassifierResult {
  dir: string;
  info: ClassifierInfo;
  epochs: number;
  bestEpoch: number;
  seconds: number;
  stoppedEarly: boolean;
}

/**
 * Sample indices per split: train/val restricted to positive prompts when positiveOnly; val, test
 * and unseen to the bucket steps (`buckets`, when given); train too when trainSteps is 'buckets'.
 */
export function splitIndices(meta: readonly SampleMeta[], positiveOnly: boolean, steps?: { buckets: readonly number[]; trainSteps: 'all' | 'buckets' }): Record<DatasetSplit, number[]> {
  const out: Record<DatasetSplit, number[]> = { train: [], val: [], test: [], unseen: [] };
  const atBucket = steps ? new Set(steps.buckets) : null;
  meta.forEach((m, i) => {
    if (positiveOnly && m.kind !== 'pos' && (m.split === 'train' || m.split === 'val')) return;
    if (atBucket && !atBucket.has(m.step) && (m.split !== 'train' || steps!.trainSteps === 'buckets')) return;
    out[m.split].push(i);
  });
  return out;
}

/** The classifier's buckets for a dataset: `buckets` checked against the recorded steps, or every recorded step. */
export function classifierBuckets(buckets: readonly number[] | null | undefined, record: readonly number[]): number[] {
  if (buckets == null) return [...record];
  if (buckets.length === 0) throw new ClassifierTrainError('buckets: at least one step is needed');
  buckets.forEach((b, k) => {
    if (!Number.isInteger(b) || (k > 0 && b <= buckets[k - 1]!)) throw new ClassifierTrainError(`buckets: steps must be ascending integers, got ${buckets.join(',')}`);
    if (!record.includes(b)) throw new ClassifierTrainError(`buckets: step ${b} is not recorded by the dataset (it records ${record.join(',')})`);
  });
  return [...buckets];
}

function shuffled(idx: readonly number[], seed: number): number[] {
  const a = [...idx];
  const rng = new Rng(seed);
  for (let i = a.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

interface Batch {
  maps: HostTensor;
  bucket: HostTensor;
  target: HostTensor;
  labels: number[];
}

/** Parses a comma list of transform names (or 'none'); `where` names the option or param in errors. */
export function parseAugment(text: string, where: string): Augment {
  const names = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const out: Augment = { ...NO_TRANSFORM };
  if (names.length === 1 && names[0] === 'none') return out;
  if (names.length === 0) throw new ClassifierTrainError(`${where}: give a comma list of ${AUGMENT_NAMES.join(', ')}, or none`);
  for (const n of names) {
    if (!(AUGMENT_NAMES as readonly string[]).includes(n)) throw new ClassifierTrainError(`${where}: unknown transform '${n}' (known: ${AUGMENT_NAMES.join(', ')}, or none)`);
    out[n as keyof Augment] = true;
  }
  return out;
}

/** A batch of samples; each sample's step goes to its bucket of `buckets` (default: the recorded steps) by BUCKET_RULE. */
export function makeBatch(ds: LoadedDataset, idx: readonly number[], classes: readonly Relation[], augment?: (i: number) => Augment, buckets: readonly number[] = ds.manifest.recipe.record): Batch {
  const n = ds.sampleSize;
  const [, C, S] = ds.manifest.sampleShape;
  const per = n / 2;
  const maps = new Float32Array(idx.length * n);
  const K = classes.length;
  const target = new Float32Array(idx.length * K);
  const bucket = new BigInt64Array(idx.length);
  const labels: number[] = [];
  // perms[key][p]: the source pixel of output pixel p = y * S + x under (mirror, flip, transpose)
  const perms = new Map<number, Int32Array>();
  const permFor = (a: Augment): Int32Array => {
    const key = (a.mirror ? 1 : 0) | (a.flip ? 2 : 0) | (a.transpose ? 4 : 0);
    if (!perms.has(key)) perms.set(key, pixelPermutation(a, S));
    return perms.get(key)!;
  };
  idx.forEach((s, i) => {
    const src = ds.maps.subarray(s * n, (s + 1) * n);
    const m = ds.meta[s]!;
    const a = augment?.(i);
    const label = a ? augmentLabel(m.label, a) : m.label;
    const spatial = a !== undefined && (a.mirror || a.flip || a.transpose);
    if (!a || (!a.swap && !spatial)) maps.set(src, i * n);
    else {
      const perm = spatial ? permFor(a) : null;
      for (let obj = 0; obj < 2; obj++) {
        const from = (a.swap ? 1 - obj : obj) * per;
        const to = i * n + obj * per;
        if (!perm) maps.set(src.subarray(from, from + per), to);
        else {
          for (let c = 0; c < C; c++) {
            const base = from + c * S * S;
            const out = to + c * S * S;
            for (let p = 0; p < S * S; p++) maps[out + p] = src[base + perm[p]!]!;
          }
        }
      }
    }
    const y = classes.indexOf(label);
    labels.push(y);
    target[i * K + y] = 1;
    bucket[i] = BigInt(bucketFor(buckets, m.step));
  });
  return { maps: { data: maps, dims: [idx.length, 2, C, S, S] }, bucket: { data: bucket, dims: [idx.length] }, target: { data: target, dims: [idx.length, K] }, labels };
}

/** Evaluates weights on samples: loss, accuracy, per class, per bucket (of `buckets`, default the recorded steps), confusion. */
export async function evaluate(session: Session, ds: LoadedDataset, idx: readonly number[], classes: readonly Relation[], batch: number, buckets: readonly number[] = ds.manifest.recipe.record): Promise<ClassifierMetrics> {
  const K = classes.length;
  const confusion = classes.map(() => new Array<number>(K).fill(0));
  const perBucket = buckets.map((step) => ({ step, correct: 0, count: 0 }));
  let loss = 0;
  let correct = 0;
  for (let b = 0; b < idx.length; b += batch) {
    const part = idx.slice(b, b + batch);
    const bt = makeBatch(ds, part, classes, undefined, buckets);
    const out = await session.run({ maps: bt.maps, bucket: bt.bucket }, ['probs']);
    const p = out.probs!.data as Float32Array;
    part.forEach((s, i) => {
      let best = 0;
      for (let k = 1; k < K; k++) if (p[i * K + k]! > p[i * K + best]!) best = k;
      const y = bt.labels[i]!;
      loss -= Math.log(Math.max(1e-12, p[i * K + y]!));
      confusion[y]![best]! += 1;
      const pb = perBucket[bucketFor(buckets, ds.meta[s]!.step)]!;
      pb.count++;
      if (best === y) {
        correct++;
        pb.correct++;
      }
    });
    await yieldToEventLoop();
  }
  const perClass: ClassifierMetrics['perClass'] = {};
  classes.forEach((c, y) => {
    const count = confusion[y]!.reduce((a, v) => a + v, 0);
    perClass[c] = { accuracy: count ? confusion[y]![y]! / count : 0, count };
  });
  const n = Math.max(1, idx.length);
  return { accuracy: correct / n, loss: loss / n, count: idx.length, perClass, perBucket: perBucket.map((b) => ({ step: b.step, accuracy: b.count ? b.correct / b.count : 0, count: b.count })), confusion };
}

function dropMasks(sites: { name: string; dims: (number | 'B')[] }[], B: number, p: number, seed: number): Record<string, HostTensor> {
  const out: Record<string, HostTensor> = {};
  const keep = 1 / (1 - p);
  for (const s of sites) {
    const dims = s.dims.map((d) => (d === 'B' ? B : d));
    const n = dims.reduce((a, b) => a * b, 1);
    const rng = new Rng(derive(seed, s.name));
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = rng.next() < p ? 0 : keep;
    out[s.name] = { data, dims };
  }
  return out;
}

const toJson = (m: TensorMap, prefix: string, into: TensorMap) => {
  for (const [k, v] of m) into.set(prefix + k, v);
};

/** Trains (or resumes) a classifier into `o.out`; the folder is locked while it runs. */
export async function trainClassifier(o: TrainClassifierOptions): Promise<TrainClassifierResult> {
  const lock = lockFolder(resolve(o.out), 'steer train classifier');
  try {
    return await trainLocked(o);
  } finally {
    lock.release();
  }
}

async function trainLocked(o: TrainClassifierOptions): Promise<TrainClassifierResult> {
  const t0 = performance.now();
  const out = resolve(o.out);
  const log = o.log ?? (() => undefined);
  const recipe: ClassifierRecipe = {
    ...DEFAULT_CLASSIFIER_RECIPE,
    ...o.recipe,
    plateau: { ...DEFAULT_CLASSIFIER_RECIPE.plateau, ...o.recipe?.plateau },
    augment: { ...DEFAULT_CLASSIFIER_RECIPE.augment, ...o.recipe?.augment },
    symmetry: { ...DEFAULT_CLASSIFIER_RECIPE.symmetry, ...o.recipe?.symmetry },
    model: { ...DEFAULT_CLASSIFIER_RECIPE.model, ...o.recipe?.model },
  };
  if (!Number.isInteger(recipe.batch) || recipe.batch < 1) throw new ClassifierTrainError(`batch must be a positive integer, got ${recipe.batch}`);
  if (!(recipe.lr > 0)) throw new ClassifierTrainError(`lr must be > 0, got ${recipe.lr}`);
  if (!Number.isInteger(recipe.maxEpochs) || recipe.maxEpochs < 1) throw new ClassifierTrainError(`maxEpochs must be a positive integer, got ${recipe.maxEpochs}`);
  const ds = typeof o.data === 'string' ? loadRelationDataset(o.data) : o.data;
  const dataDir = typeof o.data === 'string' ? resolve(o.data) : '(in memory)';
  const classes = [...ds.manifest.classes];
  if (recipe.trainSteps !== 'all' && recipe.trainSteps !== 'buckets') throw new ClassifierTrainError(`trainSteps must be 'all' or 'buckets', got ${String(recipe.trainSteps)}`);
  const buckets = classifierBuckets(recipe.buckets, ds.manifest.recipe.record);
  const split = splitIndices(ds.meta, recipe.positiveOnly, { buckets, trainSteps: recipe.trainSteps });
  if (split.train.length === 0) throw new ClassifierTrainError(`${dataDir}: no training samples`);
  if (split.val.length === 0) throw new ClassifierTrainError(`${dataDir}: no validation samples (build more images, or raise the val fraction)`);
  const [, C, S] = ds.manifest.sampleShape;
  const cfg: ClassifierConfig = { ...recipe.model, channels: C, size: S, classes: classes.length, buckets: buckets.length };

  // Graphs: training (loss + gradients w.r.t. every weight) and inference.
  const train = buildClassifier(cfg, { seed: recipe.seed, training: true });
  const infer = buildClassifier(cfg, { seed: recipe.seed, symmetry: classifierSymmetry(transformCombos(recipe.symmetry), classes) });
  const init = modelWeights([infer.model]);
  const wrt = [...init.weights.keys()];
  const gradModel = await differentiate(train.model, { of: 'loss', wrt, dimSizes: { batch: 2 } });
  const sessions = new SessionManager();
  const so = o.threads ? { intraOpNumThreads: o.threads } : {};
  const gradSession = await sessions.get(gradModel, so);

  // State, possibly from a checkpoint.
  const mgr = new CheckpointManager({ dir: join(out, 'checkpoints'), prefix: 'epoch', keep: 2 });
  const latest = await mgr.latest();
  if (latest && !o.resume) throw new ClassifierTrainError(`${out} already has checkpoints (${latest}); pass --resume to continue, or use another --out folder`);
  if (o.resume && !latest && existsSync(out) && existsSync(join(out, 'checkpoints'))) log(`note: ${out}/checkpoints is empty; starting a fresh run`);
  let weights: TensorMap = new Map([...init.weights].map(([k, v]) => [k, new Float32Array(v)]));
  let best: TensorMap = new Map([...weights].map(([k, v]) => [k, new Float32Array(v)]));
  const opt = new AdamW({ weightDecay: recipe.weightDecay });
  const plateau = new ReduceLROnPlateau({ lr: recipe.lr, mode: 'min', factor: recipe.plateau.factor, patience: recipe.plateau.patience, minLr: recipe.plateau.minLr });
  let epoch = 0;
  let bestLoss = Infinity;
  let bestEpoch = 0;
  let bad = 0;
  let history: JsonObject[] = [];
  let earlierSeconds = 0;
  if (latest) {
    const ck = await loadCheckpoint(latest);
    const meta = ck.metadata ?? {};
    // The epoch budget, patience and test-time symmetry may change on resume; everything else
    // must match. (A checkpoint from before flip/transpose/symmetry existed had them off.)
    const free = new Set(['maxEpochs', 'earlyStopPatience', 'symmetry']);
    const was = (meta.recipe ?? {}) as unknown as Record<string, unknown>;
    const wasAugment = { ...NO_TRANSFORM, ...(was.augment as Partial<Augment> | undefined) };
    const wasSymmetry = { ...NO_TRANSFORM, ...(was.symmetry as Partial<Augment> | undefined) };
    const diff = Object.keys(recipe).filter((k) => !free.has(k) && JSON.stringify(k === 'augment' ? wasAugment : was[k]) !== JSON.stringify(recipe[k as keyof ClassifierRecipe]));
    if (diff.length > 0) throw new ClassifierTrainError(`${latest} was trained with other settings (${diff.join(', ')} differ); an exact resume needs the same ones`);
    if (augmentText(wasSymmetry) !== augmentText(recipe.symmetry)) log(`symmetry ${augmentText(wasSymmetry)} -> ${augmentText(recipe.symmetry)}: validation from here on and the export use the new one`);
    if (meta.dataset_spec !== ds.manifest.specHash || meta.dataset_samples !== ds.meta.length) throw new ClassifierTrainError(`${latest} was trained on another dataset (${String(meta.dataset_samples)} samples, spec ${String(meta.dataset_spec)}); this one has ${ds.meta.length} samples, spec ${ds.manifest.specHash}`);
    weights = new Map();
    best = new Map();
    for (const k of wrt) {
      const w = ck.weights.get(k);
      const bw = ck.weights.get(`best/${k}`);
      if (!w || !bw) throw new ClassifierTrainError(`${latest}: weight '${k}' is missing`);
      weights.set(k, w);
      best.set(k, bw);
    }
    if (ck.optimizer) opt.loadState(ck.optimizer);
    if (ck.schedule) plateau.loadState(ck.schedule);
    epoch = ck.step;
    bestLoss = typeof meta.best_loss === 'number' ? meta.best_loss : Infinity;
    bestEpoch = typeof meta.best_epoch === 'number' ? meta.best_epoch : 0;
    bad = typeof meta.bad_epochs === 'number' ? meta.bad_epochs : 0;
    history = Array.isArray(meta.history) ? (meta.history as JsonObject[]) : [];
    earlierSeconds = typeof meta.train_seconds === 'number' ? meta.train_seconds : 0;
    log(`resumed from ${latest} (epoch ${epoch}, best val loss ${bestLoss.toFixed(4)} at epoch ${bestEpoch})`);
  }

  const shapes = init.shapes;
  const feedsOf = (w: TensorMap) => Object.fromEntries([...w].map(([k, v]) => [k, { data: v, dims: shapes.get(k)! }])) as Record<string, HostTensor>;
  const inferSession = async (w: TensorMap) => sessions.get(withWeights(infer.model, w), so);
  const stepsPerEpoch = Math.ceil(split.train.length / recipe.batch);
  let stoppedEarly = false;
  while (epoch < recipe.maxEpochs && bad < recipe.earlyStopPatience) {
    const order = shuffled(split.train, derive(recipe.seed, 'epoch', epoch));
    let lossSum = 0;
    for (let s = 0; s < stepsPerEpoch; s++) {
      o.signal?.throwIfAborted();
      const idx = order.slice(s * recipe.batch, (s + 1) * recipe.batch);
      const aug = new Rng(derive(recipe.seed, 'augment', epoch, s));
      // draws only for the enabled transforms, in a fixed order (a recipe without flip/transpose draws as before they existed)
      const draw = (on: boolean) => on && aug.next() < 0.5;
      const bt = makeBatch(ds, idx, classes, () => ({ swap: draw(recipe.augment.swap), mirror: draw(recipe.augment.mirror), flip: draw(recipe.augment.flip), transpose: draw(recipe.augment.transpose) }), buckets);
      const masks = dropMasks(train.dropSites, idx.length, cfg.dropout, derive(recipe.seed, 'drop', epoch, s));
      const res = await gradSession.run({ ...feedsOf(weights), maps: bt.maps, bucket: bt.bucket, target: bt.target, ...masks });
      const loss = (res.loss!.data as Float32Array)[0]!;
      if (!Number.isFinite(loss)) throw new ClassifierTrainError(`epoch ${epoch + 1} step ${s + 1}: the loss is ${loss}`);
      const grads = new Map<string, Float32Array>();
      for (const k of wrt) grads.set(k, res[`${k}_grad`]!.data as Float32Array);
      opt.step(weights, grads, plateau.currentLr);
      lossSum += loss;
      o.onProgress?.({ epoch: epoch + 1, maxEpochs: recipe.maxEpochs, step: s + 1, stepsPerEpoch, trainLoss: lossSum / (s + 1), lr: plateau.currentLr });
      await yieldToEventLoop();
    }
    const session = await inferSession(weights);
    const val = await evaluate(session, ds, split.val, classes, recipe.evalBatch, buckets);
    await session.release();
    epoch++;
    plateau.step(val.loss);
    if (val.loss < bestLoss) {
      bestLoss = val.loss;
      bestEpoch = epoch;
      bad = 0;
      best = new Map([...weights].map(([k, v]) => [k, new Float32Array(v)]));
    } else bad++;
    history.push({ epoch, train_loss: lossSum / stepsPerEpoch, val_loss: val.loss, val_accuracy: val.accuracy, lr: plateau.currentLr });
    o.onProgress?.({ epoch, maxEpochs: recipe.maxEpochs, step: stepsPerEpoch, stepsPerEpoch, trainLoss: lossSum / stepsPerEpoch, lr: plateau.currentLr, val: { loss: val.loss, accuracy: val.accuracy } });
    log(`epoch ${epoch}: train loss ${(lossSum / stepsPerEpoch).toFixed(4)}, val loss ${val.loss.toFixed(4)}, val accuracy ${(val.accuracy * 100).toFixed(1)}%, lr ${plateau.currentLr.toExponential(1)}${bad === 0 ? ' (best)' : ''}`);
    const tensors: TensorMap = new Map(weights);
    toJson(best, 'best/', tensors);
    await mgr.save({
      step: epoch,
      weights: tensors,
      optimizer: opt.state(),
      schedule: plateau.state(),
      metadata: { recipe: recipe as unknown as JsonObject, dataset_spec: ds.manifest.specHash, dataset_samples: ds.meta.length, best_loss: bestLoss, best_epoch: bestEpoch, bad_epochs: bad, history, train_seconds: earlierSeconds + (performance.now() - t0) / 1000 },
    });
  }
  stoppedEarly = bad >= recipe.earlyStopPatience;

  // Final metrics with the best weights, then export.
  const bestSession = await inferSession(best);
  const metrics: Record<string, ClassifierMetrics> = {};
  const ev = (idx: readonly number[]) => evaluate(bestSession, ds, idx, classes, recipe.evalBatch, buckets);
  for (const [name, idx] of Object.entries({ val: split.val, test: split.test, unseen: split.unseen })) if (idx.length > 0) metrics[name] = await ev(idx);
  const wrongOf = (sp: DatasetSplit) => split[sp].filter((i) => ds.meta[i]!.kind === 'neg');
  const rightOf = (sp: DatasetSplit) => split[sp].filter((i) => ds.meta[i]!.kind === 'pos');
  if (wrongOf('test').length > 0) metrics['test-wrong-prompt'] = await ev(wrongOf('test'));
  if (rightOf('test').length > 0) metrics['test-right-prompt'] = await ev(rightOf('test'));
  if (wrongOf('unseen').length > 0) metrics['unseen-wrong-prompt'] = await ev(wrongOf('unseen'));
  const everyStep = ds.meta.flatMap((m, i) => (m.split === 'test' ? [i] : []));
  if (everyStep.length > split.test.length) metrics['test-every-step'] = await ev(everyStep);
  await bestSession.release();
  const finalModel = withWeights(infer.model, best);
  // every invocation's time, a resumed run's earlier ones included (checkpoints before this field: this one only)
  const seconds = earlierSeconds + (performance.now() - t0) / 1000;
  const info: ClassifierInfo = {
    format: CLASSIFIER_FORMAT,
    version: CLASSIFIER_VERSION,
    name: o.name ?? 'relations',
    classes,
    model: { unetSha256: ds.manifest.model.unetSha256, dir: ds.manifest.model.dir },
    spec: ds.manifest.spec,
    specHash: specHash(ds.manifest.spec),
    steps: buckets,
    totalSteps: ds.manifest.recipe.steps,
    bucketRule: BUCKET_RULE,
    input: { maps: `float32 [B, 2, ${C}, ${S}, ${S}] (subject's then object's stacks, channel order of spec)`, bucket: 'int64 [B] (step bucket, see bucketRule)' },
    config: cfg,
    training: {
      recipe,
      dataset: recordedPath(dataDir),
      datasetSamples: ds.meta.length,
      trainSamples: split.train.length,
      valSamples: split.val.length,
      epochs: epoch,
      bestEpoch,
      stoppedEarly,
      seconds: Math.round(seconds),
      history,
    },
    metrics,
  };
  await writeFileAtomic(join(out, 'model.onnx'), serializeModel(finalModel));
  await writeFileAtomic(join(out, 'classifier.json'), JSON.stringify(info, null, 2) + '\n');
  await sessions.dispose();
  log(`wrote ${out}: best epoch ${bestEpoch} of ${epoch}, test accuracy ${metrics.test ? (metrics.test.accuracy * 100).toFixed(1) + '%' : '-'}`);
  return { dir: out, info, epochs: epoch, bestEpoch, seconds, stoppedEarly };
}
