/**
 * The editor with a 500-node graph in headless Chromium (playwright-core + /usr/bin/chromium),
 * against the real renderer build and `startServer`:
 *   load    click in the graph list -> all nodes drawn, measured and fitted to the view (timed in the page)
 *   pan     fps from an in-page frame counter while the pane is dragged one step per frame
 *   zoom    the same with a wheel event per frame
 *   select  pointerdown on one node -> the frame after it shows as selected
 * Targets (issue #12): pan >= 50 fps with every node on screen, select < 50 ms, load < 1 s.
 * `npm run bench:editor` -> bench/results/editor.json (NODES=500, ROUNDS=3 to change).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Page } from 'playwright-core';
import { build } from 'vite';
import { EngineHost } from '../src/engine/host.ts';
import { startServer } from '../src/server/index.ts';
import type { GraphFile } from '../src/shared/graph.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const NODES = Number(process.env.NODES ?? 500);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const CHROMIUM = process.env.STEER_CHROMIUM ?? '/usr/bin/chromium';
const MEASURE_MS = 2000;

/** Text -> Prompt Parse pairs in a grid: half the nodes feed the other half. */
function benchGraph(n: number): GraphFile {
  const nodes: GraphFile['nodes'] = [];
  const edges: GraphFile['edges'] = [];
  const cols = Math.ceil(Math.sqrt(n / 2));
  for (let i = 0; i < n / 2; i++) {
    const x = (i % cols) * 640;
    const y = Math.floor(i / cols) * 260;
    nodes.push({ id: `t${i}`, type: 'primitive.text', typeVersion: 1, params: { text: `a red circle left of a blue square ${i}` }, position: { x, y } });
    nodes.push({ id: `p${i}`, type: 'prompt.parse', typeVersion: 1, params: { text: '' }, position: { x: x + 300, y } });
    edges.push({ id: `e${i}`, from: { node: `t${i}`, output: 'text' }, to: { node: `p${i}`, input: 'text' } });
  }
  return { format: 'steer-graph', version: 1, meta: { name: `bench ${n}` }, nodes, edges };
}

/** Frames per second while `step` runs once per animation frame for MEASURE_MS (in the page). */
async function framesWhile(page: Page, kind: 'pan' | 'zoom'): Promise<{ fps: number; p95FrameMs: number }> {
  return page.evaluate(
    ({ kind, ms }) =>
      new Promise<{ fps: number; p95FrameMs: number }>((resolve) => {
        const pane = document.querySelector('.react-flow__pane') as HTMLElement;
        const r = pane.getBoundingClientRect();
        let x = r.left + r.width / 2;
        const y = r.top + r.height / 2;
        const mouse = (type: string, target: EventTarget) =>
          target.dispatchEvent(new MouseEvent(type, { clientX: x, clientY: y, button: 0, buttons: 1, bubbles: true, view: window }));
        if (kind === 'pan') mouse('mousedown', pane);
        const times: number[] = [];
        let dir = 1;
        const start = performance.now();
        const frame = (t: number) => {
          times.push(t);
          if (kind === 'pan') {
            x += 6 * dir;
            if (Math.abs(x - (r.left + r.width / 2)) > 200) dir = -dir;
            mouse('mousemove', window);
          } else {
            dir = times.length % 40 < 20 ? 1 : -1;
            pane.dispatchEvent(new WheelEvent('wheel', { clientX: x, clientY: y, deltaY: 25 * dir, bubbles: true, cancelable: true, view: window }));
          }
          if (t - start < ms) requestAnimationFrame(frame);
          else {
            if (kind === 'pan') mouse('mouseup', window);
            const gaps = times.slice(1).map((v, i) => v - times[i]!).sort((a, b) => a - b);
            resolve({ fps: ((times.length - 1) * 1000) / (times.at(-1)! - times[0]!), p95FrameMs: gaps[Math.floor(gaps.length * 0.95)] ?? 0 });
          }
        };
        requestAnimationFrame(frame);
      }),
    { kind, ms: MEASURE_MS },
  );
}

