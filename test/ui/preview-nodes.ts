/**
 * Node types for the preview and param-input tests only (never shipped): real nodes run by the real executor
 * that emit the chart previews (bars, curve) and framed previews for the step timeline the way
 * Latent Optimize does: per step and iteration bars of the class probabilities of each loss
 * term, per step a heatmap of a steered token and an x0 image, and a final loss curve.
 */
import { PNG } from 'pngjs';
import { defineNode } from '../../src/nodes/api.ts';
import { param } from '../../src/nodes/params.ts';
import { NodeRegistry } from '../../src/engine/graph/registry.ts';
import type { AnyNodeDefinition } from '../../src/nodes/api.ts';
import { testRegistry } from './helpers.ts';

export const CLASSES = ['left', 'right', 'above', 'below'];

/** Probabilities over CLASSES that move towards class 0 as `t` goes from 0 to 1. */
export function probabilities(t: number): number[] {
  const logits = [t * 3, 0.5, 0.2 - t, 0.1];
  const e = logits.map(Math.exp);
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => Number((v / sum).toFixed(4)));
}

/** The loss at a (step, iteration) of the timeline node: falls with both. */
export function lossAt(step: number, iteration: number): number {
  return Number((2 * Math.exp(-(step * 3 + iteration) / 4) + 0.01).toFixed(5));
}

function solidPng(size: number, shade: number): string {
  const png = new PNG({ width: size, height: size });
  for (let i = 0; i < size * size; i++) png.data.set([shade, 64, 255 - shade, 255], i * 4);
  return PNG.sync.write(png).toString('base64');
}

export const chartsNode = defineNode({
  type: 'test.charts',
  version: 1,
  title: 'Chart Previews',
  category: 'Test',
  description: 'Previews class probabilities as bars and a loss as a curve.',
  inputs: [],
  outputs: [],
  params: { iterations: param.int({ label: 'Iterations', default: 12, min: 1, max: 200 }), log: param.boolean({ label: 'Log scale', default: true }) },
  // Runs every time, so every run has previews (a cached node sends none).
  deterministic: false,
  execute(ctx, _inputs, params) {
    ctx.preview({ kind: 'bars', labels: CLASSES, values: probabilities(0.8), highlight: 0, label: 'p(left) term 1' });
    const x = Array.from({ length: params.iterations }, (_, i) => i);
    const series = [
      { name: 'loss', x, y: x.map((i) => lossAt(0, i)) },
      { name: 'term 1', x, y: x.map((i) => lossAt(0, i) / 2) },
    ];
    ctx.preview({ kind: 'curve', xLabel: 'iteration', yLabel: 'loss', series, log: params.log, label: 'loss per iteration' });
    return {};
  },
});

export const timelineNode = defineNode({
  type: 'test.timeline',
  version: 1,
  title: 'Timeline Previews',
  category: 'Test',
  description: 'Emits framed previews per step and iteration, like Latent Optimize.',
  inputs: [],
  outputs: [],
  params: {
    steps: param.int({ label: 'Steps', default: 4, min: 1, max: 50 }),
    iterations: param.int({ label: 'Iterations', default: 3, min: 0, max: 20 }),
  },
  deterministic: false,
  execute(ctx, _inputs, params) {
    const { steps, iterations } = params;
    const all: number[] = [];
    for (let step = 0; step < steps; step++) {
      for (let iteration = 0; iteration < iterations; iteration++) {
        const t = (step * iterations + iteration) / Math.max(1, steps * iterations - 1);
        all.push(lossAt(step, iteration));
        ctx.preview({ kind: 'bars', labels: CLASSES, values: probabilities(t), highlight: 0, label: 'p(left) term 1' }, { step, steps, iteration });
      }
      const w = 8;
      const values = Array.from({ length: w * w }, (_, i) => ((i % w) + step) / (w + steps));
      ctx.preview({ kind: 'heatmap', width: w, height: w, values, label: `token "circle" at step ${step + 1}` }, { step, steps });
      ctx.preview({ kind: 'image', width: 16, height: 16, pngBase64: solidPng(16, Math.round((255 * step) / Math.max(1, steps - 1))), label: 'x0 prediction' }, { step, steps });
    }
    const x = all.map((_, i) => i);
    ctx.preview({ kind: 'curve', xLabel: 'iteration', yLabel: 'loss', series: [{ name: 'loss', x, y: all }], log: true, label: 'loss over all iterations' });
    ctx.preview({ kind: 'text', text: `${steps} steps, ${iterations} iterations each`, label: 'summary' });
    return {};
  },
});

export const numberNode = defineNode({
  type: 'test.number',
  version: 1,
  title: 'Number',
  category: 'Test',
  description: 'Outputs its value as an INT (to link into a param shown as an input).',
  inputs: [],
  outputs: [{ id: 'value', label: 'Value', type: 'INT' }],
  params: { value: param.int({ label: 'Value', default: 5, min: 0, max: 50 }) },
  execute(_ctx, _inputs, params) {
    return { value: params.value };
  },
});

/** testRegistry plus the nodes of this file. */
export function previewRegistry(): NodeRegistry {
  const defs: AnyNodeDefinition[] = [...testRegistry().definitions(), chartsNode, timelineNode, numberNode];
  return new NodeRegistry(defs);
}
