/**
 * Graph validation: structure (zod), node types and params, sockets and edges, required
 * inputs, cycles. Every problem is reported at once, each with the node id, a JSON path and a
 * sentence a user understands. Valid documents come back migrated and with parsed params.
 */
import type { AnyNodeDefinition } from '../../nodes/api.ts';
import type { GraphEdge, GraphFile, GraphIssue, GraphNode } from '../../shared/graph.ts';
import { GRAPH_FORMAT, GRAPH_VERSION } from '../../shared/graph.ts';
import { canConnect, PARAM_INPUT_PREFIX, paramKindSocketType } from '../../shared/sockets.ts';
import { MigrationError, migrateGraph } from './migrate.ts';
import { findCycles } from './order.ts';
import type { NodeRegistry } from './registry.ts';
import { edgeSchema, headerSchema, nodeSchema, typeName, zodProblems } from './schema.ts';

/** zod omits the offending value from issues unless asked; messages quote it. */
const REPORT_INPUT = { reportInput: true } as const;

export type ValidationResult =
  | { ok: true; graph: GraphFile; issues: []; migratedFrom?: number }
  | { ok: false; issues: GraphIssue[] };

export function validateGraph(input: unknown, registry: NodeRegistry): ValidationResult {
  const issues: GraphIssue[] = [];
  const add = (code: string, path: string, message: string, nodeId?: string) =>
    issues.push({ code, path, message, ...(nodeId !== undefined ? { nodeId } : {}) });

  let doc: unknown;
  let from: number | undefined;
  try {
    ({ doc, from } = migrateGraph(input));
  } catch (err) {
    if (err instanceof MigrationError) return { ok: false, issues: [{ code: 'migration-failed', path: err.path, message: err.message }] };
    throw err;
  }

  if (doc === undefined) return { ok: false, issues: [{ code: 'not-a-graph', path: '$', message: 'no graph was given' }] };
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    return { ok: false, issues: [{ code: 'not-a-graph', path: '$', message: `a graph file is a JSON object with "format": "${GRAPH_FORMAT}", got ${typeName(doc)}` }] };
  }
  const raw = doc as Record<string, unknown>;
  if (typeof raw.version === 'number' && raw.version > GRAPH_VERSION) {
    return { ok: false, issues: [{ code: 'newer-version', path: '$.version', message: `this graph was saved by a newer Steer Studio (format version ${raw.version}; this one reads up to ${GRAPH_VERSION}): update the app` }] };
  }
  const header = headerSchema.safeParse(raw, REPORT_INPUT);
  if (!header.success) {
    for (const p of zodProblems(header.error, '$')) add('invalid-structure', p.path, `${p.path.slice(2) || 'document'} ${p.message}`);
    // Without node and edge arrays nothing else can be checked.
    if (!Array.isArray(raw.nodes) || !Array.isArray(raw.edges)) return { ok: false, issues };
  }

  // --- nodes: shape, ids, types, params ---
  const nodes: GraphNode[] = [];
  const nodeIndex = new Map<string, number>();
  const defs = new Map<string, AnyNodeDefinition>();
  (raw.nodes as unknown[]).forEach((n, i) => {
    const path = `$.nodes[${i}]`;
    const parsed = nodeSchema.safeParse(n, REPORT_INPUT);
    const nodeId = typeof (n as { id?: unknown })?.id === 'string' ? (n as { id: string }).id : undefined;
    if (!parsed.success) {
      for (const p of zodProblems(parsed.error, path)) add('invalid-node', p.path, `node${nodeId ? ` "${nodeId}"` : ` #${i}`}: ${p.path.slice(path.length + 1) || 'node'} ${p.message}`, nodeId);
      return;
    }
    const node = { ...parsed.data, params: { ...parsed.data.params } } as GraphNode;
    if (nodeIndex.has(node.id)) {
      add('duplicate-node-id', `${path}.id`, `node id "${node.id}" is used by nodes #${nodeIndex.get(node.id)} and #${i}; ids must be unique`, node.id);
      return;
    }
    nodeIndex.set(node.id, i);
    nodes.push(node);
    const def = registry.get(node.type);
    if (!def) {
      add('unknown-node-type', `${path}.type`, `node "${node.id}" has unknown type "${node.type}"${suggest(node.type, registry.types())}; is a plugin missing?`, node.id);
      return;
    }
    defs.set(node.id, def);
    checkParams(node, def, path, add);
  });

  // --- edges ---
  const edges: GraphEdge[] = [];
  const edgeIds = new Set<string>();
  const fedInputs = new Map<string, number>(); // "node\0input" -> edge index
  (raw.edges as unknown[]).forEach((e, i) => {
    const path = `$.edges[${i}]`;
    const parsed = edgeSchema.safeParse(e, REPORT_INPUT);
    if (!parsed.success) {
      for (const p of zodProblems(parsed.error, path)) add('invalid-edge', p.path, `edge #${i}: ${p.path.slice(path.length + 1) || 'edge'} ${p.message}`);
      return;
    }
    const edge = parsed.data;
    if (edgeIds.has(edge.id)) add('duplicate-edge-id', `${path}.id`, `edge id "${edge.id}" is used twice; ids must be unique`);
    edgeIds.add(edge.id);
    let ok = true;
    const fromDef = defs.get(edge.from.node);
    const toDef = defs.get(edge.to.node);
    if (!nodeIndex.has(edge.from.node)) {
      add('unknown-edge-node', `${path}.from.node`, `edge "${edge.id}" comes from node "${edge.from.node}", which is not in the graph`);
      ok = false;
    }
    if (!nodeIndex.has(edge.to.node)) {
      add('unknown-edge-node', `${path}.to.node`, `edge "${edge.id}" goes to node "${edge.to.node}", which is not in the graph`);
      ok = false;
    }
    const out = fromDef?.outputs.find((s) => s.id === edge.from.output);
    const paramKey = edge.to.input.startsWith(PARAM_INPUT_PREFIX) ? edge.to.input.slice(PARAM_INPUT_PREFIX.length) : undefined;
    const paramSpec = paramKey !== undefined ? toDef?.params[paramKey] : undefined;
    const paramType = paramSpec ? paramKindSocketType(paramSpec.ui.kind) : undefined;
    // a param fed by an edge (widget-to-input) is an input of the param's socket type
    const inp = paramType ? { id: edge.to.input, type: paramType } : toDef?.inputs.find((s) => s.id === edge.to.input);
    if (toDef && paramKey !== undefined && !paramType) {
      add(
        'unknown-input',
        `${path}.to.input`,
        paramSpec
          ? `edge "${edge.id}": param "${paramKey}" of node "${edge.to.node}" (${toDef.title}) is a ${paramSpec.ui.kind} param, which cannot be fed by an edge`
          : `edge "${edge.id}": node "${edge.to.node}" (${toDef.title}) has no param "${paramKey}" to feed; its params are ${list(Object.keys(toDef.params))}`,
        edge.to.node,
      );
      ok = false;
    }
    if (fromDef && !out) {
      add('unknown-output', `${path}.from.output`, `edge "${edge.id}": node "${edge.from.node}" (${fromDef.title}) has no output "${edge.from.output}"; its outputs are ${list(fromDef.outputs.map((s) => s.id))}`, edge.from.node);
      ok = false;
    }
    if (toDef && !inp && paramKey === undefined) {
      add('unknown-input', `${path}.to.input`, `edge "${edge.id}": node "${edge.to.node}" (${toDef.title}) has no input "${edge.to.input}"; its inputs are ${list(toDef.inputs.map((s) => s.id))}`, edge.to.node);
      ok = false;
    }
    if (out && inp) {
      const c = canConnect(out.type, inp.type);
      if (!c.ok) {
        add('socket-type-mismatch', path, `edge "${edge.id}" from "${edge.from.node}".${out.id} to "${edge.to.node}".${inp.id}: ${c.reason}`, edge.to.node);
        ok = false;
      }
    }
    const key = `${edge.to.node}\0${edge.to.input}`;
    const prior = fedInputs.get(key);
    if (prior !== undefined) {
      add('input-fed-twice', `${path}.to`, `input "${edge.to.input}" of node "${edge.to.node}" is fed by two edges ($.edges[${prior}] and $.edges[${i}]); an input takes one edge`, edge.to.node);
      ok = false;
    } else fedInputs.set(key, i);
    if (ok) edges.push(edge);
  });

  // --- required inputs ---
  for (const node of nodes) {
    const def = defs.get(node.id);
    if (!def) continue;
    for (const s of def.inputs) {
      if (!s.optional && !fedInputs.has(`${node.id}\0${s.id}`)) {
        add('missing-input', `$.nodes[${nodeIndex.get(node.id)}]`, `node "${node.id}" (${def.title}) needs its input "${s.id}" (${s.type}) connected`, node.id);
      }
    }
  }

  // --- cycles ---
  // Every elementary cycle is overkill: one per group of nodes that form cycles.
  for (const cycle of findCycles(nodes.map((n) => n.id), edges.map((e) => [e.from.node, e.to.node] as const))) {
    add('cycle', `$.nodes[${nodeIndex.get(cycle[0]!)}]`, `nodes form a cycle: ${cyclePath(cycle)}; graphs must flow one way`, cycle[0]);
  }

  if (issues.length > 0) return { ok: false, issues };
  const graph: GraphFile = {
    format: GRAPH_FORMAT,
    version: GRAPH_VERSION,
    meta: (raw.meta ?? {}) as GraphFile['meta'],
    nodes,
    edges,
  };
  return { ok: true, graph, issues: [], ...(from !== undefined && from < GRAPH_VERSION ? { migratedFrom: from } : {}) };
}

