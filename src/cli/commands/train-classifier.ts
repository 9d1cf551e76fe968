/**
 * `steer train classifier --data DIR --out DIR [--resume] [--positive-only] ...`
 *
 * Trains a relation classifier on a relation dataset (src/engine/steer/classifier-train.ts) and
 * exports DIR/model.onnx + DIR/classifier.json, installable under resources/classifiers/<name>/.
 * Ctrl+C stops after the current step; the last finished epoch's checkpoint is kept and --resume
 * continues exactly from it.
 */
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { basename, resolve } from 'node:path';
import { AttentionSpecError, parseStepList } from '../../engine/steer/attention.ts';
import { ClassifierTrainError, DEFAULT_CLASSIFIER_RECIPE, parseAugment, trainClassifier, type ClassifierRecipe } from '../../engine/steer/classifier-train.ts';
import { AUGMENT_NAMES, augmentText, type Augment } from '../../engine/steer/map-transforms.ts';
import { DatasetError } from '../../engine/steer/relation-dataset.ts';
import { FolderLockedError } from '../../engine/util/lock.ts';
import { UsageError } from '../errors.ts';
import { interruptible, isAbort } from '../interrupt.ts';
import { intOption, numberOption } from '../steer-args.ts';

interface Opts {
  data: string;
  out: string;
  name?: string;
  resume?: boolean;
  positiveOnly?: boolean;
  augment: string | false;
  symmetry: string;
  epochs: string;
  batch: string;
  lr: string;
  patience: string;
  seed: string;
  d: string;
  buckets?: string;
  trainSteps: string;
  threads?: string;
  progress?: boolean;
}

function bucketList(text: string): number[] {
  try {
    return parseStepList(text, Number.MAX_SAFE_INTEGER, '--buckets');
  } catch (err) {
    if (err instanceof AttentionSpecError) throw new UsageError(err.message);
    throw err;
  }
}

function augmentList(text: string, option: string): Augment {
  try {
    return parseAugment(text, option);
  } catch (err) {
    if (err instanceof ClassifierTrainError) throw new UsageError(err.message);
    throw err;
  }
}

function trainStepsOption(v: string): 'all' | 'buckets' {
  if (v !== 'all' && v !== 'buckets') throw new UsageError(`--train-steps must be 'all' or 'buckets', got '${v}'`);
  return v;
}

