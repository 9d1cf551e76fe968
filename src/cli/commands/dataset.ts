/**
 * `steer dataset relations --out DIR --count N --source rendered|generated|both --seed S`
 *
 * Builds (or resumes, with the same settings) the dual-inversion relation dataset of
 * src/engine/steer/relation-dataset.ts. Ctrl+C stops after the current batch; finished shards are
 * kept and the same command continues from the first unfinished shard.
 */
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { resolve } from 'node:path';
import { SessionManager } from '../../engine/onnx/session.ts';
import { loadPipeline } from '../../engine/pipeline/load.ts';
import { AttentionSpecError, parseStepList } from '../../engine/steer/attention.ts';
import { buildRelationDataset, DatasetError, DEFAULT_RECIPE, type DatasetRecipe, type DatasetSource } from '../../engine/steer/relation-dataset.ts';
import { FolderLockedError } from '../../engine/util/lock.ts';
import { UsageError } from '../errors.ts';
import { interruptible, isAbort } from '../interrupt.ts';
import { DEFAULT_MODEL_DIR, intOption, numberOption } from '../steer-args.ts';

interface DatasetOpts {
  out?: string;
  count: string;
  source: string;
  seed: string;
  steps: string;
  fixedPoint: string;
  record: string;
  psnrMin: string;
  batch: string;
  shardImages: string;
  threads?: string;
  model?: string;
  progress?: boolean;
}

function parseRecord(v: string, steps: number): number[] {
  try {
    return parseStepList(v, steps, '--record');
  } catch (err) {
    if (err instanceof AttentionSpecError) throw new UsageError(err.message);
    throw err;
  }
}

export function register(program: Command): void {
  const dataset = program.command('dataset').description('Build datasets for the steering classifiers.');
  dataset
    .command('relations')
    .description('The dual-inversion relation dataset: attention maps of two objects, labelled with their true spatial relation, from prompts that state it and prompts that state a wrong one.')
    .requiredOption('--out <dir>', 'dataset folder (resumes when it holds a build with the same settings)')
    .option('--count <n>', 'images (each gives 2 prompts x recorded steps samples)', '1200')
    .option('--source <s>', 'rendered (Shape World scenes), generated (bundled-model images, verified by the detector) or both', 'rendered')
    .option('--seed <n>', 'seed: the dataset is a function of it', '0')
    .option('--steps <n>', 'DDIM inversion and re-denoise steps', String(DEFAULT_RECIPE.steps))
    .option('--fixed-point <n>', 'fixed-point iterations per inversion step', String(DEFAULT_RECIPE.fixedPoint))
    .option('--record <list>', 'denoising steps whose maps are recorded', DEFAULT_RECIPE.record.join(','))
    .option('--psnr-min <db>', 'drop images whose reconstruction PSNR is below this', String(DEFAULT_RECIPE.psnrMin))
    .option('--batch <n>', 'images per UNet batch', String(DEFAULT_RECIPE.batch))
    .option('--shard-images <n>', 'images per shard (the unit of resume)', String(DEFAULT_RECIPE.shardImages))
    .option('--threads <n>', 'onnxruntime intra-op threads')
    .option('--model <dir>', 'model folder (default: the bundled Shape World model)')
    .option('--no-progress', 'log lines instead of a progress bar')
    .action(async (o: DatasetOpts) => {
      const steps = intOption('--steps', o.steps, 1);
      if (!['rendered', 'generated', 'both'].includes(o.source)) throw new UsageError(`--source must be rendered, generated or both, got '${o.source}'`);
      const recipe: DatasetRecipe = {
        ...DEFAULT_RECIPE,
        count: intOption('--count', o.count, 1),
        source: o.source as DatasetSource,
        seed: intOption('--seed', o.seed, 0),
        steps,
        fixedPoint: intOption('--fixed-point', o.fixedPoint, 0),
        record: parseRecord(o.record, steps),
        psnrMin: numberOption('--psnr-min', o.psnrMin, (x) => x >= 0, 'a number >= 0'),
        batch: intOption('--batch', o.batch, 1),
        shardImages: intOption('--shard-images', o.shardImages, 1),
      };
      const threads = o.threads === undefined ? undefined : intOption('--threads', o.threads, 1);
      const out = resolve(o.out!);
      const sessions = new SessionManager();
      const pipe = await loadPipeline(resolve(o.model ?? DEFAULT_MODEL_DIR), sessions, threads ? { threads } : {});
      const stop = interruptible();
      const tty = process.stderr.isTTY === true && o.progress !== false;
      const bar = tty ? new cliProgress.SingleBar({ stream: process.stderr, format: ' dataset {bar} {value}/{total} images | {samples} samples | {dropped} dropped | {skipped} skipped | eta {eta_formatted}', hideCursor: true, barsize: 24, etaBuffer: 8 }, cliProgress.Presets.shades_classic) : null;
      let started = false;
      let last = { images: 0, samples: 0 };
      try {
        const manifest = await buildRelationDataset(pipe, sessions, {
          out,
          recipe,
          signal: stop.signal,
          onProgress: (p) => {
            last = p;
            if (!bar) return;
            if (!started) bar.start(p.total, p.images, { samples: p.samples, dropped: p.dropped, skipped: p.skipped });
            started = true;
            bar.update(p.images, { samples: p.samples, dropped: p.dropped, skipped: p.skipped });
          },
          log: (line) => (bar ? undefined : process.stderr.write(`${line}\n`)),
        });
        bar?.stop();
        const samples = manifest.shards.reduce((a, s) => a + s.samples, 0);
        const seconds = manifest.shards.reduce((a, s) => a + s.seconds, 0);
        process.stderr.write(`wrote ${out}: ${samples} samples from ${recipe.count} images (${manifest.shards.reduce((a, s) => a + s.dropped, 0)} dropped by PSNR, ${manifest.shards.reduce((a, s) => a + s.skipped, 0)} skipped), ${(seconds / Math.max(1, samples) * 1000).toFixed(0)} ms per sample\n`);
      } catch (err) {
        bar?.stop();
        if (isAbort(err, stop.signal)) throw stop.stopped(`image ${last.images} of ${recipe.count}`, [`finished shards are kept in ${out}; run the same command to continue`]);
        if (err instanceof DatasetError || err instanceof FolderLockedError) throw new UsageError(err.message);
        throw err;
      } finally {
        stop.dispose();
        await pipe.dispose();
        await sessions.dispose();
      }
    });
}
