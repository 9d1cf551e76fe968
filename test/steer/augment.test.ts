import { describe, expect, it } from 'vitest';
import { makeBatch, parseAugment } from '../../src/engine/steer/classifier-train.ts';
import { AUGMENT_NAMES, augmentText, NO_TRANSFORM as OFF, type Augment } from '../../src/engine/steer/map-transforms.ts';
import { RELATION_CLASSES, type LoadedDataset, type SampleMeta } from '../../src/engine/steer/relation-dataset.ts';


// One sample of C maps of S x S per object.
function dataset(label: SampleMeta['label'], maps: number[], C: number, S: number): LoadedDataset {
  const meta = { image: 0, split: 'train', source: 'rendered', kind: 'pos', prompt: '', stated: label, label, step: 5, bucket: 0, psnr: 30, subject: 'red circle', object: 'blue square' } as SampleMeta;
  return { manifest: { sampleShape: [2, C, S, S], classes: RELATION_CLASSES, recipe: { record: [5] } } as unknown as LoadedDataset['manifest'], maps: Float32Array.from(maps), meta: [meta], sampleSize: 2 * C * S * S };
}
// C = 1 map of 2x2 per object: subject [1 2; 3 4], object [5 6; 7 8].
const run = (label: SampleMeta['label'], a: Partial<Augment>) => {
  const b = makeBatch(dataset(label, [1, 2, 3, 4, 5, 6, 7, 8], 1, 2), [0], RELATION_CLASSES, () => ({ ...OFF, ...a }));
  return { maps: Array.from(b.maps.data as Float32Array), label: RELATION_CLASSES[b.labels[0]!] };
};

describe('training-sample transforms', () => {
  it('parse from a comma list, and print back', () => {
    expect(parseAugment('swap, transpose,', '--augment')).toEqual({ swap: true, mirror: false, flip: false, transpose: true });
    expect(parseAugment('none', '--augment')).toEqual(OFF);
    expect(augmentText(parseAugment('flip,mirror', 'x'))).toBe('mirror,flip');
    expect(augmentText(OFF)).toBe('none');
    expect(() => parseAugment('', '--augment')).toThrow(/--augment: give a comma list of swap, mirror, flip, transpose, or none/);
    expect(() => parseAugment('swap,none', 'Augment')).toThrow(/Augment: unknown transform 'none'/);
  });
  it('leave a sample alone when off', () => expect(run('left', {})).toEqual({ maps: [1, 2, 3, 4, 5, 6, 7, 8], label: 'left' }));
  it('swap subject and object and turn the relation round', () => {
    expect(run('left', { swap: true })).toEqual({ maps: [5, 6, 7, 8, 1, 2, 3, 4], label: 'right' });
    expect(run('above', { swap: true }).label).toBe('below');
  });
  it('mirror every map left-right: left and right swap, above and below stay', () => {
    expect(run('left', { mirror: true })).toEqual({ maps: [2, 1, 4, 3, 6, 5, 8, 7], label: 'right' });
    expect(run('below', { mirror: true }).label).toBe('below');
    expect(run('above', { swap: true, mirror: true })).toEqual({ maps: [6, 5, 8, 7, 2, 1, 4, 3], label: 'below' });
  });
  it('flip every map top-bottom: above and below swap, left and right stay', () => {
    expect(run('above', { flip: true })).toEqual({ maps: [3, 4, 1, 2, 7, 8, 5, 6], label: 'below' });
    expect(run('left', { flip: true }).label).toBe('left');
  });
  it('transpose every map: left becomes above, right below, above left, below right', () => {
    expect(run('left', { transpose: true })).toEqual({ maps: [1, 3, 2, 4, 5, 7, 6, 8], label: 'above' });
    expect(run('right', { transpose: true }).label).toBe('below');
    expect(run('above', { transpose: true }).label).toBe('left');
    expect(run('below', { transpose: true }).label).toBe('right');
  });

  // Geometry: two objects as single bright pixels on a 5x5 grid (two channels each, to check that
  // every channel moves alike); under each of the 16 transforms the label must be the relation the
  // transformed maps show (rows downward: smaller y is above).
  const S = 5;
  const relationOf = (sub: [number, number], obj: [number, number]): SampleMeta['label'] => {
    const [dx, dy] = [sub[0] - obj[0], sub[1] - obj[1]];
    if (Math.abs(dx) > Math.abs(dy)) return dx < 0 ? 'left' : 'right';
    return dy < 0 ? 'above' : 'below';
  };
  const peak = (maps: Float32Array, obj: number, c: number): [number, number] => {
    const off = (obj * 2 + c) * S * S;
    let best = 0;
    for (let p = 1; p < S * S; p++) if (maps[off + p]! > maps[off + best]!) best = p;
    return [best % S, Math.floor(best / S)];
  };
  const scenes: { sub: [number, number]; obj: [number, number] }[] = [
    { sub: [0, 2], obj: [4, 1] }, // left
    { sub: [4, 3], obj: [1, 2] }, // right
    { sub: [2, 0], obj: [1, 4] }, // above
    { sub: [3, 4], obj: [2, 1] }, // below
  ];
  const combos = Array.from({ length: 16 }, (_, k) => Object.fromEntries(AUGMENT_NAMES.map((name, bit) => [name, ((k >> bit) & 1) === 1])) as unknown as Augment);
  for (const { sub, obj } of scenes) {
    const label = relationOf(sub, obj);
    it(`keep the label equal to the geometry under all 16 transforms (${label})`, () => {
      const maps = new Array<number>(2 * 2 * S * S).fill(0);
      for (const c of [0, 1]) {
        maps[(0 * 2 + c) * S * S + sub[1] * S + sub[0]] = 1 + c;
        maps[(1 * 2 + c) * S * S + obj[1] * S + obj[0]] = 1 + c;
      }
      const ds = dataset(label, maps, 2, S);
      for (const a of combos) {
        const b = makeBatch(ds, [0], RELATION_CLASSES, () => a);
        const m = b.maps.data as Float32Array;
        expect(peak(m, 0, 1), JSON.stringify(a)).toEqual(peak(m, 0, 0));
        expect(RELATION_CLASSES[b.labels[0]!], JSON.stringify(a)).toBe(relationOf(peak(m, 0, 0), peak(m, 1, 0)));
      }
    });
  }
});
