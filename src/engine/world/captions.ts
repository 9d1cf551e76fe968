/**
 * Web-style captions for Shape World scenes.
 *
 * Most captions list the objects (colour + shape) in random order with varied,
 * noisy templates ("a red circle and a blue square", "blue square, red circle",
 * "a photo of a yellow triangle next to an orange circle", ...) and say
 * nothing about where things are. Only a fraction SPATIAL_CAPTION_RATE of
 * dataset captions (decided in dataset.ts) also state a spatial relation, in
 * benchmark phrasings:
 *   GenEval:  "a photo of a {A} {left of|right of|above|below} a {B}"
 *   authors:  "a {A} {to the left of|to the right of|above|below} a {B}"
 *             and the chain "a {A} r1 a {B} r2 a {C}"
 *   CompBench: "a {A} on the {left|right} of a {B}"
 * A stated relation is computed from the ground-truth boxes with the GenEval
 * rule and must also clear a safety margin (|dx| or |dy| >= 0.5 + RELATION_MARGIN)
 * so it stays true under sub-pixel detector box error. Stated relations are
 * therefore always true; `relations` in the result lists them.
 * "next to" / "with" / "and" templates claim no direction. Every caption
 * names every object in the scene.
 */
import type { Relation } from '../eval/geneval.ts';
import { positionVector } from '../eval/geneval.ts';
import type { Rng } from './rng.ts';
import type { Scene, SceneObject } from './types.ts';
import { objectBox, objectName } from './types.ts';

/**
 * Fraction of dataset captions that state a spatial relation (0.1 = 10%).
 * Mirrors web alt-text, where explicit spatial language is rare; it is what
 * makes the base model weak at layout and steering worth having.
 */
export const SPATIAL_CAPTION_RATE = 0.1;

/** Extra margin beyond GenEval's 0.5 threshold required before a relation is stated. */
export const RELATION_MARGIN = 0.05;

export interface StatedRelation {
  /** Index into scene.objects. */
  subject: number;
  relation: Relation;
  object: number;
}

export interface Caption {
  text: string;
  /** Relations the caption states (empty for non-spatial captions). */
  relations: StatedRelation[];
}

/** 'a' or 'an' + name. */
export function withArticle(name: string): string {
  return (/^[aeiou]/i.test(name) ? 'an ' : 'a ') + name;
}

/** Relations of scene object i relative to j that hold with margin. */
export function robustRelations(scene: Scene, i: number, j: number, margin = RELATION_MARGIN): Relation[] {
  const v = positionVector(objectBox(scene.objects[i]!), objectBox(scene.objects[j]!));
  if (!v) return [];
  const t = 0.5 + margin;
  const out: Relation[] = [];
  if (v.dx < -t) out.push('left');
  if (v.dx > t) out.push('right');
  if (v.dy < -t) out.push('above');
  if (v.dy > t) out.push('below');
  return out;
}

const PREFIXES = ['', '', '', 'a photo of ', 'an image of ', 'picture of ', 'a drawing of ', 'a simple illustration of '];
const SUFFIXES = ['', '', '', '', ' on a white background', ' on a light background', ', flat colors', ' clipart'];

function listPhrase(rng: Rng, names: string[]): string {
  const art = names.map(withArticle);
  if (names.length === 1) return rng.pick([art[0]!, art[0]!, names[0]!, `a single ${names[0]!}`]);
  if (names.length === 2) {
    return rng.pick([
      `${art[0]} and ${art[1]}`,
      `${art[0]} and ${art[1]}`,
      `${names[0]}, ${names[1]}`,
      `${names[0]} and ${names[1]}`,
      `${art[0]} with ${art[1]}`,
      `${art[0]} next to ${art[1]}`,
      `two shapes: ${art[0]} and ${art[1]}`,
    ]);
  }
  const head = art.slice(0, -1).join(', ');
  return rng.pick([
    `${head} and ${art[art.length - 1]}`,
    `${head}, and ${art[art.length - 1]}`,
    names.join(', '),
    `${names.length === 3 ? 'three' : names.length} shapes: ${head} and ${art[art.length - 1]}`,
  ]);
}

function phrase(r: Relation, style: 'geneval' | 'authors' | 'compbench'): string {
  if (r === 'above' || r === 'below') return r;
  if (style === 'geneval') return `${r} of`;
  if (style === 'authors') return `to the ${r} of`;
  return `on the ${r} of`;
}

/** Non-spatial caption: objects in random order, random template. */
export function plainCaption(scene: Scene, rng: Rng): Caption {
  const names = rng.shuffle(scene.objects.map(objectName));
  return { text: rng.pick(PREFIXES) + listPhrase(rng, names) + rng.pick(SUFFIXES), relations: [] };
}

/**
 * Spatial caption stating one (or, for a 3-object chain, two) true relations;
 * falls back to plainCaption when no ordered pair has a robust relation.
 */
export function spatialCaption(scene: Scene, rng: Rng): Caption {
  const n = scene.objects.length;
  const pairs: StatedRelation[] = [];
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      if (i !== j) for (const relation of robustRelations(scene, i, j)) pairs.push({ subject: i, relation, object: j });
    }
  }
  if (pairs.length === 0) return plainCaption(scene, rng);
  const nm = (i: number): string => withArticle(objectName(scene.objects[i] as SceneObject));
  // Authors' chain form "a A r1 a B r2 a C" when a chain exists (3 objects).
  if (n === 3 && rng.chance(0.3)) {
    const chains: [StatedRelation, StatedRelation][] = [];
    for (const p of pairs) for (const q of pairs) if (q.subject === p.object && q.object !== p.subject) chains.push([p, q]);
    if (chains.length > 0) {
      const [p, q] = rng.pick(chains);
      return {
        text: `${nm(p.subject)} ${phrase(p.relation, 'authors')} ${nm(p.object)} ${phrase(q.relation, 'authors')} ${nm(q.object)}`,
        relations: [p, q],
      };
    }
  }
  const s = rng.pick(pairs);
  const style = rng.pick(['geneval', 'geneval', 'authors', 'compbench'] as const);
  const core = `${nm(s.subject)} ${phrase(s.relation, style)} ${nm(s.object)}`;
  let text = style === 'geneval' ? `a photo of ${core}` : core;
  if (n === 3) {
    const other = [0, 1, 2].find((k) => k !== s.subject && k !== s.object)!;
    text += `, and ${nm(other)}`;
  }
  return { text, relations: [s] };
}

/** Caption for a scene; `spatial` chooses the kind (the dataset draws it with SPATIAL_CAPTION_RATE). */
export function captionScene(scene: Scene, rng: Rng, opts: { spatial?: boolean } = {}): Caption {
  return opts.spatial ? spatialCaption(scene, rng) : plainCaption(scene, rng);
}
