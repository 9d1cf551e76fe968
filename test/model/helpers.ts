import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
export const SHAPE_WORLD_TOKENIZER = join(ROOT, 'resources/models/shape-world/tokenizer');

const made: string[] = [];
export function tempDir(prefix = 'steer-model-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  made.push(d);
  return d;
}
export function cleanTemp(): void {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
}

/** Writes files (path relative to dir -> content; objects become JSON). */
export function writeTree(dir: string, files: Record<string, string | Uint8Array | object>): void {
  for (const [rel, content] of Object.entries(files)) {
    const path = join(dir, rel);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, typeof content === 'string' || content instanceof Uint8Array ? content : JSON.stringify(content));
  }
}

/**
 * A tiny CLIP-style byte-level BPE tokenizer, written by hand: single letters (plain and
 * word-final "x</w>"), a few merges ("red", "gi" "raf" "fe</w>" for "giraffe"), CLIP's
 * normalizer, pre-tokenizer and <|startoftext|> ... <|endoftext|> post-processing.
 */
export function tinyBpe(): { vocab: Record<string, number>; merges: string[]; json: Record<string, unknown>; config: Record<string, unknown> } {
  const vocab: Record<string, number> = {};
  const add = (t: string): void => {
    if (vocab[t] === undefined) vocab[t] = Object.keys(vocab).length;
  };
  const letters = 'abcdefghijklmnopqrstuvwxyz,.'.split('');
  for (const l of letters) add(l);
  for (const l of letters) add(`${l}</w>`);
  const merges = ['r e', 're d</w>', 'g i', 'r a', 'ra f', 'f e</w>', 'o f</w>', 't h', 'th e</w>', 't o</w>'];
  for (const m of merges) add(m.replace(' ', ''));
  add('<|startoftext|>');
  add('<|endoftext|>');
  const bos = '<|startoftext|>';
  const eos = '<|endoftext|>';
  const json = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [bos, eos].map((content) => ({ id: vocab[content], content, single_word: false, lstrip: false, rstrip: false, normalized: true, special: true })),
    normalizer: { type: 'Sequence', normalizers: [{ type: 'NFC' }, { type: 'Replace', pattern: { Regex: '\\s+' }, content: ' ' }, { type: 'Lowercase' }] },
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: "'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+" }, behavior: 'Removed', invert: true },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
      ],
    },
    post_processor: { type: 'RobertaProcessing', sep: [eos, vocab[eos]], cls: [bos, vocab[bos]], trim_offsets: false, add_prefix_space: false },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', dropout: null, unk_token: eos, continuing_subword_prefix: '', end_of_word_suffix: '</w>', fuse_unk: false, vocab, merges },
  };
  const config = { model_max_length: 77, bos_token: bos, eos_token: eos, unk_token: eos, pad_token: eos, do_lower_case: true };
  return { vocab, merges, json, config };
}
