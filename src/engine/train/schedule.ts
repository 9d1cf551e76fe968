/**
 * Learning-rate schedules.
 *
 * A schedule answers `lrAt(step)`: the learning rate for optimisation step `step` (0-based:
 * the first step of training is step 0). Constant, cosine and warmup are pure functions of the
 * step; ReduceLROnPlateau keeps mutable state driven by `step(metric)`.
 *
 * State convention (same as the optimisers): `state()` returns JSON with a `kind`, the
 * configuration (for inspection) and any mutable state; `loadState()` restores the mutable
 * state only and checks the kind — configuration always comes from the constructor.
 */
import type { JsonObject, JsonValue } from './types.ts';
import { expectKind, numberField } from './types.ts';

export interface LrSchedule {
  lrAt(step: number): number;
  state(): JsonObject;
  loadState(state: JsonValue): void;
}

function checkStep(step: number, what: string): void {
  if (!Number.isInteger(step) || step < 0) throw new Error(`${what}: step must be an integer >= 0, got ${step}`);
}

/** The same learning rate at every step. */
export class ConstantSchedule implements LrSchedule {
  constructor(readonly lr: number) {
    if (!(lr >= 0) || !Number.isFinite(lr)) throw new Error(`ConstantSchedule: lr must be a finite number >= 0, got ${lr}`);
  }
  lrAt(step: number): number {
    checkStep(step, 'ConstantSchedule');
    return this.lr;
  }
  state(): JsonObject {
    return { kind: 'constant', lr: this.lr };
  }
  loadState(state: JsonValue): void {
    expectKind(state, 'constant', 'ConstantSchedule.loadState');
  }
}

export interface CosineOptions {
  baseLr: number;
  /** Steps over which the lr goes from baseLr to minLr; it stays at minLr afterwards. */
  totalSteps: number;
  /** Default 0. */
  minLr?: number;
}

/**
 * Cosine annealing (closed form of CosineAnnealingLR with T_max = totalSteps):
 *   lr(s) = minLr + (baseLr - minLr) * (1 + cos(pi * min(s, T) / T)) / 2
 */
export class CosineSchedule implements LrSchedule {
  readonly baseLr: number;
  readonly totalSteps: number;
  readonly minLr: number;
  constructor(opts: CosineOptions) {
    this.baseLr = opts.baseLr;
    this.totalSteps = opts.totalSteps;
    this.minLr = opts.minLr ?? 0;
    if (!(this.baseLr >= 0) || !Number.isFinite(this.baseLr)) throw new Error(`CosineSchedule: baseLr must be a finite number >= 0, got ${this.baseLr}`);
    if (!Number.isInteger(this.totalSteps) || this.totalSteps < 1) throw new Error(`CosineSchedule: totalSteps must be an integer >= 1, got ${this.totalSteps}`);
    if (!(this.minLr >= 0 && this.minLr <= this.baseLr)) throw new Error(`CosineSchedule: minLr must be in [0, baseLr], got ${this.minLr}`);
  }
  lrAt(step: number): number {
    checkStep(step, 'CosineSchedule');
    const s = Math.min(step, this.totalSteps);
    return this.minLr + ((this.baseLr - this.minLr) * (1 + Math.cos((Math.PI * s) / this.totalSteps))) / 2;
  }
  state(): JsonObject {
    return { kind: 'cosine', base_lr: this.baseLr, total_steps: this.totalSteps, min_lr: this.minLr };
  }
  loadState(state: JsonValue): void {
    expectKind(state, 'cosine', 'CosineSchedule.loadState');
  }
}

export interface WarmupOptions {
  /** Number of warmup steps (>= 0). */
  warmupSteps: number;
  /** The schedule used after warmup; it sees steps counted from the end of warmup. */
  inner: LrSchedule;
  /** Fraction of the inner lr at step 0. Default 0 (diffusers' get_*_schedule_with_warmup). */
  startFactor?: number;
}

