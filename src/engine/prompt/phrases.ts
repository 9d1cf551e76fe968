/**
 * The vocabulary of the prompt parser, written as tables that double as its documentation.
 * Every phrase is matched case-insensitively, word by word, longest phrase first.
 */
import type { RelationName } from '../../shared/prompt.ts';

/** The left/right phrasings, written once with SIDE standing for "left" or "right". */
const SIDE_PHRASES = [
  'SIDE of', //                      GenEval: "a photo of a dog left of a cat"
  'to the SIDE of', //               "a dog to the left of a cat"
  'to SIDE of',
  'on the SIDE of', //               T2I-CompBench: "a cat on the left of a dog"
  'on SIDE of',
  'at the SIDE of',
  'on the SIDE side of',
  'to the SIDE side of',
  'at the SIDE side of',
  'on the SIDE hand side of',
  'on the SIDE-hand side of',
  'to the SIDE hand side of',
  'to the SIDE-hand side of',
  'SIDEward of',
  'SIDEwards of',
] as const;

const sides = (side: 'left' | 'right'): string[] => SIDE_PHRASES.map((p) => p.replace('SIDE', side));

/**
 * Relation phrases -> canonical relation. The relation reads "SUBJECT <phrase> OBJECT":
 * "a cat above a dog" is (cat, above, dog).
 */
export const RELATION_PHRASES: Readonly<Record<RelationName, readonly string[]>> = {
  left: sides('left'),
  right: sides('right'),
  above: [
    'above', 'over', 'atop', 'on top of', 'on the top of', 'at the top of', 'on the top side of',
    'higher than', 'up above', 'on the upper side of', 'over the top of',
  ],
  below: [
    'below', 'under', 'underneath', 'beneath', 'on the bottom of', 'at the bottom of',
    'on the bottom side of', 'lower than', 'down below', 'underneath of', 'on the underside of',
  ],
  near: [
    'near', 'near to', 'nearby', 'next to', 'beside', 'besides', 'close to', 'close by', 'by',
    'on side of', 'on the side of', 'at the side of', 'by the side of', 'alongside', 'along side',
    'adjacent to', 'side by side with', 'neighboring', 'neighbouring',
  ],
};

/**
 * "A and B <phrase>": the two objects before the phrase are near each other.
 * "a cat and a dog side by side" is (cat, near, dog).
 */
export const MUTUAL_PHRASES: readonly string[] = [
  'side by side', 'next to each other', 'next to one another', 'near each other', 'near one another',
  'beside each other', 'beside one another', 'close to each other', 'close to one another', 'close together',
];

/**
 * Positions in the picture rather than between two objects ("a dog on the left"). The parser
 * reports them instead of guessing which object they are relative to.
 */
export const ABSOLUTE_PHRASES: readonly string[] = [
  ...(['left', 'right'] as const).flatMap((s) => [
    `on the ${s}`, `to the ${s}`, `at the ${s}`, `in the ${s}`, `on the ${s} side`, `to the ${s} side`,
    `at the ${s} side`, `on the ${s} hand side`, `on the ${s}-hand side`, `on ${s}`, `to ${s}`,
  ]),
  'at the top', 'on the top', 'on top', 'in the top', 'at the bottom', 'on the bottom', 'in the bottom',
  'in the center', 'in the centre', 'in the middle', 'at the center', 'at the centre',
  'in the foreground', 'in the background', 'in the corner',
];

/**
 * Spatial relations the steering losses do not model. Parsed so that the warning can name
 * them; the objects on either side are still objects.
 */
export const UNSUPPORTED_PHRASES: readonly string[] = [
  'behind', 'in front of', 'in back of', 'at the back of', 'at the front of', 'on the back of', 'on the front of',
  'inside', 'inside of', 'in', 'into', 'within', 'on', 'onto', 'upon', 'between', 'among', 'amongst',
  'around', 'across', 'across from', 'opposite', 'opposite to', 'facing', 'against', 'far from', 'away from',
  'outside', 'outside of', 'through', 'along',
];

/** Words that change how far, not which way: "directly above", "right next to". Skipped before a relation. */
export const RELATION_MODIFIERS: ReadonlySet<string> = new Set([
  'directly', 'right', 'just', 'slightly', 'far', 'immediately', 'exactly', 'somewhat', 'partly', 'partially',
  'mostly', 'well', 'straight', 'very', 'fully', 'completely', 'clearly',
]);

/**
 * Openers that say what kind of picture it is: "a photo of", "an oil painting of",
 * "a high quality render of". Skipped at the start of a clause; "of" must follow the word.
 */
export const MEDIUM_WORDS: ReadonlySet<string> = new Set([
  'photo', 'photos', 'photograph', 'photography', 'picture', 'pic', 'image', 'painting', 'render', 'rendering',
  'drawing', 'illustration', 'sketch', 'snapshot', 'shot', 'close-up', 'closeup', 'artwork', 'cartoon',
  'watercolor', 'watercolour', 'portrait', 'scene', 'view', 'depiction', 'photorealistic',
]);
/** How many descriptive words may sit between the article and the medium word ("a high quality photo of"). */
export const MAX_MEDIUM_ADJECTIVES = 3;

/**
 * Style tags ("highly detailed, 4k, trending on artstation"): a clause made only of these
 * words describes the picture, not an object, and is skipped.
 */
