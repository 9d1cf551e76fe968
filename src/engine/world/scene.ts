/**
 * Random scene sampling for Shape World.
 *
 * A scene has 1..3 objects (default weights 20% / 40% / 40%), each 14..22 px
 * across (sizes in 0.5 px steps, centres in 0.25 px steps), fully inside the
 * canvas with a 1 px margin, and with bounding boxes at least `gap` (3) px
 * apart, so objects never overlap or touch even after anti-aliasing. No two
 * objects in a scene share both colour and shape.
 *
 * Splits: 'train' and 'test' (same distribution, different seeds in
 * dataset.ts) never contain a held-out pairing or held-out pair (heldout.ts);
 * 'unseen' scenes always contain at least one: either a held-out pairing
 * object or both objects of a held-out pair, the rest filled at random.
 */
import { robustRelations } from './captions.ts';
import { HELD_OUT_PAIRINGS, HELD_OUT_PAIRS, isHeldOutPair, isHeldOutPairing } from './heldout.ts';
import type { Rng } from './rng.ts';
import type { Color, ObjectName, Scene, SceneObject, Shape } from './types.ts';
import { COLORS, SHAPES, WORLD_SIZE, objectName } from './types.ts';

export type Split = 'train' | 'test' | 'unseen';
export const SPLITS: readonly Split[] = ['train', 'test', 'unseen'];

export interface SceneOptions {
  split?: Split;
  minObjects?: number;
  maxObjects?: number;
  /** Relative weights for 1, 2, 3, ... objects (index 0 = one object). Default [0.2, 0.4, 0.4]. */
  countWeights?: readonly number[];
  minSize?: number;
  maxSize?: number;
  width?: number;
  height?: number;
  /** Minimum empty space between bounding boxes, px. Default 3. */
  gap?: number;
  /** Minimum distance from a box to the canvas edge, px. Default 1. */
  margin?: number;
  /** Require some ordered pair of objects to satisfy a GenEval relation (with margin, see hasAnyRelation). Default false. */
  requireRelation?: boolean;
}

const ALL_OBJECTS: readonly { color: Color; shape: Shape }[] = COLORS.flatMap((color) => SHAPES.map((shape) => ({ color, shape })));

function parseName(n: ObjectName): { color: Color; shape: Shape } {
  const [color, shape] = n.split(' ') as [Color, Shape];
  return { color, shape };
}

function sampleCount(rng: Rng, min: number, max: number, weights: readonly number[]): number {
  let total = 0;
  for (let k = min; k <= max; k++) total += weights[k - 1] ?? 0;
  if (total <= 0) return rng.int(min, max);
  let r = rng.next() * total;
  for (let k = min; k <= max; k++) {
    r -= weights[k - 1] ?? 0;
    if (r < 0) return k;
  }
  return max;
}

/** Chooses object identities (colour + shape) for a scene of `count` objects in `split`. */
function sampleIdentities(rng: Rng, count: number, split: Split): { color: Color; shape: Shape }[] {
  const chosen: { color: Color; shape: Shape }[] = [];
  const names = (): ObjectName[] => chosen.map(objectName);
  if (split === 'unseen') {
    if (count >= 2 && rng.chance(0.5)) {
      const [a, b] = rng.pick(HELD_OUT_PAIRS);
      chosen.push(parseName(a), parseName(b));
    } else {
      chosen.push(parseName(rng.pick(HELD_OUT_PAIRINGS)));
    }
    while (chosen.length < count) {
      const taken = names();
      const cand = ALL_OBJECTS.filter((o) => !taken.includes(objectName(o)));
      chosen.push(rng.pick(cand));
    }
    return rng.shuffle(chosen);
  }
  while (chosen.length < count) {
    const taken = names();
    const cand = ALL_OBJECTS.filter((o) => {
      const n = objectName(o);
      return !taken.includes(n) && !isHeldOutPairing(n) && !taken.some((t) => isHeldOutPair(t, n));
    });
    chosen.push(rng.pick(cand));
  }
  return chosen;
}

const q = (v: number, step: number): number => Math.round(v / step) * step;

/** Places objects of the given sizes without overlap; null if it cannot within the try budget. */
function place(rng: Rng, sizes: number[], w: number, h: number, gap: number, margin: number): { cx: number; cy: number }[] | null {
  const placed: { x0: number; y0: number; x1: number; y1: number }[] = [];
  const out: { cx: number; cy: number }[] = [];
  for (const s of sizes) {
    let ok = false;
    for (let t = 0; t < 100 && !ok; t++) {
      const cx = q(rng.uniform(margin + s / 2, w - margin - s / 2), 0.25);
      const cy = q(rng.uniform(margin + s / 2, h - margin - s / 2), 0.25);
      const b = { x0: cx - s / 2, y0: cy - s / 2, x1: cx + s / 2, y1: cy + s / 2 };
      if (b.x0 < margin || b.y0 < margin || b.x1 > w - margin || b.y1 > h - margin) continue;
      const clear = placed.every((p) => b.x1 + gap <= p.x0 || p.x1 + gap <= b.x0 || b.y1 + gap <= p.y0 || p.y1 + gap <= b.y0);
      if (clear) {
        placed.push(b);
        out.push({ cx, cy });
        ok = true;
      }
    }
    if (!ok) return null;
  }
  return out;
}

/**
 * True if some ordered pair of objects satisfies a GenEval relation with the
 * captioner's safety margin (so a spatial caption can be written).
 */
export function hasAnyRelation(scene: Scene): boolean {
  const n = scene.objects.length;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) if (i !== j && robustRelations(scene, i, j).length > 0) return true;
  }
  return false;
}

/** Samples one scene. Deterministic given the Rng state and options. */
export function generateScene(rng: Rng, opts: SceneOptions = {}): Scene {
  const split = opts.split ?? 'train';
  const w = opts.width ?? WORLD_SIZE;
  const h = opts.height ?? WORLD_SIZE;
  const minSize = opts.minSize ?? 14;
  const maxSize = opts.maxSize ?? 22;
  const gap = opts.gap ?? 3;
  const margin = opts.margin ?? 1;
  let minObjects = opts.minObjects ?? 1;
  const maxObjects = opts.maxObjects ?? 3;
  if (opts.requireRelation) minObjects = Math.max(minObjects, 2);
  if (minObjects < 1 || maxObjects < minObjects) throw new Error(`bad object count range ${minObjects}..${maxObjects}`);
  for (let attempt = 0; attempt < 1000; attempt++) {
    const count = sampleCount(rng, minObjects, maxObjects, opts.countWeights ?? [0.2, 0.4, 0.4]);
    const ids = sampleIdentities(rng, count, split);
    const sizes = ids.map(() => q(rng.uniform(minSize, maxSize), 0.5));
    const pos = place(rng, sizes, w, h, gap, margin);
    if (!pos) continue;
    const objects: SceneObject[] = ids.map((id, i) => ({ ...id, cx: pos[i]!.cx, cy: pos[i]!.cy, size: sizes[i]! }));
    const scene: Scene = { width: w, height: h, objects };
    if (opts.requireRelation && !hasAnyRelation(scene)) continue;
    return scene;
  }
  throw new Error('generateScene: could not place objects; canvas too small for the requested sizes/count');
}
