import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { basename, join, resolve } from 'node:path';
import { tappedUNet } from '../../engine/eval/attention-peak.ts';
import { EvalGraphError, EvalRunError, GraphEvaluator, resolveBranches, type EvalBranch } from '../../engine/eval/graph-run.ts';
import { accuracyChartSvg, imageGrid, methodChartSvg, methodGrid, methodTableMarkdown, recordsToCsv } from '../../engine/eval/report.ts';
import { completeItems, runSuiteMethods, summarizeMethod } from '../../engine/eval/run-methods.ts';
import { runSuite, summarize, type EvalRecord, type SuiteSummary } from '../../engine/eval/run-suite.ts';
import { SUITES, type SuiteName } from '../../engine/eval/suites.ts';
import { NodeRegistry } from '../../engine/graph/registry.ts';
import type { ImageRGB } from '../../engine/image/image.ts';
import { encodePng } from '../../engine/image/png.ts';
import { SessionManager } from '../../engine/onnx/session.ts';
import { loadPipeline, PipelineLoadError } from '../../engine/pipeline/load.ts';
import { writeFileAtomic } from '../../engine/util/fs.ts';
import { FolderLockedError, lockFolder } from '../../engine/util/lock.ts';
import { DEFAULT_MODEL, resolveModelPath } from '../../nodes/model-load.ts';
import { BUILTIN_NODES } from '../../nodes/registry.ts';
import type { GraphFile } from '../../shared/graph.ts';
import { RunFailedError, UsageError } from '../errors.ts';
import { flagSets, type CliSet, type FlagBinding } from '../flags.ts';
import { loadGraphForCli } from '../graph-input.ts';
import { interruptible, isAbort } from '../interrupt.ts';
import { preflightGraph, preflightModel, preflightOutput, preflightSteps } from '../preflight.ts';
import { COMPARE_GRAPH } from './generate.ts';

interface EvalOpts {
  seeds: string;
  count?: string;
  steps?: string;
  cfg?: string;
  scheduler?: string;
  model?: string;
  out: string;
  attention?: boolean;
  method?: string;
  graph?: string;
}

const int = (name: string, v: string, min: number) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`${name} must be an integer >= ${min}, got "${v}"`);
  return n;
};

/** Images per suite and method kept for the before/after grid. */
const GRID_COLUMNS = 8;

/** The flags that set params of the branches' nodes (denoisers: steps, guidance, scheduler; models: path). */
function bindings(graph: GraphFile, branches: EvalBranch[]): FlagBinding[] {
  const denoisers = [...new Set(branches.flatMap((b) => b.denoisers))];
  return [
    ...denoisers.flatMap((node) => [
      { flag: '--steps', node, param: 'steps' },
      { flag: '--cfg', node, param: 'guidance' },
      { flag: '--scheduler', node, param: 'scheduler' },
    ]),
    ...graph.nodes.filter((n) => n.type === 'model.load').map((n) => ({ flag: '--model', node: n.id, param: 'path' })),
  ];
}

