/**
 * Small pixel operations on ImageRGB, used to imitate imperfect model output
 * when testing the detector: separable Gaussian blur, per-pixel
 * affine colour change (drift/desaturation), and downscale/upscale.
 * All return new images.
 */
import type { ImageRGB } from './image.ts';
import { createImage } from './image.ts';

/** Separable Gaussian blur with edge clamping; radius = ceil(3 sigma). */
export function gaussianBlur(img: ImageRGB, sigma: number): ImageRGB {
  if (sigma <= 0) return { ...img, data: new Uint8ClampedArray(img.data) };
  const r = Math.ceil(3 * sigma);
  const k = new Float32Array(2 * r + 1);
  let sum = 0;
  for (let i = -r; i <= r; i++) sum += k[i + r] = Math.exp(-(i * i) / (2 * sigma * sigma));
  for (let i = 0; i < k.length; i++) k[i]! /= sum;
  const { width: w, height: h } = img;
  const tmp = new Float32Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < 3; c++) {
        let acc = 0;
        for (let i = -r; i <= r; i++) acc += k[i + r]! * img.data[(y * w + Math.min(w - 1, Math.max(0, x + i))) * 3 + c]!;
        tmp[(y * w + x) * 3 + c] = acc;
      }
    }
  }
  const out = createImage(w, h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < 3; c++) {
        let acc = 0;
        for (let i = -r; i <= r; i++) acc += k[i + r]! * tmp[(Math.min(h - 1, Math.max(0, y + i)) * w + x) * 3 + c]!;
        out.data[(y * w + x) * 3 + c] = Math.round(acc);
      }
    }
  }
  return out;
}

/**
 * Per-pixel colour change: out = mean + saturation * (px - mean) + shift,
 * where mean is the pixel's grey level (desaturation for saturation < 1).
 */
export function adjustColor(img: ImageRGB, opts: { saturation?: number; shift?: readonly [number, number, number] } = {}): ImageRGB {
  const s = opts.saturation ?? 1;
  const sh = opts.shift ?? [0, 0, 0];
  const out = createImage(img.width, img.height);
  for (let p = 0; p < img.data.length; p += 3) {
    const m = (img.data[p]! + img.data[p + 1]! + img.data[p + 2]!) / 3;
    for (let c = 0; c < 3; c++) out.data[p + c] = Math.round(m + s * (img.data[p + c]! - m) + sh[c]!);
  }
  return out;
}

/** Nearest-neighbour resize. */
export function resizeNearest(img: ImageRGB, width: number, height: number): ImageRGB {
  const out = createImage(width, height);
  for (let y = 0; y < height; y++) {
    const sy = Math.min(img.height - 1, Math.floor(((y + 0.5) * img.height) / height));
    for (let x = 0; x < width; x++) {
      const sx = Math.min(img.width - 1, Math.floor(((x + 0.5) * img.width) / width));
      const si = (sy * img.width + sx) * 3;
      const di = (y * width + x) * 3;
      out.data[di] = img.data[si]!;
      out.data[di + 1] = img.data[si + 1]!;
      out.data[di + 2] = img.data[si + 2]!;
    }
  }
  return out;
}
