/**
 * The steering model: UNet with attention taps -> map processing -> loss terms, compiled into one
 * ONNX graph and differentiated w.r.t. the latent by our autodiff (Learn-to-Steer part 2).
 *
 * Inputs (prompt-dependent values are inputs, so one compiled model serves every prompt):
 *   sample, timestep, encoder_hidden_states   as the UNet's
 *   tokens   float32 [G, T]   row g averages object g's tokens (1/n at its n token positions)
 *   per term k:
 *     pair_k    int64 [2]       (subject, object) object indices into the G rows
 *     weight_k  float32 [1]     the term's weight (0 switches it off: the authors' alternation)
 *     learned:  target_k float32 [1, K] one-hot of the wanted class; bucket_k int64 [1]
 *     centroid: dir_k float32 [2] unit vector object -> subject wanted (left = (-1, 0), y down)
 *     presence/binding: rows_k int64 [2] (object, text) / [3] (modifier, object, other) instead of pair_k
 * Outputs: loss (sum of weight_k * loss_k), loss_k, probs_k (learned), maps [G, S, S] (each row's
 * mean map, for previews), sample_grad.
 *
 * Map processing is the same as attention.ts does in JavaScript (its tests pin the two together):
 * per layer, maps = taps x tokens^T, resized bilinear (half_pixel) to S x S and renormalised to sum
 * 1 only where resized, concatenated in the spec's channel order.
 *
 * Terms:
 *   learned   cross-entropy of the relation classifier (embedded with its own weights, prefixed per
 *             term so several classifiers can coexist) against target_k.
 *   centroid  with p_o the mean map of object o rescaled to a distribution over the S x S cells and
 *             c_o = sum p_o(x, y) * (x, y) / S its centroid in [0, 1]^2:
 *               loss = softplus(beta * (margin - dir . (c_subject - c_object))) / beta,
 *             beta = 20, so the loss is ~0 once the subject's centroid is `margin` past the object's
 *             along the wanted direction.
 *   presence  Attend-and-Excite: with a the object's maps and t the text tokens' summed maps, both
 *             averaged over the channels at the map size S (native resolution, not resized),
 *             loss = 1 - max(gauss3x3(a / t)): the object's peak share of the text attention.
 *   binding   SynGen-style, with P_x the mean map of row x as a distribution over the S x S cells
 *             and BC(P, Q) = sum sqrt(P Q) (the Bhattacharyya coefficient, 1 = same map):
 *               loss = (1 - BC(P_modifier, P_object)) + BC(P_modifier, P_other),
 *             the colour word's attention on its own noun and off the other noun.
 * The model's outputs need only the tapped layers: the autodiff drops every node the outputs do not
 * read, so the UNet is cut after the last layer the selection taps (conv_out never runs).
 */
import { differentiate } from '../onnx/autodiff/index.ts';
import { cloneModel, loadModel, type ModelProto } from '../onnx/model.ts';
import { embedGraph, emptyGraph, GraphOps, modelFor, structureHash } from '../train/shape-world/merge.ts';
import { tapUNetModel, type AttentionSelection, type MapSpec } from './attention.ts';
import type { AttentionTap } from './attention-taps.ts';

export type TermSpec =
  | { kind: 'learned'; classifier: { dir: string; model: ModelProto; classes: number } }
  | { kind: 'centroid'; margin: number }
  | { kind: 'presence' }
  | { kind: 'binding' };

/** A&E's smoothing of the 16 x 16 maps before taking the peak: 3 x 3 Gaussian, sigma 0.5. */
const PRESENCE_KERNEL = (() => {
  const g = [-1, 0, 1].map((d) => Math.exp(-(d * d) / (2 * 0.5 * 0.5)));
  const k = g.flatMap((a) => g.map((b) => a * b));
  const sum = k.reduce((a, b) => a + b, 0);
  return k.map((v) => v / sum);
})();

export interface SteeringModel {
  /** Differentiated model: outputs loss, loss_k, probs_k, sample_grad. */
  model: ModelProto;
  spec: MapSpec;
  taps: AttentionTap[];
  terms: TermSpec[];
  /** Text tokens (T) of the tokens input. */
  tokens: number;
  hash: string;
}

const CENTROID_BETA = 20;