function checkParams(
  node: GraphNode,
  def: AnyNodeDefinition,
  path: string,
  add: (code: string, path: string, message: string, nodeId?: string) => void,
): void {
  const where = `node "${node.id}" (${def.title})`;
  if (node.typeVersion > def.version) {
    add('newer-node-version', `${path}.typeVersion`, `${where} was saved with version ${node.typeVersion} of "${def.type}", this app has version ${def.version}: update the app`, node.id);
    return;
  }
  if (node.typeVersion < def.version) {
    if (!def.migrate) {
      add('node-version-unsupported', `${path}.typeVersion`, `${where} was saved with version ${node.typeVersion} of "${def.type}", which cannot be upgraded to version ${def.version}`, node.id);
      return;
    }
    let params = node.params;
    for (let v = node.typeVersion; v < def.version; v++) params = def.migrate(v, params);
    node.params = params;
    node.typeVersion = def.version;
  }
  const known = Object.keys(def.params);
  for (const name of Object.keys(node.params)) {
    if (!(name in def.params)) {
      add('unknown-param', `${path}.params.${name}`, `${where} has no param "${name}"${suggest(name, known)}; its params are ${list(known)}`, node.id);
    }
  }
  for (const [name, spec] of Object.entries(def.params)) {
    const ppath = `${path}.params.${name}`;
    if (!(name in node.params)) {
      add('missing-param', ppath, `${where} is missing param "${name}" (${spec.ui.label}); its default is ${JSON.stringify(spec.ui.default)}`, node.id);
      continue;
    }
    const r = spec.schema.safeParse(node.params[name], REPORT_INPUT);
    if (!r.success) {
      const detail = [...new Set(zodProblems(r.error, '').map((p) => p.message))].join('; ');
      add('invalid-param', ppath, `${where}: param "${name}" (${spec.ui.label}) ${detail}`, node.id);
    } else node.params[name] = r.data;
  }
}

/** "a" -> "b" -> "a", shortened to its ends for long cycles. */
function cyclePath(cycle: string[]): string {
  const q = (ids: string[]) => ids.map((id) => `"${id}"`).join(' -> ');
  if (cycle.length <= 12) return q([...cycle, cycle[0]!]);
  return `${q(cycle.slice(0, 5))} -> ... (${cycle.length - 10} more) -> ${q([...cycle.slice(-5), cycle[0]!])} (${cycle.length} nodes)`;
}

function list(items: string[]): string {
  return items.length === 0 ? '(none)' : items.map((s) => `"${s}"`).join(', ');
}

/** ", did you mean "x"?" when a known name is within a small edit distance. */
export function suggest(name: string, known: string[]): string {
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const d = editDistance(name.toLowerCase(), k.toLowerCase());
    if (d < bestD) [best, bestD] = [k, d];
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(name.length / 3)) ? ` (did you mean "${best}"?)` : '';
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length]!;
}
