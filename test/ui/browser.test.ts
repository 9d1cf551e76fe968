/**
 * The real thing in a real browser: build the renderer with Vite, serve it with `startServer`
 * over a real EngineHost, and drive Chromium (playwright-core, system chromium) against it.
 */
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EngineHost } from '../../src/engine/host.ts';
import { startServer, type RunningServer } from '../../src/server/index.ts';
import { SOCKET_TYPES } from '../../src/shared/sockets.ts';
import { makeHost, MISSING_TYPE_GRAPH, ROOT, RUNNABLE_GRAPH, tempDir, writeGraphs } from './helpers.ts';

const CHROMIUM = process.env.STEER_CHROMIUM ?? '/usr/bin/chromium';
const RESULTS = path.join(ROOT, 'test-results');
const tmp = tempDir('browser');
const staticDir = path.join(tmp.dir, 'renderer');
const graphsDir = path.join(tmp.dir, 'graphs');

let browser: Browser;
let host: EngineHost;
let server: RunningServer;

function rgb(hex: string): string {
  const n = parseInt(hex.slice(1), 16);
  return `rgb(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255})`;
}

/** A page that records uncaught errors and React Flow's console complaints. */
async function openPage(url: string): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error' || (msg.type() === 'warning' && msg.text().includes('React Flow'))) problems.push(`${msg.type()}: ${msg.text()}`);
  });
  await page.goto(url);
  return { page, problems };
}

beforeAll(async () => {
  await build({
    configFile: path.join(ROOT, 'vite.renderer.config.ts'),
    logLevel: 'warn',
    build: { outDir: staticDir, emptyOutDir: true, sourcemap: false },
  });
  writeGraphs(graphsDir, { 'parse.json': RUNNABLE_GRAPH, 'missing.json': MISSING_TYPE_GRAPH });
  host = makeHost(graphsDir, path.join(tmp.dir, 'cache'));
  server = await startServer({ graphsDir, staticDir, engine: host });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  mkdirSync(RESULTS, { recursive: true });
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
    const list = page.locator('[data-testid=graph-list] button');
    await expect.poll(() => list.allTextContents()).toEqual(['missing', 'parse']);

    await list.filter({ hasText: 'missing' }).click();
    const parse = page.locator('[data-testid=node-parse]');
    const ghost = page.locator('[data-testid=node-ghost]');
    await ghost.waitFor();
    expect(await page.locator('[data-testid=graph-name]').textContent()).toBe('Has a missing node');
    expect(await parse.locator('[data-testid=node-title]').textContent()).toBe('Parse it');
    expect(await parse.locator('[data-testid=node-type]').textContent()).toBe('prompt.parse');
    expect(await parse.getAttribute('data-missing')).toBe('false');
    expect(await parse.locator('[data-testid=param-text]').textContent()).toContain('a cat above a dog');

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
    await page.screenshot({ path: path.join(RESULTS, 'ui-graph.png') });

    // Running it fails up front, with the issues shown, and nothing crashes.
    await page.locator('[data-testid=run]').click();
    await page.locator('[data-testid=run-status][data-status=failed]').waitFor();
    expect(problems).toEqual([]);
    await page.close();
  });

  it('runs a graph: node status and the table preview arrive from engine events', async () => {
    const { page, problems } = await openPage(server.url);
    await page.locator('[data-testid=graph-list] button', { hasText: 'parse' }).click();
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
    await page.screenshot({ path: path.join(RESULTS, 'ui-run.png') });

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
    await page.close();
  });

  it("lists the repository's graphs/ folder and opens each graph without crashing", async () => {
    const repoGraphs = path.join(ROOT, 'graphs');
    const files = existsSync(repoGraphs) ? readdirSync(repoGraphs).filter((f) => f.endsWith('.json')) : [];
    if (files.length === 0) return; // the lead adds graphs later; nothing to check yet
    const repoHost = makeHost(repoGraphs, path.join(tmp.dir, 'cache-repo'));
    const repoServer = await startServer({ graphsDir: repoGraphs, staticDir, engine: repoHost });
    try {
      const { page, problems } = await openPage(repoServer.url);
      const list = page.locator('[data-testid=graph-list] button');
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
