/** Widget-to-input: edges into `param:<key>` feed a node's param from another node's output. */
import { describe, expect, it } from 'vitest';
import { Executor } from '../../src/engine/graph/executor.ts';
import { NodeRegistry } from '../../src/engine/graph/registry.ts';
import { validateGraph } from '../../src/engine/graph/validate.ts';
import { defineNode } from '../../src/nodes/api.ts';
import { BUILTIN_NODES } from '../../src/nodes/registry.ts';
import type { LatentValue } from '../../src/nodes/values.ts';
import { graph } from './helpers.ts';

const registry = new NodeRegistry(BUILTIN_NODES);
function valid(g: unknown) {
  const v = validateGraph(g, registry);
  if (!v.ok) throw new Error(v.issues.map((i) => i.message).join('\n'));
  return v.graph;
}
const noise = (params: Record<string, unknown> = {}) => ({ id: 'noise', type: 'latent.noise', params: { seed: 0, randomize: false, batch: 1, channels: 4, height: 16, width: 16, ...params } });

describe('params fed by edges (widget-to-input)', () => {
  it('one Seed and one Integer node drive two Noise nodes; the cache follows the fed value', async () => {
    const g = (seed: number) =>
      graph(
        [
          { id: 'seed', type: 'primitive.seed', params: { seed } },
          { id: 'size', type: 'primitive.int', params: { value: 8 } },
          noise(),
          { ...noise(), id: 'noise2' },
        ],
        ['seed.seed->noise.param:seed', 'seed.seed->noise2.param:seed', 'size.value->noise.param:height', 'size.value->noise2.param:width'],
      );
    const ex = new Executor(registry);
    const r = await ex.run(valid(g(42)));
    expect(r.status).toBe('finished');
    const a = r.outputs.get('noise')!.latent as LatentValue;
    const b = r.outputs.get('noise2')!.latent as LatentValue;
    expect(a.seed).toBe(42);
    expect(a.shape).toEqual([1, 4, 8, 16]);
    expect(b.shape).toEqual([1, 4, 16, 8]);
    expect(a.data).toHaveLength(4 * 8 * 16);
    const again = await ex.run(valid(g(43)));
    expect(again.cached).not.toContain('noise'); // a new seed upstream reruns the node
    expect((again.outputs.get('noise')!.latent as LatentValue).seed).toBe(43);
    // the value stored under a fed param is hidden: editing it does not rerun the node
    const hidden = g(43);
    hidden.nodes.find((n) => n.id === 'noise')!.params.seed = 999;
    const third = await ex.run(valid(hidden));
    expect(third.cached).toContain('noise');
  });

  it('a node type may not declare an input named like a fed param', () => {
    const bad = defineNode({ type: 'test.bad', version: 1, title: 'Bad', category: 'Test', description: '', inputs: [{ id: 'param:x', label: 'X', type: 'INT' }], outputs: [], params: {}, execute: () => ({}) });
    expect(() => new NodeRegistry([bad])).toThrow(/input id "param:x" starts with "param:"/);
  });

  it('validation: unknown params, params that cannot be inputs and wrong types are refused with their edge', () => {
    const r = validateGraph(
      graph(
        [{ id: 'text', type: 'primitive.text', params: { text: 'x' } }, { id: 'size', type: 'primitive.int', params: { value: 8 } }, noise()],
        ['size.value->noise.param:nope', 'text.text->noise.param:seed', 'size.value->noise.param:height', 'size.value->noise.param:height'],
      ),
      registry,
    );
    const msgs = r.issues.map((i) => `${i.code} ${i.path}: ${i.message}`);
    expect(msgs).toContainEqual(expect.stringMatching(/^unknown-input \$\.edges\[0\]\.to\.input: .*node "noise" \(Noise Latent\) has no param "nope" to feed; its params are .*seed/));
    expect(msgs).toContainEqual(expect.stringMatching(/^socket-type-mismatch \$\.edges\[1\]: .*"text".text to "noise".param:seed/));
    expect(msgs).toContainEqual(expect.stringMatching(/^input-fed-twice \$\.edges\[3\]\.to: input "param:height"/));
  });

  it("a fed value outside the param's range fails the node, naming the param and where the value came from", async () => {
    const g = graph([{ id: 'size', type: 'primitive.int', params: { value: 0 } }, noise()], ['size.value->noise.param:height']);
    const r = await new Executor(registry).run(valid(g));
    expect(r.status).toBe('failed');
    expect(r.failedNode).toBe('noise');
    expect(r.error!.message).toMatch(/node "noise" \(Noise Latent\): param "height" got 0 from "size".value: .*>=\s*1/);
  });
});
