import { describe, expect, it } from 'vitest';
import { headNounLength } from '../../src/engine/prompt/chunk.ts';
import { parsePrompt } from '../../src/engine/prompt/parse.ts';
import {
  ABSOLUTE_PHRASES,
  MUTUAL_PHRASES,
  RELATION_PHRASES,
  UNSUPPORTED_PHRASES,
} from '../../src/engine/prompt/phrases.ts';
import { tokenize } from '../../src/engine/prompt/tokenize.ts';
import type { ParsedPrompt, RelationName } from '../../src/shared/prompt.ts';

type Triplet = [subject: string, relation: RelationName, object: string];

/** Parse, check the invariants every result must keep, and return it. */
function parse(text: string): ParsedPrompt {
  const p = parsePrompt(text);
  expect(p.text).toBe(text);
  for (const o of p.objects) {
    expect(text.slice(o.span[0], o.span[1])).toBe(o.text);
    const squeeze = (x: string): string => x.toLowerCase().replace(/\s+/g, ' ');
    expect(squeeze(o.text)).toContain(squeeze(o.noun));
    for (const a of o.attributes) expect(o.text).toContain(a);
  }
  for (const r of p.relations) {
    expect(text.slice(r.phraseSpan[0], r.phraseSpan[1])).toBe(r.phrase);
    expect(p.objects[r.subjectIndex]?.text).toBe(r.subject);
    expect(p.objects[r.objectIndex]?.text).toBe(r.object);
    expect(r.subjectIndex).not.toBe(r.objectIndex);
    expect(r.directional).toBe(r.relation !== 'near');
  }
  return p;
}

const triplets = (p: ParsedPrompt): Triplet[] => p.relations.map((r) => [r.subject, r.relation, r.object]);
const objectTexts = (p: ParsedPrompt): string[] => p.objects.map((o) => o.text);

// ---------------------------------------------------------------------------------------

describe('GenEval position prompts: "a photo of a A <rel> a B"', () => {
  const pairs: [string, string][] = [
    ['bench', 'cat'],
    ['dog', 'teddy bear'],
    ['fire hydrant', 'motorcycle'],
    ['traffic light', 'stop sign'],
    ['wine glass', 'dining table'],
    ['cell phone', 'potted plant'],
    ['tennis racket', 'baseball bat'],
    ['hot dog', 'parking meter'],
    ['sports ball', 'baseball glove'],
    ['hair drier', 'toothbrush'],
    ['umbrella', 'oven'],
  ];
  const relations: [string, RelationName][] = [
    ['left of', 'left'],
    ['right of', 'right'],
    ['above', 'above'],
    ['below', 'below'],
  ];
  const cases = pairs.flatMap(([a, b]) => relations.map(([phrase, rel]) => [a, phrase, b, rel] as const));

  it.each(cases)('a photo of a %s %s a %s', (a, phrase, b, rel) => {
    const text = `a photo of ${/^[aeiou]/.test(a) ? 'an' : 'a'} ${a} ${phrase} ${/^[aeiou]/.test(b) ? 'an' : 'a'} ${b}`;
    const p = parse(text);
    expect(p.warnings).toEqual([]);
    expect(objectTexts(p)).toEqual([a, b]);
    expect(p.objects.map((o) => o.noun)).toEqual([a, b]);
    expect(p.objects.every((o) => o.attributes.length === 0)).toBe(true);
    expect(triplets(p)).toEqual([[a, rel, b]]);
    expect(p.relations[0]).toMatchObject({ subjectIndex: 0, objectIndex: 1, phrase });
  });
});

