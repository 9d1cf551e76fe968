import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { join, resolve } from 'node:path';
import { recordsToCsv, accuracyChartSvg, imageGrid } from '../../engine/eval/report.ts';
import { tappedUNet } from '../../engine/eval/attention-peak.ts';
import { runSuite, summarize, type EvalRecord, type SuiteSummary } from '../../engine/eval/run-suite.ts';
import { SUITES, type SuiteName } from '../../engine/eval/suites.ts';
import type { ImageRGB } from '../../engine/image/image.ts';
import { encodePng } from '../../engine/image/png.ts';
import { SessionManager } from '../../engine/onnx/session.ts';
import { loadPipeline, PipelineLoadError } from '../../engine/pipeline/load.ts';
import { writeFileAtomic } from '../../engine/util/fs.ts';
import { FolderLockedError, lockFolder } from '../../engine/util/lock.ts';
import { DEFAULT_MODEL, resolveModelPath } from '../../nodes/model-load.ts';
import { UsageError } from '../errors.ts';
import { interruptible, isAbort } from '../interrupt.ts';
import { preflightModel, preflightOutput, preflightSteps } from '../preflight.ts';

interface EvalOpts {
  seeds: string;
  count?: string;
  steps: string;
  cfg: string;
  scheduler: string;
  model?: string;
  out: string;
  attention?: boolean;
}

const int = (name: string, v: string, min: number) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`${name} must be an integer >= ${min}, got "${v}"`);
  return n;
};

