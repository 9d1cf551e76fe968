/**
 * Loss descriptions (what the loss nodes output) and how Latent Optimize turns them into the
 * compiled steering model's terms and a per-iteration weighting.
 *
 * A LossSpec is a tree: leaves name a rule (learned classifier, centroid, presence, binding) and
 * what of the prompt it reads; `combine` nodes weight their parts and either sum them or alternate
 * them (iteration k uses part k mod K, the authors' rule for several relations). Leaves are
 * resolved against the prompt at run time:
 *  - a relation leaf reads one relation of Prompt Parse (`index`), every directional relation
 *    (`all`; these are combined the way Latent Optimize's "Several relations" param says), or a
 *    triplet typed by hand ("red circle, left, blue square"), matched to the prompt's objects;
 *  - presence and binding leaves read every object of the prompt (one term per object, or per
 *    ordered pair of objects for binding), summed.
 * At the top level, Latent Optimize's inputs are combined like the relations of an `all` leaf
 * (alternate or sum); presence and binding terms are added to every iteration, and the early stop
 * (loss threshold) looks at the relation terms only, so an auxiliary loss never keeps a step
 * optimising once its relation is satisfied.
 */
import { RELATION_PHRASES } from '../prompt/phrases.ts';
import type { ParsedPrompt } from '../../shared/prompt.ts';
import type { Relation } from '../eval/geneval.ts';
import type { AlignedObject } from '../model/align.ts';
import type { LoadedClassifier } from './classifier.ts';

export type RelationRef = { index: number } | { all: true } | { triplet: string };

export type LossSpec =
  | { kind: 'learned'; relation: RelationRef; weight: number; classifier: LoadedClassifier }
  | { kind: 'centroid'; relation: RelationRef; weight: number; margin: number }
  | { kind: 'presence'; weight: number }
  | { kind: 'binding'; weight: number }
  | { kind: 'combine'; mode: 'sum' | 'alternate'; weight: number; parts: LossSpec[] };

/** A resolved term: which token rows it reads (rows of the steering model's `tokens` input); its weight is the plan's. */
export type SteerTerm =
  | { kind: 'learned'; subject: number; object: number; relation: Relation; classifier: LoadedClassifier }
  | { kind: 'centroid'; subject: number; object: number; relation: Relation; margin: number }
  /** Attend-and-Excite: the object's smoothed peak share of the text attention pushed to 1. */
  | { kind: 'presence'; object: number; text: number }
  /** SynGen-style: the modifier's map overlaps its own noun's (`object`) and not `other`'s. */
  | { kind: 'binding'; modifier: number; object: number; other: number };

export const isRelationTerm = (t: SteerTerm): t is Extract<SteerTerm, { kind: 'learned' | 'centroid' }> => t.kind === 'learned' || t.kind === 'centroid';

export interface LossPlan {
  terms: SteerTerm[];
  /** Token rows: objects first (row i = object i's head noun), then each object's modifiers, then all text tokens. */
  rows: { label: string; tokens: number[]; sum?: boolean }[];
  /** Iteration k uses weights(k mod slots). */
  slots: number;
  weights(slot: number): number[];
  /** Human-readable term names, for events and logs ("learned: red circle left of blue square"). */
  names: string[];
}

const STEERABLE: readonly Relation[] = ['left', 'right', 'above', 'below'];

/** The relation named by a word or phrase of the phrase table ("left", "to the left of", "under"). */
export function relationFromPhrase(text: string): Relation | undefined {
  const t = text.trim().toLowerCase().replace(/\s+/g, ' ');
  if ((STEERABLE as readonly string[]).includes(t)) return t as Relation;
  return STEERABLE.find((r) => RELATION_PHRASES[r].some((p) => p === t || p === `${t} of`));
}

export class LossResolveError extends Error {}

interface Pair {
  subject: number;
  object: number;
  relation: Relation;
  label: string;
}