describe('T2I-CompBench spatial phrasings', () => {
  it.each<[string, Triplet]>([
    ['a cat on the left of a dog', ['cat', 'left', 'dog']],
    ['a man on the right of a backpack', ['man', 'right', 'backpack']],
    ['a balloon on the top of a giraffe', ['balloon', 'above', 'giraffe']],
    ['a book on the bottom of a cow', ['book', 'below', 'cow']],
    ['a cat next to a dog', ['cat', 'near', 'dog']],
    ['a bee near a bird', ['bee', 'near', 'bird']],
    ['a car on side of a chair', ['car', 'near', 'chair']],
    ['a woman on the side of a sheep', ['woman', 'near', 'sheep']],
    ['a girl on the left of a horse', ['girl', 'left', 'horse']],
    ['a mouse on the right of a bowl', ['mouse', 'right', 'bowl']],
    ['a suitcase on the top of a table', ['suitcase', 'above', 'table']],
    ['a vase on the bottom of a shelf', ['vase', 'below', 'shelf']],
  ])('%s', (text, expected) => {
    const p = parse(text);
    expect(p.warnings).toEqual([]);
    expect(triplets(p)).toEqual([expected]);
  });
});

describe('every listed relation phrasing maps to its canonical relation', () => {
  const cases = (Object.entries(RELATION_PHRASES) as [RelationName, readonly string[]][]).flatMap(([rel, phrases]) =>
    phrases.map((phrase) => [phrase, rel] as const),
  );
  it.each(cases)('"a dog %s a cat" -> %s', (phrase, rel) => {
    const text = `a dog ${phrase} a cat`;
    const p = parse(text);
    expect(p.warnings).toEqual([]);
    expect(triplets(p)).toEqual([['dog', rel, 'cat']]);
    expect(p.relations[0]!.phrase).toBe(phrase);
    expect(p.relations[0]!.phraseSpan).toEqual([6, 6 + phrase.length]);
  });

  it.each([
    ['to the left of', 'left'],
    ['at the left of', 'left'],
    ['on the left side of', 'left'],
    ['to the right of', 'right'],
    ['at the right of', 'right'],
    ['on the right side of', 'right'],
    ['over', 'above'],
    ['on top of', 'above'],
    ['atop', 'above'],
    ['under', 'below'],
    ['underneath', 'below'],
    ['beneath', 'below'],
    ['at the bottom of', 'below'],
    ['beside', 'near'],
    ['close to', 'near'],
    ['by', 'near'],
    ['alongside', 'near'],
  ])('the table lists "%s" (%s)', (phrase, rel) => {
    expect(RELATION_PHRASES[rel as RelationName]).toContain(phrase);
  });

  it('no phrase is listed twice across the phrase tables', () => {
    const all = [...Object.values(RELATION_PHRASES).flat(), ...MUTUAL_PHRASES, ...ABSOLUTE_PHRASES, ...UNSUPPORTED_PHRASES];
    expect(new Set(all).size).toBe(all.length);
  });
});

describe('objects: multi-word nouns and attributes', () => {
  it.each<[string, string, string, string[]]>([
    ['a red circle above a square', 'red circle', 'circle', ['red']],
    ['a small blue square', 'small blue square', 'square', ['small', 'blue']],
    ['a teddy bear', 'teddy bear', 'teddy bear', []],
    ['a brown teddy bear', 'brown teddy bear', 'teddy bear', ['brown']],
    ['a fire hydrant', 'fire hydrant', 'fire hydrant', []],
    ['a big yellow fire hydrant', 'big yellow fire hydrant', 'fire hydrant', ['big', 'yellow']],
    ['a traffic light', 'traffic light', 'traffic light', []],
    ['a hot dog', 'hot dog', 'hot dog', []],
    ['a wooden dining table', 'wooden dining table', 'dining table', ['wooden']],
    ['two teddy bears', 'two teddy bears', 'teddy bears', ['two']],
    ['three wine glasses', 'three wine glasses', 'wine glasses', ['three']],
    ['a glass of wine', 'glass of wine', 'glass', []],
    ['an old metal parking meter', 'old metal parking meter', 'parking meter', ['old', 'metal']],
    ['a shiny cell phone', 'shiny cell phone', 'cell phone', ['shiny']],
    ['a hot air balloon', 'hot air balloon', 'hot air balloon', []],
    ['a golden retriever', 'golden retriever', 'golden retriever', []],
  ])('%s', (text, objText, noun, attributes) => {
    const p = parse(text);
    expect(p.objects[0]).toMatchObject({ text: objText, noun, attributes });
  });

  it.each([
    [['teddy', 'bear'], 2],
    [['small', 'teddy', 'bears'], 2],
    [['blue', 'bear'], 1],
    [['hot', 'air', 'balloon'], 3],
    [['dog'], 1],
    [[], 0],
  ] as const)('head noun of %j has %i words', (words, n) => {
    expect(headNounLength(words)).toBe(n);
  });
});