export function register(program: Command): void {
  program
    .command('eval')
    .description(`Benchmark a model on a Shape World suite (${SUITES.join(', ')}, or "all"): generate, detect, judge with the GenEval rules. Writes results.json, results.csv, chart.svg and samples.png.`)
    .argument('<suite>', `${SUITES.join(' | ')} | all`)
    .option('--seeds <n>', 'images per prompt (seeds 0..n-1)', '4')
    .option('--count <n>', 'prompts per suite (default: the suite\'s size)')
    .option('--steps <n>', 'denoising steps', '50')
    .option('--cfg <x>', 'classifier-free guidance scale', '7.5')
    .option('--scheduler <name>', 'ddim or euler', 'ddim')
    .option('--model <dir>', 'model folder (default: the bundled Shape World model)')
    .option('--out <dir>', 'output folder', 'out/eval')
    .option('--attention', 'also score whether each object\'s cross-attention (16x16, middle steps) peaks inside its detected box')
    .action(async (suiteArg: string, o: EvalOpts) => {
      const suites: SuiteName[] = suiteArg === 'all' ? [...SUITES] : (SUITES as readonly string[]).includes(suiteArg) ? [suiteArg as SuiteName] : [];
      if (suites.length === 0) throw new UsageError(`unknown suite "${suiteArg}"; suites are ${SUITES.join(', ')}, all`);
      if (!['ddim', 'euler'].includes(o.scheduler)) throw new UsageError(`--scheduler must be ddim or euler, got "${o.scheduler}"`);
      const seeds = int('--seeds', o.seeds, 1);
      const steps = int('--steps', o.steps, 1);
      const count = o.count !== undefined ? int('--count', o.count, 1) : undefined;
      const guidance = Number(o.cfg);
      if (!Number.isFinite(guidance) || guidance < 1) throw new UsageError(`--cfg must be a number >= 1, got "${o.cfg}"`);
      const out = resolve(o.out);
      preflightOutput(out, `--out ${o.out}`);
      const sessions = new SessionManager();
      const modelDir = resolveModelPath(o.model ?? DEFAULT_MODEL, process.cwd());
      const folder = preflightModel(modelDir, `--model ${o.model ?? DEFAULT_MODEL}`);
      preflightSteps(folder, o.scheduler as 'ddim' | 'euler', steps, `--steps ${o.steps}`);
      const pipe = await loadPipeline(modelDir, sessions).catch((err: unknown) => {
        throw err instanceof PipelineLoadError ? new UsageError(`--model ${o.model ?? DEFAULT_MODEL}: ${err.message}`) : err;
      });
      const attention = o.attention ? await tappedUNet(pipe, sessions) : undefined;
      try {
        lockFolder(out, `steer eval ${suiteArg}`); // released at exit
      } catch (err) {
        throw err instanceof FolderLockedError ? new UsageError(err.message) : err;
      }
      const stop = interruptible({ notice: 'interrupted: stopping after the current image and writing the results so far (Ctrl+C again to quit at once)' });
      const summaries: SuiteSummary[] = [];
      const records: EvalRecord[] = [];
      const t0 = performance.now();
      const tty = process.stderr.isTTY === true;
      const write = async (partial: boolean) => {
        const seconds = (performance.now() - t0) / 1000;
        const result = {
          date: new Date().toISOString(),
          model: pipe.folder.dir,
          seeds,
          steps,
          guidance,
          scheduler: o.scheduler,
          ...(partial ? { partial: true } : {}),
          seconds: +seconds.toFixed(1),
          secondsPerImage: records.length ? +(seconds / records.length).toFixed(3) : null,
          summaries,
        };
        await writeFileAtomic(join(out, 'results.json'), `${JSON.stringify({ ...result, records }, null, 2)}\n`);
        await writeFileAtomic(join(out, 'results.csv'), recordsToCsv(records));
        await writeFileAtomic(join(out, 'chart.svg'), accuracyChartSvg(summaries, `Shape World (${steps} steps, CFG ${guidance}, ${seeds} seeds)${partial ? ' (partial)' : ''}`));
        return seconds;
      };
      try {
        for (const suite of suites) {
          const bar = new cliProgress.SingleBar({ format: ` ${suite.padEnd(16)} {bar} {value}/{total} images | {rate} | acc {acc}`, stream: process.stderr, hideCursor: true }, cliProgress.Presets.shades_classic);
          const samples: ImageRGB[] = [];
          const done: EvalRecord[] = [];
          let total = 0;
          let lastLine = 0;
          const started = performance.now();
          const finishSuite = async () => {
            bar.stop();
            summaries.push(summarize(suite, done));
            records.push(...done);
            if (samples.length > 0) await writeFileAtomic(join(out, `samples-${suite}.png`), encodePng(imageGrid(samples, 8)));
          };
          try {
            await runSuite(pipe, {
              suite, seeds, steps, guidance, scheduler: o.scheduler as 'ddim' | 'euler', signal: stop.signal,
              ...(attention ? { attention } : {}),
              ...(count !== undefined ? { count } : {}),
              onImage: (n, all, r, image) => {
                total = all;
                if (n === 1 && tty) bar.start(all, 0, { acc: '-', rate: '' });
                if (!tty && (n === 1 || n === all || performance.now() - lastLine > 5000)) {
                  lastLine = performance.now();
                  process.stderr.write(` ${suite}: image ${n}/${all}\n`);
                }
                done.push(r);
                if (samples.length < 32) samples.push(image);
                bar.update(n, { acc: `${((100 * done.filter((d) => d.ok).length) / n).toFixed(1)}%`, rate: `${(n / ((performance.now() - started) / 1000)).toFixed(2)} img/s` });
              },
            });
          } catch (err) {
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
      console.table(summaries.map((s) => ({ suite: s.suite, prompts: s.prompts, images: s.images, accuracy: +(100 * s.accuracy).toFixed(1), objectRecall: +(100 * s.objectRecall).toFixed(1), ...(s.attentionPeakInBox ? { attentionPeakInBox: +(100 * s.attentionPeakInBox.rate).toFixed(1) } : {}) })));
      process.stderr.write(`${records.length} images in ${seconds.toFixed(1)} s; results in ${out}\n`);
      await sessions.dispose();
    });
}
