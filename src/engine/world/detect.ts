/**
 * Shape World detector: colour segmentation + shape classification.
 *
 * 1. Background: per-channel median of the image border (robust to a model
 *    drawing an off-white or tinted background), or `opts.background`.
 * 2. Per pixel, for each palette colour c, the pixel is modelled as a blend
 *    bg + a*(c - bg): a = coverage (least squares), residual = distance of the
 *    pixel from that line. The pixel takes the colour with the smallest
 *    residual if residual <= maxResidual (colour drift tolerance, default 70)
 *    and residual <= 0.3 * |pixel - bg| (hue within ~17 degrees, so greys and
 *    off-palette colours are rejected) and a >= minCoverage (default 0.5, i.e.
 *    at least half covered); else it is background/unknown. Measuring a blend rather than exact RGB makes the
 *    labelling tolerant of blur, anti-aliasing, desaturation and noise.
 * 3. 8-connected components per colour; components under minArea pixels
 *    (default 30) are dropped; holes inside a component are filled.
 * 4. Shape from bounding-box-normalised features of the component mask (after
 *    trimming one-pixel tips, see trimPimples):
 *      fill      area / box area        circle .785, square 1, diamond/triangle .5, cross .556
 *      solidity  area / convex hull     cross ~.72 (empty corners), others ~1
 *      vbal      |vertical centroid - 1/2| (box units): triangle 1/6 (apex up), others 0
 *      corners   fill of the four corner cells (1/4 x 1/4 of the box): square 1,
 *                circle ~.3, triangle ~.4, diamond and cross 0
 *    Each shape has a prototype (mean, tolerance) per feature; D^2 is the
 *    normalised squared distance. The label is the nearest prototype and
 *    score = posterior (softmax of -D^2/2 over shapes) * fit, fit =
 *    exp(-D^2_best / 8), times a penalty for boxes far from square (every
 *    Shape World object is 1:1), so odd blobs far from every prototype score low.
 * Boxes are pixel extents [minX, minY, maxX + 1, maxY + 1].
 */
import type { Box } from '../eval/geneval.ts';
import type { ImageRGB } from '../image/image.ts';
import type { Color, RGB, Shape } from './types.ts';
import { COLORS, PALETTE, SHAPES } from './types.ts';

export interface Detection {
  color: Color;
  shape: Shape;
  box: Box;
  score: number;
  /** Pixel count of the (hole-filled) component. */
  area: number;
  features: ShapeFeatures;
}

export interface ShapeFeatures {
  fill: number;
  solidity: number;
  vbal: number;
  corners: number;
  /** Mean radius along the 4 diagonals from the box centre, box-normalised, / 0.5. */
  diag: number;
  /** Box width / height. */
  aspect: number;
}

export interface DetectOptions {
  /** Background colour; default: median of the border pixels. */
  background?: RGB;
  /** Max distance (0..255 units) of a pixel from the bg->colour line. Default 70. */
  maxResidual?: number;
  /** Max residual relative to the pixel's distance from the background (sine of the hue angle). Default 0.3. */
  maxResidualFraction?: number;
  /** Min estimated coverage of a pixel by the colour. Default 0.5. */
  minCoverage?: number;
  /** Components smaller than this (pixels) are ignored. Default 30. */
  minArea?: number;
  /** Detections scoring below this are dropped. Default 0. */
  minScore?: number;
}

/**
 * Per-shape feature prototypes: [mean, tolerance]. Set from features measured
 * on rendered objects (sizes 14-22, noise sigma 3), sharp and with a Gaussian
 * blur of sigma 1.5 (a stand-in for soft model output); means sit between the
 * two, tolerances cover both.
 */
export const SHAPE_PROTOTYPES: Readonly<Record<Shape, Readonly<Record<ShapeFeatureName, readonly [number, number]>>>> = {
  circle: { fill: [0.78, 0.05], solidity: [1, 0.04], vbal: [0, 0.04], corners: [0.28, 0.1], diag: [1.01, 0.05] },
  square: { fill: [0.96, 0.05], solidity: [0.99, 0.04], vbal: [0, 0.04], corners: [0.9, 0.12], diag: [1.33, 0.07] },
  diamond: { fill: [0.58, 0.07], solidity: [1, 0.04], vbal: [0, 0.04], corners: [0.02, 0.1], diag: [0.79, 0.06] },
  triangle: { fill: [0.58, 0.06], solidity: [0.99, 0.04], vbal: [0.13, 0.035], corners: [0.42, 0.1], diag: [0.96, 0.06] },
  cross: { fill: [0.55, 0.06], solidity: [0.8, 0.06], vbal: [0, 0.04], corners: [0, 0.1], diag: [0.56, 0.06] },
};

