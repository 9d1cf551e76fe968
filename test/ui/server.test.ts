import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startServer, type RunningServer } from '../../src/server/index.ts';
import type { EngineEvent } from '../../src/shared/events.ts';
import type { Catalogue } from '../../src/shared/catalogue.ts';
import type { ServerMessage } from '../../src/shared/protocol.ts';
import { makeHost, MISSING_TYPE_GRAPH, ROOT, RUNNABLE_GRAPH, tempDir, writeGraphs } from './helpers.ts';

const tmp = tempDir('server');
const graphsDir = path.join(tmp.dir, 'graphs');
const staticDir = path.join(tmp.dir, 'static');
const host = makeHost(graphsDir, path.join(tmp.dir, 'cache'));
let server: RunningServer;

function wsUrl(token: string | null, pathname = '/ws'): string {
  return `ws://127.0.0.1:${server.port}${pathname}${token === null ? '' : `?token=${token}`}`;
}

/** Connects; resolves with the socket, or rejects with the HTTP status of a refused handshake. */
function connect(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode })));
    ws.once('error', reject);
  });
}

function collect(ws: WebSocket): ServerMessage[] {
  const got: ServerMessage[] = [];
  ws.on('message', (d) => got.push(JSON.parse(String(d)) as ServerMessage));
  return got;
}

async function waitFor<T>(fn: () => T | undefined, ms = 5000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}

beforeAll(async () => {
  writeGraphs(graphsDir, { 'parse.json': RUNNABLE_GRAPH, 'missing.json': MISSING_TYPE_GRAPH });
  mkdirSync(path.join(staticDir, 'assets'), { recursive: true });
  writeFileSync(path.join(staticDir, 'index.html'), '<!doctype html><title>studio</title>');
  writeFileSync(path.join(staticDir, 'assets', 'app.js'), 'console.log(1)');
  writeFileSync(path.join(staticDir, 'assets', 'app.js.map'), '{"version":3}');
  writeFileSync(path.join(tmp.dir, 'secret.txt'), 'do not serve');
  server = await startServer({ graphsDir, staticDir, engine: host });
});

afterAll(async () => {
  await server?.close();
  host.dispose();
  tmp.cleanup();
});

