/**
 * Chart previews and the step timeline in Chromium against `startServer` over a real
 * EngineHost running the preview test nodes (preview-nodes.ts): bars and curves drawn as SVG
 * on the node and in the side panel, the node's preview resized by its corner and the size
 * saved with the graph; the timeline of framed previews scrubbed with the mouse and keyboard.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GraphFile } from '../../src/shared/graph.ts';
import { openFromList, shot, startStudio, type Studio } from './browser-helpers.ts';
import { formatNumber } from '../../src/renderer/src/components/Charts.tsx';
import { ROOT } from './helpers.ts';
import { CLASSES, previewRegistry, probabilities } from './preview-nodes.ts';

const CHARTS_GRAPH: GraphFile = {
  format: 'steer-graph',
  version: 1,
  meta: { name: 'Charts' },
  nodes: [
    { id: 'charts', type: 'test.charts', typeVersion: 1, params: { iterations: 12, log: true }, position: { x: 0, y: 0 } },
    { id: 'timeline', type: 'test.timeline', typeVersion: 1, params: { steps: 4, iterations: 3 }, position: { x: 420, y: 0 } },
  ],
  edges: [],
};

let studio: Studio;
let page: Page;
let problems: string[];

beforeAll(async () => {
  studio = await startStudio('previews', previewRegistry(), { 'charts.json': CHARTS_GRAPH });
  ({ page, problems } = studio);
  await openFromList(page, 'charts', 'charts');
});

afterAll(() => studio?.close());

const node = (id: string) => page.locator(`[data-testid=node-${id}]`);
const panel = (id: string) => page.locator(`[data-testid=node-panel-${id}]`);

describe('chart previews in Chromium', () => {
  it('draws class-probability bars and a loss curve as SVG with labels and axes, on the node and in the side panel', async () => {
    await page.keyboard.press('Control+Enter');
    await page.locator('[data-testid=run-status][data-status=finished]').waitFor({ timeout: 30_000 });

    // The side panel: both charts, with their labels.
    const bars = panel('charts').locator('[data-testid=preview-bars]');
    await bars.waitFor();
    expect(await bars.locator('figcaption').textContent()).toBe('p(left) term 1');
    const barSvg = bars.getByRole('img');
    expect(await barSvg.getAttribute('aria-label')).toMatch(/^p\(left\) term 1: left 0\.\d+, right 0\.\d+, above 0\.\d+, below 0\.\d+$/);
    expect(await bars.locator('[data-testid=bar]').count()).toBe(4);
    // The wanted class is highlighted, and its bar is the longest (the node made it so).
    expect(await bars.locator('[data-testid=bar][data-highlight=true] text').first().textContent()).toBe('left');
    const widths = await bars.locator('[data-testid=bar] rect').evaluateAll((els) => els.map((e) => Number(e.getAttribute('width'))));
    expect(widths[0]).toBe(Math.max(...widths));
    expect(widths.every((w) => w > 0)).toBe(true);
    // The value axis: 0 to 1.
    const barTicks = await bars.locator('[data-testid=value-tick]').allTextContents();
    expect(barTicks[0]).toBe('0');
    expect(barTicks.at(-1)).toBe('1');

    const curve = panel('charts').locator('[data-testid=preview-curve]');
    expect(await curve.locator('figcaption').textContent()).toBe('loss per iteration');
    expect(await curve.locator('[data-testid=x-label]').textContent()).toBe('iteration');
    expect(await curve.locator('[data-testid=y-label]').textContent()).toBe('loss (log)');
    expect(await curve.locator('[data-testid=series]').count()).toBe(2);
    expect(await curve.locator('[data-testid=series]').first().locator('polyline').getAttribute('points')).toMatch(/^([\d.]+,[\d.]+ ){11}[\d.]+,[\d.]+$/);
    // Log scale: the y ticks are powers of ten.
    const yTicks = await curve.locator('[data-testid=y-tick] text').allTextContents();
    expect(yTicks.length).toBeGreaterThanOrEqual(2);
    for (const t of yTicks) expect(Math.log10(Number(t)) % 1).toBeCloseTo(0, 6);
    expect(await curve.locator('[data-testid=x-tick]').first().textContent()).toBe('0');

    // On the node: the newest chart (the curve), at the node's width.
    const box = node('charts').locator('[data-testid=node-preview-box]');
    expect(await box.getAttribute('data-kind')).toBe('curve');
    expect(await box.locator('[data-testid=curve-chart]').getAttribute('width')).toBe('260');
    await page.screenshot({ path: shot('previews-charts.png') });
    expect(problems).toEqual([]);
  });

  it('resizes the on-node preview by its corner (one undo step) and saves the size with the graph', async () => {
    const box = node('charts').locator('[data-testid=node-preview-box]');
    const before = (await box.boundingBox())!;
    const nodeBefore = (await node('charts').boundingBox())!;
    const zoom = await page.locator('.react-flow__viewport').evaluate((el) => new DOMMatrix(getComputedStyle(el).transform).a);
    const corner = (await node('charts').locator('[data-testid=preview-resize]').boundingBox())!;
    await page.mouse.move(corner.x + corner.width / 2, corner.y + corner.height / 2);
    await page.mouse.down();
    await page.mouse.move(corner.x + 60, corner.y + 40, { steps: 3 });
    await page.mouse.move(corner.x + 120 * zoom, corner.y + 80 * zoom, { steps: 3 });
    await page.mouse.up();
    const after = (await box.boundingBox())!;
    // 120 x 80 flow pixels larger (give or take the handle's centre), and the node grew with it.
    expect((after.width - before.width) / zoom).toBeGreaterThan(110);
    expect((after.height - before.height) / zoom).toBeGreaterThan(70);
    expect((await node('charts').boundingBox())!.width - nodeBefore.width).toBeCloseTo(after.width - before.width, 0);
    const svgWidth = Number(await box.locator('[data-testid=curve-chart]').getAttribute('width'));
    expect(svgWidth).toBeGreaterThan(370);
    // The node did not move: the drag was the preview's.
    const nodeAfter = (await node('charts').boundingBox())!;
    expect(Math.abs(nodeAfter.x - nodeBefore.x)).toBeLessThan(1);
    await page.screenshot({ path: shot('previews-resized.png') });

    // One undo step: undo restores the default size, redo the new one.
    await page.keyboard.press('Control+z');
    await expect.poll(() => box.locator('[data-testid=curve-chart]').getAttribute('width')).toBe('260');
    await page.keyboard.press('Control+y');
    await expect.poll(() => box.locator('[data-testid=curve-chart]').getAttribute('width')).toBe(String(svgWidth));

    // Saved in the graph's meta (UI state the engine ignores), and back after a reload.
    await page.keyboard.press('Control+s');
    await expect.poll(() => page.locator('[data-testid=notice]').textContent()).toContain('saved charts.json');
    const saved = JSON.parse(readFileSync(path.join(studio.graphsDir, 'charts.json'), 'utf8')) as GraphFile;
    expect(saved.meta.nodeUi).toEqual({ charts: { preview: { width: svgWidth, height: expect.any(Number) } } });
    await page.reload();
    await openFromList(page, 'charts', 'charts');
    await page.keyboard.press('Control+Enter');
    await page.locator('[data-testid=run-status][data-status=finished]').waitFor({ timeout: 30_000 });
    expect(await node('charts').locator('[data-testid=curve-chart]').getAttribute('width')).toBe(String(svgWidth));
    expect(problems).toEqual([]);
  });

  it('scrubs the step timeline of framed previews (Step and Iteration sliders, by keyboard); unframed previews stay as they were', async () => {
    await page.keyboard.press('Control+Enter');
    await page.locator('[data-testid=run-status][data-status=finished]').waitFor({ timeout: 30_000 });
    // Not selected: the panel says there is a timeline to scrub.
    await page.locator('.react-flow__pane').click({ position: { x: 20, y: 20 } });
    await expect.poll(() => panel('timeline').locator('[data-testid=timeline-hint]').textContent()).toContain('20 previews on the step timeline');
    await node('timeline').locator('[data-testid=node-title]').click();
    const timeline = panel('timeline').getByRole('region', { name: 'Step timeline' });
    const stepSlider = timeline.getByRole('slider', { name: 'Step' });
    const iterSlider = timeline.getByRole('slider', { name: 'Iteration' });
    const bars = timeline.locator('[data-testid=preview-bars]');
    const expectBars = async (t: number) => {
      const p = probabilities(t);
      await expect.poll(() => bars.getByRole('img').getAttribute('aria-label')).toBe(`p(left) term 1: ${CLASSES.map((c, i) => `${c} ${formatNumber(p[i]!)}`).join(', ')}`);
    };
    // It starts at the newest frame: step 4 of 4, iteration 3 of 3.
    expect(await stepSlider.getAttribute('aria-valuetext')).toBe('step 4 of 4');
    expect(await iterSlider.getAttribute('aria-valuetext')).toBe('iteration 3 of 3');
    await expectBars(1);
    // The step's own previews (framed without an iteration) show beside the iteration's bars.
    expect(await timeline.locator('[data-testid=preview-heatmap] figcaption').textContent()).toBe('token "circle" at step 4');
    expect(await timeline.locator('[data-testid=preview-image] figcaption').textContent()).toBe('x0 prediction');
    // Unframed previews: below, as before.
    expect(await panel('timeline').locator('[data-testid=preview-curve] figcaption').textContent()).toBe('loss over all iterations');
    expect(await panel('timeline').locator('[data-testid=preview-text]').textContent()).toContain('4 steps, 3 iterations each');
    expect(await timeline.locator('[data-testid=preview-curve]').count()).toBe(0);

    // Keyboard: Home goes to the first step (its newest iteration), arrows step through iterations.
    await stepSlider.focus();
    await page.keyboard.press('Home');
    await expect.poll(() => stepSlider.getAttribute('aria-valuetext')).toBe('step 1 of 4');
    expect(await timeline.locator('[data-testid=preview-heatmap] figcaption').textContent()).toBe('token "circle" at step 1');
    await expectBars(2 / 11);
    await iterSlider.focus();
    await page.keyboard.press('ArrowLeft');
    await page.keyboard.press('ArrowLeft');
    await expect.poll(() => iterSlider.getAttribute('aria-valuetext')).toBe('iteration 1 of 3');
    await expectBars(0);
    await stepSlider.focus();
    await page.keyboard.press('ArrowRight');
    await expect.poll(() => stepSlider.getAttribute('aria-valuetext')).toBe('step 2 of 4');
    // The iteration picked stays picked on the next step: step 2, iteration 1.
    expect(await iterSlider.getAttribute('aria-valuetext')).toBe('iteration 1 of 3');
    await expectBars(3 / 11);
    expect(await timeline.getAttribute('data-step')).toBe('1');
    await page.screenshot({ path: shot('previews-timeline.png') });
    expect(problems).toEqual([]);
  });

  it('scrubs a real Latent Optimize run (graphs/steer-spatial.json with the bundled model and classifier, fewer steps)', async () => {
    const graph = JSON.parse(readFileSync(path.join(ROOT, 'graphs/steer-spatial.json'), 'utf8')) as GraphFile;
    const set = (id: string, params: Record<string, unknown>) => Object.assign(graph.nodes.find((n) => n.id === id)!.params, params);
    set('model', { path: path.join(ROOT, 'resources/models/shape-world') });
    set('classifier', { path: path.join(ROOT, 'resources/classifiers/shape-world-relations') });
    set('optimize', { steps: 20, last_step: 9 });
    writeFileSync(path.join(studio.graphsDir, 'steer.json'), JSON.stringify(graph));
    await page.getByRole('button', { name: 'Reload the graph list' }).click();
    await openFromList(page, 'steer', 'optimize');
    await page.keyboard.press('Control+Enter');
    await page.locator('[data-testid=run-status][data-status=finished]').waitFor({ timeout: 120_000 });
    await node('optimize').locator('[data-testid=node-title]').click();
    const timeline = panel('optimize').getByRole('region', { name: 'Step timeline' });
    const stepSlider = timeline.getByRole('slider', { name: 'Step' });
    // The newest frame is the last step's x0 prediction (steps after the steered ones have no iterations).
    expect(await stepSlider.getAttribute('aria-valuetext')).toBe('step 20 of 20');
    expect(await timeline.getByRole('slider', { name: 'Iteration' }).count()).toBe(0);
    expect(await timeline.locator('[data-testid=preview-image] figcaption').textContent()).toBe('x0 prediction');
    // A steered step: the classifier's probabilities per iteration, the losses, both objects' attention, x0.
    await stepSlider.focus();
    await page.keyboard.press('Home');
    await expect.poll(() => stepSlider.getAttribute('aria-valuetext')).toBe('step 1 of 20');
    expect(await timeline.getByRole('slider', { name: 'Iteration' }).getAttribute('aria-valuetext')).toMatch(/^iteration \d+ of \d+$/);
    expect(await timeline.locator('[data-testid=preview-bars] figcaption').textContent()).toMatch(/^p\(left\) term 1: learned: red circle left blue square$/);
    expect(await timeline.locator('[data-testid=preview-bars] [data-testid=bar][data-highlight=true] text').first().textContent()).toBe('left');
    expect(await timeline.locator('[data-testid=preview-heatmap] figcaption').allTextContents()).toEqual(['attention: red circle', 'attention: blue square']);
    expect(await timeline.locator('[data-testid=preview-table] figcaption').textContent()).toBe('Losses');
    // The loss over all evaluations is the node's own (unframed) preview, on the node and below the timeline.
    expect(await panel('optimize').locator('[data-testid=preview-curve] figcaption').textContent()).toBe('Steering loss per evaluation');
    expect(await node('optimize').locator('[data-testid=node-preview-box]').getAttribute('data-kind')).toBe('curve');
    await page.locator('[data-testid=run-panel]').evaluate((el) => (el.scrollTop = 0));
    await page.screenshot({ path: shot('previews-latent-optimize.png') });
    expect(problems).toEqual([]);
  });
});
