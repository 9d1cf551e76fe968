/** Which node of a graph is the prompt, the seed, the image and the cost (no model runs here). */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cloneBranch, EvalGraphError, graphBranches, resolveBranches } from '../../src/engine/eval/graph-run.ts';
import { NodeRegistry } from '../../src/engine/graph/registry.ts';
import { validateGraph } from '../../src/engine/graph/validate.ts';
import { BUILTIN_NODES } from '../../src/nodes/registry.ts';
import type { GraphFile } from '../../src/shared/graph.ts';

const load = (f: string) => JSON.parse(readFileSync(f, 'utf8')) as GraphFile;
const registry = new NodeRegistry(BUILTIN_NODES);

describe('eval graph rules', () => {
  it('finds the compare-losses branches, their prompt node, noise and denoisers', () => {
    const g = load('graphs/compare-losses.json');
    expect(graphBranches(g)).toEqual(expect.arrayContaining(['none', 'centroid', 'learned']));
    const [none, learned] = resolveBranches(g, 'cl', ['none', 'learned']);
    expect(none).toMatchObject({ method: 'none', imageNode: 'decode_none', prompt: { node: 'prompt', param: 'text' }, noiseNodes: ['noise'], denoisers: ['sample_none'] });
    expect(learned).toMatchObject({ method: 'learned', imageNode: 'decode_learned', denoisers: ['optimize_learned'] });
  });

  it('a one-output graph is one method named by the caller; Save Image feeds stand in for a missing Decode', () => {
    const g = load('graphs/generate.json');
    expect(resolveBranches(g, 'gen', undefined, 'generate')).toMatchObject([{ method: 'generate', imageNode: 'decode', denoisers: ['sample'] }]);
    // the image through a Save node when the graph has no Decode: here a Load Image's output
    const saved: GraphFile = {
      ...g,
      nodes: [...g.nodes.filter((n) => n.type !== 'latent.decode'), { id: 'img', type: 'image.load', typeVersion: 1, params: {}, position: { x: 0, y: 0 } }],
      edges: [...g.edges.filter((e) => e.to.node !== 'decode' && e.from.node !== 'decode'), { id: 'x', from: { node: 'img', output: 'image' }, to: { node: 'save', input: 'image' } }],
    };
    expect(() => resolveBranches(saved, 'saved.json', undefined)).toThrow(/saved\.json \(branch "graph", image node "img"\) has no Noise Latent node/);
  });

  it('says what is missing or ambiguous, naming the graph', () => {
    const g = load('graphs/compare-losses.json');
    expect(() => resolveBranches(g, 'cl.json', ['nope'])).toThrow(EvalGraphError);
    expect(() => resolveBranches(g, 'cl.json', ['nope'])).toThrow(/cl\.json has no branch "nope": its branches are none, centroid, learned/);
    expect(() => resolveBranches(g, 'cl.json', undefined)).toThrow(/choose its branches with --method none,centroid,learned/);
    // two prompt inputs for one image
    const two: GraphFile = { ...g, edges: g.edges.filter((e) => !(e.to.node === 'parse' && e.to.input === 'text')) };
    two.nodes = [...g.nodes, { id: 'parse2', type: 'prompt.parse', typeVersion: 1, params: { text: 'x' }, position: { x: 0, y: 0 } }];
    two.edges = [...two.edges, { id: 'p2', from: { node: 'parse2', output: 'prompt' }, to: { node: 'check_none', input: 'prompt' } }];
    // parse2 only feeds a check node, which the image does not depend on: still one prompt input
    expect(resolveBranches(two, 'two.json', ['none'])[0]!.prompt).toEqual({ node: 'parse', param: 'text' });
    two.edges = two.edges.map((e) => (e.to.node === 'encode' && e.to.input === 'prompt' ? { ...e, from: { node: 'parse2', output: 'prompt' } } : e));
    two.edges.push({ id: 'p3', from: { node: 'parse', output: 'prompt' }, to: { node: 'sample_none', input: 'x' } });
    expect(() => resolveBranches(two, 'two.json', ['none'])).toThrow(/two\.json \(branch "none", image node "decode_none"\) has several prompt inputs/);
  });

  it('cloneBranch copies a branch with changed params into a valid graph', () => {
    const g = load('graphs/compare-losses.json');
    const c = cloneBranch(g, 'learned', 'fast', { 'latent.optimize': { last_step: 9 } });
    const v = validateGraph(c, registry);
    expect(v.ok, v.ok ? '' : JSON.stringify(v.issues)).toBe(true);
    const [b] = resolveBranches(c, 'c', ['fast']);
    expect(b).toMatchObject({ imageNode: 'decode_fast', denoisers: ['optimize_fast'] });
    expect(c.nodes.find((n) => n.id === 'optimize_fast')!.params.last_step).toBe(9);
    expect(c.nodes.find((n) => n.id === 'optimize_learned')!.params.last_step).toBe(g.nodes.find((n) => n.id === 'optimize_learned')!.params.last_step);
    expect(g.nodes.find((n) => n.id === 'optimize_learned')!.params.last_step).not.toBe(9);
    // the clone reads the shared nodes (prompt encoding, noise, classifier), not the original branch
    const into = c.edges.filter((e) => e.to.node === 'optimize_fast').map((e) => e.from.node).sort();
    expect(into).toEqual(expect.arrayContaining(['encode', 'model', 'noise']));
    expect(into.some((n) => n.endsWith('_learned'))).toBe(false);
    expect(() => cloneBranch(c, 'learned', 'fast')).toThrow(/exists already/);
  });
});
