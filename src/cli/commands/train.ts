/**
 * `steer train shape-world --out DIR [--stage vae|unet] [--steps N] [--batch N] [--lr X] [--resume] [--export]`
 *
 * Trains the bundled Shape World model (src/engine/train/shape-world). Without --stage both stages
 * run in order (a stage whose newest checkpoint already reached its steps is skipped). With
 * --export alone, only the model folder DIR/model is (re)written from the newest checkpoints.
 * Ctrl-C (or SIGTERM) stops after the current step, saves a checkpoint and exits 130 (a second one exits at once);
 * --resume continues exactly from the newest checkpoint. Exit codes: 2 for usage errors, 1 for a
 * failed run (e.g. a NaN loss).
 */
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { NetConfigError } from '../../engine/nets/config.ts';
import { CheckpointError } from '../../engine/train/checkpoint.ts';
import { NonFiniteLossError } from '../../engine/train/guard.ts';
import {
  assertResumable,
  DEFAULT_RECIPE,
  exportShapeWorld,
  latestCheckpoint,
  trainStage,
  TrainSetupError,
  type StageKind,
  type StepProgress,
  type TrainStageOptions,
} from '../../engine/train/shape-world/index.ts';
import { resolve } from 'node:path';
import { FolderLockedError, lockFolder, type FolderLock } from '../../engine/util/lock.ts';
import { InterruptedError, RunFailedError, UsageError } from '../errors.ts';
import { interruptible } from '../interrupt.ts';
import { registerClassifier } from './train-classifier.ts';

interface TrainOpts {
  out?: string;
  stage?: string;
  steps?: string;
  batch?: string;
  lr?: string;
  resume?: boolean;
  export?: boolean;
  checkpointEvery?: string;
  threads?: string;
  seed?: string;
  klWeight?: string;
  cfgDropout?: string;
  timesteps?: string;
  until?: string;
  p2Gamma?: string;
  logEvery?: string;
  progress?: boolean;
}

function intOpt(name: string, v: string | undefined, min: number): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) < min) throw new UsageError(`--${name} must be an integer >= ${min}, got '${v}'`);
  return Number(v);
}

function numOpt(name: string, v: string | undefined, check: (x: number) => boolean, what: string): number | undefined {
  if (v === undefined) return undefined;
  const x = Number(v);
  if (v.trim() === '' || !Number.isFinite(x) || !check(x)) throw new UsageError(`--${name} must be ${what}, got '${v}'`);
  return x;
}

/** Progress output: a bar on a terminal, a line every `every` steps otherwise (logs). */
function makeReporter(useBar: boolean, every: number): { onProgress: (p: StepProgress) => void; stop: () => void } {
  let bar: cliProgress.SingleBar | null = null;
  let barStage: StageKind | null = null;
  let avg = 0;
  let t0 = performance.now();
  let lastDone = 0;
  const fmt = (x: number | undefined, d = 4) => (x === undefined || !Number.isFinite(x) ? '-' : x < 1e-3 ? x.toExponential(2) : x.toFixed(d));
  return {
    onProgress(p) {
      avg = avg === 0 ? p.seconds : 0.9 * avg + 0.1 * p.seconds;
      const speed = avg > 0 ? 1 / avg : 0;
      const extra = p.mse !== undefined ? ` mse ${fmt(p.mse)} kl ${fmt(p.kl, 3)}` : '';
      if (useBar) {
        if (!bar || barStage !== p.stage) {
          bar?.stop();
          bar = new cliProgress.SingleBar(
            { stream: process.stderr, format: ' {stage} {bar} {value}/{total} | loss {loss}{extra} | {speed} steps/s | eta {eta_formatted}', hideCursor: true, barsize: 24, etaBuffer: 20 },
            cliProgress.Presets.shades_classic,
          );
          bar.start(p.total, p.completed - 1, { stage: p.stage, loss: '-', extra: '', speed: '-' });
          barStage = p.stage;
        }
        bar.update(p.completed, { stage: p.stage, loss: fmt(p.loss), extra, speed: speed.toFixed(2) });
        return;
      }
      if (p.completed % every === 0 || p.completed === p.total || p.checkpoint) {
        const now = performance.now();
        const wall = lastDone > 0 && p.completed > lastDone ? (now - t0) / 1000 / (p.completed - lastDone) : p.seconds;
        t0 = now;
        lastDone = p.completed;
        const eta = ((p.total - p.completed) * wall) / 60;
        process.stderr.write(
          `${new Date().toISOString()} ${p.stage} step ${p.completed}/${p.total} loss ${fmt(p.loss)}${extra} grad ${fmt(p.gradNorm, 3)} lr ${p.lr.toExponential(2)} ${wall.toFixed(2)} s/step eta ${eta.toFixed(0)} min${p.checkpoint ? ` saved ${p.checkpoint}` : ''}\n`,
        );
      }
    },
    stop() {
      bar?.stop();
      bar = null;
    },
  };
}

