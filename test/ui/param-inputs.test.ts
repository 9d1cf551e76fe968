/**
 * Widget-to-input in Chromium against `startServer` over a real EngineHost: a param's context
 * menu turns it into a typed input socket (and back), links into it are checked by type like
 * any socket, a run feeds the param from the link, everything is one undo step, and the file
 * keeps the link (`to.input` "param:<key>"), the UI state (`meta.nodeUi`) and the param's typed value.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GraphFile } from '../../src/shared/graph.ts';
import { SOCKET_TYPES } from '../../src/shared/sockets.ts';
import { dragLink, openFromList, rgb, shot, startStudio, type Studio } from './browser-helpers.ts';
import { previewRegistry } from './preview-nodes.ts';

const GRAPH: GraphFile = {
  format: 'steer-graph',
  version: 1,
  meta: { name: 'Param inputs' },
  nodes: [
    { id: 'num', type: 'test.number', typeVersion: 1, params: { value: 6 }, position: { x: 0, y: 0 } },
    { id: 'txt', type: 'primitive.text', typeVersion: 1, params: { text: 'six' }, position: { x: 0, y: 220 } },
    { id: 'tl', type: 'test.timeline', typeVersion: 1, params: { steps: 4, iterations: 3 }, position: { x: 400, y: 0 } },
  ],
  edges: [],
};

let studio: Studio;
let page: Page;

beforeAll(async () => {
  studio = await startStudio('param-inputs', previewRegistry(), { 'params.json': GRAPH });
  page = studio.page;
  await openFromList(page, 'params', 'tl');
});

afterAll(() => studio?.close());

const node = (id: string) => page.locator(`[data-testid=node-${id}]`);
const stepsSocket = () => page.locator('.react-flow__handle.target[data-nodeid=tl][data-handleid="param:steps"]');
const edges = () => page.locator('.react-flow__edge');
const saved = () => JSON.parse(readFileSync(path.join(studio.graphsDir, 'params.json'), 'utf8')) as GraphFile;

describe('widget to input in Chromium', () => {
  it('converts a param into a typed input socket from its context menu, links into it (type-checked), saves it, and converts it back', async () => {
    const steps = node('tl').getByRole('spinbutton', { name: 'Steps' });
    await steps.click({ button: 'right' });
    const menu = page.getByRole('menu', { name: 'Steps options' });
    // Escape closes the menu and changes nothing.
    await menu.getByRole('menuitem', { name: 'Convert to input' }).waitFor();
    await page.keyboard.press('Escape');
    expect(await menu.count()).toBe(0);
    expect(await steps.evaluate((el) => el === document.activeElement)).toBe(true);
    await steps.click({ button: 'right' });
    await menu.getByRole('menuitem', { name: 'Convert to input' }).click();

    // The widget is gone; an INT socket labelled like the param is there instead.
    await stepsSocket().waitFor();
    expect(await steps.count()).toBe(0);
    expect(await node('tl').getByRole('spinbutton', { name: 'Iterations' }).count()).toBe(1);
    expect(await node('tl').locator('[data-testid="socket-in-param:steps"]').textContent()).toContain('Steps');
    expect(await stepsSocket().evaluate((el) => getComputedStyle(el).backgroundColor)).toBe(rgb(SOCKET_TYPES.INT.color));

    // A STRING output is refused with the reason; the INT one links.
    await dragLink(page, page.locator('.react-flow__handle.source[data-nodeid=txt][data-handleid=text]'), stepsSocket());
    await expect.poll(() => page.locator('[data-testid=link-refused]').textContent()).toContain('a STRING output cannot feed an INT input');
    expect(await edges().count()).toBe(0);
    await dragLink(page, page.locator('.react-flow__handle.source[data-nodeid=num][data-handleid=value]'), stepsSocket());
    await expect.poll(() => edges().count()).toBe(1);
    await page.screenshot({ path: shot('param-inputs-linked.png') });

    // Saved: the link into the param, the UI state, and the typed value kept.
    await page.keyboard.press('Control+s');
    await expect.poll(() => page.locator('[data-testid=notice]').textContent()).toContain('saved params.json');
    const file = saved();
    expect(file.edges).toEqual([{ id: expect.any(String), from: { node: 'num', output: 'value' }, to: { node: 'tl', input: 'param:steps' } }]);
    expect(file.meta.nodeUi).toEqual({ tl: { inputs: ['steps'] } });
    expect(file.nodes.find((n) => n.id === 'tl')!.params.steps).toBe(4);

    // The run feeds the param from the link: Number's 6, not the widget's 4.
    await page.keyboard.press('Control+Enter');
    await page.locator('[data-testid=run-status][data-status=finished]').waitFor({ timeout: 30_000 });
    await node('tl').locator('[data-testid=node-title]').click();
    await expect.poll(() => page.locator('[data-testid=node-panel-tl] [data-testid=preview-text]').textContent()).toContain('6 steps, 3 iterations each');
    expect(await page.getByRole('slider', { name: 'Step' }).getAttribute('aria-valuetext')).toBe('step 6 of 6');
    await page.screenshot({ path: shot('param-inputs-run.png') });

    // Each change is one undo step: undo the link, then the conversion; redo both.
    await page.keyboard.press('Control+z');
    await expect.poll(() => edges().count()).toBe(0);
    await page.keyboard.press('Control+z');
    await expect.poll(() => stepsSocket().count()).toBe(0);
    expect(await steps.inputValue()).toBe('4');
    await page.keyboard.press('Control+y');
    await page.keyboard.press('Control+y');
    await expect.poll(() => edges().count()).toBe(1);

    // Back to a widget from the socket's context menu: the link goes, the typed value is back.
    await node('tl').locator('[data-testid="socket-in-param:steps"]').click({ button: 'right' });
    await page.getByRole('menu', { name: 'Steps options' }).getByRole('menuitem', { name: 'Convert to widget' }).click();
    await expect.poll(() => stepsSocket().count()).toBe(0);
    expect(await edges().count()).toBe(0);
    expect(await steps.inputValue()).toBe('4');
    // From the keyboard too: the context-menu key on a focused widget opens the same menu.
    await node('num').getByRole('spinbutton', { name: 'Value' }).focus();
    await page.keyboard.press('Shift+F10');
    // Focus is on the first item: Enter converts.
    await page.getByRole('menu', { name: 'Value options' }).getByRole('menuitem', { name: 'Convert to input' }).waitFor();
    await page.keyboard.press('Enter');
    await page.locator('.react-flow__handle.target[data-nodeid=num][data-handleid="param:value"]').waitFor();
    expect(await page.getByRole('menu').count()).toBe(0);
    await page.screenshot({ path: shot('param-inputs-back.png') });
    expect(studio.problems).toEqual([]);
  });
});
