/**
 * Graph walks are iterative: a 100,000-node chain validates, plans and reports its cycle instead
 * of overflowing the call stack ("Maximum call stack size exceeded" came at about 6,000 nodes).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Executor } from '../../src/engine/graph/executor.ts';
import { EngineHost } from '../../src/engine/host.ts';
import { NodeRegistry } from '../../src/engine/graph/registry.ts';
import { validateGraph } from '../../src/engine/graph/validate.ts';
import { BUILTIN_NODES } from '../../src/nodes/registry.ts';
import type { GraphFile } from '../../src/shared/graph.ts';

const N = 100_000;

/** world.sample -> image.preview x (n - 1), optionally closed into a cycle at `loopFrom`. */
function previewChain(n: number, loopFrom?: number): GraphFile {
  const nodes = Array.from({ length: n }, (_, i) => ({
    id: `n${i}`,
    type: i === 0 ? 'world.sample' : 'image.preview',
    typeVersion: 1,
    params: {},
    position: { x: i, y: 0 },
  }));
  const edges = Array.from({ length: n - 1 }, (_, i) => ({ id: `e${i}`, from: { node: `n${i}`, output: 'image' }, to: { node: `n${i + 1}`, input: 'image' } }));
  if (loopFrom !== undefined) edges[loopFrom - 1] = { id: `e${loopFrom - 1}`, from: { node: `n${n - 1}`, output: 'image' }, to: { node: `n${loopFrom}`, input: 'image' } };
  return { format: 'steer-graph', version: 1, meta: {}, nodes, edges };
}

const registry = new NodeRegistry(BUILTIN_NODES);
/** Params filled in by the validator (defaults) so the documents are valid apart from their edges. */
function withDefaults(g: GraphFile): GraphFile {
  for (const node of g.nodes) {
    const def = registry.get(node.type)!;
    node.params = Object.fromEntries(Object.entries(def.params).map(([k, spec]) => [k, spec.ui.default]));
  }
  return g;
}

describe('100,000-node graphs', () => {
  it('a chain validates and plans in order', () => {
    const g = withDefaults(previewChain(N));
    const r = validateGraph(g, registry);
    expect(r.issues.slice(0, 3)).toEqual([]);
    expect(r.ok).toBe(true);
    const order = new Executor(registry).plan(g);
    expect(order).toHaveLength(N);
    expect(order[0]).toBe('n0');
    expect(order[N - 1]).toBe(`n${N - 1}`);
    expect(new Executor(registry).plan(g, [`n${N - 1}`])).toHaveLength(N);
  });

  it('a 99,999-node cycle is one issue with a short message', () => {
    const g = withDefaults(previewChain(N, 1));
    const r = validateGraph(g, registry);
    expect(r.ok).toBe(false);
    const cycles = r.issues.filter((i) => i.code === 'cycle');
    expect(cycles).toHaveLength(1);
    expect(cycles[0]!.message).toContain(`(${N - 1} nodes)`);
    expect(cycles[0]!.message.length).toBeLessThan(300);
  });

  it('plans 100,000 independent nodes in file order without quadratic sorting', () => {
    const g = withDefaults(previewChain(N));
    g.edges = [];
    g.nodes.forEach((n) => (n.type = 'world.sample'));
    const t0 = performance.now();
    const order = new Executor(registry).plan(g);
    expect(performance.now() - t0).toBeLessThan(5000);
    expect(order).toEqual(g.nodes.map((n) => n.id));
  });

  it("the server's validate request answers for a 100,000-node chain", async () => {
    const host = new EngineHost({ graphsDir: mkdtempSync(join(tmpdir(), 'steer-big-')) });
    const r = await host.handle({ kind: 'request', id: 1, method: 'validate', params: { graph: withDefaults(previewChain(N)) } });
    expect(r).toMatchObject({ ok: true, result: { ok: true, issues: [] } });
  });

  it('steer validate answers for a 100,000-node chain file, valid and with a cycle', () => {
    const dir = mkdtempSync(join(tmpdir(), 'steer-big-'));
    writeFileSync(join(dir, 'chain.json'), JSON.stringify(withDefaults(previewChain(N))));
    writeFileSync(join(dir, 'cycle.json'), JSON.stringify(withDefaults(previewChain(N, 50_000))));
    const steer = (f: string) => spawnSync(process.execPath, ['bin/steer.mjs', 'validate', join(dir, f)], { encoding: 'utf8' });
    const ok = steer('chain.json');
    expect(ok.stderr).not.toContain('call stack');
    expect(ok.stdout).toContain(`valid (${N} nodes, ${N - 1} edges)`);
    expect(ok.status).toBe(0);
    const bad = steer('cycle.json');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/nodes form a cycle: "n50000" -> "n50001" -> .* \(50000 nodes\)/);
  }, 60_000);
});
