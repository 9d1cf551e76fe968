/**
 * Minimal safetensors codec (https://github.com/huggingface/safetensors format):
 *
 *   [8 bytes]  N, unsigned 64-bit little-endian: byte length of the header
 *   [N bytes]  UTF-8 JSON header: { "<name>": { "dtype": "F32", "shape": [..],
 *              "data_offsets": [begin, end] }, ..., "__metadata__": { "<key>": "<string>" } }
 *              (we pad it with spaces to a multiple of 8 bytes, as the reference writer does)
 *   [rest]     tensor bytes, little-endian, row-major; offsets are relative to the start of
 *              this section, tensors are contiguous and cover it exactly.
 *
 * Only F32 tensors are written (all the training state is float32); the reader accepts F32 and
 * rejects anything else with a clear error.
 */
import { endianness } from 'node:os';

export interface SafetensorEntry {
  shape: readonly number[];
  data: Float32Array;
}

export interface SafetensorsContents {
  tensors: Map<string, SafetensorEntry>;
  metadata: Record<string, string>;
}

export class SafetensorsFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SafetensorsFormatError';
  }
}

function assertLittleEndianHost(): void {
  if (endianness() !== 'LE') throw new Error('safetensors: big-endian hosts are not supported');
}

function product(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Encode tensors (in the given order) and string metadata into one buffer. */
export function encodeSafetensors(tensors: ReadonlyMap<string, SafetensorEntry>, metadata: Record<string, string> = {}): Buffer {
  assertLittleEndianHost();
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, { shape, data }] of tensors) {
    if (name === '__metadata__') throw new SafetensorsFormatError('safetensors: "__metadata__" cannot be a tensor name');
    if (!shape.every((d) => Number.isInteger(d) && d >= 0)) throw new SafetensorsFormatError(`safetensors: tensor "${name}" has an invalid shape ${JSON.stringify(shape)}`);
    if (product(shape) !== data.length) throw new SafetensorsFormatError(`safetensors: tensor "${name}" has shape ${JSON.stringify(shape)} but ${data.length} elements`);
    const end = offset + data.byteLength;
    header[name] = { dtype: 'F32', shape: [...shape], data_offsets: [offset, end] };
    offset = end;
  }
  let json = JSON.stringify(header);
  const rawLen = Buffer.byteLength(json, 'utf8');
  json += ' '.repeat((8 - (rawLen % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  const out = Buffer.alloc(8 + headerBytes.length + offset);
  out.writeBigUInt64LE(BigInt(headerBytes.length), 0);
  headerBytes.copy(out, 8);
  let pos = 8 + headerBytes.length;
  for (const { data } of tensors.values()) {
    out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), pos);
    pos += data.byteLength;
  }
  return out;
}

/** Decode a safetensors buffer. Throws SafetensorsFormatError describing what is wrong. */
export function decodeSafetensors(buf: Uint8Array): SafetensorsContents {
  assertLittleEndianHost();
  if (buf.length < 8) throw new SafetensorsFormatError(`file is ${buf.length} bytes, too short for a safetensors header (truncated?)`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const n = view.getBigUint64(0, true);
  if (n > BigInt(buf.length - 8)) throw new SafetensorsFormatError(`header length ${n} exceeds the file size ${buf.length} (truncated or not a safetensors file)`);
  const headerLen = Number(n);
  let header: unknown;
  try {
    header = JSON.parse(Buffer.from(buf.buffer, buf.byteOffset + 8, headerLen).toString('utf8'));
  } catch (err) {
    throw new SafetensorsFormatError(`header is not valid JSON (${(err as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw new SafetensorsFormatError('header is not a JSON object');
  const dataStart = 8 + headerLen;
  const dataLen = buf.length - dataStart;
  const metadata: Record<string, string> = {};
  const spans: { name: string; begin: number; end: number }[] = [];
  const tensors = new Map<string, SafetensorEntry>();
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw new SafetensorsFormatError('"__metadata__" is not an object');
      for (const [k, v] of Object.entries(entry)) {
        if (typeof v !== 'string') throw new SafetensorsFormatError(`"__metadata__.${k}" is not a string`);
        metadata[k] = v;
      }
      continue;
    }
    if (typeof entry !== 'object' || entry === null) throw new SafetensorsFormatError(`tensor "${name}": header entry is not an object`);
    const { dtype, shape, data_offsets: offsets } = entry as Record<string, unknown>;
    if (dtype !== 'F32') throw new SafetensorsFormatError(`tensor "${name}": dtype ${JSON.stringify(dtype)} is not supported (only F32)`);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) throw new SafetensorsFormatError(`tensor "${name}": invalid shape ${JSON.stringify(shape)}`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((d) => Number.isInteger(d) && d >= 0)) {
      throw new SafetensorsFormatError(`tensor "${name}": invalid data_offsets ${JSON.stringify(offsets)}`);
    }
    const [begin, end] = offsets as [number, number];
    if (end < begin || end > dataLen) throw new SafetensorsFormatError(`tensor "${name}": data_offsets [${begin}, ${end}] outside the data section of ${dataLen} bytes (truncated?)`);
    const count = product(shape as number[]);
    if (count * 4 !== end - begin) throw new SafetensorsFormatError(`tensor "${name}": shape ${JSON.stringify(shape)} needs ${count * 4} bytes but data_offsets span ${end - begin}`);
    spans.push({ name, begin, end });
    const data = new Float32Array(count);
    new Uint8Array(data.buffer).set(buf.subarray(dataStart + begin, dataStart + end));
    tensors.set(name, { shape: shape as number[], data });
  }
  spans.sort((a, b) => a.begin - b.begin);
  let expected = 0;
  for (const s of spans) {
    if (s.begin !== expected) throw new SafetensorsFormatError(`tensor "${s.name}": data starts at ${s.begin}, expected ${expected} (overlapping or gapped tensors)`);
    expected = s.end;
  }
  if (expected !== dataLen) throw new SafetensorsFormatError(`data section is ${dataLen} bytes but tensors cover ${expected}`);
  return { tensors, metadata };
}
