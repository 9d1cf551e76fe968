/**
 * Checking a parsed prompt against detections: every directional relation whose subject and
 * object name Shape World objects ("red circle") is judged with the GenEval position rule.
 * Relations the detector cannot judge (unknown objects, `near`) are reported as such,
 * never counted as passes.
 */
import type { ParsedPrompt, PromptObject } from '../../shared/prompt.ts';
import { COLORS, SHAPES } from '../world/types.ts';
import type { DetectionLike, ObjectSpec, Relation } from './geneval.ts';
import { checkRelation } from './geneval.ts';

export interface RelationCheck {
  subject: string;
  relation: string;
  object: string;
  /** true / false when judged; null when it cannot be judged. */
  ok: boolean | null;
  reason: string;
}

export interface RelationReport {
  checks: RelationCheck[];
  judged: number;
  passed: number;
  /** passed / judged, or null when nothing could be judged. */
  accuracy: number | null;
}

const SINGULAR: Record<string, string> = { crosses: 'cross' };

/** "red circle" -> { color: 'red', shape: 'circle' }; undefined when it is not a Shape World object. */
export function shapeWorldSpec(o: PromptObject): ObjectSpec | undefined {
  const noun = o.noun.toLowerCase();
  const shape = SINGULAR[noun] ?? (noun.endsWith('s') && (SHAPES as readonly string[]).includes(noun.slice(0, -1)) ? noun.slice(0, -1) : noun);
  if (!(SHAPES as readonly string[]).includes(shape)) return undefined;
  const color = o.attributes.map((a) => a.toLowerCase()).find((a) => (COLORS as readonly string[]).includes(a));
  return color ? { color, shape } : undefined;
}

export function checkPromptRelations(prompt: ParsedPrompt, detections: readonly DetectionLike[]): RelationReport {
  const checks: RelationCheck[] = prompt.relations.map((r) => {
    const base = { subject: r.subject, relation: r.relation, object: r.object };
    if (!r.directional) return { ...base, ok: null, reason: `"${r.relation}" has no direction to check` };
    const s = shapeWorldSpec(prompt.objects[r.subjectIndex]!);
    const o = shapeWorldSpec(prompt.objects[r.objectIndex]!);
    const unknown = [s ? null : r.subject, o ? null : r.object].filter((x): x is string => x !== null);
    if (!s || !o) return { ...base, ok: null, reason: `${unknown.map((u) => `"${u}"`).join(' and ')} ${unknown.length > 1 ? 'are not' : 'is not a'} Shape World object${unknown.length > 1 ? 's' : ''} (colour + shape)` };
    const verdict = checkRelation(detections, s, r.relation as Relation, o);
    return { ...base, ok: verdict.ok, reason: verdict.reason };
  });
  const judged = checks.filter((c) => c.ok !== null).length;
  const passed = checks.filter((c) => c.ok === true).length;
  return { checks, judged, passed, accuracy: judged > 0 ? passed / judged : null };
}
