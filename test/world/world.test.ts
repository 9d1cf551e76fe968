import { describe, expect, it } from 'vitest';
import { relationsBetween } from '../../src/engine/eval/geneval.ts';
import { getPixel } from '../../src/engine/image/index.ts';
import {
  BACKGROUND,
  COLORS,
  HELD_OUT_PAIRINGS,
  PALETTE,
  Rng,
  SHAPES,
  SPATIAL_CAPTION_RATE,
  containsHeldOut,
  derive,
  generateDataset,
  generateSample,
  generateScene,
  isHeldOutPair,
  isHeldOutPairing,
  objectBox,
  objectName,
  renderMasks,
  renderScene,
  withArticle,
} from '../../src/engine/world/index.ts';
import type { Sample, Scene } from '../../src/engine/world/index.ts';

describe('Rng', () => {
  it('is deterministic and seed-sensitive', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const xs = Array.from({ length: 5 }, () => a.nextUint32());
    expect(Array.from({ length: 5 }, () => b.nextUint32())).toEqual(xs);
    expect(new Rng(43).nextUint32()).not.toBe(xs[0]);
    expect(new Rng('abc').next()).toBe(new Rng('abc').next());
    expect(derive(1, 'train', 0)).not.toBe(derive(1, 'test', 0));
    expect(derive(1, 'train', 0)).toBe(derive(1, 'train', 0));
  });

  it('produces uniform-looking output in range', () => {
    const r = new Rng(7);
    let sum = 0;
    const counts = [0, 0, 0];
    for (let i = 0; i < 30000; i++) {
      const x = r.next();
      expect(x >= 0 && x < 1).toBe(true);
      sum += x;
      counts[r.int(0, 2)]!++;
    }
    expect(sum / 30000).toBeCloseTo(0.5, 1);
    for (const c of counts) expect(Math.abs(c - 10000)).toBeLessThan(400);
    let m = 0;
    let v = 0;
    for (let i = 0; i < 20000; i++) {
      const z = r.normal();
      m += z;
      v += z * z;
    }
    expect(Math.abs(m / 20000)).toBeLessThan(0.03);
    expect(v / 20000).toBeCloseTo(1, 1);
  });
});

describe('renderer', () => {
  const scene: Scene = {
    objects: [
      { shape: 'circle', color: 'red', cx: 16, cy: 16, size: 20 },
      { shape: 'cross', color: 'blue', cx: 46, cy: 46, size: 18 },
    ],
  };

  it('draws exact palette colours inside, background outside, blends at edges', () => {
    const img = renderScene(scene);
    expect(img.width).toBe(64);
    expect(getPixel(img, 16, 16)).toEqual([...PALETTE.red]);
    expect(getPixel(img, 46, 46)).toEqual([...PALETTE.blue]);
    expect(getPixel(img, 40, 40)).toEqual([...BACKGROUND]); // empty corner of the cross
    expect(getPixel(img, 60, 5)).toEqual([...BACKGROUND]);
    // anti-aliased rim: some pixels strictly between background and red
    let blended = 0;
    for (let x = 0; x < 32; x++) {
      const [r, g] = getPixel(img, x, 16 - 9);
      if (g > PALETTE.red[1] && g < BACKGROUND[1] && r <= 240) blended++;
    }
    expect(blended).toBeGreaterThan(0);
  });

  it('is deterministic, and noise is seeded', () => {
    expect(renderScene(scene, { noise: 4, noiseSeed: 1 }).data).toEqual(renderScene(scene, { noise: 4, noiseSeed: 1 }).data);
    expect(renderScene(scene, { noise: 4, noiseSeed: 1 }).data).not.toEqual(renderScene(scene, { noise: 4, noiseSeed: 2 }).data);
  });

  it('fills its bounding box with the analytic ratios', () => {
    const expected = { circle: Math.PI / 4, square: 1, diamond: 0.5, triangle: 0.5, cross: 5 / 9 };
    for (const shape of SHAPES) {
      const s: Scene = { objects: [{ shape, color: 'green', cx: 32, cy: 32, size: 60 }] };
      const [m] = renderMasks(s, { supersample: 8 });
      const area = m!.reduce((a, b) => a + b, 0);
      expect(area / 3600, shape).toBeCloseTo(expected[shape], 1);
    }
  });
});

