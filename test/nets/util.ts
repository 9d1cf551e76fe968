import type { HostTensor } from '../../src/engine/onnx/session.ts';
import type { ModelProto } from '../../src/engine/onnx/model.ts';

/** Deterministic pseudo-random floats in about [-2, 2] (sum of uniforms, roughly normal). */
export function randf(dims: readonly number[], seed: number): HostTensor {
  const size = dims.reduce((a, d) => a * d, 1);
  let s = (seed * 2654435761) >>> 0;
  const u = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
  const data = new Float32Array(size);
  for (let i = 0; i < size; i++) data[i] = (u() + u() + u() + u() - 2) * 1.7;
  return { data, dims };
}

export function randIds(dims: readonly number[], vocab: number, seed: number): HostTensor {
  const f = randf(dims, seed).data as Float32Array;
  return { data: BigInt64Array.from(f, (v) => BigInt(Math.floor(Math.abs(v * 1000)) % vocab)), dims };
}

export function allFinite(t: HostTensor): boolean {
  for (const v of t.data as Float32Array) if (!Number.isFinite(v)) return false;
  return true;
}

export function initializerDims(model: ModelProto): Map<string, number[]> {
  return new Map(model.graph!.initializer.map((t) => [t.name, t.dims.map(Number)]));
}

/** '/a.0/b/Conv_1' -> 'a.0.b' (the module key a node belongs to). */
export function nodeModuleKey(nodeName: string): string {
  const parts = nodeName.split('/').slice(1, -1);
  return parts.join('.');
}