export const SHAPE_FEATURES = ['fill', 'solidity', 'vbal', 'corners', 'diag'] as const;
export type ShapeFeatureName = (typeof SHAPE_FEATURES)[number];

/** Median of each channel over the border pixels. */
export function estimateBackground(img: ImageRGB): RGB {
  const { width: w, height: h, data } = img;
  const ch: number[][] = [[], [], []];
  const add = (x: number, y: number): void => {
    const i = (y * w + x) * 3;
    for (let c = 0; c < 3; c++) ch[c]!.push(data[i + c]!);
  };
  for (let x = 0; x < w; x++) {
    add(x, 0);
    if (h > 1) add(x, h - 1);
  }
  for (let y = 1; y < h - 1; y++) {
    add(0, y);
    if (w > 1) add(w - 1, y);
  }
  const med = (a: number[]): number => {
    a.sort((p, q) => p - q);
    return a[a.length >> 1]!;
  };
  return [med(ch[0]!), med(ch[1]!), med(ch[2]!)];
}

/**
 * Colour label per pixel: index into COLORS, or -1 for background/unknown.
 */
export function labelPixels(img: ImageRGB, opts: DetectOptions = {}): Int8Array {
  const bg = opts.background ?? estimateBackground(img);
  const maxRes2 = (opts.maxResidual ?? 70) ** 2;
  const minA = opts.minCoverage ?? 0.5;
  const maxFrac2 = (opts.maxResidualFraction ?? 0.3) ** 2;
  const dirs = COLORS.map((c) => {
    const p = PALETTE[c];
    const e = [p[0] - bg[0], p[1] - bg[1], p[2] - bg[2]] as const;
    return { e, n2: e[0] * e[0] + e[1] * e[1] + e[2] * e[2] };
  });
  const n = img.width * img.height;
  const labels = new Int8Array(n).fill(-1);
  const d = img.data;
  for (let p = 0; p < n; p++) {
    const r = d[p * 3]! - bg[0];
    const g = d[p * 3 + 1]! - bg[1];
    const b = d[p * 3 + 2]! - bg[2];
    const dist2 = r * r + g * g + b * b;
    if (dist2 < 400) continue; // within 20 of background: fast path
    let best = -1;
    let bestRes = Infinity;
    let bestA = 0;
    for (let k = 0; k < dirs.length; k++) {
      const { e, n2 } = dirs[k]!;
      if (n2 === 0) continue;
      const a = Math.min((r * e[0] + g * e[1] + b * e[2]) / n2, 1.5);
      if (a <= 0) continue;
      const rr = r - a * e[0];
      const rg = g - a * e[1];
      const rb = b - a * e[2];
      const res = rr * rr + rg * rg + rb * rb;
      if (res < bestRes) {
        bestRes = res;
        best = k;
        bestA = a;
      }
    }
    if (best >= 0 && bestRes <= maxRes2 && bestRes <= maxFrac2 * dist2 && bestA >= minA) labels[p] = best;
  }
  return labels;
}

interface Component {
  label: number;
  pixels: number[];
  x0: number;
  y0: number;
  x1: number; // inclusive
  y1: number;
}

/** 8-connected components of equal non-negative labels. */
function components(labels: Int8Array, w: number, h: number): Component[] {
  const seen = new Uint8Array(labels.length);
  const out: Component[] = [];
  const stack: number[] = [];
  for (let s = 0; s < labels.length; s++) {
    const lab = labels[s]!;
    if (lab < 0 || seen[s]) continue;
    const comp: Component = { label: lab, pixels: [], x0: w, y0: h, x1: -1, y1: -1 };
    seen[s] = 1;
    stack.push(s);
    while (stack.length > 0) {
      const p = stack.pop()!;
      comp.pixels.push(p);
      const x = p % w;
      const y = (p - x) / w;
      if (x < comp.x0) comp.x0 = x;
      if (x > comp.x1) comp.x1 = x;
      if (y < comp.y0) comp.y0 = y;
      if (y > comp.y1) comp.y1 = y;
      for (let dy = -1; dy <= 1; dy++) {
        const yy = y + dy;
        if (yy < 0 || yy >= h) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const xx = x + dx;
          if (xx < 0 || xx >= w || (dx === 0 && dy === 0)) continue;
          const q = yy * w + xx;
          if (!seen[q] && labels[q] === lab) {
            seen[q] = 1;
            stack.push(q);
          }
        }
      }
    }
    out.push(comp);
  }
  return out;
}