/** Prefixes every initializer (and its uses) of a model, so two classifiers never share weights by name. */
function prefixInitializers(model: ModelProto, prefix: string): ModelProto {
  const m = cloneModel(model);
  const g = m.graph!;
  const names = new Set(g.initializer.map((t) => t.name));
  const r = (n: string) => (names.has(n) ? prefix + n : n);
  for (const t of g.initializer) t.name = prefix + t.name;
  for (const n of g.node) n.input = n.input.map(r);
  for (const i of g.input) i.name = r(i.name);
  return m;
}

/** Builds (not yet differentiated) the steering forward: UNet + maps + terms -> loss. */
export async function buildSteeringForward(unet: ModelProto, info: { file: string; latentShape: readonly [number, number, number] }, terms: readonly TermSpec[], sel: AttentionSelection = {}, size = 16): Promise<{ model: ModelProto; spec: MapSpec; taps: AttentionTap[]; tokens: number }> {
  if (terms.length === 0) throw new Error('steering needs at least one loss term');
  const { model: tapped, taps, spec } = await tapUNetModel(unet, info, sel, size);
  const T = taps[0]!.tokens;
  const g = emptyGraph('steering');
  const ops = new GraphOps(g, 'steer/');
  // Batch 1 everywhere (steering optimises one latent): static shapes keep the probe's sizes
  // equal to the run's, which the gradient rules rely on for gathered axes.
  const [c0, h0, w0] = info.latentShape;
  const hidden = tapped.graph!.input.find((i) => i.name === 'encoder_hidden_states')!;
  const hdims = (hidden.type!.value.value as { shape: { dim: { value: { case: string; value: unknown } }[] } }).shape.dim;
  const width = hdims[2]?.value.case === 'dimValue' ? Number(hdims[2].value.value) : 0;
  if (!width) throw new Error(`${info.file}: encoder_hidden_states has no static hidden size`);
  const sample = ops.input('sample', 'float32', [1, c0, h0, w0]);
  const tsVi = tapped.graph!.input.find((i) => i.name === 'timestep')!;
  const tsType = (tsVi.type!.value.value as { elemType: number }).elemType === 7 ? 'int64' : 'float32';
  const tsRank = (tsVi.type!.value.value as { shape?: { dim: unknown[] } }).shape?.dim.length ?? 1;
  const timestep = ops.input('timestep', tsType, tsRank === 0 ? [] : [1]);
  const ehs = ops.input('encoder_hidden_states', 'float32', [1, T, width]);
  const tokens = ops.input('tokens', 'float32', ['objects', T]);
  const un = embedGraph(g, tapped, { prefix: 'unet/', inputs: { sample, timestep, encoder_hidden_states: ehs } });
  const tokT = ops.op('Transpose', [tokens], { perm: [1, 0] }); // [T, G]
  const S = spec.size;
  const byLayer = new Map(taps.map((t) => [t.layer, t]));
  const layerStacks: string[] = [];
  for (const L of spec.layers) {
    const tap = byLayer.get(L.layer)!;
    let a = un.get(tap.output)!; // [1, h, HW, T]
    if (L.heads.length !== tap.heads) a = ops.op('Gather', [a, ops.constI(L.heads)], { axis: 1 });
    const m = ops.op('MatMul', [a, tokT]); // [1, h', HW, G]
    const perm = ops.op('Transpose', [m], { perm: [0, 3, 1, 2] }); // [1, G, h', HW]
    let maps = ops.op('Reshape', [perm, ops.constI([-1, L.heads.length, L.height, L.width])]); // [G, h', H, W]
    if (L.height !== S || L.width !== S) {
      maps = ops.op('Resize', [maps, '', ops.constF([1, 1, S / L.height, S / L.width], [4])], { mode: 'linear', coordinate_transformation_mode: 'half_pixel' });
      const sum = ops.op('ReduceSum', [maps, ops.constI([2, 3])], { keepdims: 1 });
      maps = ops.op('Div', [maps, sum]);
    }
    layerStacks.push(maps);
  }
  const stack = layerStacks.length === 1 ? layerStacks[0]! : ops.op('Concat', layerStacks, { axis: 1 }); // [G, C, S, S]
  ops.output(ops.op('ReduceMean', [stack], { axes: [1], keepdims: 0 }), 'maps', 'float32', ['objects', S, S]); // for previews
  const lossTerms: string[] = [];
  // channels at the native map size (presence compares per-pixel attention probabilities)
  const native: number[] = [];
  let offset = 0;
  for (const L of spec.layers) {
    if (L.height === S && L.width === S) native.push(...L.heads.map((_, i) => offset + i));
    offset += L.heads.length;
  }
  const distribution = (rows: string) => {
    // rows [n, C, S, S] -> [n, S*S], each the channel mean rescaled to sum 1 (opset 17: ReduceMean's axes is an attribute)
    const flat = ops.op('Reshape', [ops.op('ReduceMean', [rows], { axes: [1], keepdims: 0 }), ops.constI([-1, S * S])]);
    return ops.op('Div', [flat, ops.op('ReduceSum', [flat, ops.constI([1])], { keepdims: 1 })]);
  };
  const row = (x: string, i: number) => ops.op('Gather', [x, ops.constI([i])], { axis: 0 });
  terms.forEach((term, k) => {
    const weight = ops.input(`weight_${k}`, 'float32', [1]);
    let lossK: string;
    if (term.kind === 'presence') {
      const rows = ops.input(`rows_${k}`, 'int64', [2]);
      const two = ops.op('Gather', [stack, rows], { axis: 0 }); // [2, C, S, S]
      const sel = native.length > 0 && native.length < offset ? ops.op('Gather', [two, ops.constI(native)], { axis: 1 }) : two;
      const mean = ops.op('ReduceMean', [sel], { axes: [1], keepdims: 1 }); // [2, 1, S, S]
      const share = ops.op('Div', [row(mean, 0), ops.op('Add', [row(mean, 1), ops.constF([1e-6])])]); // [1, 1, S, S]
      const smooth = ops.op('Conv', [share, ops.constF(PRESENCE_KERNEL, [1, 1, 3, 3])], { pads: [1, 1, 1, 1] });
      const peak = ops.op('ReduceMax', [ops.op('Reshape', [smooth, ops.constI([1, S * S])])], { axes: [1], keepdims: 0 }); // opset 17: axes is an attribute
      lossK = ops.op('Squeeze', [ops.op('Sub', [ops.constF([1]), peak]), ops.constI([0])]);
    } else if (term.kind === 'binding') {
      const rows = ops.input(`rows_${k}`, 'int64', [3]);
      const p = distribution(ops.op('Gather', [stack, rows], { axis: 0 })); // [3, S*S]
      const bc = (a: number, b: number) => ops.op('ReduceSum', [ops.op('Sqrt', [ops.op('Add', [ops.op('Mul', [row(p, a), row(p, b)]), ops.constF([1e-12])])]), ops.constI([0, 1])], { keepdims: 0 });
      lossK = ops.op('Add', [ops.op('Sub', [ops.constF([1]), bc(0, 1)]), bc(0, 2)]); // scalars: ReduceSum over all axes
    } else {
    const pair = ops.input(`pair_${k}`, 'int64', [2]);
    const two = ops.op('Gather', [stack, pair], { axis: 0 }); // [2, C, S, S]
    if (term.kind === 'learned') {
      const target = ops.input(`target_${k}`, 'float32', [1, term.classifier.classes]);
      const bucket = ops.input(`bucket_${k}`, 'int64', [1]);
      const clf = prefixInitializers(term.classifier.model, `clf${k}.`);
      const maps5 = ops.op('Unsqueeze', [two, ops.constI([0])]); // [1, 2, C, S, S]
      const out = embedGraph(g, clf, { prefix: `clf${k}/`, inputs: { maps: maps5, bucket } });
      const logits = out.get('logits')!;
      ops.output(out.get('probs')!, `probs_${k}`, 'float32', [1, term.classifier.classes]);
      const lsm = ops.op('LogSoftmax', [logits], { axis: -1 });
      lossK = ops.op('Neg', [ops.op('ReduceSum', [ops.op('Mul', [lsm, target])], { keepdims: 0 })]);
    } else {
      const dir = ops.input(`dir_${k}`, 'float32', [2]);
      const p = distribution(two); // [2, S*S]
      const xs = new Array<number>(S * S);
      const ys = new Array<number>(S * S);
      for (let i = 0; i < S * S; i++) {
        xs[i] = ((i % S) + 0.5) / S;
        ys[i] = (Math.floor(i / S) + 0.5) / S;
      }
      const coords = ops.constF([...xs.map((x, i) => [x, ys[i]!]).flat()], [S * S, 2]);
      const c = ops.op('MatMul', [p, coords]); // [2, 2]: centroids (x, y) of subject, object
      const diff = ops.op('Sub', [ops.op('Gather', [c, ops.constI([0])], { axis: 0 }), ops.op('Gather', [c, ops.constI([1])], { axis: 0 })]); // [1, 2]
      const along = ops.op('ReduceSum', [ops.op('Mul', [diff, dir])], { keepdims: 0 });
      const z = ops.op('Mul', [ops.op('Sub', [ops.constF([term.margin]), along]), ops.constF([CENTROID_BETA])]);
      lossK = ops.op('Div', [ops.op('Softplus', [z]), ops.constF([CENTROID_BETA])]);
    }
    }
    ops.output(lossK, `loss_${k}`, 'float32', []);
    lossTerms.push(ops.op('Mul', [lossK, ops.op('Squeeze', [weight, ops.constI([0])])]));
  });
  const total = lossTerms.length === 1 ? lossTerms[0]! : ops.op('Sum', lossTerms);
  ops.output(total, 'loss', 'float32', []);
  return { model: modelFor(g, tapped), spec, taps, tokens: T };
}