export function register(program: Command): void {
  program
    .command('eval')
    .description(
      `Benchmark steering methods on Shape World suites (${SUITES.join(', ')}, or "all"): for each prompt and seed, run each method's branch of a graph (default graphs/compare-losses.json; --graph FILE for your own), detect, judge with the GenEval rules. Writes results.json, results.csv, table.md, chart.svg and samples-SUITE.png (one row per method).`,
    )
    .argument('<suite>', `${SUITES.join(' | ')} | all`)
    .option('--method <list>', 'comma-separated branches of the graph: Decode nodes named decode_<method> (compare-losses: none, centroid, learned); default none, or the only image output of --graph')
    .option('--graph <file>', 'evaluate this graph instead of graphs/compare-losses.json: it needs a prompt input (Prompt Parse fed by a Text node, or with its own text) and an image output (a Decode node, or what a Save Image node saves)')
    .option('--seeds <n>', 'images per prompt (seeds 0..n-1)', '4')
    .option('--count <n>', 'prompts per suite (default: the suite\'s size)')
    .option('--steps <n>', 'denoising steps of every Sampler / Latent Optimize of the branches (default: the graph\'s, 50 in compare-losses)')
    .option('--cfg <x>', 'classifier-free guidance scale (default: the graph\'s, 7.5 in compare-losses)')
    .option('--scheduler <name>', 'ddim or euler (default: the graph\'s)')
    .option('--model <dir>', 'model folder for every Load Model node (default: the graph\'s, the bundled Shape World model)')
    .option('--out <dir>', 'output folder', 'out/eval')
    .option('--attention', 'plain sampling only (no --method/--graph): also score whether each object\'s cross-attention (16x16, middle steps) peaks inside its detected box')
    .action(async (suiteArg: string, o: EvalOpts) => {
      const suites: SuiteName[] = suiteArg === 'all' ? [...SUITES] : (SUITES as readonly string[]).includes(suiteArg) ? [suiteArg as SuiteName] : [];
      if (suites.length === 0) throw new UsageError(`unknown suite "${suiteArg}"; suites are ${SUITES.join(', ')}, all`);
      if (o.scheduler !== undefined && !['ddim', 'euler'].includes(o.scheduler)) throw new UsageError(`--scheduler must be ddim or euler, got "${o.scheduler}"`);
      const seeds = int('--seeds', o.seeds, 1);
      if (o.steps !== undefined) int('--steps', o.steps, 1);
      const count = o.count !== undefined ? int('--count', o.count, 1) : undefined;
      if (o.cfg !== undefined) {
        const guidance = Number(o.cfg);
        if (o.cfg.trim() === '' || !Number.isFinite(guidance) || guidance < 1) throw new UsageError(`--cfg must be a number >= 1, got "${o.cfg}"`);
      }
      const methods = o.method !== undefined ? o.method.split(',').map((m) => m.trim()) : undefined;
      if (methods && (methods.length === 0 || methods.some((m) => m === ''))) throw new UsageError(`--method "${o.method}": give comma-separated branch names, e.g. none,centroid,learned`);
      if (methods && new Set(methods).size !== methods.length) throw new UsageError(`--method "${o.method}" names a method twice`);
      const out = resolve(o.out);
      preflightOutput(out, `--out ${o.out}`);
      if (o.attention) {
        if (o.graph !== undefined || (methods && (methods.length !== 1 || methods[0] !== 'none'))) throw new UsageError('--attention scores plain sampling only: use it without --graph and with --method none (the default)');
        await attentionEval(suites, suiteArg, o, { seeds, count, out });
        return;
      }

      // The graph and its branches, checked before any model loads.
      const registry = new NodeRegistry(BUILTIN_NODES);
      const graphFile = o.graph ?? COMPARE_GRAPH;
      const label = o.graph ?? 'graphs/compare-losses.json';
      const raw = await loadGraphForCli(graphFile, registry);
      let branches: EvalBranch[];
      try {
        branches = resolveBranches(raw.graph, label, methods ?? (o.graph === undefined ? ['none'] : undefined), basename(graphFile).replace(/\.json$/i, ''));
      } catch (err) {
        throw err instanceof EvalGraphError ? new UsageError(err.message) : err;
      }
      const values = { '--steps': o.steps, '--cfg': o.cfg, '--scheduler': o.scheduler, '--model': o.model !== undefined ? resolveModelPath(o.model, process.cwd()) : undefined };
      const sets: CliSet[] = flagSets(bindings(raw.graph, branches), values).map((s) => (s.flag === '--model' ? { ...s, text: o.model! } : s));
      const { graph, baseDir } = await loadGraphForCli(graphFile, registry, sets);
      preflightGraph(graph, baseDir, sets);
      const names = branches.map((b) => b.method);
      try {
        lockFolder(out, `steer eval ${suiteArg}`); // released at exit
      } catch (err) {
        throw err instanceof FolderLockedError ? new UsageError(err.message) : err;
      }

      const stop = interruptible({ notice: 'interrupted: stopping after the current image and writing the results so far (Ctrl+C again to quit at once)' });
      const evaluator = new GraphEvaluator(registry, graph, { baseDir, outputDir: join(out, 'graph-out'), signal: stop.signal });
      const summaries: SuiteSummary[] = [];
      const records: EvalRecord[] = [];
      const grids: Record<string, { rows: string[]; columns: { id: string; prompt: string; seed: number }[] }> = {};
      const t0 = performance.now();
      const tty = process.stderr.isTTY === true;
      const denoiser = graph.nodes.find((n) => n.id === branches[0]!.denoisers[0]);
      const title = (partial: boolean) =>
        `Shape World: ${names.join(' vs ')}${denoiser ? ` (${String(denoiser.params.steps)} steps, CFG ${String(denoiser.params.guidance)})` : ''}, ${seeds} seed${seeds > 1 ? 's' : ''}${partial ? ' (partial)' : ''}`;
      const write = async (partial: boolean) => {
        const seconds = (performance.now() - t0) / 1000;
        const result = {
          date: new Date().toISOString(),
          graph: resolve(graphFile),
          methods: names,
          branches: branches.map((b) => ({ method: b.method, image: b.imageNode, prompt: b.prompt.node, noise: b.noiseNodes, denoisers: b.denoisers })),
          seeds,
          ...(count !== undefined ? { count } : {}),
          settings: Object.fromEntries(branches.flatMap((b) => b.denoisers).map((id) => [id, graph.nodes.find((n) => n.id === id)!.params])),
          ...(partial ? { partial: true, note: 'summaries count only the prompts and seeds every method finished' } : {}),
          seconds: +seconds.toFixed(1),
          summaries,
          grids,
        };
        await writeFileAtomic(join(out, 'results.json'), `${JSON.stringify({ ...result, records }, null, 2)}\n`);
        await writeFileAtomic(join(out, 'results.csv'), recordsToCsv(records));
        await writeFileAtomic(join(out, 'chart.svg'), methodChartSvg(summaries, names, title(partial)));
        await writeFileAtomic(join(out, 'table.md'), methodTableMarkdown(summaries, names));
        return seconds;
      };
      try {
        for (const suite of suites) {
          const bar = new cliProgress.SingleBar({ format: ` ${suite.padEnd(16)} {bar} {value}/{total} images | {rate} | acc {acc}`, stream: process.stderr, hideCursor: true }, cliProgress.Presets.shades_classic);
          const rows = new Map<string, ImageRGB[]>(names.map((m) => [m, []]));
          const columns: { id: string; prompt: string; seed: number }[] = [];
          const done: EvalRecord[] = [];
          let total = 0;
          let lastLine = 0;
          const started = performance.now();
          const finishSuite = async () => {
            bar.stop();
            const fair = completeItems(done, names);
            for (const m of names) summaries.push(summarizeMethod(suite, m, fair));
            records.push(...done);
            if (columns.length > 0) {
              grids[suite] = { rows: names, columns };
              await writeFileAtomic(join(out, `samples-${suite}.png`), encodePng(methodGrid(names.map((m) => rows.get(m)!))));
            }
          };
          try {
            await runSuiteMethods({
              suite, seeds, branches, evaluator, signal: stop.signal,
              ...(count !== undefined ? { count } : {}),
              onImage: (n, all, r, image) => {
                total = all;
                if (n === 1 && tty) bar.start(all, 0, { acc: '-', rate: '' });
                if (!tty && (n === 1 || n === all || performance.now() - lastLine > 5000)) {
                  lastLine = performance.now();
                  process.stderr.write(` ${suite}: image ${n}/${all} (${r.method})\n`);
                }
                done.push(r);
                const row = rows.get(r.method!)!;
                if (row.length < GRID_COLUMNS) {
                  row.push(image);
                  if (row.length > columns.length) columns.push({ id: r.id, prompt: r.prompt, seed: r.seed });
                }
                const acc = names.map((m) => {
                  const mine = done.filter((d) => d.method === m);
                  return `${m} ${mine.length ? ((100 * mine.filter((d) => d.ok).length) / mine.length).toFixed(0) : '-'}%`;
                });
                bar.update(n, { acc: acc.join(', '), rate: `${(n / ((performance.now() - started) / 1000)).toFixed(2)} img/s` });
              },
            });
          } catch (err) {
            if (err instanceof EvalRunError) {
              bar.stop();
              throw new RunFailedError(`suite ${suite}, image ${done.length + 1}: ${err.message}`);
            }
            if (!isAbort(err, stop.signal)) throw err;
            await finishSuite();
            await write(true);
            throw stop.stopped(`suite ${suite}, image ${done.length + 1}${total ? `/${total}` : ''}`, [`kept ${records.length} finished image${records.length === 1 ? '' : 's'}: partial results.json, results.csv, chart.svg in ${out}`]);
          }
          await finishSuite();
        }
      } finally {
        stop.dispose();
      }
      const seconds = await write(false);
      console.table(
        summaries.map((s) => ({
          suite: s.suite,
          method: s.method,
          images: s.images,
          accuracy: +(100 * s.accuracy).toFixed(1),
          objectRecall: +(100 * s.objectRecall).toFixed(1),
          's/image': s.secondsPerImage,
          'UNet fwd/image': s.unetForwardPerImage,
          'UNet bwd/image': s.unetBackwardPerImage,
        })),
      );
      const groupRows = suites.flatMap((suite) => {
        const mine = summaries.filter((s) => s.suite === suite);
        const groups = [...new Set(mine.flatMap((s) => Object.keys(s.byGroup)))].sort();
        return groups.map((g) => ({ suite, group: g, ...Object.fromEntries(mine.map((s) => [s.method!, s.byGroup[g] ? +(100 * s.byGroup[g].accuracy).toFixed(1) : null])) }));
      });
      if (groupRows.length > 0 && groupRows.length <= 40) console.table(groupRows);
      process.stderr.write(`${records.length} images in ${seconds.toFixed(1)} s; results in ${out}\n`);
    });
}

