/**
 * Benchmark suites over Shape World prompts, GenEval-style. Each suite is a fixed,
 * deterministic list of prompts with what must be true of the image:
 * - objects: single objects ("a photo of a red circle") and pairs ("... and a blue square");
 *   every named object must be detected.
 * - position: "a photo of a {A} {left of|right of|above|below} a {B}" (GenEval's form) over
 *   combinations seen in training; both detected and the GenEval position rule holds.
 * - position-unseen: the same form over held-out pairings and pairs.
 * - multi: three objects, two relations ("a A r1 a B r2 a C"); every relation holds.
 * - multi4: four objects, three relations in a chain ("a A r1 a B r2 a C r3 a D"), the axes
 *   alternating (horizontal, vertical, horizontal or the reverse) so the layout is satisfiable.
 * - phrasing / phrasing-unseen: one relation, worded as people write it rather than GenEval's
 *   form: "on the left of", "on the right of", "on the top of", "on the bottom of", "beneath",
 *   "under", "over" (and "to the left of", "on top of", "underneath"), in several frames ("a photo
 *   of ...", "a picture of ...", no frame, "there is ...", "the A is r the B"); seen pairs, or
 *   held-out pairings and pairs as in position-unseen.
 * Every suite is a pure function of its name and count (its own seeded generator); a suite's
 * first N prompts do not depend on the count asked for.
 */
import { isHeldOutPair, isHeldOutPairing } from '../world/heldout.ts';
import { Rng } from '../world/rng.ts';
import { COLORS, SHAPES, type ObjectName } from '../world/types.ts';
import { relationPhrase, type Relation } from './geneval.ts';

// New suites go at the end: a suite's generator seed is its index here.
export const SUITES = ['objects', 'position', 'position-unseen', 'multi', 'multi4', 'phrasing', 'phrasing-unseen'] as const;
export type SuiteName = (typeof SUITES)[number];

export interface SuitePrompt {
  id: string;
  text: string;
  /** Objects that must be detected. */
  objects: ObjectName[];
  /** Relations that must hold (indices into `objects`). */
  relations: { subject: number; relation: Relation; object: number }[];
  /** Breakdown key for tables ("single", "pair", "left", ...). */
  group: string;
}

const RELATIONS: readonly Relation[] = ['left', 'right', 'above', 'below'];
const ALL: ObjectName[] = COLORS.flatMap((c) => SHAPES.map((s) => `${c} ${s}` as ObjectName));
const SEEN = ALL.filter((o) => !isHeldOutPairing(o));
const article = (o: string) => (/^[aeiou]/.test(o) ? `an ${o}` : `a ${o}`);
const distinct = (a: ObjectName, b: ObjectName) => a.split(' ')[0] !== b.split(' ')[0] && a.split(' ')[1] !== b.split(' ')[1];
const held = (a: ObjectName, b: ObjectName) => isHeldOutPairing(a) || isHeldOutPairing(b) || isHeldOutPair(a, b);
const HORIZONTAL: readonly Relation[] = ['left', 'right'];
const VERTICAL: readonly Relation[] = ['above', 'below'];
const isHorizontal = (r: Relation) => r === 'left' || r === 'right';

/** The phrasings of the phrasing suites, per relation (each understood by Prompt Parse). */
export const PHRASINGS: Record<Relation, readonly string[]> = {
  left: ['on the left of', 'to the left of'],
  right: ['on the right of', 'to the right of'],
  above: ['on the top of', 'over', 'on top of'],
  below: ['on the bottom of', 'beneath', 'under', 'underneath'],
};

/** How people frame a one-relation prompt; `the` frames use definite articles. */
const FRAMES: readonly ((a: string, r: string, b: string) => string)[] = [
  (a, r, b) => `a photo of ${article(a)} ${r} ${article(b)}`,
  (a, r, b) => `${article(a)} ${r} ${article(b)}`,
  (a, r, b) => `a picture of ${article(a)} ${r} ${article(b)}`,
  (a, r, b) => `there is ${article(a)} ${r} ${article(b)}`,
  (a, r, b) => `the ${a} is ${r} the ${b}`,
];

