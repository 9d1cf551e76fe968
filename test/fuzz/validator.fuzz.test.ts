/**
 * Fuzz: the graph validator, param schemas and the executor's plan on random and mutated graph
 * documents. Property: a structured result (ok with a graph, or issues with code, JSON path and a
 * readable message), never a throw; a valid graph validates again, plans and round-trips.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { Executor } from '../../src/engine/graph/executor.ts';
import { serializeGraph } from '../../src/engine/graph/file.ts';
import { NodeRegistry } from '../../src/engine/graph/registry.ts';
import { validateGraph } from '../../src/engine/graph/validate.ts';
import { BUILTIN_NODES } from '../../src/nodes/registry.ts';
import { graphDoc, paramCase } from './arbitraries.ts';
import { counts, FUZZ_TIMEOUT, fuzz } from './harness.ts';

const registry = new NodeRegistry(BUILTIN_NODES);

function expectIssue(i: { code: unknown; path: unknown; message: unknown }): void {
  expect(typeof i.code).toBe('string');
  expect(String(i.path)).toMatch(/^\$/);
  expect(typeof i.message).toBe('string');
  expect(i.message).not.toMatch(/undefined undefined|\[object Object\]|^$/);
}

describe('fuzz: validator', () => {
  afterAll(() => console.log(`fuzz validator: ${counts.cases} cases over ${counts.properties} properties`));

  it('validateGraph answers every document with a result or issues', async () => {
    await fuzz(
      graphDoc,
      (doc) => {
        const r = validateGraph(doc, registry);
        if (!r.ok) {
          expect(r.issues.length).toBeGreaterThan(0);
          r.issues.forEach(expectIssue);
          return;
        }
        const again = validateGraph(JSON.parse(serializeGraph(r.graph)), registry);
        expect(again.ok).toBe(true);
        if (again.ok) expect(serializeGraph(again.graph)).toBe(serializeGraph(r.graph));
        expect(new Executor(registry).plan(r.graph).sort()).toEqual(r.graph.nodes.map((n) => n.id).sort());
      },
      { ci: 4000 },
    );
  }, FUZZ_TIMEOUT);

  it('param schemas parse any value without throwing', async () => {
    await fuzz(
      paramCase,
      ({ def, name, value }) => {
        if (!name) return;
        const r = def.params[name]!.schema.safeParse(value);
        expect(typeof r.success).toBe('boolean');
      },
      { ci: 3000 },
    );
  }, FUZZ_TIMEOUT);
});
