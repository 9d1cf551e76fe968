import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { accuracyChartSvg, imageGrid, recordsToCsv } from '../../src/engine/eval/report.ts';
import { judge, summarize, type EvalRecord } from '../../src/engine/eval/run-suite.ts';
import { PHRASINGS, SUITES, suitePrompts } from '../../src/engine/eval/suites.ts';
import { decodePng } from '../../src/engine/image/png.ts';
import { parsePrompt } from '../../src/engine/prompt/parse.ts';
import { detect } from '../../src/engine/world/detect.ts';
import { isHeldOutPair, isHeldOutPairing } from '../../src/engine/world/heldout.ts';
import { renderScene } from '../../src/engine/world/render.ts';
import type { Color, Shape } from '../../src/engine/world/types.ts';
import { untrainedModelFolder } from '../pipeline/helpers.ts';

const obj = (name: string, cx: number, cy: number) => {
  const [color, shape] = name.split(' ') as [Color, Shape];
  return { color, shape, cx, cy, size: 18 };
};

describe('suite prompts', () => {
  it('are deterministic and of the documented sizes', () => {
    for (const s of SUITES) expect(suitePrompts(s)).toEqual(suitePrompts(s));
    expect(suitePrompts('position')).toHaveLength(100);
    expect(suitePrompts('position-unseen')).toHaveLength(100);
    expect(suitePrompts('multi')).toHaveLength(50);
    expect(suitePrompts('multi4')).toHaveLength(50);
    expect(suitePrompts('phrasing')).toHaveLength(100);
    expect(suitePrompts('phrasing-unseen')).toHaveLength(100);
    // a suite's first prompts do not depend on how many were asked for
    for (const s of SUITES) if (s !== 'objects') expect(suitePrompts(s, 7)).toEqual(suitePrompts(s).slice(0, 7));
    expect(suitePrompts('objects').filter((p) => p.group === 'single')).toHaveLength(25);
  });

  it('use the GenEval form and balance the four relations', () => {
    const ps = suitePrompts('position');
    expect(ps[0]!.text).toMatch(/^a photo of an? \w+ \w+ (left of|right of|above|below) an? \w+ \w+$/);
    for (const r of ['left', 'right', 'above', 'below']) expect(ps.filter((p) => p.group === r)).toHaveLength(25);
  });

  it('keep held-out combinations out of the seen suites and in the unseen one', () => {
    const held = (p: { objects: string[] }) => p.objects.some((o) => isHeldOutPairing(o as never)) || (p.objects.length > 1 && isHeldOutPair(p.objects[0] as never, p.objects[1] as never));
    for (const s of ['objects', 'position', 'multi', 'phrasing'] as const) expect(suitePrompts(s).filter(held)).toEqual([]);
    expect(suitePrompts('position-unseen').every(held)).toBe(true);
    expect(suitePrompts('phrasing-unseen').every(held)).toBe(true);
    // multi suites: no held-out pairing anywhere and no held-out pair among any two of the objects
    for (const p of [...suitePrompts('multi'), ...suitePrompts('multi4')]) {
      expect(p.objects.some((o) => isHeldOutPairing(o))).toBe(false);
      for (let i = 0; i < p.objects.length; i++) for (let j = i + 1; j < p.objects.length; j++) expect(isHeldOutPair(p.objects[i]!, p.objects[j]!)).toBe(false);
    }
  });

  it('multi4: four distinct objects, three chained relations on alternating axes', () => {
    const axis = (r: string) => (r === 'left' || r === 'right' ? 'x' : 'y');
    for (const p of suitePrompts('multi4')) {
      expect(p.objects).toHaveLength(4);
      expect(new Set(p.objects.map((o) => o.split(' ')[0])).size).toBe(4);
      expect(new Set(p.objects.map((o) => o.split(' ')[1])).size).toBe(4);
      expect(p.relations.map((r) => [r.subject, r.object])).toEqual([[0, 1], [1, 2], [2, 3]]);
      const [a, b, c] = p.relations.map((r) => axis(r.relation));
      expect(a).not.toBe(b);
      expect(c).toBe(a);
    }
  });

  it('phrasing suites word relations as people do, balanced over the four relations', () => {
    for (const name of ['phrasing', 'phrasing-unseen'] as const) {
      const ps = suitePrompts(name);
      for (const r of ['left', 'right', 'above', 'below']) expect(ps.filter((p) => p.group === r)).toHaveLength(25);
      for (const phrase of ['on the left of', 'on the right of', 'on the top of', 'on the bottom of', 'beneath', 'under', 'over']) {
        expect(ps.some((p) => p.text.includes(` ${phrase} `)), `${name}: ${phrase}`).toBe(true);
      }
      expect(ps.some((p) => p.text.startsWith('a photo of '))).toBe(true);
      expect(ps.some((p) => !/^(a photo|a picture) of /.test(p.text))).toBe(true);
      // never GenEval's bare "left of" / "right of"
      expect(ps.filter((p) => /(^| )(left|right) of /.test(p.text) && !/(on|to) the (left|right) of /.test(p.text))).toEqual([]);
      for (const p of ps) expect(PHRASINGS[p.relations[0]!.relation].some((w) => p.text.includes(` ${w} `))).toBe(true);
    }
    // the first 12 (a count the docs use) already cover every phrase of the brief but "underneath"
    const first = suitePrompts('phrasing', 12).map((p) => p.text).join('\n');
    for (const phrase of ['on the left of', 'on the right of', 'on the top of', 'on the bottom of', 'beneath', 'under', 'over']) expect(first).toContain(` ${phrase} `);
  });

  it('parse back to the objects and relations they test', () => {
    for (const p of SUITES.filter((s) => s !== 'objects').flatMap((s) => suitePrompts(s))) {
      const parsed = parsePrompt(p.text);
      expect(parsed.warnings, p.text).toEqual([]);
      expect(parsed.objects.map((o) => o.text)).toEqual(p.objects);
      expect(parsed.relations.map((r) => [r.subjectIndex, r.relation, r.objectIndex])).toEqual(p.relations.map((r) => [r.subject, r.relation, r.object]));
    }
  });
});

