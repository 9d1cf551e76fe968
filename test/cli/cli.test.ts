import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const steer = (...args: string[]) => {
  const r = spawnSync(process.execPath, ['bin/steer.mjs', ...args], { encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0' } });
  return { code: r.status, out: r.stdout, err: r.stderr };
};
const tmp = () => mkdtempSync(join(tmpdir(), 'steer-cli-'));

describe('steer CLI', () => {
  it('runs the Prompt Parse graph end to end and writes its JSON', () => {
    const out = tmp();
    const r = steer('run', 'graphs/parse-relations.json', '--out', out, '--set', 'prompt.text=a photo of a dog to the right of a teddy bear');
    expect(r.err).toContain('run finished');
    expect(r.code).toBe(0);
    const doc = JSON.parse(readFileSync(join(out, 'relations.json'), 'utf8'));
    expect(doc.relations).toEqual([{ subject: 'dog', relation: 'right', object: 'teddy bear' }]);
    expect(doc.objects).toEqual([{ text: 'dog', span: [13, 16] }, { text: 'teddy bear', span: [35, 45] }]);
  });

  it('prints JSON-lines events with --json', () => {
    const r = steer('run', 'graphs/parse-relations.json', '--out', tmp(), '--json');
    expect(r.code).toBe(0);
    const events = r.out.trim().split('\n').map((l) => JSON.parse(l));
    expect(events[0].type).toBe('run.started');
    expect(events.at(-1).type).toBe('run.finished');
    expect(events.filter((e: { type: string }) => e.type === 'node.finished')).toHaveLength(3);
  });

  it('exits 1 when a node fails, naming the node', () => {
    const r = steer('run', 'graphs/parse-relations.json', '--out', tmp(), '--set', 'save.filename=../escape.json');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/node "save" failed: file name "..\/escape.json" may not leave the output folder/);
  });

  it('exits 2 for an invalid graph, listing every problem with its path', () => {
    const dir = tmp();
    const g = JSON.parse(readFileSync('graphs/parse-relations.json', 'utf8'));
    g.nodes[1].type = 'prompt.prase';
    g.nodes[2].params.filename = 7;
    writeFileSync(join(dir, 'bad.json'), JSON.stringify(g));
    const r = steer('run', join(dir, 'bad.json'));
    expect(r.code).toBe(2);
    expect(r.err).toContain('2 problems');
    expect(r.err).toContain('$.nodes[1].type: node "parse" has unknown type "prompt.prase" (did you mean "prompt.parse"?)');
    expect(r.err).toContain('$.nodes[2].params.filename');
    expect(r.err).not.toMatch(/\n\s+at /);
    const v = steer('validate', join(dir, 'bad.json'), '--json');
    expect(v.code).toBe(2);
    expect(JSON.parse(v.out).issues.map((i: { code: string }) => i.code).sort()).toEqual(['invalid-param', 'unknown-node-type']);
  });

  it('exits 2 for usage mistakes', () => {
    expect(steer('run').code).toBe(2);
    expect(steer('frobnicate').code).toBe(2);
    expect(steer('run', 'no/such/graph.json').err).toContain('no such file');
    const unknownNode = steer('run', 'graphs/parse-relations.json', '--set', 'prompt2.text=x');
    expect(unknownNode.code).toBe(2);
    expect(unknownNode.err).toContain('no node "prompt2" (did you mean "prompt"?)');
    expect(steer('run', 'graphs/parse-relations.json', '--set', 'prompt.txt=x').err).toContain('did you mean "text"');
    expect(steer('run', 'graphs/parse-relations.json', '--set', 'garbage').code).toBe(2);
    expect(steer('parse', '   ').code).toBe(2);
  });

  it('validates, lists nodes, parses and helps', () => {
    expect(steer('validate', 'graphs/parse-relations.json')).toMatchObject({ code: 0 });
    const nodes = steer('nodes', '--json');
    expect(nodes.code).toBe(0);
    const catalogue = JSON.parse(nodes.out);
    expect(catalogue.nodes.map((n: { type: string }) => n.type)).toContain('prompt.parse');
    expect(catalogue.sockets.PROMPT.color).toMatch(/^#/);
    const parsed = steer('parse', 'a red circle above a blue square', '--json');
    expect(JSON.parse(parsed.out).relations).toEqual([{ subject: 'red circle', relation: 'above', object: 'blue square' }]);
    for (const cmd of [[], ['run'], ['validate'], ['nodes'], ['parse']]) {
      const h = steer(...cmd, '--help');
      expect(h.code).toBe(0);
      expect(h.out).toContain('Usage: steer');
    }
  });

  it('runs only what --target needs', () => {
    const out = tmp();
    const r = steer('run', 'graphs/parse-relations.json', '--out', out, '--target', 'parse', '--json');
    expect(r.code).toBe(0);
    expect(r.out).not.toContain('"nodeId":"save"');
    expect(existsSync(join(out, 'relations.json'))).toBe(false);
  });
});
