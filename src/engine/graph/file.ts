/**
 * Reading and writing graph files. Saving uses one canonical layout (key order, 2-space
 * indent, trailing newline) so that load -> save is byte-stable for every file we write.
 */
import { readFile } from 'node:fs/promises';
import type { GraphFile, GraphIssue } from '../../shared/graph.ts';
import { writeFileAtomic } from '../util/fs.ts';
import type { NodeRegistry } from './registry.ts';
import { validateGraph } from './validate.ts';

export class GraphFileError extends Error {
  constructor(message: string, readonly file: string, readonly issues: GraphIssue[] = []) {
    super(message);
    this.name = 'GraphFileError';
  }
}

/** Read JSON from a file, with the file name and position in every error. */
export async function readGraphJson(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new GraphFileError(code === 'ENOENT' ? `${file}: no such file` : `${file}: cannot read (${code ?? String(err)})`, file);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new GraphFileError(`${file}: not valid JSON (${(err as Error).message})`, file);
  }
}

/** Read, migrate and validate a graph file. Throws GraphFileError listing every problem. */
export async function loadGraph(file: string, registry: NodeRegistry): Promise<GraphFile> {
  const doc = await readGraphJson(file);
  const result = validateGraph(doc, registry);
  if (!result.ok) {
    throw new GraphFileError(`${file}: ${result.issues.length} problem${result.issues.length > 1 ? 's' : ''} in the graph`, file, result.issues);
  }
  return result.graph;
}

/** The canonical text of a graph file. */
export function serializeGraph(graph: GraphFile): string {
  const ordered = {
    format: graph.format,
    version: graph.version,
    meta: graph.meta,
    nodes: graph.nodes.map((n) => ({
      id: n.id,
      type: n.type,
      typeVersion: n.typeVersion,
      ...(n.title !== undefined ? { title: n.title } : {}),
      params: n.params,
      position: { x: n.position.x, y: n.position.y },
    })),
    edges: graph.edges.map((e) => ({
      id: e.id,
      from: { node: e.from.node, output: e.from.output },
      to: { node: e.to.node, input: e.to.input },
    })),
  };
  return `${JSON.stringify(ordered, null, 2)}\n`;
}

export async function saveGraph(file: string, graph: GraphFile): Promise<void> {
  await writeFileAtomic(file, serializeGraph(graph));
}
