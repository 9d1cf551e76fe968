import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EngineHost } from '../../src/engine/host.ts';
import type { EngineEvent } from '../../src/shared/events.ts';
import type { RequestMessage } from '../../src/shared/protocol.ts';
import { testRegistry } from '../fixtures/test-nodes.ts';

let nextId = 1;
const req = (method: string, params: unknown = {}) => ({ kind: 'request', id: nextId++, method, params }) as RequestMessage;
const graphDoc = JSON.parse(readFileSync('graphs/parse-relations.json', 'utf8'));

describe('EngineHost', () => {
  it('serves the catalogue and the graphs folder', async () => {
    const host = new EngineHost({ graphsDir: 'graphs' });
    const cat = await host.handle(req('catalogue'));
    expect(cat.ok && (cat.result as { nodes: { type: string }[] }).nodes.map((n) => n.type)).toContain('prompt.parse');
    const list = await host.handle(req('listGraphs'));
    expect(list.ok && (list.result as { graphs: { path: string }[] }).graphs.map((g) => g.path)).toContain('parse-relations.json');
    const read = await host.handle(req('readGraph', { path: 'parse-relations.json' }));
    expect(read.ok && (read.result as { graph: unknown }).graph).toEqual(graphDoc);
    const escape = await host.handle(req('readGraph', { path: '../package.json' }));
    expect(escape).toMatchObject({ ok: false, error: { message: expect.stringContaining('outside the graphs folder') } });
  });

  it('validates and refuses to run invalid graphs, returning the issues', async () => {
    const host = new EngineHost({ graphsDir: 'graphs' });
    const bad = structuredClone(graphDoc);
    bad.nodes[0].params.text = 5;
    const v = await host.handle(req('validate', { graph: bad }));
    expect(v).toMatchObject({ ok: true, result: { ok: false, issues: [{ code: 'invalid-param', nodeId: 'prompt' }] } });
    const r = await host.handle(req('run', { runId: 'r1', graph: bad }));
    expect(r).toMatchObject({ ok: false, error: { issues: [{ path: '$.nodes[0].params.text' }] } });
  });

  it('runs graphs with events, caches between runs, and survives failing nodes', async () => {
    const out = mkdtempSync(join(tmpdir(), 'steer-host-'));
    const host = new EngineHost({ graphsDir: 'graphs', outputDir: out });
    const events: EngineEvent[] = [];
    host.onEvent((e) => events.push(e));
    const r1 = await host.handle(req('run', { runId: 'a', graph: graphDoc }));
    expect(r1).toMatchObject({ ok: true, result: { status: 'finished' } });
    expect(events.filter((e) => e.type === 'node.finished')).toHaveLength(3);
    expect(JSON.parse(readFileSync(join(out, 'relations.json'), 'utf8')).relations).toHaveLength(3);
    events.length = 0;
    const r2 = await host.handle(req('run', { runId: 'b', graph: graphDoc }));
    expect(r2).toMatchObject({ ok: true, result: { status: 'finished' } });
    expect(events.filter((e) => e.type === 'node.cached')).toHaveLength(3);
    const failing = structuredClone(graphDoc);
    failing.nodes[2].params.filename = '../x.json';
    const r3 = await host.handle(req('run', { runId: 'c', graph: failing }));
    expect(r3).toMatchObject({ ok: true, result: { status: 'failed' } });
    expect(events.at(-1)).toMatchObject({ type: 'run.failed', runId: 'c', nodeId: 'save' });
    const unknown = await host.handle(req('explode'));
    expect(unknown).toMatchObject({ ok: false, error: { message: 'unknown method "explode"' } });
  });

  it('cancels a run by id', async () => {
    const host = new EngineHost({ graphsDir: 'graphs', registry: testRegistry() });
    const g = {
      format: 'steer-graph', version: 1, meta: {},
      nodes: [{ id: 's', type: 'test.slow', typeVersion: 1, params: { ms: 5000 }, position: { x: 0, y: 0 } }],
      edges: [],
    };
    host.onEvent((e) => {
      if (e.type === 'node.started') void host.handle(req('cancel', { runId: 'slow' }));
    });
    const t0 = performance.now();
    const r = await host.handle(req('run', { runId: 'slow', graph: g }));
    expect(r).toMatchObject({ ok: true, result: { status: 'cancelled' } });
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(await host.handle(req('cancel', { runId: 'slow' }))).toMatchObject({ ok: true, result: { cancelled: false } });
  });
});
