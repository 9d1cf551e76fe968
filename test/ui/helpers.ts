/** Shared fixtures for the UI tests: a real EngineHost over a small registry, temp graph folders. */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { EngineHost } from '../../src/engine/host.ts';
import { NodeRegistry } from '../../src/engine/graph/registry.ts';
import type { AnyNodeDefinition } from '../../src/nodes/api.ts';
import promptParse from '../../src/nodes/prompt-parse.ts';
import text from '../../src/nodes/text.ts';
import { BUILTIN_NODES } from '../../src/nodes/registry.ts';
import type { GraphFile } from '../../src/shared/graph.ts';

export const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');

/** The shipped nodes plus the two these tests draw, whether or not they are registered yet. */
export function testRegistry(): NodeRegistry {
  const defs = new Map<string, AnyNodeDefinition>();
  for (const d of [...BUILTIN_NODES, promptParse, text]) if (!defs.has(d.type)) defs.set(d.type, d);
  return new NodeRegistry(defs.values());
}

export function tempDir(prefix: string): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(path.join(tmpdir(), `steer-ui-${prefix}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function makeHost(graphsDir: string, cacheDir: string): EngineHost {
  return new EngineHost({ graphsDir, cacheDir, outputDir: path.join(cacheDir, 'out'), registry: testRegistry() });
}

/** A graph that runs: Text -> Prompt Parse. */
export const RUNNABLE_GRAPH: GraphFile = {
  format: 'steer-graph',
  version: 1,
  meta: { name: 'Parse a prompt', description: 'Text into Prompt Parse.' },
  nodes: [
    { id: 'text', type: 'primitive.text', typeVersion: 1, title: 'Prompt text', params: { text: 'a red circle to the left of a blue square' }, position: { x: 0, y: 0 } },
    { id: 'parse', type: 'prompt.parse', typeVersion: 1, params: { text: 'unused' }, position: { x: 360, y: 0 } },
  ],
  edges: [{ id: 'e1', from: { node: 'text', output: 'text' }, to: { node: 'parse', input: 'text' } }],
};

/** A graph with a node type nobody ships, wired to a known one. */
export const MISSING_TYPE_GRAPH: GraphFile = {
  format: 'steer-graph',
  version: 1,
  meta: { name: 'Has a missing node' },
  nodes: [
    { id: 'parse', type: 'prompt.parse', typeVersion: 1, title: 'Parse it', params: { text: 'a cat above a dog' }, position: { x: 0, y: 0 } },
    { id: 'ghost', type: 'vendor.ghost-node', typeVersion: 3, title: 'Ghost', params: { strength: 0.5 }, position: { x: 380, y: 40 } },
  ],
  edges: [{ id: 'e1', from: { node: 'parse', output: 'prompt' }, to: { node: 'ghost', input: 'prompt' } }],
};

export function writeGraphs(dir: string, graphs: Record<string, unknown>): void {
  mkdirSync(dir, { recursive: true });
  for (const [name, g] of Object.entries(graphs)) writeFileSync(path.join(dir, name), JSON.stringify(g, null, 2));
}
