/** Loading a graph file for the CLI: read, apply `--set` overrides, validate; user mistakes -> UsageError (exit 2). */
import { dirname, resolve } from 'node:path';
import { GraphFileError, readGraphJson } from '../engine/graph/file.ts';
import type { NodeRegistry } from '../engine/graph/registry.ts';
import { migrateGraph } from '../engine/graph/migrate.ts';
import { suggest, validateGraph } from '../engine/graph/validate.ts';
import type { GraphFile, GraphIssue } from '../shared/graph.ts';
import { UsageError } from './errors.ts';
import { issueInFlagTerms, setLabel, type CliSet } from './flags.ts';

export interface LoadedGraph {
  file: string;
  baseDir: string;
  graph: GraphFile;
}

/** The graph file is readable JSON but not a valid graph: carries every issue. */
export class InvalidGraphError extends UsageError {
  constructor(message: string, readonly issues: GraphIssue[]) {
    super(message, formatIssues(issues));
  }
}

/** Read `path`, apply the overrides (`--set` strings or flag-bound CliSets), validate. */
export async function loadGraphForCli(path: string, registry: NodeRegistry, sets: (string | CliSet)[] = []): Promise<LoadedGraph> {
  const file = resolve(path);
  let doc: unknown;
  try {
    doc = migrateGraph(await readGraphJson(file)).doc;
  } catch (err) {
    if (err instanceof GraphFileError) throw new UsageError(err.message);
    throw new UsageError(`${path}: ${(err as Error).message}`);
  }
  const cliSets = sets.map((s) => (typeof s === 'string' ? { assignment: s } : s));
  for (const s of cliSets) applySet(doc, s, registry);
  const r = validateGraph(doc, registry);
  if (!r.ok) {
    const issues = r.issues.map((i) => issueInFlagTerms(i, cliSets));
    // Only the user's flags are wrong: say so in their terms, not as problems of the graph file.
    if (issues.every((i) => i.path.startsWith('--'))) throw new UsageError(issues[0]!.message, issues.slice(1).map((i) => i.message));
    throw new InvalidGraphError(`${path}: ${issues.length} problem${issues.length > 1 ? 's' : ''} in the graph`, issues);
  }
  return { file, baseDir: dirname(file), graph: r.graph };
}

export function formatIssues(issues: GraphIssue[]): string[] {
  return issues.map((i) => (i.path.startsWith('--') ? i.message : `${i.path}: ${i.message}`));
}

/** Apply one `NODE_ID.PARAM=VALUE` to the raw document, converting VALUE by the param's kind. */
function applySet(doc: unknown, set: CliSet, registry: NodeRegistry): void {
  const { assignment } = set;
  const m = /^([A-Za-z0-9_-]+)\.([A-Za-z0-9_]+)=(.*)$/s.exec(assignment);
  if (!m) throw new UsageError(`--set "${assignment}" should look like NODE_ID.PARAM=VALUE`);
  const label = setLabel(set);
  const [, nodeId, name, text] = m as unknown as [string, string, string, string];
  const nodes = typeof doc === 'object' && doc !== null ? (doc as { nodes?: unknown }).nodes : undefined;
  type RawNode = { id?: unknown; type?: unknown; params?: Record<string, unknown> };
  const list = Array.isArray(nodes) ? (nodes.filter((n) => typeof n === 'object' && n !== null && !Array.isArray(n)) as RawNode[]) : [];
  const node = list.find((n) => n.id === nodeId);
  if (!node) {
    const ids = list.map((n) => (typeof n.id === 'string' ? n.id : (JSON.stringify(n.id) ?? '(no id)')));
    throw new UsageError(`${label}: the graph has no node "${nodeId}"${suggest(nodeId, ids)}; its nodes are ${ids.join(', ')}`);
  }
  const def = registry.get(String(node.type));
  if (!def) throw new UsageError(`${label}: node "${nodeId}" has unknown type ${JSON.stringify(node.type) ?? '(none)'}`);
  const spec = def.params[name];
  if (!spec) {
    const names = Object.keys(def.params);
    throw new UsageError(`${label}: node "${nodeId}" (${def.title}) has no param "${name}"${suggest(name, names)}; its params are ${names.join(', ') || '(none)'}`);
  }
  let value: unknown = text;
  switch (spec.ui.kind) {
    case 'int':
    case 'float':
    case 'seed':
      value = Number(text);
      if (text.trim() === '' || Number.isNaN(value)) throw new UsageError(`${label}: "${text}" is not a number`);
      if (spec.ui.kind !== 'float' && /^\s*[-+]?\d+\s*$/.test(text) && !Number.isSafeInteger(value)) {
        throw new UsageError(`${label}: ${text.trim()} is too large; integers here are at most ${Number.MAX_SAFE_INTEGER}`);
      }
      break;
    case 'boolean':
      if (!['true', 'false'].includes(text)) throw new UsageError(`${label}: use true or false`);
      value = text === 'true';
      break;
    case 'json':
      try {
        value = JSON.parse(text);
      } catch {
        throw new UsageError(`${label}: the value is not valid JSON`);
      }
      break;
    default:
      break;
  }
  node.params = { ...(node.params ?? {}), [name]: value };
}
