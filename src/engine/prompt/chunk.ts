/**
 * The noun-phrase chunker's second half: given the words of one object phrase (articles
 * already stripped), find the head noun and the attribute words in front of it.
 */
import { MULTI_WORD_NOUNS } from './phrases.ts';
import type { Token } from './tokenize.ts';

export interface NounPhraseParts {
  /** Tokens of the head noun ("teddy", "bear"). */
  noun: Token[];
  /** Tokens before the head noun ("small", "brown"). */
  attributes: Token[];
  /** Tokens after the head noun ("of", "wine" in "glass of wine"). */
  complement: Token[];
}

const COMPOUNDS: readonly string[][] = MULTI_WORD_NOUNS.map((n) => n.split(' ')).sort((a, b) => b.length - a.length);

function sameNoun(written: string, listed: string, isLast: boolean): boolean {
  if (written === listed) return true;
  // The last word may be plural: "teddy bears", "wine glasses".
  return isLast && (written === `${listed}s` || written === `${listed}es`);
}

/** How many words at the end of `words` form a listed multi-word noun (1 when none does). */
export function headNounLength(words: readonly string[]): number {
  for (const compound of COMPOUNDS) {
    const n = compound.length;
    if (n > words.length) continue;
    const tail = words.slice(words.length - n);
    if (compound.every((w, k) => sameNoun(tail[k]!, w, k === n - 1))) return n;
  }
  return Math.min(1, words.length);
}

/**
 * Split an object phrase into attributes, head noun and complement. The head is found in
 * the words before the first "of" ("glass of wine" -> "glass"), so `words` must not start
 * with "of".
 */
export function splitNounPhrase(words: readonly Token[]): NounPhraseParts {
  const ofAt = words.findIndex((t) => t.lower === 'of');
  const head = ofAt < 0 ? words : words.slice(0, ofAt);
  const complement = ofAt < 0 ? [] : words.slice(ofAt);
  const n = headNounLength(head.map((t) => t.lower));
  return { attributes: head.slice(0, head.length - n), noun: head.slice(head.length - n), complement };
}
