/**
 * Benchmark suites over Shape World prompts, GenEval-style. Each suite is a fixed,
 * deterministic list of prompts with what must be true of the image:
 * - objects: single objects ("a photo of a red circle") and pairs ("... and a blue square");
 *   every named object must be detected.
 * - position: "a photo of a {A} {left of|right of|above|below} a {B}" (GenEval's form) over
 *   combinations seen in training; both detected and the GenEval position rule holds.
 * - position-unseen: the same form over held-out pairings and pairs.
 * - multi: three objects, two relations ("a A r1 a B r2 a C"); every relation holds.
 */
import { isHeldOutPair, isHeldOutPairing } from '../world/heldout.ts';
import { Rng } from '../world/rng.ts';
import { COLORS, SHAPES, type ObjectName } from '../world/types.ts';
import { relationPhrase, type Relation } from './geneval.ts';

export const SUITES = ['objects', 'position', 'position-unseen', 'multi'] as const;
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
        const held = isHeldOutPairing(a) || isHeldOutPairing(b) || isHeldOutPair(a, b);
        if (held !== unseen) continue;
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
  }
}
