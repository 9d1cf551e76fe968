/** A parsed prompt: the value of a PROMPT socket and the output of `steer parse --json`. */
export type RelationName = 'left' | 'right' | 'above' | 'below' | 'near';

export const DIRECTIONAL_RELATIONS: readonly RelationName[] = ['left', 'right', 'above', 'below'];

export interface PromptObject {
  /** The object phrase without article, attributes kept: "red circle", "teddy bear". */
  text: string;
  /** [start, end) character offsets of `text` in the prompt. */
  span: [number, number];
  /** The head noun ("circle", "teddy bear"). */
  noun: string;
  /** Attribute words before the noun ("red"). */
  attributes: string[];
}

export interface PromptRelation {
  subject: string;
  relation: RelationName;
  object: string;
  /** Indices into `objects`. */
  subjectIndex: number;
  objectIndex: number;
  /** false for `near`: parsed, but there is no direction to steer towards. */
  directional: boolean;
  /** The words in the prompt that stated the relation, e.g. "to the right of". */
  phrase: string;
  phraseSpan: [number, number];
}

export interface ParsedPrompt {
  text: string;
  objects: PromptObject[];
  relations: PromptRelation[];
  /** Things the parser could not understand, said plainly (never guessed at). */
  warnings: string[];
}

/** The public JSON form of a parsed prompt (`steer parse --json`, Save Parsed Prompt). */
export function promptToJson(p: ParsedPrompt): {
  objects: { text: string; span: [number, number] }[];
  relations: { subject: string; relation: RelationName; object: string }[];
  warnings: string[];
} {
  return {
    objects: p.objects.map((o) => ({ text: o.text, span: o.span })),
    relations: p.relations.map((r) => ({ subject: r.subject, relation: r.relation, object: r.object })),
    warnings: p.warnings,
  };
}