describe('articles', () => {
  it.each<[string, string[]]>([
    ['a dog left of a cat', ['dog', 'cat']],
    ['an apple left of an orange', ['apple', 'orange']],
    ['the dog left of the cat', ['dog', 'cat']],
    ['dog left of cat', ['dog', 'cat']],
    ['one dog left of one cat', ['dog', 'cat']],
    ['A dog left of The cat', ['dog', 'cat']],
  ])('%s', (text, objects) => {
    const p = parse(text);
    expect(objectTexts(p)).toEqual(objects);
    expect(p.relations).toHaveLength(1);
    expect(p.warnings).toEqual([]);
  });
});

describe('picture prefixes are not objects', () => {
  it.each([
    'a photo of a dog left of a cat',
    'an image of a dog left of a cat',
    'a picture of a dog left of a cat',
    'a painting of a dog left of a cat',
    'a render of a dog left of a cat',
    'a drawing of a dog left of a cat',
    'photo of a dog left of a cat',
    'an oil painting of a dog left of a cat',
    'a high quality photo of a dog left of a cat',
    'A Photo Of a dog left of a cat',
  ])('%s', (text) => {
    const p = parse(text);
    expect(objectTexts(p)).toEqual(['dog', 'cat']);
    expect(triplets(p)).toEqual([['dog', 'left', 'cat']]);
    expect(p.warnings).toEqual([]);
  });
});

describe('chains, conjunctions and several relations', () => {
  it.each<[string, string[], Triplet[]]>([
    [
      'a red circle left of a blue square above a green triangle',
      ['red circle', 'blue square', 'green triangle'],
      [['red circle', 'left', 'blue square'], ['blue square', 'above', 'green triangle']],
    ],
    [
      'a cat above a dog and a bird right of a horse',
      ['cat', 'dog', 'bird', 'horse'],
      [['cat', 'above', 'dog'], ['bird', 'right', 'horse']],
    ],
    [
      'a cat above a dog and a bird to the left of a horse below a sheep',
      ['cat', 'dog', 'bird', 'horse', 'sheep'],
      [['cat', 'above', 'dog'], ['bird', 'left', 'horse'], ['horse', 'below', 'sheep']],
    ],
    [
      'a dog underneath a wine glass and a cell phone to the left of a hot dog below a stop sign',
      ['dog', 'wine glass', 'cell phone', 'hot dog', 'stop sign'],
      [['dog', 'below', 'wine glass'], ['cell phone', 'left', 'hot dog'], ['hot dog', 'below', 'stop sign']],
    ],
    [
      'a cat left of a dog, a bird above a horse',
      ['cat', 'dog', 'bird', 'horse'],
      [['cat', 'left', 'dog'], ['bird', 'above', 'horse']],
    ],
    [
      'a cat left of a dog. A bird above a horse.',
      ['cat', 'dog', 'bird', 'horse'],
      [['cat', 'left', 'dog'], ['bird', 'above', 'horse']],
    ],
    [
      'a cat left of a dog; the dog above a bird',
      ['cat', 'dog', 'bird'],
      [['cat', 'left', 'dog'], ['dog', 'above', 'bird']],
    ],
    [
      'a cup left of a plate left of a fork left of a knife',
      ['cup', 'plate', 'fork', 'knife'],
      [['cup', 'left', 'plate'], ['plate', 'left', 'fork'], ['fork', 'left', 'knife']],
    ],
    ['a cat and a dog', ['cat', 'dog'], []],
    ['a cat and a dog side by side', ['cat', 'dog'], [['cat', 'near', 'dog']]],
    ['a cat and a dog next to each other', ['cat', 'dog'], [['cat', 'near', 'dog']]],
    ['a cat & a dog', ['cat', 'dog'], []],
  ])('%s', (text, objects, expected) => {
    const p = parse(text);
    expect(objectTexts(p)).toEqual(objects);
    expect(triplets(p)).toEqual(expected);
    expect(p.warnings).toEqual([]);
  });

  it('a repeated phrase is one object, and relations index into it', () => {
    const p = parse('a cat left of a dog, the dog above a bird');
    expect(objectTexts(p)).toEqual(['cat', 'dog', 'bird']);
    expect(p.relations.map((r) => [r.subjectIndex, r.objectIndex])).toEqual([[0, 1], [1, 2]]);
    expect(p.objects[1]!.span).toEqual([16, 19]);
  });

  it('"another" and self-relations make a second object', () => {
    expect(parse('a dog left of another dog').relations[0]).toMatchObject({ subjectIndex: 0, objectIndex: 1 });
    const p = parse('a dog next to a dog');
    expect(p.objects).toHaveLength(2);
    expect(p.relations[0]).toMatchObject({ subjectIndex: 0, objectIndex: 1, relation: 'near', directional: false });
  });

  it('the same triplet stated twice is kept once', () => {
    const p = parse('a cat left of a dog. the cat to the left of the dog');
    expect(triplets(p)).toEqual([['cat', 'left', 'dog']]);
  });
});