/** Box-local mask (bw x bh) with holes filled (pixels not 4-connected to the box border). */
function filledMask(c: Component, w: number): { mask: Uint8Array; bw: number; bh: number } {
  const bw = c.x1 - c.x0 + 1;
  const bh = c.y1 - c.y0 + 1;
  const mask = new Uint8Array(bw * bh);
  for (const p of c.pixels) {
    const x = p % w;
    const y = (p - x) / w;
    mask[(y - c.y0) * bw + (x - c.x0)] = 1;
  }
  // Flood the outside from the border of a 1-pixel padded box.
  const pw = bw + 2;
  const ph = bh + 2;
  const outside = new Uint8Array(pw * ph);
  const stack = [0];
  outside[0] = 1;
  while (stack.length > 0) {
    const p = stack.pop()!;
    const x = p % pw;
    const y = (p - x) / pw;
    for (const [dx, dy] of [[1, 0], [-1, 0], [0, 1], [0, -1]] as const) {
      const xx = x + dx;
      const yy = y + dy;
      if (xx < 0 || yy < 0 || xx >= pw || yy >= ph) continue;
      const q = yy * pw + xx;
      if (outside[q]) continue;
      const inner = xx >= 1 && yy >= 1 && xx <= bw && yy <= bh;
      if (inner && mask[(yy - 1) * bw + (xx - 1)]) continue;
      outside[q] = 1;
      stack.push(q);
    }
  }
  for (let y = 0; y < bh; y++) for (let x = 0; x < bw; x++) if (!outside[(y + 1) * pw + (x + 1)]) mask[y * bw + x] = 1;
  return { mask, bw, bh };
}

/**
 * Drops a single-pixel "pimple" on each side of the mask: an outermost row
 * (column) with <= 2 pixels whose neighbour row (column) has >= 3x as many
 * and >= 6. Such tips appear where a round edge just reaches 50% coverage in
 * one pixel, and would otherwise inflate the box used for shape features.
 * Diamond and triangle tips (1 then 2-3 pixels) are kept.
 */
export function trimPimples(mask: Uint8Array, bw: number, bh: number): { mask: Uint8Array; bw: number; bh: number } {
  const rowCount = (m: Uint8Array, w: number, y: number): number => {
    let n = 0;
    for (let x = 0; x < w; x++) n += m[y * w + x]!;
    return n;
  };
  const colCount = (m: Uint8Array, w: number, h: number, x: number): number => {
    let n = 0;
    for (let y = 0; y < h; y++) n += m[y * w + x]!;
    return n;
  };
  const pimple = (edge: number, next: number): boolean => edge <= 2 && next >= 6 && next >= 3 * edge;
  let y0 = 0;
  let y1 = bh - 1;
  let x0 = 0;
  let x1 = bw - 1;
  if (bh >= 6 && pimple(rowCount(mask, bw, 0), rowCount(mask, bw, 1))) y0 = 1;
  if (bh >= 6 && pimple(rowCount(mask, bw, bh - 1), rowCount(mask, bw, bh - 2))) y1 = bh - 2;
  if (bw >= 6 && pimple(colCount(mask, bw, bh, 0), colCount(mask, bw, bh, 1))) x0 = 1;
  if (bw >= 6 && pimple(colCount(mask, bw, bh, bw - 1), colCount(mask, bw, bh, bw - 2))) x1 = bw - 2;
  if (x0 === 0 && y0 === 0 && x1 === bw - 1 && y1 === bh - 1) return { mask, bw, bh };
  const nw = x1 - x0 + 1;
  const nh = y1 - y0 + 1;
  const out = new Uint8Array(nw * nh);
  for (let y = 0; y < nh; y++) for (let x = 0; x < nw; x++) out[y * nw + x] = mask[(y + y0) * bw + (x + x0)]!;
  return { mask: out, bw: nw, bh: nh };
}