describe('scenes and dataset', () => {
  const N = 1500;
  const train: Sample[] = [...generateDataset({ count: N, seed: 3, split: 'train' })];
  const unseen: Sample[] = [...generateDataset({ count: 500, seed: 3, split: 'unseen' })];

  it('is reproducible item by item', () => {
    const s = generateSample({ seed: 3, split: 'train' }, 17);
    expect(s.caption).toBe(train[17]!.caption);
    expect(s.image.data).toEqual(train[17]!.image.data);
    expect(generateSample({ seed: 4, split: 'train' }, 17).caption).not.toBe(s.caption);
  });

  it('respects counts, sizes, bounds and non-overlap', () => {
    const counts = [0, 0, 0, 0];
    for (const s of [...train, ...unseen]) {
      const o = s.scene.objects;
      counts[o.length]!++;
      expect(o.length).toBeGreaterThanOrEqual(1);
      expect(o.length).toBeLessThanOrEqual(3);
      expect(new Set(o.map(objectName)).size).toBe(o.length);
      for (const [i, b] of s.boxes.entries()) {
        expect(o[i]!.size).toBeGreaterThanOrEqual(14);
        expect(o[i]!.size).toBeLessThanOrEqual(22);
        expect(b[0]).toBeGreaterThanOrEqual(1);
        expect(b[1]).toBeGreaterThanOrEqual(1);
        expect(b[2]).toBeLessThanOrEqual(63);
        expect(b[3]).toBeLessThanOrEqual(63);
        for (const c of s.boxes.slice(i + 1)) {
          const apart = b[2] + 3 <= c[0] || c[2] + 3 <= b[0] || b[3] + 3 <= c[1] || c[3] + 3 <= b[1];
          expect(apart).toBe(true);
        }
      }
    }
    expect(counts[1]! > 0 && counts[2]! > 0 && counts[3]! > 0).toBe(true);
  });

  it('keeps held-out combinations out of train and puts them in every unseen scene', () => {
    const seenNames = new Set<string>();
    for (const s of train) {
      const names = s.scene.objects.map(objectName);
      names.forEach((n) => seenNames.add(n));
      expect(containsHeldOut(names), names.join(', ')).toBe(false);
      for (const n of names) expect(isHeldOutPairing(n)).toBe(false);
    }
    // every non-held-out pairing still appears, and every colour and shape
    expect(seenNames.size).toBe(COLORS.length * SHAPES.length - HELD_OUT_PAIRINGS.length);
    for (const s of unseen) expect(containsHeldOut(s.scene.objects.map(objectName))).toBe(true);
    expect(unseen.some((s) => s.scene.objects.some((o) => isHeldOutPairing(objectName(o))))).toBe(true);
    expect(
      unseen.some((s) => {
        const n = s.scene.objects.map(objectName);
        return n.some((a, i) => n.some((b, j) => i < j && isHeldOutPair(a, b)));
      }),
    ).toBe(true);
    // generateScene directly
    const rng = new Rng(9);
    for (let i = 0; i < 300; i++) expect(containsHeldOut(generateScene(rng, { split: 'train' }).objects.map(objectName))).toBe(false);
  });

  it('captions name every object; about SPATIAL_CAPTION_RATE state a relation, always true', () => {
    const relWords = /\b(left|right|above|below|top|bottom)\b/;
    let spatial = 0;
    for (const s of [...train, ...unseen]) {
      for (const o of s.scene.objects) expect(s.caption, s.caption).toContain(objectName(o));
      if (s.stated.length === 0) {
        expect(s.caption).not.toMatch(relWords);
        continue;
      }
      if (s.split === 'train') spatial++;
      expect(s.caption).toMatch(relWords);
      for (const r of s.stated) {
        expect(relationsBetween(objectBox(s.scene.objects[r.subject]!), objectBox(s.scene.objects[r.object]!)).has(r.relation)).toBe(true);
      }
    }
    const rate = spatial / N;
    expect(SPATIAL_CAPTION_RATE).toBe(0.1);
    expect(rate).toBeGreaterThan(0.07);
    expect(rate).toBeLessThan(0.13);
    expect(train.some((s) => s.caption.startsWith('a photo of ') && / (left of|right of|above|below) /.test(s.caption))).toBe(true);
  });

  it('uses correct articles and varied phrasing', () => {
    expect(withArticle('orange cross')).toBe('an orange cross');
    expect(withArticle('red circle')).toBe('a red circle');
    for (const s of train) expect(s.caption).not.toMatch(/\ba orange\b/);
    const forms = new Set(train.map((s) => s.caption.replace(/(red|green|blue|yellow|purple|orange) (circle|square|triangle|diamond|cross)/g, 'X')));
    expect(forms.size).toBeGreaterThan(30);
  });
});