describe('filler verbs', () => {
  it.each<[string, Triplet]>([
    ['a cat is to the left of a dog', ['cat', 'left', 'dog']],
    ['there is a cat to the left of a dog', ['cat', 'left', 'dog']],
    ['There are two cats above a dog', ['two cats', 'above', 'dog']],
    ['a cat sits above a dog', ['cat', 'above', 'dog']],
    ['a lamp stands next to a sofa', ['lamp', 'near', 'sofa']],
    ['a vase placed on top of a table', ['vase', 'above', 'table']],
    ['a car located right of a house', ['car', 'right', 'house']],
    ['a ball positioned under a chair', ['ball', 'below', 'chair']],
    ['the cat is placed on the left side of the dog', ['cat', 'left', 'dog']],
    ['a bird flying over a lake', ['bird', 'above', 'lake']],
    ['a dog directly above a cat', ['dog', 'above', 'cat']],
    ['a dog right next to a cat', ['dog', 'near', 'cat']],
  ])('%s', (text, expected) => {
    const p = parse(text);
    expect(triplets(p)).toEqual([expected]);
    expect(p.warnings).toEqual([]);
  });
});

describe('prompts without relations', () => {
  it.each<[string, string[]]>([
    ['a dog', ['dog']],
    ['a photo of a teddy bear', ['teddy bear']],
    ['a red car and a blue bicycle', ['red car', 'blue bicycle']],
    ['a cat, a dog, and a bird', ['cat', 'dog', 'bird']],
    ['two dogs and three cats', ['two dogs', 'three cats']],
    ['a photo of four red apples', ['four red apples']],
  ])('%s', (text, objects) => {
    const p = parse(text);
    expect(objectTexts(p)).toEqual(objects);
    expect(p.relations).toEqual([]);
    expect(p.warnings).toEqual([]);
  });
});

