/**
 * Fuzz: the executor on random DAGs of small real nodes (Constant, Increment, Add), all of it or
 * random targets, with random cache state. Oracle: every value computed here independently;
 * events start with run.started and end with run.finished; a node runs at most once per run and
 * only if a target needs it.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Executor } from '../../src/engine/graph/executor.ts';
import { validateGraph } from '../../src/engine/graph/validate.ts';
import type { EngineEvent } from '../../src/shared/events.ts';
import type { GraphFile } from '../../src/shared/graph.ts';
import { testRegistry } from '../fixtures/test-nodes.ts';
import { FUZZ_TIMEOUT, fuzz } from './harness.ts';

type Spec = { kind: 'const'; value: number } | { kind: 'inc'; by: number; x: number } | { kind: 'add'; a: number; b: number; c?: number };

/** Node i reads only nodes before it, so every generated graph is a DAG. */
const dag = fc
  .array(fc.tuple(fc.constantFrom('const', 'inc', 'add'), fc.integer({ min: -50, max: 50 }), fc.nat(), fc.nat(), fc.option(fc.nat(), { nil: undefined })), { minLength: 1, maxLength: 30 })
  .map((rows) =>
    rows.map(([kind, v, p, q, r], i): Spec => {
      if (i === 0 || kind === 'const') return { kind: 'const', value: v };
      if (kind === 'inc') return { kind: 'inc', by: v, x: p % i };
      return { kind: 'add', a: p % i, b: q % i, ...(r !== undefined ? { c: r % i } : {}) };
    }),
  );

function toGraph(specs: Spec[]): GraphFile {
  const nodes = specs.map((s, i) => ({
    id: `n${i}`,
    type: s.kind === 'const' ? 'test.const' : s.kind === 'inc' ? 'test.inc' : 'test.add',
    typeVersion: s.kind === 'inc' ? 2 : 1,
    params: s.kind === 'const' ? { value: s.value } : s.kind === 'inc' ? { by: s.by } : {},
    position: { x: i, y: 0 },
  }));
  const edges: GraphFile['edges'] = [];
  const link = (from: number, to: number, input: string) => {
    const output = specs[from]!.kind === 'const' ? 'value' : specs[from]!.kind === 'inc' ? 'y' : 'sum';
    edges.push({ id: `e${edges.length}`, from: { node: `n${from}`, output }, to: { node: `n${to}`, input } });
  };
  specs.forEach((s, i) => {
    if (s.kind === 'inc') link(s.x, i, 'x');
    if (s.kind === 'add') {
      link(s.a, i, 'a');
      link(s.b, i, 'b');
      if (s.c !== undefined) link(s.c, i, 'c');
    }
  });
  return { format: 'steer-graph', version: 1, meta: {}, nodes, edges };
}

function expected(specs: Spec[]): number[] {
  const v: number[] = [];
  for (const s of specs) v.push(s.kind === 'const' ? s.value : s.kind === 'inc' ? v[s.x]! + s.by : v[s.a]! + v[s.b]! + (s.c !== undefined ? v[s.c]! : 0));
  return v;
}

function needed(specs: Spec[], targets: number[]): Set<number> {
  const out = new Set<number>();
  const stack = [...targets];
  while (stack.length) {
    const i = stack.pop()!;
    if (out.has(i)) continue;
    out.add(i);
    const s = specs[i]!;
    if (s.kind === 'inc') stack.push(s.x);
    if (s.kind === 'add') stack.push(s.a, s.b, ...(s.c !== undefined ? [s.c] : []));
  }
  return out;
}

describe('fuzz: executor', () => {
  const registry = testRegistry();
  const executor = new Executor(registry); // one cache across cases, as in the app

  it('computes what the targets need, in order, each node once', async () => {
    await fuzz(
      fc.tuple(dag, fc.array(fc.nat(), { maxLength: 3 })),
      async ([specs, picks]) => {
        const v = validateGraph(toGraph(specs), registry);
        expect(v.issues).toEqual([]);
        if (!v.ok) return;
        const targets = picks.map((p) => p % specs.length);
        const events: EngineEvent[] = [];
        const r = await executor.run(v.graph, { ...(targets.length ? { targets: targets.map((t) => `n${t}`) } : {}), onEvent: (e) => events.push(e) });
        expect(r.status).toBe('finished');
        expect(events[0]!.type).toBe('run.started');
        expect(events.at(-1)!.type).toBe('run.finished');
        const want = targets.length ? needed(specs, targets) : new Set(specs.map((_, i) => i));
        const ran = [...r.executed, ...r.cached];
        expect(new Set(ran).size).toBe(ran.length);
        expect(ran.map((id) => Number(id.slice(1))).sort((a, b) => a - b)).toEqual([...want].sort((a, b) => a - b));
        const seen = events.flatMap((e) => (e.type === 'node.started' || e.type === 'node.cached' ? [Number(e.nodeId.slice(1))] : []));
        const at = new Map(seen.map((i, k) => [i, k]));
        for (const i of seen) for (const p of needed(specs, [i])) expect(at.get(p)!, `n${p} before n${i}`).toBeLessThanOrEqual(at.get(i)!);
        const values = expected(specs);
        for (const i of want) {
          const out = r.outputs.get(`n${i}`)!;
          expect(Object.values(out)[0], `n${i}`).toBe(values[i]);
        }
      },
      { ci: 400 },
    );
  }, FUZZ_TIMEOUT);
});
