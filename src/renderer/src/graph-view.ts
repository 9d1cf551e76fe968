/**
 * Turns a graph document (as read from disk: unchecked JSON) and the node catalogue into what
 * the canvas draws. Lenient on purpose: a broken or foreign graph is drawn as far as it can be,
 * with its problems listed, never thrown.
 */
import type { Catalogue, NodeTypeInfo } from '../../shared/catalogue.ts';

export const UNKNOWN_SOCKET_COLOR = '#9ca3af';
export const MISSING_COLOR = '#ef4444';

export interface HandleView {
  id: string;
  label: string;
  /** Socket type, when known. */
  type?: string;
  color: string;
  optional?: boolean;
  /** Referenced by an edge but not declared by the node type (or the type is missing). */
  unknown?: boolean;
}

export interface ParamView {
  key: string;
  label: string;
  value: string;
  /** Not set in the file: the catalogue default is shown. */
  isDefault: boolean;
}

export type StudioNodeData = {
  nodeId: string;
  nodeType: string;
  title: string;
  category?: string;
  missing: boolean;
  inputs: HandleView[];
  outputs: HandleView[];
  params: ParamView[];
};

export interface FlowNodeView {
  id: string;
  type: 'studio';
  position: { x: number; y: number };
  data: StudioNodeData;
}

export interface FlowEdgeView {
  id: string;
  source: string;
  target: string;
  sourceHandle: string;
  targetHandle: string;
  style: { stroke: string; strokeWidth: number };
  data: { socketType?: string };
}

export interface GraphView {
  name: string;
  description?: string;
  nodes: FlowNodeView[];
  edges: FlowEdgeView[];
  /** Problems found while drawing (the engine's `validate` gives the authoritative list). */
  problems: string[];
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function formatValue(value: unknown, max = 48): string {
  let text: string;
  if (typeof value === 'string') text = JSON.stringify(value);
  else if (value === undefined) text = '—';
  else {
    try {
      text = JSON.stringify(value) ?? String(value);
    } catch {
      text = String(value);
    }
  }
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

export function buildGraphView(doc: unknown, catalogue: Catalogue | null, fallbackName = 'graph'): GraphView {
  const problems: string[] = [];
  const types = new Map<string, NodeTypeInfo>((catalogue?.nodes ?? []).map((n) => [n.type, n]));
  const socketColor = (t: string | undefined) => (t && catalogue?.sockets[t]?.color) || UNKNOWN_SOCKET_COLOR;

  if (!isRecord(doc)) {
    return { name: fallbackName, nodes: [], edges: [], problems: ['the file is not a JSON object'] };
  }
  const meta = isRecord(doc.meta) ? doc.meta : {};
  const name = typeof meta.name === 'string' && meta.name ? meta.name : fallbackName;
  const description = typeof meta.description === 'string' ? meta.description : undefined;
  if (doc.format !== 'steer-graph') problems.push(`"format" is ${JSON.stringify(doc.format)}, expected "steer-graph"`);

  const rawNodes = Array.isArray(doc.nodes) ? doc.nodes : [];
  const rawEdges = Array.isArray(doc.edges) ? doc.edges : [];
  if (!Array.isArray(doc.nodes)) problems.push('"nodes" is not a list');

  const nodes = new Map<string, FlowNodeView>();
  rawNodes.forEach((raw, index) => {
    if (!isRecord(raw) || typeof raw.id !== 'string' || raw.id === '') {
      problems.push(`nodes[${index}] has no id and is not drawn`);
      return;
    }
    if (nodes.has(raw.id)) {
      problems.push(`node id "${raw.id}" is used twice; only the first is drawn`);
      return;
    }
    const nodeType = typeof raw.type === 'string' ? raw.type : '';
    const info = types.get(nodeType);
    const pos = isRecord(raw.position) ? raw.position : {};
    const position = {
      x: typeof pos.x === 'number' && Number.isFinite(pos.x) ? pos.x : (index % 4) * 320,
      y: typeof pos.y === 'number' && Number.isFinite(pos.y) ? pos.y : Math.floor(index / 4) * 260,
    };
    const values = isRecord(raw.params) ? raw.params : {};
    const params: ParamView[] = [];
    if (info) {
      for (const [key, ui] of Object.entries(info.params)) {
        const set = Object.prototype.hasOwnProperty.call(values, key);
        params.push({ key, label: ui.label, value: formatValue(set ? values[key] : ui.default), isDefault: !set });
      }
    }
    for (const [key, value] of Object.entries(values)) {
      if (!info?.params[key]) params.push({ key, label: key, value: formatValue(value), isDefault: false });
    }
    if (!info) problems.push(`node "${raw.id}": missing node type "${nodeType || '(none)'}"`);
    const title = typeof raw.title === 'string' && raw.title ? raw.title : info?.title ?? (nodeType || raw.id);
    nodes.set(raw.id, {
      id: raw.id,
      type: 'studio',
      position,
      data: {
        nodeId: raw.id,
        nodeType,
        title,
        category: info?.category,
        missing: !info,
        inputs: (info?.inputs ?? []).map((s) => ({ id: s.id, label: s.label, type: s.type, color: socketColor(s.type), optional: s.optional })),
        outputs: (info?.outputs ?? []).map((s) => ({ id: s.id, label: s.label, type: s.type, color: socketColor(s.type) })),
        params,
      },
    });
  });

  const edges: FlowEdgeView[] = [];
  const edgeIds = new Set<string>();
  rawEdges.forEach((raw, index) => {
    const from = isRecord(raw) && isRecord(raw.from) ? raw.from : undefined;
    const to = isRecord(raw) && isRecord(raw.to) ? raw.to : undefined;
    if (!from || !to || typeof from.node !== 'string' || typeof from.output !== 'string' || typeof to.node !== 'string' || typeof to.input !== 'string') {
      problems.push(`edges[${index}] is malformed and is not drawn`);
      return;
    }
    const source = nodes.get(from.node);
    const target = nodes.get(to.node);
    if (!source || !target) {
      problems.push(`edges[${index}] connects a node that does not exist ("${!source ? from.node : to.node}")`);
      return;
    }
    const out = ensureHandle(source.data.outputs, from.output, source.data, problems);
    ensureHandle(target.data.inputs, to.input, target.data, problems);
    let id = isRecord(raw) && typeof raw.id === 'string' && raw.id ? raw.id : `e${index}`;
    if (edgeIds.has(id)) id = `${id}#${index}`;
    edgeIds.add(id);
    edges.push({
      id,
      source: from.node,
      target: to.node,
      sourceHandle: from.output,
      targetHandle: to.input,
      style: { stroke: out.color, strokeWidth: 2 },
      data: { socketType: out.type },
    });
  });

  return { name, description, nodes: [...nodes.values()], edges, problems };
}

/** The handle an edge refers to; added (grey, flagged) when the node type does not declare it, so the edge still draws. */
function ensureHandle(list: HandleView[], id: string, node: StudioNodeData, problems: string[]): HandleView {
  const found = list.find((h) => h.id === id);
  if (found) return found;
  if (!node.missing) problems.push(`node "${node.nodeId}" (${node.nodeType}) has no socket "${id}"`);
  const h: HandleView = { id, label: id, color: node.missing ? MISSING_COLOR : UNKNOWN_SOCKET_COLOR, unknown: true };
  list.push(h);
  return h;
}
