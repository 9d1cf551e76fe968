/**
 * Exact symmetries of a relation sample (a subject's and an object's attention stacks, S x S maps
 * with rows downward) and what each does to its relation label. Used twice: as training-time
 * augmentation (classifier-train.ts, makeBatch) and as test-time averaging built into an exported
 * classifier graph (classifier-net.ts, `symmetry`). Both apply the spatial ones in the same order,
 * mirror, then flip, then transpose, so a transform means the same thing in either place.
 *
 *   swap       (A, B) with relation r is (B, A) with the opposite relation
 *   mirror     every map flipped left-right: left and right swap
 *   flip       every map flipped top-bottom: above and below swap
 *   transpose  every map transposed, (x, y) -> (y, x): A left of B (smaller x) becomes A above B
 *
 * Shape World's shapes are left-right symmetric; only the triangle is not top-bottom symmetric,
 * so flip turns a triangle over and transpose lays it on its side, which 16x16 maps barely show.
 */
import type { Relation } from '../eval/geneval.ts';

export interface Augment {
  swap: boolean;
  mirror: boolean;
  flip: boolean;
  transpose: boolean;
}

export const AUGMENT_NAMES = ['swap', 'mirror', 'flip', 'transpose'] as const satisfies readonly (keyof Augment)[];

export const NO_TRANSFORM: Augment = { swap: false, mirror: false, flip: false, transpose: false };

const OPPOSITE: Record<Relation, Relation> = { left: 'right', right: 'left', above: 'below', below: 'above' };
const MIRROR_X: Record<Relation, Relation> = { left: 'right', right: 'left', above: 'above', below: 'below' };
const FLIP_Y: Record<Relation, Relation> = { left: 'left', right: 'right', above: 'below', below: 'above' };
const TRANSPOSE: Record<Relation, Relation> = { left: 'above', right: 'below', above: 'left', below: 'right' };

/** The relation a transform makes of `label`. */
export function augmentLabel(label: Relation, a: Augment): Relation {
  let r = label;
  if (a.swap) r = OPPOSITE[r];
  if (a.mirror) r = MIRROR_X[r];
  if (a.flip) r = FLIP_Y[r];
  if (a.transpose) r = TRANSPOSE[r];
  return r;
}

/** 'swap,mirror' for an Augment; 'none' when every transform is off. */
export const augmentText = (a: Augment): string => AUGMENT_NAMES.filter((k) => a[k]).join(',') || 'none';

/** Every combination of the transforms `a` turns on (2^n of them), the identity first. */
export function transformCombos(a: Augment): Augment[] {
  const on = AUGMENT_NAMES.filter((k) => a[k]);
  return Array.from({ length: 1 << on.length }, (_, bits) => {
    const t = { ...NO_TRANSFORM };
    on.forEach((k, i) => {
      t[k] = ((bits >> i) & 1) === 1;
    });
    return t;
  });
}

/** For output pixel p = y * S + x, the source pixel under (mirror, flip, transpose). */
export function pixelPermutation(a: Augment, S: number): Int32Array {
  const perm = new Int32Array(S * S);
  for (let y = 0; y < S; y++) {
    for (let x = 0; x < S; x++) {
      const [x2, y2] = a.transpose ? [y, x] : [x, y];
      perm[y * S + x] = (a.flip ? S - 1 - y2 : y2) * S + (a.mirror ? S - 1 - x2 : x2);
    }
  }
  return perm;
}
