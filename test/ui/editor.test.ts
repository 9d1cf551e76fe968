/**
 * The editor end to end, as a user would use it, in Chromium against `startServer` over a real
 * EngineHost and the bundled Shape World model: build the generate pipeline from an empty
 * canvas by search, wire it (one node added by dropping a link on the pane), see a wrong link
 * refused with its reason, edit params, run, see the image on the node, save, reload, reopen
 * and compare, undo/redo, copy/paste (also into a second tab), and drop the PNG it made to get
 * its graph back. The tests run in order on one page.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EngineHost } from '../../src/engine/host.ts';
import { startServer, type RunningServer } from '../../src/server/index.ts';
import { SOCKET_TYPES } from '../../src/shared/sockets.ts';
import { buildRenderer, dragLink as dragLinkOn, launchChromium, openPage, rgb, shot } from './browser-helpers.ts';
import { ROOT, tempDir, testRegistry } from './helpers.ts';

const tmp = tempDir('editor');
const staticDir = path.join(tmp.dir, 'renderer');
const graphsDir = path.join(tmp.dir, 'graphs');
const outputDir = path.join(tmp.dir, 'output');

let browser: Browser;
let context: BrowserContext;
let host: EngineHost;
let server: RunningServer;
let page: Page;
let problems: string[];

beforeAll(async () => {
  await buildRenderer(staticDir);
  host = new EngineHost({ graphsDir, cacheDir: path.join(tmp.dir, 'cache'), outputDir, registry: testRegistry() });
  server = await startServer({ graphsDir, staticDir, engine: host, outputDir });
  browser = await launchChromium();
  context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  ({ page, problems } = await openPage(context, server.url));
  await page.locator('[data-testid=connection][data-state=open]').waitFor();
  await page.locator('[data-testid=catalogue-count]', { hasText: /^\d+ node types$/ }).waitFor();
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  host?.dispose();
  tmp.cleanup();
});

const node = (id: string) => page.locator(`[data-testid=node-${id}]`);
const handle = (id: string, side: 'source' | 'target', socket: string) => page.locator(`.react-flow__handle.${side}[data-nodeid="${id}"][data-handleid="${socket}"]`);

/** Double-click the pane at (x, y), search, Enter: the first result is added there. */
async function addBySearch(query: string, x: number, y: number, expectTitle: string): Promise<string> {
  const before = await page.locator('.react-flow__node').count();
  await page.mouse.dblclick(x, y);
  const search = page.getByRole('searchbox', { name: 'Add node' });
  await search.waitFor({ timeout: 5000 }).catch(async (e) => {
    await page.screenshot({ path: shot('editor-debug.png') });
    throw e;
  });
  await search.fill(query);
  await expect.poll(() => menuOptions().first().textContent()).toContain(expectTitle);
  await search.press('Enter');
  await expect.poll(() => page.locator('.react-flow__node').count()).toBe(before + 1);
  await expect(search.count()).resolves.toBe(0);
  return (await page.locator('.react-flow__node.selected').getAttribute('data-id'))!;
}

const dragLink = (from: Locator, to: Locator | { x: number; y: number }, beforeRelease?: () => Promise<void>) => dragLinkOn(page, from, to, beforeRelease);

async function link(src: string, out: string, dst: string, inp: string): Promise<void> {
  const before = await page.locator('.react-flow__edge').count();
  await dragLink(handle(src, 'source', out), handle(dst, 'target', inp));
  await expect
    .poll(() => page.locator('.react-flow__edge').count(), { timeout: 3000 })
    .toBe(before + 1)
    .catch(async (e: unknown) => {
      await page.screenshot({ path: shot('editor-debug.png') });
      throw e;
    });
}

/** The open document as the store holds it: read back through a save to a scratch name is not needed; the DOM says enough. */
async function canvasSummary(): Promise<{ nodes: string[]; edges: number }> {
  const nodes = await page.locator('.react-flow__node').evaluateAll((els) => els.map((e) => `${e.getAttribute('data-id')}:${e.querySelector('[data-node-type]')?.getAttribute('data-node-type')}`));
  return { nodes: nodes.sort(), edges: await page.locator('.react-flow__edge').count() };
}

const ids = {} as Record<'text' | 'parse' | 'encode' | 'sample' | 'model' | 'noise' | 'decode' | 'save', string>;
const menuOptions = () => page.getByRole('listbox', { name: 'Node types' }).getByRole('option');

