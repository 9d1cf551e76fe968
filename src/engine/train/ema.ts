/**
 * Exponential moving average of weights (diffusers' EMAModel semantics).
 *
 * Each `update(params)` increments the optimisation step n and moves every shadow weight:
 *   shadow <- shadow - (1 - d) * (shadow - param)
 * with d = getDecay(n):
 *   s = max(0, n - updateAfterStep - 1)
 *   s <= 0             -> d = 0 (the shadow copies the weights)
 *   warmup 'diffusers' -> d = (1 + s) / (10 + s)
 *   warmup {invGamma, power} -> d = 1 - (1 + s / invGamma)^(-power)
 *   warmup 'none'      -> d = decay
 *   then d = clamp(d, minDecay, decay)
 * 'diffusers' is EMAModel's default (use_ema_warmup=False); {invGamma, power} is its
 * use_ema_warmup=True branch.
 */
import type { JsonObject, StatePart, TensorMap } from './types.ts';
import { cloneTensorMap, expectKind, numberField } from './types.ts';

const f32 = Math.fround;

export type EmaWarmup = 'none' | 'diffusers' | { invGamma: number; power: number };

export interface EmaOptions {
  /** Maximum decay. Default 0.9999. */
  decay?: number;
  /** Default 0. */
  minDecay?: number;
  /** Steps before the average starts moving. Default 0. */
  updateAfterStep?: number;
  /** Default 'diffusers'. */
  warmup?: EmaWarmup;
}

export class EMA {
  readonly decay: number;
  readonly minDecay: number;
  readonly updateAfterStep: number;
  readonly warmup: EmaWarmup;
  private shadow: TensorMap;
  private optimizationStep = 0;

  /** Starts from a copy of `params`. */
  constructor(params: ReadonlyMap<string, Float32Array>, opts: EmaOptions = {}) {
    this.decay = opts.decay ?? 0.9999;
    this.minDecay = opts.minDecay ?? 0;
    this.updateAfterStep = opts.updateAfterStep ?? 0;
    this.warmup = opts.warmup ?? 'diffusers';
    if (!(this.decay >= 0 && this.decay <= 1)) throw new Error(`EMA: decay must be in [0, 1], got ${this.decay}`);
    if (!(this.minDecay >= 0 && this.minDecay <= this.decay)) throw new Error(`EMA: minDecay must be in [0, decay], got ${this.minDecay}`);
    this.shadow = cloneTensorMap(params);
  }

  get step(): number {
    return this.optimizationStep;
  }

  /** Decay used at optimisation step n (1-based count of updates). */
  getDecay(n: number): number {
    const s = Math.max(0, n - this.updateAfterStep - 1);
    if (s <= 0) return 0;
    let d: number;
    if (this.warmup === 'none') d = this.decay;
    else if (this.warmup === 'diffusers') d = (1 + s) / (10 + s);
    else d = 1 - (1 + s / this.warmup.invGamma) ** -this.warmup.power;
    return Math.max(Math.min(d, this.decay), this.minDecay);
  }

  /** Fold the current weights into the average. Returns the decay used. */
  update(params: ReadonlyMap<string, Float32Array>): number {
    for (const [name, s] of this.shadow) {
      const p = params.get(name);
      if (!p) throw new Error(`EMA.update: parameter "${name}" is missing`);
      if (p.length !== s.length) throw new Error(`EMA.update: parameter "${name}" has ${p.length} elements, the average has ${s.length}`);
    }
    this.optimizationStep += 1;
    const d = this.getDecay(this.optimizationStep);
    const oneMinus = 1 - d;
    for (const [name, s] of this.shadow) {
      const p = params.get(name)!;
      for (let i = 0; i < s.length; i++) s[i] = s[i]! - f32(oneMinus * f32(s[i]! - p[i]!));
    }
    return d;
  }

  /** The averaged weights (live view; copy before mutating). */
  get weights(): ReadonlyMap<string, Float32Array> {
    return this.shadow;
  }

  /** Copy the averaged weights into `params` (e.g. for evaluation or export). */
  copyTo(params: TensorMap): void {
    for (const [name, s] of this.shadow) {
      const p = params.get(name);
      if (!p || p.length !== s.length) throw new Error(`EMA.copyTo: parameter "${name}" is missing or has a different size`);
      p.set(s);
    }
  }

  state(): StatePart {
    const warmup: JsonObject | string = typeof this.warmup === 'string' ? this.warmup : { inv_gamma: this.warmup.invGamma, power: this.warmup.power };
    return {
      json: { kind: 'ema', decay: this.decay, min_decay: this.minDecay, update_after_step: this.updateAfterStep, warmup, optimization_step: this.optimizationStep },
      tensors: cloneTensorMap(this.shadow),
    };
  }

  loadState(state: StatePart): void {
    const what = 'EMA.loadState';
    const json = expectKind(state.json, 'ema', what);
    const step = numberField(json, 'optimization_step', what);
    if (!Number.isInteger(step) || step < 0) throw new Error(`${what}: optimization_step must be an integer >= 0, got ${step}`);
    const shadow: TensorMap = new Map();
    for (const [name, s] of this.shadow) {
      const t = state.tensors.get(name);
      if (!t) throw new Error(`${what}: state is missing the average of "${name}"`);
      if (t.length !== s.length) throw new Error(`${what}: average of "${name}" has ${t.length} elements, expected ${s.length}`);
      shadow.set(name, new Float32Array(t));
    }
    for (const name of state.tensors.keys()) if (!this.shadow.has(name)) throw new Error(`${what}: state has an average for unknown parameter "${name}"`);
    this.shadow = shadow;
    this.optimizationStep = step;
  }
}
