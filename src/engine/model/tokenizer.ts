/**
 * Prompt tokenizer for the Encode Prompt node: loads a Hugging Face tokenizer folder
 * (tokenizer.json + tokenizer_config.json, or a CLIP vocab.json + merges.txt) with
 * tokenizers.js and encodes prompts into fixed-length id arrays with character offsets.
 *
 * tokenizers.js gives ids and tokens only; padding, truncation and offsets are done here
 * (offsets.ts explains how the offsets are found). Truncation keeps the special tokens the
 * post-processor adds (<bos> ... <eos>, CLIP's <|startoftext|> ... <|endoftext|>) and cuts
 * content tokens from the end, as the Python tokenizers do with truncation=True.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { z } from 'zod';
import { contentTokenOffsets, pipelineInfo } from './offsets.ts';
import type { Offset, PipelineInfo } from './offsets.ts';

export type { Offset } from './offsets.ts';
export type IdsType = 'int32' | 'int64';

export interface TokenEncoding {
  /** The text that was encoded. */
  text: string;
  /** Token ids, padded to maxLength. */
  ids: Int32Array | BigInt64Array;
  /** Token strings, padded to maxLength (the pad token); unknown words read as the unk token. */
  tokens: string[];
  /** 1 for real tokens (special tokens included), 0 for padding; same array type as `ids`. */
  attentionMask: Int32Array | BigInt64Array;
  /** [start, end) character offsets in `text`; [0, 0] for special tokens and padding. */
  offsets: Offset[];
  /** true for tokens the post-processor added (<bos>, <eos>) and for padding. */
  special: boolean[];
  /** Number of tokens before padding (special tokens included). */
  length: number;
  maxLength: number;
  /** Content tokens cut off by maxLength (0 when nothing was cut). */
  truncatedTokens: number;
  /** false when the offsets could not be worked out exactly (then they are all [0, 0]). */
  offsetsExact: boolean;
  warnings: string[];
}

export interface EncodeOptions {
  idsType?: IdsType;
}

export interface PromptTokenizer {
  /** The folder it was loaded from. */
  dir: string;
  /** Model type from tokenizer.json: 'WordLevel', 'BPE', 'WordPiece', 'Unigram'. */
  modelType: string;
  maxLength: number;
  vocabSize: number;
  padId: number;
  padToken: string;
  encode(text: string, opts?: EncodeOptions): TokenEncoding;
  decode(ids: ArrayLike<number | bigint>, opts?: { skipSpecialTokens?: boolean }): string;
  tokenToId(token: string): number | undefined;
  idToToken(id: number): string | undefined;
}

export interface LoadTokenizerOptions {
  /** Overrides the max length from the tokenizer files. */
  maxLength?: number;
  /** Default ids type for encode(); 'int32' unless given. */
  idsType?: IdsType;
}

export class TokenizerFileError extends Error {
  constructor(readonly path: string, problem: string) {
    super(`${path}: ${problem}`);
    this.name = 'TokenizerFileError';
  }
}

// ---------------------------------------------------------------------------------------
// Reading the files

/** tokenizer_config.json writes special tokens as strings or as {content: "..."} objects. */
const tokenField = z.union([z.string(), z.object({ content: z.string() }).loose(), z.null()]).optional();

const tokenizerConfigSchema = z
  .object({
    model_max_length: z.number().optional(),
    bos_token: tokenField,
    eos_token: tokenField,
    unk_token: tokenField,
    pad_token: tokenField,
  })
  .loose();

const tokenizerJsonSchema = z
  .object({
    model: z
      .object({ type: z.string().optional(), vocab: z.union([z.record(z.string(), z.number()), z.array(z.unknown())]) })
      .loose(),
    added_tokens: z
      .array(z.object({ id: z.number().int(), content: z.string() }).loose())
      .optional(),
    truncation: z.object({ max_length: z.number().int().positive() }).loose().nullable().optional(),
    padding: z
      .object({
        strategy: z.union([z.string(), z.object({ Fixed: z.number().int().positive() }).loose()]).optional(),
        pad_id: z.number().int().optional(),
        pad_token: z.string().optional(),
      })
      .loose()
      .nullable()
      .optional(),
  })
  .loose();

type TokenizerJson = z.infer<typeof tokenizerJsonSchema>;
type TokenizerConfigJson = z.infer<typeof tokenizerConfigSchema>;

