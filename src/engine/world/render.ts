/**
 * Shape World renderer: Scene -> ImageRGB, anti-aliased by supersampling.
 *
 * Each pixel is sampled on an SxS grid (default 4x4 = 16 samples); the
 * fraction of samples inside an object is its coverage, and the pixel is
 * background*(1-coverage) + colour*coverage (objects never overlap, so this is
 * exact compositing). Optional Gaussian noise (sigma in 0..255 units, drawn
 * from a seeded Rng) is added to every channel of every pixel afterwards.
 * Output is a pure function of (scene, options).
 *
 * Shape geometry in units of `size`, relative to the centre, (u, v) in
 * [-1/2, 1/2]^2, v down:
 *   circle   u^2 + v^2 <= 1/4                                (fills pi/4 ~ 0.785 of its box)
 *   square   the whole box                                   (1.0)
 *   diamond  |u| + |v| <= 1/2                                (0.5)
 *   triangle apex up at (0, -1/2), base on v = 1/2: |u| <= (v + 1/2)/2   (0.5, area 3/4 in the lower half)
 *   cross    plus sign with arms 1/3 wide: |u| <= 1/6 or |v| <= 1/6    (5/9 ~ 0.556, empty corners)
 */
import type { ImageRGB } from '../image/image.ts';
import { createImage } from '../image/image.ts';
import { Rng } from './rng.ts';
import type { RGB, Scene, Shape } from './types.ts';
import { BACKGROUND, PALETTE, WORLD_SIZE } from './types.ts';

/** Arm width of the cross as a fraction of its size. */
export const CROSS_ARM = 1 / 3;

/** Whether the point (u, v), in size units relative to the centre, lies inside `shape`. */
export function insideShape(shape: Shape, u: number, v: number): boolean {
  const au = Math.abs(u);
  const av = Math.abs(v);
  switch (shape) {
    case 'circle':
      return u * u + v * v <= 0.25;
    case 'square':
      return au <= 0.5 && av <= 0.5;
    case 'diamond':
      return au + av <= 0.5;
    case 'triangle':
      return v >= -0.5 && v <= 0.5 && au <= (v + 0.5) / 2;
    case 'cross':
      return (au <= CROSS_ARM / 2 && av <= 0.5) || (av <= CROSS_ARM / 2 && au <= 0.5);
  }
}

export interface RenderOptions {
  /** Samples per pixel side (S x S per pixel). Default 4. */
  supersample?: number;
  /** Std-dev of additive Gaussian noise in 0..255 units. Default 0 (none). */
  noise?: number;
  /** Seed for the noise. Default 0. */
  noiseSeed?: number | string;
  /** Background colour. Default BACKGROUND. */
  background?: RGB;
}

/**
 * Coverage map of one object: for every pixel of its (clipped) bounding box,
 * the fraction of supersamples inside the shape.
 */
function forEachCoverage(
  o: Scene['objects'][number],
  width: number,
  height: number,
  ss: number,
  fn: (x: number, y: number, coverage: number) => void,
): void {
  const h = o.size / 2;
  const x0 = Math.max(0, Math.floor(o.cx - h));
  const x1 = Math.min(width - 1, Math.ceil(o.cx + h));
  const y0 = Math.max(0, Math.floor(o.cy - h));
  const y1 = Math.min(height - 1, Math.ceil(o.cy + h));
  const inv = 1 / (ss * ss);
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++) {
      let hits = 0;
      for (let sy = 0; sy < ss; sy++) {
        const v = (y + (sy + 0.5) / ss - o.cy) / o.size;
        for (let sx = 0; sx < ss; sx++) {
          const u = (x + (sx + 0.5) / ss - o.cx) / o.size;
          if (insideShape(o.shape, u, v)) hits++;
        }
      }
      if (hits > 0) fn(x, y, hits * inv);
    }
  }
}

/** Renders a scene. Deterministic for a given (scene, options). */
export function renderScene(scene: Scene, opts: RenderOptions = {}): ImageRGB {
  const width = scene.width ?? WORLD_SIZE;
  const height = scene.height ?? WORLD_SIZE;
  const ss = opts.supersample ?? 4;
  const bg = opts.background ?? BACKGROUND;
  // Float accumulation buffer so noise is added before the single rounding step.
  const buf = new Float32Array(width * height * 3);
  for (let i = 0; i < buf.length; i += 3) {
    buf[i] = bg[0];
    buf[i + 1] = bg[1];
    buf[i + 2] = bg[2];
  }
  for (const o of scene.objects) {
    const col = PALETTE[o.color];
    forEachCoverage(o, width, height, ss, (x, y, a) => {
      const i = (y * width + x) * 3;
      for (let c = 0; c < 3; c++) buf[i + c] = buf[i + c]! * (1 - a) + col[c]! * a;
    });
  }
  const sigma = opts.noise ?? 0;
  if (sigma > 0) {
    const rng = new Rng(opts.noiseSeed ?? 0);
    for (let i = 0; i < buf.length; i++) buf[i] = buf[i]! + sigma * rng.normal();
  }
  const img = createImage(width, height);
  for (let i = 0; i < buf.length; i++) img.data[i] = Math.round(buf[i]!);
  return img;
}

/** Per-object pixel masks: 1 where the object's coverage is >= 0.5 (used to measure rendered areas). */
export function renderMasks(scene: Scene, opts: { supersample?: number } = {}): Uint8Array[] {
  const width = scene.width ?? WORLD_SIZE;
  const height = scene.height ?? WORLD_SIZE;
  return scene.objects.map((o) => {
    const m = new Uint8Array(width * height);
    forEachCoverage(o, width, height, opts.supersample ?? 4, (x, y, a) => {
      if (a >= 0.5) m[y * width + x] = 1;
    });
    return m;
  });
}
