/**
 * Reading and writing graph files. Saving uses one canonical layout (key order, 2-space
 * indent, trailing newline) so that load -> save is byte-stable for every file we write.
 */
import { readFile, stat } from 'node:fs/promises';
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

/** Graph files are small; this cap keeps a mistaken multi-gigabyte file from exhausting memory. */
const MAX_GRAPH_BYTES = 256 * 1024 * 1024;

/** Read JSON from a file, with the file name and position in every error. */
export async function readGraphJson(file: string): Promise<unknown> {
  let text: string;
  try {
    // Only regular files: a device (/dev/zero) or a FIFO would be read forever or block.
    const st = await stat(file);
    if (st.isDirectory()) throw new GraphFileError(`${file}: is a folder, not a graph file`, file);
    if (!st.isFile()) throw new GraphFileError(`${file}: is not a regular file (a device, pipe or socket); graphs are .json files`, file);
    if (st.size > MAX_GRAPH_BYTES) throw new GraphFileError(`${file}: ${st.size} bytes is too large for a graph file (at most ${MAX_GRAPH_BYTES})`, file);
    text = await readFile(file, 'utf8');
  } catch (err) {
    if (err instanceof GraphFileError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new GraphFileError(code === 'ENOENT' ? `${file}: no such file` : `${file}: cannot read (${code ?? String(err)})`, file);
  }
  // Editors on Windows may start UTF-8 files with a byte-order mark; JSON.parse rejects it.
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
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