/** `--attention`: plain sampling with the attention recorder hooked into the denoising loop. */
async function attentionEval(suites: SuiteName[], suiteArg: string, o: EvalOpts, a: { seeds: number; count: number | undefined; out: string }): Promise<void> {
  const { seeds, count, out } = a;
  const steps = o.steps !== undefined ? Number(o.steps) : 50;
  const guidance = o.cfg !== undefined ? Number(o.cfg) : 7.5;
  const scheduler = (o.scheduler ?? 'ddim') as 'ddim' | 'euler';
  const sessions = new SessionManager();
  const modelDir = resolveModelPath(o.model ?? DEFAULT_MODEL, process.cwd());
  const folder = preflightModel(modelDir, `--model ${o.model ?? DEFAULT_MODEL}`);
  preflightSteps(folder, scheduler, steps, `--steps ${steps}`);
  const pipe = await loadPipeline(modelDir, sessions).catch((err: unknown) => {
    throw err instanceof PipelineLoadError ? new UsageError(`--model ${o.model ?? DEFAULT_MODEL}: ${err.message}`) : err;
  });
  const attention = await tappedUNet(pipe, sessions);
  try {
    lockFolder(out, `steer eval ${suiteArg}`);
  } catch (err) {
    throw err instanceof FolderLockedError ? new UsageError(err.message) : err;
  }
  const stop = interruptible({ notice: 'interrupted: stopping after the current image and writing the results so far (Ctrl+C again to quit at once)' });
  const summaries: SuiteSummary[] = [];
  const records: EvalRecord[] = [];
  const write = async (partial: boolean) => {
    await writeFileAtomic(join(out, 'results.json'), `${JSON.stringify({ date: new Date().toISOString(), model: pipe.folder.dir, attention: true, seeds, steps, guidance, scheduler, ...(partial ? { partial: true } : {}), summaries, records }, null, 2)}\n`);
    await writeFileAtomic(join(out, 'results.csv'), recordsToCsv(records));
    await writeFileAtomic(join(out, 'chart.svg'), accuracyChartSvg(summaries, `Shape World (${steps} steps, CFG ${guidance}, ${seeds} seeds)${partial ? ' (partial)' : ''}`));
  };
  try {
    for (const suite of suites) {
      const samples: ImageRGB[] = [];
      const done: EvalRecord[] = [];
      const finish = async () => {
        summaries.push(summarize(suite, done));
        records.push(...done);
        if (samples.length > 0) await writeFileAtomic(join(out, `samples-${suite}.png`), encodePng(imageGrid(samples, 8)));
      };
      try {
        await runSuite(pipe, {
          suite, seeds, steps, guidance, scheduler, attention, signal: stop.signal,
          ...(count !== undefined ? { count } : {}),
          onImage: (n, all, r, image) => {
            if (n === 1 || n === all || n % 10 === 0) process.stderr.write(` ${suite}: image ${n}/${all}\n`);
            done.push(r);
            if (samples.length < 32) samples.push(image);
          },
        });
      } catch (err) {
        if (!isAbort(err, stop.signal)) throw err;
        await finish();
        await write(true);
        throw stop.stopped(`suite ${suite}, image ${done.length + 1}`, [`kept ${records.length} finished images in ${out}`]);
      }
      await finish();
    }
  } finally {
    stop.dispose();
  }
  await write(false);
  console.table(summaries.map((s) => ({ suite: s.suite, images: s.images, accuracy: +(100 * s.accuracy).toFixed(1), objectRecall: +(100 * s.objectRecall).toFixed(1), attentionPeakInBox: s.attentionPeakInBox ? +(100 * s.attentionPeakInBox.rate).toFixed(1) : null })));
  await sessions.dispose();
}
