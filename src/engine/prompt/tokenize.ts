/**
 * The prompt tokenizer: splits a prompt into tokens that remember their character offsets,
 * so everything built from them (objects, relation phrases) can point back into the text.
 */

export type TokenKind =
  /** Letters and digits, with inner apostrophes and hyphens ("dog's", "left-hand", "3d"). */
  | 'word'
  /** Ends a clause: , . ; : ! ? a dash, a newline, brackets and quotes. */
  | 'separator'
  /** "&" and "+": read as "and". */
  | 'conjunction'
  /** Any other character (#, *, /, ...): the parser warns about it. */
  | 'symbol';

export interface Token {
  kind: TokenKind;
  /** The token as written. */
  text: string;
  /** Lower-cased, curly apostrophes straightened: what matching compares. */
  lower: string;
  /** [start, end) character offsets in the prompt. */
  start: number;
  end: number;
}

const WORD = /[\p{L}\p{N}]+(?:['’-][\p{L}\p{N}]+)*/uy;
const SEPARATORS = new Set([',', '.', ';', ':', '!', '?', '…', '-', '–', '—', '\n', '(', ')', '[', ']', '{', '}', '"', '“', '”', '«', '»', "'", '‘', '’']);
const CONJUNCTIONS = new Set(['&', '+']);

export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (ch !== '\n' && /\s/u.test(ch)) {
      i++;
      continue;
    }
    WORD.lastIndex = i;
    const m = WORD.exec(text);
    if (m) {
      const word = m[0];
      tokens.push({ kind: 'word', text: word, lower: word.toLowerCase().replace(/’/gu, "'"), start: i, end: i + word.length });
      i += word.length;
      continue;
    }
    const cp = charAt(text, i);
    if (SEPARATORS.has(cp) || CONJUNCTIONS.has(cp)) {
      const kind: TokenKind = SEPARATORS.has(cp) ? 'separator' : 'conjunction';
      tokens.push({ kind, text: cp, lower: cp, start: i, end: i + cp.length });
      i += cp.length;
      continue;
    }
    // A run of other symbols ("###", "**") is one token, so it gets one warning.
    let end = i + cp.length;
    while (end < text.length && isSymbol(text, end)) end += charAt(text, end).length;
    tokens.push({ kind: 'symbol', text: text.slice(i, end), lower: text.slice(i, end), start: i, end });
    i = end;
  }
  return tokens;
}

/** One code point (not one UTF-16 unit), so an emoji is one character. */
function charAt(text: string, i: number): string {
  return String.fromCodePoint(text.codePointAt(i)!);
}

function isSymbol(text: string, i: number): boolean {
  const cp = charAt(text, i);
  if (/\s/u.test(cp) || SEPARATORS.has(cp) || CONJUNCTIONS.has(cp)) return false;
  WORD.lastIndex = i;
  return !WORD.test(text);
}
