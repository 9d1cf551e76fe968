import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Executor } from '../../src/engine/graph/executor.ts';
import { loadGraph } from '../../src/engine/graph/file.ts';
import { NodeRegistry } from '../../src/engine/graph/registry.ts';
import { validateGraph } from '../../src/engine/graph/validate.ts';
import { checkPromptRelations } from '../../src/engine/eval/prompt-relations.ts';
import { decodePng, readPngText } from '../../src/engine/image/png.ts';
import { parsePrompt } from '../../src/engine/prompt/parse.ts';
import { BUILTIN_NODES } from '../../src/nodes/registry.ts';
import type { EngineEvent } from '../../src/shared/events.ts';
import type { GraphFile } from '../../src/shared/graph.ts';

const registry = new NodeRegistry(BUILTIN_NODES);
const tmp = () => mkdtempSync(join(tmpdir(), 'steer-nodes-'));

describe('Shape World check graph (sample -> detect -> check relations -> save)', () => {
  it('judges the stated relation true on ground truth and saves a PNG carrying the graph and seed', async () => {
    const graph = await loadGraph('graphs/check-shape-world.json', registry);
    const out = tmp();
    const events: EngineEvent[] = [];
    const ex = new Executor(registry);
    const r = await ex.run(graph, { outputDir: out, onEvent: (e) => events.push(e) });
    expect(r.status).toBe('finished');
    const metrics = r.outputs.get('check')!.metrics as { report: { judged: number; passed: number } };
    expect(metrics.report.judged).toBeGreaterThan(0);
    expect(metrics.report.passed).toBe(metrics.report.judged);

    const file = r.outputs.get('save')!.file as string;
    const bytes = new Uint8Array(readFileSync(file));
    const text = readPngText(bytes);
    expect(JSON.parse(text.steer_graph!)).toEqual(graph);
    expect(text.steer_seed).toBe('7');
    expect(text.steer_prompt).toBe(r.outputs.get('sample')!.caption);
    const img = decodePng(bytes);
    expect([img.width, img.height]).toEqual([64, 64]);
    expect(events.some((e) => e.type === 'node.preview' && e.preview.kind === 'image')).toBe(true);

    // Save Image numbers its files and is never served from the cache
    const again = await ex.run(graph, { outputDir: out });
    expect(again.executed).toEqual(['save']);
    expect(readdirSync(out).sort()).toEqual(['scene_00001.png', 'scene_00002.png']);
  });

  it('sees a wrong relation as wrong: the same scene checked against the mirrored prompt fails', async () => {
    const graph = await loadGraph('graphs/check-shape-world.json', registry);
    const r = await new Executor(registry).run(graph, { targets: ['detect', 'sample'] });
    const caption = r.outputs.get('sample')!.caption as string;
    const detections = r.outputs.get('detect')!.detections as never[];
    const prompt = parsePrompt(caption);
    const rel = prompt.relations[0]!;
    const flip = { left: 'right', right: 'left', above: 'below', below: 'above', near: 'near' } as const;
    const mirrored = { ...prompt, relations: [{ ...rel, relation: flip[rel.relation] }] };
    const report = checkPromptRelations(mirrored, detections);
    expect(report.judged).toBe(1);
    expect(report.passed).toBe(0);
  });
});

describe('checkPromptRelations', () => {
  it('does not judge objects outside Shape World, nor non-directional relations', () => {
    const report = checkPromptRelations(parsePrompt('a dog left of a red circle and a blue square next to a green cross'), []);
    expect(report.judged).toBe(0);
    expect(report.accuracy).toBeNull();
    expect(report.checks[0]!.reason).toContain('"dog" is not a Shape World object');
    expect(report.checks[1]!.reason).toContain('no direction');
  });

  it('fails a relation when an object is missing', () => {
    const report = checkPromptRelations(parsePrompt('a red circle above a blue square'), [{ color: 'red', shape: 'circle', box: [0, 0, 10, 10] }]);
    expect(report.checks[0]).toMatchObject({ ok: false });
    expect(report.checks[0]!.reason).toContain("object 'blue square' not detected");
  });
});

describe('Noise Latent', () => {
  const noiseGraph = (params: Record<string, unknown>): GraphFile => {
    const r = validateGraph(
      {
        format: 'steer-graph', version: 1, meta: {}, edges: [],
        nodes: [{ id: 'n', type: 'latent.noise', typeVersion: 1, params: { seed: 42, randomize: false, batch: 1, channels: 4, height: 16, width: 16, ...params }, position: { x: 0, y: 0 } }],
      },
      registry,
    );
    if (!r.ok) throw new Error(JSON.stringify(r.issues));
    return r.graph;
  };

  it('is reproducible per seed and cached', async () => {
    const ex = new Executor(registry);
    const a = await ex.run(noiseGraph({}));
    const b = await new Executor(registry).run(noiseGraph({}));
    const la = a.outputs.get('n')!.latent as { data: Float32Array; shape: number[]; seed: number };
    const lb = b.outputs.get('n')!.latent as { data: Float32Array };
    expect(la.shape).toEqual([1, 4, 16, 16]);
    expect(la.seed).toBe(42);
    expect(Buffer.from(la.data.buffer).equals(Buffer.from(lb.data.buffer))).toBe(true);
    const other = await ex.run(noiseGraph({ seed: 43 }));
    expect((other.outputs.get('n')!.latent as { data: Float32Array }).data[0]).not.toBe(la.data[0]);
    expect((await ex.run(noiseGraph({}))).cached).toEqual(['n']);
  });

  it('with randomize, draws a new seed every run and reports the one it used', async () => {
    const ex = new Executor(registry);
    const events: EngineEvent[] = [];
    const r1 = await ex.run(noiseGraph({ randomize: true }), { onEvent: (e) => events.push(e) });
    const r2 = await ex.run(noiseGraph({ randomize: true }));
    const s1 = (r1.outputs.get('n')!.latent as { seed: number }).seed;
    const s2 = (r2.outputs.get('n')!.latent as { seed: number }).seed;
    expect(r2.executed).toEqual(['n']);
    expect(s1).not.toBe(s2);
    const finished = events.find((e) => e.type === 'node.finished');
    expect(finished && finished.type === 'node.finished' && finished.outputs.latent!.summary).toBe(`latent 1x4x16x16 (seed ${s1})`);
  });
});
