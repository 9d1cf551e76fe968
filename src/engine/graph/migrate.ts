/**
 * Graph file migrations: each step upgrades a document from version N to N+1. Loading runs
 * every step from the file's version to the current one; saving always writes the current
 * version. Add a step here (and a fixture under test/fixtures/graphs/) whenever the format
 * changes; never edit an old step.
 */
import { GRAPH_FORMAT, GRAPH_VERSION } from '../../shared/graph.ts';

type Doc = Record<string, unknown>;

export class MigrationError extends Error {
  constructor(message: string, readonly path: string) {
    super(message);
  }
}

/**
 * v0: the pre-release layout: `{"version":0,"nodes":{"<id>":{"type","params","pos":[x,y]}},
 * "links":[[fromNode, fromOutput, toNode, toInput], ...]}`, node types unversioned.
 */
function v0ToV1(doc: Doc): Doc {
  const nodesIn = doc.nodes;
  if (typeof nodesIn !== 'object' || nodesIn === null || Array.isArray(nodesIn)) {
    throw new MigrationError('a version 0 graph keeps its nodes in an object keyed by node id', '$.nodes');
  }
  const nodes = Object.entries(nodesIn as Record<string, Doc>).map(([id, n]) => {
    if (typeof n !== 'object' || n === null || Array.isArray(n)) throw new MigrationError(`a version 0 node is an object with "type" and "params", got ${JSON.stringify(n)}`, `$.nodes[${JSON.stringify(id)}]`);
    const pos = Array.isArray(n.pos) ? n.pos : [0, 0];
    return {
      id,
      type: n.type,
      typeVersion: 1,
      ...(typeof n.title === 'string' ? { title: n.title } : {}),
      params: n.params ?? {},
      position: { x: Number(pos[0] ?? 0), y: Number(pos[1] ?? 0) },
    };
  });
  const linksIn = Array.isArray(doc.links) ? doc.links : [];
  const edges = linksIn.map((link: unknown, i: number) => {
    if (!Array.isArray(link) || link.length !== 4) {
      throw new MigrationError('a version 0 link is [fromNode, fromOutput, toNode, toInput]', `$.links[${i}]`);
    }
    const [fromNode, fromOutput, toNode, toInput] = link as string[];
    return { id: `e${i + 1}`, from: { node: fromNode, output: fromOutput }, to: { node: toNode, input: toInput } };
  });
  return { format: GRAPH_FORMAT, version: 1, meta: (doc.meta as Doc | undefined) ?? {}, nodes, edges };
}

const STEPS: Record<number, (doc: Doc) => Doc> = { 0: v0ToV1 };

/** Upgrade a parsed document to the current version. Returns the input when already current. */
export function migrateGraph(doc: unknown): { doc: unknown; from: number | undefined } {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return { doc, from: undefined };
  const d = doc as Doc;
  const version = d.version;
  if (typeof version !== 'number' || !Number.isInteger(version)) return { doc, from: undefined };
  if (version >= GRAPH_VERSION) return { doc, from: version };
  let current = d;
  for (let v = version; v < GRAPH_VERSION; v++) {
    const step = STEPS[v];
    if (!step) throw new MigrationError(`graph format version ${v} is not supported (oldest readable: ${Math.min(...Object.keys(STEPS).map(Number))})`, '$.version');
    current = step(current);
  }
  return { doc: current, from: version };
}
