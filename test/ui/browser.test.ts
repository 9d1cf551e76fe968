/**
 * The real thing in a real browser: build the renderer with Vite, serve it with `startServer`
 * over a real EngineHost, and drive Chromium (playwright-core, system chromium) against it.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EngineHost } from '../../src/engine/host.ts';
import { startServer, type RunningServer } from '../../src/server/index.ts';
import type { GraphFile } from '../../src/shared/graph.ts';
import { SOCKET_TYPES } from '../../src/shared/sockets.ts';
import { buildRenderer, launchChromium, openPage as open, rgb, shot } from './browser-helpers.ts';
import { makeHost, MISSING_TYPE_GRAPH, ROOT, RUNNABLE_GRAPH, tempDir, writeGraphs } from './helpers.ts';

const tmp = tempDir('browser');
const staticDir = path.join(tmp.dir, 'renderer');
const graphsDir = path.join(tmp.dir, 'graphs');

let browser: Browser;
let host: EngineHost;
let server: RunningServer;

const openPage = (url: string) => open(browser, url);

/** A graph of `n` Text nodes in a grid, chained in rows (for fit-to-view and the minimap). */
export function gridGraph(n: number, name: string): GraphFile {
  const cols = 25;
  return {
    format: 'steer-graph',
    version: 1,
    meta: { name },
    nodes: Array.from({ length: n }, (_, i) => ({
      id: `t${i}`,
      type: 'primitive.text',
      typeVersion: 1,
      params: { text: `node ${i}` },
      position: { x: (i % cols) * 320, y: Math.floor(i / cols) * 240 },
    })),
    edges: [],
  };
}

beforeAll(async () => {
  await buildRenderer(staticDir);
  writeGraphs(graphsDir, { 'parse.json': RUNNABLE_GRAPH, 'missing.json': MISSING_TYPE_GRAPH, 'zz-big.json': gridGraph(500, 'Big') });
  host = makeHost(graphsDir, path.join(tmp.dir, 'cache'));
  server = await startServer({ graphsDir, staticDir, engine: host });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  host?.dispose();
  tmp.cleanup();
});