/**
 * Linear warmup in front of any schedule:
 *   s <  W: lr = inner.lrAt(0) * (f0 + (1 - f0) * s / W)
 *   s >= W: lr = inner.lrAt(s - W)
 * With f0 = 0 and a cosine inner schedule of totalSteps = N - W this is diffusers'
 * get_cosine_schedule_with_warmup(W, N) (min lr 0, half a cycle).
 */
export class WarmupSchedule implements LrSchedule {
  readonly warmupSteps: number;
  readonly inner: LrSchedule;
  readonly startFactor: number;
  constructor(opts: WarmupOptions) {
    this.warmupSteps = opts.warmupSteps;
    this.inner = opts.inner;
    this.startFactor = opts.startFactor ?? 0;
    if (!Number.isInteger(this.warmupSteps) || this.warmupSteps < 0) throw new Error(`WarmupSchedule: warmupSteps must be an integer >= 0, got ${this.warmupSteps}`);
    if (!(this.startFactor >= 0 && this.startFactor <= 1)) throw new Error(`WarmupSchedule: startFactor must be in [0, 1], got ${this.startFactor}`);
  }
  lrAt(step: number): number {
    checkStep(step, 'WarmupSchedule');
    if (step < this.warmupSteps) {
      const f = this.startFactor + ((1 - this.startFactor) * step) / this.warmupSteps;
      return this.inner.lrAt(0) * f;
    }
    return this.inner.lrAt(step - this.warmupSteps);
  }
  state(): JsonObject {
    return { kind: 'warmup', warmup_steps: this.warmupSteps, start_factor: this.startFactor, inner: this.inner.state() };
  }
  loadState(state: JsonValue): void {
    const s = expectKind(state, 'warmup', 'WarmupSchedule.loadState');
    if (s.inner === undefined) throw new Error('WarmupSchedule.loadState: state has no "inner" schedule state');
    this.inner.loadState(s.inner);
  }
}

export interface ReduceLROnPlateauOptions {
  /** Starting learning rate. */
  lr: number;
  /** 'min' (default): lower metric is better; 'max': higher is better. */
  mode?: 'min' | 'max';
  /** Multiplier applied on a plateau. Default 0.1. */
  factor?: number;
  /** Bad evaluations tolerated before reducing. Default 10. */
  patience?: number;
  /** Default 1e-4. */
  threshold?: number;
  /** 'rel' (default): better means below best * (1 - threshold); 'abs': below best - threshold. */
  thresholdMode?: 'rel' | 'abs';
  /** Evaluations to wait after a reduction before counting bad ones again. Default 0. */
  cooldown?: number;
  /** Lower bound on the lr. Default 0. */
  minLr?: number;
  /** Reductions smaller than this are ignored. Default 1e-8. */
  eps?: number;
}

/**
 * ReduceLROnPlateau with PyTorch's semantics. Call `step(metric)` once per evaluation; it
 * returns true when the lr was reduced. `lrAt()` returns the current lr whatever the step, so
 * the schedule composes with WarmupSchedule.
 *
 * Per call: if metric is better than best (mode/threshold rule), best = metric and the bad
 * count resets, otherwise the bad count grows; during cooldown the cooldown counter drops and
 * the bad count is forced to 0; once the bad count exceeds patience the lr becomes
 * max(lr * factor, minLr) (if that lowers it by more than eps), cooldown restarts and the bad
 * count resets. A NaN metric is never better.
 */
export class ReduceLROnPlateau implements LrSchedule {
  readonly mode: 'min' | 'max';
  readonly factor: number;
  readonly patience: number;
  readonly threshold: number;
  readonly thresholdMode: 'rel' | 'abs';
  readonly cooldown: number;
  readonly minLr: number;
  readonly eps: number;
  private lr: number;
  /** null until the first metric (PyTorch starts from +/-inf, which JSON cannot hold). */
  private best: number | null = null;
  private numBadEpochs = 0;
  private cooldownCounter = 0;
  private lastEpoch = 0;

