/**
 * The Shape World tokenizer: a word-level tokenizer in the Hugging Face `tokenizer.json`
 * format, built deterministically from a fixed vocabulary (scripts/make-tokenizer.ts writes
 * it to resources/models/shape-world/tokenizer/).
 *
 * Pipeline (as in any tokenizer.json): Lowercase normalizer -> Whitespace pre-tokenizer
 * (`\w+|[^\w\s]+`: runs of word characters, runs of punctuation) -> WordLevel model with
 * <unk> -> TemplateProcessing `<bos> $A <eos>`. Padding with <pad> and truncation to
 * SHAPE_WORLD_MAX_LENGTH tokens are recorded in tokenizer.json and tokenizer_config.json.
 *
 * Pure: no I/O here, so the test can rebuild the JSON and compare it with the files.
 */

export const SHAPE_WORLD_SPECIAL_TOKENS = ['<pad>', '<bos>', '<eos>', '<unk>'] as const;

/** Tokens per prompt, <bos> and <eos> included. */
export const SHAPE_WORLD_MAX_LENGTH = 32;

/**
 * The Shape World words, in id order after the four special tokens. Append only: changing the
 * order or removing a word changes the ids the trained text encoder was trained on.
 */
export const SHAPE_WORLD_WORDS: readonly string[] = [
  // colours and shapes (src/engine/world/types.ts)
  'red', 'green', 'blue', 'yellow', 'purple', 'orange',
  'circle', 'circles', 'square', 'squares', 'triangle', 'triangles', 'diamond', 'diamonds', 'cross', 'crosses',
  'shape', 'shapes', 'object', 'objects',
  // articles, numbers, determiners
  'a', 'an', 'the', 'one', 'two', 'three', 'four', 'another', 'single', 'some', 'this', 'each', 'other',
  // caption openers and suffixes (src/engine/world/captions.ts)
  'photo', 'image', 'picture', 'drawing', 'illustration', 'simple', 'render', 'painting',
  'white', 'light', 'dark', 'background', 'flat', 'colors', 'colours', 'clipart',
  // relations
  'left', 'right', 'above', 'below', 'over', 'under', 'beneath', 'underneath', 'top', 'bottom', 'side',
  'next', 'near', 'beside', 'close', 'by', 'upper', 'lower', 'higher', 'than', 'up', 'down',
  'directly', 'just', 'slightly', 'far', 'together',
  // function and filler words
  'of', 'to', 'on', 'in', 'at', 'and', 'with', 'is', 'are', 'there',
  // sizes
  'small', 'big', 'large', 'tiny',
  // punctuation
  ',', '.', ':',
];

export interface TokenizerFiles {
  /** tokenizer.json content. */
  tokenizer: Record<string, unknown>;
  /** tokenizer_config.json content. */
  config: Record<string, unknown>;
}

/** Builds tokenizer.json + tokenizer_config.json for a word-level vocabulary. Throws on duplicates. */
export function buildWordLevelTokenizer(
  words: readonly string[] = SHAPE_WORLD_WORDS,
  maxLength: number = SHAPE_WORLD_MAX_LENGTH,
): TokenizerFiles {
  const [pad, bos, eos, unk] = SHAPE_WORLD_SPECIAL_TOKENS;
  const vocab: Record<string, number> = {};
  for (const token of [...SHAPE_WORLD_SPECIAL_TOKENS, ...words]) {
    if (Object.hasOwn(vocab, token)) throw new Error(`duplicate vocabulary entry "${token}"`);
    if (token !== token.toLowerCase()) throw new Error(`vocabulary entry "${token}" is not lower-case (the normalizer lowercases)`);
    vocab[token] = Object.keys(vocab).length;
  }
  const special = (content: string): Record<string, unknown> => ({
    id: vocab[content],
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  });
  const tokenizer = {
    version: '1.0',
    truncation: { direction: 'Right', max_length: maxLength, strategy: 'LongestFirst', stride: 0 },
    padding: {
      strategy: { Fixed: maxLength },
      direction: 'Right',
      pad_to_multiple_of: null,
      pad_id: vocab[pad],
      pad_type_id: 0,
      pad_token: pad,
    },
    added_tokens: SHAPE_WORLD_SPECIAL_TOKENS.map(special),
    normalizer: { type: 'Lowercase' },
    pre_tokenizer: { type: 'Whitespace' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: bos, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: eos, type_id: 0 } }],
      pair: [
        { SpecialToken: { id: bos, type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: eos, type_id: 0 } },
        { Sequence: { id: 'B', type_id: 1 } },
        { SpecialToken: { id: eos, type_id: 1 } },
      ],
      special_tokens: {
        [bos]: { id: bos, ids: [vocab[bos]], tokens: [bos] },
        [eos]: { id: eos, ids: [vocab[eos]], tokens: [eos] },
      },
    },
    decoder: null,
    model: { type: 'WordLevel', vocab, unk_token: unk },
  };
  const config = {
    tokenizer_class: 'PreTrainedTokenizerFast',
    model_max_length: maxLength,
    padding_side: 'right',
    truncation_side: 'right',
    bos_token: bos,
    eos_token: eos,
    unk_token: unk,
    pad_token: pad,
    do_lower_case: true,
    clean_up_tokenization_spaces: false,
  };
  return { tokenizer, config };
}

/** The exact bytes of a JSON file this project writes: 2-space indent, trailing newline. */
export function jsonFileText(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}
