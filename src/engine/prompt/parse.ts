/**
 * The prompt parser: "a photo of a red circle to the left of a teddy bear" -> objects
 * ("red circle", "teddy bear") and relation triplets (red circle, left, teddy bear), each
 * with character spans into the prompt.
 *
 * Three small steps:
 * 1. tokenize: words and punctuation with character offsets (tokenize.ts);
 * 2. scan: walk the tokens left to right into a flat list of items (object phrases,
 *    relation phrases, "and", clause breaks), matching the phrase tables (phrases.ts)
 *    longest phrase first and chunking everything else into noun phrases;
 * 3. resolve: a relation takes the object phrase right before it as its subject and the one
 *    right after it as its object, so "A left of B above C" chains through B.
 *
 * Whatever does not fit is reported in `warnings` in plain words; the parser never guesses
 * a relation. Pure and deterministic: no I/O, no randomness.
 */
import { DIRECTIONAL_RELATIONS } from '../../shared/prompt.ts';
import type { ParsedPrompt, PromptObject, PromptRelation, RelationName } from '../../shared/prompt.ts';
import { splitNounPhrase } from './chunk.ts';
import type { NounPhraseParts } from './chunk.ts';
import { PhraseMatcher } from './match.ts';
import {
  ABSOLUTE_PHRASES,
  CONJUNCTIONS,
  DETERMINERS,
  FILLERS,
  FRAME_DETERMINERS,
  FRAME_NOUNS,
  FUNCTION_WORDS,
  MAX_MEDIUM_ADJECTIVES,
  MEDIUM_WORDS,
  MUTUAL_PHRASES,
  NEW_OBJECT_DETERMINERS,
  RELATION_MODIFIERS,
  RELATION_PHRASES,
  STYLE_WORDS,
  UNSUPPORTED_PHRASES,
} from './phrases.ts';
import { tokenize } from './tokenize.ts';
import type { Token } from './tokenize.ts';

type PhraseKind =
  | { kind: 'relation'; relation: RelationName }
  | { kind: 'mutual' }
  | { kind: 'absolute' }
  | { kind: 'unsupported' };

const PHRASES = new PhraseMatcher<PhraseKind>([
  ...(Object.entries(RELATION_PHRASES) as [RelationName, readonly string[]][]).flatMap(([relation, phrases]) =>
    phrases.map((p) => [p, { kind: 'relation', relation }] as const),
  ),
  ...MUTUAL_PHRASES.map((p) => [p, { kind: 'mutual' }] as const),
  ...ABSOLUTE_PHRASES.map((p) => [p, { kind: 'absolute' }] as const),
  ...UNSUPPORTED_PHRASES.map((p) => [p, { kind: 'unsupported' }] as const),
]);

const SUPPORTED = 'left, right, above, below and near';

interface NounPhrase {
  /** The determiner that opened the phrase ("a", "the"), if any. */
  determiner?: Token;
  words: Token[];
  parts: NounPhraseParts;
  span: [number, number];
  text: string;
  /** Lower-case words, single spaces: repeated phrases with the same key are one object. */
  key: string;
}

interface Span {
  phrase: string;
  span: [number, number];
}

type Item =
  | { kind: 'object'; np: NounPhrase }
  | ({ kind: 'relation'; relation: RelationName } & Span)
  | ({ kind: 'mutual' } & Span)
  | { kind: 'and' }
  /** A separator, or something ignored: no relation reaches across it. */
  | { kind: 'break' };

type ObjectItem = Extract<Item, { kind: 'object' }>;

interface Note {
  at: number;
  message: string;
}

const where = (span: readonly [number, number]): string => `characters ${span[0]}-${span[1]}`;

