import { describe, expect, it } from 'vitest';
import { validateGraph } from '../../src/engine/graph/validate.ts';
import { testRegistry } from '../fixtures/test-nodes.ts';
import { graph } from './helpers.ts';

const registry = testRegistry();
const issuesOf = (doc: unknown) => {
  const r = validateGraph(doc, registry);
  return r.ok ? [] : r.issues;
};
const codes = (doc: unknown) => issuesOf(doc).map((i) => i.code);

const good = () =>
  graph(
    [
      { id: 'a', type: 'test.const', params: { value: 2 } },
      { id: 'b', type: 'test.const', params: { value: 3 } },
      { id: 'sum', type: 'test.add' },
    ],
    ['a.value->sum.a', 'b.value->sum.b'],
  );

describe('validateGraph', () => {
  it('accepts a valid graph and returns it', () => {
    const r = validateGraph(good(), registry);
    expect(r.ok).toBe(true);
    expect(r.issues).toEqual([]);
  });

  it('rejects a document that is not a graph', () => {
    expect(codes([1, 2])).toEqual(['not-a-graph']);
    expect(codes('hello')).toEqual(['not-a-graph']);
  });

  it('reports wrong format, extra top-level fields and missing arrays with JSON paths', () => {
    const issues = issuesOf({ format: 'comfy', version: 1, meta: {}, nodes: [], edges: [], extra: 1 });
    expect(issues.map((i) => i.path).sort()).toEqual(['$', '$.format']);
    expect(issues.find((i) => i.path === '$')!.message).toContain('"extra"');
    expect(codes({ format: 'steer-graph', version: 1, meta: {} })).toContain('invalid-structure');
  });

  it('refuses files from a newer format version with a clear message', () => {
    const issues = issuesOf({ ...good(), version: 7 });
    expect(issues).toHaveLength(1);
    expect(issues[0]!.code).toBe('newer-version');
    expect(issues[0]!.message).toMatch(/newer/);
  });

  it('reports malformed nodes and edges by index and field', () => {
    const g = good() as any;
    g.nodes[1].position = { x: 'left' };
    g.nodes[2].id = 'has space';
    g.edges.push({ id: 'x', from: { node: 'a' }, to: { node: 'sum', input: 'c' } });
    const issues = issuesOf(g);
    const paths = issues.map((i) => i.path);
    expect(paths).toContain('$.nodes[1].position.x');
    expect(paths).toContain('$.nodes[1].position.y');
    expect(paths).toContain('$.nodes[2].id');
    expect(paths).toContain('$.edges[2].from.output');
    expect(issues.find((i) => i.path === '$.nodes[1].position.x')!.nodeId).toBe('b');
  });

  it('reports duplicate node and edge ids', () => {
    const g = good();
    g.nodes.push({ ...g.nodes[0]! });
    g.edges.push({ ...g.edges[0]!, to: { node: 'sum', input: 'c' } });
    const issues = issuesOf(g);
    expect(issues.map((i) => i.code).sort()).toEqual(['duplicate-edge-id', 'duplicate-node-id']);
    expect(issues.find((i) => i.code === 'duplicate-node-id')!.path).toBe('$.nodes[3].id');
  });

  it('reports unknown node types with a suggestion', () => {
    const g = good();
    g.nodes[0]!.type = 'test.cnst';
    const issues = issuesOf(g);
    expect(issues[0]).toMatchObject({ code: 'unknown-node-type', nodeId: 'a', path: '$.nodes[0].type' });
    expect(issues[0]!.message).toContain('did you mean "test.const"');
  });

  it('reports unknown, missing, mistyped and out-of-range params, all at once', () => {
    const g = graph([
      { id: 'u', type: 'test.const', params: { value: 1, valeu: 2 } },
      { id: 'm', type: 'test.const', params: {} },
      { id: 't', type: 'test.const', params: { value: 'ten' } },
      { id: 'r', type: 'test.const', params: { value: 5000 } },
      { id: 'f', type: 'test.const', params: { value: 1.5 } },
      { id: 'e', type: 'test.to-text', params: { prefix: '', mode: 'fancy' } },
    ]);
    // test.to-text also lacks its required input: filter to param issues
    const issues = issuesOf(g).filter((i) => i.code.includes('param'));
    const by = (id: string) => issues.filter((i) => i.nodeId === id);
    expect(by('u')[0]).toMatchObject({ code: 'unknown-param', path: '$.nodes[0].params.valeu' });
    expect(by('u')[0]!.message).toContain('did you mean "value"');
    expect(by('m')[0]).toMatchObject({ code: 'missing-param', path: '$.nodes[1].params.value' });
    expect(by('m')[0]!.message).toContain('default is 1');
    expect(by('t')[0]).toMatchObject({ code: 'invalid-param', path: '$.nodes[2].params.value' });
    expect(by('t')[0]!.message).toMatch(/must be a number, got string "ten"/);
    expect(by('r')[0]!.message).toMatch(/at most 1000, got 5000/);
    expect(by('f')[0]!.message).toMatch(/integer/);
    expect(by('e')[0]!.message).toMatch(/"plain" or "fixed", got "fancy"/);
    expect(issues).toHaveLength(6);
  });

  it('reports edges to unknown nodes and sockets, listing the real ones', () => {
    const g = graph(
      [
        { id: 'a', type: 'test.const', params: { value: 1 } },
        { id: 's', type: 'test.add' },
      ],
      ['a.value->s.a', 'a.valu->s.b', 'ghost.value->s.c', 'a.value->s.z'],
    );
    const issues = issuesOf(g);
    const out = issues.find((i) => i.code === 'unknown-output')!;
    expect(out.path).toBe('$.edges[1].from.output');
    expect(out.message).toContain('its outputs are "value"');
    expect(issues.find((i) => i.code === 'unknown-edge-node')!.path).toBe('$.edges[2].from.node');
    const inp = issues.find((i) => i.code === 'unknown-input')!;
    expect(inp.message).toContain('"a", "b", "c"');
    // the broken edge into s.b is reported once, not again as a missing input
    expect(issues.filter((i) => i.code === 'missing-input')).toEqual([]);
    expect(issues).toHaveLength(3);
  });

  it('reports socket type mismatches and accepts widenings', () => {
    const mismatch = graph(
      [
        { id: 'a', type: 'test.const', params: { value: 1 } },
        { id: 't', type: 'test.to-text', params: { prefix: '', mode: 'plain' } },
        { id: 's', type: 'test.add' },
      ],
      ['a.value->t.x', 't.text->s.a', 'a.value->s.b'],
    );
    const issues = issuesOf(mismatch);
    expect(issues).toHaveLength(1); // INT -> FLOAT is fine, STRING -> INT is not
    expect(issues[0]).toMatchObject({ code: 'socket-type-mismatch', nodeId: 's', path: '$.edges[1]' });
    expect(issues[0]!.message).toMatch(/a STRING output cannot feed an INT input/);
  });

  it('reports two edges into one input', () => {
    const g = good();
    g.edges.push({ id: 'dup', from: { node: 'b', output: 'value' }, to: { node: 'sum', input: 'a' } });
    const issues = issuesOf(g);
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ code: 'input-fed-twice', nodeId: 'sum', path: '$.edges[2].to' });
  });

  it('reports missing required inputs but not optional ones', () => {
    const g = graph([{ id: 'a', type: 'test.const', params: { value: 1 } }, { id: 's', type: 'test.add' }], ['a.value->s.a']);
    const issues = issuesOf(g);
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ code: 'missing-input', nodeId: 's', path: '$.nodes[1]' });
    expect(issues[0]!.message).toContain('"b"');
  });

  it('reports cycles with the path around them', () => {
    const g = graph(
      [
        { id: 'x', type: 'test.inc', typeVersion: 2, params: { by: 1 } },
        { id: 'y', type: 'test.inc', typeVersion: 2, params: { by: 1 } },
        { id: 'z', type: 'test.inc', typeVersion: 2, params: { by: 1 } },
      ],
      ['x.y->y.x', 'y.y->z.x', 'z.y->x.x'],
    );
    const issues = issuesOf(g);
    expect(issues.map((i) => i.code)).toEqual(['cycle']);
    expect(issues[0]!.message).toContain('"x" -> "y" -> "z" -> "x"');
  });

  it('upgrades params saved for an older node version with its migrate step', () => {
    const g = graph(
      [
        { id: 'a', type: 'test.const', params: { value: 1 } },
        { id: 'i', type: 'test.inc', typeVersion: 1, params: { step: 5 } },
      ],
      ['a.value->i.x'],
    );
    const r = validateGraph(g, registry);
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.graph.nodes[1]).toMatchObject({ typeVersion: 2, params: { by: 5 } });
  });

  it('refuses nodes saved by a newer version of their type', () => {
    const g = graph([{ id: 'a', type: 'test.const', typeVersion: 3, params: { value: 1 } }]);
    expect(issuesOf(g)[0]).toMatchObject({ code: 'newer-node-version', path: '$.nodes[0].typeVersion' });
  });

  it('reports every problem of a badly broken graph in one pass', () => {
    const g = graph(
      [
        { id: 'a', type: 'test.const', params: { value: 'x' } },
        { id: 'b', type: 'nope.node' },
        { id: 's', type: 'test.add', params: { extra: 1 } },
      ],
      ['a.value->s.a', 'a.value->s.a'],
    );
    expect(new Set(codes(g))).toEqual(new Set(['invalid-param', 'unknown-node-type', 'unknown-param', 'input-fed-twice', 'missing-input']));
    for (const issue of issuesOf(g)) {
      expect(issue.path.startsWith('$')).toBe(true);
      expect(issue.message).not.toMatch(/\n\s+at /); // no stack traces
    }
  });
});