describe('warnings instead of guesses', () => {
  it.each<[string, RegExp[], Triplet[]]>([
    ['', [/^the prompt is empty$/], []],
    ['   ', [/^the prompt is empty$/], []],
    ['left of a dog', [/^relation "left of" at characters 0-7 has no subject before it/], []],
    ['a dog left of', [/^relation "left of" at characters 6-13 has no object after it/], []],
    ['a cat to the left of', [/^relation "to the left of" at characters 6-20 has no object after it/], []],
    [
      'a dog left of a cat left of',
      [/^relation "left of" at characters 20-27 has no object after it/],
      [['dog', 'left', 'cat']],
    ],
    ['a dog, left of a cat', [/^relation "left of" at characters 7-14 has no subject before it/], []],
    ['a cat left of a dog ###', [/^ignored "###" at characters 20-23/], [['cat', 'left', 'dog']]],
    ['a cat behind a dog', [/^relation "behind" at characters 6-12 is not supported/], []],
    ['a cup on a table', [/^relation "on" at characters 6-8 is not supported/], []],
    [
      'a dog on the left, a cat on the right',
      [/^"on the left" at characters 6-17 is a place in the picture/, /^"on the right" at characters 25-37 is a place/],
      [],
    ],
    ['a dog on the left of the image', [/^"on the left of the image" at characters 6-30 is a place in the picture/], []],
    ['a photo of', [/^no objects found in the prompt$/], []],
    ['the the', [/^"the" at characters 4-7 is not followed by an object$/, /^no objects found/], []],
    [
      'a dog with a hat left of a cat',
      [/^ignored "with" at characters 6-10/],
      [['hat', 'left', 'cat']],
    ],
    ['a cat side by side', [/^"side by side" at characters 6-18 needs two objects joined by "and"/], []],
    [
      'a cat left of a dog, a dog left of a cat',
      [/^relations "cat left of dog" \(characters 6-13\) and "dog left of cat" \(characters 27-34\) contradict each other$/],
      [['cat', 'left', 'dog'], ['dog', 'left', 'cat']],
    ],
    [
      'a cat above a dog. the cat below the dog',
      [/contradict each other$/],
      [['cat', 'above', 'dog'], ['cat', 'below', 'dog']],
    ],
  ])('%j', (text, patterns, expected) => {
    const p = parse(text);
    expect(p.warnings).toHaveLength(patterns.length);
    patterns.forEach((re, k) => expect(p.warnings[k]).toMatch(re));
    expect(triplets(p)).toEqual(expected);
  });

  it('a frame word with "a" is an ordinary object', () => {
    expect(triplets(parse('a vase left of a picture'))).toEqual([['vase', 'left', 'picture']]);
  });
});

describe('case, punctuation and spacing', () => {
  it('matches case-insensitively and keeps the original text in spans', () => {
    const text = 'A Red Circle TO THE LEFT OF A Teddy Bear';
    const p = parse(text);
    expect(p.objects).toEqual([
      { text: 'Red Circle', span: [2, 12], noun: 'Circle', attributes: ['Red'] },
      { text: 'Teddy Bear', span: [30, 40], noun: 'Teddy Bear', attributes: [] },
    ]);
    expect(p.relations[0]).toMatchObject({ relation: 'left', phrase: 'TO THE LEFT OF', phraseSpan: [13, 27] });
  });

  it.each<[string, Triplet[]]>([
    ['A dog left of a cat.', [['dog', 'left', 'cat']]],
    ['a dog left of a cat!!!', [['dog', 'left', 'cat']]],
    ['a dog  left   of\ta cat', [['dog', 'left', 'cat']]],
    ['  a dog left of a cat  ', [['dog', 'left', 'cat']]],
    ['a dog left of a cat\na bird above a horse', [['dog', 'left', 'cat'], ['bird', 'above', 'horse']]],
    ['(a dog) left of a cat', []],
    ['a dog’s toy left of a cat', [['dog’s toy', 'left', 'cat']]],
  ])('%j', (text, expected) => {
    expect(triplets(parse(text))).toEqual(expected);
  });

  it('keeps odd spacing inside an object text, spans exact', () => {
    const text = 'a   small   teddy  bear above a box';
    const p = parse(text);
    expect(p.objects[0]).toMatchObject({ text: 'small   teddy  bear', noun: 'teddy bear', attributes: ['small'] });
  });
});

