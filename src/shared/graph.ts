/**
 * Graph file format, version 1 (see docs/GRAPH_FORMAT.md). These are the plain types of a file
 * on disk; src/engine/graph/schema.ts holds the zod schema that checks them and
 * src/engine/graph/migrate.ts upgrades older versions.
 */
export const GRAPH_FORMAT = 'steer-graph';
export const GRAPH_VERSION = 1;

export interface GraphFile {
  format: typeof GRAPH_FORMAT;
  version: typeof GRAPH_VERSION;
  meta: GraphMeta;
  nodes: GraphNode[];
  edges: GraphEdge[];
}

export interface GraphMeta {
  name?: string;
  description?: string;
  [key: string]: unknown;
}

export interface GraphNode {
  /** Unique within the graph; referenced by edges, `--set` and events. */
  id: string;
  /** Node type id from the catalogue, e.g. "prompt.parse". */
  type: string;
  /** Version of the node type the params were written for. */
  typeVersion: number;
  title?: string;
  params: Record<string, unknown>;
  position: { x: number; y: number };
}

export interface GraphEdge {
  id: string;
  from: { node: string; output: string };
  to: { node: string; input: string };
}

/** One problem found in a graph: where it is and what to do, never a stack trace. */
export interface GraphIssue {
  /** Machine-readable kind, e.g. "unknown-node-type", "cycle", "missing-input". */
  code: string;
  /** The node the problem belongs to, when there is one. */
  nodeId?: string;
  /** JSON path into the file, e.g. "$.nodes[2].params.steps". */
  path: string;
  /** A sentence a user understands. */
  message: string;
}
