/**
 * Steering benchmark: the same prompts and seeds sampled plainly and with several steering
 * schedules, every image from a branch of graphs/compare-losses.json run through the Executor
 * (the graph-run helper `steer eval` uses). Each schedule is the compare-losses `centroid` or
 * `learned` branch cloned with its Latent Optimize params changed. Per schedule: accuracy (GenEval
 * rule, every object detected), object recall, seconds per image, UNet forward and backward
 * evaluations per image, steering-loss evaluations per steered step (histogram).
 *
 *   npm run bench:steer [-- --suite position --count 16 --seeds 1 --only none,learned-default --out bench/results/steer.json]
 *
 * Writes the JSON and `<out without .json>-frontier.svg` (accuracy against seconds per image).
 * `-- --plot bench/results/steer.json` redraws the SVG from a JSON written before.
 */
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { mkdirSync, readFileSync } from 'node:fs';
import { loadGraphForCli } from '../src/cli/graph-input.ts';
import { COMPARE_GRAPH } from '../src/cli/commands/generate.ts';
import { cloneBranch, DENOISER_TYPES, GraphEvaluator, resolveBranches } from '../src/engine/eval/graph-run.ts';
import { METHOD_COLORS } from '../src/engine/eval/report.ts';
import { runSuiteMethods, summarizeMethod } from '../src/engine/eval/run-methods.ts';
import { SUITES, suitePrompts, type SuiteName } from '../src/engine/eval/suites.ts';
import { NodeRegistry } from '../src/engine/graph/registry.ts';
import { validateGraph } from '../src/engine/graph/validate.ts';
import { writeFileAtomic } from '../src/engine/util/fs.ts';
import { BUILTIN_NODES } from '../src/nodes/registry.ts';
import type { GraphFile } from '../src/shared/graph.ts';

const arg = (name: string, d: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : d;
};
const suite = arg('suite', 'position') as SuiteName;
if (!(SUITES as readonly string[]).includes(suite)) throw new Error(`--suite: one of ${SUITES.join(', ')}`);
const count = Number(arg('count', '16'));
const seeds = Number(arg('seeds', '1'));
const outFile = resolve(arg('out', 'bench/results/steer.json'));
const only = arg('only', '');
const plot = arg('plot', '');
if (plot) {
  const prev = JSON.parse(readFileSync(plot, 'utf8')) as { suite: string; prompts: number; seeds: number; rows: Row[] };
  await writeFileAtomic(plot.replace(/\.json$/, '-frontier.svg'), frontierSvg(prev.rows, frontierTitle(prev.suite, prev.prompts, prev.seeds)));
  process.exit(0);
}
const steps = arg('steps', '');

/** A schedule: which compare-losses branch it starts from, and the Latent Optimize params it changes. */
interface Schedule {
  name: string;
  label: string;
  from?: 'centroid' | 'learned';
  optimize?: Record<string, unknown>;
}
const AUTHORS = { last_step: 24, max_iter: 15, alpha: 5, step_mode: 'raw', stop_prob: 1, min_iter: 0, thresholds: '0.00001,0.00003,0.00005,0.00007' };
const norm = (alpha: number, stop: number, last = 24, minIter = 0) => ({ ...AUTHORS, step_mode: 'normalized', alpha, stop_prob: stop, last_step: last, min_iter: minIter });
const SCHEDULES: Schedule[] = [
  { name: 'none', label: 'none (plain sampling)' },
  { name: 'centroid-authors', label: 'centroid, authors (raw a=5, 16 it, steps 0-24)', from: 'centroid', optimize: AUTHORS },
  { name: 'learned-authors', label: 'learned, authors (raw a=5, 16 it, steps 0-24)', from: 'learned', optimize: AUTHORS },
  { name: 'learned-n005-p08', label: 'learned, normalized a=0.05, p>=0.8', from: 'learned', optimize: norm(0.05, 0.8) },
  { name: 'learned-n01-p08', label: 'learned, normalized a=0.1, p>=0.8', from: 'learned', optimize: norm(0.1, 0.8) },
  { name: 'learned-n005-p09', label: 'learned, normalized a=0.05, p>=0.9', from: 'learned', optimize: norm(0.05, 0.9) },
  { name: 'learned-n02-p09', label: 'learned, normalized a=0.2, p>=0.9', from: 'learned', optimize: norm(0.2, 0.9) },
  { name: 'learned-n005-p08-s14', label: 'learned, normalized a=0.05, p>=0.8, steps 0-14', from: 'learned', optimize: norm(0.05, 0.8, 14) },
  { name: 'learned-n005-p08-s9', label: 'learned, normalized a=0.05, p>=0.8, steps 0-9', from: 'learned', optimize: norm(0.05, 0.8, 9) },
  { name: 'learned-n01-p09-s14', label: 'learned, normalized a=0.1, p>=0.9, steps 0-14', from: 'learned', optimize: norm(0.1, 0.9, 14) },
  // at least one move per steered step (Min iterations 1): the shipped graphs' learned branch
  { name: 'learned-n005-p08-m1', label: 'learned, normalized a=0.05, p>=0.8, min 1 move', from: 'learned', optimize: norm(0.05, 0.8, 24, 1) },
  { name: 'learned-n005-p08-m1-s14', label: 'learned, normalized a=0.05, p>=0.8, min 1 move, steps 0-14', from: 'learned', optimize: norm(0.05, 0.8, 14, 1) },
  { name: 'learned-n005-p08-m1-s9', label: 'learned, normalized a=0.05, p>=0.8, min 1 move, steps 0-9', from: 'learned', optimize: norm(0.05, 0.8, 9, 1) },
  { name: 'learned-n005-p08-m1-s4', label: 'learned, normalized a=0.05, p>=0.8, min 1 move, steps 0-4', from: 'learned', optimize: norm(0.05, 0.8, 4, 1) },
];
const chosen = only ? SCHEDULES.filter((s) => only.split(',').includes(s.name)) : SCHEDULES;
if (chosen.length === 0) throw new Error(`--only: none of ${only}; schedules are ${SCHEDULES.map((s) => s.name).join(', ')}`);

