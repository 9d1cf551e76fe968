/**
 * Held-out combinations for compositional-generalisation tests.
 *
 * - HELD_OUT_PAIRINGS: colour-shape pairings that never appear in the 'train'
 *   (or in-distribution 'test') split. One per shape, each with a different
 *   colour, so every shape and every colour still appears in training (each
 *   shape in 5 colours, each colour in at least 4 shapes).
 * - HELD_OUT_PAIRS: pairs of (individually allowed) objects that never appear
 *   together in one 'train'/'test' scene.
 * The 'unseen' split uses only scenes that contain at least one of these.
 * These lists are part of the dataset definition: changing them changes every
 * split. Do not edit casually.
 */
import type { ObjectName } from './types.ts';

export const HELD_OUT_PAIRINGS: readonly ObjectName[] = [
  'purple triangle',
  'orange cross',
  'green diamond',
  'yellow circle',
  'red square',
];

export const HELD_OUT_PAIRS: readonly (readonly [ObjectName, ObjectName])[] = [
  ['red circle', 'green square'],
  ['blue triangle', 'yellow cross'],
  ['purple circle', 'orange diamond'],
  ['green cross', 'blue diamond'],
];

export function isHeldOutPairing(name: ObjectName): boolean {
  return HELD_OUT_PAIRINGS.includes(name);
}

export function isHeldOutPair(a: ObjectName, b: ObjectName): boolean {
  return HELD_OUT_PAIRS.some(([p, q]) => (p === a && q === b) || (p === b && q === a));
}

/** True when a scene's object list contains any held-out pairing or pair. */
export function containsHeldOut(names: readonly ObjectName[]): boolean {
  if (names.some(isHeldOutPairing)) return true;
  for (let i = 0; i < names.length; i++) {
    for (let j = i + 1; j < names.length; j++) if (isHeldOutPair(names[i]!, names[j]!)) return true;
  }
  return false;
}
