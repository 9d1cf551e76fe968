import { afterAll, describe, expect, it } from 'vitest';
import { alignObjects } from '../../src/engine/model/align.ts';
import { createTokenizer, loadTokenizer } from '../../src/engine/model/tokenizer.ts';
import { parsePrompt } from '../../src/engine/prompt/parse.ts';
import { cleanTemp, tempDir, tinyBpe, writeTree } from './helpers.ts';

afterAll(cleanTemp);

const EOW = '</w>';
/** The text a BPE token stands for: "</w>" dropped. */
const surface = (t: string): string => (t.endsWith(EOW) ? t.slice(0, -EOW.length) : t);

describe('CLIP-style BPE tokenizer (hand-made tokenizer.json)', () => {
  const { json, config, vocab, merges } = tinyBpe();
  const dir = tempDir();
  writeTree(dir, { 'tokenizer.json': json, 'tokenizer_config.json': config });
  const tok = loadTokenizer(dir);

  it('loads with CLIP max length 77 and <|startoftext|> ... <|endoftext|>', () => {
    expect(tok.modelType).toBe('BPE');
    expect(tok.maxLength).toBe(77);
    const e = tok.encode('a red giraffe');
    expect(e.tokens.slice(0, e.length)).toEqual(['<|startoftext|>', 'a</w>', 'red</w>', 'gi', 'raf', 'fe</w>', '<|endoftext|>']);
    expect(e.ids).toHaveLength(77);
    expect(e.ids[0]).toBe(vocab['<|startoftext|>']);
    expect(e.ids[6]).toBe(vocab['<|endoftext|>']);
    expect(e.tokens[7]).toBe('<|endoftext|>'); // CLIP pads with <|endoftext|>
    expect(e.attentionMask[7]).toBe(0);
  });

  it('gives each piece of a split word its own exact offsets', () => {
    const text = 'A  RED\tGiraffe, the circle';
    const e = tok.encode(text);
    expect(e.offsetsExact).toBe(true);
    e.tokens.forEach((t, i) => {
      if (e.special[i]) return expect(e.offsets[i]).toEqual([0, 0]);
      const [s, en] = e.offsets[i]!;
      expect(text.slice(s, en).toLowerCase()).toBe(surface(t));
    });
    const giraffe = e.tokens.map((t, i) => [t, e.offsets[i]]).filter(([, o]) => (o as number[])[0]! >= 7 && (o as number[])[1]! <= 14);
    expect(giraffe).toEqual([['gi', [7, 9]], ['raf', [9, 12]], ['fe</w>', [12, 14]]]);
  });

  it('aligns a multi-piece word to all its pieces; the head noun too', () => {
    const text = 'a red giraffe to the left of a circle';
    const parsed = parsePrompt(text);
    const e = tok.encode(text);
    const [giraffe, circle] = alignObjects(parsed, e);
    expect(giraffe!.object).toBe('red giraffe');
    expect(giraffe!.tokenIndices.map((i) => e.tokens[i])).toEqual(['red</w>', 'gi', 'raf', 'fe</w>']);
    expect(giraffe!.headTokenIndices.map((i) => e.tokens[i])).toEqual(['gi', 'raf', 'fe</w>']);
    expect(circle!.headTokenIndices.map((i) => e.tokens[i]).join('')).toBe('circle</w>');
    expect(circle!.headTokenIndices).toHaveLength(6); // c i r c l e</w>: no merges for it
  });

  it('maps characters outside the vocabulary (unk pieces) to the right character', () => {
    const text = 'café red';
    const e = tok.encode(text);
    expect(e.offsetsExact).toBe(true);
    const unk = e.tokens.map((t, i) => (t === '<|endoftext|>' && !e.special[i] ? e.offsets[i] : undefined)).filter((x) => x);
    expect(unk).toEqual([[3, 4], [3, 4]]); // "é" is two bytes, two unknown pieces
    expect(e.offsets[e.tokens.indexOf('red</w>')]).toEqual([5, 8]);
  });

  it('truncates at 77 keeping <|endoftext|> last', () => {
    const text = Array(50).fill('red giraffe').join(' ');
    const e = tok.encode(text);
    expect(e.length).toBe(77);
    expect(e.tokens[76]).toBe('<|endoftext|>');
    expect(e.special[76]).toBe(true);
    expect(e.truncatedTokens).toBe(200 - 75);
  });

  it('loads the same tokenizer from CLIP vocab.json + merges.txt (diffusers exports)', () => {
    const d = tempDir();
    writeTree(d, {
      'vocab.json': vocab,
      'merges.txt': `#version: 0.2\n${merges.join('\n')}\n`,
      'tokenizer_config.json': { model_max_length: 77, pad_token: '<|endoftext|>' },
    });
    const fromFiles = loadTokenizer(d);
    const text = 'a red giraffe, the circle';
    expect(fromFiles.encode(text)).toEqual(tok.encode(text));
    writeTree(d, { 'merges.txt': '#version: 0.2\nr e d\n' });
    expect(() => loadTokenizer(d)).toThrow(/merges\.txt: line "r e d" is not a merge/);
  });

  it('builds from objects too (createTokenizer)', () => {
    const t = createTokenizer(json, config, { maxLength: 10 });
    expect(t.encode('red').ids).toHaveLength(10);
  });
});
