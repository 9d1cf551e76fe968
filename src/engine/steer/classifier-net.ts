/**
 * The relation classifier as an ONNX graph (Learn-to-Steer's architecture, scaled to our map
 * count), built with the project's NetBuilder and trained with the project's autodiff.
 *
 *   maps   float32 [B, 2, C, S, S]   subject's and object's attention stacks (attention.ts order)
 *   bucket int64   [B]               step bucket (index into the classifier's trained steps)
 *   -> logits [B, K], probs [B, K]
 *
 * Shared extractor, applied to the subject's and the object's stack alike (kept 4-D, [B, 2, C, d]):
 *   each map rescaled to mean 1 over space, Linear S*S -> d per map, + learned positional embedding over the map index,
 *   `layers` pre-LN Transformer encoder layers (ReLU feed-forward, dropout), with the step-bucket
 *   embedding added before every layer,
 *   attention pooling with a learned query (`poolHeads` heads) over the C maps -> one vector,
 *   projected to S*S ("one 16x16 map").
 * Head: both maps concatenated (2*S*S) -> Linear -> d, one pre-LN block on that single token
 * (attention over one token is its value/output projection) + feed-forward, then a second
 * step-bucket embedding (16-d) concatenated, MLP (d+16) -> d -> d/2 -> K with LayerNorm,
 * LeakyReLU 0.1 and dropout.
 *
 * Symmetry (optional, `symmetry`): the graph runs the batch under each of G exact transforms of
 * the sample (map-transforms.ts: subject/object swap, mirror, flip, transpose) and outputs the
 * mean of the copies' log-probabilities with each copy's classes mapped back, so its prediction
 * cannot depend on which way round the scene is (test-time augmentation, built into the graph
 * that steering differentiates).
 *
 * Dropout: in the training graph every dropout site is an explicit input `drop:<site>`
 * (a 0 / (1/(1-p)) mask the trainer draws from its seeded generator), so a training step is a
 * pure function of its inputs and resume is exact. The inference graph has no masks.
 */
import type { Relation } from '../eval/geneval.ts';
import type { Dim } from '../onnx/builder.ts';
import type { ModelProto } from '../onnx/model.ts';
import { NetBuilder } from '../nets/layers.ts';
import { uniformStd } from '../nets/init.ts';
import { augmentLabel, type Augment } from './map-transforms.ts';

export interface ClassifierConfig {
  /** Maps per object (C) and map side (S). */
  channels: number;
  size: number;
  classes: number;
  /** Step buckets (vocabulary of the bucket embeddings). */
  buckets: number;
  d: number;
  layers: number;
  heads: number;
  ff: number;
  poolHeads: number;
  headFf: number;
  /** Width of the head's step-bucket embedding. */
  headBucketDim: number;
  dropout: number;
}

export const DEFAULT_CLASSIFIER_CONFIG: Omit<ClassifierConfig, 'channels' | 'size' | 'classes' | 'buckets'> = {
  // 128: with all four training transforms it reached a lower validation loss than 64 (0.176 vs 0.204-0.227)
  d: 128,
  layers: 2,
  heads: 2,
  ff: 128,
  poolHeads: 2,
  headFf: 128,
  headBucketDim: 16,
  dropout: 0.3,
};

/**
 * Test-time symmetry of an inference graph: the batch runs under every transform (map-transforms.ts)
 * and the class log-probabilities are averaged after mapping each copy's classes back.
 * classPerm[g][k]: the class index, in copy g's frame, of the untransformed sample's class k.
 */
export interface ClassifierSymmetry {
  transforms: Augment[];
  classPerm: number[][];
}

/** The symmetry of `transforms` for `classes` (transforms[0] should be the identity). */
export function classifierSymmetry(transforms: readonly Augment[], classes: readonly Relation[]): ClassifierSymmetry {
  return { transforms: [...transforms], classPerm: transforms.map((t) => classes.map((c) => classes.indexOf(augmentLabel(c, t)))) };
}

