import { describe, expect, it } from 'vitest';
import { makeBatch } from '../../src/engine/steer/classifier-train.ts';
import { RELATION_CLASSES, type LoadedDataset, type SampleMeta } from '../../src/engine/steer/relation-dataset.ts';

// One sample, C = 1 map of 2x2 per object: subject [1 2; 3 4], object [5 6; 7 8].
function dataset(label: SampleMeta['label']): LoadedDataset {
  const meta = { image: 0, split: 'train', source: 'rendered', kind: 'pos', prompt: '', stated: label, label, step: 5, bucket: 0, psnr: 30, subject: 'red circle', object: 'blue square' } as SampleMeta;
  return { manifest: { sampleShape: [2, 1, 2, 2], classes: RELATION_CLASSES, recipe: { record: [5] } } as unknown as LoadedDataset['manifest'], maps: Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8]), meta: [meta], sampleSize: 8 };
}
const run = (label: SampleMeta['label'], swap: boolean, mirror: boolean) => {
  const b = makeBatch(dataset(label), [0], RELATION_CLASSES, () => ({ swap, mirror }));
  return { maps: Array.from(b.maps.data as Float32Array), label: RELATION_CLASSES[b.labels[0]!] };
};

describe('training-sample transforms', () => {
  it('leave a sample alone when off', () => expect(run('left', false, false)).toEqual({ maps: [1, 2, 3, 4, 5, 6, 7, 8], label: 'left' }));
  it('swap subject and object and turn the relation round', () => {
    expect(run('left', true, false)).toEqual({ maps: [5, 6, 7, 8, 1, 2, 3, 4], label: 'right' });
    expect(run('above', true, false).label).toBe('below');
  });
  it('mirror every map left-right: left and right swap, above and below stay', () => {
    expect(run('left', false, true)).toEqual({ maps: [2, 1, 4, 3, 6, 5, 8, 7], label: 'right' });
    expect(run('below', false, true).label).toBe('below');
    expect(run('above', true, true)).toEqual({ maps: [6, 5, 8, 7, 2, 1, 4, 3], label: 'below' });
  });
});