/** Convex hull (counter-clockwise, monotone chain) of 2-D points. */
function convexHull(pts: [number, number][]): [number, number][] {
  const p = pts.slice().sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  if (p.length < 3) return p;
  const cross = (o: [number, number], a: [number, number], b: [number, number]): number =>
    (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
  const lower: [number, number][] = [];
  for (const pt of p) {
    while (lower.length >= 2 && cross(lower[lower.length - 2]!, lower[lower.length - 1]!, pt) <= 0) lower.pop();
    lower.push(pt);
  }
  const upper: [number, number][] = [];
  for (let i = p.length - 1; i >= 0; i--) {
    const pt = p[i]!;
    while (upper.length >= 2 && cross(upper[upper.length - 2]!, upper[upper.length - 1]!, pt) <= 0) upper.pop();
    upper.push(pt);
  }
  return lower.slice(0, -1).concat(upper.slice(0, -1));
}

/** Bounding-box-normalised shape features of a binary mask (bw x bh). */
export function shapeFeatures(mask: Uint8Array, bw: number, bh: number): ShapeFeatures {
  let area = 0;
  let sy = 0;
  let cornerHit = 0;
  let cornerTot = 0;
  const ends: [number, number][] = [];
  for (let y = 0; y < bh; y++) {
    let first = -1;
    let last = -1;
    const v = (y + 0.5) / bh;
    for (let x = 0; x < bw; x++) {
      const on = mask[y * bw + x]!;
      const u = (x + 0.5) / bw;
      const inCorner = (u < 0.25 || u > 0.75) && (v < 0.25 || v > 0.75);
      if (inCorner) {
        cornerTot++;
        cornerHit += on;
      }
      if (!on) continue;
      area++;
      sy += v;
      if (first < 0) first = x;
      last = x;
    }
    if (first >= 0) {
      ends.push([first, y], [last, y]);
    }
  }
  // Solidity: mask pixels over pixels whose centres lie in the hull of mask pixel centres.
  const hull = convexHull(ends);
  let hullCount = 0;
  if (hull.length < 3) {
    hullCount = area;
  } else {
    for (let y = 0; y < bh; y++) {
      for (let x = 0; x < bw; x++) {
        let inside = true;
        for (let i = 0; i < hull.length && inside; i++) {
          const a = hull[i]!;
          const b = hull[(i + 1) % hull.length]!;
          if ((b[0] - a[0]) * (y - a[1]) - (b[1] - a[1]) * (x - a[0]) < -1e-9) inside = false;
        }
        if (inside) hullCount++;
      }
    }
  }
  // Diagonal radii, marched in box-normalised units from the box centre.
  let diagSum = 0;
  for (const [sx, sy2] of [[1, 1], [1, -1], [-1, 1], [-1, -1]] as const) {
    let t = 0;
    for (; t < 0.75; t += 0.01) {
      const x = Math.floor(bw * (0.5 + sx * t * Math.SQRT1_2));
      const y = Math.floor(bh * (0.5 + sy2 * t * Math.SQRT1_2));
      if (x < 0 || y < 0 || x >= bw || y >= bh || !mask[y * bw + x]) break;
    }
    diagSum += t;
  }
  return {
    fill: area / (bw * bh),
    diag: diagSum / 4 / 0.5,
    solidity: hullCount > 0 ? Math.min(1, area / hullCount) : 1,
    vbal: area > 0 ? Math.abs(sy / area - 0.5) : 0,
    corners: cornerTot > 0 ? cornerHit / cornerTot : 0,
    aspect: bw / bh,
  };
}

/** Shape label and score for a feature vector (see the module comment). */
export function classifyShape(f: ShapeFeatures): { shape: Shape; score: number; distances: Record<Shape, number> } {
  const distances = {} as Record<Shape, number>;
  let best: Shape = 'circle';
  let bestD = Infinity;
  for (const s of SHAPES) {
    const proto = SHAPE_PROTOTYPES[s];
    let d2 = 0;
    for (const k of SHAPE_FEATURES) {
      const [mu, sd] = proto[k];
      d2 += ((f[k] - mu) / sd) ** 2;
    }
    distances[s] = d2;
    if (d2 < bestD) {
      bestD = d2;
      best = s;
    }
  }
  let z = 0;
  for (const s of SHAPES) z += Math.exp(-(distances[s] - bestD) / 2);
  const posterior = 1 / z;
  const aspectPenalty = Math.exp(-(Math.log(f.aspect) ** 2) / (2 * 0.25 ** 2));
  return { shape: best, score: posterior * Math.exp(-bestD / 8) * aspectPenalty, distances };
}

/** Detects coloured shapes in an image. Sorted by score, highest first. */
export function detect(img: ImageRGB, opts: DetectOptions = {}): Detection[] {
  const { width: w, height: h } = img;
  const labels = labelPixels(img, opts);
  const minArea = opts.minArea ?? 30;
  const out: Detection[] = [];
  for (const c of components(labels, w, h)) {
    if (c.pixels.length < minArea) continue;
    const { mask, bw, bh } = filledMask(c, w);
    const t = trimPimples(mask, bw, bh);
    const features = shapeFeatures(t.mask, t.bw, t.bh);
    const { shape, score } = classifyShape(features);
    if (score < (opts.minScore ?? 0)) continue;
    let area = 0;
    for (let i = 0; i < mask.length; i++) area += mask[i]!;
    out.push({ color: COLORS[c.label]!, shape, box: [c.x0, c.y0, c.x1 + 1, c.y1 + 1], score, area, features });
  }
  return out.sort((a, b) => b.score - a.score);
}
