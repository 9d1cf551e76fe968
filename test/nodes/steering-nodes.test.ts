/**
 * The steering nodes as users run them: graphs/classify-image.json (Load Image -> Encode Prompt ->
 * Classify Relations with the installed classifier, Extract Attention with previews) and a small
 * inversion graph (Load Image -> Encode Image -> Invert with the reconstruction measured).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Executor } from '../../src/engine/graph/executor.ts';
import { loadGraph } from '../../src/engine/graph/file.ts';
import { NodeRegistry } from '../../src/engine/graph/registry.ts';
import { BUILTIN_NODES } from '../../src/nodes/registry.ts';
import type { MetricsValue } from '../../src/nodes/values.ts';
import type { EngineEvent } from '../../src/shared/events.ts';
import type { GraphFile } from '../../src/shared/graph.ts';

const registry = new NodeRegistry(BUILTIN_NODES);

describe('steering nodes', () => {
  it('classify-image.json reads the mirrored example as "right" although the prompt says left, and previews the maps', async () => {
    const graph = await loadGraph('graphs/classify-image.json', registry);
    const events: EngineEvent[] = [];
    const r = await new Executor(registry).run(graph, { outputDir: mkdtempSync(join(tmpdir(), 'steer-nodes-')), onEvent: (e) => events.push(e) });
    expect(r.status, JSON.stringify(r.error)).toBe('finished');
    const m = r.outputs.get('classify')!.metrics as MetricsValue;
    expect(m.kind).toBe('classified');
    if (m.kind !== 'classified') return;
    expect(m.relations[0]).toMatchObject({ subject: 'red circle', stated: 'left', object: 'blue square', predicted: 'right' });
    expect(m.psnr).toBeGreaterThan(30);
    const att = r.outputs.get('attention')!.attention as { objects: string[]; steps: number[]; stacks: Float32Array[] };
    expect(att.objects).toEqual(['red circle', 'blue square']);
    expect(att.stacks).toHaveLength(att.steps.length);
    const previews = events.filter((e) => e.type === 'node.preview' && e.nodeId === 'attention');
    expect(previews).toHaveLength(4); // per object: overlay + per-layer grid
  }, 180_000);

  it('Encode Image -> Invert reconstructs the image under its embedded prompt', async () => {
    const graph = {
      format: 'steer-graph',
      version: 1,
      nodes: [
        { id: 'model', type: 'model.load', typeVersion: 1, params: { path: 'resources/models/shape-world', provider: 'cpu', threads: 0 }, position: { x: 0, y: 0 } },
        { id: 'image', type: 'image.load', typeVersion: 1, params: { path: 'resources/examples/red-circle-left-of-blue-square-seed1.png' }, position: { x: 0, y: 0 } },
        { id: 'parse', type: 'prompt.parse', typeVersion: 1, params: { text: '' }, position: { x: 0, y: 0 } },
        { id: 'encode', type: 'prompt.encode', typeVersion: 1, params: { negative: '' }, position: { x: 0, y: 0 } },
        { id: 'latent', type: 'latent.encode', typeVersion: 1, params: {}, position: { x: 0, y: 0 } },
        { id: 'invert', type: 'latent.invert', typeVersion: 1, params: { steps: 20, fixed_point: 1, measure: true }, position: { x: 0, y: 0 } },
      ],
      edges: [
        { id: 'e1', from: { node: 'image', output: 'prompt' }, to: { node: 'parse', input: 'text' } },
        { id: 'e2', from: { node: 'model', output: 'model' }, to: { node: 'encode', input: 'model' } },
        { id: 'e3', from: { node: 'parse', output: 'prompt' }, to: { node: 'encode', input: 'prompt' } },
        { id: 'e4', from: { node: 'model', output: 'model' }, to: { node: 'latent', input: 'model' } },
        { id: 'e5', from: { node: 'image', output: 'image' }, to: { node: 'latent', input: 'image' } },
        { id: 'e6', from: { node: 'model', output: 'model' }, to: { node: 'invert', input: 'model' } },
        { id: 'e7', from: { node: 'encode', output: 'conditioning' }, to: { node: 'invert', input: 'conditioning' } },
        { id: 'e8', from: { node: 'latent', output: 'latent' }, to: { node: 'invert', input: 'latent' } },
      ],
    } as unknown as GraphFile;
    const r = await new Executor(registry).run(graph, { outputDir: mkdtempSync(join(tmpdir(), 'steer-nodes-')) });
    expect(r.status, JSON.stringify(r.error)).toBe('finished');
    expect(r.outputs.get('invert')!.psnr as number).toBeGreaterThan(30);
    expect((r.outputs.get('invert')!.noise as { shape: number[] }).shape).toEqual([1, 4, 16, 16]);
  }, 180_000);
});
