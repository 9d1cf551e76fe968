/**
 * Attention heatmaps as images, for previews: a map over an image (jet-like colours blended
 * with the picture) and grids of maps (one tile per layer or per step).
 */
import { createImage, type ImageRGB } from '../image/image.ts';

/** Blue -> cyan -> yellow -> red for v in [0, 1]. */
export function heatColor(v: number): [number, number, number] {
  const x = Math.max(0, Math.min(1, v));
  const r = Math.round(255 * Math.min(1, Math.max(0, 2 * x - 0.5)));
  const g = Math.round(255 * Math.min(1, Math.max(0, x < 0.5 ? 2 * x : 2 - 2 * x + 0.5)));
  const b = Math.round(255 * Math.min(1, Math.max(0, 1 - 2 * x)));
  return [r, g, b];
}

/** The map (mapSize x mapSize, any scale; normalised to its max) blended over the image (alpha 0.55). */
export function overlayHeatmap(image: ImageRGB, map: ArrayLike<number>, mapSize: number, alpha = 0.55): ImageRGB {
  let max = 0;
  for (let i = 0; i < map.length; i++) max = Math.max(max, map[i]!);
  const out = createImage(image.width, image.height);
  for (let y = 0; y < image.height; y++) {
    for (let x = 0; x < image.width; x++) {
      const mx = Math.min(mapSize - 1, Math.floor((x * mapSize) / image.width));
      const my = Math.min(mapSize - 1, Math.floor((y * mapSize) / image.height));
      const c = heatColor(max > 0 ? map[my * mapSize + mx]! / max : 0);
      const i = (y * image.width + x) * 3;
      for (let k = 0; k < 3; k++) out.data[i + k] = Math.round((1 - alpha) * image.data[i + k]! + alpha * c[k]!);
    }
  }
  return out;
}

/** Tiles of `scale`-times enlarged maps in a grid (`columns` wide), 2 px gaps. */
export function heatmapGrid(maps: readonly ArrayLike<number>[], mapSize: number, columns: number, scale = 4): ImageRGB {
  const tile = mapSize * scale;
  const rows = Math.ceil(maps.length / columns);
  const gap = 2;
  const out = createImage(columns * (tile + gap) - gap, Math.max(1, rows * (tile + gap) - gap), [255, 255, 255]);
  maps.forEach((m, k) => {
    let max = 0;
    for (let i = 0; i < m.length; i++) max = Math.max(max, m[i]!);
    const ox = (k % columns) * (tile + gap);
    const oy = Math.floor(k / columns) * (tile + gap);
    for (let y = 0; y < tile; y++) {
      for (let x = 0; x < tile; x++) {
        const c = heatColor(max > 0 ? m[Math.floor(y / scale) * mapSize + Math.floor(x / scale)]! / max : 0);
        const i = ((oy + y) * out.width + ox + x) * 3;
        out.data[i] = c[0];
        out.data[i + 1] = c[1];
        out.data[i + 2] = c[2];
      }
    }
  });
  return out;
}
