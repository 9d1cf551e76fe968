/**
 * Detector validation: greedy one-to-one matching of detections to ground
 * truth. A detection matches a ground-truth object when colour and shape
 * agree and IoU >= 0.5 (configurable); detections are taken in descending
 * score order, each claiming the unmatched ground truth with the highest IoU.
 * Precision = matched / detections, recall = matched / ground truth.
 */
import type { Box, DetectionLike, ObjectSpec } from './geneval.ts';

export interface GroundTruth extends ObjectSpec {
  box: Box;
}

export interface MatchCounts {
  detections: number;
  groundTruth: number;
  matched: number;
}

/** Intersection over union of two xyxy boxes. */
export function boxIoU(a: Box, b: Box): number {
  const ix = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
  const iy = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const inter = ix * iy;
  const union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
  return union > 0 ? inter / union : 0;
}

/** Matches one image's detections to its ground truth. */
export function matchDetections(dets: readonly DetectionLike[], gt: readonly GroundTruth[], minIoU = 0.5): MatchCounts & { pairs: [number, number][] } {
  const order = dets.map((_, i) => i).sort((i, j) => (dets[j]!.score ?? 1) - (dets[i]!.score ?? 1));
  const used = new Array<boolean>(gt.length).fill(false);
  const pairs: [number, number][] = [];
  for (const i of order) {
    const d = dets[i]!;
    let bestJ = -1;
    let bestIoU = minIoU;
    gt.forEach((g, j) => {
      if (used[j] || g.color !== d.color || g.shape !== d.shape) return;
      const v = boxIoU(d.box, g.box);
      if (v >= bestIoU) {
        bestIoU = v;
        bestJ = j;
      }
    });
    if (bestJ >= 0) {
      used[bestJ] = true;
      pairs.push([i, bestJ]);
    }
  }
  return { detections: dets.length, groundTruth: gt.length, matched: pairs.length, pairs };
}

/** Sums counts over images and returns precision and recall (1 when the denominator is 0). */
export function precisionRecall(counts: readonly MatchCounts[]): MatchCounts & { precision: number; recall: number } {
  const t = counts.reduce((a, c) => ({ detections: a.detections + c.detections, groundTruth: a.groundTruth + c.groundTruth, matched: a.matched + c.matched }), {
    detections: 0,
    groundTruth: 0,
    matched: 0,
  });
  return { ...t, precision: t.detections ? t.matched / t.detections : 1, recall: t.groundTruth ? t.matched / t.groundTruth : 1 };
}