/** maps [B, 2, C, S, S] under one transform, as ONNX ops (the same transform makeBatch applies). */
function transformStacks(nb: NetBuilder, x: string, t: Augment, S: number): string {
  const rev = Array.from({ length: S }, (_, i) => S - 1 - i);
  let y = x;
  if (t.swap) y = nb.op('symmetry', 'Gather', [y, nb.constI('symmetry', [1, 0])], { axis: 1 });
  if (t.mirror) y = nb.op('symmetry', 'Gather', [y, nb.constI('symmetry', rev)], { axis: 4 });
  if (t.flip) y = nb.op('symmetry', 'Gather', [y, nb.constI('symmetry', rev)], { axis: 3 });
  if (t.transpose) y = nb.transpose('symmetry', y, [0, 1, 2, 4, 3]);
  return y === x ? nb.op('symmetry', 'Identity', [x]) : y;
}

export interface DropSite {
  name: string;
  /** Shape with 'B' for the batch. */
  dims: (number | 'B')[];
}

export interface ClassifierGraph {
  model: ModelProto;
  /** Dropout mask inputs (training graph only). */
  dropSites: DropSite[];
  /** Parameter names and shapes. */
  params: Map<string, number[]>;
}

/**
 * Builds the classifier. `training`: adds dropout-mask inputs and a `target` input
 * (float32 [B, K], one-hot or soft) with a scalar `loss` output (mean cross-entropy).
 */
