/**
 * A small generic training-loop driver: runs steps, checks every loss with the NaN guard,
 * saves checkpoints periodically, at the end and on abort, and resumes from a step.
 *
 * Step numbering: `step(i)` performs optimisation step i (0-based). After it returns, i + 1
 * steps are complete, and `save(i + 1)` stores a checkpoint to resume with startStep = i + 1.
 */
import type { GoodCheckpoint } from './guard.ts';
import { NonFiniteGuard } from './guard.ts';
import { yieldToEventLoop } from '../util/yield.ts';

export interface StepResult {
  loss: number;
  gradNorm?: number;
}

export interface TrainingProgress {
  /** Steps completed so far (i + 1 after step i). */
  completed: number;
  /** Total steps of the run (the `steps` option). */
  total: number;
  loss: number;
  gradNorm?: number;
  /** Set when this step was followed by a checkpoint. */
  checkpoint?: string;
}

export interface RunTrainingOptions {
  /** First step to run: 0 for a fresh run, the checkpoint's step when resuming. */
  startStep: number;
  /** Total number of steps of the run; runs steps startStep .. steps - 1. */
  steps: number;
  /** Performs one optimisation step and returns its loss (optionally with the gradient norm). */
  step: (i: number) => Promise<number | StepResult>;
  /** Save after every `checkpointEvery` completed steps (counted from 0). 0/undefined: only at the end and on abort. */
  checkpointEvery?: number;
  /** Writes a checkpoint for `completed` steps; may return its path (used in error messages). */
  save: (completed: number) => Promise<string | void>;
  signal?: AbortSignal;
  onProgress?: (p: TrainingProgress) => void;
  /** The checkpoint this run resumed from, if any (named in NaN errors until a new save). */
  lastGoodCheckpoint?: GoodCheckpoint | null;
  /** Save once all steps are done (default true). */
  saveAtEnd?: boolean;
}

export interface RunTrainingResult {
  /** Steps completed in total (startStep + steps run). */
  completed: number;
  aborted: boolean;
  lastLoss: number | undefined;
  lastCheckpoint: GoodCheckpoint | null;
}

/**
 * Run the loop. Rejects with NonFiniteLossError (no save) on a NaN/Inf loss or gradient norm,
 * and with whatever `step`/`save` throw. An abort (signal) is not an error: the loop stops
 * before the next step, saves if anything ran since the last save, and resolves with
 * `aborted: true`.
 */
export async function runTraining(opts: RunTrainingOptions): Promise<RunTrainingResult> {
  const { startStep, steps, checkpointEvery = 0, saveAtEnd = true } = opts;
  if (!Number.isInteger(startStep) || startStep < 0) throw new Error(`runTraining: startStep must be an integer >= 0, got ${startStep}`);
  if (!Number.isInteger(steps) || steps < startStep) throw new Error(`runTraining: steps must be an integer >= startStep (${startStep}), got ${steps}`);
  if (!Number.isInteger(checkpointEvery) || checkpointEvery < 0) throw new Error(`runTraining: checkpointEvery must be an integer >= 0, got ${checkpointEvery}`);
  const guard = new NonFiniteGuard(opts.lastGoodCheckpoint ?? null);
  let savedAt = startStep;
  let completed = startStep;
  let lastLoss: number | undefined;

  const save = async (): Promise<string | undefined> => {
    guard.assertCanSave();
    const path = (await opts.save(completed)) ?? undefined;
    guard.recordCheckpoint(completed, path ?? `(checkpoint for step ${completed})`);
    savedAt = completed;
    return path;
  };

  let aborted = false;
  for (let i = startStep; i < steps; i++) {
    await yieldToEventLoop(); // lets Ctrl+C arrive between steps
    if (opts.signal?.aborted) {
      aborted = true;
      break;
    }
    const r = await opts.step(i);
    const { loss, gradNorm } = typeof r === 'number' ? { loss: r, gradNorm: undefined } : r;
    guard.check(i, loss, gradNorm);
    completed = i + 1;
    lastLoss = loss;
    let checkpoint: string | undefined;
    const due = checkpointEvery > 0 && completed % checkpointEvery === 0;
    if (due || (saveAtEnd && completed === steps)) checkpoint = (await save()) ?? `(checkpoint for step ${completed})`;
    opts.onProgress?.({ completed, total: steps, loss, gradNorm, checkpoint });
  }
  if (!aborted && opts.signal?.aborted && completed < steps) aborted = true;
  if (aborted && completed > savedAt) await save();
  return { completed, aborted, lastLoss, lastCheckpoint: guard.lastGoodCheckpoint };
}
