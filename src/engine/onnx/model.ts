/**
 * ONNX ModelProto reading and writing.
 *
 * Library choice: `onnx-buf` (protobuf-es generated bindings of onnx.proto for ONNX 1.20, on
 * @bufbuild/protobuf 2). It is maintained, tracks the ONNX release we target, gives typed
 * messages with proto2 field presence, and encodes/decodes large models (hundreds of MB)
 * without a schema load step. protobufjs would need us to ship and parse onnx.proto ourselves.
 *
 * External data: tensors with `data_location = EXTERNAL` carry `location`, `offset`, `length`
 * entries whose location is relative to the model file's folder. `loadModel()` remembers that
 * folder; `saveModel()` either keeps the references valid for the new model file ("keep", the
 * default: locations rewritten relative to it, files outside its folder hard-linked into it since
 * onnxruntime rejects locations that escape the model folder) or inlines the bytes ("inline").
 */
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import {
  ModelProtoSchema,
  OperatorSetIdProtoSchema,
  StringStringEntryProtoSchema,
  TensorProtoSchema,
  TensorProto_DataLocation,
  TensorProto_DataType,
  type GraphProto,
  type ModelProto,
  type TensorProto,
} from 'onnx-buf';
import { openSync, readSync, closeSync, readFileSync, statSync, mkdirSync, existsSync, linkSync, copyFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { writeFileAtomicSync } from '../util/fs.ts';

export type { ModelProto, GraphProto, NodeProto, TensorProto, ValueInfoProto, AttributeProto } from 'onnx-buf';

/** Element types this engine understands, by ONNX name (lower-case, as onnxruntime-node spells them). */
export type DType = 'float32' | 'float64' | 'float16' | 'int64' | 'int32' | 'int8' | 'uint8' | 'bool' | 'string';

const DTYPE_TO_ONNX: Record<DType, TensorProto_DataType> = {
  float32: TensorProto_DataType.FLOAT,
  float64: TensorProto_DataType.DOUBLE,
  float16: TensorProto_DataType.FLOAT16,
  int64: TensorProto_DataType.INT64,
  int32: TensorProto_DataType.INT32,
  int8: TensorProto_DataType.INT8,
  uint8: TensorProto_DataType.UINT8,
  bool: TensorProto_DataType.BOOL,
  string: TensorProto_DataType.STRING,
};

export function dtypeToOnnx(dtype: DType): number {
  return DTYPE_TO_ONNX[dtype];
}

export function onnxToDtype(t: number): DType {
  for (const [k, v] of Object.entries(DTYPE_TO_ONNX)) if (v === t) return k as DType;
  throw new Error(`unsupported ONNX element type ${TensorProto_DataType[t] ?? t}`);
}

export function isFloatDtype(d: DType | undefined): boolean {
  return d === 'float32' || d === 'float64' || d === 'float16';
}

export class ModelFileError extends Error {
  constructor(readonly file: string, message: string) {
    super(`${file}: ${message}`);
    this.name = 'ModelFileError';
  }
}

/** A parsed model plus the folder its external-data locations are relative to. */
export interface LoadedModel {
  model: ModelProto;
  /** Folder of the model file (absolute); undefined for models parsed from bytes. */
  baseDir?: string;
  path?: string;
}

export function parseModel(bytes: Uint8Array, name = '<bytes>'): ModelProto {
  try {
    const model = fromBinary(ModelProtoSchema, bytes);
    if (!model.graph) throw new Error('model has no graph');
    return model;
  } catch (err) {
    throw new ModelFileError(name, `not a valid ONNX model (${(err as Error).message})`);
  }
}

export function serializeModel(model: ModelProto): Uint8Array {
  return toBinary(ModelProtoSchema, model);
}

export function loadModel(path: string): LoadedModel {
  const abs = resolve(path);
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(abs);
  } catch (err) {
    throw new ModelFileError(abs, `cannot read model (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  const model = parseModel(bytes, abs);
  const baseDir = dirname(abs);
  // Validate external data references up front so errors name the missing file.
  for (const t of allTensors(model)) {
    if (t.dataLocation !== TensorProto_DataLocation.EXTERNAL) continue;
    const ext = externalInfo(t, abs);
    const file = resolve(baseDir, ext.location);
    let size: number;
    try {
      size = statSync(file).size;
    } catch {
      throw new ModelFileError(abs, `tensor '${t.name}' refers to external data file '${ext.location}' which does not exist (looked in ${file})`);
    }
    if (ext.length !== undefined && ext.offset + ext.length > size) {
      throw new ModelFileError(abs, `tensor '${t.name}': external data ${ext.location} [${ext.offset}, +${ext.length}) is past the end of the file (${size} bytes)`);
    }
  }
  return { model, baseDir, path: abs };
}

export interface SaveOptions {
  /**
   * What to do with tensors whose data is in external files:
   * - 'keep' (default): keep pointing at the original files. Locations are rewritten relative to
   *   the new model's folder. onnxruntime (>= 1.2x) refuses locations that leave the model's
   *   folder, so a file outside it is hard-linked (or, across file systems, copied) into the new
   *   folder under its own name.
   * - 'inline': read the bytes into raw_data (models must stay under protobuf's 2 GB limit).
   */
  externalData?: 'keep' | 'inline';
  /** Folder the model's current external locations are relative to (LoadedModel.baseDir). */
  baseDir?: string;
}

export function saveModel(model: ModelProto, path: string, opts: SaveOptions = {}): void {
  const abs = resolve(path);
  const outDir = dirname(abs);
  const hasExternal = allTensors(model).some((t) => t.dataLocation === TensorProto_DataLocation.EXTERNAL);
  let toWrite = model;
  mkdirSync(outDir, { recursive: true });
  if (hasExternal) {
    if (!opts.baseDir) throw new ModelFileError(abs, 'model has external data but no baseDir was given to resolve it');
    toWrite = opts.externalData === 'inline' ? inlineExternalData(model, opts.baseDir) : relocateExternalData(model, opts.baseDir, outDir, { linkOutside: true });
  }
  writeFileAtomicSync(abs, serializeModel(toWrite));
}

export interface ExternalInfo {
  location: string;
  offset: number;
  length?: number;
}

export function externalInfo(t: TensorProto, file = '<model>'): ExternalInfo {
  let location: string | undefined;
  let offset = 0;
  let length: number | undefined;
  for (const e of t.externalData) {
    if (e.key === 'location') location = e.value;
    else if (e.key === 'offset') offset = Number(e.value);
    else if (e.key === 'length') length = Number(e.value);
  }
  if (!location) throw new ModelFileError(file, `tensor '${t.name}' is EXTERNAL but has no location entry`);
  return { location, offset, length };
}

/** Every TensorProto in the main graph (initializers and Constant-node attributes) and subgraphs. */
export function allTensors(model: ModelProto): TensorProto[] {
  const out: TensorProto[] = [];
  const visit = (g: GraphProto | undefined) => {
    if (!g) return;
    out.push(...g.initializer);
    for (const n of g.node)
      for (const a of n.attribute) {
        if (a.t) out.push(a.t);
        out.push(...a.tensors);
        if (a.g) visit(a.g);
        for (const sg of a.graphs) visit(sg);
      }
  };
  visit(model.graph);
  return out;
}

/** Returns a copy of the model whose external tensors have their bytes in raw_data. */
export function inlineExternalData(model: ModelProto, baseDir: string): ModelProto {
  const copy = parseModel(serializeModel(model));
  for (const t of allTensors(copy)) {
    if (t.dataLocation !== TensorProto_DataLocation.EXTERNAL) continue;
    t.rawData = readExternalBytes(t, baseDir);
    t.externalData = [];
    t.dataLocation = TensorProto_DataLocation.DEFAULT;
  }
  return copy;
}

/**
 * Returns a copy whose external locations, valid relative to `fromDir`, are valid relative to
 * `toDir`. With `linkOutside`, files outside `toDir` are hard-linked (or copied) into it.
 */
export function relocateExternalData(model: ModelProto, fromDir: string, toDir: string, opts: { linkOutside?: boolean } = {}): ModelProto {
  const copy = parseModel(serializeModel(model));
  const linked = new Map<string, string>();
  for (const t of allTensors(copy)) {
    if (t.dataLocation !== TensorProto_DataLocation.EXTERNAL) continue;
    const info = externalInfo(t);
    const target = resolve(fromDir, info.location);
    let rel = relative(resolve(toDir), target);
    if (opts.linkOutside && (rel.startsWith('..') || isAbsolute(rel))) {
      let local = linked.get(target);
      if (!local) {
        local = linkInto(target, toDir);
        linked.set(target, local);
      }
      rel = local;
    }
    if (isAbsolute(rel)) rel = target; // different drive on Windows
    rel = rel.split(sep).join('/');
    t.externalData = t.externalData.map((e) => (e.key === 'location' ? create(StringStringEntryProtoSchema, { key: 'location', value: rel }) : e));
  }
  return copy;
}

/**
 * Returns a copy whose initializers of at least `minBytes` bytes are moved to one external data
 * file `fileName` in `dir` (the folder the model will be saved in); offsets are 4096-aligned.
 */
export function externalizeInitializers(model: ModelProto, dir: string, fileName: string, minBytes = 1024): ModelProto {
  const copy = cloneModel(model);
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const t of copy.graph!.initializer) {
    if (t.dataLocation === TensorProto_DataLocation.EXTERNAL || t.rawData.length < minBytes) continue;
    const pad = (4096 - (offset % 4096)) % 4096;
    if (pad) chunks.push(new Uint8Array(pad));
    offset += pad;
    chunks.push(t.rawData);
    t.externalData = [
      create(StringStringEntryProtoSchema, { key: 'location', value: fileName }),
      create(StringStringEntryProtoSchema, { key: 'offset', value: String(offset) }),
      create(StringStringEntryProtoSchema, { key: 'length', value: String(t.rawData.length) }),
    ];
    offset += t.rawData.length;
    t.rawData = new Uint8Array(0);
    t.dataLocation = TensorProto_DataLocation.EXTERNAL;
  }
  mkdirSync(dir, { recursive: true });
  const total = new Uint8Array(offset);
  let o = 0;
  for (const c of chunks) {
    total.set(c, o);
    o += c.length;
  }
  writeFileAtomicSync(resolve(dir, fileName), total);
  return copy;
}

/** Hard-links (or copies) `file` into `dir` under a free name; returns that name. */
function linkInto(file: string, dir: string): string {
  const name = basename(file);
  let candidate = name;
  for (let i = 1; ; i++) {
    const dest = join(dir, candidate);
    if (!existsSync(dest)) {
      try {
        linkSync(file, dest);
      } catch {
        copyFileSync(file, dest);
      }
      return candidate;
    }
    // Same file already there (an earlier save): reuse it.
    try {
      const a = statSync(dest);
      const b = statSync(file);
      if (a.ino === b.ino && a.dev === b.dev) return candidate;
    } catch {
      /* fall through to the next name */
    }
    candidate = `${i}_${name}`;
  }
}

export function readExternalBytes(t: TensorProto, baseDir: string): Uint8Array<ArrayBuffer> {
  const info = externalInfo(t);
  const file = resolve(baseDir, info.location);
  const length = info.length ?? tensorByteLength(t);
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    throw new ModelFileError(file, `cannot open external data for tensor '${t.name}'`);
  }
  try {
    const buf = new Uint8Array(length);
    const n = readSync(fd, buf, 0, length, info.offset);
    if (n !== length) throw new ModelFileError(file, `short read for tensor '${t.name}': wanted ${length} bytes at ${info.offset}, got ${n}`);
    return buf;
  } finally {
    closeSync(fd);
  }
}

const ELEM_BYTES: Partial<Record<number, number>> = {
  [TensorProto_DataType.FLOAT]: 4,
  [TensorProto_DataType.DOUBLE]: 8,
  [TensorProto_DataType.FLOAT16]: 2,
  [TensorProto_DataType.INT64]: 8,
  [TensorProto_DataType.INT32]: 4,
  [TensorProto_DataType.INT8]: 1,
  [TensorProto_DataType.UINT8]: 1,
  [TensorProto_DataType.BOOL]: 1,
};

function tensorByteLength(t: TensorProto): number {
  const e = ELEM_BYTES[t.dataType];
  if (e === undefined) throw new Error(`tensor '${t.name}': unknown element size`);
  return t.dims.reduce((a, d) => a * Number(d), 1) * e;
}

// ---------------------------------------------------------------------------------------------
// Tensor helpers
// ---------------------------------------------------------------------------------------------

export type TypedArrayLike = Float32Array | Float64Array | BigInt64Array | Int32Array | Int8Array | Uint8Array | Uint16Array;

/** float32 -> IEEE half bits (round to nearest even). */
export function toHalf(v: number): number {
  const f = new Float32Array([v]);
  const u = new Uint32Array(f.buffer)[0]!;
  const sign = (u >>> 16) & 0x8000;
  const exp = (u >>> 23) & 0xff;
  let mant = u & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && (h & 1))) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1))) h++;
  e = h >>> 10;
  return sign | h;
}

/** IEEE half bits -> number. */
export function fromHalf(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >>> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 0x1f) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

export function typedArrayDtype(a: TypedArrayLike): DType {
  if (a instanceof Float32Array) return 'float32';
  if (a instanceof Float64Array) return 'float64';
  if (a instanceof BigInt64Array) return 'int64';
  if (a instanceof Int32Array) return 'int32';
  if (a instanceof Int8Array) return 'int8';
  if (a instanceof Uint16Array) return 'float16';
  return 'uint8';
}

/** Builds a TensorProto with raw_data from a typed array. Booleans: pass a Uint8Array and dtype 'bool'. */
export function makeTensor(name: string, data: TypedArrayLike, dims: readonly number[], dtype: DType = typedArrayDtype(data)): TensorProto {
  const size = dims.reduce((a, d) => a * d, 1);
  if (size !== data.length) throw new Error(`tensor '${name}': ${data.length} values for dims [${dims.join(', ')}]`);
  const raw = new Uint8Array(data.byteLength);
  raw.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  return create(TensorProtoSchema, { name, dims: dims.map((d) => BigInt(d)), dataType: dtypeToOnnx(dtype), rawData: raw });
}

/** Reads a TensorProto's values (raw_data or typed fields; external data needs `baseDir`). */
export function tensorValues(t: TensorProto, baseDir?: string): { dtype: DType; dims: number[]; data: TypedArrayLike } {
  const dtype = onnxToDtype(t.dataType);
  const dims = t.dims.map(Number);
  const size = dims.reduce((a, d) => a * d, 1);
  let raw: Uint8Array | undefined;
  if (t.dataLocation === TensorProto_DataLocation.EXTERNAL) {
    if (!baseDir) throw new Error(`tensor '${t.name}' has external data; baseDir needed`);
    raw = readExternalBytes(t, baseDir);
  } else if (t.rawData.length > 0 || size === 0) raw = t.rawData;
  if (raw) {
    const copy = new Uint8Array(raw.byteLength);
    copy.set(raw);
    const b = copy.buffer;
    switch (dtype) {
      case 'float32': return { dtype, dims, data: new Float32Array(b) };
      case 'float64': return { dtype, dims, data: new Float64Array(b) };
      case 'int64': return { dtype, dims, data: new BigInt64Array(b) };
      case 'int32': return { dtype, dims, data: new Int32Array(b) };
      case 'int8': return { dtype, dims, data: new Int8Array(b) };
      case 'float16': return { dtype, dims, data: new Uint16Array(b) };
      default: return { dtype, dims, data: copy };
    }
  }
  switch (dtype) {
    case 'float32': return { dtype, dims, data: Float32Array.from(t.floatData) };
    case 'float64': return { dtype, dims, data: Float64Array.from(t.doubleData) };
    case 'int64': return { dtype, dims, data: BigInt64Array.from(t.int64Data) };
    case 'int32': return { dtype, dims, data: Int32Array.from(t.int32Data) };
    case 'int8': return { dtype, dims, data: Int8Array.from(t.int32Data) };
    case 'float16': return { dtype, dims, data: Uint16Array.from(t.int32Data) };
    case 'uint8':
    case 'bool': return { dtype, dims, data: Uint8Array.from(t.int32Data) };
    default: throw new Error(`tensor '${t.name}': cannot read ${dtype} values`);
  }
}

export function makeOpset(domain: string, version: number) {
  return create(OperatorSetIdProtoSchema, { domain, version: BigInt(version) });
}

/** The ai.onnx opset version a model imports. */
export function onnxOpset(model: ModelProto): number {
  const o = model.opsetImport.find((x) => x.domain === '' || x.domain === 'ai.onnx');
  if (!o) throw new Error('model imports no ai.onnx opset');
  return Number(o.version);
}

export function cloneModel(model: ModelProto): ModelProto {
  return fromBinary(ModelProtoSchema, toBinary(ModelProtoSchema, model));
}

export function irVersionFor(opset: number): number {
  return opset <= 18 ? 8 : opset <= 20 ? 9 : 10;
}

export function newModel(graph: GraphProto, opset: number, irVersion = irVersionFor(opset)): ModelProto {
  return create(ModelProtoSchema, {
    irVersion: BigInt(irVersion),
    producerName: 'steer-studio',
    opsetImport: [makeOpset('', opset)],
    graph,
  });
}