export function suitePrompts(name: SuiteName, count?: number): SuitePrompt[] {
  const rng = new Rng(0x5eed + SUITES.indexOf(name));
  switch (name) {
    case 'objects': {
      const singles = SEEN.map((o, i): SuitePrompt => ({ id: `single-${i}`, text: `a photo of ${article(o)}`, objects: [o], relations: [], group: 'single' }));
      const pairs: SuitePrompt[] = [];
      while (pairs.length < (count ?? 50)) {
        const a = rng.pick(SEEN);
        const b = rng.pick(SEEN);
        if (!distinct(a, b) || isHeldOutPair(a, b)) continue;
        pairs.push({ id: `pair-${pairs.length}`, text: `a photo of ${article(a)} and ${article(b)}`, objects: [a, b], relations: [], group: 'pair' });
      }
      return [...singles, ...pairs];
    }
    case 'position':
    case 'position-unseen': {
      const unseen = name === 'position-unseen';
      const out: SuitePrompt[] = [];
      const n = count ?? 100;
      while (out.length < n) {
        const a = rng.pick(unseen ? ALL : SEEN);
        const b = rng.pick(unseen ? ALL : SEEN);
        if (!distinct(a, b)) continue;
        if (held(a, b) !== unseen) continue;
        const r = RELATIONS[out.length % 4]!;
        out.push({ id: `${name}-${out.length}`, text: `a photo of ${article(a)} ${relationPhrase(r)} ${article(b)}`, objects: [a, b], relations: [{ subject: 0, relation: r, object: 1 }], group: r });
      }
      return out;
    }
    case 'multi': {
      const out: SuitePrompt[] = [];
      const n = count ?? 50;
      const phrase = (r: Relation) => (r === 'left' || r === 'right' ? `to the ${r} of` : r);
      while (out.length < n) {
        const [a, b, c] = [rng.pick(SEEN), rng.pick(SEEN), rng.pick(SEEN)];
        if (!distinct(a, b) || !distinct(b, c) || !distinct(a, c) || isHeldOutPair(a, b) || isHeldOutPair(b, c) || isHeldOutPair(a, c)) continue;
        const r1 = rng.pick(RELATIONS);
        // the second relation on the other axis, so the layout is satisfiable and not degenerate
        const r2 = rng.pick(r1 === 'left' || r1 === 'right' ? (['above', 'below'] as const) : (['left', 'right'] as const));
        out.push({
          id: `multi-${out.length}`,
          text: `${article(a)} ${phrase(r1)} ${article(b)} ${phrase(r2)} ${article(c)}`,
          objects: [a, b, c],
          relations: [
            { subject: 0, relation: r1, object: 1 },
            { subject: 1, relation: r2, object: 2 },
          ],
          group: `${r1}+${r2}`,
        });
      }
      return out;
    }
    case 'multi4': {
      const out: SuitePrompt[] = [];
      const n = count ?? 50;
      const phrase = (r: Relation) => (isHorizontal(r) ? `to the ${r} of` : r);
      while (out.length < n) {
        const objs = [rng.pick(SEEN), rng.pick(SEEN), rng.pick(SEEN), rng.pick(SEEN)] as const;
        let ok = true;
        for (let i = 0; i < 4; i++) for (let j = i + 1; j < 4; j++) if (!distinct(objs[i]!, objs[j]!) || isHeldOutPair(objs[i]!, objs[j]!)) ok = false;
        if (!ok) continue;
        // axes alternate along the chain: A-B and C-D on one axis, B-C on the other
        const first = rng.pick(RELATIONS);
        const other = isHorizontal(first) ? VERTICAL : HORIZONTAL;
        const same = isHorizontal(first) ? HORIZONTAL : VERTICAL;
        const rels = [first, rng.pick(other), rng.pick(same)] as const;
        const [a, b, c, d] = objs;
        out.push({
          id: `multi4-${out.length}`,
          text: `${article(a)} ${phrase(rels[0])} ${article(b)} ${phrase(rels[1])} ${article(c)} ${phrase(rels[2])} ${article(d)}`,
          objects: [...objs],
          relations: rels.map((relation, k) => ({ subject: k, relation, object: k + 1 })),
          group: rels.join('+'),
        });
      }
      return out;
    }
    case 'phrasing':
    case 'phrasing-unseen': {
      const unseen = name === 'phrasing-unseen';
      const out: SuitePrompt[] = [];
      const n = count ?? 100;
      while (out.length < n) {
        const a = rng.pick(unseen ? ALL : SEEN);
        const b = rng.pick(unseen ? ALL : SEEN);
        if (!distinct(a, b) || held(a, b) !== unseen) continue;
        const k = out.length;
        const r = RELATIONS[k % 4]!;
        const words = PHRASINGS[r];
        const phrase = words[Math.floor(k / 4) % words.length]!;
        const frame = rng.pick(FRAMES);
        out.push({ id: `${name}-${k}`, text: frame(a, phrase, b), objects: [a, b], relations: [{ subject: 0, relation: r, object: 1 }], group: r });
      }
      return out;
    }
  }
}
