/**
 * GenEval "position" rule, exactly as the benchmark applies it (see
 * shared/reference/learn-to-steer.md, "Evaluation rules").
 *
 * For a subject box A and object box B (pixel xyxy, y down):
 *   offset  = centre(A) - centre(B)                       (per axis)
 *   revised = max(|offset| - 0.1 * (size(A) + size(B)), 0) * sign(offset)
 *             with size = (width, height) of the box
 *   if |revised| < 1e-3 on both axes: no relation holds
 *   else (dx, dy) = revised / ||offset||  (note: divided by the ORIGINAL offset's norm)
 *     dx < -0.5 -> 'left'   (A left of B)     dx > 0.5 -> 'right'
 *     dy < -0.5 -> 'above'  (A above B)       dy > 0.5 -> 'below'
 * Several relations can hold at once (a clear diagonal gives two); boxes that
 * are close or overlapping give none. The zero test uses GenEval's per-axis
 * tolerance 1e-3 (pixel units, so only exact ties are affected).
 *
 * `checkRelation` is the per-image verdict: both the subject and the object
 * (colour + shape) must be detected; when one is detected several times the
 * highest-scoring detection is used (GenEval takes the top detection per class).
 */

/** Axis-aligned box [x0, y0, x1, y1] in pixels, x0 <= x1, y0 <= y1. */
export type Box = [number, number, number, number];

export const RELATIONS = ['left', 'right', 'above', 'below'] as const;
export type Relation = (typeof RELATIONS)[number];

/** GenEval's POSITION_THRESHOLD. */
export const POSITION_THRESHOLD = 0.1;
/** GenEval's "revised offset is zero" tolerance, per axis. */
export const ZERO_TOLERANCE = 1e-3;

/**
 * GenEval's normalised position vector of A relative to B: (dx, dy) =
 * revised / ||offset||, or null when the revised offset is zero on both axes.
 */
export function positionVector(boxA: Box, boxB: Box): { dx: number; dy: number } | null {
  const offX = (boxA[0] + boxA[2]) / 2 - (boxB[0] + boxB[2]) / 2;
  const offY = (boxA[1] + boxA[3]) / 2 - (boxB[1] + boxB[3]) / 2;
  const wSum = Math.abs(boxA[2] - boxA[0]) + Math.abs(boxB[2] - boxB[0]);
  const hSum = Math.abs(boxA[3] - boxA[1]) + Math.abs(boxB[3] - boxB[1]);
  const revX = Math.max(Math.abs(offX) - POSITION_THRESHOLD * wSum, 0) * Math.sign(offX);
  const revY = Math.max(Math.abs(offY) - POSITION_THRESHOLD * hSum, 0) * Math.sign(offY);
  if (Math.abs(revX) < ZERO_TOLERANCE && Math.abs(revY) < ZERO_TOLERANCE) return null;
  const norm = Math.hypot(offX, offY);
  return { dx: revX / norm, dy: revY / norm };
}

/** Relations of A (subject) relative to B (object) under the GenEval rule. */
export function relationsBetween(boxA: Box, boxB: Box): Set<Relation> {
  const rel = new Set<Relation>();
  const v = positionVector(boxA, boxB);
  if (!v) return rel;
  if (v.dx < -0.5) rel.add('left');
  if (v.dx > 0.5) rel.add('right');
  if (v.dy < -0.5) rel.add('above');
  if (v.dy > 0.5) rel.add('below');
  return rel;
}

/** What a prompt names: colour + shape ('red circle'). */
export interface ObjectSpec {
  color: string;
  shape: string;
}

/** Any detection with a colour, shape, box and (optional) confidence. */
export interface DetectionLike extends ObjectSpec {
  box: Box;
  score?: number;
}

export interface RelationVerdict {
  ok: boolean;
  reason: string;
  /** Relations that held between the chosen detections, when both were found. */
  found?: Set<Relation>;
}

/** Natural-language form used in reasons and prompts ('left of', 'above'). */
export function relationPhrase(r: Relation): string {
  return r === 'left' || r === 'right' ? `${r} of` : r;
}

/** Maps benchmark phrasings ('left of', 'to the left of', 'on the left of', 'above', ...) to a Relation. */
export function parseRelation(text: string): Relation | undefined {
  const t = text.trim().toLowerCase().replace(/\s+/g, ' ');
  const table: Record<string, Relation> = {
    left: 'left', 'left of': 'left', 'to the left of': 'left', 'on the left of': 'left',
    right: 'right', 'right of': 'right', 'to the right of': 'right', 'on the right of': 'right',
    above: 'above', 'on the top of': 'above', 'on top of': 'above', over: 'above',
    below: 'below', 'on the bottom of': 'below', under: 'below', beneath: 'below',
  };
  return table[t];
}

function name(o: ObjectSpec): string {
  return `${o.color} ${o.shape}`;
}

function best<D extends DetectionLike>(dets: readonly D[], spec: ObjectSpec): D | undefined {
  let top: D | undefined;
  for (const d of dets) {
    if (d.color !== spec.color || d.shape !== spec.shape) continue;
    if (!top || (d.score ?? 1) > (top.score ?? 1)) top = d;
  }
  return top;
}

/**
 * GenEval position verdict for "a photo of a {subject} {relation} a {object}":
 * ok iff both are detected and `relation` is among relationsBetween(subject, object).
 */
export function checkRelation(
  detections: readonly DetectionLike[],
  subject: ObjectSpec,
  relation: Relation,
  object: ObjectSpec,
): RelationVerdict {
  const a = best(detections, subject);
  const b = best(detections, object);
  const missing = [a ? null : `subject '${name(subject)}'`, b ? null : `object '${name(object)}'`].filter(Boolean);
  if (!a || !b) return { ok: false, reason: `${missing.join(' and ')} not detected` };
  const found = relationsBetween(a.box, b.box);
  const claim = `'${name(subject)}' ${relationPhrase(relation)} '${name(object)}'`;
  if (found.has(relation)) return { ok: true, reason: `${claim} holds`, found };
  const got = found.size === 0 ? 'no relation holds (boxes too close or overlapping)' : `found only ${[...found].map(relationPhrase).join(', ')}`;
  return { ok: false, reason: `${claim} does not hold: ${got}`, found };
}