  constructor(opts: ReduceLROnPlateauOptions) {
    this.lr = opts.lr;
    this.mode = opts.mode ?? 'min';
    this.factor = opts.factor ?? 0.1;
    this.patience = opts.patience ?? 10;
    this.threshold = opts.threshold ?? 1e-4;
    this.thresholdMode = opts.thresholdMode ?? 'rel';
    this.cooldown = opts.cooldown ?? 0;
    this.minLr = opts.minLr ?? 0;
    this.eps = opts.eps ?? 1e-8;
    if (!(this.lr >= 0) || !Number.isFinite(this.lr)) throw new Error(`ReduceLROnPlateau: lr must be a finite number >= 0, got ${this.lr}`);
    if (!(this.factor < 1 && this.factor >= 0)) throw new Error(`ReduceLROnPlateau: factor must be in [0, 1), got ${this.factor}`);
    if (!Number.isInteger(this.patience) || this.patience < 0) throw new Error(`ReduceLROnPlateau: patience must be an integer >= 0, got ${this.patience}`);
    if (!Number.isInteger(this.cooldown) || this.cooldown < 0) throw new Error(`ReduceLROnPlateau: cooldown must be an integer >= 0, got ${this.cooldown}`);
  }

  /** Current learning rate (independent of `step`). */
  lrAt(_step?: number): number {
    return this.lr;
  }

  get currentLr(): number {
    return this.lr;
  }

  private isBetter(a: number, best: number | null): boolean {
    if (Number.isNaN(a)) return false;
    if (best === null) return true; // best = +inf (min) / -inf (max)
    if (this.mode === 'min') return this.thresholdMode === 'rel' ? a < best * (1 - this.threshold) : a < best - this.threshold;
    return this.thresholdMode === 'rel' ? a > best * (1 + this.threshold) : a > best + this.threshold;
  }

  /** Report a metric; returns true if the learning rate was reduced. */
  step(metric: number): boolean {
    this.lastEpoch += 1;
    if (this.isBetter(metric, this.best)) {
      this.best = metric;
      this.numBadEpochs = 0;
    } else {
      this.numBadEpochs += 1;
    }
    if (this.cooldownCounter > 0) {
      this.cooldownCounter -= 1;
      this.numBadEpochs = 0;
    }
    if (this.numBadEpochs > this.patience) {
      const next = Math.max(this.lr * this.factor, this.minLr);
      const reduced = this.lr - next > this.eps;
      if (reduced) this.lr = next;
      this.cooldownCounter = this.cooldown;
      this.numBadEpochs = 0;
      return reduced;
    }
    return false;
  }

  state(): JsonObject {
    return {
      kind: 'reduce_on_plateau',
      mode: this.mode,
      factor: this.factor,
      patience: this.patience,
      threshold: this.threshold,
      threshold_mode: this.thresholdMode,
      cooldown: this.cooldown,
      min_lr: this.minLr,
      eps: this.eps,
      lr: this.lr,
      best: this.best,
      num_bad_epochs: this.numBadEpochs,
      cooldown_counter: this.cooldownCounter,
      last_epoch: this.lastEpoch,
    };
  }

  loadState(state: JsonValue): void {
    const what = 'ReduceLROnPlateau.loadState';
    const s = expectKind(state, 'reduce_on_plateau', what);
    const best = s.best;
    if (best !== null && (typeof best !== 'number' || !Number.isFinite(best))) throw new Error(`${what}: field "best" must be a finite number or null, got ${JSON.stringify(best)}`);
    const lr = numberField(s, 'lr', what);
    const bad = numberField(s, 'num_bad_epochs', what);
    const cd = numberField(s, 'cooldown_counter', what);
    const last = numberField(s, 'last_epoch', what);
    this.lr = lr;
    this.best = best;
    this.numBadEpochs = bad;
    this.cooldownCounter = cd;
    this.lastEpoch = last;
  }
}

