/**
 * `steer eval --method / --graph`: methods are branches of graphs/compare-losses.json (or of the
 * user's graph), run through the Executor on the bundled model and classifier.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodePng } from '../../src/engine/image/png.ts';
import { suitePrompts } from '../../src/engine/eval/suites.ts';

const steer = (...args: string[]) => {
  const r = spawnSync(process.execPath, ['bin/steer.mjs', ...args], { encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0' } });
  return { code: r.status, out: r.stdout, err: r.stderr };
};
const tmp = () => mkdtempSync(join(tmpdir(), 'steer-eval-cli-'));
const json = (dir: string) => JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8'));

type Rec = { method: string; id: string; seed: number; prompt: string; unetForward: number; unetBackward: number; steeringEvaluations: number; iterationsPerStep: number[]; seconds: number };

describe('steer eval --method', () => {
  it('runs none and learned branches on the same prompts and seeds and writes the table, chart and grid', () => {
    const out = tmp();
    const r = steer('eval', 'position', '--method', 'none,learned', '--count', '2', '--seeds', '1', '--steps', '10', '--out', out);
    expect(r.code, r.err).toBe(0);
    const res = json(out);
    expect(res.methods).toEqual(['none', 'learned']);
    expect(res.summaries.map((s: { suite: string; method: string; images: number }) => [s.suite, s.method, s.images])).toEqual([
      ['position', 'none', 2],
      ['position', 'learned', 2],
    ]);
    const recs = res.records as Rec[];
    const prompts = suitePrompts('position', 2).map((p) => p.text);
    for (const m of ['none', 'learned']) expect(recs.filter((x) => x.method === m).map((x) => [x.prompt, x.seed])).toEqual(prompts.map((p) => [p, 0]));
    // plain sampling: 10 steps x CFG pair, no backward; steering: at least one loss evaluation per steered step
    for (const x of recs.filter((x) => x.method === 'none')) expect([x.unetForward, x.unetBackward, x.steeringEvaluations]).toEqual([20, 0, 0]);
    for (const x of recs.filter((x) => x.method === 'learned')) {
      expect(x.iterationsPerStep).toHaveLength(10);
      expect(x.steeringEvaluations).toBe(x.iterationsPerStep.reduce((a, b) => a + b, 0));
      expect(x.unetBackward).toBe(x.steeringEvaluations);
      expect(x.unetForward).toBe(20 + x.steeringEvaluations);
      expect(x.seconds).toBeGreaterThan(0);
    }
    const learned = res.summaries[1];
    expect(learned.steeringEvaluationsPerImage).toBeGreaterThanOrEqual(10);
    expect(Object.values(learned.iterationsPerStepHistogram as Record<string, number>).reduce((a, b) => a + b, 0)).toBe(20);
    // one grid row per method, one column per (prompt, seed)
    const grid = decodePng(new Uint8Array(readFileSync(join(out, 'samples-position.png'))));
    expect([grid.width, grid.height]).toEqual([2 * 66 + 2, 2 * 66 + 2]);
    expect(res.grids.position.rows).toEqual(['none', 'learned']);
    const svg = readFileSync(join(out, 'chart.svg'), 'utf8');
    expect(svg).toContain('>none</text>');
    expect(svg).toContain('>learned</text>');
    const md = readFileSync(join(out, 'table.md'), 'utf8');
    expect(md).toMatch(/\| position \| learned \| 2 \| /);
    expect(readFileSync(join(out, 'results.csv'), 'utf8').trim().split('\n')).toHaveLength(5);
    expect(r.out).toMatch(/learned/); // the printed table
  }, 60_000);

  it('--graph evaluates a user graph: its prompt and seed are set, so it matches the same pipeline in compare-losses', () => {
    const dir = tmp();
    // graphs/generate.json as a user might rebuild it: no Text node (Prompt Parse's own text), other ids
    const g = JSON.parse(readFileSync('graphs/generate.json', 'utf8'));
    g.nodes = g.nodes.filter((n: { type: string }) => n.type !== 'primitive.text' && n.type !== 'image.save');
    g.edges = g.edges.filter((e: { from: { node: string }; to: { node: string } }) => g.nodes.some((n: { id: string }) => n.id === e.from.node) && g.nodes.some((n: { id: string }) => n.id === e.to.node));
    const rename: Record<string, string> = { parse: 'user-parse', decode: 'picture', sample: 'sampler' };
    for (const n of g.nodes) {
      n.id = rename[n.id] ?? n.id;
      if (n.type === 'prompt.parse') n.params.text = 'a photo of a green cross';
      if (n.type === 'model.load') n.params.path = resolve('resources/models/shape-world');
    }
    for (const e of g.edges) {
      e.from.node = rename[e.from.node] ?? e.from.node;
      e.to.node = rename[e.to.node] ?? e.to.node;
    }
    const file = join(dir, 'my-pipeline.json');
    writeFileSync(file, JSON.stringify(g));
    const mine = join(dir, 'mine');
    const ref = join(dir, 'ref');
    const a = steer('eval', 'multi', '--graph', file, '--count', '2', '--seeds', '2', '--steps', '6', '--out', mine);
    expect(a.code, a.err).toBe(0);
    const b = steer('eval', 'multi', '--method', 'none', '--count', '2', '--seeds', '2', '--steps', '6', '--out', ref);
    expect(b.code, b.err).toBe(0);
    const res = json(mine);
    expect(res.methods).toEqual(['my-pipeline']);
    expect(res.branches[0]).toMatchObject({ image: 'picture', prompt: 'user-parse', noise: ['noise'], denoisers: ['sampler'] });
    expect(res.records.map((x: Rec) => x.seed)).toEqual([0, 1, 0, 1]);
    // the same images, byte for byte: the prompt and seed reached the user's nodes
    expect(readFileSync(join(mine, 'samples-multi.png')).equals(readFileSync(join(ref, 'samples-multi.png')))).toBe(true);
    expect(res.records.map((x: { detections: string[] }) => x.detections)).toEqual(json(ref).records.map((x: { detections: string[] }) => x.detections));
  }, 60_000);
});

describe('steer eval: bad input is exit 2 with a clear message', () => {
  it('unknown method (listing the branches), unknown suite, and graphs without a prompt input or an image output', () => {
    const dir = tmp();
    const method = steer('eval', 'position', '--method', 'none,fancy', '--out', join(dir, 'a'));
    expect(method.code).toBe(2);
    expect(method.err).toContain('graphs/compare-losses.json has no branch "fancy": its branches are none, centroid, learned');

    const suite = steer('eval', 'positions', '--method', 'none', '--out', join(dir, 'b'));
    expect(suite.code).toBe(2);
    expect(suite.err).toMatch(/unknown suite "positions"; suites are objects, position, position-unseen, multi, multi4, phrasing, phrasing-unseen, all/);

    const several = steer('eval', 'position', '--graph', 'graphs/compare-losses.json', '--out', join(dir, 'c'));
    expect(several.code).toBe(2);
    expect(several.err).toContain('choose its branches with --method none,centroid,learned');

    const noImage = steer('eval', 'position', '--graph', 'graphs/parse-relations.json', '--out', join(dir, 'd'));
    expect(noImage.code).toBe(2);
    expect(noImage.err).toContain('graphs/parse-relations.json has no image output');

    // noise decoded straight to an image: no prompt to set
    const g = JSON.parse(readFileSync('graphs/generate.json', 'utf8'));
    g.nodes = g.nodes.filter((n: { id: string }) => ['model', 'noise', 'decode'].includes(n.id));
    g.edges = [
      { id: 'e1', from: { node: 'model', output: 'model' }, to: { node: 'decode', input: 'model' } },
      { id: 'e2', from: { node: 'noise', output: 'latent' }, to: { node: 'decode', input: 'latent' } },
    ];
    const file = join(dir, 'no-prompt.json');
    writeFileSync(file, JSON.stringify(g));
    const noPrompt = steer('eval', 'position', '--graph', file, '--out', join(dir, 'e'));
    expect(noPrompt.code).toBe(2);
    expect(noPrompt.err).toContain(`${file} (branch "no-prompt", image node "decode") has no prompt input`);

    writeFileSync(join(dir, 'broken.json'), '{ "nodes": [');
    const broken = steer('eval', 'position', '--graph', join(dir, 'broken.json'), '--out', join(dir, 'f'));
    expect(broken.code).toBe(2);
    expect(broken.err).toContain('broken.json');

    const attention = steer('eval', 'position', '--method', 'learned', '--attention', '--out', join(dir, 'g'));
    expect(attention.code).toBe(2);
    expect(attention.err).toContain('--attention scores plain sampling only');
  }, 30_000);
});