function mapError(err: unknown): never {
  if (err instanceof InterruptedError) throw err;
  if (err instanceof TrainSetupError || err instanceof NetConfigError || err instanceof CheckpointError || err instanceof FolderLockedError) throw new UsageError(err.message);
  if (err instanceof NonFiniteLossError) throw new RunFailedError(err.message);
  throw err;
}

export function register(program: Command): void {
  const train = program.command('train').description('Train models.');
  registerClassifier(train);
  train
    .command('shape-world')
    .description('Train the bundled Shape World latent diffusion model (VAE stage, then text encoder + UNet stage).')
    .requiredOption('--out <dir>', 'run folder: checkpoints, losses, cached graphs, exported model (DIR/model)')
    .option('--stage <stage>', "'vae' or 'unet' (default: both, in order)")
    .option('--steps <n>', `total steps of the stage (default vae ${DEFAULT_RECIPE.vae.steps}, unet ${DEFAULT_RECIPE.unet.steps}); needs --stage`)
    .option('--batch <n>', `batch size (default vae ${DEFAULT_RECIPE.vae.batch}, unet ${DEFAULT_RECIPE.unet.batch}); needs --stage`)
    .option('--lr <x>', `peak learning rate (default vae ${DEFAULT_RECIPE.vae.lr}, unet ${DEFAULT_RECIPE.unet.lr}); needs --stage`)
    .option('--resume', 'continue from the newest checkpoint of each stage')
    .option('--export', 'write DIR/model from the newest checkpoints (alone: export only)')
    .option('--checkpoint-every <n>', 'save a checkpoint every N steps', '100')
    .option('--threads <n>', 'onnxruntime intra-op threads (default: all cores)')
    .option('--seed <n>', 'seed of the initial weights and the data order (new runs only)')
    .option('--kl-weight <x>', 'VAE KL weight per latent element (default 1e-5)')
    .option('--cfg-dropout <x>', 'fraction of captions dropped to "" in the unet stage (default 0.1)')
    .option('--timesteps <how>', 'unet stage: timestep sampling, uniform or p2 (perception-prioritised weighting; a resumed uniform run switches from its next step) (default: the checkpoint\'s; p2 for a new run)')
    .option('--until <n>', 'stop with a checkpoint after step N, before the end of the schedule (continue later with --resume); needs --stage')
    .option('--p2-gamma <x>', 'gamma of the p2 weighting 1/(1+SNR)^gamma (default 1)')
    .option('--log-every <n>', 'without a terminal: print a progress line every N steps', '10')
    .option('--no-progress', 'no progress bar even on a terminal (print lines)')
    .action(async (o: TrainOpts) => {
      const out = o.out!;
      if (o.stage !== undefined && o.stage !== 'vae' && o.stage !== 'unet') throw new UsageError(`--stage must be 'vae' or 'unet', got '${o.stage}'`);
      const stage = o.stage as StageKind | undefined;
      const steps = intOpt('steps', o.steps, 1);
      const batch = intOpt('batch', o.batch, 1);
      const lr = numOpt('lr', o.lr, (x) => x > 0, 'a number > 0');
      if (!stage && (steps !== undefined || batch !== undefined || lr !== undefined)) throw new UsageError('--steps, --batch and --lr apply to one stage: add --stage vae or --stage unet');
      const checkpointEvery = intOpt('checkpoint-every', o.checkpointEvery, 0);
      const threads = intOpt('threads', o.threads, 1);
      const seed = intOpt('seed', o.seed, 0);
      const klWeight = numOpt('kl-weight', o.klWeight, (x) => x >= 0, 'a number >= 0');
      const cfgDropout = numOpt('cfg-dropout', o.cfgDropout, (x) => x >= 0 && x <= 1, 'a number in [0, 1]');
      if (o.timesteps !== undefined && o.timesteps !== 'uniform' && o.timesteps !== 'p2') throw new UsageError(`--timesteps must be 'uniform' or 'p2', got '${o.timesteps}'`);
      const timestepSampling = o.timesteps as 'uniform' | 'p2' | undefined;
      const p2Gamma = numOpt('p2-gamma', o.p2Gamma, (x) => x >= 0, 'a number >= 0');
      const until = intOpt('until', o.until, 1);
      if (until !== undefined && !stage) throw new UsageError('--until applies to one stage: add --stage vae or --stage unet');
      const logEvery = intOpt('log-every', o.logEvery, 1) ?? 10;
      const log = (s: string) => process.stderr.write(`${s}\n`);

      let lock: FolderLock | undefined;
      try {
        if (o.resume) assertResumable(resolve(out));
        lock = lockFolder(resolve(out), 'steer train shape-world');
        if (o.export && !stage && !o.resume && steps === undefined) {
          await exportShapeWorld(out, { log });
          return;
        }
        const stop = interruptible({ notice: 'interrupted: finishing the current step and saving a checkpoint (Ctrl-C again to quit at once)' });
        const reporter = makeReporter(o.progress !== false && process.stderr.isTTY === true, logEvery);
        try {
          const stages: StageKind[] = stage ? [stage] : ['vae', 'unet'];
          for (const s of stages) {
            if (!stage && o.resume) {
              const ck = await latestCheckpoint(out, s);
              const total = typeof ck?.metadata?.total_steps === 'number' ? ck.metadata.total_steps : DEFAULT_RECIPE[s].steps;
              if (ck && ck.step >= total) {
                log(`${s}: already complete (step ${ck.step}/${total})`);
                continue;
              }
            }
            const opts: TrainStageOptions = {
              out,
              stage: s,
              resume: o.resume,
              steps,
              batch,
              lr,
              seed,
              klWeight,
              cfgDropout,
              ...(s === 'unet' ? { timestepSampling, p2Gamma } : {}),
              ...(until !== undefined ? { until } : {}),
              checkpointEvery,
              threads,
              signal: stop.signal,
              onProgress: reporter.onProgress,
              log: (line) => {
                reporter.stop();
                log(line);
              },
            };
            const r = await trainStage(opts);
            reporter.stop();
            const sps = r.secondsPerStep !== null ? `, ${r.secondsPerStep.toFixed(2)} s/step` : '';
            log(`${s}: steps ${r.startStep} -> ${r.completed} of ${r.total}${sps}; last loss ${r.losses.at(-1)?.toFixed(5) ?? '-'}; checkpoint ${r.lastCheckpoint ?? '-'}`);
            if (!r.aborted && r.completed < r.total) log(`stopped at step ${r.completed} (--until); continue with: steer train shape-world --out ${out} --stage ${s} --resume`);
            if (r.aborted) {
              throw stop.stopped(`${s} step ${r.completed}/${r.total}`, [
                `checkpoint ${r.lastCheckpoint ?? '(none saved)'}`,
                `continue with: steer train shape-world --out ${out}${stage ? ` --stage ${stage}` : ''} --resume`,
              ]);
            }
          }
          if (o.export && stage) await exportShapeWorld(out, { log });
        } finally {
          reporter.stop();
          stop.dispose();
        }
      } catch (err) {
        mapError(err);
      } finally {
        lock?.release();
      }
    });
}