export function buildClassifier(cfg: ClassifierConfig, opts: { seed?: number; training?: boolean; symmetry?: ClassifierSymmetry } = {}): ClassifierGraph {
  const { channels: C, size: S, classes: K, d } = cfg;
  const S2 = S * S;
  const nb = new NetBuilder(opts.seed ?? 0, 'relation_classifier', 17);
  const g = nb.g;
  const B: Dim = 'batch';
  const dropSites: DropSite[] = [];
  const drop = (x: string, site: string, dims: (number | 'B')[]): string => {
    if (!opts.training || cfg.dropout <= 0) return x;
    const name = `drop:${site}`;
    dropSites.push({ name, dims });
    g.input(name, 'float32', dims.map((v) => (v === 'B' ? B : v)));
    return nb.op(site, 'Mul', [x, name]);
  };
  const input = g.input('maps', 'float32', [B, 2, C, S, S]);
  const bucketIn = g.input('bucket', 'int64', [B]);
  // (in a training graph too, where the loss reads the averaged log-probabilities; its dropout masks then cover G*B rows)
  const sym = opts.symmetry && opts.symmetry.transforms.length > 1 ? opts.symmetry : null;
  // Test-time symmetry: the G transformed copies of the batch run as one batch of G*B (copy g at rows g*B..)
  const maps = sym ? nb.op('symmetry', 'Concat', sym.transforms.map((t) => transformStacks(nb, input, t, S)), { axis: 0 }) : input;
  const bucket = sym ? nb.op('symmetry', 'Concat', sym.transforms.map(() => bucketIn), { axis: 0 }) : bucketIn;

  // ---- extractor
  // Every map rescaled to mean 1 over space (x * S^2 / sum x): the maps are spatial
  // distributions of very different total mass (raw 16x16 softmax maps vs renormalised resized
  // ones, sparse object tokens); without this the raw values (mean ~0.03) hardly move the
  // features and training stalls at chance (measured: train loss stuck at ln 4 for 30 epochs).
  const flat = nb.reshape('extractor', maps, [0, 2, C, S2]);
  const mass = nb.op('extractor.normalize', 'Add', [nb.op('extractor.normalize', 'ReduceSum', [flat, nb.constI('extractor.normalize', [-1])], { keepdims: 1 }), nb.scalar('extractor.normalize', 1e-6)]);
  const normed = nb.op('extractor.normalize', 'Mul', [nb.op('extractor.normalize', 'Div', [flat, mass]), nb.scalar('extractor.normalize', S2)]);
  let h = nb.linear('extractor.input_proj', normed, S2, d, { rank: 4 });
  h = nb.op('extractor', 'Add', [h, nb.param('extractor.pos_embedding', [C, d], uniformStd(0.02))]);
  const bucketEmb = nb.op('extractor.bucket_embedding', 'Gather', [nb.param('extractor.bucket_embedding.weight', [cfg.buckets, d], uniformStd(0.02)), bucket], { axis: 0 });
  const bucket4 = nb.reshape('extractor.bucket_embedding', bucketEmb, [-1, 1, 1, d]);
  const dh = d / cfg.heads;
  if (!Number.isInteger(dh)) throw new Error(`classifier: d ${d} does not split into ${cfg.heads} heads`);
  for (let l = 0; l < cfg.layers; l++) {
    const key = `extractor.layers.${l}`;
    h = nb.op(key, 'Add', [h, bucket4]);
    const a = nb.layerNorm(`${key}.norm1`, h, d, 1e-5);
    const q = nb.linear(`${key}.self_attn.q_proj`, a, d, d, { rank: 4 });
    const k = nb.linear(`${key}.self_attn.k_proj`, a, d, d, { rank: 4 });
    const v = nb.linear(`${key}.self_attn.v_proj`, a, d, d, { rank: 4 });
    const split = (x: string, perm: number[]) => nb.transpose(key, nb.reshape(key, x, [0, 2, C, cfg.heads, dh]), perm);
    const qh = split(q, [0, 1, 3, 2, 4]); // [B, 2, h, C, dh]
    const kt = split(k, [0, 1, 3, 4, 2]); // [B, 2, h, dh, C]
    const vh = split(v, [0, 1, 3, 2, 4]);
    const p = nb.op(key, 'Softmax', [nb.op(key, 'Mul', [nb.op(key, 'MatMul', [qh, kt]), nb.scalar(key, 1 / Math.sqrt(dh))])], { axis: -1 });
    const att = nb.reshape(key, nb.transpose(key, nb.op(key, 'MatMul', [p, vh]), [0, 1, 3, 2, 4]), [0, 2, C, d]);
    h = nb.op(key, 'Add', [h, drop(nb.linear(`${key}.self_attn.out_proj`, att, d, d, { rank: 4 }), `${key}.drop_attn`, ['B', 2, C, d])]);
    const f = nb.layerNorm(`${key}.norm2`, h, d, 1e-5);
    const ffo = nb.linear(`${key}.linear2`, nb.op(key, 'Relu', [nb.linear(`${key}.linear1`, f, d, cfg.ff, { rank: 4 })]), cfg.ff, d, { rank: 4 });
    h = nb.op(key, 'Add', [h, drop(ffo, `${key}.drop_ff`, ['B', 2, C, d])]);
  }
  h = nb.layerNorm('extractor.norm', h, d, 1e-5);
  // attention pooling: a learned query over the C maps
  const ph = cfg.poolHeads;
  const pdh = d / ph;
  if (!Number.isInteger(pdh)) throw new Error(`classifier: d ${d} does not split into ${ph} pooling heads`);
  const query = nb.linear('extractor.pool.q_proj', nb.param('extractor.pool.query', [1, d], uniformStd(0.02)), d, d, { rank: 2 }); // [1, d]
  const qp = nb.reshape('extractor.pool', query, [1, 1, ph, 1, pdh]);
  const kp = nb.transpose('extractor.pool', nb.reshape('extractor.pool', nb.linear('extractor.pool.k_proj', h, d, d, { rank: 4 }), [0, 2, C, ph, pdh]), [0, 1, 3, 4, 2]); // [B,2,ph,pdh,C]
  const vp = nb.transpose('extractor.pool', nb.reshape('extractor.pool', nb.linear('extractor.pool.v_proj', h, d, d, { rank: 4 }), [0, 2, C, ph, pdh]), [0, 1, 3, 2, 4]); // [B,2,ph,C,pdh]
  const pw = nb.op('extractor.pool', 'Softmax', [nb.op('extractor.pool', 'Mul', [nb.op('extractor.pool', 'MatMul', [qp, kp]), nb.scalar('extractor.pool', 1 / Math.sqrt(pdh))])], { axis: -1 }); // [B,2,ph,1,C]
  const pooled = nb.reshape('extractor.pool', nb.op('extractor.pool', 'MatMul', [pw, vp]), [0, 2, d]); // [B,2,d]
  const objMap = nb.linear('extractor.pool.out_proj', pooled, d, S2, { rank: 3 }); // [B, 2, S2]

  // ---- head
  let z = nb.linear('head.input_proj', nb.reshape('head', objMap, [0, 2 * S2]), 2 * S2, d, { rank: 2 });
  z = drop(z, 'head.drop_in', ['B', d]);
  const za = nb.layerNorm('head.block.norm1', z, d, 1e-5);
  z = nb.op('head.block', 'Add', [z, nb.linear('head.block.out_proj', nb.linear('head.block.v_proj', za, d, d, { rank: 2 }), d, d, { rank: 2 })]);
  const zf = nb.layerNorm('head.block.norm2', z, d, 1e-5);
  z = nb.op('head.block', 'Add', [z, nb.linear('head.block.linear2', nb.op('head.block', 'Relu', [nb.linear('head.block.linear1', zf, d, cfg.headFf, { rank: 2 })]), cfg.headFf, d, { rank: 2 })]);
  const hb = nb.op('head.bucket_embedding', 'Gather', [nb.param('head.bucket_embedding.weight', [cfg.buckets, cfg.headBucketDim], uniformStd(0.02)), bucket], { axis: 0 });
  z = nb.op('head', 'Concat', [z, hb], { axis: 1 });
  const mlp = (key: string, x: string, inF: number, outF: number, site: string) => {
    const y = nb.linear(key, x, inF, outF, { rank: 2 });
    const n = nb.layerNorm(`${key}_norm`, y, outF, 1e-5);
    return drop(nb.op(key, 'LeakyRelu', [n], { alpha: 0.1 }), site, ['B', outF]);
  };
  z = mlp('head.mlp.0', z, d + cfg.headBucketDim, d, 'head.mlp.drop0');
  z = mlp('head.mlp.1', z, d, d / 2, 'head.mlp.drop1');
  let logits = nb.linear('head.mlp.out', z, d / 2, K, { rank: 2 });
  if (sym) {
    // log-probabilities of each copy [G, B, K], its classes mapped back to the untransformed
    // sample's (a one-hot [G, K, K] per copy), averaged over the copies: a geometric mean of the
    // copies' probabilities; softmax renormalises it.
    const G = sym.transforms.length;
    const lsm = nb.reshape('symmetry', nb.op('symmetry', 'LogSoftmax', [logits], { axis: -1 }), [G, -1, K]);
    const onehot = new Float32Array(G * K * K);
    sym.classPerm.forEach((perm, gi) => perm.forEach((j, k) => (onehot[(gi * K + j) * K + k] = 1)));
    const back = nb.op('symmetry', 'MatMul', [lsm, nb.constF('symmetry', onehot, [G, K, K])]);
    logits = nb.op('symmetry', 'Mul', [nb.op('symmetry', 'ReduceSum', [back, nb.constI('symmetry', [0])], { keepdims: 0 }), nb.scalar('symmetry', 1 / G)]);
  }
  nb.output(logits, 'logits', [B, K]);
  const probs = nb.op('head', 'Softmax', ['logits'], { axis: -1 });
  nb.output(probs, 'probs', [B, K]);
  if (opts.training) {
    const target = g.input('target', 'float32', [B, K]);
    const lsm = nb.op('loss', 'LogSoftmax', ['logits'], { axis: -1 });
    const nll = nb.op('loss', 'Neg', [nb.op('loss', 'ReduceSum', [nb.op('loss', 'Mul', [lsm, target]), nb.constI('loss', [1])], { keepdims: 0 })]);
    nb.output(nb.op('loss', 'ReduceMean', [nll], { keepdims: 0 }), 'loss', []);
  }
  return { model: nb.toModel('Steer Studio relation classifier (Learn-to-Steer architecture)'), dropSites, params: nb.params };
}
