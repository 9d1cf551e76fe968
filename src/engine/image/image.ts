/**
 * IMAGE value type of the engine: an 8-bit RGB raster, row-major, 3 bytes per
 * pixel (no alpha), plus conversions to and from float CHW tensors as used by
 * the diffusion model (VAE/pixel space in [-1, 1]) and by image processing
 * code ([0, 1]).
 *
 * Float -> byte conversion rounds to nearest and clamps, so
 * `fromCHW(toCHW(img))` is lossless for either range.
 */

export interface ImageRGB {
  width: number;
  height: number;
  /** RGB, row-major, 3 bytes per pixel: index (y * width + x) * 3 + channel. */
  data: Uint8ClampedArray;
}

/** Value range of a float tensor: `'-1..1'` (diffusion pixel space) or `'0..1'`. */
export type FloatRange = '-1..1' | '0..1';

function checkDims(width: number, height: number): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new Error(`image dimensions must be positive integers, got ${width}x${height}`);
  }
}

/** A new image filled with one colour (default black). */
export function createImage(width: number, height: number, fill: readonly [number, number, number] = [0, 0, 0]): ImageRGB {
  checkDims(width, height);
  const data = new Uint8ClampedArray(width * height * 3);
  if (fill[0] !== 0 || fill[1] !== 0 || fill[2] !== 0) {
    for (let i = 0; i < data.length; i += 3) {
      data[i] = fill[0];
      data[i + 1] = fill[1];
      data[i + 2] = fill[2];
    }
  }
  return { width, height, data };
}

/** Throws unless `img` is a well-formed ImageRGB. */
export function assertImage(img: ImageRGB): void {
  checkDims(img.width, img.height);
  if (!(img.data instanceof Uint8ClampedArray)) throw new Error('image data must be a Uint8ClampedArray');
  if (img.data.length !== img.width * img.height * 3) {
    throw new Error(`image data has ${img.data.length} bytes, expected ${img.width * img.height * 3} for ${img.width}x${img.height} RGB`);
  }
}

/** Pixel at (x, y) as [r, g, b]. */
export function getPixel(img: ImageRGB, x: number, y: number): [number, number, number] {
  const i = (y * img.width + x) * 3;
  return [img.data[i]!, img.data[i + 1]!, img.data[i + 2]!];
}

/** Sets pixel (x, y); values are clamped/rounded by the Uint8ClampedArray. */
export function setPixel(img: ImageRGB, x: number, y: number, rgb: readonly [number, number, number]): void {
  const i = (y * img.width + x) * 3;
  img.data[i] = rgb[0];
  img.data[i + 1] = rgb[1];
  img.data[i + 2] = rgb[2];
}

export function cloneImage(img: ImageRGB): ImageRGB {
  return { width: img.width, height: img.height, data: new Uint8ClampedArray(img.data) };
}

/**
 * Planar float tensor, shape [3, height, width] (channel-major), in the
 * requested range.
 */
export function toCHW(img: ImageRGB, range: FloatRange = '-1..1'): Float32Array {
  assertImage(img);
  const n = img.width * img.height;
  const out = new Float32Array(3 * n);
  const src = img.data;
  for (let p = 0; p < n; p++) {
    for (let c = 0; c < 3; c++) {
      const v = src[p * 3 + c]! / 255;
      out[c * n + p] = range === '-1..1' ? v * 2 - 1 : v;
    }
  }
  return out;
}

/**
 * Image from a planar float tensor [3, height, width] in the given range.
 * Out-of-range values are clamped; NaN becomes 0 (Uint8ClampedArray rule).
 */
export function fromCHW(chw: ArrayLike<number>, width: number, height: number, range: FloatRange = '-1..1'): ImageRGB {
  checkDims(width, height);
  const n = width * height;
  if (chw.length !== 3 * n) throw new Error(`CHW tensor has ${chw.length} values, expected 3*${height}*${width} = ${3 * n}`);
  const img = createImage(width, height);
  const dst = img.data;
  for (let p = 0; p < n; p++) {
    for (let c = 0; c < 3; c++) {
      const v = chw[c * n + p]!;
      const u = range === '-1..1' ? (v + 1) / 2 : v;
      dst[p * 3 + c] = Math.round(u * 255);
    }
  }
  return img;
}

/** Mean absolute per-channel difference between two same-sized images (0..255). */
export function meanAbsDiff(a: ImageRGB, b: ImageRGB): number {
  if (a.width !== b.width || a.height !== b.height) throw new Error('images differ in size');
  let s = 0;
  for (let i = 0; i < a.data.length; i++) s += Math.abs(a.data[i]! - b.data[i]!);
  return s / a.data.length;
}