export function registerClassifier(train: Command): void {
  train
    .command('classifier')
    .description('Train a relation classifier (Learn-to-Steer) on a relation dataset; writes model.onnx + classifier.json.')
    .requiredOption('--data <dir>', "a relation dataset (built by 'steer dataset relations')")
    .requiredOption('--out <dir>', 'output folder (checkpoints, model.onnx, classifier.json)')
    .option('--name <name>', 'classifier name (default: the --out folder name)')
    .option('--resume', 'continue from the newest checkpoint in --out')
    .option('--augment <list>', `training-sample transforms, each applied with probability 1/2: a comma list of ${AUGMENT_NAMES.join(', ')}, or none`, augmentText(DEFAULT_CLASSIFIER_RECIPE.augment))
    .option('--no-augment', 'no training-sample transforms (as --augment none)')
    .option('--symmetry <list>', 'test-time symmetry built into the exported model: its prediction is averaged over every combination of these transforms (same names as --augment), or none', augmentText(DEFAULT_CLASSIFIER_RECIPE.symmetry))
    .option('--positive-only', 'train on maps of prompts that state the true relation only (the no-dual-inversion ablation)')
    .option('--epochs <n>', 'maximum epochs', String(DEFAULT_CLASSIFIER_RECIPE.maxEpochs))
    .option('--batch <n>', 'batch size', String(DEFAULT_CLASSIFIER_RECIPE.batch))
    .option('--lr <x>', 'AdamW learning rate', String(DEFAULT_CLASSIFIER_RECIPE.lr))
    .option('--patience <n>', 'early-stopping patience (epochs without a better validation loss)', String(DEFAULT_CLASSIFIER_RECIPE.earlyStopPatience))
    .option('--seed <n>', 'initialisation, batch order and dropout seed', String(DEFAULT_CLASSIFIER_RECIPE.seed))
    .option('--d <n>', 'model width', String(DEFAULT_CLASSIFIER_RECIPE.model.d))
    .option('--buckets <list>', "the classifier's step buckets, recorded steps of the dataset (default: every recorded step)")
    .option('--train-steps <which>', "buckets (only the samples at the bucket steps) or all (every recorded step trains the bucket it maps to)", DEFAULT_CLASSIFIER_RECIPE.trainSteps)
    .option('--threads <n>', 'onnxruntime intra-op threads')
    .option('--no-progress', 'log lines instead of a progress bar')
    .action(async (o: Opts) => {
      const recipe: Partial<ClassifierRecipe> = {
        maxEpochs: intOption('--epochs', o.epochs, 1),
        batch: intOption('--batch', o.batch, 1),
        lr: numberOption('--lr', o.lr, (x) => x > 0 && x < 1, 'a number in (0, 1)'),
        earlyStopPatience: intOption('--patience', o.patience, 1),
        seed: intOption('--seed', o.seed, 0),
        positiveOnly: o.positiveOnly === true,
        augment: augmentList(o.augment === false ? 'none' : o.augment, '--augment'),
        symmetry: augmentList(o.symmetry, '--symmetry'),
        model: { ...DEFAULT_CLASSIFIER_RECIPE.model, d: intOption('--d', o.d, 4) },
        buckets: o.buckets === undefined ? null : bucketList(o.buckets),
        trainSteps: trainStepsOption(o.trainSteps),
      };
      const threads = o.threads === undefined ? undefined : intOption('--threads', o.threads, 1);
      const out = resolve(o.out);
      const stop = interruptible();
      const tty = process.stderr.isTTY === true && o.progress !== false;
      const bar = tty ? new cliProgress.SingleBar({ stream: process.stderr, format: ' epoch {epoch} {bar} {value}/{total} steps | loss {loss} | val {val} | lr {lr}', hideCursor: true, barsize: 24 }, cliProgress.Presets.shades_classic) : null;
      let epoch = 0;
      let val = '-';
      try {
        const res = await trainClassifier({
          data: resolve(o.data),
          out,
          name: o.name ?? basename(out),
          resume: o.resume === true,
          recipe,
          threads,
          signal: stop.signal,
          onProgress: (p) => {
            if (p.val) val = `${p.val.loss.toFixed(3)} / ${(p.val.accuracy * 100).toFixed(1)}%`;
            if (!bar) return;
            if (p.epoch !== epoch) {
              if (epoch !== 0) bar.stop();
              epoch = p.epoch;
              bar.start(p.stepsPerEpoch, p.step, { epoch: p.epoch, loss: p.trainLoss.toFixed(4), val, lr: p.lr.toExponential(1) });
            }
            bar.update(p.step, { epoch: p.epoch, loss: p.trainLoss.toFixed(4), val, lr: p.lr.toExponential(1) });
          },
          log: (line) => (bar ? bar.stop() : undefined, process.stderr.write(`${line}\n`)),
        });
        bar?.stop();
        const m = res.info.metrics;
        const pct = (x: number | undefined) => (x === undefined ? '-' : `${(x * 100).toFixed(1)}%`);
        process.stderr.write(`wrote ${out}/model.onnx and classifier.json (best epoch ${res.bestEpoch} of ${res.epochs}, ${Math.round(res.seconds)} s): test ${pct(m.test?.accuracy)}, unseen pairs ${pct(m.unseen?.accuracy)}, wrong-relation prompts ${pct(m['test-wrong-prompt']?.accuracy)}\n`);
      } catch (err) {
        bar?.stop();
        if (isAbort(err, stop.signal)) throw stop.stopped(`epoch ${epoch}`, [`checkpoints of finished epochs are kept in ${out}/checkpoints; continue with --resume`]);
        if (err instanceof ClassifierTrainError || err instanceof DatasetError || err instanceof FolderLockedError) throw new UsageError(err.message);
        throw err;
      } finally {
        stop.dispose();
      }
    });
}
