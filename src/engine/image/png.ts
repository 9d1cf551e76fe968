/**
 * PNG encode/decode for ImageRGB (pixels via pngjs) plus text metadata chunks.
 *
 * Text chunks are written by us, not by pngjs: after pngjs produces the file
 * we splice `tEXt` (Latin-1) or `iTXt` (UTF-8, optionally zlib-compressed)
 * chunks in front of IEND, each with its CRC-32 (table-driven, below; Node 20
 * has no zlib.crc32). A value that is pure Latin-1 without NUL goes into
 * `tEXt`, anything else (e.g. graph JSON with non-Latin-1 text) into `iTXt`.
 *
 * Reading walks the chunk list itself, checking the signature, chunk bounds,
 * chunk type names and every CRC, so a damaged file fails with an error that
 * says what is wrong and where (see PngFormatError). `zTXt` is read too.
 */
import { readFile } from 'node:fs/promises';
import { inflateSync, deflateSync } from 'node:zlib';
import { PNG } from 'pngjs';
import type { ImageRGB } from './image.ts';
import { assertImage } from './image.ts';

/** Thrown for malformed PNG data; the message names the problem and byte offset. */
export class PngFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PngFormatError';
  }
}

export const PNG_SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);

// ---------------------------------------------------------------- CRC-32 ----
// CRC-32 as specified by PNG (ISO 3309 / ITU-T V.42): reflected polynomial
// 0xEDB88320, initial value 0xFFFFFFFF, final XOR 0xFFFFFFFF.
const CRC_TABLE: Uint32Array = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** Continues a CRC-32 over `bytes`; start with `crc = 0` for a fresh checksum. */
export function crc32(bytes: Uint8Array, crc = 0): number {
  let c = (crc ^ 0xffffffff) >>> 0;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

// ---------------------------------------------------------------- chunks ----
export interface PngChunk {
  /** Four-letter chunk type, e.g. 'IHDR', 'tEXt'. */
  type: string;
  data: Uint8Array;
  /** Byte offset of the chunk's length field in the file. */
  offset: number;
}

function isChunkTypeByte(b: number): boolean {
  return (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a);
}

/**
 * Parses the chunk list up to and including IEND, verifying structure and
 * CRCs. Bytes after IEND are ignored.
 */
export function readPngChunks(bytes: Uint8Array): PngChunk[] {
  if (bytes.length < PNG_SIGNATURE.length) {
    throw new PngFormatError(`not a PNG: file is only ${bytes.length} bytes, shorter than the 8-byte PNG signature`);
  }
  for (let i = 0; i < PNG_SIGNATURE.length; i++) {
    if (bytes[i] !== PNG_SIGNATURE[i]) {
      throw new PngFormatError('not a PNG: bad signature (the first 8 bytes are not 89 50 4E 47 0D 0A 1A 0A)');
    }
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const chunks: PngChunk[] = [];
  let pos = PNG_SIGNATURE.length;
  for (;;) {
    if (pos === bytes.length) {
      throw new PngFormatError(`truncated PNG: file ends at byte ${pos} without an IEND chunk`);
    }
    if (pos + 8 > bytes.length) {
      throw new PngFormatError(`truncated PNG: incomplete chunk header at byte ${pos} (${bytes.length - pos} bytes left, need 8)`);
    }
    const length = view.getUint32(pos);
    const typeBytes = bytes.subarray(pos + 4, pos + 8);
    if (!typeBytes.every(isChunkTypeByte)) {
      throw new PngFormatError(`corrupt PNG: invalid chunk type bytes [${Array.from(typeBytes).join(', ')}] at byte ${pos}`);
    }
    const type = String.fromCharCode(...typeBytes);
    if (length > 0x7fffffff || pos + 12 + length > bytes.length) {
      throw new PngFormatError(
        `truncated PNG: chunk '${type}' at byte ${pos} declares ${length} data bytes but only ${Math.max(0, bytes.length - pos - 12)} remain`,
      );
    }
    const data = bytes.subarray(pos + 8, pos + 8 + length);
    const stored = view.getUint32(pos + 8 + length);
    const actual = crc32(data, crc32(typeBytes));
    if (stored !== actual) {
      throw new PngFormatError(
        `corrupt PNG: CRC mismatch in chunk '${type}' at byte ${pos} (stored 0x${stored.toString(16).padStart(8, '0')}, computed 0x${actual.toString(16).padStart(8, '0')})`,
      );
    }
    if (chunks.length === 0 && type !== 'IHDR') {
      throw new PngFormatError(`corrupt PNG: first chunk is '${type}', expected 'IHDR'`);
    }
    chunks.push({ type, data, offset: pos });
    pos += 12 + length;
    if (type === 'IEND') return chunks;
  }
}

/** Serialises one chunk (length, type, data, CRC). */
export function encodeChunk(type: string, data: Uint8Array): Uint8Array {
  if (type.length !== 4 || ![...type].every((ch) => isChunkTypeByte(ch.charCodeAt(0)))) {
    throw new Error(`invalid PNG chunk type '${type}'`);
  }
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

// ------------------------------------------------------------ text chunks ----
function latin1Bytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

function latin1String(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i += 0x8000) s += String.fromCharCode(...b.subarray(i, i + 0x8000));
  return s;
}

function isLatin1NoNul(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0 || c > 0xff) return false;
  }
  return true;
}