function resolveRelations(ref: RelationRef, prompt: ParsedPrompt, where: string): Pair[] {
  const steerable = prompt.relations.map((r, i) => ({ r, i })).filter(({ r }) => r.directional && (STEERABLE as readonly string[]).includes(r.relation));
  const pair = (r: (typeof prompt.relations)[number]): Pair => ({ subject: r.subjectIndex, object: r.objectIndex, relation: r.relation as Relation, label: `${r.subject} ${r.relation} ${r.object}` });
  if ('all' in ref) {
    if (steerable.length === 0) throw new LossResolveError(`${where}: the prompt "${prompt.text}" states no left/right/above/below relation to steer`);
    return steerable.map(({ r }) => pair(r));
  }
  if ('index' in ref) {
    const r = prompt.relations[ref.index];
    if (!r) throw new LossResolveError(`${where} asks for relation #${ref.index}, but the prompt "${prompt.text}" has ${prompt.relations.length} relation(s)`);
    if (!r.directional || !(STEERABLE as readonly string[]).includes(r.relation)) throw new LossResolveError(`${where}: relation #${ref.index} ("${r.phrase}") has no direction to steer towards`);
    return [pair(r)];
  }
  const parts = ref.triplet.split(',').map((s) => s.trim());
  if (parts.length !== 3 || parts.some((p) => p === '')) throw new LossResolveError(`${where}: the relation "${ref.triplet}" must be "subject, relation, object", e.g. "red circle, left, blue square"`);
  const relation = relationFromPhrase(parts[1]!);
  if (!relation) throw new LossResolveError(`${where}: "${parts[1]}" in "${ref.triplet}" is not a relation to steer (left, right, above, below or a phrase for them such as "under")`);
  const find = (name: string) => {
    const n = name.toLowerCase().replace(/^(a|an|the) /, '');
    const exact = prompt.objects.findIndex((o) => o.text.toLowerCase() === n);
    if (exact >= 0) return exact;
    const byNoun = prompt.objects.map((o, i) => ({ o, i })).filter(({ o }) => o.noun.toLowerCase() === n);
    if (byNoun.length === 1) return byNoun[0]!.i;
    throw new LossResolveError(`${where}: "${name}" in "${ref.triplet}" is not ${byNoun.length > 1 ? 'a single' : 'an'} object of the prompt "${prompt.text}" (its objects: ${prompt.objects.map((o) => o.text).join(', ') || 'none'})`);
  };
  const subject = find(parts[0]!);
  const object = find(parts[2]!);
  if (subject === object) throw new LossResolveError(`${where}: "${ref.triplet}" relates an object to itself`);
  return [{ subject, object, relation, label: `${prompt.objects[subject]!.text} ${relation} ${prompt.objects[object]!.text}` }];
}

