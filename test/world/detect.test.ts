import { describe, expect, it } from 'vitest';
import { checkRelation, matchDetections, precisionRecall } from '../../src/engine/eval/index.ts';
import type { MatchCounts } from '../../src/engine/eval/index.ts';
import { adjustColor, createImage, gaussianBlur, setPixel } from '../../src/engine/image/index.ts';
import { BACKGROUND, COLORS, SHAPES, Rng, detect, generateDataset, renderScene } from '../../src/engine/world/index.ts';
import type { ImageRGB } from '../../src/engine/image/index.ts';
import type { Sample } from '../../src/engine/world/index.ts';

function score(samples: Iterable<Sample>, transform: (img: ImageRGB) => ImageRGB = (i) => i) {
  const counts: MatchCounts[] = [];
  let scenes = 0;
  for (const s of samples) {
    scenes++;
    const gt = s.scene.objects.map((o, i) => ({ color: o.color, shape: o.shape, box: s.boxes[i]! }));
    counts.push(matchDetections(detect(transform(s.image)), gt, 0.5));
  }
  return { scenes, ...precisionRecall(counts) };
}

describe('detector on rendered scenes', () => {
  it('precision and recall >= 0.98 over 600 noisy scenes (train + unseen)', () => {
    const train = score(generateDataset({ count: 400, seed: 101, split: 'train', noise: 4 }));
    const unseen = score(generateDataset({ count: 200, seed: 101, split: 'unseen', noise: 4 }));
    const all = precisionRecall([train, unseen]);
    console.log(
      `[detector] clean+noise(sigma 4): ${train.scenes + unseen.scenes} scenes, ${all.groundTruth} objects, ${all.detections} detections, ` +
        `${all.matched} matched: precision ${all.precision.toFixed(4)}, recall ${all.recall.toFixed(4)}`,
    );
    expect(all.groundTruth).toBeGreaterThan(1000);
    expect(all.precision).toBeGreaterThanOrEqual(0.98);
    expect(all.recall).toBeGreaterThanOrEqual(0.98);
  });

  it('tolerates blur, colour drift and stronger noise (model-like output)', () => {
    const degrade = (img: ImageRGB): ImageRGB => adjustColor(gaussianBlur(img, 1), { saturation: 0.8, shift: [-10, 4, 8] });
    const r = score(generateDataset({ count: 200, seed: 202, split: 'train', noise: 8 }), degrade);
    console.log(`[detector] blur 1 + desaturate 0.8 + shift + noise 8: precision ${r.precision.toFixed(4)}, recall ${r.recall.toFixed(4)}`);
    expect(r.precision).toBeGreaterThanOrEqual(0.95);
    expect(r.recall).toBeGreaterThanOrEqual(0.95);
  });

  it('classifies every shape in every colour', () => {
    const rng = new Rng(5);
    for (const shape of SHAPES) {
      for (const color of COLORS) {
        const size = rng.uniform(14, 22);
        const img = renderScene({ objects: [{ shape, color, cx: 32.3, cy: 31.7, size }] }, { noise: 3, noiseSeed: 1 });
        const d = detect(img);
        expect(d, `${color} ${shape}`).toHaveLength(1);
        expect(d[0]).toMatchObject({ color, shape });
        expect(d[0]!.score).toBeGreaterThan(0.3);
      }
    }
  });

  it('ignores empty backgrounds, tiny blobs and off-palette colours', () => {
    expect(detect(renderScene({ objects: [] }, { noise: 6, noiseSeed: 3 }))).toEqual([]);
    const img = createImage(64, 64, BACKGROUND);
    for (let y = 10; y < 14; y++) for (let x = 10; x < 14; x++) setPixel(img, x, y, [220, 40, 40]); // 16 px red speck
    for (let y = 30; y < 50; y++) for (let x = 30; x < 50; x++) setPixel(img, x, y, [128, 128, 128]); // grey: not a palette colour
    expect(detect(img)).toEqual([]);
  });

  it('works with a tinted background and feeds checkRelation', () => {
    const img = renderScene(
      {
        objects: [
          { shape: 'triangle', color: 'yellow', cx: 14, cy: 46, size: 18 }, // offset (-34, 30) -> dx -.67, dy .58
          { shape: 'diamond', color: 'purple', cx: 48, cy: 16, size: 20 },
        ],
      },
      { background: [225, 232, 238], noise: 3 },
    );
    const d = detect(img);
    expect(d.map((x) => `${x.color} ${x.shape}`).sort()).toEqual(['purple diamond', 'yellow triangle']);
    const tri = { color: 'yellow', shape: 'triangle' };
    const dia = { color: 'purple', shape: 'diamond' };
    expect(checkRelation(d, tri, 'left', dia).ok).toBe(true);
    expect(checkRelation(d, tri, 'below', dia).ok).toBe(true);
    expect(checkRelation(d, tri, 'above', dia).ok).toBe(false);
  });
});
