/**
 * A phrase matcher over tokens: finds the longest listed phrase that starts at a token.
 * Phrases are lower-case words separated by spaces; they match runs of word tokens only
 * (never across punctuation).
 */
import type { Token } from './tokenize.ts';

export interface PhraseMatch<T> {
  value: T;
  /** Token indices: [start, end). */
  start: number;
  end: number;
}

interface Entry<T> {
  words: string[];
  value: T;
}

export class PhraseMatcher<T> {
  /** Entries by first word, longest first. */
  private readonly byFirstWord = new Map<string, Entry<T>[]>();

  constructor(entries: Iterable<readonly [phrase: string, value: T]> = []) {
    for (const [phrase, value] of entries) this.add(phrase, value);
  }

  add(phrase: string, value: T): this {
    const words = phrase.toLowerCase().split(/\s+/u).filter((w) => w.length > 0);
    const first = words[0];
    if (first === undefined) throw new Error(`empty phrase in the phrase table`);
    const list = this.byFirstWord.get(first) ?? [];
    list.push({ words, value });
    list.sort((a, b) => b.words.length - a.words.length);
    this.byFirstWord.set(first, list);
    return this;
  }

  /** The longest phrase starting at token `i`, or undefined. */
  matchAt(tokens: readonly Token[], i: number): PhraseMatch<T> | undefined {
    const first = tokens[i];
    if (first?.kind !== 'word') return undefined;
    const candidates = this.byFirstWord.get(first.lower);
    if (!candidates) return undefined;
    for (const entry of candidates) {
      if (entry.words.every((w, k) => tokens[i + k]?.kind === 'word' && tokens[i + k]!.lower === w)) {
        return { value: entry.value, start: i, end: i + entry.words.length };
      }
    }
    return undefined;
  }
}