describe('the editor in Chromium', () => {
  it('builds the generate pipeline from an empty canvas by search, wiring it; a wrong link is refused with the reason', async () => {
    expect(await page.locator('[data-testid=graph-name]').textContent()).toBe('Untitled');
    expect(await page.locator('.react-flow__node').count()).toBe(0);
    // Zoom out so eight nodes fit (each zoom-out button press is x0.8).
    for (let i = 0; i < 2; i++) await page.locator('.react-flow__controls-zoomout').click();
    const pane = (await page.locator('[data-testid=canvas]').boundingBox())!;
    const col = (i: number) => pane.x + 15 + i * 205;
    const row = (j: number) => pane.y + 30 + j * 420;

    ids.text = await addBySearch('text', col(0), row(0), 'Text');
    ids.parse = await addBySearch('prompt parse', col(1), row(0), 'Prompt Parse');
    ids.encode = await addBySearch('encode prompt', col(2), row(0), 'Encode Prompt');
    ids.sample = await addBySearch('sampler', col(3), row(0), 'Sampler');
    ids.model = await addBySearch('load model', col(0), row(1) - 150, 'Load Model');
    ids.noise = await addBySearch('noise latent', col(1), row(1) - 150, 'Noise Latent');
    ids.decode = await addBySearch('decode', col(2), row(1) - 40, 'Decode');
    expect(Object.values(ids)).toEqual(['text1', 'parse1', 'encode1', 'sample1', 'load1', 'noise1', 'decode1']);
    // Validation problems show on the node they concern.
    await expect.poll(() => node(ids.encode).locator('[data-testid=node-problems]').textContent()).toContain('needs its input "model" (MODEL) connected');
    expect(await page.locator('[data-testid=dirty]').count()).toBe(1);

    // Sockets are coloured by their type.
    expect(await handle(ids.decode, 'source', 'image').evaluate((el) => getComputedStyle(el).backgroundColor)).toBe(rgb(SOCKET_TYPES.IMAGE.color));
    expect(await handle(ids.encode, 'target', 'prompt').evaluate((el) => getComputedStyle(el).backgroundColor)).toBe(rgb(SOCKET_TYPES.PROMPT.color));

    await link(ids.text, 'text', ids.parse, 'text');
    await link(ids.parse, 'prompt', ids.encode, 'prompt');
    await link(ids.model, 'model', ids.encode, 'model');
    await link(ids.model, 'model', ids.sample, 'model');
    await link(ids.encode, 'conditioning', ids.sample, 'conditioning');
    await link(ids.noise, 'latent', ids.sample, 'latent');
    await link(ids.model, 'model', ids.decode, 'model');
    await link(ids.sample, 'latent', ids.decode, 'latent');
    await expect.poll(() => node(ids.encode).locator('[data-testid=node-problems]').count()).toBe(0);

    // IMAGE into PROMPT: refused, and the reason is next to the cursor while hovering.
    let hint = '';
    await dragLink(handle(ids.decode, 'source', 'image'), handle(ids.encode, 'target', 'prompt'), async () => {
      const l = page.locator('[data-testid=link-hint]');
      await l.waitFor();
      hint = (await l.textContent()) ?? '';
      expect(await l.getAttribute('data-refused')).toBe('true');
      await page.screenshot({ path: shot('editor-refused-link.png') });
    });
    expect(hint).toContain("Can't connect");
    expect(hint).toContain('IMAGE output cannot feed a PROMPT input');
    expect(await page.getByRole('alert').filter({ hasText: 'IMAGE output cannot feed a PROMPT input' }).count()).toBe(1);
    expect(await page.locator('.react-flow__edge').count()).toBe(8);

    // A link dropped on empty canvas opens the menu with only the node types that take an IMAGE.
    const drop = { x: col(3) + 10, y: row(1) - 60 };
    await dragLink(handle(ids.decode, 'source', 'image'), drop);
    const search = page.getByRole('searchbox', { name: 'Add node' });
    await search.waitFor();
    const offered = await menuOptions().allTextContents();
    expect(offered.some((t) => t.startsWith('Save Image'))).toBe(true);
    expect(offered.some((t) => t.startsWith('Prompt Parse'))).toBe(false);
    await search.fill('save image');
    await search.press('Enter');
    await expect.poll(() => page.locator('.react-flow__edge').count()).toBe(9);
    ids.save = (await page.locator('.react-flow__node.selected').getAttribute('data-id'))!;
    expect(ids.save).toBe('save1');
    expect(await page.locator(`.react-flow__edge[data-id]`).count()).toBe(9);
  });

  it('edits params through labelled widgets generated from the schemas', async () => {
    const prompt = node(ids.text).getByRole('textbox', { name: 'Text' });
    await prompt.fill('a red circle to the left of a blue square');
    const steps = node(ids.sample).getByRole('spinbutton', { name: 'Steps' });
    await steps.fill('8');
    expect(await node(ids.sample).getByRole('slider', { name: 'Steps slider' }).inputValue()).toBe('8');
    await node(ids.sample).getByRole('combobox', { name: 'Scheduler' }).selectOption('euler');
    const seed = node(ids.noise).getByRole('spinbutton', { name: 'Seed' });
    await node(ids.noise).getByRole('button', { name: 'Randomize Seed' }).click();
    expect(await seed.inputValue()).toMatch(/^\d+$/);
    await seed.fill('7');
    // A value outside the schema's range is shown as invalid and not taken.
    await steps.fill('0');
    expect(await steps.getAttribute('aria-invalid')).toBe('true');
    await steps.fill('8');
    expect(await steps.getAttribute('aria-invalid')).toBe('false');
    await node(ids.save).getByRole('textbox', { name: 'File name prefix' }).fill('built');
    // Path params have a picker over the engine's folders.
    await node(ids.model).getByRole('button', { name: 'Browse Model folder' }).click();
    const picker = node(ids.model).getByRole('dialog', { name: 'Pick a path' });
    await expect.poll(() => picker.textContent()).toContain('./resources/models');
    await picker.getByRole('button', { name: '..' }).click();
    await picker.getByRole('button', { name: 'models/' }).click();
    await picker.getByRole('button', { name: 'shape-world/' }).click();
    await expect.poll(() => picker.textContent()).toContain('./resources/models/shape-world');
    expect(await picker.textContent()).toContain('model_index.json');
    await picker.getByRole('button', { name: 'Use this folder' }).click();
    expect(await node(ids.model).getByRole('textbox', { name: 'Model folder' }).inputValue()).toBe('resources/models/shape-world');
    expect(await node(ids.save).getByRole('checkbox', { name: 'Embed graph' }).isChecked()).toBe(true);
    await page.screenshot({ path: shot('editor-built.png') });
  });

  it('runs with Ctrl+Enter: per-node state, the image on the node and in the side panel, files in the output folder', async () => {
    // Click on empty canvas: nothing selected, so the side panel lists every node that ran.
    const canvas = (await page.locator('[data-testid=canvas]').boundingBox())!;
    await page.mouse.click(canvas.x + 400, canvas.y + canvas.height - 20);
    expect(await page.locator('.react-flow__node.selected').count()).toBe(0);
    await page.keyboard.press('Control+Enter');
    await page.locator('[data-testid=run-status][data-status=finished]').waitFor({ timeout: 60_000 });
    for (const id of Object.values(ids)) expect(await node(id).getAttribute('data-status')).toMatch(/^(finished|cached)$/);
    expect(await node(ids.save).locator('[data-testid=node-status]').textContent()).toBe('done');
    // The seed widget shows the seed the run used.
    expect(await node(ids.noise).locator('[data-testid=seed-used]').textContent()).toBe('seed used: 7');
    const preview = node(ids.save).locator('[data-testid=node-preview]');
    await preview.waitFor();
    expect(await preview.evaluate((img: HTMLImageElement) => img.naturalWidth)).toBeGreaterThan(0);
    await page.locator(`[data-testid=node-panel-${ids.save}] [data-testid=preview-image] img`).waitFor();
    await page.screenshot({ path: shot('editor-run.png') });
    // Run again: what did not change comes from the cache, and keeps its preview.
    await page.keyboard.press('Control+Enter');
    await page.locator('[data-testid=run-status][data-status=finished]').waitFor({ timeout: 60_000 });
    await expect.poll(() => node(ids.decode).getAttribute('data-status')).toBe('cached');
    expect(await node(ids.decode).locator('[data-testid=node-preview]').count()).toBe(1);
    expect(await node(ids.decode).locator('[data-testid=node-status]').textContent()).toBe('cached');
    // Run outputs go to the server's output folder, never into the graphs folder.
    expect(readdirSync(outputDir).filter((f) => f.endsWith('.png')).sort()).toEqual(['built_00001.png', 'built_00002.png']);
    expect(existsSync(path.join(graphsDir, 'out'))).toBe(false);
  });

  it('saves (Ctrl+S asks for a name the first time), reloads, reopens and gets the same graph', async () => {
    await page.keyboard.press('Control+s');
    const dialog = page.getByRole('dialog', { name: 'Save as' });
    await dialog.getByRole('textbox', { name: /File name/ }).fill('built');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => page.locator('[data-testid=notice]').textContent()).toContain('saved built.json');
    expect(await page.locator('[data-testid=dirty]').count()).toBe(0);
    expect(await page.locator('[data-testid=graph-name]').textContent()).toBe('built');
    const file = path.join(graphsDir, 'built.json');
    const saved = JSON.parse(readFileSync(file, 'utf8'));
    expect(saved.nodes).toHaveLength(8);
    expect(saved.edges).toHaveLength(9);
    expect(saved.nodes.find((n: { id: string }) => n.id === ids.sample).params).toMatchObject({ steps: 8, scheduler: 'euler' });
    const before = await canvasSummary();

    // Saving over it from a "Save as" with the same name as another file is a conflict.
    await page.locator('header').getByRole('button', { name: 'Save as…' }).click();
    await dialog.getByRole('textbox', { name: /File name/ }).fill('other');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => page.locator('[data-testid=graph-path]').textContent()).toBe('other.json');
    await page.locator('header').getByRole('button', { name: 'Save as…' }).click();
    await dialog.getByRole('textbox', { name: /File name/ }).fill('built');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => dialog.getByRole('alert').textContent()).toContain('"built.json" already exists');
    await page.keyboard.press('Escape');

    await page.reload();
    await page.locator('[data-testid=connection][data-state=open]').waitFor();
    await page.locator('[data-testid=graph-list] [data-graph]', { hasText: 'built' }).first().click();
    await expect.poll(() => page.locator('[data-testid=graph-path]').textContent()).toBe('built.json');
    await expect.poll(canvasSummary).toEqual(before);
    expect(await node(ids.sample).getByRole('spinbutton', { name: 'Steps' }).inputValue()).toBe('8');
    expect(await node(ids.text).getByRole('textbox', { name: 'Text' }).inputValue()).toBe('a red circle to the left of a blue square');
    // Both files are in the recent list (the open one is not repeated there).
    expect(await page.locator('[data-testid=recent-list] button').allTextContents()).toEqual(['other.json']);
    // Saving the unchanged graph again writes the very same bytes.
    const bytes = readFileSync(file, 'utf8');
    await page.mouse.click(1000, 880);
    await page.keyboard.press('Control+s');
    await expect.poll(() => page.locator('[data-testid=notice]').textContent()).toContain('saved built.json');
    expect(readFileSync(file, 'utf8')).toBe(bytes);

    // Someone else changes the file: saving over it is refused, with an offer to overwrite.
    writeFileSync(file, bytes.replace('"name": "built"', '"name": "changed elsewhere"'));
    await node(ids.sample).getByRole('spinbutton', { name: 'Steps' }).fill('9');
    await page.mouse.click(1000, 880);
    await page.keyboard.press('Control+s');
    const refused = page.locator('[data-testid=file-error]');
    await expect.poll(() => refused.textContent()).toContain('"built.json" changed on disk since it was opened');
    expect(readFileSync(file, 'utf8')).toContain('changed elsewhere');
    expect(await page.locator('[data-testid=dirty]').count()).toBe(1);
    await refused.getByRole('button', { name: 'Overwrite' }).click();
    await expect.poll(() => page.locator('[data-testid=notice]').textContent()).toContain('saved built.json');
    expect(JSON.parse(readFileSync(file, 'utf8')).nodes.find((n: { id: string }) => n.id === ids.sample).params.steps).toBe(9);
    await node(ids.sample).getByRole('spinbutton', { name: 'Steps' }).fill('8');
    await page.mouse.click(1000, 880);
    await page.keyboard.press('Control+s');
    await expect.poll(() => readFileSync(file, 'utf8')).toBe(bytes);
  });

  it('undo and redo: delete a node with its links, move one (a drag is one step)', async () => {
    await node(ids.sample).locator('[data-testid=node-title]').click();
    await page.keyboard.press('Delete');
    await expect.poll(async () => (await canvasSummary()).edges).toBe(5);
    expect(await node(ids.sample).count()).toBe(0);
    await page.keyboard.press('Control+z');
    await node(ids.sample).waitFor();
    // React Flow draws a link only once both its handles are measured: the node can show a frame before its links.
    await expect.poll(async () => (await canvasSummary()).edges).toBe(9);
    await page.keyboard.press('Control+y');
    await expect.poll(() => node(ids.sample).count()).toBe(0);
    await page.keyboard.press('Control+z');
    await node(ids.sample).waitFor();

    // A link: click it, Delete, and undo brings it back.
    const mid = await page.locator(`.react-flow__edge[data-id] path.react-flow__edge-path`).first().evaluate((p: SVGPathElement) => {
      const pt = p.getPointAtLength(p.getTotalLength() / 2);
      const m = p.getScreenCTM()!;
      return { x: pt.x * m.a + m.e, y: pt.y * m.d + m.f };
    });
    await page.mouse.click(mid.x, mid.y);
    await expect.poll(() => page.locator('.react-flow__edge.selected').count()).toBe(1);
    await page.keyboard.press('Delete');
    await expect.poll(async () => (await canvasSummary()).edges).toBe(8);
    await page.keyboard.press('Control+z');
    await expect.poll(async () => (await canvasSummary()).edges).toBe(9);

    const title = node(ids.decode).locator('[data-testid=node-title]');
    const start = (await title.boundingBox())!;
    await page.mouse.move(start.x + 10, start.y + 5);
    await page.mouse.down();
    for (let i = 1; i <= 10; i++) await page.mouse.move(start.x + 10 + i * 8, start.y + 5 + i * 4);
    await page.mouse.up();
    const moved = (await title.boundingBox())!;
    expect(moved.x - start.x).toBeGreaterThan(40);
    await page.keyboard.press('Control+z');
    await expect.poll(async () => Math.round((await title.boundingBox())!.x - start.x)).toBe(0);
    await page.keyboard.press('Control+Shift+z');
    await expect.poll(async () => Math.round((await title.boundingBox())!.x - moved.x)).toBe(0);
    expect(await page.locator('[data-testid=dirty]').count()).toBe(1);
  });

  it('frames nodes (Ctrl+G): a titled box that carries them when dragged, renamed, undone', async () => {
    await node(ids.text).locator('[data-testid=node-title]').click();
    await node(ids.parse).locator('[data-testid=node-title]').click({ modifiers: ['Control'] });
    await page.keyboard.press('Control+g');
    const frame = page.locator('[data-testid=frame-frame1]');
    await frame.waitFor();
    expect(await frame.locator('[data-testid=frame-title]').textContent()).toBe('Group');
    const textBox = (await node(ids.text).boundingBox())!;
    const frameBox = (await frame.boundingBox())!;
    expect(frameBox.x).toBeLessThan(textBox.x);
    expect(frameBox.y).toBeLessThan(textBox.y);
    await frame.locator('[data-testid=frame-title]').dblclick();
    await page.getByRole('textbox', { name: 'Frame title' }).fill('Prompt side');
    await page.keyboard.press('Enter');
    expect(await frame.locator('[data-testid=frame-title]').textContent()).toBe('Prompt side');
    // Drag the frame by its title: the nodes inside come along, in one undo step.
    const t = (await frame.locator('.frame-title').boundingBox())!;
    await page.mouse.move(t.x + t.width - 20, t.y + 6);
    await page.mouse.down();
    for (let i = 1; i <= 8; i++) await page.mouse.move(t.x + t.width - 20, t.y + 6 + i * 6);
    await page.mouse.up();
    await expect.poll(async () => Math.round((await node(ids.text).boundingBox())!.y - textBox.y)).toBeGreaterThan(30);
    await page.screenshot({ path: shot('editor-frame.png') });
    await page.keyboard.press('Control+z');
    await expect.poll(async () => Math.round((await node(ids.text).boundingBox())!.y - textBox.y)).toBe(0);
    // Undo the rename and the frame itself.
    await page.keyboard.press('Control+z');
    expect(await frame.locator('[data-testid=frame-title]').textContent()).toBe('Group');
    await page.keyboard.press('Control+z');
    await expect.poll(() => frame.count()).toBe(0);
    await page.keyboard.press('Control+y');
    await frame.waitFor();
    await frame.locator('[data-testid=frame-title]').click();
    await page.keyboard.press('Delete');
    await expect.poll(() => frame.count()).toBe(0);
    expect((await canvasSummary()).nodes).toHaveLength(8);
  });

  it('bends a link through reroute points: add by double-click, drag (one undo step), remove', async () => {
    const edgePath = page.locator(`.react-flow__edge[data-id] path.react-flow__edge-path`).nth(1);
    const mid = await edgePath.evaluate((p: SVGPathElement) => {
      const pt = p.getPointAtLength(p.getTotalLength() / 2);
      const m = p.getScreenCTM()!;
      return { x: pt.x * m.a + m.e, y: pt.y * m.d + m.f };
    });
    const before = await edgePath.getAttribute('d');
    await page.mouse.dblclick(mid.x, mid.y);
    const dot = page.locator('[data-testid=reroute]');
    await expect.poll(() => dot.count()).toBe(1);
    expect(await menuOptions().count()).toBe(0); // a double-click on a link is not one on the pane
    const at = (await dot.boundingBox())!;
    expect(Math.abs(at.x + at.width / 2 - mid.x)).toBeLessThan(4);
    await page.mouse.move(at.x + at.width / 2, at.y + at.height / 2);
    await page.mouse.down();
    for (let i = 1; i <= 6; i++) await page.mouse.move(at.x + at.width / 2, at.y + at.height / 2 + i * 10);
    await page.mouse.up();
    await expect.poll(async () => Math.round((await dot.boundingBox())!.y - at.y)).toBeGreaterThan(40);
    expect(await edgePath.getAttribute('d')).not.toBe(before);
    await page.screenshot({ path: shot('editor-reroute.png') });
    await page.keyboard.press('Control+z');
    await expect.poll(async () => Math.round((await dot.boundingBox())!.y - at.y)).toBe(0);
    await dot.dblclick();
    await expect.poll(() => dot.count()).toBe(0);
    expect(await edgePath.getAttribute('d')).toBe(before);
  });

  it('copies two nodes with their link and pastes them here and in a second tab', async () => {
    await node(ids.text).locator('[data-testid=node-title]').click();
    await node(ids.parse).locator('[data-testid=node-title]').click({ modifiers: ['Control'] });
    expect(await page.locator('.react-flow__node.selected').count()).toBe(2);
    await page.keyboard.press('Control+c');
    await page.mouse.move(900, 820);
    const before = await canvasSummary();
    await page.keyboard.press('Control+v');
    await expect.poll(() => page.locator('.react-flow__node').count()).toBe(before.nodes.length + 2);
    await expect.poll(async () => (await canvasSummary()).edges).toBe(before.edges + 1);
    expect(await page.locator('.react-flow__node.selected').evaluateAll((els) => els.map((e) => e.getAttribute('data-id')))).toEqual(['text2', 'parse2']);
    await page.keyboard.press('Control+d');
    await expect.poll(() => page.locator('.react-flow__node').count()).toBe(before.nodes.length + 4);
    await page.screenshot({ path: shot('editor-pasted.png') });

    const { page: second, problems: secondProblems } = await openPage(context, server.url);
    await second.locator('[data-testid=connection][data-state=open]').waitFor();
    await expect.poll(() => second.locator('[data-testid=catalogue-count]').textContent()).toMatch(/node types$/);
    await second.mouse.move(700, 400);
    await second.keyboard.press('Control+v');
    await expect.poll(() => second.locator('.react-flow__node').count()).toBe(2);
    await expect.poll(() => second.locator('.react-flow__edge').count()).toBe(1);
    expect(secondProblems).toEqual([]);
    await second.close();
  });

  it('has a help sheet listing the shortcuts, fits the view with F, and adds a node dragged from the library', async () => {
    await page.mouse.click(1000, 880);
    await page.keyboard.press('?');
    const help = page.getByRole('dialog', { name: 'Keyboard shortcuts' });
    await help.waitFor();
    expect(await help.textContent()).toContain('Ctrl+Z');
    expect(await help.textContent()).toContain('Ctrl+Enter');
    await page.screenshot({ path: shot('editor-help.png') });
    await page.keyboard.press('Escape');
    await expect.poll(() => help.count()).toBe(0);

    const title = node(ids.decode).locator('[data-testid=node-title]');
    const before = (await title.boundingBox())!;
    await page.locator('.react-flow__controls-zoomin').click();
    await page.locator('.react-flow__controls-zoomin').click();
    await page.keyboard.press('f');
    await expect.poll(async () => Math.abs((await title.boundingBox())!.width - before.width)).toBeGreaterThan(1);
    const canvas = (await page.locator('[data-testid=canvas]').boundingBox())!;
    for (const id of Object.values(ids)) {
      const b = (await node(id).boundingBox())!;
      expect(b.x >= canvas.x - 1 && b.x + b.width <= canvas.x + canvas.width + 1, id).toBe(true);
    }

    // The library's fuzzy search, and drag-and-drop onto the canvas.
    const search = page.getByRole('searchbox', { name: 'Search node types' });
    await search.fill('sav img');
    const first = page.locator('[data-testid=node-library] button').first();
    expect(await first.textContent()).toBe('Save Image');
    const count = await page.locator('.react-flow__node').count();
    await first.dragTo(page.locator('[data-testid=flow]'), { targetPosition: { x: 400, y: 700 } });
    await expect.poll(() => page.locator('.react-flow__node').count()).toBe(count + 1);
    expect(await page.locator('.react-flow__node.selected').getAttribute('data-id')).toBe('save2');
    await search.fill('');
  });

  it('runs only what the selected node needs, and starts a new graph from a file as a template', async () => {
    // (The unwired Save Image dropped from the library would fail validation of the whole graph.)
    await node('save2').locator('[data-testid=node-title]').click();
    await page.keyboard.press('Delete');
    await expect.poll(() => node('save2').count()).toBe(0);
    await node(ids.parse).locator('[data-testid=node-title]').click();
    await page.locator('[data-testid=run-selected]').click();
    await page.locator('[data-testid=run-status][data-status=finished]').waitFor({ timeout: 30_000 });
    await expect.poll(() => node(ids.parse).getAttribute('data-status')).toMatch(/^(finished|cached)$/);
    expect(await node(ids.sample).getAttribute('data-status')).toBe('idle');

    page.once('dialog', (d) => void d.accept().catch(() => {}));
    await page.locator('[data-testid=graph-list] li', { hasText: 'built' }).first().hover();
    await page.getByRole('button', { name: 'New graph from built' }).click();
    await expect.poll(() => page.locator('[data-testid=graph-name]').textContent()).toBe('built copy');
    expect(await page.locator('[data-testid=graph-path]').textContent()).toBe('(not saved)');
    expect((await canvasSummary()).nodes).toHaveLength(8);
  });

  it('cancels a long run, runs the queued one, and asks before closing a tab with unsaved work', async () => {
    page.once('dialog', (d) => void d.accept().catch(() => {}));
    await page.locator('[data-testid=graph-list] [data-graph]', { hasText: 'built' }).first().click();
    await page.locator('[data-testid=graph-path]', { hasText: 'built.json' }).waitFor();
    await page.locator('[data-testid=flow][data-fitted=true]').waitFor();
    const steps = node(ids.sample).getByRole('spinbutton', { name: 'Steps' });
    await steps.fill('1000');
    await page.mouse.click(1000, 880);
    await page.keyboard.press('Control+Enter');
    await expect.poll(() => node(ids.sample).getAttribute('data-status'), { timeout: 30_000 }).toBe('running');
    // While it runs, a run with other params queues behind it.
    await steps.fill('999');
    await page.mouse.click(1000, 880);
    await page.keyboard.press('Control+Enter');
    expect(await page.locator('[data-testid=run-queue]').textContent()).toBe('1 queued');
    await page.locator('[data-testid=cancel]').click();
    // The first run stops (well before its 1000 steps could finish); the queued one starts.
    await expect.poll(() => page.locator('[data-testid=run-queue]').count(), { timeout: 5000 }).toBe(0);
    await expect.poll(() => node(ids.sample).getAttribute('data-status'), { timeout: 30_000 }).toBe('running');
    await page.keyboard.press('Control+Alt+Enter');
    await page.locator('[data-testid=run-status][data-status=cancelled]').waitFor();
    expect(await node(ids.sample).getAttribute('data-status')).toBe('pending');

    const { page: other } = await openPage(context, server.url);
    await other.locator('[data-testid=catalogue-count]', { hasText: /node types$/ }).waitFor();
    await other.mouse.dblclick(700, 400);
    await other.getByRole('searchbox', { name: 'Add node' }).fill('text');
    await other.getByRole('searchbox', { name: 'Add node' }).press('Enter');
    await other.locator('[data-testid=dirty]').waitFor();
    const asked = new Promise<string>((resolve) => other.once('dialog', (d) => void d.dismiss().then(() => resolve(d.type()))));
    await other.close({ runBeforeUnload: true });
    expect(await asked).toBe('beforeunload');
    expect(other.isClosed()).toBe(false);
    await other.close();
  });

  it('opens the graph embedded in a PNG the run made, dropped on the canvas', async () => {
    page.once('dialog', (d) => void d.accept().catch(() => {}));
    await page.locator('header').getByRole('button', { name: 'New' }).click();
    await expect.poll(() => page.locator('.react-flow__node').count()).toBe(0);
    const png = readFileSync(path.join(outputDir, 'built_00001.png')).toString('base64');
    await dropFile(page, 'built_00001.png', 'image/png', png);
    await expect.poll(() => page.locator('[data-testid=notice]').textContent()).toContain('opened the graph embedded in built_00001.png (seed used: 7)');
    await expect.poll(() => page.locator('.react-flow__node').count()).toBe(8);
    await expect.poll(() => page.locator('.react-flow__edge').count()).toBe(9);
    expect(await node(ids.sample).getByRole('spinbutton', { name: 'Steps' }).inputValue()).toBe('8');
    expect(await node(ids.noise).getByRole('spinbutton', { name: 'Seed' }).inputValue()).toBe('7');
    await page.screenshot({ path: shot('editor-png-dropped.png') });

    // A PNG without a graph says so and leaves the canvas alone.
    const plain = readFileSync(path.join(outputDir, 'built_00001.png'));
    const stripped = stripTextChunks(plain).toString('base64');
    await dropFile(page, 'plain.png', 'image/png', stripped);
    await expect.poll(() => page.locator('[data-testid=file-error]').textContent()).toContain('has no graph in it');
    expect(await page.locator('.react-flow__node').count()).toBe(8);

    // A .json graph in the old format (version 0) opens upgraded, and says so.
    page.once('dialog', (d) => void d.accept().catch(() => {}));
    const v0 = readFileSync(path.join(ROOT, 'test/fixtures/graphs/v0-parse.json')).toString('base64');
    await dropFile(page, 'v0-parse.json', 'application/json', v0);
    await expect.poll(() => page.locator('[data-testid=notice]').textContent()).toContain('graph format version 0 upgraded to 1');
    await expect.poll(() => page.locator('.react-flow__node').count()).toBe(2);
    await expect.poll(() => page.locator('.react-flow__edge').count()).toBe(1);
    expect(await node('txt').getByRole('textbox', { name: 'Text' }).inputValue()).toBe('a dog left of a cat');
    expect(problems).toEqual([]);
  });

  it('keeps unsaved work through a reload and offers it back', async () => {
    const canvas = (await page.locator('[data-testid=canvas]').boundingBox())!;
    await page.mouse.dblclick(canvas.x + canvas.width / 2, canvas.y + 12);
    await page.getByRole('searchbox', { name: 'Add node' }).fill('sampler');
    await page.getByRole('searchbox', { name: 'Add node' }).press('Enter');
    await page.locator('[data-testid=dirty]').waitFor();
    const before = await canvasSummary();
    await page.waitForTimeout(1300); // the autosave writes a moment after edits settle
    await page.reload(); // (Playwright accepts the beforeunload prompt of a reload itself)
    const banner = page.locator('[data-testid=recovery]');
    await banner.waitFor();
    expect(await banner.textContent()).toContain(`(${before.nodes.length} nodes)`);
    await banner.getByRole('button', { name: 'Restore' }).click();
    await expect.poll(canvasSummary).toEqual(before);
    expect(await page.locator('[data-testid=dirty]').count()).toBe(1);
    expect(await page.locator('[data-testid=notice]').textContent()).toContain('restored unsaved work');
    await page.screenshot({ path: shot('editor-restored.png') });
    expect(problems).toEqual([]);
  });
});

async function dropFile(p: Page, name: string, type: string, base64: string): Promise<void> {
  const dt = await p.evaluateHandle(
    ({ name, type, base64 }) => {
      const bin = atob(base64);
      const bytes = new Uint8Array(bin.length);
      for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
      const t = new DataTransfer();
      t.items.add(new File([bytes], name, { type }));
      return t;
    },
    { name, type, base64 },
  );
  const flow = p.locator('[data-testid=flow]');
  await flow.dispatchEvent('dragover', { dataTransfer: dt });
  await flow.dispatchEvent('drop', { dataTransfer: dt });
}

/** The same PNG without its text chunks. */
function stripTextChunks(png: Buffer): Buffer {
  const parts = [png.subarray(0, 8)];
  for (let at = 8; at < png.length; ) {
    const len = png.readUInt32BE(at);
    const type = png.toString('latin1', at + 4, at + 8);
    const end = at + 12 + len;
    if (!['tEXt', 'iTXt', 'zTXt'].includes(type)) parts.push(png.subarray(at, end));
    at = end;
  }
  return Buffer.concat(parts);
}
