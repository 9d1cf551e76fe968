import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { join, resolve } from 'node:path';
import { recordsToCsv, accuracyChartSvg, imageGrid } from '../../engine/eval/report.ts';
import { tappedUNet } from '../../engine/eval/attention-peak.ts';
import { runSuite, type EvalRecord, type SuiteSummary } from '../../engine/eval/run-suite.ts';
import { SUITES, type SuiteName } from '../../engine/eval/suites.ts';
import type { ImageRGB } from '../../engine/image/image.ts';
import { encodePng } from '../../engine/image/png.ts';
import { SessionManager } from '../../engine/onnx/session.ts';
import { loadPipeline } from '../../engine/pipeline/load.ts';
import { writeFileAtomic } from '../../engine/util/fs.ts';
import { DEFAULT_MODEL, resolveModelPath } from '../../nodes/model-load.ts';
import { UsageError } from '../errors.ts';

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
      const sessions = new SessionManager();
      const pipe = await loadPipeline(resolveModelPath(o.model ?? DEFAULT_MODEL, process.cwd()), sessions);
      const attention = o.attention ? await tappedUNet(pipe, sessions) : undefined;
      const ac = new AbortController();
      process.once('SIGINT', () => ac.abort());
      const summaries: SuiteSummary[] = [];
      const records: EvalRecord[] = [];
      const t0 = performance.now();
      for (const suite of suites) {
        const bar = new cliProgress.SingleBar({ format: ` ${suite.padEnd(16)} {bar} {value}/{total} images | {rate} | acc {acc}`, stream: process.stderr, hideCursor: true }, cliProgress.Presets.shades_classic);
        const samples: ImageRGB[] = [];
        let correct = 0;
        const started = performance.now();
        const { records: rs, summary } = await runSuite(pipe, {
          suite, seeds, steps, guidance, scheduler: o.scheduler as 'ddim' | 'euler', signal: ac.signal,
          ...(attention ? { attention } : {}),
          ...(count !== undefined ? { count } : {}),
          onImage: (done, total, r, image) => {
            if (done === 1) bar.start(total, 0, { acc: '-', rate: '' });
            if (r.ok) correct++;
            if (samples.length < 32) samples.push(image);
            bar.update(done, { acc: `${((100 * correct) / done).toFixed(1)}%`, rate: `${(done / ((performance.now() - started) / 1000)).toFixed(2)} img/s` });
          },
        });
        bar.stop();
        summaries.push(summary);
        records.push(...rs);
        await writeFileAtomic(join(out, `samples-${suite}.png`), encodePng(imageGrid(samples, 8)));
      }
      const seconds = (performance.now() - t0) / 1000;
      const result = { date: new Date().toISOString(), model: pipe.folder.dir, seeds, steps, guidance, scheduler: o.scheduler, seconds: +seconds.toFixed(1), secondsPerImage: +(seconds / records.length).toFixed(3), summaries };
      await writeFileAtomic(join(out, 'results.json'), `${JSON.stringify({ ...result, records }, null, 2)}\n`);
      await writeFileAtomic(join(out, 'results.csv'), recordsToCsv(records));
      await writeFileAtomic(join(out, 'chart.svg'), accuracyChartSvg(summaries, `Shape World (${steps} steps, CFG ${guidance}, ${seeds} seeds)`));
      console.table(summaries.map((s) => ({ suite: s.suite, prompts: s.prompts, images: s.images, accuracy: +(100 * s.accuracy).toFixed(1), objectRecall: +(100 * s.objectRecall).toFixed(1), ...(s.attentionPeakInBox ? { attentionPeakInBox: +(100 * s.attentionPeakInBox.rate).toFixed(1) } : {}) })));
      process.stderr.write(`${records.length} images in ${seconds.toFixed(1)} s; results in ${out}\n`);
      await sessions.dispose();
    });
}
