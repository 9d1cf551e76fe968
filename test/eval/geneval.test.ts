import { describe, expect, it } from 'vitest';
import type { Box, DetectionLike } from '../../src/engine/eval/index.ts';
import { checkRelation, matchDetections, parseRelation, positionVector, precisionRecall, relationsBetween } from '../../src/engine/eval/index.ts';

const rel = (a: Box, b: Box): string[] => [...relationsBetween(a, b)].sort();

describe('GenEval position rule (hand-worked)', () => {
  it('clear left / right: offset (-30,0), revised (-28,0), dx = -28/30', () => {
    const A: Box = [0, 0, 10, 10];
    const B: Box = [30, 0, 40, 10];
    expect(positionVector(A, B)!.dx).toBeCloseTo(-28 / 30, 10);
    expect(rel(A, B)).toEqual(['left']);
    expect(rel(B, A)).toEqual(['right']);
  });

  it('clear above / below (y grows downward)', () => {
    const A: Box = [0, 0, 10, 10];
    const B: Box = [0, 30, 10, 40];
    expect(rel(A, B)).toEqual(['above']);
    expect(rel(B, A)).toEqual(['below']);
  });

  it('diagonal gives two relations: revised (-28,-28)/42.43 = -0.66 per axis', () => {
    const A: Box = [0, 0, 10, 10];
    const B: Box = [30, 30, 40, 40];
    const v = positionVector(A, B)!;
    expect(v.dx).toBeCloseTo(-28 / Math.hypot(30, 30), 10);
    expect(v.dy).toBeCloseTo(v.dx, 10);
    expect(rel(A, B)).toEqual(['above', 'left']);
    expect(rel(B, A)).toEqual(['below', 'right']);
  });

  it('shallow diagonal gives one: offset (-30,-10) -> (-0.885, -0.253)', () => {
    const A: Box = [0, 0, 10, 10];
    const B: Box = [30, 10, 40, 20];
    const v = positionVector(A, B)!;
    expect(v.dx).toBeCloseTo(-28 / Math.hypot(30, 10), 10);
    expect(v.dy).toBeCloseTo(-8 / Math.hypot(30, 10), 10);
    expect(rel(A, B)).toEqual(['left']);
  });

  it('size-scaled threshold: larger boxes need a larger offset', () => {
    // offset 5 on x; threshold 0.1*(w_A + w_B)
    expect(rel([0, 0, 10, 10], [5, 0, 15, 10])).toEqual(['left']); // 5 - 2 = 3 -> dx = 0.6
    expect(rel([0, 0, 30, 10], [5, 0, 35, 10])).toEqual([]); // 5 - 6 < 0 -> revised 0
  });

  it('overlapping / close boxes give none', () => {
    expect(rel([0, 0, 10, 10], [1, 0, 11, 10])).toEqual([]); // |offset| 1 < 2
    expect(rel([0, 0, 20, 20], [3, 3, 23, 23])).toEqual([]); // 3 < 4 on both axes
    // revised non-zero but divided by the ORIGINAL norm: (-2,-2)/5.66 = -0.35 each -> none
    const v = positionVector([0, 0, 10, 10], [4, 4, 14, 14])!;
    expect(v.dx).toBeCloseTo(-2 / Math.hypot(4, 4), 10);
    expect(rel([0, 0, 10, 10], [4, 4, 14, 14])).toEqual([]);
    expect(rel([5, 5, 15, 15], [5, 5, 15, 15])).toEqual([]); // identical, no NaN
    expect(positionVector([5, 5, 15, 15], [5, 5, 15, 15])).toBeNull();
  });

  it('parses benchmark relation phrasings', () => {
    expect(parseRelation('left of')).toBe('left');
    expect(parseRelation('to the right of')).toBe('right');
    expect(parseRelation('on the left of')).toBe('left');
    expect(parseRelation('on the top of')).toBe('above');
    expect(parseRelation('below')).toBe('below');
    expect(parseRelation('next to')).toBeUndefined();
  });
});

describe('checkRelation', () => {
  const red = { color: 'red', shape: 'circle' };
  const blue = { color: 'blue', shape: 'square' };
  const dets: DetectionLike[] = [
    { ...red, box: [2, 20, 18, 36], score: 0.9 },
    { ...blue, box: [40, 22, 56, 38], score: 0.8 },
  ];

  it('ok when the relation holds', () => {
    const v = checkRelation(dets, red, 'left', blue);
    expect(v.ok).toBe(true);
    expect(v.reason).toMatch(/'red circle' left of 'blue square' holds/);
  });

  it('not ok with the relations found', () => {
    const v = checkRelation(dets, red, 'above', blue);
    expect(v.ok).toBe(false);
    expect(v.reason).toMatch(/does not hold: found only left of/);
    expect(checkRelation(dets, blue, 'left', red).reason).toMatch(/found only right of/);
  });

  it('missing objects are not ok and say which', () => {
    expect(checkRelation([dets[0]!], red, 'left', blue)).toMatchObject({ ok: false, reason: "object 'blue square' not detected" });
    expect(checkRelation([dets[1]!], red, 'left', blue)).toMatchObject({ ok: false, reason: "subject 'red circle' not detected" });
    expect(checkRelation([], red, 'left', blue).reason).toBe("subject 'red circle' and object 'blue square' not detected");
    // colour alone is not enough
    expect(checkRelation([{ color: 'red', shape: 'square', box: [0, 0, 5, 5] }, dets[1]!], red, 'left', blue).ok).toBe(false);
  });

  it('too close gives no relation', () => {
    const close: DetectionLike[] = [
      { ...red, box: [10, 10, 26, 26] },
      { ...blue, box: [12, 12, 28, 28] },
    ];
    const v = checkRelation(close, red, 'left', blue);
    expect(v.ok).toBe(false);
    expect(v.reason).toMatch(/no relation holds/);
  });

  it('uses the highest-scoring detection of each object', () => {
    const withDup: DetectionLike[] = [...dets, { ...red, box: [44, 0, 60, 16], score: 0.95 }];
    // top red circle is now upper right of the blue square
    expect(checkRelation(withDup, red, 'left', blue).ok).toBe(false);
    expect(checkRelation(withDup, red, 'above', blue).ok).toBe(true);
  });
});

describe('matchDetections', () => {
  it('needs colour, shape and IoU >= 0.5, one-to-one', () => {
    const gt = [{ color: 'red', shape: 'circle', box: [0, 0, 10, 10] as Box }];
    expect(matchDetections([{ color: 'red', shape: 'circle', box: [1, 1, 11, 11] }], gt).matched).toBe(1); // IoU 81/119
    expect(matchDetections([{ color: 'red', shape: 'circle', box: [5, 0, 15, 10] }], gt).matched).toBe(0); // IoU 1/3
    expect(matchDetections([{ color: 'red', shape: 'square', box: [0, 0, 10, 10] }], gt).matched).toBe(0);
    const two = matchDetections(
      [
        { color: 'red', shape: 'circle', box: [0, 0, 10, 10], score: 0.5 },
        { color: 'red', shape: 'circle', box: [0, 0, 10, 10], score: 0.9 },
      ],
      gt,
    );
    expect(two.matched).toBe(1);
    expect(two.pairs).toEqual([[1, 0]]);
    expect(precisionRecall([two])).toMatchObject({ precision: 0.5, recall: 1 });
  });
});
