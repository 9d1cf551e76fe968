/** Shared by the Chromium tests: build the renderer, launch Debian's chromium, open pages that record errors. */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { build } from 'vite';
import { ROOT } from './helpers.ts';

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
