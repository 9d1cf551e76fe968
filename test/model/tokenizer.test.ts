import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeShapeWorldTokenizer } from '../../scripts/make-tokenizer.ts';
import { loadTokenizer } from '../../src/engine/model/tokenizer.ts';
import type { TokenEncoding } from '../../src/engine/model/tokenizer.ts';
import { SHAPE_WORLD_MAX_LENGTH, SHAPE_WORLD_WORDS, buildWordLevelTokenizer, jsonFileText } from '../../src/engine/model/wordlevel.ts';
import { ROOT, SHAPE_WORLD_TOKENIZER, cleanTemp, tempDir, writeTree } from './helpers.ts';

afterAll(cleanTemp);

const FILES = ['tokenizer.json', 'tokenizer_config.json'];
const L = SHAPE_WORLD_MAX_LENGTH;

/** Every content token's offsets cut out its own surface form (case-insensitively). */
function expectOffsetsExact(e: TokenEncoding, unk = '<unk>'): void {
  expect(e.offsetsExact).toBe(true);
  e.tokens.forEach((t, i) => {
    const [s, en] = e.offsets[i]!;
    if (e.special[i]) {
      expect([s, en]).toEqual([0, 0]);
      return;
    }
    expect(en).toBeGreaterThan(s);
    if (t !== unk) expect(e.text.slice(s, en).toLowerCase()).toBe(t);
  });
}