export const STYLE_WORDS: ReadonlySet<string> = new Set([
  'highly', 'very', 'ultra', 'hyper', 'super', 'detailed', 'intricate', 'realistic', 'photorealistic', 'hyperrealistic',
  'photo-realistic', 'hyper-realistic', 'hd', 'uhd', 'hdr', '4k', '8k', '16k', 'masterpiece', 'best', 'high', 'quality',
  'resolution', 'res', 'hi-res', 'sharp', 'focus', 'cinematic', 'lighting', 'light', 'dramatic', 'soft', 'studio',
  'digital', 'art', 'concept', 'octane', 'render', 'unreal', 'engine', 'trending', 'on', 'artstation', 'bokeh',
  'professional', 'photography', 'award', 'winning', 'award-winning', 'vibrant', 'colors', 'colours', 'beautiful',
  'stunning', 'epic', 'volumetric', 'sharpness', 'dslr', 'film', 'grain', '35mm', '50mm', 'wide', 'angle', 'shot',
  'close-up', 'closeup', 'depth', 'of', 'field', 'illustration', 'style', 'painting', 'oil', 'watercolor', 'anime',
]);

/** Articles and determiners: stripped from the front of an object phrase. */
export const DETERMINERS: ReadonlySet<string> = new Set([
  'a', 'an', 'the', 'one', 'another', 'some', 'this', 'these', 'those', 'its', 'his', 'her', 'their', 'my',
  'your', 'our', 'any', 'every',
]);
/** Determiners that introduce a new object even when the same phrase appeared before ("a dog ... another dog"). */
export const NEW_OBJECT_DETERMINERS: ReadonlySet<string> = new Set(['another']);
/** Determiners that may point at the picture itself in "on the left of the image". */
export const FRAME_DETERMINERS: ReadonlySet<string> = new Set(['the', 'this']);
/** Nouns that may mean the picture itself: "a dog on the left of the image" is not a relation. */
export const FRAME_NOUNS: ReadonlySet<string> = new Set([
  'image', 'picture', 'photo', 'photograph', 'frame', 'canvas', 'scene', 'composition', 'shot', 'view', 'pic',
]);

/** Words that join clauses: a relation never crosses them. */
export const CONJUNCTIONS: ReadonlySet<string> = new Set(['and', 'or', 'while', 'whereas', 'but', 'plus', 'then', 'also']);

/**
 * Filler words: verbs and the like that may stand between an object and its relation
 * ("a cat is to the left of a dog", "there is a cat sitting above a dog"). Skipped.
 */
export const FILLERS: ReadonlySet<string> = new Set([
  'is', 'are', 'was', 'were', 'be', 'been', 'being', "there's", 'there', 'here', 'which', 'that', 'who', "that's",
  'sits', 'sit', 'sitting', 'seated', 'stands', 'standing', 'stood', 'placed', 'located', 'positioned',
  'situated', 'lies', 'lying', 'laying', 'rests', 'resting', 'hangs', 'hanging', 'floats', 'floating', 'flies',
  'flying', 'hovers', 'hovering', 'perched', 'parked', 'appears', 'appearing', 'shown', 'seen', 'visible', 'depicted',
  'both',
]);

/**
 * Words that are neither objects nor relations nor fillers. Met outside a phrase the parser
 * knows, they are reported and skipped.
 */
export const FUNCTION_WORDS: ReadonlySet<string> = new Set([
  'of', 'to', 'at', 'with', 'without', 'from', 'for', 'as', 'than', 'other', 'it', 'them', 'they', 'he', 'she',
  'him', 'we', 'you', 'i', 'not', 'no', 'if', 'so', 'up', 'down', 'where', 'when', 'what', 'via', 'per', 'toward',
  'towards', 'about', 'like', 'each',
]);

/**
 * Head nouns of more than one word: the COCO class names, plus a few that benchmarks and
 * users often write. The head noun of an object phrase is the longest of these that ends
 * the phrase (plural last word allowed); otherwise the phrase's last word.
 */
export const MULTI_WORD_NOUNS: readonly string[] = [
  // COCO
  'traffic light', 'fire hydrant', 'stop sign', 'parking meter', 'sports ball', 'baseball bat', 'baseball glove',
  'tennis racket', 'wine glass', 'hot dog', 'potted plant', 'dining table', 'cell phone', 'teddy bear',
  'hair drier', 'hair dryer',
  // common in prompts
  'tennis ball', 'soccer ball', 'golf ball', 'beach ball', 'traffic cone', 'street sign',
  'street light', 'street lamp', 'fire truck', 'police car', 'school bus', 'coffee table', 'coffee cup',
  'coffee mug', 'tea cup', 'mobile phone', 'smart phone', 'ice cream', 'christmas tree', 'palm tree',
  'table lamp', 'desk lamp', 'floor lamp', 'water bottle', 'wine bottle', 'beer bottle', 'picture frame',
  'paper bag', 'shopping bag', 'shopping cart', 'hand bag', 'race car', 'sports car', 'motor bike',
  'polar bear', 'brown bear', 'golden retriever', 'german shepherd', 'guinea pig', 'sea lion', 'hot air balloon',
  'air balloon', 'flower pot', 'trash can', 'garbage can', 'washing machine', 'microwave oven', 'alarm clock',
  'wall clock', 'remote control', 'game controller', 'video game', 'computer mouse', 'computer monitor',
  'light bulb', 'pine tree', 'oak tree', 'ice cube', 'french fries', 'cup cake', 'birthday cake',
];