describe('real-user prompts', () => {
  it.each<[string, string[], Triplet[], RegExp[]]>([
    [
      'A majestic lion to the left of a zebra, highly detailed, 4k',
      ['majestic lion', 'zebra'],
      [['majestic lion', 'left', 'zebra']],
      [],
    ],
    ['a dog, trending on artstation, 8k', ['dog'], [], []],
    [
      'An astronaut riding a horse above the moon',
      ['astronaut', 'horse', 'moon'],
      [['horse', 'above', 'moon']],
      [/^ignored "riding" at characters 13-19: read as a verb/],
    ],
    [
      'a cat left of a dog and right of a bird',
      ['cat', 'dog', 'bird'],
      [['cat', 'left', 'dog']],
      [/^relation "right of" at characters 24-32 has no subject before it/],
    ],
    ['a cup of coffee left of a laptop', ['cup of coffee', 'laptop'], [['cup of coffee', 'left', 'laptop']], []],
    ['a king left of a queen', ['king', 'queen'], [['king', 'left', 'queen']], []],
  ])('%s', (text, objects, expected, patterns) => {
    const p = parse(text);
    expect(objectTexts(p)).toEqual(objects);
    expect(triplets(p)).toEqual(expected);
    expect(p.warnings).toHaveLength(patterns.length);
    patterns.forEach((re, k) => expect(p.warnings[k]).toMatch(re));
  });
});

describe('robustness', () => {
  it('keeps its invariants on 1000 generated word salads', () => {
    const pool = [
      'a', 'an', 'the', 'dog', 'teddy', 'bear', 'red', 'left', 'right', 'of', 'to', 'on', 'top', 'above', 'below',
      'next', 'near', 'and', ',', '.', 'photo', 'is', 'side', 'by', 'each', 'other', 'riding', '#', 'image', 'another',
      'glass', 'wine', 'hot', 'Dog', 'LEFT', 'at', 'bottom', 'under', 'cat', '  ', '\n',
    ];
    let seed = 12345;
    const next = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let k = 0; k < 1000; k++) {
      const words = Array.from({ length: 1 + next(12) }, () => pool[next(pool.length)]!);
      const text = words.join(' ');
      const p = parse(text);
      for (const w of p.warnings) expect(w.length).toBeGreaterThan(0);
    }
  });
});

describe('the full example output', () => {
  it('parses the node default prompt', () => {
    expect(parsePrompt('a photo of a dog to the right of a teddy bear')).toEqual({
      text: 'a photo of a dog to the right of a teddy bear',
      objects: [
        { text: 'dog', span: [13, 16], noun: 'dog', attributes: [] },
        { text: 'teddy bear', span: [35, 45], noun: 'teddy bear', attributes: [] },
      ],
      relations: [
        {
          subject: 'dog',
          relation: 'right',
          object: 'teddy bear',
          subjectIndex: 0,
          objectIndex: 1,
          directional: true,
          phrase: 'to the right of',
          phraseSpan: [17, 32],
        },
      ],
      warnings: [],
    } satisfies ParsedPrompt);
  });

  it('is deterministic', () => {
    const text = 'a cat above a dog and a bird to the left of a horse below a sheep';
    expect(parsePrompt(text)).toEqual(parsePrompt(text));
  });
});

describe('tokenize', () => {
  it('keeps offsets, inner apostrophes and hyphens', () => {
    const tokens = tokenize("A left-hand dog's toy, & #");
    expect(tokens.map((t) => [t.kind, t.text, t.start, t.end])).toEqual([
      ['word', 'A', 0, 1],
      ['word', 'left-hand', 2, 11],
      ['word', "dog's", 12, 17],
      ['word', 'toy', 18, 21],
      ['separator', ',', 21, 22],
      ['conjunction', '&', 23, 24],
      ['symbol', '#', 25, 26],
    ]);
    expect(tokens[0]!.lower).toBe('a');
  });
});
