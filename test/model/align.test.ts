import { describe, expect, it } from 'vitest';
import { alignObjects, alignmentWarnings, headNounSpan } from '../../src/engine/model/align.ts';
import { loadTokenizer } from '../../src/engine/model/tokenizer.ts';
import { parsePrompt } from '../../src/engine/prompt/parse.ts';
import { captionScene } from '../../src/engine/world/captions.ts';
import { Rng } from '../../src/engine/world/rng.ts';
import { generateScene } from '../../src/engine/world/scene.ts';
import { SHAPE_WORLD_TOKENIZER } from './helpers.ts';

const tok = loadTokenizer(SHAPE_WORLD_TOKENIZER);
/** A 16-token variant of the same tokenizer, to exercise truncation with short prompts. */
const tok16 = loadTokenizer(SHAPE_WORLD_TOKENIZER, { maxLength: 16 });

function align(text: string, t = tok) {
  const parsed = parsePrompt(text);
  const e = t.encode(text);
  return { e, aligned: alignObjects(parsed, e), parsed };
}

describe('alignObjects (Shape World tokenizer)', () => {
  it('"a photo of a red circle to the left of a blue square"', () => {
    const { e, aligned } = align('a photo of a red circle to the left of a blue square');
    // <bos> a photo of a red circle to the left of a blue square <eos>
    //   0   1   2    3  4  5    6    7   8   9   10 11  12   13     14
    expect(aligned.map((a) => a.object)).toEqual(['red circle', 'blue square']);
    expect(aligned[0]!.tokenIndices).toEqual([5, 6]);
    expect(aligned[0]!.tokenIndices.map((i) => e.tokens[i])).toEqual(['red', 'circle']);
    expect(aligned[0]!.headTokenIndices).toEqual([6]);
    expect(aligned[0]!.noun).toBe('circle');
    expect(aligned[0]!.span).toEqual([13, 23]);
    expect(aligned[0]!.headSpan).toEqual([17, 23]);
    expect(aligned[1]!.tokenIndices).toEqual([12, 13]);
    expect(aligned[1]!.headTokenIndices).toEqual([13]);
    expect(aligned.every((a) => a.truncated === 'none' && a.warning === undefined)).toBe(true);
  });

  it('multi-word objects: "teddy bear" gets both tokens (unknown words included)', () => {
    const { e, aligned } = align('A small brown Teddy Bear above a purple diamond');
    const bear = aligned[0]!;
    expect(bear.object).toBe('small brown Teddy Bear');
    expect(bear.noun).toBe('Teddy Bear');
    expect(bear.tokenIndices).toEqual([2, 3, 4, 5]);
    expect(bear.headTokenIndices).toEqual([4, 5]);
    expect(e.tokens[4]).toBe('<unk>');
    expect(aligned[1]!.headTokenIndices.map((i) => e.tokens[i])).toEqual(['diamond']);
  });

  it('the head noun is found before a complement "of"', () => {
    expect(headNounSpan('a glass of wine', { span: [2, 15], noun: 'glass' })).toEqual([2, 7]);
    expect(headNounSpan('a red red', { span: [2, 9], noun: 'red' })).toEqual([6, 9]);
    const { aligned } = align('a glass of wine next to a cup');
    expect(aligned[0]!.object).toBe('glass of wine');
    expect(aligned[0]!.headTokenIndices).toEqual([2]);
    expect(aligned[0]!.tokenIndices).toEqual([2, 3, 4]);
  });

  it('an object cut off by the 16-token limit is a warning, not a crash', () => {
    const text = 'a red circle to the left of a blue square above a green triangle and a yellow cross';
    const { aligned } = align(text, tok16);
    expect(aligned.map((a) => a.truncated)).toEqual(['none', 'none', 'none', 'all']);
    const cross = aligned[3]!;
    expect(cross.tokenIndices).toEqual([]);
    expect(cross.headTokenIndices).toEqual([]);
    const at = text.indexOf('yellow cross');
    expect(cross.warning).toContain(`"yellow cross" (characters ${at}-${at + 12}) is past the 16-token limit`);
    expect(alignmentWarnings(aligned)).toEqual([cross.warning]);
  });

  it('an object cut in the middle is reported as partial', () => {
    // content tokens 1..14 fit: "a red circle to the left of a big blue square near big purple | triangles"
    const { e, aligned } = align('a red circle to the left of a big blue square near big purple triangles', tok16);
    expect(e.tokens[14]).toBe('purple');
    const last = aligned.at(-1)!;
    expect(last.object).toBe('big purple triangles');
    expect(last.truncated).toBe('partial');
    expect(last.tokenIndices).toEqual([13, 14]);
    expect(last.headTokenIndices).toEqual([]);
    expect(last.warning).toMatch(/cut off part-way by the 16-token limit.*its head noun included/);
    expect(aligned.slice(0, -1).every((a) => a.truncated === 'none')).toBe(true);
  });

  it('refuses an encoding of another text', () => {
    expect(() => alignObjects(parsePrompt('a red circle'), tok.encode('a blue circle'))).toThrow(/different text/);
  });

  it('Shape World dataset captions: no unknown words; offsets exact; objects found', () => {
    let truncated = 0;
    const n = 400;
    for (let i = 0; i < n; i++) {
      const rng = new Rng(1000 + i);
      const scene = generateScene(rng, { requireRelation: i % 2 === 0 });
      const caption = captionScene(scene, rng, { spatial: i % 2 === 0 }).text;
      const e = tok.encode(caption);
      expect(e.tokens.filter((t) => t === '<unk>'), caption).toEqual([]);
      expect(e.offsetsExact).toBe(true);
      if (e.truncatedTokens > 0) truncated++;
      else {
        for (const a of alignObjects(parsePrompt(caption), e)) expect(a.headTokenIndices.length, `${caption}: ${a.object}`).toBe(1);
      }
    }
    // The shipped limit (32) fits every dataset caption; a shorter one would cut 3-object captions.
    expect(truncated).toBe(0);
  });
});
