/**
 * Executor overhead per node: a chain of N trivial nodes (x -> x + 1), run cold (every node
 * executes), warm (everything cached) and after changing the first node (everything re-runs).
 * `npm run bench:executor` -> bench/results/executor.json
 */
import { writeFileSync } from 'node:fs';
import { Executor } from '../src/engine/graph/executor.ts';
import { NodeRegistry } from '../src/engine/graph/registry.ts';
import { validateGraph } from '../src/engine/graph/validate.ts';
import { defineNode } from '../src/nodes/api.ts';
import { param } from '../src/nodes/params.ts';
import type { GraphFile } from '../src/shared/graph.ts';

const N = Number(process.env.CHAIN ?? 200);
const REPEATS = Number(process.env.REPEATS ?? 20);

const start = defineNode({
  type: 'bench.start', version: 1, title: 'Start', category: 'Bench', description: '', inputs: [],
  outputs: [{ id: 'x', label: 'X', type: 'INT' }], params: { value: param.int({ label: 'Value', default: 0 }) },
  execute: (_c, _i, p) => ({ x: p.value }),
});
const step = defineNode({
  type: 'bench.step', version: 1, title: 'Step', category: 'Bench', description: '',
  inputs: [{ id: 'x', label: 'X', type: 'INT' }], outputs: [{ id: 'x', label: 'X', type: 'INT' }], params: {},
  execute: (_c, i) => ({ x: i.x + 1 }),
});
const registry = new NodeRegistry([start, step]);

function chain(first: number): GraphFile {
  const nodes = [{ id: 'n0', type: 'bench.start', typeVersion: 1, params: { value: first }, position: { x: 0, y: 0 } }];
  const edges = [];
  for (let i = 1; i < N; i++) {
    nodes.push({ id: `n${i}`, type: 'bench.step', typeVersion: 1, params: {} as { value: number }, position: { x: i * 10, y: 0 } });
    edges.push({ id: `e${i}`, from: { node: `n${i - 1}`, output: 'x' }, to: { node: `n${i}`, input: 'x' } });
  }
  const r = validateGraph({ format: 'steer-graph', version: 1, meta: {}, nodes, edges }, registry);
  if (!r.ok) throw new Error(JSON.stringify(r.issues.slice(0, 3)));
  return r.graph;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function measure(label: string, prepare: (i: number) => { ex: Executor; graph: GraphFile }, expectExecuted: number) {
  const times: number[] = [];
  for (let i = 0; i < REPEATS; i++) {
    const { ex, graph } = prepare(i);
    let events = 0;
    const t0 = performance.now();
    const r = await ex.run(graph, { onEvent: () => events++ });
    times.push(performance.now() - t0);
    if (r.status !== 'finished' || r.executed.length !== expectExecuted) throw new Error(`${label}: unexpected result ${r.status} ${r.executed.length}`);
    if (r.outputs.get(`n${N - 1}`)!.x !== (graph.nodes[0]!.params.value as number) + N - 1) throw new Error(`${label}: wrong value`);
  }
  const ms = median(times);
  return { label, runMsMedian: +ms.toFixed(3), perNodeUs: +((ms * 1000) / N).toFixed(2) };
}

const t0 = performance.now();
const validated = chain(0);
const validateMs = performance.now() - t0;
const shared = new Executor(registry);
await shared.run(validated);
const rows = [
  await measure('cold (fresh executor, all nodes execute)', () => ({ ex: new Executor(registry), graph: chain(0) }), N),
  await measure('warm (all nodes cached)', () => ({ ex: shared, graph: validated }), 0),
  await measure('first node changed (all re-run)', (i) => ({ ex: shared, graph: chain(i + 1) }), N),
];
const result = { date: new Date().toISOString(), node: process.version, chainLength: N, repeats: REPEATS, validateMs: +validateMs.toFixed(2), rows };
writeFileSync('bench/results/executor.json', `${JSON.stringify(result, null, 2)}\n`);
console.log(`executor overhead, chain of ${N} trivial nodes, median of ${REPEATS} runs (validation of the graph: ${validateMs.toFixed(1)} ms)`);
console.table(rows);
