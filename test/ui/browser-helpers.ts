/** Shared by the Chromium tests: build the renderer, launch Debian's chromium, open pages that record errors. */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { build } from 'vite';
import type { NodeRegistry } from '../../src/engine/graph/registry.ts';
import { EngineHost } from '../../src/engine/host.ts';
import { startServer } from '../../src/server/index.ts';
import { ROOT, tempDir, writeGraphs } from './helpers.ts';

export const CHROMIUM = process.env.STEER_CHROMIUM ?? '/usr/bin/chromium';
export const RESULTS = path.join(ROOT, 'test-results');

export async function buildRenderer(outDir: string): Promise<void> {
  await build({
    configFile: path.join(ROOT, 'vite.renderer.config.ts'),
    logLevel: 'warn',
    build: { outDir, emptyOutDir: true, sourcemap: false },
  });
}

export async function launchChromium(): Promise<Browser> {
  mkdirSync(RESULTS, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

/** A page that records uncaught errors and React Flow's console complaints. */
export async function openPage(target: Browser | BrowserContext, url: string): Promise<{ page: Page; problems: string[] }> {
  const viewport = { width: 1440, height: 900 };
  let page: Page;
  if ('newContext' in target) page = await target.newPage({ viewport });
  else {
    page = await target.newPage();
    await page.setViewportSize(viewport);
  }
  // Fail fast with the locator in the message, well before the test's own timeout.
  page.setDefaultTimeout(10_000);
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error' || (msg.type() === 'warning' && msg.text().includes('React Flow'))) problems.push(`${msg.type()}: ${msg.text()}`);
  });
  await page.goto(url);
  return { page, problems };
}

export function rgb(hex: string): string {
  const n = parseInt(hex.slice(1), 16);
  return `rgb(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255})`;
}

export function shot(name: string): string {
  return path.join(RESULTS, name);
}

/** A studio to drive: a real EngineHost over `registry`, `startServer` over a fresh renderer build, Chromium on it, the catalogue loaded. */
export interface Studio {
  dir: string;
  graphsDir: string;
  page: Page;
  /** Page errors and React Flow complaints so far. */
  problems: string[];
  close(): Promise<void>;
}

export async function startStudio(name: string, registry: NodeRegistry, graphs: Record<string, unknown> = {}): Promise<Studio> {
  const tmp = tempDir(name);
  const graphsDir = path.join(tmp.dir, 'graphs');
  await buildRenderer(path.join(tmp.dir, 'renderer'));
  writeGraphs(graphsDir, graphs);
  const host = new EngineHost({ graphsDir, cacheDir: path.join(tmp.dir, 'cache'), outputDir: path.join(tmp.dir, 'out'), registry });
  const server = await startServer({ graphsDir, staticDir: path.join(tmp.dir, 'renderer'), engine: host, outputDir: path.join(tmp.dir, 'out') });
  const browser = await launchChromium();
  const { page, problems } = await openPage(browser, server.url);
  await page.locator('[data-testid=connection][data-state=open]').waitFor();
  await page.locator('[data-testid=catalogue-count]', { hasText: /^\d+ node types$/ }).waitFor();
  return {
    dir: tmp.dir,
    graphsDir,
    page,
    problems,
    async close() {
      await browser.close();
      await server.close();
      host.dispose();
      tmp.cleanup();
    },
  };
}

/** Open a file from the graph list; resolves once `nodeId` is on the canvas and the view is fitted to it. */
export async function openFromList(page: Page, name: string, nodeId: string): Promise<void> {
  await page.locator('[data-testid=graph-list] [data-graph]', { hasText: name }).click();
  await page.locator(`[data-testid=node-${nodeId}]`).waitFor();
  await page.locator('[data-testid=flow][data-fitted=true]').waitFor();
}

export async function centerOf(l: Locator): Promise<{ x: number; y: number }> {
  const b = (await l.boundingBox())!;
  return { x: b.x + b.width / 2, y: b.y + b.height / 2 };
}

/** Press on one socket, move to another (or a point) with the button held, and release there. */
export async function dragLink(page: Page, from: Locator, to: Locator | { x: number; y: number }, beforeRelease?: () => Promise<void>): Promise<void> {
  const a = await centerOf(from);
  const b = 'x' in to ? to : await centerOf(to);
  await page.mouse.move(a.x, a.y);
  await page.mouse.down();
  await page.mouse.move((a.x + b.x) / 2, (a.y + b.y) / 2, { steps: 4 });
  await page.mouse.move(b.x, b.y, { steps: 4 });
  await beforeRelease?.();
  await page.mouse.up();
}
