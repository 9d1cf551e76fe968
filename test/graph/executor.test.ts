import { beforeEach, describe, expect, it } from 'vitest';
import { OutputCache } from '../../src/engine/graph/cache.ts';
import { Executor } from '../../src/engine/graph/executor.ts';
import { validateGraph } from '../../src/engine/graph/validate.ts';
import type { EngineEvent } from '../../src/shared/events.ts';
import type { GraphFile } from '../../src/shared/graph.ts';
import { counts, testRegistry } from '../fixtures/test-nodes.ts';
import { graph } from './helpers.ts';

const registry = testRegistry();
const valid = (g: GraphFile): GraphFile => {
  const r = validateGraph(g, registry);
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.graph;
};

/** a=2, b=3 -> sum -> inc(+10) ; c=7 unrelated */
const diamond = (a = 2, by = 10) =>
  valid(
    graph(
      [
        { id: 'inc', type: 'test.inc', typeVersion: 2, params: { by } },
        { id: 'sum', type: 'test.add' },
        { id: 'a', type: 'test.const', params: { value: a } },
        { id: 'b', type: 'test.const', params: { value: 3 } },
        { id: 'c', type: 'test.const', params: { value: 7 } },
      ],
      ['sum.sum->inc.x', 'a.value->sum.a', 'b.value->sum.b'],
    ),
  );

beforeEach(() => counts.clear());

