/**
 * Token alignment: which token positions of an encoded prompt belong to each parsed object.
 * Learn-to-Steer reads the cross-attention maps of these positions (the head noun's above
 * all), so the indices index the encoder's token axis: <bos> is 0.
 *
 * A token belongs to an object when its character offsets overlap the object's span, so an
 * object of several words ("teddy bear") or a word split into several BPE pieces gets every
 * token. Special tokens and padding ([0, 0] offsets) never belong to an object.
 */
import type { ParsedPrompt, PromptObject } from '../../shared/prompt.ts';
import type { Offset, TokenEncoding } from './tokenizer.ts';

export interface AlignedObject {
  /** The object phrase ("red circle"). */
  object: string;
  /** [start, end) of the phrase in the prompt. */
  span: [number, number];
  /** Token positions overlapping the phrase, ascending. */
  tokenIndices: number[];
  /** The head noun ("circle", "teddy bear"). */
  noun: string;
  /** [start, end) of the head noun in the prompt. */
  headSpan: [number, number];
  /** Token positions overlapping the head noun, ascending. */
  headTokenIndices: number[];
  /** 'all': every token of the object fell past the max length; 'partial': some did. */
  truncated: 'none' | 'partial' | 'all';
  /** Set when the object cannot be steered as asked (truncated, offsets unavailable). */
  warning?: string;
}

/** Token positions whose offsets overlap [start, end). */
export function tokensInSpan(encoding: Pick<TokenEncoding, 'offsets' | 'special'>, span: readonly [number, number]): number[] {
  const out: number[] = [];
  encoding.offsets.forEach(([s, e]: Offset, i) => {
    if (encoding.special[i] || e <= s) return;
    if (s < span[1] && e > span[0]) out.push(i);
  });
  return out;
}

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/gu, '\\$&');

/** Where the head noun sits inside the object phrase: the last match before a complement "of", else the last match. */
export function headNounSpan(prompt: string, object: Pick<PromptObject, 'span' | 'noun'>): [number, number] | undefined {
  const [start, end] = object.span;
  const phrase = prompt.slice(start, end);
  const words = object.noun.trim().split(/\s+/u).filter((w) => w !== '');
  if (words.length === 0) return undefined;
  const re = new RegExp(`(?<![\\p{L}\\p{N}])${words.map(escapeRegExp).join('\\s+')}(?![\\p{L}\\p{N}])`, 'giu');
  const matches = [...phrase.matchAll(re)];
  if (matches.length === 0) return undefined;
  const of = /(?<![\p{L}\p{N}])of(?![\p{L}\p{N}])/iu.exec(phrase);
  const beforeOf = of ? matches.filter((m) => m.index + m[0].length <= of.index) : [];
  const m = (beforeOf.length > 0 ? beforeOf : matches).at(-1)!;
  return [start + m.index, start + m.index + m[0].length];
}

/** The token positions of every object of `prompt` in `encoding` (which must encode prompt.text). */
export function alignObjects(prompt: ParsedPrompt, encoding: TokenEncoding): AlignedObject[] {
  if (prompt.text !== encoding.text) {
    throw new Error('alignObjects: the encoding is of a different text than the parsed prompt');
  }
  return prompt.objects.map((o): AlignedObject => {
    const tokenIndices = tokensInSpan(encoding, o.span);
    const head = headNounSpan(prompt.text, o);
    let headSpan: [number, number];
    let headTokenIndices: number[];
    if (head) {
      headSpan = head;
      headTokenIndices = tokensInSpan(encoding, head);
    } else {
      // The noun is not written in the phrase (should not happen): the phrase's last token.
      headSpan = [o.span[1], o.span[1]];
      headTokenIndices = tokenIndices.slice(-1);
    }
    const aligned: AlignedObject = { object: o.text, span: o.span, tokenIndices, noun: o.noun, headSpan, headTokenIndices, truncated: 'none' };
    const where = `characters ${o.span[0]}-${o.span[1]}`;
    if (!encoding.offsetsExact) {
      aligned.warning = `"${o.text}" (${where}): no character offsets for this tokenizer, so its tokens are unknown`;
      return aligned;
    }
    // Where the kept text ends: tokens past maxLength were cut.
    const cutAt = encoding.truncatedTokens > 0 ? lastContentEnd(encoding) : Infinity;
    if (o.span[0] >= cutAt || tokenIndices.length === 0) {
      aligned.truncated = 'all';
      aligned.warning =
        `"${o.text}" (${where}) is past the ${encoding.maxLength}-token limit of the text encoder and was cut off; ` +
        'it cannot be steered (shorten the prompt)';
    } else if (o.span[1] > cutAt) {
      aligned.truncated = 'partial';
      aligned.warning =
        `"${o.text}" (${where}) is cut off part-way by the ${encoding.maxLength}-token limit of the text encoder` +
        (headTokenIndices.length === 0 ? ', its head noun included; it cannot be steered (shorten the prompt)' : '');
    }
    return aligned;
  });
}

function lastContentEnd(encoding: TokenEncoding): number {
  let end = 0;
  encoding.offsets.forEach(([s, e], i) => {
    if (!encoding.special[i] && e > s) end = Math.max(end, e);
  });
  return end;
}

/** The warnings of an alignment, in object order. */
export function alignmentWarnings(aligned: readonly AlignedObject[]): string[] {
  return aligned.flatMap((a) => (a.warning ? [a.warning] : []));
}