export function parsePrompt(text: string): ParsedPrompt {
  if (text.trim() === '') return { text, objects: [], relations: [], warnings: ['the prompt is empty'] };
  const notes: Note[] = [];
  const warn = (at: number, message: string): void => void notes.push({ at, message });

  const items = scan(text, tokenize(text), warn);
  const { objects, relations } = resolve(text, items, warn);
  if (objects.length === 0) warn(text.length, 'no objects found in the prompt');

  // Stable sort: warnings read in prompt order.
  const warnings = notes
    .map((n, k) => ({ ...n, k }))
    .sort((a, b) => a.at - b.at || a.k - b.k)
    .map((n) => n.message);
  return { text, objects, relations, warnings: [...new Set(warnings)] };
}

// ---------------------------------------------------------------------------------------
// Scan: tokens -> items

function scan(text: string, tokens: readonly Token[], warn: (at: number, message: string) => void): Item[] {
  const items: Item[] = [];
  const isWord = (i: number, set: ReadonlySet<string>): boolean => tokens[i]?.kind === 'word' && set.has(tokens[i]!.lower);
  const spanOf = (start: number, end: number): Span => {
    const span: [number, number] = [tokens[start]!.start, tokens[end - 1]!.end];
    return { phrase: text.slice(span[0], span[1]), span };
  };

  /** Index of the first token after "directly", "right", ... when a listed phrase follows them. */
  const skipModifiers = (i: number): number | undefined => {
    let j = i;
    while (isWord(j, RELATION_MODIFIERS)) j++;
    return j > i && PHRASES.matchAt(tokens, j) ? j : undefined;
  };

  /** Whether token i can be part of an object phrase. */
  const isContent = (i: number): boolean =>
    tokens[i]?.kind === 'word' &&
    !isWord(i, DETERMINERS) &&
    !isWord(i, FILLERS) &&
    !isWord(i, CONJUNCTIONS) &&
    !isWord(i, FUNCTION_WORDS) &&
    PHRASES.matchAt(tokens, i) === undefined &&
    skipModifiers(i) === undefined;

  /** "a photo of", "an oil painting of", "photo of": the index after "of", or undefined. */
  const mediumPrefixEnd = (i: number): number | undefined => {
    const j = isWord(i, DETERMINERS) ? i + 1 : i;
    for (let k = j; k <= j + MAX_MEDIUM_ADJECTIVES; k++) {
      const t = tokens[k];
      if (t?.kind !== 'word') return undefined;
      if (MEDIUM_WORDS.has(t.lower) && tokens[k + 1]?.kind === 'word' && tokens[k + 1]!.lower === 'of') return k + 2;
      if (t.lower === 'of' || CONJUNCTIONS.has(t.lower) || PHRASES.matchAt(tokens, k)) return undefined;
    }
    return undefined;
  };

  /** ", highly detailed, 4k": the index of the separator (or end) after a clause of style words only. */
  const styleClauseEnd = (i: number): number | undefined => {
    let j = i;
    while (isWord(j, STYLE_WORDS)) j++;
    return j > i && (j === tokens.length || tokens[j]!.kind === 'separator') ? j : undefined;
  };

  /** "riding" in "an astronaut riding a horse": an -ing word right before an article is a verb. */
  const isVerb = (i: number): boolean =>
    tokens[i]?.kind === 'word' && /^[a-z]{2,}ing$/u.test(tokens[i]!.lower) && isWord(i + 1, DETERMINERS);

  let clauseStart = true;
  let i = 0;
  while (i < tokens.length) {
    const t = tokens[i]!;
    if (t.kind === 'separator') {
      items.push({ kind: 'break' });
      clauseStart = true;
      i++;
      const styleEnd = styleClauseEnd(i);
      if (styleEnd !== undefined) i = styleEnd;
      continue;
    }
    if (t.kind === 'conjunction' || isWord(i, CONJUNCTIONS)) {
      items.push({ kind: 'and' });
      clauseStart = true;
      i++;
      continue;
    }
    if (t.kind === 'symbol') {
      warn(t.start, `ignored "${t.text}" at ${where([t.start, t.end])}`);
      items.push({ kind: 'break' });
      i++;
      continue;
    }
    if (clauseStart) {
      clauseStart = false;
      const end = mediumPrefixEnd(i);
      if (end !== undefined) {
        i = end;
        continue;
      }
    }

    const afterModifiers = skipModifiers(i);
    if (afterModifiers !== undefined) {
      i = afterModifiers;
      continue;
    }
    const match = PHRASES.matchAt(tokens, i);
    if (match) {
      const s = spanOf(match.start, match.end);
      const m = match.value;
      if (m.kind === 'relation') items.push({ kind: 'relation', relation: m.relation, ...s });
      else if (m.kind === 'mutual') items.push({ kind: 'mutual', ...s });
      else {
        warn(
          s.span[0],
          m.kind === 'absolute'
            ? `"${s.phrase}" at ${where(s.span)} is a place in the picture, not a relation between two objects; ignored`
            : `relation "${s.phrase}" at ${where(s.span)} is not supported (only ${SUPPORTED} are); ignored`,
        );
        items.push({ kind: 'break' });
      }
      i = match.end;
      continue;
    }
    if (isWord(i, FILLERS)) {
      i++;
      continue;
    }
    if (isWord(i, DETERMINERS) || (isContent(i) && !isVerb(i))) {
      let determiner: Token | undefined;
      while (isWord(i, DETERMINERS)) determiner = tokens[i++];
      const words: Token[] = [];
      while (isContent(i) && !(words.length > 0 && isVerb(i))) {
        words.push(tokens[i++]!);
        // "glass of wine": "of" followed by a plain word stays inside the phrase.
        if (tokens[i]?.kind === 'word' && tokens[i]!.lower === 'of' && isContent(i + 1)) words.push(tokens[i++]!);
      }
      if (words.length === 0) {
        const d = determiner!;
        warn(d.start, `"${d.text}" at ${where([d.start, d.end])} is not followed by an object`);
        items.push({ kind: 'break' });
        continue;
      }
      const span: [number, number] = [words[0]!.start, words[words.length - 1]!.end];
      items.push({
        kind: 'object',
        np: {
          ...(determiner ? { determiner } : {}),
          words,
          parts: splitNounPhrase(words),
          span,
          text: text.slice(span[0], span[1]),
          key: words.map((w) => w.lower).join(' '),
        },
      });
      continue;
    }
    const why = isVerb(i) ? 'read as a verb, not part of an object' : 'not an object, a relation or a filler word';
    warn(t.start, `ignored "${t.text}" at ${where([t.start, t.end])}: ${why}`);
    items.push({ kind: 'break' });
    i++;
  }
  return items;
}

