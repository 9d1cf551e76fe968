/**
 * Training graphs of the two Shape World stages, built from the component models and
 * differentiated by the project's ONNX autodiff.
 *
 * VAE stage (`buildVaeLossModel`): inputs `image` [b,3,H,W] in [-1,1] and `eps` [b,C,h,w] ~ N(0,1):
 *   params  = vae_encoder(image).latent_parameters            (mean ++ logvar)
 *   logvar  = clip(logvar, -30, 20)                            (as diffusers' DiagonalGaussian)
 *   z       = mean + exp(0.5 * logvar) * eps
 *   recon   = vae_decoder(z)
 *   mse     = mean((recon - image)^2)                          (per pixel value)
 *   kl      = mean(0.5 * (mean^2 + exp(logvar) - 1 - logvar))  (per latent element)
 *   loss    = mse + klWeight * kl
 * Outputs: mse, kl, loss (+ `<weight>_grad` for every encoder and decoder weight).
 *
 * UNet stage (`buildUNetLossModel`): inputs `input_ids` int64 [b,L], `sample` (= z_t) [b,C,h,w],
 * `timestep` float32 [b], `target` (= eps) [b,C,h,w]:
 *   hidden = text_encoder(input_ids).last_hidden_state
 *   loss   = mean((unet(sample, timestep, hidden).out_sample - target)^2)
 * Outputs: loss (+ `<weight>_grad` for every text-encoder and UNet weight).
 *
 * Component graphs are merged with `embedGraph`: the encoder/text encoder under `enc/` / `te/`,
 * the decoder/UNet under `dec/` / `unet/`; weights keep their state-dict names.
 *
 * `trainingGraph` differentiates a loss model w.r.t. all its float initializers and caches the
 * result on disk by a hash of the components' structure (not their weights) and the options.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { differentiate } from '../../onnx/autodiff/index.ts';
import { isFloatDtype, onnxToDtype, parseModel, serializeModel, type ModelProto } from '../../onnx/model.ts';
import type { HostTensor } from '../../onnx/session.ts';
import { writeFileAtomic } from '../../util/fs.ts';
import { embedGraph, emptyGraph, GraphOps, modelFor, structureHash } from './merge.ts';

/** Bump when the loss graphs change in a way the structure hash cannot see. */
export const TRAIN_GRAPH_VERSION = 1;

let fingerprint: string | undefined;

/**
 * Hash of the autodiff engine's sources, when they are readable (development checkouts), so a
 * cached training graph is rebuilt after a change to a gradient rule. '' when not readable.
 */
export function autodiffFingerprint(): string {
  if (fingerprint !== undefined) return fingerprint;
  try {
    const root = fileURLToPath(new URL('../../onnx/autodiff/', import.meta.url));
    const h = createHash('sha256');
    const walk = (dir: string): void => {
      for (const name of readdirSync(dir).sort()) {
        const p = join(dir, name);
        if (statSync(p).isDirectory()) walk(p);
        else if (name.endsWith('.ts') || name.endsWith('.js')) h.update(name).update(readFileSync(p));
      }
    };
    walk(root);
    fingerprint = h.digest('hex');
  } catch {
    fingerprint = '';
  }
  return fingerprint;
}

export interface VaeLossOptions {
  /** Weight of the per-element KL term. */
  klWeight: number;
}

/** Float initializer names of a model, in graph order (the trainable weights). */
export function weightNames(model: ModelProto): string[] {
  return model.graph!.initializer.filter((t) => isFloatDtype(onnxToDtype(t.dataType))).map((t) => t.name);
}

function inputShape(model: ModelProto, name: string): (number | string)[] {
  const vi = model.graph!.input.find((i) => i.name === name);
  const dims = vi?.type?.value.case === 'tensorType' ? vi.type.value.value.shape?.dim : undefined;
  if (!dims) throw new Error(`model input '${name}' has no shape`);
  return dims.map((d) => (d.value.case === 'dimValue' ? Number(d.value.value) : d.value.case === 'dimParam' ? d.value.value : 'batch'));
}