const registry = new NodeRegistry(BUILTIN_NODES);
const { graph: base, baseDir } = await loadGraphForCli(COMPARE_GRAPH, registry);
let doc: GraphFile = base;
for (const s of chosen) if (s.from) doc = cloneBranch(doc, s.from, s.name, { 'latent.optimize': s.optimize ?? {} });
if (steps) doc = { ...doc, nodes: doc.nodes.map((n) => (DENOISER_TYPES.includes(n.type) ? { ...n, params: { ...n.params, steps: Number(steps) } } : n)) };
const checked = validateGraph(doc, registry);
if (!checked.ok) throw new Error(`bench graph: ${checked.issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`);
const graph = checked.graph;
const branches = resolveBranches(graph, 'bench graph', chosen.map((s) => s.name));
const evaluator = new GraphEvaluator(registry, graph, { baseDir, outputDir: join(tmpdir(), 'steer-bench-out') });

const prompts = suitePrompts(suite, count);
const started = performance.now();
const load0 = loadavg();
let last = 0;
const records = await runSuiteMethods({
  suite,
  seeds,
  count,
  branches,
  evaluator,
  onImage: (n, total, r) => {
    if (n === total || performance.now() - last > 10_000) {
      last = performance.now();
      process.stderr.write(`image ${n}/${total} (${r.method}, ${r.seconds} s)\n`);
    }
  },
});
const rows = chosen.map((s) => {
  const m = summarizeMethod(suite, s.name, records);
  const params = s.from ? graph.nodes.find((n) => n.id === `optimize_${s.name}`)!.params : graph.nodes.find((n) => n.id === 'sample_none')!.params;
  return {
    method: s.name,
    label: s.label,
    branch: s.from ?? 'none',
    params,
    images: m.images,
    accuracy: m.accuracy,
    objectRecall: m.objectRecall,
    byGroup: m.byGroup,
    secondsPerImage: m.secondsPerImage,
    medianSecondsPerImage: m.medianSecondsPerImage,
    unetForwardPerImage: m.unetForwardPerImage,
    unetBackwardPerImage: m.unetBackwardPerImage,
    steeringEvaluationsPerImage: m.steeringEvaluationsPerImage,
    iterationsPerStepHistogram: m.iterationsPerStepHistogram,
  };
});
for (const r of rows) {
  console.log(`${r.label}: accuracy ${(100 * r.accuracy).toFixed(1)}%, object recall ${(100 * r.objectRecall).toFixed(1)}%, ${r.secondsPerImage} s/image, UNet ${r.unetForwardPerImage} fwd + ${r.unetBackwardPerImage} bwd per image`);
}

interface Row {
  method: string;
  label: string;
  accuracy: number;
  secondsPerImage?: number;
}
function frontierTitle(suite: string, prompts: number, seeds: number): string {
  return `Steering on ${suite} (${prompts} prompts x ${seeds} seed${seeds > 1 ? 's' : ''}): accuracy / time`;
}