interface Sub {
  terms: SteerTerm[];
  names: string[];
  slots: number;
  weights(slot: number): number[];
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
const MAX_SLOTS = 64;

function combine(parts: { sub: Sub; weight: number }[], mode: 'sum' | 'alternate'): Sub {
  const terms = parts.flatMap((p) => p.sub.terms);
  const names = parts.flatMap((p) => p.sub.names);
  if (mode === 'alternate') {
    const offsets: number[] = [];
    let slots = 0;
    for (const p of parts) {
      offsets.push(slots);
      slots += p.sub.slots;
    }
    return {
      terms,
      names,
      slots: Math.max(1, slots),
      weights(s) {
        const k = s % Math.max(1, slots);
        return parts.flatMap((p, i) => (k >= offsets[i]! && k < offsets[i]! + p.sub.slots ? p.sub.weights(k - offsets[i]!).map((w) => w * p.weight) : p.sub.terms.map(() => 0)));
      },
    };
  }
  const slots = Math.min(MAX_SLOTS, parts.reduce((a, p) => (a * p.sub.slots) / gcd(a, p.sub.slots), 1));
  return { terms, names, slots, weights: (s) => parts.flatMap((p) => p.sub.weights(s % p.sub.slots).map((w) => w * p.weight)) };
}

const single = (term: SteerTerm, name: string): Sub => ({ terms: [term], names: [name], slots: 1, weights: () => [1] });

/**
 * Resolves Latent Optimize's connected losses against the prompt. `relationsMode` combines the
 * relations of an `all` leaf and the top-level inputs; `where(k)` names input k in errors.
 */
export function planLosses(losses: readonly LossSpec[], prompt: ParsedPrompt, objects: readonly AlignedObject[], tokens: readonly string[], relationsMode: 'sum' | 'alternate', where: (k: number) => string): LossPlan {
  if (losses.length === 0) throw new LossResolveError('Latent Optimize needs at least one loss');
  const rows: LossPlan['rows'] = objects.map((o) => ({ label: o.noun, tokens: o.headTokenIndices.length > 0 ? o.headTokenIndices : o.tokenIndices }));
  const modifierRow = new Map<number, number>();
  const modifiers = (i: number): number | undefined => {
    if (modifierRow.has(i)) return modifierRow.get(i);
    const o = objects[i]!;
    const head = new Set(o.headTokenIndices);
    const mods = o.tokenIndices.filter((t) => !head.has(t)); // the attribute words ("red"): the phrase has no article
    if (mods.length === 0) return undefined;
    rows.push({ label: `${o.object} (modifiers)`, tokens: mods });
    modifierRow.set(i, rows.length - 1);
    return rows.length - 1;
  };
  let textRow = -1;
  const text = () => {
    if (textRow < 0) {
      // A&E's text tokens: after the start token, up to the first end/pad token
      const special = (t: string) => /^<\|?[a-z_]+\|?>$/i.test(t) || /^\[[A-Z]+\]$/.test(t);
      const end = tokens.findIndex((t, i) => i > 0 && special(t));
      const words = Array.from({ length: (end < 0 ? tokens.length : end) - 1 }, (_, i) => i + 1);
      rows.push({ label: 'text', tokens: words, sum: true });
      textRow = rows.length - 1;
    }
    return textRow;
  };
  const leaf = (l: LossSpec, at: string): Sub => {
    switch (l.kind) {
      case 'learned':
      case 'centroid': {
        const pairs = resolveRelations(l.relation, prompt, at);
        const subs = pairs.map((p) =>
          single(
            l.kind === 'learned'
              ? { kind: 'learned', subject: p.subject, object: p.object, relation: p.relation, classifier: l.classifier }
              : { kind: 'centroid', subject: p.subject, object: p.object, relation: p.relation, margin: l.margin },
            `${l.kind}: ${p.label}`,
          ),
        );
        return subs.length === 1 ? subs[0]! : combine(subs.map((sub) => ({ sub, weight: 1 })), relationsMode);
      }
      case 'presence': {
        if (objects.length === 0) throw new LossResolveError(`${at}: the prompt "${prompt.text}" names no object`);
        const t = text();
        return combine(objects.map((o, i) => ({ sub: single({ kind: 'presence', object: i, text: t }, `presence: ${o.object}`), weight: 1 / objects.length })), 'sum');
      }
      case 'binding': {
        const subs: Sub[] = [];
        objects.forEach((o, i) => {
          const m = modifiers(i);
          if (m === undefined) return;
          objects.forEach((_, j) => {
            if (j !== i) subs.push(single({ kind: 'binding', modifier: m, object: i, other: j }, `binding: ${o.object} vs ${objects[j]!.noun}`));
          });
        });
        if (subs.length === 0) throw new LossResolveError(`${at}: binding needs two objects with a colour or other modifier ("a red circle and a blue square"); the prompt "${prompt.text}" has none`);
        return combine(subs.map((sub) => ({ sub, weight: 1 / subs.length })), 'sum');
      }
      case 'combine':
        if (l.parts.length === 0) throw new LossResolveError(`${at}: Combine Losses has no loss connected`);
        return combine(l.parts.map((p, k) => ({ sub: leaf(p, `${at}, part ${k + 1}`), weight: p.weight })), l.mode);
    }
  };
  // Top level: relation inputs combined by relationsMode; auxiliary (presence/binding) added to all.
  const relationParts: { sub: Sub; weight: number }[] = [];
  const auxParts: { sub: Sub; weight: number }[] = [];
  losses.forEach((l, k) => {
    const sub = leaf(l, where(k));
    (l.kind === 'presence' || l.kind === 'binding' ? auxParts : relationParts).push({ sub, weight: l.weight });
  });
  const top = relationParts.length > 0 ? combine(relationParts, relationParts.length === 1 ? 'sum' : relationsMode) : undefined;
  const aux = auxParts.length > 0 ? combine(auxParts, 'sum') : undefined;
  const all = top && aux ? combine([{ sub: top, weight: 1 }, { sub: aux, weight: 1 }], 'sum') : (top ?? aux)!;
  if (all.terms.length > 16) throw new LossResolveError(`the connected losses make ${all.terms.length} terms; at most 16 can be steered at once`);
  return { terms: all.terms, rows, slots: all.slots, weights: (s) => all.weights(s % all.slots), names: all.names };
}

/** Token-row matrix [rows, T] for the steering model's `tokens` input (averages; sums for `sum` rows). */
export function tokenRows(rows: LossPlan['rows'], T: number): Float32Array {
  const out = new Float32Array(rows.length * T);
  rows.forEach((r, i) => r.tokens.forEach((k) => (out[i * T + k] = r.sum ? 1 : 1 / r.tokens.length)));
  return out;
}

/**
 * The plan for "steer every relation of the prompt with one rule" (steer generate, benchmarks,
 * tests), optionally with presence and binding terms.
 */
export function relationPlan(
  c: { prompt: ParsedPrompt; objects: readonly AlignedObject[]; tokens: readonly string[] },
  o: { method: 'learned' | 'centroid'; classifier?: LoadedClassifier; margin?: number; combine: 'sum' | 'alternate'; presence?: number; binding?: number },
): LossPlan {
  const rel: LossSpec =
    o.method === 'learned'
      ? { kind: 'learned', relation: { all: true }, weight: 1, classifier: o.classifier ?? missing('a learned relation loss needs a classifier') }
      : { kind: 'centroid', relation: { all: true }, weight: 1, margin: o.margin ?? 0.1 };
  const losses: LossSpec[] = [rel, ...(o.presence ? [{ kind: 'presence' as const, weight: o.presence }] : []), ...(o.binding ? [{ kind: 'binding' as const, weight: o.binding }] : [])];
  return planLosses(losses, c.prompt, c.objects, c.tokens, o.combine, (k) => `loss ${k + 1}`);
}

function missing(message: string): never {
  throw new LossResolveError(message);
}
