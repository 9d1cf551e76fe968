/**
 * The page's side of the Electron shell (components/ShellBridge.tsx) in Chromium against
 * `startServer` over a real EngineHost. Electron cannot start here, so `window.steerShell` is
 * a stand-in at exactly the preload's boundary (the same ShellApi; the preload's own checks
 * and the main process's are unit-tested in shell.test.ts): the test fires menu commands
 * through it and answers its dialogs, and checks what the real page and engine then do.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MenuCommand, OpenedFile, SavedFile } from '../../src/shared/protocol.ts';
import { openFromList, shot, startStudio, type Studio } from './browser-helpers.ts';
import { MISSING_TYPE_GRAPH, RUNNABLE_GRAPH, testRegistry } from './helpers.ts';

/** Runs in the page before the app: a ShellApi that records what the page asks and lets the test drive it. */
const STAND_IN = `
  window.__shell = { listeners: [], recent: [], saves: [], nextOpen: null, nextSave: null };
  window.steerShell = {
    onMenuCommand(l) { __shell.listeners.push(l); return () => { __shell.listeners = __shell.listeners.filter((x) => x !== l); }; },
    openDialog: async () => __shell.nextOpen,
    saveDialog: async (r) => { __shell.saves.push(r); return __shell.nextSave; },
    setRecent(p) { __shell.recent.push(p); },
  };
`;

let studio: Studio;
let page: Page;

beforeAll(async () => {
  studio = await startStudio('shell-bridge', testRegistry(), { 'parse.json': RUNNABLE_GRAPH, 'missing.json': MISSING_TYPE_GRAPH });
  page = studio.page;
  await page.addInitScript(STAND_IN);
  await page.reload();
  await page.locator('[data-testid=connection][data-state=open]').waitFor();
  await openFromList(page, 'parse', 'parse');
});

afterAll(() => studio?.close());

const fire = (c: MenuCommand) => page.evaluate((cmd) => (window as unknown as { __shell: { listeners: ((c: unknown) => void)[] } }).__shell.listeners.forEach((l) => l(cmd)), c);
const answer = (open: OpenedFile | null, save: SavedFile | null) =>
  page.evaluate(([o, s]) => Object.assign((window as unknown as { __shell: object }).__shell, { nextOpen: o, nextSave: s }), [open, save] as const);
const shellState = () => page.evaluate(() => (window as unknown as { __shell: { recent: string[][]; saves: { suggestedName: string; contents: string }[] } }).__shell);
const notice = () => page.locator('[data-testid=notice]').textContent();
const graphName = () => page.locator('[data-testid=graph-name]').textContent();

describe('native menu commands and dialogs, as the page runs them', () => {
  it('runs Edit, View and Help commands with the editor\'s own actions', async () => {
    // The recent list goes to the shell for File > Open Recent.
    await expect.poll(async () => (await shellState()).recent.at(-1)).toEqual(['parse.json']);

    await fire({ type: 'help' });
    await page.getByRole('dialog', { name: 'Keyboard shortcuts' }).waitFor();
    await page.keyboard.press('Escape');

    // Undo and Redo from the menu: the document's, outside a text field.
    const prompt = page.locator('[data-testid=node-text]').getByRole('textbox', { name: 'Text' });
    await prompt.fill('a cat above a dog');
    await page.locator('.react-flow__pane').click({ position: { x: 30, y: 30 } });
    await fire({ type: 'undo' });
    await expect.poll(() => prompt.inputValue()).toBe('a red circle to the left of a blue square');
    await fire({ type: 'redo' });
    await expect.poll(() => prompt.inputValue()).toBe('a cat above a dog');
    await fire({ type: 'undo' });
    await expect.poll(() => page.locator('[data-testid=dirty]').count()).toBe(0);

    // Fit: zoomed in, the menu brings the whole graph back into view.
    const viewport = () => page.locator('.react-flow__viewport').getAttribute('style');
    const fitted = await viewport();
    for (let i = 0; i < 3; i++) await page.locator('.react-flow__controls-zoomin').click();
    await expect.poll(viewport).not.toBe(fitted);
    await fire({ type: 'fit' });
    await expect.poll(viewport).toBe(fitted);
  });

  it('opens what the native dialog picked: a file from elsewhere as a new graph, a graph of the folder by its path, a recent file', async () => {
    await answer({ kind: 'json', name: 'from-usb', text: JSON.stringify(MISSING_TYPE_GRAPH) }, null);
    await fire({ type: 'open' });
    await expect.poll(graphName).toBe('Has a missing node');
    expect(await notice()).toContain('opened from-usb.json from outside the graphs folder');
    expect(await page.locator('[data-testid=graph-path]').textContent()).toBe('(not saved)');

    await answer({ kind: 'graph', graphPath: 'parse.json' }, null);
    await fire({ type: 'open' });
    await expect.poll(() => page.locator('[data-testid=graph-path]').textContent()).toBe('parse.json');

    await fire({ type: 'openRecent', path: 'missing.json' });
    await expect.poll(() => page.locator('[data-testid=graph-path]').textContent()).toBe('missing.json');
    await expect.poll(async () => (await shellState()).recent.at(-1)).toEqual(['missing.json', 'parse.json']);
  });

  it('saves through the native dialog: into the graphs folder through the engine, or as an exported copy elsewhere', async () => {
    await answer(null, { kind: 'graph', graphPath: 'by-menu.json' });
    await fire({ type: 'saveAs' });
    await expect.poll(notice).toContain('saved by-menu.json');
    const request = (await shellState()).saves.at(-1)!;
    expect(request.suggestedName).toBe('missing.json');
    expect(JSON.parse(request.contents).nodes.map((n: { id: string }) => n.id)).toEqual(['parse', 'ghost']);
    const file = path.join(studio.graphsDir, 'by-menu.json');
    expect(existsSync(file)).toBe(true);
    expect(JSON.parse(readFileSync(file, 'utf8')).nodes.map((n: { id: string }) => n.id)).toEqual(['parse', 'ghost']);
    expect(await page.locator('[data-testid=graph-path]').textContent()).toBe('by-menu.json');

    await answer(null, { kind: 'exported', path: '/media/usb/copy.json' });
    await fire({ type: 'saveAs' });
    await expect.poll(notice).toContain('exported a copy to /media/usb/copy.json (outside the graphs folder: this graph is still by-menu.json)');
    // Cancelled dialogs change nothing; Save on a file of the folder saves it without a dialog.
    await answer(null, null);
    await fire({ type: 'saveAs' });
    const saves = (await shellState()).saves.length;
    await fire({ type: 'save' });
    await expect.poll(notice).toContain('saved by-menu.json');
    expect((await shellState()).saves.length).toBe(saves);

    await fire({ type: 'new' });
    await expect.poll(graphName).toBe('Untitled');
    await page.screenshot({ path: shot('shell-bridge.png') });
    expect(studio.problems).toEqual([]);
  });
});
