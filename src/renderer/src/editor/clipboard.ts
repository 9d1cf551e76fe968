/**
 * Copy and paste as graph JSON (the file format itself), so a selection copied in one tab or
 * window pastes into another, and into a text editor. The links between copied nodes travel
 * with them; links to nodes left behind do not. Pasted nodes get fresh ids.
 */
import { GRAPH_FORMAT, GRAPH_VERSION } from '../../../shared/graph.ts';
import { docFromJson, idPrefix, uniqueId, type DocEdge, type DocNode, type EditorDoc } from './doc.ts';

export function copySelection(doc: EditorDoc, ids: ReadonlySet<string>): string | undefined {
  const nodes = doc.nodes.filter((n) => ids.has(n.id));
  if (nodes.length === 0) return undefined;
  const edges = doc.edges.filter((e) => ids.has(e.from.node) && ids.has(e.to.node));
  return JSON.stringify({ format: GRAPH_FORMAT, version: GRAPH_VERSION, meta: { name: 'copied nodes' }, nodes, edges }, null, 2);
}

/**
 * Nodes and edges ready to add to `doc`: fresh ids, placed so their top-left corner is at
 * `at` (or offset from where they were). Undefined when `text` is not graph JSON.
 */
export function preparePaste(doc: EditorDoc, text: string, at?: { x: number; y: number }): { nodes: DocNode[]; edges: DocEdge[] } | undefined {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof json !== 'object' || json === null || (json as { format?: unknown }).format !== GRAPH_FORMAT) return undefined;
  const { doc: incoming } = docFromJson(json, null);
  if (incoming.nodes.length === 0) return undefined;
  const taken = new Set(doc.nodes.map((n) => n.id));
  const edgeIds = new Set(doc.edges.map((e) => e.id));
  const minX = Math.min(...incoming.nodes.map((n) => n.position.x));
  const minY = Math.min(...incoming.nodes.map((n) => n.position.y));
  const dx = at ? at.x - minX : 40;
  const dy = at ? at.y - minY : 40;
  const rename = new Map<string, string>();
  const nodes = incoming.nodes.map((n) => {
    const id = taken.has(n.id) ? uniqueId(taken, idPrefix(n.type)) : n.id;
    taken.add(id);
    rename.set(n.id, id);
    return { ...n, id, position: { x: n.position.x + dx, y: n.position.y + dy } };
  });
  const edges = incoming.edges.map((e) => {
    const id = uniqueId(edgeIds, 'e');
    edgeIds.add(id);
    return { id, from: { node: rename.get(e.from.node)!, output: e.from.output }, to: { node: rename.get(e.to.node)!, input: e.to.input } };
  });
  return { nodes, edges };
}
