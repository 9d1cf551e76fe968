/**
 * The default Shape World nets must fit the shipped tokenizer: one token_embedding row per
 * vocabulary id, and as many positions (and UNet text tokens) as the tokenizer pads to.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadTokenizer } from '../../src/engine/model/tokenizer.ts';
import { SHAPE_WORLD_MAX_LENGTH } from '../../src/engine/model/wordlevel.ts';
import { shapeWorldConfigs } from '../../src/engine/nets/index.ts';

const TOKENIZER_DIR = join(dirname(fileURLToPath(import.meta.url)), '../../resources/models/shape-world/tokenizer');

describe('Shape World nets fit the shipped tokenizer', () => {
  const tok = loadTokenizer(TOKENIZER_DIR);
  const cfg = shapeWorldConfigs();

  it('default text encoder vocab_size equals the tokenizer vocabSize', () => {
    expect(cfg.textEncoder.vocab_size).toBe(tok.vocabSize);
  });

  it('default text length equals the tokenizer max length', () => {
    expect(tok.maxLength).toBe(SHAPE_WORLD_MAX_LENGTH);
    expect(cfg.textEncoder.max_position_embeddings).toBe(tok.maxLength);
    expect(cfg.unet.text_length).toBe(tok.maxLength);
  });
});