/** Accuracy against seconds per image (log axis), the Pareto frontier joined. */
function frontierSvg(points: Row[], title: string): string {
  const W = 720;
  const H = 440;
  const L = 60;
  const R = 250;
  const T = 40;
  const B = 50;
  const xs = points.map((p) => Math.max(p.secondsPerImage ?? 0.01, 0.01));
  const lo = Math.log10(Math.min(...xs) / 1.5);
  const hi = Math.log10(Math.max(...xs) * 1.5);
  const px = (s: number) => L + ((Math.log10(Math.max(s, 0.01)) - lo) / (hi - lo)) * (W - L - R);
  const py = (a: number) => T + (1 - a) * (H - T - B);
  const sorted = [...points].sort((a, b) => (a.secondsPerImage ?? 0) - (b.secondsPerImage ?? 0));
  const front: Row[] = [];
  for (const p of sorted) if (front.length === 0 || p.accuracy > front.at(-1)!.accuracy) front.push(p);
  const ticks: string[] = [];
  for (let e = Math.floor(lo); e <= Math.ceil(hi); e++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** e;
      if (Math.log10(v) < lo || Math.log10(v) > hi) continue;
      ticks.push(`<line x1="${px(v)}" x2="${px(v)}" y1="${T}" y2="${H - B}" stroke="#eee"/><text x="${px(v)}" y="${H - B + 16}" text-anchor="middle" fill="#666">${v}</text>`);
    }
  }
  for (const a of [0, 0.25, 0.5, 0.75, 1]) ticks.push(`<line x1="${L}" x2="${W - R}" y1="${py(a)}" y2="${py(a)}" stroke="#eee"/><text x="${L - 6}" y="${py(a) + 4}" text-anchor="end" fill="#666">${a * 100}%</text>`);
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const dots = points.map((p, k) => {
    const c = METHOD_COLORS[k % METHOD_COLORS.length]!;
    return `<circle cx="${px(p.secondsPerImage ?? 0).toFixed(1)}" cy="${py(p.accuracy).toFixed(1)}" r="5" fill="${c}"><title>${esc(p.label)}</title></circle><text x="${px(p.secondsPerImage ?? 0) + 7}" y="${py(p.accuracy) - 6}" font-size="10">${k + 1}</text>` +
      `<circle cx="${W - R + 20}" cy="${T + 8 + k * 18}" r="5" fill="${c}"/><text x="${W - R + 30}" y="${T + 12 + k * 18}" font-size="10">${k + 1}. ${esc(p.method)}: ${(100 * p.accuracy).toFixed(0)}%, ${p.secondsPerImage} s</text>`;
  });
  const line = front.map((p, k) => `${k ? 'L' : 'M'}${px(p.secondsPerImage ?? 0).toFixed(1)},${py(p.accuracy).toFixed(1)}`).join(' ');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="${W / 2}" y="22" text-anchor="middle" font-size="14" font-weight="700">${esc(title)}</text>
${ticks.join('\n')}
<path d="${line}" fill="none" stroke="#2563eb" stroke-dasharray="4 3"/>
${dots.join('\n')}
<text x="${(L + W - R) / 2}" y="${H - 12}" text-anchor="middle">seconds per image (log scale)</text>
<text x="16" y="${(T + H - B) / 2}" transform="rotate(-90 16 ${(T + H - B) / 2})" text-anchor="middle">accuracy</text>
</svg>
`;
}

const seconds = (performance.now() - started) / 1000;
mkdirSync(dirname(outFile), { recursive: true });
const result = {
  date: new Date().toISOString(),
  suite,
  prompts: prompts.length,
  seeds,
  graph: 'graphs/compare-losses.json (centroid/learned branches cloned per schedule)',
  machine: { cpus: cpus().length, loadavgAtStart: load0.map((x) => +x.toFixed(2)), loadavgAtEnd: loadavg().map((x) => +x.toFixed(2)) },
  seconds: +seconds.toFixed(1),
  rows,
  note: 'Seconds on a shared CPU machine (wall time of the branch run minus one-time model/classifier loads; the first image of a schedule also creates its steering session); compare ratios within one run. UNet forward per image: steps x 2 for the CFG pair, plus one per steering-loss evaluation; backward: one per steering-loss evaluation.',
  // per image: which prompt and seed, the verdict and the cost (detections and per-step counts left out: see the histograms)
  records: records.map(({ detections: _d, iterationsPerStep: _i, ...r }) => r),
};
await writeFileAtomic(outFile, `${JSON.stringify(result, null, 2)}\n`);
await writeFileAtomic(outFile.replace(/\.json$/, '-frontier.svg'), frontierSvg(rows, frontierTitle(suite, prompts.length, seeds)));
process.stderr.write(`wrote ${outFile} in ${seconds.toFixed(0)} s\n`);