export function buildVaeLossModel(encoder: ModelProto, decoder: ModelProto, opts: VaeLossOptions): ModelProto {
  const imageShape = inputShape(encoder, 'sample');
  const latentShape = inputShape(decoder, 'latent_sample');
  const lc = latentShape[1] as number;
  const g = emptyGraph('shape_world_vae_train');
  const ops = new GraphOps(g, 'loss/');
  const image = ops.input('image', 'float32', imageShape);
  const eps = ops.input('eps', 'float32', latentShape);
  const enc = embedGraph(g, encoder, { prefix: 'enc/', inputs: { sample: image } });
  const params = enc.get('latent_parameters')!;
  const one = ops.constI([1]);
  const mean = ops.op('Slice', [params, ops.constI([0]), ops.constI([lc]), one]);
  const rawLogvar = ops.op('Slice', [params, ops.constI([lc]), ops.constI([2 * lc]), one]);
  const logvar = ops.op('Clip', [rawLogvar, ops.constF([-30]), ops.constF([20])]);
  const std = ops.op('Exp', [ops.op('Mul', [logvar, ops.constF([0.5])])]);
  const z = ops.op('Add', [mean, ops.op('Mul', [std, eps])]);
  const dec = embedGraph(g, decoder, { prefix: 'dec/', inputs: { latent_sample: z } });
  const recon = dec.get('sample')!;
  const d = ops.op('Sub', [recon, image]);
  const mse = ops.op('ReduceMean', [ops.op('Mul', [d, d])], { keepdims: 0 }, 'mse');
  const variance = ops.op('Mul', [std, std]);
  const klTerms = ops.op('Sub', [ops.op('Add', [ops.op('Mul', [mean, mean]), variance]), ops.op('Add', [logvar, ops.constF([1])])]);
  const kl = ops.op('ReduceMean', [ops.op('Mul', [klTerms, ops.constF([0.5])])], { keepdims: 0 }, 'kl');
  ops.op('Add', [mse, ops.op('Mul', [kl, ops.constF([opts.klWeight])])], {}, 'loss');
  ops.output('mse', 'mse', 'float32', []);
  ops.output('kl', 'kl', 'float32', []);
  ops.output('loss', 'loss', 'float32', []);
  return modelFor(g, encoder);
}

export function buildUNetLossModel(textEncoder: ModelProto, unet: ModelProto): ModelProto {
  const g = emptyGraph('shape_world_unet_train');
  const ops = new GraphOps(g, 'loss/');
  const ids = ops.input('input_ids', 'int64', inputShape(textEncoder, 'input_ids'));
  const sample = ops.input('sample', 'float32', inputShape(unet, 'sample'));
  const timestep = ops.input('timestep', 'float32', inputShape(unet, 'timestep'));
  const target = ops.input('target', 'float32', inputShape(unet, 'sample'));
  const te = embedGraph(g, textEncoder, { prefix: 'te/', inputs: { input_ids: ids } });
  const hidden = te.get('last_hidden_state')!;
  const un = embedGraph(g, unet, { prefix: 'unet/', inputs: { sample, timestep, encoder_hidden_states: hidden } });
  const d = ops.op('Sub', [un.get('out_sample')!, target]);
  ops.op('ReduceMean', [ops.op('Mul', [d, d])], { keepdims: 0 }, 'loss');
  ops.output('loss', 'loss', 'float32', []);
  return modelFor(g, unet);
}

export interface TrainingGraph {
  /** The differentiated model: weights are graph inputs; outputs are the losses and `<w>_grad`. */
  model: ModelProto;
  /** Trainable weight names (graph inputs of `model`). */
  wrt: string[];
  /** Loss outputs besides `loss` (e.g. mse, kl). */
  keep: string[];
  hash: string;
  /** Cache file, when a cache folder was given. */
  path?: string;
  /** true when it was read from the cache. */
  cached: boolean;
}

export type StageKind = 'vae' | 'unet';

/**
 * The differentiated training graph of a stage; read from / written to `cacheDir` (file
 * `<kind>-<hash16>.onnx`) when given.
 */
export async function trainingGraph(
  kind: StageKind,
  components: readonly [ModelProto, ModelProto],
  opts: { klWeight?: number; cacheDir?: string } = {},
): Promise<TrainingGraph> {
  const [a, b] = components;
  const wrt = [...weightNames(a), ...weightNames(b)];
  const keep = kind === 'vae' ? ['mse', 'kl'] : [];
  const extra = { kind, v: TRAIN_GRAPH_VERSION, klWeight: kind === 'vae' ? opts.klWeight : undefined, autodiff: autodiffFingerprint() };
  const hash = structureHash(components, extra);
  const path = opts.cacheDir ? join(opts.cacheDir, `${kind}-${hash.slice(0, 16)}.onnx`) : undefined;
  if (path && existsSync(path)) {
    const model = parseModel(readFileSync(path), path);
    return { model, wrt, keep, hash, path, cached: true };
  }
  const lossModel = kind === 'vae' ? buildVaeLossModel(a, b, { klWeight: opts.klWeight ?? 0 }) : buildUNetLossModel(a, b);
  // Probe with a batch size that collides with no other dimension (3 = RGB, 4 = latent channels).
  const probeFeeds: Record<string, HostTensor> = {};
  const model = await differentiate(lossModel, { of: 'loss', wrt, keep, dimSizes: { batch: 5 }, probeFeeds });
  if (path) await writeFileAtomic(path, serializeModel(model));
  return { model, wrt, keep, hash, path, cached: false };
}
