import { describe, expect, it } from 'vitest';
import type { EngineEvent } from '../../src/shared/events.ts';
import type { EngineApi, EngineRequests, RequestName } from '../../src/shared/protocol.ts';
import { createStudioStore } from '../../src/renderer/src/store.ts';
import { MISSING_TYPE_GRAPH, RUNNABLE_GRAPH, testRegistry } from './helpers.ts';

/** An in-memory engine whose run emits scripted events. */
function fakeEngine(script: (runId: string) => EngineEvent[]): EngineApi & { calls: string[] } {
  const listeners = new Set<(e: EngineEvent) => void>();
  const calls: string[] = [];
  const graphs: Record<string, unknown> = { 'parse.json': RUNNABLE_GRAPH, 'missing.json': MISSING_TYPE_GRAPH };
  const handlers: { [K in RequestName]: (p: EngineRequests[K]['params']) => EngineRequests[K]['result'] } = {
    catalogue: () => testRegistry().catalogue(),
    validate: () => ({ ok: true, issues: [] }),
    run: ({ runId }) => {
      for (const e of script(runId)) for (const l of listeners) l(e);
      return { status: 'finished' };
    },
    cancel: () => ({ cancelled: true }),
    listGraphs: () => ({ graphs: Object.keys(graphs).map((p) => ({ name: p.replace('.json', ''), path: p })) }),
    readGraph: ({ path }) => {
      if (!(path in graphs)) throw new Error(`no graph ${path}`);
      return { graph: graphs[path], revision: 'r1' };
    },
    writeGraph: ({ path, graph }) => {
      graphs[path] = graph;
      return { path, revision: 'r2' };
    },
    upgradeGraph: ({ graph }) => ({ graph, notes: [] }),
    listFiles: () => ({ dir: '', entries: [] }),
    graphFromPng: () => {
      throw new Error('no PNG here');
    },
  };
  return {
    calls,
    async request(method, params) {
      calls.push(method);
      return (handlers[method] as (p: unknown) => never)(params);
    },
    onEvent(l) {
      listeners.add(l);
      return () => listeners.delete(l);
    },
  };
}

