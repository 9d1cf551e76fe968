import { detect } from '../engine/world/detect.ts';
import { defineNode } from './api.ts';
import { param } from './params.ts';

export default defineNode({
  type: 'world.detect',
  version: 1,
  title: 'Detect Objects',
  category: 'Evaluation',
  description:
    'Shape World detector: colour segmentation against the background, connected components, then shape classification. Gives a box, colour, shape and score per object.',
  inputs: [{ id: 'image', label: 'Image', type: 'IMAGE' }],
  outputs: [{ id: 'detections', label: 'Detections', type: 'DETECTIONS' }],
  params: {
    min_area: param.int({ label: 'Minimum area (px)', default: 30, min: 1, max: 4096 }),
    min_coverage: param.float({ label: 'Minimum colour coverage', default: 0.5, min: 0.05, max: 1, step: 0.05 }),
  },
  execute(ctx, { image }, p) {
    const detections = detect(image, { minArea: p.min_area, minCoverage: p.min_coverage });
    ctx.preview({
      kind: 'table',
      label: 'Detections',
      columns: ['colour', 'shape', 'box', 'score'],
      rows: detections.map((d) => [d.color, d.shape, d.box.map((v) => Math.round(v)).join(','), Number(d.score.toFixed(3))]),
    });
    return { detections };
  },
});