describe('Executor', () => {
  it('leaves no abort listener on a signal shared by many runs', async () => {
    const ex = new Executor(registry);
    const ac = new AbortController();
    const live = new Set<unknown>();
    const { addEventListener: add, removeEventListener: remove } = ac.signal;
    ac.signal.addEventListener = (type: string, fn: unknown, o?: unknown) => (live.add(fn), add.call(ac.signal, type, fn as EventListener, o as AddEventListenerOptions));
    ac.signal.removeEventListener = (type: string, fn: unknown, o?: unknown) => (live.delete(fn), remove.call(ac.signal, type, fn as EventListener, o as EventListenerOptions));
    for (let i = 0; i < 3; i++) expect((await ex.run(diamond(), { signal: ac.signal })).status).toBe('finished');
    expect(live.size).toBe(0);
  });

  it('runs nodes in dependency order and computes the right values', async () => {
    const ex = new Executor(registry);
    const events: EngineEvent[] = [];
    const r = await ex.run(diamond(), { onEvent: (e) => events.push(e) });
    expect(r.status).toBe('finished');
    expect(r.outputs.get('inc')).toEqual({ y: 15 });
    const started = events.filter((e) => e.type === 'node.started').map((e) => (e as { nodeId: string }).nodeId);
    expect(started.indexOf('a')).toBeLessThan(started.indexOf('sum'));
    expect(started.indexOf('b')).toBeLessThan(started.indexOf('sum'));
    expect(started.indexOf('sum')).toBeLessThan(started.indexOf('inc'));
    expect(events[0]!.type).toBe('run.started');
    expect(events.at(-1)).toMatchObject({ type: 'run.finished', executed: 5, cached: 0 });
    const finished = events.find((e) => e.type === 'node.finished' && e.nodeId === 'inc');
    expect(finished).toMatchObject({ outputs: { y: { type: 'INT', summary: '15' } } });
  });

  it('runs only what the targets need', async () => {
    const ex = new Executor(registry);
    const r = await ex.run(diamond(), { targets: ['sum'] });
    expect(r.executed.sort()).toEqual(['a', 'b', 'sum']);
    expect(counts.get('c')).toBeUndefined();
    expect(counts.get('inc')).toBeUndefined();
    await expect(ex.run(diamond(), { targets: ['nope'] })).rejects.toThrow(/target node "nope"/);
  });

  it('re-runs only the changed node and what is downstream', async () => {
    const ex = new Executor(registry);
    await ex.run(diamond());
    expect([...counts.values()]).toEqual([1, 1, 1, 1, 1]);

    const again = await ex.run(diamond());
    expect(again.executed).toEqual([]);
    expect(again.cached).toHaveLength(5);
    expect(again.outputs.get('inc')).toEqual({ y: 15 });

    const changedA = await ex.run(diamond(4));
    expect(changedA.executed.sort()).toEqual(['a', 'inc', 'sum']);
    expect(changedA.outputs.get('inc')).toEqual({ y: 17 });
    expect(counts.get('b')).toBe(1);
    expect(counts.get('c')).toBe(1);

    const changedInc = await ex.run(diamond(4, 20));
    expect(changedInc.executed).toEqual(['inc']);
    expect(changedInc.outputs.get('inc')).toEqual({ y: 27 });
    expect(counts.get('sum')).toBe(2);
  });

  it('never caches non-deterministic nodes, nor what depends on them', async () => {
    const ex = new Executor(registry);
    const g = valid(graph([{ id: 'r', type: 'test.random' }, { id: 'i', type: 'test.inc', typeVersion: 2, params: { by: 1 } }], ['r.value->i.x']));
    await ex.run(g);
    await ex.run(g);
    expect(counts.get('r')).toBe(2);
    expect(counts.get('i')).toBe(2);
  });

  it('isolates a throwing node: failed event with causes, upstream results kept', async () => {
    const ex = new Executor(registry);
    const g = valid(
      graph(
        [
          { id: 'a', type: 'test.const', params: { value: 1 } },
          { id: 'bad', type: 'test.throw', params: { message: 'kaputt' } },
        ],
        ['a.value->bad.x'],
      ),
    );
    const events: EngineEvent[] = [];
    const r = await ex.run(g, { onEvent: (e) => events.push(e) });
    expect(r.status).toBe('failed');
    expect(r.failedNode).toBe('bad');
    expect(r.error).toMatchObject({ message: 'node failed: kaputt', causes: ['inner cause'] });
    expect(events.find((e) => e.type === 'node.failed')).toMatchObject({ nodeId: 'bad' });
    expect(events.at(-1)).toMatchObject({ type: 'run.failed', nodeId: 'bad' });
    // the engine survives and the earlier result is still cached
    const again = await ex.run(g);
    expect(again.cached).toEqual(['a']);
  });

  it('fails a node that forgets an output, with its id in the message', async () => {
    const { defineNode } = await import('../../src/nodes/api.ts');
    const { NodeRegistry } = await import('../../src/engine/graph/registry.ts');
    const lazy = defineNode({
      type: 'test.lazy', version: 1, title: 'Lazy', category: 'Test', description: '', inputs: [],
      outputs: [{ id: 'v', label: 'V', type: 'INT' }], params: {},
      execute: () => ({}) as { v: number },
    });
    const ex = new Executor(new NodeRegistry([lazy]));
    const r = await ex.run(graph([{ id: 'l', type: 'test.lazy' }]));
    expect(r.error!.message).toBe('node "l" (test.lazy) returned no value for output "v"');
  });

  it('cancels within 200 ms and keeps earlier cached results', async () => {
    const ex = new Executor(registry);
    const g = valid(
      graph(
        [
          { id: 'a', type: 'test.const', params: { value: 1 } },
          { id: 's1', type: 'test.slow', params: { ms: 100 } },
          { id: 's2', type: 'test.slow', params: { ms: 5000 } },
          { id: 's3', type: 'test.slow', params: { ms: 10 } },
        ],
        ['a.value->s1.x', 's1.y->s2.x', 's2.y->s3.x'],
      ),
    );
    const ac = new AbortController();
    const events: EngineEvent[] = [];
    let cancelAt = 0;
    const running = ex.run(g, {
      signal: ac.signal,
      onEvent: (e) => {
        events.push(e);
        if (e.type === 'node.started' && e.nodeId === 's2') {
          setTimeout(() => {
            cancelAt = performance.now();
            ac.abort();
          }, 50);
        }
      },
    });
    const r = await running;
    const latency = performance.now() - cancelAt;
    expect(r.status).toBe('cancelled');
    expect(latency).toBeLessThan(200);
    expect(events.at(-1)!.type).toBe('run.cancelled');
    expect(counts.get('s3')).toBeUndefined();
    const again = await ex.run(g, { targets: ['s1'] });
    expect(again.cached.sort()).toEqual(['a', 's1']);
  });

  it('cancels promptly even when a node ignores the signal', async () => {
    const ex = new Executor(registry);
    const g = valid(graph([{ id: 'st', type: 'test.stubborn', params: { ms: 2000 } }]));
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 30);
    const t0 = performance.now();
    const r = await ex.run(g, { signal: ac.signal });
    expect(r.status).toBe('cancelled');
    expect(performance.now() - t0).toBeLessThan(230);
    expect(ex.cache.size).toBe(0); // the late result is never cached
  });

  it('reports progress events from long nodes', async () => {
    const ex = new Executor(registry);
    const events: EngineEvent[] = [];
    await ex.run(valid(graph([{ id: 's', type: 'test.slow', params: { ms: 200 } }])), { onEvent: (e) => events.push(e) });
    const progress = events.filter((e) => e.type === 'node.progress');
    expect(progress.length).toBeGreaterThan(1);
    expect(progress.at(-1)).toMatchObject({ value: 40, max: 40 });
  });
});

describe('OutputCache', () => {
  it('evicts least recently used entries by count and bytes', () => {
    const c = new OutputCache({ maxEntries: 2, maxBytes: 10_000 });
    c.set('a', { v: 1 });
    c.set('b', { v: 2 });
    c.get('a');
    c.set('c', { v: 3 });
    expect(c.get('b')).toBeUndefined();
    expect(c.get('a')).toEqual({ v: 1 });
    const big = new OutputCache({ maxEntries: 100, maxBytes: 5000 });
    big.set('x', { t: new Float32Array(1000) });
    big.set('y', { t: new Float32Array(1000) });
    expect(big.get('x')).toBeUndefined();
    expect(big.get('y')).toBeDefined();
    expect(big.byteSize).toBeLessThanOrEqual(5000);
    big.set('huge', { t: new Float32Array(10_000) });
    expect(big.get('huge')).toBeUndefined();
  });

  it('bounds memory across many runs of the executor', async () => {
    const ex = new Executor(registry, new OutputCache({ maxEntries: 3, maxBytes: 1 << 20 }));
    for (let v = 0; v < 10; v++) await ex.run(diamond(v));
    expect(ex.cache.size).toBe(3);
  });
});
