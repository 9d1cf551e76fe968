/**
 * Loss plans: what of the prompt each loss node reads, and how several are weighted per iteration.
 * Uses the bundled model's tokenizer for real token alignment (no UNet).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { alignObjects } from '../../src/engine/model/align.ts';
import { loadTokenizer, type PromptTokenizer } from '../../src/engine/model/tokenizer.ts';
import { parsePrompt } from '../../src/engine/prompt/parse.ts';
import type { LoadedClassifier } from '../../src/engine/steer/classifier.ts';
import { planLosses, relationFromPhrase, tokenRows, type LossSpec, type RelationRef } from '../../src/engine/steer/losses.ts';

let tok: PromptTokenizer;
beforeAll(() => {
  tok = loadTokenizer('resources/models/shape-world/tokenizer');
});

const clf = { dir: 'x', info: { name: 'c', classes: ['left', 'right', 'above', 'below'] } } as unknown as LoadedClassifier;
function plan(text: string, losses: LossSpec[], mode: 'sum' | 'alternate' = 'alternate') {
  const prompt = parsePrompt(text);
  const enc = tok.encode(text);
  const objects = alignObjects(prompt, enc);
  return planLosses(losses, prompt, objects, enc.tokens, mode, (k) => `loss ${k + 1}`);
}
const learned = (relation: RelationRef, weight = 1): LossSpec => ({ kind: 'learned', relation, weight, classifier: clf });

describe('loss plans', () => {
  const multi = 'a red circle to the left of a blue square above a green cross';

  it('steers every relation of the prompt by default, alternating or summing them', () => {
    const alt = plan(multi, [learned({ all: true })]);
    expect(alt.terms.map((t) => (t.kind === 'learned' ? [t.subject, t.relation, t.object] : null))).toEqual([[0, 'left', 1], [1, 'above', 2]]);
    expect(alt.slots).toBe(2);
    expect([alt.weights(0), alt.weights(1), alt.weights(2)]).toEqual([[1, 0], [0, 1], [1, 0]]);
    const sum = plan(multi, [learned({ all: true }, 2)], 'sum');
    expect(sum.slots).toBe(1);
    expect(sum.weights(0)).toEqual([2, 2]);
  });

  it('reads one relation by index or typed by hand, with clear errors', () => {
    const one = plan(multi, [learned({ index: 1 })]);
    expect(one.names).toEqual(['learned: blue square above green cross']);
    const typed = plan(multi, [learned({ triplet: 'green cross, under, blue square' })]);
    expect(typed.terms[0]).toMatchObject({ subject: 2, object: 1, relation: 'below' });
    expect(() => plan(multi, [learned({ index: 4 })])).toThrow(/loss 1 asks for relation #4, but the prompt .* has 2 relation/);
    expect(() => plan(multi, [learned({ triplet: 'red circle, near, blue square' })])).toThrow(/"near" .* is not a relation to steer/);
    expect(() => plan(multi, [learned({ triplet: 'purple diamond, left, blue square' })])).toThrow(/"purple diamond" .* is not an object of the prompt/);
    expect(() => plan('a red circle and a blue square', [learned({ all: true })])).toThrow(/states no left\/right\/above\/below relation/);
    expect(relationFromPhrase('to the left of')).toBe('left');
    expect(relationFromPhrase('on top')).toBe('above');
    expect(relationFromPhrase('beneath')).toBe('below');
  });

  it('adds presence and binding to every iteration, with their own token rows', () => {
    const p = plan(multi, [learned({ all: true }), { kind: 'binding', weight: 0.5 }, { kind: 'presence', weight: 1 }]);
    const kinds = p.terms.map((t) => t.kind);
    expect(kinds).toEqual(['learned', 'learned', 'binding', 'binding', 'binding', 'binding', 'binding', 'binding', 'presence', 'presence', 'presence']);
    // rows: 3 objects, then one modifier row per object ("red", "blue", "green"), then the text row
    expect(p.rows.map((r) => r.label)).toEqual(['circle', 'square', 'cross', 'red circle (modifiers)', 'blue square (modifiers)', 'green cross (modifiers)', 'text']);
    const enc = tok.encode(multi);
    expect(p.rows[3]!.tokens).toHaveLength(1);
    expect(enc.tokens[p.rows[3]!.tokens[0]!]).toMatch(/red/);
    const w0 = p.weights(0);
    const w1 = p.weights(1);
    expect(w0.slice(0, 2)).toEqual([1, 0]);
    expect(w1.slice(0, 2)).toEqual([0, 1]);
    for (const w of [w0, w1]) {
      expect(w.slice(2, 8).every((x) => Math.abs(x - 0.5 / 6) < 1e-12)).toBe(true);
      expect(w.slice(8).every((x) => Math.abs(x - 1 / 3) < 1e-12)).toBe(true);
    }
    const binding = p.terms[2]!;
    expect(binding).toEqual({ kind: 'binding', modifier: 3, object: 0, other: 1 });
    const rows = tokenRows(p.rows, enc.tokens.length);
    const text = p.rows[6]!;
    expect(rows[6 * enc.tokens.length + text.tokens[0]!]).toBe(1); // a sum row
    expect(() => plan('a circle to the left of a square', [{ kind: 'binding', weight: 1 }])).toThrow(/binding needs two objects with a colour/);
  });

  it('Combine Losses nests: alternate over parts, each part summed inside', () => {
    const p = plan(multi, [
      {
        kind: 'combine',
        mode: 'alternate',
        weight: 1,
        parts: [
          { kind: 'combine', mode: 'sum', weight: 2, parts: [learned({ index: 0 }), { kind: 'centroid', relation: { index: 0 }, weight: 1, margin: 0.1 }] },
          learned({ index: 1 }),
        ],
      },
    ]);
    expect(p.slots).toBe(2);
    expect(p.weights(0)).toEqual([2, 2, 0]);
    expect(p.weights(1)).toEqual([0, 0, 1]);
  });
});
