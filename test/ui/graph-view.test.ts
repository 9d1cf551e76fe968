import { describe, expect, it } from 'vitest';
import { buildGraphView, MISSING_COLOR, UNKNOWN_SOCKET_COLOR } from '../../src/renderer/src/graph-view.ts';
import { MISSING_TYPE_GRAPH, RUNNABLE_GRAPH, testRegistry } from './helpers.ts';

const catalogue = testRegistry().catalogue();

describe('renderer: graph -> canvas view', () => {
  it('draws nodes with catalogue sockets, colours and params; edges by socket id', () => {
    const v = buildGraphView(RUNNABLE_GRAPH, catalogue, 'file');
    expect(v.name).toBe('Parse a prompt');
    expect(v.problems).toEqual([]);
    const parse = v.nodes.find((n) => n.id === 'parse')!;
    expect(parse.data.title).toBe('Prompt Parse');
    expect(parse.data.missing).toBe(false);
    expect(parse.data.inputs.map((h) => h.id)).toEqual(['text']);
    expect(parse.data.outputs).toMatchObject([{ id: 'prompt', type: 'PROMPT', color: catalogue.sockets.PROMPT!.color }]);
    expect(parse.data.params).toMatchObject([{ key: 'text', label: 'Prompt', value: '"unused"', isDefault: false }]);
    expect(v.nodes.find((n) => n.id === 'text')!.data.title).toBe('Prompt text');
    expect(v.edges).toEqual([
      expect.objectContaining({ id: 'e1', source: 'text', sourceHandle: 'text', target: 'parse', targetHandle: 'text', style: { stroke: catalogue.sockets.STRING!.color, strokeWidth: 2 } }),
    ]);
  });

  it('draws an unknown node type as missing, with the handles its edges use', () => {
    const v = buildGraphView(MISSING_TYPE_GRAPH, catalogue);
    const ghost = v.nodes.find((n) => n.id === 'ghost')!;
    expect(ghost.data.missing).toBe(true);
    expect(ghost.data.title).toBe('Ghost');
    expect(ghost.data.inputs).toEqual([{ id: 'prompt', label: 'prompt', color: MISSING_COLOR, unknown: true }]);
    expect(ghost.data.params).toMatchObject([{ key: 'strength', value: '0.5' }]);
    expect(v.edges).toHaveLength(1);
    expect(v.problems).toEqual(['node "ghost": missing node type "vendor.ghost-node"']);
  });

  it('never throws on broken documents', () => {
    expect(buildGraphView(null, catalogue).problems).toEqual(['the file is not a JSON object']);
    const v = buildGraphView(
      {
        format: 'steer-graph',
        nodes: [{ id: 'a', type: 'prompt.parse' }, { nope: 1 }, { id: 'a', type: 'x.y' }],
        edges: [{ from: { node: 'a', output: 'bogus' }, to: { node: 'zz', input: 'q' } }, { from: { node: 'a', output: 'weird' }, to: { node: 'a', input: 'text' } }, 5],
      },
      null,
    );
    expect(v.nodes).toHaveLength(1);
    expect(v.nodes[0]!.data.missing).toBe(true); // no catalogue yet
    expect(v.nodes[0]!.position).toEqual({ x: 0, y: 0 });
    expect(v.edges).toHaveLength(1);
    expect(v.edges[0]!.style.stroke).toBe(MISSING_COLOR);
    expect(v.problems.length).toBeGreaterThanOrEqual(4);
    const known = buildGraphView({ format: 'steer-graph', nodes: [{ id: 'a', type: 'prompt.parse' }], edges: [{ id: 'x', from: { node: 'a', output: 'nope' }, to: { node: 'a', input: 'text' } }] }, catalogue);
    expect(known.nodes[0]!.data.outputs.find((h) => h.id === 'nope')).toMatchObject({ unknown: true, color: UNKNOWN_SOCKET_COLOR });
    expect(known.nodes[0]!.data.params[0]).toMatchObject({ isDefault: true });
  });
});