describe('make-tokenizer', () => {
  it('writes the same bytes every time, and the committed files are those bytes', () => {
    const a = tempDir();
    const b = tempDir();
    writeShapeWorldTokenizer(a);
    execFileSync(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts/make-tokenizer.ts'), '--out', b], { cwd: ROOT, stdio: 'pipe' });
    for (const f of FILES) {
      const bytes = readFileSync(join(a, f));
      expect(readFileSync(join(b, f)).equals(bytes)).toBe(true);
      expect(readFileSync(join(SHAPE_WORLD_TOKENIZER, f)).equals(bytes), `${f} is stale: run npx tsx scripts/make-tokenizer.ts`).toBe(true);
    }
    const { tokenizer } = buildWordLevelTokenizer();
    expect(readFileSync(join(a, 'tokenizer.json'), 'utf8')).toBe(jsonFileText(tokenizer));
  });

  it('puts the special tokens first and rejects duplicate words', () => {
    const vocab = (buildWordLevelTokenizer().tokenizer.model as { vocab: Record<string, number> }).vocab;
    expect(Object.entries(vocab).slice(0, 4)).toEqual([['<pad>', 0], ['<bos>', 1], ['<eos>', 2], ['<unk>', 3]]);
    expect(Object.keys(vocab)).toHaveLength(4 + SHAPE_WORLD_WORDS.length);
    expect(() => buildWordLevelTokenizer(['red', 'red'])).toThrow(/duplicate.*red/);
    expect(() => buildWordLevelTokenizer(['Red'])).toThrow(/lower-case/);
  });
});

describe('Shape World tokenizer', () => {
  const tok = loadTokenizer(SHAPE_WORLD_TOKENIZER);
  const id = (t: string): number => tok.tokenToId(t)!;

  it('loads from resources with its max length and pad token', () => {
    expect(tok.modelType).toBe('WordLevel');
    expect(tok.maxLength).toBe(SHAPE_WORLD_MAX_LENGTH);
    expect(tok.padId).toBe(0);
    expect(tok.padToken).toBe('<pad>');
    expect(tok.vocabSize).toBe(4 + SHAPE_WORLD_WORDS.length);
  });

  it('encodes a caption: <bos> words <eos>, padded with <pad>', () => {
    const e = tok.encode('a red circle and a blue square');
    const words = ['a', 'red', 'circle', 'and', 'a', 'blue', 'square'];
    expect(e.tokens.slice(0, 9)).toEqual(['<bos>', ...words, '<eos>']);
    expect(e.ids).toBeInstanceOf(Int32Array);
    expect([...e.ids]).toEqual([1, ...words.map(id), 2, ...Array(L - 9).fill(0)]);
    expect(e.ids).toHaveLength(L);
    expect(e.tokens.slice(9)).toEqual(Array(L - 9).fill('<pad>'));
    expect([...e.attentionMask]).toEqual([...Array(9).fill(1), ...Array(L - 9).fill(0)]);
    expect(e.length).toBe(9);
    expect(e.special).toEqual([true, ...Array(7).fill(false), ...Array(L - 8).fill(true)]);
    expect(e.truncatedTokens).toBe(0);
    expect(e.warnings).toEqual([]);
    expectOffsetsExact(e);
  });

  it('lowercases, maps unknown words to <unk> and splits punctuation', () => {
    const e = tok.encode('A RED Zebra, next to the Blue square.');
    expect(e.tokens.slice(0, e.length)).toEqual(['<bos>', 'a', 'red', '<unk>', ',', 'next', 'to', 'the', 'blue', 'square', '.', '<eos>']);
    expect(e.ids[3]).toBe(3);
    expect(e.offsets[3]).toEqual([6, 11]); // "Zebra"
    expectOffsetsExact(e);
  });

  it('gives exact offsets with odd spacing, tabs and newlines', () => {
    const text = '  a  photo\tof a\nred circle ,to the left of:a blue square  ';
    const e = tok.encode(text);
    expectOffsetsExact(e);
    expect(e.tokens).toContain(':');
  });

  it('keeps typed special tokens as tokens of the text', () => {
    const e = tok.encode('red <eos> circle');
    expect(e.tokens.slice(0, e.length)).toEqual(['<bos>', 'red', '<eos>', 'circle', '<eos>']);
    expect(e.special.slice(0, e.length)).toEqual([true, false, false, false, true]);
    expect(e.offsets[2]).toEqual([4, 9]);
  });

  it('truncates to the max length keeping <eos>, and says what was cut', () => {
    const text = 'a red circle to the left of a blue square above a green triangle and a yellow cross';
    const e = loadTokenizer(SHAPE_WORLD_TOKENIZER, { maxLength: 16 }).encode(text);
    expect(e.length).toBe(16);
    expect(e.tokens[0]).toBe('<bos>');
    expect(e.tokens[15]).toBe('<eos>');
    expect(e.tokens[14]).toBe('triangle');
    expect(e.truncatedTokens).toBe(4);
    expect(e.warnings.join(' ')).toMatch(/over the limit of 16: 4 tokens cut off.*"and a yellow cross"/);
    expect([...e.attentionMask].every((m) => m === 1)).toBe(true);
  });

  it('returns int64 ids on request, and decodes', () => {
    const e = tok.encode('a red circle', { idsType: 'int64' });
    expect(e.ids).toBeInstanceOf(BigInt64Array);
    expect(e.attentionMask).toBeInstanceOf(BigInt64Array);
    expect(e.ids[2]).toBe(BigInt(id('red')));
    expect(tok.decode(e.ids, { skipSpecialTokens: true })).toBe('a red circle');
    const t64 = loadTokenizer(SHAPE_WORLD_TOKENIZER, { idsType: 'int64', maxLength: 8 });
    expect(t64.encode('red').ids).toEqual(BigInt64Array.from([1n, BigInt(id('red')), 2n, 0n, 0n, 0n, 0n, 0n]));
  });

  it('encodes the empty prompt as <bos> <eos> and padding', () => {
    const e = tok.encode('');
    expect([...e.ids]).toEqual([1, 2, ...Array(L - 2).fill(0)]);
  });
});

describe('tokenizer file errors', () => {
  it('names a missing tokenizer.json', () => {
    const d = tempDir();
    expect(() => loadTokenizer(d)).toThrow(`${join(d, 'tokenizer.json')}: missing`);
    expect(() => loadTokenizer(join(d, 'nope'))).toThrow(/tokenizer\.json: missing: the tokenizer folder does not exist/);
  });

  it('names malformed JSON and missing fields', () => {
    const d = tempDir();
    writeTree(d, { 'tokenizer.json': '{ not json' });
    expect(() => loadTokenizer(d)).toThrow(new RegExp(`${join(d, 'tokenizer.json')}: not valid JSON`.replace(/[.\\/]/g, '\\$&')));
    writeTree(d, { 'tokenizer.json': { version: '1.0' } });
    expect(() => loadTokenizer(d)).toThrow(/tokenizer\.json: not a tokenizer\.json \(model: /);
  });

  it('names a malformed tokenizer_config.json and a missing max length', () => {
    const d = tempDir();
    const { tokenizer } = buildWordLevelTokenizer(['red']);
    writeTree(d, { 'tokenizer.json': tokenizer, 'tokenizer_config.json': '[1,' });
    expect(() => loadTokenizer(d)).toThrow(/tokenizer_config\.json: not valid JSON/);
    writeTree(d, { 'tokenizer_config.json': { model_max_length: 'long' } });
    expect(() => loadTokenizer(d)).toThrow(/tokenizer_config\.json: malformed \(model_max_length/);
    const noLength = { ...tokenizer, truncation: null, padding: null };
    writeTree(d, { 'tokenizer.json': noLength, 'tokenizer_config.json': { pad_token: '<pad>', model_max_length: 1e30 } });
    expect(() => loadTokenizer(d)).toThrow(/tokenizer_config\.json: no max length/);
    expect(loadTokenizer(d, { maxLength: 5 }).encode('red').ids).toHaveLength(5);
  });

  it('names an unknown model type', () => {
    const d = tempDir();
    const { tokenizer } = buildWordLevelTokenizer(['red']);
    writeTree(d, { 'tokenizer.json': { ...tokenizer, pre_tokenizer: { type: 'Nonsense' } } });
    expect(() => loadTokenizer(d)).toThrow(/tokenizer\.json: tokenizers\.js cannot load it \(Unknown PreTokenizer type: Nonsense\)/);
  });
});