/** pointerdown on a node -> the first frame painted after it has the `selected` class. */
async function selectLatency(page: Page, id: string): Promise<number> {
  await page.evaluate((id) => {
    const el = document.querySelector(`.react-flow__node[data-id="${id}"]`)!;
    const w = window as unknown as { __sel: Promise<number> };
    w.__sel = new Promise((resolve) => {
      let down = 0;
      el.addEventListener('pointerdown', () => (down = performance.now()), { capture: true, once: true });
      const obs = new MutationObserver(() => {
        if (!el.classList.contains('selected')) return;
        obs.disconnect();
        requestAnimationFrame(() => resolve(performance.now() - down));
      });
      obs.observe(el, { attributes: true, attributeFilter: ['class'] });
    });
  }, id);
  const box = (await page.locator(`.react-flow__node[data-id="${id}"] [data-testid=node-title]`).boundingBox())!;
  await page.mouse.click(box.x + 4, box.y + box.height / 2);
  return page.evaluate(() => (window as unknown as { __sel: Promise<number> }).__sel);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function main(): Promise<void> {
  const tmp = mkdtempSync(path.join(tmpdir(), 'steer-bench-editor-'));
  const staticDir = path.join(tmp, 'renderer');
  const graphsDir = path.join(tmp, 'graphs');
  mkdirSync(graphsDir, { recursive: true });
  writeFileSync(path.join(graphsDir, 'bench.json'), JSON.stringify(benchGraph(NODES)));
  writeFileSync(path.join(graphsDir, 'small.json'), JSON.stringify(benchGraph(2)));
  await build({ configFile: path.join(ROOT, 'vite.renderer.config.ts'), logLevel: 'warn', build: { outDir: staticDir, emptyOutDir: true, sourcemap: false } });
  const host = new EngineHost({ graphsDir, cacheDir: path.join(tmp, 'cache'), outputDir: path.join(tmp, 'out') });
  const server = await startServer({ graphsDir, staticDir, engine: host });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu'] });
  const version = browser.version();
  const rounds: { loadMs: number; panFps: number; panP95FrameMs: number; zoomFps: number; zoomP95FrameMs: number; selectMs: number; onScreen: number }[] = [];
  try {
    for (let round = 0; round < ROUNDS; round++) {
      const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
      // tsx (esbuild keepNames) wraps the functions passed to page.evaluate in __name(...).
      await page.addInitScript('globalThis.__name = (f) => f');
      await page.goto(server.url);
      await page.locator('[data-testid=graph-list] [data-graph]', { hasText: 'small' }).click();
      await page.locator('[data-testid=flow][data-fitted=true]').waitFor();
      if (process.env.TRACE_LOAD) await browser.startTracing(page, { path: process.env.TRACE_LOAD, categories: ['devtools.timeline'] });
      // PROFILE_LOAD=file.cpuprofile: a JS CPU profile of the load (open it in DevTools).
      const profiler = process.env.PROFILE_LOAD ? await page.context().newCDPSession(page) : undefined;
      if (profiler) {
        await profiler.send('Profiler.enable');
        await profiler.send('Profiler.setSamplingInterval', { interval: 200 });
        await profiler.send('Profiler.start');
      }
      // Timed in the page, from the click to the second frame after the graph is drawn and fitted:
      // Playwright's own waiting (locator.waitFor) forces style and layout of the growing DOM on
      // every poll and made up a fifth of the figure.
      const loaded = page.evaluate(
        () =>
          new Promise<number>((resolve) => {
            let t0 = 0;
            document.addEventListener('click', () => (t0 = performance.now()), { capture: true, once: true });
            const done = () =>
              t0 > 0 && document.querySelector('[data-testid=graph-path]')?.textContent?.includes('bench.json') && document.querySelector('[data-testid=flow][data-fitted=true]');
            const check = () => (done() ? requestAnimationFrame(() => requestAnimationFrame(() => resolve(performance.now() - t0))) : requestAnimationFrame(check));
            requestAnimationFrame(check);
          }),
      );
      await page.locator('[data-testid=graph-list] [data-graph]', { hasText: 'bench' }).click();
      const loadMs = Math.round(await loaded);
      if (process.env.TRACE_LOAD) await browser.stopTracing();
      if (profiler) writeFileSync(process.env.PROFILE_LOAD!, JSON.stringify((await profiler.send('Profiler.stop')).profile));
      const onScreen = await page.evaluate(() => {
        const c = document.querySelector('[data-testid=canvas]')!.getBoundingClientRect();
        return [...document.querySelectorAll('.react-flow__node')].filter((e) => {
          const r = e.getBoundingClientRect();
          return r.right > c.left && r.left < c.right && r.bottom > c.top && r.top < c.bottom;
        }).length;
      });
      if (process.env.EXP_CSS) await page.addStyleTag({ content: process.env.EXP_CSS });
      const cdp = await page.context().newCDPSession(page);
      await cdp.send('Performance.enable');
      const metrics = async () => Object.fromEntries(((await cdp.send('Performance.getMetrics')).metrics as { name: string; value: number }[]).map((m) => [m.name, m.value]));
      const m0 = await metrics();
      if (process.env.TRACE) await browser.startTracing(page, { path: process.env.TRACE, categories: ['devtools.timeline', 'disabled-by-default-devtools.timeline'] });
      const pan = await framesWhile(page, 'pan');
      if (process.env.TRACE) await browser.stopTracing();
      const m1 = await metrics();
      const zoom = await framesWhile(page, 'zoom');
      const per = (k: string) => Math.round(((m1[k]! - m0[k]!) * 1000) / MEASURE_MS * 1000) / 1000;
      process.stderr.write(`pan: per second of panning, seconds spent in script ${per('ScriptDuration')}, style ${per('RecalcStyleDuration')}, layout ${per('LayoutDuration')}, tasks ${per('TaskDuration')}\n`);
      await page.keyboard.press('f');
      await page.waitForTimeout(300);
      const selects: number[] = [];
      for (const id of ['t3', 'p10', 't40', 'p77', 't120'].filter((i) => Number(i.slice(1)) < NODES / 2)) selects.push(await selectLatency(page, id));
      rounds.push({ loadMs, panFps: pan.fps, panP95FrameMs: pan.p95FrameMs, zoomFps: zoom.fps, zoomP95FrameMs: zoom.p95FrameMs, selectMs: median(selects), onScreen });
      if (round === 0) {
        mkdirSync(path.join(ROOT, 'test-results'), { recursive: true });
        await page.screenshot({ path: path.join(ROOT, 'test-results', 'bench-editor.png') });
      }
      await page.close();
      process.stderr.write(`round ${round + 1}: ${JSON.stringify(rounds.at(-1))}\n`);
    }
  } finally {
    await browser.close();
    await server.close();
    host.dispose();
    rmSync(tmp, { recursive: true, force: true });
  }
  const pick = (k: keyof (typeof rounds)[number]) => Math.round(median(rounds.map((r) => r[k])) * 10) / 10;
  const result = {
    date: new Date().toISOString(),
    nodes: NODES,
    edges: NODES / 2,
    rounds: ROUNDS,
    browser: `chromium ${version} headless, --disable-gpu`,
    // Other work on the machine shows in every figure: the load average when the bench ended.
    machine: { cpus: cpus().length, loadavg1m: Math.round(loadavg()[0]! * 100) / 100 },
    median: { loadMs: pick('loadMs'), panFps: pick('panFps'), panP95FrameMs: pick('panP95FrameMs'), zoomFps: pick('zoomFps'), zoomP95FrameMs: pick('zoomP95FrameMs'), selectMs: pick('selectMs'), nodesOnScreen: pick('onScreen') },
    targets: { loadMs: 1000, panFps: 50, selectMs: 50 },
    all: rounds,
  };
  mkdirSync(path.join(ROOT, 'bench', 'results'), { recursive: true });
  writeFileSync(path.join(ROOT, 'bench', 'results', 'editor.json'), `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(`${JSON.stringify(result.median, null, 2)}\n`);
}

await main();
