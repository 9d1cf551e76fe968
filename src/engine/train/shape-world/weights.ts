/**
 * Moving weights between ONNX component models (initializers named like the state dict) and the
 * flat TensorMaps the optimiser, EMA and checkpoints use.
 */
import { cloneModel, isFloatDtype, makeTensor, onnxToDtype, tensorValues, type ModelProto } from '../../onnx/model.ts';
import type { HostTensor } from '../../onnx/session.ts';
import type { TensorMap } from '../types.ts';

export interface WeightSet {
  weights: TensorMap;
  shapes: Map<string, number[]>;
}

/** The float initializers of models, copied (insertion order = graph order). */
export function modelWeights(models: readonly ModelProto[]): WeightSet {
  const weights: TensorMap = new Map();
  const shapes = new Map<string, number[]>();
  for (const m of models) {
    for (const t of m.graph!.initializer) {
      if (!isFloatDtype(onnxToDtype(t.dataType))) continue;
      if (weights.has(t.name)) throw new Error(`weight '${t.name}' appears in two models`);
      const v = tensorValues(t);
      if (!(v.data instanceof Float32Array)) throw new Error(`weight '${t.name}' is ${v.dtype}; only float32 weights are trained`);
      weights.set(t.name, v.data);
      shapes.set(t.name, v.dims);
    }
  }
  return { weights, shapes };
}

/** A copy of `model` whose float initializers hold `weights` (every one must be given). */
export function withWeights(model: ModelProto, weights: ReadonlyMap<string, Float32Array>): ModelProto {
  const out = cloneModel(model);
  const g = out.graph!;
  g.initializer = g.initializer.map((t) => {
    if (!isFloatDtype(onnxToDtype(t.dataType))) return t;
    const w = weights.get(t.name);
    if (!w) throw new Error(`no trained value for weight '${t.name}'`);
    const dims = t.dims.map(Number);
    return makeTensor(t.name, w, dims, 'float32');
  });
  return out;
}

/** Feeds for a training graph whose weights are inputs. */
export function weightFeeds(set: WeightSet): Record<string, HostTensor> {
  const out: Record<string, HostTensor> = {};
  for (const [name, data] of set.weights) out[name] = { data, dims: set.shapes.get(name)! };
  return out;
}

/** Subset of `weights` with the float initializer names of `model`. */
export function pickWeights(model: ModelProto, weights: ReadonlyMap<string, Float32Array>, what: string): TensorMap {
  const out: TensorMap = new Map();
  for (const t of model.graph!.initializer) {
    if (!isFloatDtype(onnxToDtype(t.dataType))) continue;
    const w = weights.get(t.name);
    if (!w) throw new Error(`${what}: no value for weight '${t.name}'`);
    const n = t.dims.reduce((a, d) => a * Number(d), 1);
    if (w.length !== n) throw new Error(`${what}: weight '${t.name}' has ${w.length} values, the model expects ${n}`);
    out.set(t.name, w);
  }
  return out;
}
