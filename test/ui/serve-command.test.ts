import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ROOT, tempDir } from './helpers.ts';

const tmp = tempDir('serve-cmd');
afterAll(() => tmp.cleanup());

function steer(args: string[], env: Record<string, string>) {
  const graphs = path.join(tmp.dir, 'graphs');
  mkdirSync(graphs, { recursive: true });
  const child = spawn(process.execPath, [path.join(ROOT, 'bin/steer.mjs'), ...args, '--graphs', graphs], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, out: () => stdout, err: () => stderr };
}

describe('steer serve (command)', () => {
  it('exits 2 and says to run npm run build:renderer when the UI is not built', async () => {
    const r = steer(['serve', '--no-open'], { STEER_RENDERER_DIR: path.join(tmp.dir, 'not-built') });
    expect(await r.exited).toBe(2);
    expect(r.err()).toContain('npm run build:renderer');
  });

  it('rejects a bad port with exit 2', async () => {
    const r = steer(['serve', '--no-open', '--port', 'eighty'], { STEER_RENDERER_DIR: tmp.dir });
    expect(await r.exited).toBe(2);
    expect(r.err()).toContain('--port');
  });

  it('prints the URL with its token, serves the engine, and stops on SIGINT', async () => {
    const ui = path.join(tmp.dir, 'ui');
    mkdirSync(ui, { recursive: true });
    writeFileSync(path.join(ui, 'index.html'), '<!doctype html><title>ui</title>');
    const r = steer(['serve', '--no-open', '--port', '0'], { STEER_RENDERER_DIR: ui });
    const end = Date.now() + 30_000;
    let m: RegExpMatchArray | null = null;
    while (!(m = r.out().match(/http:\/\/127\.0\.0\.1:(\d+)\/\?token=([0-9a-f]{32})/)) && Date.now() < end) await new Promise((res) => setTimeout(res, 50));
    expect(m, r.err()).not.toBeNull();
    const [, port, token] = m!;
    expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toContain('<title>ui</title>');
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws?token=${token}`);
    const reply = await new Promise<string>((resolve, reject) => {
      ws.once('open', () => ws.send(JSON.stringify({ kind: 'request', id: 1, method: 'listGraphs', params: {} })));
      ws.once('message', (d) => resolve(String(d)));
      ws.once('error', reject);
    });
    expect(JSON.parse(reply)).toMatchObject({ kind: 'response', id: 1, ok: true, result: { graphs: [] } });
    r.child.kill('SIGINT');
    expect(await r.exited).toBe(0);
  });
});