describe('judging rendered scenes', () => {
  it('passes a scene that matches the prompt and fails the mirrored one', () => {
    const p = suitePrompts('position').find((x) => x.group === 'left')!;
    const [a, b] = p.objects as [string, string];
    const good = detect(renderScene({ objects: [obj(a, 16, 32), obj(b, 48, 32)] }));
    const bad = detect(renderScene({ objects: [obj(a, 48, 32), obj(b, 16, 32)] }));
    expect(judge(p, good)).toEqual({ ok: true, found: [true, true], relationsOk: [true] });
    expect(judge(p, bad)).toEqual({ ok: false, found: [true, true], relationsOk: [false] });
    expect(judge(p, detect(renderScene({ objects: [obj(a, 16, 32)] })))).toMatchObject({ ok: false, found: [true, false] });
  });

  it('needs every relation of a multi prompt', () => {
    const p = suitePrompts('multi')[0]!;
    const pos = { left: [-1, 0], right: [1, 0], above: [0, -1], below: [0, 1] } as const;
    const [r1, r2] = p.relations as unknown as [{ relation: keyof typeof pos }, { relation: keyof typeof pos }];
    // place B in the middle, A relative to B by r1, C opposite to B's relation r2 (B r2 C => C = B - dir)
    const B = [32, 32];
    const A = [B[0]! + 20 * pos[r1.relation][0], B[1]! + 20 * pos[r1.relation][1]];
    const C = [B[0]! - 20 * pos[r2.relation][0], B[1]! - 20 * pos[r2.relation][1]];
    const scene = { objects: [obj(p.objects[0]!, A[0]!, A[1]!), obj(p.objects[1]!, B[0]!, B[1]!), obj(p.objects[2]!, C[0]!, C[1]!)] };
    expect(judge(p, detect(renderScene(scene)))).toMatchObject({ ok: true, relationsOk: [true, true] });
  });
});

describe('reports', () => {
  const records: EvalRecord[] = [
    { suite: 'position', id: 'p0', prompt: 'a photo of a red circle left of a "blue" square', group: 'left', seed: 0, ok: true, found: [true, true], relationsOk: [true], detections: ['red circle', 'blue square'] },
    { suite: 'position', id: 'p0', prompt: 'a photo of a red circle left of a "blue" square', group: 'left', seed: 1, ok: false, found: [true, false], relationsOk: [false], detections: ['red circle'] },
    { suite: 'position', id: 'p1', prompt: 'x, y', group: 'above', seed: 0, ok: false, found: [false, false], relationsOk: [false], detections: [] },
  ];
  it('summarise per group with object recall', () => {
    const s = summarize('position', records);
    expect(s).toMatchObject({ prompts: 2, images: 3, objectRecall: 0.5, byGroup: { left: { n: 2, correct: 1, accuracy: 0.5 }, above: { n: 1, correct: 0 } } });
    expect(s.accuracy).toBeCloseTo(1 / 3);
  });
  it('write CSV with quoting and an SVG chart', () => {
    const csv = recordsToCsv(records).trim().split('\n');
    expect(csv).toHaveLength(4);
    expect(csv[1]).toContain('"a photo of a red circle left of a ""blue"" square"');
    expect(csv[3]).toContain('"x, y"');
    const svg = accuracyChartSvg([summarize('position', records)], 'test <chart>');
    expect(svg).toContain('<svg');
    expect(svg).toContain('test &lt;chart&gt;');
    expect(svg).toContain('33.3% (n=3)');
    const grid = imageGrid([renderScene({ objects: [] }), renderScene({ objects: [] })], 8);
    expect([grid.width, grid.height]).toEqual([2 * 66 + 2, 68]);
  });
});

describe('steer eval', () => {
  it('runs a suite on a model folder and writes json, csv, svg and a sample grid', async () => {
    const model = await untrainedModelFolder(2);
    const out = mkdtempSync(join(tmpdir(), 'steer-eval-'));
    const r = spawnSync(process.execPath, ['bin/steer.mjs', 'eval', 'position', '--count', '2', '--seeds', '2', '--steps', '2', '--model', model, '--out', out], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const res = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
    expect(res.summaries[0]).toMatchObject({ suite: 'position', prompts: 2, images: 4 });
    expect(res.records).toHaveLength(4);
    expect(readFileSync(join(out, 'results.csv'), 'utf8').trim().split('\n')).toHaveLength(5);
    expect(readFileSync(join(out, 'chart.svg'), 'utf8')).toContain('<svg');
    expect(decodePng(new Uint8Array(readFileSync(join(out, 'samples-position.png')))).width).toBe(4 * 66 + 2);
    expect(spawnSync(process.execPath, ['bin/steer.mjs', 'eval', 'nonsense'], { encoding: 'utf8' }).status).toBe(2);
  });
});