/** PNG keyword rule: 1-79 Latin-1 printable characters, no leading/trailing/double spaces. */
export function assertValidKeyword(keyword: string): void {
  const ok =
    keyword.length >= 1 &&
    keyword.length <= 79 &&
    [...keyword].every((ch) => {
      const c = ch.charCodeAt(0);
      return (c >= 32 && c <= 126) || (c >= 161 && c <= 255);
    }) &&
    !keyword.startsWith(' ') &&
    !keyword.endsWith(' ') &&
    !keyword.includes('  ');
  if (!ok) {
    throw new Error(
      `invalid PNG text keyword ${JSON.stringify(keyword)}: must be 1-79 printable Latin-1 characters without leading, trailing or double spaces`,
    );
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** A `tEXt` chunk (keyword and text both Latin-1; text must not contain NUL). */
export function tEXtChunk(keyword: string, text: string): Uint8Array {
  assertValidKeyword(keyword);
  if (!isLatin1NoNul(text)) throw new Error(`tEXt value for '${keyword}' is not NUL-free Latin-1; use an iTXt chunk`);
  return encodeChunk('tEXt', concat([latin1Bytes(keyword), Uint8Array.of(0), latin1Bytes(text)]));
}

/** An `iTXt` chunk: UTF-8 text, empty language tag, optionally zlib-compressed. */
export function iTXtChunk(keyword: string, text: string, compress = false): Uint8Array {
  assertValidKeyword(keyword);
  const utf8 = new TextEncoder().encode(text);
  const body = compress ? new Uint8Array(deflateSync(utf8)) : utf8;
  // keyword \0 compression-flag compression-method language-tag \0 translated-keyword \0 text
  return encodeChunk('iTXt', concat([latin1Bytes(keyword), Uint8Array.of(0, compress ? 1 : 0, 0, 0, 0), body]));
}

function decodeTextChunk(chunk: PngChunk): [string, string] {
  const d = chunk.data;
  const where = `${chunk.type} chunk at byte ${chunk.offset}`;
  const nul = d.indexOf(0);
  if (nul < 1 || nul > 79) throw new PngFormatError(`corrupt PNG: ${where} has no valid NUL-terminated keyword`);
  const keyword = latin1String(d.subarray(0, nul));
  if (chunk.type === 'tEXt') return [keyword, latin1String(d.subarray(nul + 1))];
  if (chunk.type === 'zTXt') {
    if (d[nul + 1] !== 0) throw new PngFormatError(`corrupt PNG: ${where} uses unknown compression method ${d[nul + 1]}`);
    try {
      return [keyword, latin1String(new Uint8Array(inflateSync(d.subarray(nul + 2))))];
    } catch (e) {
      throw new PngFormatError(`corrupt PNG: ${where} ('${keyword}') has invalid zlib data: ${(e as Error).message}`);
    }
  }
  // iTXt
  if (d.length < nul + 3) throw new PngFormatError(`corrupt PNG: ${where} ('${keyword}') is truncated`);
  const flag = d[nul + 1]!;
  const method = d[nul + 2]!;
  const langEnd = d.indexOf(0, nul + 3);
  const transEnd = langEnd < 0 ? -1 : d.indexOf(0, langEnd + 1);
  if (langEnd < 0 || transEnd < 0) {
    throw new PngFormatError(`corrupt PNG: ${where} ('${keyword}') lacks the language-tag / translated-keyword terminators`);
  }
  let body = d.subarray(transEnd + 1);
  if (flag === 1) {
    if (method !== 0) throw new PngFormatError(`corrupt PNG: ${where} ('${keyword}') uses unknown compression method ${method}`);
    try {
      body = new Uint8Array(inflateSync(body));
    } catch (e) {
      throw new PngFormatError(`corrupt PNG: ${where} ('${keyword}') has invalid zlib data: ${(e as Error).message}`);
    }
  } else if (flag !== 0) {
    throw new PngFormatError(`corrupt PNG: ${where} ('${keyword}') has compression flag ${flag}, expected 0 or 1`);
  }
  try {
    return [keyword, new TextDecoder('utf-8', { fatal: true }).decode(body)];
  } catch {
    throw new PngFormatError(`corrupt PNG: ${where} ('${keyword}') text is not valid UTF-8`);
  }
}

/**
 * All text metadata (`tEXt`, `zTXt`, `iTXt`) of a PNG file as keyword -> text.
 * When a keyword repeats, the later chunk wins.
 */
export function readPngText(bytes: Uint8Array): Record<string, string> {
  const out: Record<string, string> = {};
  for (const chunk of readPngChunks(bytes)) {
    if (chunk.type === 'tEXt' || chunk.type === 'zTXt' || chunk.type === 'iTXt') {
      const [k, v] = decodeTextChunk(chunk);
      out[k] = v;
    }
  }
  return out;
}

export interface TextChunkOptions {
  /** keyword -> text. Latin-1 values without NUL become tEXt, others iTXt. */
  text?: Record<string, string>;
  /** Always use iTXt (UTF-8), even for Latin-1 values. Default false. */
  forceITXt?: boolean;
  /** zlib-compress iTXt values at least this many UTF-8 bytes long. Default: never. */
  compressAbove?: number;
}

function textChunksFor(opts: TextChunkOptions): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  for (const [k, v] of Object.entries(opts.text ?? {})) {
    if (!opts.forceITXt && isLatin1NoNul(v)) {
      chunks.push(tEXtChunk(k, v));
    } else {
      const n = new TextEncoder().encode(v).length;
      chunks.push(iTXtChunk(k, v, opts.compressAbove !== undefined && n >= opts.compressAbove));
    }
  }
  return chunks;
}

/** Returns a copy of `png` with text chunks inserted just before IEND. */
export function addPngText(png: Uint8Array, opts: TextChunkOptions): Uint8Array {
  const chunks = readPngChunks(png);
  const iend = chunks[chunks.length - 1]!;
  return concat([png.subarray(0, iend.offset), ...textChunksFor(opts), png.subarray(iend.offset, iend.offset + 12)]);
}

// ------------------------------------------------------------- pixels ----
/** Encodes an ImageRGB as an 8-bit RGB PNG (colour type 2), with optional text chunks. */
export function encodePng(image: ImageRGB, opts: TextChunkOptions = {}): Uint8Array {
  assertImage(image);
  const { width, height, data } = image;
  const png = new PNG({ width, height });
  const rgba = png.data;
  for (let p = 0, n = width * height; p < n; p++) {
    rgba[p * 4] = data[p * 3]!;
    rgba[p * 4 + 1] = data[p * 3 + 1]!;
    rgba[p * 4 + 2] = data[p * 3 + 2]!;
    rgba[p * 4 + 3] = 255;
  }
  const bytes = new Uint8Array(PNG.sync.write(png, { colorType: 2, inputColorType: 6, bitDepth: 8 }));
  return opts.text && Object.keys(opts.text).length > 0 ? addPngText(bytes, opts) : bytes;
}

/**
 * Decodes any PNG pngjs supports (grey, palette, RGB, with/without alpha,
 * 8/16 bit) to ImageRGB. Alpha is dropped (not composited). The chunk list
 * and CRCs are validated first so corrupt input gives a PngFormatError.
 */
export function decodePng(bytes: Uint8Array): ImageRGB {
  const chunks = readPngChunks(bytes);
  if (!chunks.some((c) => c.type === 'IDAT')) throw new PngFormatError('corrupt PNG: no IDAT (image data) chunk');
  let png;
  try {
    png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (e) {
    throw new PngFormatError(`corrupt PNG: pixel data could not be decoded: ${(e as Error).message}`);
  }
  const { width, height } = png;
  const out = new Uint8ClampedArray(width * height * 3);
  for (let p = 0, n = width * height; p < n; p++) {
    out[p * 3] = png.data[p * 4]!;
    out[p * 3 + 1] = png.data[p * 4 + 1]!;
    out[p * 3 + 2] = png.data[p * 4 + 2]!;
  }
  return { width, height, data: out };
}

/** Reads a PNG file: its image and text chunks. Failures say which file and why (unreadable, not a PNG). */
export async function readPngFile(file: string): Promise<{ image: ImageRGB; text: Record<string, string> }> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(file));
  } catch (err) {
    throw new PngFormatError(`${file}: cannot read the image (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  try {
    return { image: decodePng(bytes), text: readPngText(bytes) };
  } catch (err) {
    throw new PngFormatError(`${file}: not a readable PNG image (${(err as Error).message})`);
  }
}
