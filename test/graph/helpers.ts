import type { GraphFile } from '../../src/shared/graph.ts';

type N = { id: string; type: string; params?: Record<string, unknown>; typeVersion?: number };

/** Build a graph document; edges as "from.output->to.input". */
export function graph(nodes: N[], edges: string[] = []): GraphFile {
  return {
    format: 'steer-graph',
    version: 1,
    meta: {},
    nodes: nodes.map((n, i) => ({ id: n.id, type: n.type, typeVersion: n.typeVersion ?? 1, params: n.params ?? {}, position: { x: i * 200, y: 0 } })),
    edges: edges.map((e, i) => {
      const [from, to] = e.split('->') as [string, string];
      const [fn, fo] = from.split('.') as [string, string];
      const [tn, ti] = to.split('.') as [string, string];
      return { id: `e${i}`, from: { node: fn, output: fo }, to: { node: tn, input: ti } };
    }),
  };
}