describe('renderer: studio store', () => {
  it('loads catalogue and graphs, opens one, runs it and tracks node status and previews', async () => {
    const engine = fakeEngine((runId) => [
      { type: 'run.started', runId, nodes: ['text', 'parse'], time: 0 },
      { type: 'node.cached', runId, nodeId: 'text' },
      { type: 'node.started', runId, nodeId: 'parse', nodeType: 'prompt.parse' },
      { type: 'node.progress', runId, nodeId: 'parse', value: 1, max: 2 },
      { type: 'node.preview', runId, nodeId: 'parse', preview: { kind: 'text', text: 'one', label: 'L' } },
      { type: 'node.preview', runId, nodeId: 'parse', preview: { kind: 'text', text: 'two', label: 'L' } },
      { type: 'node.log', runId, nodeId: 'parse', level: 'warn', message: 'hmm' },
      { type: 'node.finished', runId, nodeId: 'parse', durationMs: 3, outputs: { prompt: { type: 'PROMPT', summary: '2 objects' } } },
      { type: 'node.started', runId: 'someone-else', nodeId: 'text', nodeType: 'primitive.text' },
      { type: 'run.finished', runId, durationMs: 5, executed: 1, cached: 1 },
    ]);
    const store = createStudioStore(engine);
    engine.onEvent((e) => store.getState().applyEvent(e));
    await store.getState().loadCatalogue();
    await store.getState().loadGraphList();
    expect(store.getState().graphs.map((g) => g.name)).toEqual(['missing', 'parse']);
    await store.getState().openGraph('parse.json');
    expect(store.getState().doc?.nodes.map((n) => n.title ?? store.getState().types[n.type]?.title)).toEqual(['Prompt text', 'Prompt Parse']);
    await store.getState().startRun();
    const s = store.getState();
    expect(s.run).toMatchObject({ status: 'finished', executed: 1, cached: 1, durationMs: 5 });
    expect(s.nodeRuns.text?.status).toBe('cached');
    expect(s.nodeRuns.parse).toMatchObject({ status: 'finished', durationMs: 3, outputs: { prompt: { summary: '2 objects' } } });
    expect(s.previews.parse).toEqual([{ kind: 'text', text: 'two', label: 'L' }]);
    expect(s.logs).toEqual([{ nodeId: 'parse', level: 'warn', message: 'hmm' }]);
  });

  it('reports a graph that cannot be read, and a failed node', async () => {
    const engine = fakeEngine((runId) => [
      { type: 'run.started', runId, nodes: ['parse'], time: 0 },
      { type: 'node.failed', runId, nodeId: 'parse', error: { message: 'boom', causes: [] } },
      { type: 'run.failed', runId, durationMs: 1, nodeId: 'parse', error: { message: 'boom', causes: ['deep'] } },
    ]);
    const store = createStudioStore(engine);
    engine.onEvent((e) => store.getState().applyEvent(e));
    await store.getState().openGraph('nope.json');
    expect(store.getState().loadError).toContain('no graph nope.json');
    await store.getState().openGraph('missing.json');
    // Unknown node types are kept as they are (drawn as missing), never dropped.
    expect(store.getState().doc?.nodes.find((n) => n.id === 'ghost')).toMatchObject({ type: 'vendor.ghost-node', typeVersion: 3, params: { strength: 0.5 } });
    await store.getState().loadCatalogue();
    expect(store.getState().types['prompt.parse']).toBeDefined();
    expect(store.getState().types['vendor.ghost-node']).toBeUndefined();
    await store.getState().startRun();
    expect(store.getState().run).toMatchObject({ status: 'failed', failedNodeId: 'parse', error: { causes: ['deep'] } });
    expect(store.getState().nodeRuns.parse?.status).toBe('failed');
  });

  it('keeps every framed preview of the last run apart from the current ones; a rerun replaces them, a cached node keeps them', async () => {
    let run = 0;
    const bars = (v: number) => ({ kind: 'bars' as const, labels: ['left', 'right'], values: [v, 1 - v], highlight: 0, label: 'p(left) term 1' });
    const engine = fakeEngine((runId) => {
      run += 1;
      if (run === 2) return [{ type: 'run.started', runId, nodes: ['parse'], time: 0 }, { type: 'node.cached', runId, nodeId: 'parse' }];
      const framed: EngineEvent[] = [];
      // Ten frames with the same label: an unframed preview would keep only the newest.
      for (let step = 0; step < 5; step++) for (let iteration = 0; iteration < 2; iteration++) {
        framed.push({ type: 'node.preview', runId, nodeId: 'parse', preview: bars((step * 2 + iteration) / 10 + run), frame: { step, steps: 5, iteration } });
      }
      return [
        { type: 'run.started', runId, nodes: ['parse'], time: 0 },
        { type: 'node.started', runId, nodeId: 'parse', nodeType: 'prompt.parse' },
        ...framed,
        { type: 'node.preview', runId, nodeId: 'parse', preview: { kind: 'text', text: 'done', label: 'summary' } },
        { type: 'node.finished', runId, nodeId: 'parse', durationMs: 1, outputs: {} },
        { type: 'run.finished', runId, durationMs: 1, executed: 1, cached: 0 },
      ];
    });
    const store = createStudioStore(engine);
    engine.onEvent((e) => store.getState().applyEvent(e));
    await store.getState().loadCatalogue();
    await store.getState().openGraph('parse.json');
    await store.getState().startRun();
    const frames = store.getState().frames.parse!;
    expect(frames.map((f) => [f.frame.step, f.frame.iteration])).toEqual([[0, 0], [0, 1], [1, 0], [1, 1], [2, 0], [2, 1], [3, 0], [3, 1], [4, 0], [4, 1]]);
    expect(frames[3]!.preview).toEqual(bars(0.3 + 1));
    expect(store.getState().previews.parse).toEqual([{ kind: 'text', text: 'done', label: 'summary' }]);
    // Cached on the next run: the frames stay.
    await store.getState().startRun();
    expect(store.getState().frames.parse).toHaveLength(10);
    // Run again for real: only the new run's frames.
    await store.getState().startRun();
    expect(store.getState().frames.parse).toHaveLength(10);
    expect(store.getState().frames.parse![0]!.preview).toEqual(bars(3));
    // A different document: no frames.
    await store.getState().openGraph('missing.json');
    expect(store.getState().frames).toEqual({});
  });
});