/**
 * Compiles the steering model for a UNet file, terms and number of token rows (the caller caches
 * it). The gradient of a Gather over the rows is shaped by the rows seen at compile time, so the
 * row count is part of the model: rebuild for another count.
 */
export async function compileSteering(unetFile: string, latentShape: readonly [number, number, number], terms: readonly TermSpec[], rows = 2, sel: AttentionSelection = {}): Promise<SteeringModel> {
  const { model: unet } = loadModel(unetFile);
  const fwd = await buildSteeringForward(unet, { file: unetFile, latentShape }, terms, sel);
  const keep = ['maps', ...terms.flatMap((t, k) => [`loss_${k}`, ...(t.kind === 'learned' ? [`probs_${k}`] : [])])];
  const G = rows;
  if (G < 2 && terms.some((t) => t.kind !== 'presence')) throw new Error(`steering terms other than presence need at least 2 token rows, got ${G}`);
  if (G < 3 && terms.some((t) => t.kind === 'binding')) throw new Error(`a binding term needs at least 3 token rows (modifier, object, other), got ${G}`);
  const probeFeeds = {
    tokens: { data: Float32Array.from({ length: G * fwd.tokens }, (_, i) => (i % fwd.tokens === 2 + Math.floor(i / fwd.tokens) ? 1 : 0)), dims: [G, fwd.tokens] },
    ...Object.fromEntries(
      terms.flatMap((t, k) => [
        [`weight_${k}`, { data: Float32Array.of(1), dims: [1] }],
        ...(t.kind === 'presence'
          ? [[`rows_${k}`, { data: BigInt64Array.from([0n, BigInt(G - 1)]), dims: [2] }]]
          : t.kind === 'binding'
            ? [[`rows_${k}`, { data: BigInt64Array.from([BigInt(G - 1), 0n, 1n]), dims: [3] }]]
            : [[`pair_${k}`, { data: BigInt64Array.from([0n, 1n]), dims: [2] }]]),
        ...(t.kind === 'learned'
          ? [[`target_${k}`, { data: Float32Array.from({ length: t.classifier.classes }, (_, i) => (i === 0 ? 1 : 0)), dims: [1, t.classifier.classes] }], [`bucket_${k}`, { data: BigInt64Array.of(0n), dims: [1] }]]
          : t.kind === 'centroid'
            ? [[`dir_${k}`, { data: Float32Array.of(-1, 0), dims: [2] }]]
            : []),
      ]),
    ),
  };
  const model = await differentiate(fwd.model, { of: 'loss', wrt: ['sample'], keep, probeFeeds, dimSizes: { objects: G } });
  return { model, spec: fwd.spec, taps: fwd.taps, terms: [...terms], tokens: fwd.tokens, hash: structureHash([fwd.model]) };
}