function issuesText(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.length > 0 ? i.path.join('.') : '(top level)'}: ${i.message}`).join('; ');
}

function readJson(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new TokenizerFileError(path, `cannot be read (${(e as Error).message})`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new TokenizerFileError(path, `not valid JSON (${(e as Error).message})`);
  }
}

const tokenString = (v: TokenizerConfigJson['bos_token']): string | undefined =>
  typeof v === 'string' ? v : v && typeof v === 'object' ? v.content : undefined;

/** Above this, model_max_length is the Python "no limit" placeholder (1e30). */
const NO_LIMIT = 1_000_000;

/**
 * The CLIP tokenizer (Stable Diffusion's) as tokenizer.json, from the vocab.json + merges.txt
 * that diffusers exports ship. The pipeline is CLIP's: NFC, whitespace runs -> one space,
 * lowercase; split into letters / single digits / punctuation runs; byte-level BPE with
 * "</w>" ending each word; <|startoftext|> ... <|endoftext|>.
 */
export function clipTokenizerJson(vocab: Record<string, number>, merges: readonly string[]): Record<string, unknown> {
  const bos = '<|startoftext|>';
  const eos = '<|endoftext|>';
  const special = (content: string): Record<string, unknown> => ({
    id: vocab[content],
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: true,
    special: true,
  });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [special(bos), special(eos)],
    normalizer: {
      type: 'Sequence',
      normalizers: [{ type: 'NFC' }, { type: 'Replace', pattern: { Regex: '\\s+' }, content: ' ' }, { type: 'Lowercase' }],
    },
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: "'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+" }, behavior: 'Removed', invert: true },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
      ],
    },
    post_processor: { type: 'RobertaProcessing', sep: [eos, vocab[eos]], cls: [bos, vocab[bos]], trim_offsets: false, add_prefix_space: false },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: eos,
      continuing_subword_prefix: '',
      end_of_word_suffix: '</w>',
      fuse_unk: false,
      byte_fallback: false,
      vocab,
      merges: [...merges],
    },
  };
}

function readClipFiles(dir: string): Record<string, unknown> {
  const vocabPath = join(dir, 'vocab.json');
  const mergesPath = join(dir, 'merges.txt');
  const vocab = z.record(z.string(), z.number().int()).safeParse(readJson(vocabPath));
  if (!vocab.success) throw new TokenizerFileError(vocabPath, `not a token -> id map (${issuesText(vocab.error)})`);
  for (const t of ['<|startoftext|>', '<|endoftext|>']) {
    if (vocab.data[t] === undefined) throw new TokenizerFileError(vocabPath, `no "${t}" entry; a CLIP vocab.json has <|startoftext|> and <|endoftext|>`);
  }
  let mergesText: string;
  try {
    mergesText = readFileSync(mergesPath, 'utf8');
  } catch (e) {
    throw new TokenizerFileError(mergesPath, `cannot be read (${(e as Error).message})`);
  }
  const merges = mergesText.split(/\r?\n/u).filter((l, i) => l.trim() !== '' && !(i === 0 && l.startsWith('#version')));
  const bad = merges.findIndex((l) => l.split(' ').length !== 2);
  if (bad >= 0) throw new TokenizerFileError(mergesPath, `line "${merges[bad]}" is not a merge ("left right")`);
  return clipTokenizerJson(vocab.data, merges);
}

/** Reads and validates the tokenizer files of `dir` (without building the tokenizer). */
export function readTokenizerFiles(dir: string): { json: TokenizerJson; config: TokenizerConfigJson; source: string } {
  const jsonPath = join(dir, 'tokenizer.json');
  const configPath = join(dir, 'tokenizer_config.json');
  let raw: unknown;
  let source = jsonPath;
  if (existsSync(jsonPath)) raw = readJson(jsonPath);
  else if (existsSync(join(dir, 'vocab.json')) && existsSync(join(dir, 'merges.txt'))) {
    raw = readClipFiles(dir);
    source = join(dir, 'vocab.json');
  } else {
    throw new TokenizerFileError(
      jsonPath,
      existsSync(dir)
        ? 'missing; a tokenizer folder has tokenizer.json (Hugging Face tokenizers format), or vocab.json + merges.txt for CLIP'
        : 'missing: the tokenizer folder does not exist',
    );
  }
  const json = tokenizerJsonSchema.safeParse(raw);
  if (!json.success) throw new TokenizerFileError(source, `not a tokenizer.json (${issuesText(json.error)})`);
  let config: TokenizerConfigJson = {};
  if (existsSync(configPath)) {
    const parsed = tokenizerConfigSchema.safeParse(readJson(configPath));
    if (!parsed.success) throw new TokenizerFileError(configPath, `malformed (${issuesText(parsed.error)})`);
    config = parsed.data;
  }
  return { json: json.data, config, source };
}

// ---------------------------------------------------------------------------------------
// Building

/** Loads the tokenizer in `dir`. Throws TokenizerFileError naming the file for any problem. */
export function loadTokenizer(dir: string, opts: LoadTokenizerOptions = {}): PromptTokenizer {
  const { json, config, source } = readTokenizerFiles(dir);
  return createTokenizer(json, config, { ...opts, dir, source });
}

/** Builds a PromptTokenizer from already-parsed tokenizer.json / tokenizer_config.json objects. */
export function createTokenizer(
  jsonIn: Record<string, unknown>,
  configIn: Record<string, unknown> = {},
  opts: LoadTokenizerOptions & { dir?: string; source?: string } = {},
): PromptTokenizer {
  const source = opts.source ?? 'tokenizer.json';
  const parsed = tokenizerJsonSchema.safeParse(jsonIn);
  if (!parsed.success) throw new TokenizerFileError(source, `not a tokenizer.json (${issuesText(parsed.error)})`);
  const cfg = tokenizerConfigSchema.safeParse(configIn);
  if (!cfg.success) throw new TokenizerFileError(source.replace(/[^/\\]*$/u, 'tokenizer_config.json'), `malformed (${issuesText(cfg.error)})`);
  const json: Record<string, any> = {
    normalizer: null,
    pre_tokenizer: null,
    post_processor: null,
    decoder: null,
    added_tokens: [],
    ...parsed.data,
  };
  const model = json.model as Record<string, unknown>;
  const modelType = typeof model.type === 'string' ? model.type : 'unknown';
  const unkFromModel = typeof model.unk_token === 'string' ? model.unk_token : undefined;
  // tokenizers.js reads special tokens from the config as plain strings; the word-level
  // model (read by its "Legacy" model) takes its unk token from the config.
  const config: Record<string, unknown> = { ...cfg.data };
  for (const key of ['bos_token', 'eos_token', 'unk_token', 'pad_token'] as const) {
    const v = tokenString(cfg.data[key]);
    if (v === undefined) delete config[key];
    else config[key] = v;
  }
  if (config.unk_token === undefined && unkFromModel !== undefined) config.unk_token = unkFromModel;

  let tok: Tokenizer;
  try {
    tok = new Tokenizer(json, config);
  } catch (e) {
    throw new TokenizerFileError(source, `tokenizers.js cannot load it (${(e as Error).message})`);
  }
  const info = pipelineInfo(json);
  if (info.unkToken === undefined && typeof config.unk_token === 'string') info.unkToken = config.unk_token;
  const vocab = tok.get_vocab(true);
  const unkId = info.unkToken !== undefined ? vocab.get(info.unkToken) : undefined;
  if (modelType === 'WordLevel' && unkId === undefined) {
    throw new TokenizerFileError(source, `model.unk_token "${info.unkToken ?? ''}" is not in the vocabulary`);
  }

  // Max length: option > truncation.max_length > padding Fixed > tokenizer_config model_max_length.
  const strategy = parsed.data.padding?.strategy;
  const fixed = strategy && typeof strategy === 'object' ? strategy.Fixed : undefined;
  const fromConfig = cfg.data.model_max_length !== undefined && cfg.data.model_max_length < NO_LIMIT ? cfg.data.model_max_length : undefined;
  const maxLength = opts.maxLength ?? parsed.data.truncation?.max_length ?? fixed ?? fromConfig;
  if (maxLength === undefined || !Number.isInteger(maxLength) || maxLength < 1) {
    throw new TokenizerFileError(
      source.replace(/[^/\\]*$/u, 'tokenizer_config.json'),
      'no max length: set model_max_length (77 for CLIP) in tokenizer_config.json, or truncation.max_length in tokenizer.json',
    );
  }

  const padToken = parsed.data.padding?.pad_token ?? tokenString(cfg.data.pad_token);
  const padId = parsed.data.padding?.pad_id ?? (padToken !== undefined ? vocab.get(padToken) : undefined);
  if (padId === undefined) {
    throw new TokenizerFileError(
      source,
      padToken === undefined
        ? 'no pad token: set padding.pad_id in tokenizer.json or pad_token in tokenizer_config.json'
        : `pad token "${padToken}" is not in the vocabulary`,
    );
  }
  const padName = padToken ?? tok.id_to_token(padId) ?? String(padId);
  const dir = opts.dir ?? '.';
  const defaultIdsType = opts.idsType ?? 'int32';

  const idOf = (token: string): number => {
    const id = tok.token_to_id(token) ?? unkId;
    if (id === undefined) throw new Error(`token "${token}" has no id and the tokenizer has no unk token`);
    return id;
  };

  return {
    dir,
    modelType,
    maxLength,
    vocabSize: vocab.size,
    padId,
    padToken: padName,
    tokenToId: (t) => tok.token_to_id(t),
    idToToken: (id) => tok.id_to_token(id),
    decode: (ids, o = {}) => {
      const list = Array.from(ids, (x) => Number(x)).filter((x) => x !== padId || !o.skipSpecialTokens);
      return list.length === 0 ? '' : tok.decode(list, { skip_special_tokens: o.skipSpecialTokens ?? false });
    },
    encode: (text, o = {}) => encodeWith(tok, info, text, { maxLength, padId, padName, idOf, idsType: o.idsType ?? defaultIdsType }),
  };
}

// ---------------------------------------------------------------------------------------
// Encoding

interface EncodeContext {
  maxLength: number;
  padId: number;
  padName: string;
  idOf: (token: string) => number;
  idsType: IdsType;
}

/** Where `needle` sits inside `hay` as a contiguous run (first match), or -1. */
function findRun(hay: readonly string[], needle: readonly string[]): number {
  outer: for (let k = 0; k + needle.length <= hay.length; k++) {
    for (let i = 0; i < needle.length; i++) if (hay[k + i] !== needle[i]) continue outer;
    return k;
  }
  return -1;
}

function encodeWith(tok: Tokenizer, info: PipelineInfo, text: string, ctx: EncodeContext): TokenEncoding {
  const warnings: string[] = [];
  const content = tok.tokenize(text, { add_special_tokens: false });
  const full = tok.encode(text).tokens;
  const at = findRun(full, content);
  // Post-processors put their special tokens around the content, so the content is one run.
  const prefix = at >= 0 ? full.slice(0, at) : [];
  const suffix = at >= 0 ? full.slice(at + content.length) : [];
  if (at < 0) warnings.push('the post-processor reordered the tokens; special tokens were not added');

  let offsets: Offset[];
  let offsetsExact = true;
  let walked;
  try {
    walked = contentTokenOffsets(tok, info, text);
  } catch {
    walked = undefined;
  }
  if (walked && walked.tokens.length === content.length && walked.tokens.every((t, i) => t === content[i])) {
    offsets = walked.offsets;
  } else {
    offsetsExact = false;
    offsets = content.map((): Offset => [0, 0]);
    warnings.push('character offsets are not available for this tokenizer and text; token alignment is off');
  }

  const room = Math.max(0, ctx.maxLength - prefix.length - suffix.length);
  const kept = Math.min(content.length, room);
  const truncatedTokens = content.length - kept;
  if (truncatedTokens > 0) {
    const cutAt = offsets[kept]?.[0] ?? 0;
    warnings.push(
      `the prompt is ${content.length + prefix.length + suffix.length} tokens, over the limit of ${ctx.maxLength}: ` +
        `${truncatedTokens} token${truncatedTokens === 1 ? '' : 's'} cut off` +
        (offsetsExact ? ` (from character ${cutAt}: "${text.slice(cutAt)}")` : ''),
    );
  }
  const tokens = [...prefix, ...content.slice(0, kept), ...suffix].slice(0, ctx.maxLength);
  const special = [...prefix.map(() => true), ...content.slice(0, kept).map(() => false), ...suffix.map(() => true)].slice(0, ctx.maxLength);
  const offs: Offset[] = [...prefix.map((): Offset => [0, 0]), ...offsets.slice(0, kept), ...suffix.map((): Offset => [0, 0])].slice(0, ctx.maxLength);
  const length = tokens.length;

  const idList = tokens.map(ctx.idOf);
  const names = idList.map((id, i) => tok.id_to_token(id) ?? tokens[i]!);
  while (names.length < ctx.maxLength) {
    idList.push(ctx.padId);
    names.push(ctx.padName);
    special.push(true);
    offs.push([0, 0]);
  }
  const mask = idList.map((_, i) => (i < length ? 1 : 0));
  const ids = ctx.idsType === 'int64' ? BigInt64Array.from(idList, (x) => BigInt(x)) : Int32Array.from(idList);
  const attentionMask = ctx.idsType === 'int64' ? BigInt64Array.from(mask, (x) => BigInt(x)) : Int32Array.from(mask);
  return { text, ids, tokens: names, attentionMask, offsets: offs, special, length, maxLength: ctx.maxLength, truncatedTokens, offsetsExact, warnings };
}
