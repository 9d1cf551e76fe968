/**
 * Shared types for the training utilities.
 *
 * Parameters, gradients and optimiser buffers are flat float32 tensors keyed by parameter
 * name (the ONNX autodiff engine hands gradients back as one Float32Array per name). Shapes,
 * where they matter (checkpoints that Python should read), travel separately.
 */

/** Flat float32 tensors keyed by name. */
export type TensorMap = Map<string, Float32Array>;

export type JsonPrimitive = string | number | boolean | null;
export type JsonValue = JsonPrimitive | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/**
 * State that mixes plain JSON (counters, hyper-parameters for inspection) with tensors
 * (moment buffers, EMA weights). Checkpoints store `json` in the safetensors `__metadata__`
 * and `tensors` as F32 tensors.
 */
export interface StatePart {
  json: JsonObject;
  tensors: TensorMap;
}

/** Deep copy of a tensor map (new Float32Arrays). */
export function cloneTensorMap(src: ReadonlyMap<string, Float32Array>): TensorMap {
  const out: TensorMap = new Map();
  for (const [k, v] of src) out.set(k, new Float32Array(v));
  return out;
}

/** Deep copy of a StatePart. */
export function cloneStatePart(s: StatePart): StatePart {
  return { json: structuredClone(s.json), tensors: cloneTensorMap(s.tensors) };
}

export function isJsonObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Read a finite number field from a state object, with a clear error. */
export function numberField(obj: JsonObject, key: string, what: string): number {
  const v = obj[key];
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`${what}: field "${key}" must be a finite number, got ${JSON.stringify(v)}`);
  return v;
}

/** Check that a state object has the expected `kind`. */
export function expectKind(state: JsonValue, kind: string, what: string): JsonObject {
  if (!isJsonObject(state)) throw new Error(`${what}: state must be an object, got ${JSON.stringify(state)}`);
  if (state.kind !== kind) throw new Error(`${what}: state is for "${String(state.kind)}", expected "${kind}"`);
  return state;
}
