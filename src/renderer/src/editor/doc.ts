/**
 * The document the editor edits: a graph file (docs/GRAPH_FORMAT.md) held as plain data, so
 * immer can patch it (undo/redo) and saving is just serialising it. Opening is lenient: any
 * JSON is turned into the best document it can be, with what was dropped listed, never thrown;
 * unknown node types stay (drawn as missing) so nothing is lost on save.
 */
import type { Catalogue, NodeTypeInfo } from '../../../shared/catalogue.ts';
import { GRAPH_FORMAT, GRAPH_VERSION, type GraphEdge, type GraphMeta, type GraphNode } from '../../../shared/graph.ts';

export type DocNode = GraphNode;
export type DocEdge = GraphEdge;

export interface EditorDoc {
  format: typeof GRAPH_FORMAT;
  version: typeof GRAPH_VERSION;
  meta: GraphMeta;
  nodes: DocNode[];
  edges: DocEdge[];
}

export interface OpenedDoc {
  doc: EditorDoc;
  /** What could not be kept (malformed entries); the engine's validation lists the rest. */
  problems: string[];
}

const ID_RE = /^[A-Za-z0-9_-]{1,64}$/;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The name of a new graph until it is saved. */
export const UNTITLED = 'Untitled';

export function emptyDoc(name = UNTITLED): EditorDoc {
  return { format: GRAPH_FORMAT, version: GRAPH_VERSION, meta: { name }, nodes: [], edges: [] };
}

/** Reads any JSON into a document. Node and edge ids that are unusable are replaced. */
export function docFromJson(json: unknown, catalogue: Catalogue | null, fallbackName = 'Untitled'): OpenedDoc {
  const problems: string[] = [];
  if (!isRecord(json)) return { doc: emptyDoc(fallbackName), problems: ['the file is not a JSON object'] };
  if (json.format !== GRAPH_FORMAT) problems.push(`"format" is ${JSON.stringify(json.format)}, expected "${GRAPH_FORMAT}"`);
  const meta: GraphMeta = isRecord(json.meta) ? { ...json.meta } : {};
  if (typeof meta.name !== 'string' || meta.name === '') meta.name = fallbackName;
  const types = catalogueIndex(catalogue);
  const nodes: DocNode[] = [];
  const ids = new Set<string>();
  const rawNodes = Array.isArray(json.nodes) ? json.nodes : [];
  if (!Array.isArray(json.nodes)) problems.push('"nodes" is not a list');
  rawNodes.forEach((raw, index) => {
    if (!isRecord(raw)) {
      problems.push(`nodes[${index}] is not an object and was dropped`);
      return;
    }
    let id = typeof raw.id === 'string' ? raw.id : '';
    if (!ID_RE.test(id) || ids.has(id)) {
      const fresh = uniqueId(ids, 'n');
      problems.push(`nodes[${index}] had ${id ? `the id "${id}" (unusable or repeated)` : 'no id'}; it is now "${fresh}"`);
      id = fresh;
    }
    ids.add(id);
    const type = typeof raw.type === 'string' ? raw.type : '';
    const info = types[type];
    const pos = isRecord(raw.position) ? raw.position : {};
    const num = (v: unknown, d: number) => (typeof v === 'number' && Number.isFinite(v) ? v : d);
    nodes.push({
      id,
      type,
      typeVersion: typeof raw.typeVersion === 'number' ? raw.typeVersion : (info?.version ?? 1),
      ...(typeof raw.title === 'string' && raw.title !== '' ? { title: raw.title } : {}),
      params: isRecord(raw.params) ? { ...raw.params } : {},
      position: { x: num(pos.x, (index % 4) * 320), y: num(pos.y, Math.floor(index / 4) * 260) },
    });
  });
  const edges: DocEdge[] = [];
  const edgeIds = new Set<string>();
  const rawEdges = Array.isArray(json.edges) ? json.edges : [];
  rawEdges.forEach((raw, index) => {
    const from = isRecord(raw) && isRecord(raw.from) ? raw.from : undefined;
    const to = isRecord(raw) && isRecord(raw.to) ? raw.to : undefined;
    if (!from || !to || typeof from.node !== 'string' || typeof from.output !== 'string' || typeof to.node !== 'string' || typeof to.input !== 'string') {
      problems.push(`edges[${index}] is malformed and was dropped`);
      return;
    }
    if (!ids.has(from.node) || !ids.has(to.node)) {
      problems.push(`edges[${index}] connects a node that does not exist ("${!ids.has(from.node) ? from.node : to.node}") and was dropped`);
      return;
    }
    let id = isRecord(raw) && typeof raw.id === 'string' ? raw.id : '';
    if (!ID_RE.test(id) || edgeIds.has(id)) id = uniqueId(edgeIds, 'e');
    edgeIds.add(id);
    edges.push({ id, from: { node: from.node, output: from.output }, to: { node: to.node, input: to.input } });
  });
  return { doc: { format: GRAPH_FORMAT, version: GRAPH_VERSION, meta, nodes, edges }, problems };
}

