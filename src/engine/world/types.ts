/**
 * Shape World vocabulary: shapes, the exact colour palette, the background,
 * and the scene description types shared by renderer, captioner, dataset
 * generator and detector.
 *
 * Coordinates are continuous pixel coordinates: pixel (i, j) covers
 * [i, i+1) x [j, j+1), y grows downward. An object's `size` is the side of its
 * axis-aligned bounding square, so its ground-truth box is
 * [cx - size/2, cy - size/2, cx + size/2, cy + size/2].
 */
import type { Box } from '../eval/geneval.ts';

export const SHAPES = ['circle', 'square', 'triangle', 'diamond', 'cross'] as const;
export type Shape = (typeof SHAPES)[number];

export const COLORS = ['red', 'green', 'blue', 'yellow', 'purple', 'orange'] as const;
export type Color = (typeof COLORS)[number];

export type RGB = readonly [number, number, number];

/** Exact object colours (before anti-aliasing and noise). */
export const PALETTE: Readonly<Record<Color, RGB>> = {
  red: [220, 40, 40],
  green: [40, 170, 60],
  blue: [40, 80, 220],
  yellow: [240, 200, 30],
  purple: [150, 60, 200],
  orange: [245, 130, 20],
};

/** Scene background colour (light grey). */
export const BACKGROUND: RGB = [240, 240, 240];

/** Default canvas side in pixels. */
export const WORLD_SIZE = 64;

export interface SceneObject {
  shape: Shape;
  color: Color;
  /** Centre of the bounding square, pixels. */
  cx: number;
  cy: number;
  /** Side of the bounding square, pixels (the object is `size` px across). */
  size: number;
}

export interface Scene {
  /** Canvas size; default WORLD_SIZE x WORLD_SIZE. */
  width?: number;
  height?: number;
  objects: SceneObject[];
}

/** 'red circle' etc. */
export type ObjectName = `${Color} ${Shape}`;

export function objectName(o: { color: Color; shape: Shape }): ObjectName {
  return `${o.color} ${o.shape}`;
}

export function isShape(s: string): s is Shape {
  return (SHAPES as readonly string[]).includes(s);
}

export function isColor(s: string): s is Color {
  return (COLORS as readonly string[]).includes(s);
}

/** Ground-truth box [x0, y0, x1, y1] of an object. */
export function objectBox(o: SceneObject): Box {
  const h = o.size / 2;
  return [o.cx - h, o.cy - h, o.cx + h, o.cy + h];
}