describe('browser mode in Chromium', () => {
  it('draws a graph read-only: titles, typed socket handles, edges, and a missing node type in red', async () => {
    const { page, problems } = await openPage(server.url);
    await page.locator('[data-testid=connection][data-state=open]').waitFor();
    await expect.poll(() => page.locator('[data-testid=catalogue-count]').textContent()).toMatch(/^\d+ node types$/);
    const list = page.locator('[data-testid=graph-list] [data-graph]');
    await expect.poll(() => list.allTextContents()).toEqual(['missing', 'parse', 'zz-big']);

    await list.filter({ hasText: 'missing' }).click();
    const parse = page.locator('[data-testid=node-parse]');
    const ghost = page.locator('[data-testid=node-ghost]');
    await ghost.waitFor();
    expect(await page.locator('[data-testid=graph-name]').textContent()).toBe('Has a missing node');
    expect(await parse.locator('[data-testid=node-title]').textContent()).toBe('Parse it');
    expect(await parse.locator('[data-testid=node-type]').textContent()).toBe('prompt.parse · parse');
    expect(await parse.getAttribute('data-missing')).toBe('false');
    expect(await parse.getByRole('textbox', { name: 'Prompt' }).inputValue()).toBe('a cat above a dog');

    // Handles carry the socket ids and the catalogue's socket colours.
    const input = page.locator('.react-flow__handle[data-nodeid=parse][data-handleid=text]');
    const output = page.locator('.react-flow__handle[data-nodeid=parse][data-handleid=prompt]');
    expect(await input.count()).toBe(1);
    expect(await output.count()).toBe(1);
    expect(await output.evaluate((el) => getComputedStyle(el).backgroundColor)).toBe(rgb(SOCKET_TYPES.PROMPT.color));
    expect(await input.evaluate((el) => getComputedStyle(el).backgroundColor)).toBe(rgb(SOCKET_TYPES.STRING.color));

    // The unknown type is drawn, flagged, and still wired.
    expect(await ghost.getAttribute('data-missing')).toBe('true');
    expect(await ghost.locator('[data-testid=node-title]').textContent()).toBe('Ghost');
    expect(await ghost.locator('[data-testid=node-missing]').textContent()).toBe('missing node type');
    expect(await ghost.evaluate((el) => getComputedStyle(el).borderTopColor)).toBe(rgb('#ef4444'));
    expect(await page.locator('.react-flow__handle[data-nodeid=ghost][data-handleid=prompt]').count()).toBe(1);
    await expect.poll(() => page.locator('.react-flow__edge').count()).toBe(1);

    // The engine's validation explains the problem.
    await expect.poll(() => page.locator('[data-testid=issues]').textContent()).toContain('ghost');
    // Clicking the node named in a problem selects it.
    await page.locator('[data-testid=issues] button', { hasText: 'ghost' }).first().click();
    await expect.poll(() => page.locator('.react-flow__node.selected').getAttribute('data-id')).toBe('ghost');
    // Unknown params of the missing type are shown, and kept.
    expect(await ghost.locator('[data-testid=param-strength]').textContent()).toContain('0.5');
    await page.screenshot({ path: shot('ui-graph.png') });

    // Running it fails up front, with the issues shown, and nothing crashes.
    await page.locator('[data-testid=run]').click();
    await page.locator('[data-testid=run-status][data-status=failed]').waitFor();
    expect(problems).toEqual([]);
    await page.close();
  });

  it('runs a graph: node status and the table preview arrive from engine events', async () => {
    const { page, problems } = await openPage(server.url);
    await page.locator('[data-testid=graph-list] [data-graph]', { hasText: 'parse' }).click();
    await page.locator('[data-testid=node-parse]').waitFor();
    expect(await page.locator('[data-testid=node-text] [data-testid=node-title]').textContent()).toBe('Prompt text');
    expect(await page.locator('[data-testid=node-parse] [data-testid=node-title]').textContent()).toBe('Prompt Parse');
    await page.locator('[data-testid=run]:not([disabled])').click();
    await page.locator('[data-testid=run-status][data-status=finished]').waitFor({ timeout: 30_000 });
    expect(await page.locator('[data-testid=node-parse]').getAttribute('data-status')).toMatch(/^(finished|cached)$/);
    const table = page.locator('[data-testid=node-panel-parse] [data-testid=preview-table]');
    await table.waitFor();
    const text = await table.textContent();
    expect(text).toContain('Relations');
    expect(text).toContain('left');
    await page.screenshot({ path: shot('ui-run.png') });

    // A second run hits the cache.
    await page.locator('[data-testid=run]').click();
    await page.locator('[data-testid=run-status][data-status=finished]').waitFor({ timeout: 30_000 });
    await expect.poll(() => page.locator('[data-testid=node-parse]').getAttribute('data-status')).toBe('cached');
    expect(problems).toEqual([]);
    await page.close();
  });

  it('a page without the right token gets no engine, and says so', async () => {
    const { page } = await openPage(server.url.replace(/token=[0-9a-f]+/, 'token=wrong'));
    await page.locator('[data-testid=connection][data-state=closed]').waitFor();
    expect(await page.getByRole('alert').textContent()).toContain('token');
    // The footer says what is wrong, also while the client keeps retrying.
    await expect.poll(() => page.locator('[data-testid=catalogue-count]').textContent()).toBe('no node types: not connected to the engine');
    await page.waitForTimeout(1200);
    expect(await page.locator('[data-testid=catalogue-count]').textContent()).toBe('no node types: not connected to the engine');
    await page.close();
  });

  it('reconnects when the server comes back (same port and token), and loads the node types again', async () => {
    const token = 'restart-token-0123456789';
    const first = await startServer({ graphsDir, staticDir, engine: host, token });
    const { page, problems } = await openPage(first.url);
    await page.locator('[data-testid=catalogue-count]', { hasText: /^\d+ node types$/ }).waitFor();
    await first.close();
    await page.locator('[data-testid=connection][data-state=closed]').waitFor();
    const again = await startServer({ graphsDir, staticDir, engine: host, token, port: first.port });
    try {
      await page.locator('[data-testid=connection][data-state=open]').waitFor({ timeout: 15_000 });
      await page.locator('[data-testid=catalogue-count]', { hasText: /^\d+ node types$/ }).waitFor();
      await expect.poll(() => page.locator('[data-testid=graph-list] [data-graph]').count()).toBe(3);
      expect(problems.filter((p) => !p.includes('WebSocket'))).toEqual([]);
    } finally {
      await page.close();
      await again.close();
    }
  });

  it('fits the view to the graph just opened (not the previous one) and draws every node in the minimap', async () => {
    const { page, problems } = await openPage(server.url);
    const list = page.locator('[data-testid=graph-list] [data-graph]');
    await list.filter({ hasText: 'parse' }).click();
    await page.locator('[data-testid=node-parse]').waitFor();
    await list.filter({ hasText: 'zz-big' }).click();
    await expect.poll(() => page.locator('.react-flow__node').count(), { timeout: 20_000 }).toBe(500);
    const canvas = (await page.locator('[data-testid=canvas]').boundingBox())!;
    const inside = () =>
      page.locator('.react-flow__node').evaluateAll(
        (els, c) =>
          els.filter((e) => {
            const r = e.getBoundingClientRect();
            return r.left >= c.x - 1 && r.top >= c.y - 1 && r.right <= c.x + c.width + 1 && r.bottom <= c.y + c.height + 1;
          }).length,
        canvas,
      );
    await expect.poll(inside, { timeout: 10_000 }).toBe(500);
    // The minimap (a canvas, redrawn only when nodes change) has a box for every node.
    const minimap = page.locator('[data-testid=minimap]');
    expect(await minimap.getAttribute('data-drawn')).toBe('500');
    expect(await minimap.getAttribute('aria-label')).toBe('Minimap: 500 nodes');
    const painted = await minimap.locator('canvas').evaluate((c: HTMLCanvasElement) => {
      const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 3; i < d.length; i += 4) if (d[i]! > 0) n++;
      return n / (c.width * c.height);
    });
    expect(painted).toBeGreaterThan(0.2);
    // That far out, nodes are titled boxes: widgets and sockets are not drawn (but keep their size).
    expect(await page.locator('[data-testid=flow]').getAttribute('class')).toContain('studio-far');
    expect(await page.locator('[data-testid=node-t0]').getByRole('textbox', { name: 'Text' }).isVisible()).toBe(false);
    expect(await page.locator('[data-testid=node-t0] [data-testid=node-title]').isVisible()).toBe(true);
    await page.screenshot({ path: shot('ui-fit-500.png') });
    // A click on it leaves the view; a drag on it pans the view.
    const viewport = () => page.locator('.react-flow__viewport').getAttribute('style');
    const before = await viewport();
    const mm = (await minimap.boundingBox())!;
    await page.mouse.click(mm.x + 12, mm.y + 12);
    expect(await viewport()).toBe(before);
    await page.mouse.move(mm.x + 100, mm.y + 75);
    await page.mouse.down();
    await page.mouse.move(mm.x + 60, mm.y + 60, { steps: 3 });
    await page.mouse.up();
    await expect.poll(viewport).not.toBe(before);
    // And back to the small one: it fills the view again.
    await list.filter({ hasText: 'parse' }).click();
    await expect.poll(() => page.locator('.react-flow__node').count()).toBe(2);
    await expect.poll(async () => (await page.locator('[data-testid=node-parse]').boundingBox())!.width).toBeGreaterThan(200);
    // Close up, the dot grid shows: one dot per 24 flow pixels.
    const zoom = await page.locator('.react-flow__viewport').evaluate((el) => new DOMMatrix(getComputedStyle(el).transform).a);
    const dots = page.locator('[data-testid=canvas-dots]');
    await expect.poll(() => dots.evaluate((el) => getComputedStyle(el).visibility)).toBe('visible');
    expect(parseFloat(await dots.evaluate((el) => el.style.backgroundSize))).toBeCloseTo(24 * zoom, 3);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('selecting or dragging one node of 500 re-renders that node only', async () => {
    const { page, problems } = await openPage(`${server.url}&renders=1`);
    await page.locator('[data-testid=graph-list] [data-graph]', { hasText: 'zz-big' }).click();
    await page.locator('[data-testid=flow][data-fitted=true]').waitFor({ timeout: 20_000 });
    await page.locator('.react-flow__controls-zoomin').click(); // (any view change settles first)
    await page.waitForTimeout(300);
    const renders = () => page.evaluate(() => ({ ...(window as unknown as { __steerRenders: Record<string, number> }).__steerRenders }));
    const delta = (a: Record<string, number>, b: Record<string, number>) => Object.keys(b).filter((k) => b[k] !== a[k]);
    const before = await renders();
    expect(Object.keys(before)).toHaveLength(500);
    await page.locator('[data-testid=node-t260] [data-testid=node-title]').click();
    await expect.poll(() => page.locator('.react-flow__node.selected').getAttribute('data-id')).toBe('t260');
    await page.waitForTimeout(200);
    const afterSelect = await renders();
    expect(delta(before, afterSelect)).toEqual(['t260']);
    await page.locator('[data-testid=node-t261] [data-testid=node-title]').click();
    await page.waitForTimeout(200);
    expect(delta(afterSelect, await renders()).sort()).toEqual(['t260', 't261']);
    const box = (await page.locator('[data-testid=node-t261] [data-testid=node-title]').boundingBox())!;
    const beforeDrag = await renders();
    await page.mouse.move(box.x + 3, box.y + 3);
    await page.mouse.down();
    for (let i = 1; i <= 10; i++) await page.mouse.move(box.x + 3 + i * 5, box.y + 3 + i * 3);
    await page.mouse.up();
    await page.waitForTimeout(200);
    // A drag moves the node without re-rendering any node's content.
    expect(delta(beforeDrag, await renders())).toEqual([]);
    expect(problems).toEqual([]);
    await page.close();
  });

  it("lists the repository's graphs/ folder and opens each graph without crashing", async () => {
    const repoGraphs = path.join(ROOT, 'graphs');
    const files = existsSync(repoGraphs) ? readdirSync(repoGraphs).filter((f) => f.endsWith('.json')) : [];
    if (files.length === 0) return; // the lead adds graphs later; nothing to check yet
    const repoHost = makeHost(repoGraphs, path.join(tmp.dir, 'cache-repo'));
    const repoServer = await startServer({ graphsDir: repoGraphs, staticDir, engine: repoHost });
    try {
      const { page, problems } = await open(browser, repoServer.url);
      const list = page.locator('[data-testid=graph-list] [data-graph]');
      await expect.poll(() => list.count()).toBe(files.length);
      for (let i = 0; i < files.length; i++) {
        await list.nth(i).click();
        await expect.poll(() => page.locator('.react-flow__node').count()).toBeGreaterThan(0);
      }
      expect(problems).toEqual([]);
      await page.close();
    } finally {
      await repoServer.close();
      repoHost.dispose();
    }
  });
});