/** Catalogue entries by type id (no prototype, so a type named "constructor" is not found by accident). */
export function catalogueIndex(catalogue: Catalogue | null): Record<string, NodeTypeInfo> {
  const index = Object.create(null) as Record<string, NodeTypeInfo>;
  for (const n of catalogue?.nodes ?? []) index[n.type] = n;
  return index;
}

/** `prefix` followed by the smallest number not yet in `taken`. */
export function uniqueId(taken: ReadonlySet<string>, prefix: string): string {
  const base = prefix.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 48) || 'n';
  for (let i = 1; ; i++) {
    const id = `${base}${i}`;
    if (!taken.has(id)) return id;
  }
}

/** The id prefix for a new node of a type: its name part ("diffusion.sample" -> "sample"). */
export function idPrefix(type: string): string {
  return (type.split('.').pop() ?? type).replace(/[^A-Za-z0-9_-]/g, '_') || 'node';
}

/** A new node of a catalogue type, with every param at its default. */
export function newNode(info: NodeTypeInfo, position: { x: number; y: number }, taken: ReadonlySet<string>): DocNode {
  const params: Record<string, unknown> = {};
  for (const [key, ui] of Object.entries(info.params)) params[key] = structuredClone(ui.default);
  return { id: uniqueId(taken, idPrefix(info.type)), type: info.type, typeVersion: info.version, params, position: { ...position } };
}


/**
 * A frame: a titled box drawn behind nodes to group them. Frames live in the file's free-form
 * `meta` (as `meta.frames`), so the engine ignores them and every tool keeps them.
 */
export interface Frame {
  id: string;
  title: string;
  x: number;
  y: number;
  width: number;
  height: number;
}

/** The frames of a document; malformed entries are skipped (they stay in the file as they are). */
export function framesOf(doc: EditorDoc): Frame[] {
  const raw = doc.meta.frames;
  if (!Array.isArray(raw)) return [];
  return raw.filter(
    (f): f is Frame =>
      isRecord(f) && typeof f.id === 'string' && typeof f.title === 'string' && [f.x, f.y, f.width, f.height].every((v) => typeof v === 'number' && Number.isFinite(v)),
  );
}

export const FRAME_PREFIX = 'frame:';

/**
 * Reroute points: where a link bends on its way, per edge id, kept in `meta.reroutes` (the
 * engine ignores them). Malformed entries are skipped.
 */
export type Reroutes = Record<string, { x: number; y: number }[]>;

export function reroutesOf(doc: EditorDoc): Reroutes {
  const raw = doc.meta.reroutes;
  if (!isRecord(raw)) return {};
  const out: Reroutes = {};
  for (const [edge, list] of Object.entries(raw)) {
    if (!Array.isArray(list)) continue;
    const pts = list.filter((p): p is { x: number; y: number } => isRecord(p) && typeof p.x === 'number' && typeof p.y === 'number');
    if (pts.length > 0) out[edge] = pts;
  }
  return out;
}

/**
 * Per-node editor state, kept in `meta.nodeUi` by node id (the engine ignores it, every tool
 * keeps it): the size of the node's on-canvas preview, the params it shows as inputs.
 */
export interface NodeUi {
  preview?: { width: number; height: number };
  /** Params shown as input sockets (editor/param-inputs.ts). */
  inputs?: string[];
}

export const PREVIEW_LIMITS = { minWidth: 200, maxWidth: 1200, minHeight: 60, maxHeight: 1200 } as const;

/** The raw `meta.nodeUi` entry of a node (the same object while it is unchanged, so it can be a store selector's result). */
export function nodeUiEntry(doc: EditorDoc | null, id: string): unknown {
  const all = doc?.meta.nodeUi;
  return isRecord(all) ? all[id] : undefined;
}

/** The preview size an entry holds, when it holds a usable one. */
export function previewSizeOf(entry: unknown): { width: number; height: number } | undefined {
  const p = isRecord(entry) ? entry.preview : undefined;
  if (!isRecord(p) || typeof p.width !== 'number' || typeof p.height !== 'number' || !Number.isFinite(p.width) || !Number.isFinite(p.height)) return undefined;
  return { width: clampPreview(p.width, 'width'), height: clampPreview(p.height, 'height') };
}

export function clampPreview(v: number, axis: 'width' | 'height'): number {
  const [lo, hi] = axis === 'width' ? [PREVIEW_LIMITS.minWidth, PREVIEW_LIMITS.maxWidth] : [PREVIEW_LIMITS.minHeight, PREVIEW_LIMITS.maxHeight];
  return Math.round(Math.min(hi, Math.max(lo, v)));
}
