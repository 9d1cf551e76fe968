/**
 * NaN/Inf guard for training loops.
 *
 * A loop calls `guard.check(step, loss, gradNorm)` every step (before applying the update when
 * it can) and `guard.recordCheckpoint(step, path)` after each successful save. On a non-finite
 * loss or gradient norm `check` throws a NonFiniteLossError naming the step, the value and the
 * last good checkpoint, and the guard trips: from then on `recordCheckpoint`/`assertCanSave`
 * refuse, so the state that produced the NaN can never replace the last good checkpoint.
 */

export interface GoodCheckpoint {
  step: number;
  path: string;
}

export class NonFiniteLossError extends Error {
  constructor(
    readonly step: number,
    readonly loss: number,
    readonly gradNorm: number | undefined,
    readonly lastGoodCheckpoint: GoodCheckpoint | null,
  ) {
    const what = !Number.isFinite(loss) ? `loss is ${loss}` : `gradient norm is ${gradNorm} (loss ${loss})`;
    const keep = lastGoodCheckpoint
      ? `Last good checkpoint is ${lastGoodCheckpoint.path} (step ${lastGoodCheckpoint.step}), kept unchanged.`
      : 'No checkpoint had been saved yet.';
    super(`Training stopped at step ${step}: ${what}. Nothing was saved for this step. ${keep}`);
    this.name = 'NonFiniteLossError';
  }
}

export class NonFiniteGuard {
  private last: GoodCheckpoint | null;
  private trippedError: NonFiniteLossError | null = null;

  constructor(lastGoodCheckpoint: GoodCheckpoint | null = null) {
    this.last = lastGoodCheckpoint;
  }

  get lastGoodCheckpoint(): GoodCheckpoint | null {
    return this.last;
  }

  /** The error that tripped the guard, or null. */
  get tripped(): NonFiniteLossError | null {
    return this.trippedError;
  }

  /** Throws NonFiniteLossError if `loss` or `gradNorm` (when given) is NaN or infinite. */
  check(step: number, loss: number, gradNorm?: number): void {
    if (this.trippedError) throw this.trippedError;
    if (Number.isFinite(loss) && (gradNorm === undefined || Number.isFinite(gradNorm))) return;
    this.trippedError = new NonFiniteLossError(step, loss, gradNorm, this.last);
    throw this.trippedError;
  }

  /** Throws if the guard has tripped: call before writing a checkpoint. */
  assertCanSave(): void {
    if (this.trippedError) throw new Error(`refusing to save a checkpoint after a non-finite value: ${this.trippedError.message}`);
  }

  /** Note a successfully written checkpoint as the last good one. */
  recordCheckpoint(step: number, path: string): void {
    this.assertCanSave();
    this.last = { step, path };
  }
}