// ---------------------------------------------------------------------------------------
// Resolve: items -> objects and relations

interface Pending {
  subject: ObjectItem;
  object: ObjectItem;
  relation: RelationName;
  phrase: string;
  span: [number, number];
}

/** "the image", "this picture": the picture itself, in "a dog on the left of the image". */
function isFrame(np: NounPhrase): boolean {
  return (
    np.words.length === 1 &&
    np.determiner !== undefined &&
    FRAME_DETERMINERS.has(np.determiner.lower) &&
    FRAME_NOUNS.has(np.words[0]!.lower)
  );
}

function resolve(
  text: string,
  items: readonly Item[],
  warn: (at: number, message: string) => void,
): { objects: PromptObject[]; relations: PromptRelation[] } {
  const pending: Pending[] = [];
  const frames = new Set<ObjectItem>();

  items.forEach((item, k) => {
    if (item.kind === 'relation') {
      const before = items[k - 1];
      const after = items[k + 1];
      const label = `relation "${item.phrase}" at ${where(item.span)}`;
      if (before?.kind !== 'object') warn(item.span[0], `${label} has no subject before it; ignored`);
      if (after?.kind !== 'object') warn(item.span[0], `${label} has no object after it; ignored`);
      if (before?.kind !== 'object' || after?.kind !== 'object') return;
      if (isFrame(after.np)) {
        frames.add(after);
        const span: [number, number] = [item.span[0], after.np.span[1]];
        warn(span[0], `"${text.slice(span[0], span[1])}" at ${where(span)} is a place in the picture, not a relation between two objects; ignored`);
        return;
      }
      pending.push({ subject: before, object: after, relation: item.relation, phrase: item.phrase, span: item.span });
    } else if (item.kind === 'mutual') {
      const [a, and, b] = [items[k - 3], items[k - 2], items[k - 1]];
      if (a?.kind === 'object' && and?.kind === 'and' && b?.kind === 'object') {
        pending.push({ subject: a, object: b, relation: 'near', phrase: item.phrase, span: item.span });
      } else {
        warn(
          item.span[0],
          `"${item.phrase}" at ${where(item.span)} needs two objects joined by "and" before it (as in "a cat and a dog ${item.phrase}"); ignored`,
        );
      }
    }
  });

  // Objects in prompt order; a repeated phrase is the same object, except after "another"
  // or where that would relate an object to itself ("a dog next to a dog").
  const objects: PromptObject[] = [];
  const indexOf = new Map<ObjectItem, number>();
  const byKey = new Map<string, number>();
  for (const item of items) {
    if (item.kind !== 'object' || frames.has(item)) continue;
    const { np } = item;
    const existing = byKey.get(np.key);
    const forcedNew = np.determiner !== undefined && NEW_OBJECT_DETERMINERS.has(np.determiner.lower);
    const selfRelation = pending.some((p) => p.object === item && indexOf.get(p.subject) === existing);
    if (existing !== undefined && !forcedNew && !selfRelation) {
      indexOf.set(item, existing);
      continue;
    }
    indexOf.set(item, objects.length);
    if (existing === undefined) byKey.set(np.key, objects.length);
    objects.push({
      text: np.text,
      span: np.span,
      noun: joinTokens(np.parts.noun),
      attributes: np.parts.attributes.map((t) => t.text),
    });
  }

  const relations: PromptRelation[] = [];
  for (const p of pending) {
    const subjectIndex = indexOf.get(p.subject)!;
    const objectIndex = indexOf.get(p.object)!;
    if (relations.some((r) => r.subjectIndex === subjectIndex && r.objectIndex === objectIndex && r.relation === p.relation)) continue;
    relations.push({
      subject: objects[subjectIndex]!.text,
      relation: p.relation,
      object: objects[objectIndex]!.text,
      subjectIndex,
      objectIndex,
      directional: DIRECTIONAL_RELATIONS.includes(p.relation),
      phrase: p.phrase,
      phraseSpan: p.span,
    });
  }
  warnContradictions(relations, warn);
  return { objects, relations };
}

/** Tokens of one phrase as written, joined by single spaces. */
function joinTokens(tokens: readonly Token[]): string {
  return tokens.map((t) => t.text).join(' ');
}

const OPPOSITE: Partial<Record<RelationName, RelationName>> = { left: 'right', right: 'left', above: 'below', below: 'above' };

/** "A left of B" with "A right of B" or "B left of A": both cannot hold. */
function warnContradictions(relations: readonly PromptRelation[], warn: (at: number, message: string) => void): void {
  const describe = (r: PromptRelation): string => `"${r.subject} ${r.phrase} ${r.object}" (${where(r.phraseSpan)})`;
  relations.forEach((b, j) => {
    for (const a of relations.slice(0, j)) {
      const opposite = OPPOSITE[a.relation];
      if (opposite === undefined) continue;
      const same = a.subjectIndex === b.subjectIndex && a.objectIndex === b.objectIndex && b.relation === opposite;
      const swapped = a.subjectIndex === b.objectIndex && a.objectIndex === b.subjectIndex && b.relation === a.relation;
      if (same || swapped) warn(b.phraseSpan[0], `relations ${describe(a)} and ${describe(b)} contradict each other`);
    }
  });
}