describe('steer serve: server', () => {
  it('binds to 127.0.0.1 with a random 32-hex token in the URL', () => {
    expect(server.token).toMatch(/^[0-9a-f]{32}$/);
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/?token=${server.token}`);
  });

  it('rejects WebSockets without the token or with a wrong one (401)', async () => {
    await expect(connect(wsUrl(null))).rejects.toMatchObject({ status: 401 });
    await expect(connect(wsUrl('0'.repeat(32)))).rejects.toMatchObject({ status: 401 });
    await expect(connect(wsUrl(server.token.slice(0, 31)))).rejects.toMatchObject({ status: 401 });
    await expect(connect(wsUrl(server.token, '/other'))).rejects.toMatchObject({ status: 404 });
  });

  it('answers a catalogue request over the WebSocket', async () => {
    const ws = await connect(wsUrl(server.token));
    const got = collect(ws);
    ws.send(JSON.stringify({ kind: 'request', id: 7, method: 'catalogue', params: {} }));
    const res = await waitFor(() => got.find((m) => m.kind === 'response' && m.id === 7));
    expect(res).toMatchObject({ kind: 'response', id: 7, ok: true });
    const catalogue = (res as { result: Catalogue }).result;
    expect(catalogue.nodes.map((n) => n.type)).toContain('prompt.parse');
    expect(catalogue.sockets.PROMPT?.color).toMatch(/^#/);
    ws.close();
  });

  it('lists and reads graphs from the graphs folder, refusing paths outside it', async () => {
    const ws = await connect(wsUrl(server.token));
    const got = collect(ws);
    ws.send(JSON.stringify({ kind: 'request', id: 1, method: 'listGraphs', params: {} }));
    ws.send(JSON.stringify({ kind: 'request', id: 2, method: 'readGraph', params: { path: 'parse.json' } }));
    ws.send(JSON.stringify({ kind: 'request', id: 3, method: 'readGraph', params: { path: '../secret.txt' } }));
    const r1 = await waitFor(() => got.find((m) => m.kind === 'response' && m.id === 1));
    const r2 = await waitFor(() => got.find((m) => m.kind === 'response' && m.id === 2));
    const r3 = await waitFor(() => got.find((m) => m.kind === 'response' && m.id === 3));
    expect((r1 as { result: { graphs: { name: string }[] } }).result.graphs.map((g) => g.name).sort()).toEqual(['missing', 'parse']);
    expect((r2 as { result: { graph: { meta: { name: string } } } }).result.graph.meta.name).toBe('Parse a prompt');
    expect(r3).toMatchObject({ ok: false });
    ws.close();
  });

  it('answers malformed requests with errors and closes on garbage', async () => {
    const ws = await connect(wsUrl(server.token));
    const got = collect(ws);
    ws.send(JSON.stringify({ kind: 'request', id: 5, method: 'rm -rf', params: {} }));
    const r = await waitFor(() => got.find((m) => m.kind === 'response' && m.id === 5));
    expect(r).toMatchObject({ ok: false, error: { message: expect.stringContaining('unknown method') } });
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    ws.send('not json');
    expect(await closed).toBe(1008);
  });

  it('relays a run: events reach every client, the response says how it ended', async () => {
    const a = await connect(wsUrl(server.token));
    const b = await connect(wsUrl(server.token));
    const gotA = collect(a);
    const gotB = collect(b);
    a.send(JSON.stringify({ kind: 'request', id: 1, method: 'run', params: { runId: 'r1', graph: RUNNABLE_GRAPH } }));
    const res = await waitFor(() => gotA.find((m) => m.kind === 'response' && m.id === 1), 20_000);
    expect(res).toMatchObject({ ok: true, result: { status: 'finished' } });
    const events = (got: ServerMessage[]) => got.filter((m) => m.kind === 'event').map((m) => (m as { event: EngineEvent }).event);
    const typesA = events(gotA).map((e) => e.type);
    expect(typesA[0]).toBe('run.started');
    expect(typesA).toContain('node.finished');
    expect(typesA.at(-1)).toBe('run.finished');
    expect(events(gotA).some((e) => e.type === 'node.preview' && e.preview.kind === 'table')).toBe(true);
    await waitFor(() => (events(gotB).some((e) => e.type === 'run.finished') ? true : undefined));
    a.close();
    b.close();
  });

  it('serves the built UI and refuses to leave the static folder', async () => {
    const base = `http://127.0.0.1:${server.port}`;
    const index = await fetch(`${base}/?token=${server.token}`);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toContain('text/html');
    expect(await index.text()).toContain('<title>studio</title>');
    expect((await fetch(`${base}/assets/app.js`)).headers.get('content-type')).toContain('javascript');
    expect((await fetch(`${base}/assets/nope.js`)).status).toBe(404);
    expect((await fetch(`${base}/%2e%2e/secret.txt`)).status).toBeGreaterThanOrEqual(403);
    expect((await fetch(`${base}/`, { method: 'POST' })).status).toBe(405);
  });

  it('uses a given token and closes cleanly', async () => {
    const s = await startServer({ graphsDir, staticDir, engine: host, token: 'fixed-token-for-test-0123' });
    expect(s.url).toContain('token=fixed-token-for-test-0123');
    const ws = await connect(`ws://127.0.0.1:${s.port}/ws?token=fixed-token-for-test-0123`);
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    await s.close();
    expect(await closed).toBe(1001);
  });

  it('sends a CSP that forbids framing, and serves source maps only in dev', async () => {
    const base = `http://127.0.0.1:${server.port}`;
    const index = await fetch(`${base}/`);
    const csp = index.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(index.headers.get('x-frame-options')).toBe('DENY');
    expect((await fetch(`${base}/assets/app.js.map`)).status).toBe(403);
    const dev = await startServer({ graphsDir, staticDir, engine: host, dev: true });
    try {
      expect((await fetch(`http://127.0.0.1:${dev.port}/assets/app.js.map`)).status).toBe(200);
    } finally {
      await dev.close();
    }
  });

  it('refuses a Host header that is not a loopback name (DNS rebinding) and a WebSocket from another origin', async () => {
    const status = (headers: Record<string, string>, pathname = '/') =>
      new Promise<number>((resolve, reject) => {
        const req = httpRequest({ host: '127.0.0.1', port: server.port, path: pathname, headers }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end();
      });
    expect(await status({ host: `evil.example:${server.port}` })).toBe(421);
    expect(await status({ host: `localhost:${server.port}` })).toBe(200);
    expect(await status({ host: `[::1]:${server.port}` })).toBe(200);
    const ws = (origin: string, host?: string) =>
      new Promise<number>((resolve) => {
        const c = new WebSocket(wsUrl(server.token), { origin, headers: host ? { host } : {} });
        c.once('open', () => {
          c.close();
          resolve(101);
        });
        c.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        c.once('error', () => resolve(-1));
      });
    expect(await ws('http://evil.example')).toBe(403);
    expect(await ws(`http://localhost:${server.port}`)).toBe(403);
    expect(await ws(`http://127.0.0.1:${server.port}`)).toBe(101);
    expect(await ws(`http://127.0.0.1:${server.port}`, `rebound.example:${server.port}`)).toBe(421);
  });

  it('writes graphs into the graphs folder: atomic, canonical, conflicts and outside paths refused', async () => {
    const c = await connect(wsUrl(server.token));
    const got = collect(c);
    let id = 100;
    const call = async (method: string, params: unknown) => {
      const my = ++id;
      c.send(JSON.stringify({ kind: 'request', id: my, method, params }));
      return (await waitFor(() => got.find((m) => m.kind === 'response' && m.id === my))) as { ok: boolean; result?: any; error?: { message: string; issues?: { code: string }[] } };
    };
    const saved = await call('writeGraph', { path: 'new-one.json', graph: RUNNABLE_GRAPH });
    expect(saved).toMatchObject({ ok: true, result: { path: 'new-one.json', revision: expect.stringMatching(/^[0-9a-f]{16}$/) } });
    const file = path.join(graphsDir, 'new-one.json');
    expect(readFileSync(file, 'utf8')).toBe(`${JSON.stringify(RUNNABLE_GRAPH, null, 2)}\n`);
    expect(readdirSync(graphsDir).filter((f) => f.includes('.tmp'))).toEqual([]);
    // Saving again as a new file: the name is taken.
    const again = await call('writeGraph', { path: 'new-one.json', graph: RUNNABLE_GRAPH });
    expect(again).toMatchObject({ ok: false, error: { message: expect.stringContaining('already exists'), issues: [{ code: 'conflict' }] } });
    // A save of the file as opened goes through; one made against an older revision does not.
    const read = await call('readGraph', { path: 'new-one.json' });
    expect(read.result.revision).toBe(saved.result.revision);
    const edited = { ...RUNNABLE_GRAPH, meta: { name: 'edited' } };
    expect(await call('writeGraph', { path: 'new-one.json', graph: edited, baseRevision: read.result.revision })).toMatchObject({ ok: true });
    const stale = await call('writeGraph', { path: 'new-one.json', graph: RUNNABLE_GRAPH, baseRevision: read.result.revision });
    expect(stale).toMatchObject({ ok: false, error: { message: expect.stringContaining('changed on disk'), issues: [{ code: 'conflict' }] } });
    expect(await call('writeGraph', { path: 'new-one.json', graph: RUNNABLE_GRAPH, overwrite: true })).toMatchObject({ ok: true });
    for (const bad of ['../escape.json', '/tmp/abs.json', 'sub/../../x.json', 'no-extension', '.hidden.json']) {
      const r = await call('writeGraph', { path: bad, graph: RUNNABLE_GRAPH });
      expect(r.ok, bad).toBe(false);
    }
    expect(existsSync(path.join(tmp.dir, 'escape.json'))).toBe(false);
    const broken = await call('writeGraph', { path: 'broken.json', graph: { format: 'steer-graph', version: 1, nodes: [{ id: 'a' }], edges: [] } });
    expect(broken).toMatchObject({ ok: false, error: { message: expect.stringContaining('$.nodes[0]') } });
    const v0 = JSON.parse(readFileSync(path.join(ROOT, 'test/fixtures/graphs/v0-parse.json'), 'utf8'));
    const up = await call('upgradeGraph', { graph: v0 });
    expect(up).toMatchObject({ ok: true, result: { notes: [expect.stringContaining('version 0 upgraded to 1')], graph: { version: 1, nodes: [{ id: 'txt' }, { id: 'p' }] } } });
    expect((await call('upgradeGraph', { graph: RUNNABLE_GRAPH })).result).toEqual({ graph: RUNNABLE_GRAPH, notes: [] });
    const listed = await call('listFiles', { root: 'graphs', dir: '' });
    expect(listed.result.entries).toContainEqual({ name: 'new-one.json', kind: 'file' });
    expect(await call('listFiles', { root: 'graphs', dir: '..' })).toMatchObject({ ok: false, error: { message: expect.stringContaining('outside') } });
    expect(await call('listFiles', { root: 'etc', dir: '' })).toMatchObject({ ok: false, error: { message: expect.stringContaining('unknown folder') } });
    const png = await call('graphFromPng', { pngBase64: Buffer.from('not a png').toString('base64') });
    expect(png).toMatchObject({ ok: false, error: { message: expect.stringContaining('not a PNG') } });
    c.close();
  });

  it('puts run outputs under its own output folder, not the graphs folder', async () => {
    const s = await startServer({ graphsDir, staticDir });
    try {
      expect(s.outputDir).toBe(path.resolve('out', 'serve'));
      expect(path.relative(graphsDir, s.outputDir).startsWith('..')).toBe(true);
    } finally {
      await s.close();
    }
  });
});
