/**
 * Optimisers: AdamW and SGD with the update rules of torch.optim.AdamW / torch.optim.SGD
 * (default, non-fused, non-amsgrad, non-maximize variants).
 *
 * Numerics: parameters and buffers are float32 (Float32Array) like PyTorch's float32 tensors,
 * rounded to float32 at the points where PyTorch materialises a float32 tensor (parameter after
 * weight decay, first/second moments, denominator, parameter after the update). Arithmetic
 * inside one elementwise op is done in float64 and rounded once, so results can differ from
 * PyTorch by an ulp or two; they are deterministic and identical on every machine.
 *
 * Missing gradients: a parameter without an entry in `grads` is skipped for that step (like a
 * PyTorch parameter whose .grad is None): its buffers and step count are left untouched.
 */
import type { JsonObject, JsonValue, StatePart, TensorMap } from './types.ts';
import { cloneTensorMap, expectKind, isJsonObject } from './types.ts';

const f32 = Math.fround;

export interface Optimizer {
  /** Update `params` in place from `grads` with learning rate `lr`. */
  step(params: TensorMap, grads: ReadonlyMap<string, Float32Array>, lr: number): void;
  /** Snapshot of all mutable state (copies). */
  state(): StatePart;
  /** Restore a snapshot taken by state(). Hyper-parameters stay those given to the constructor. */
  loadState(state: StatePart): void;
}

function checkPair(name: string, p: Float32Array | undefined, g: Float32Array, what: string): Float32Array {
  if (!p) throw new Error(`${what}: gradient for "${name}" has no matching parameter`);
  if (p.length !== g.length) throw new Error(`${what}: gradient for "${name}" has ${g.length} elements, parameter has ${p.length}`);
  return p;
}

function checkLr(lr: number, what: string): void {
  if (!Number.isFinite(lr) || lr < 0) throw new Error(`${what}: learning rate must be a finite number >= 0, got ${lr}`);
}

function readSteps(json: JsonObject, what: string): Map<string, number> {
  const steps = json.steps;
  if (!isJsonObject(steps)) throw new Error(`${what}: state has no "steps" object`);
  const out = new Map<string, number>();
  for (const [k, v] of Object.entries(steps)) {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new Error(`${what}: step count for "${k}" must be an integer >= 0, got ${JSON.stringify(v)}`);
    out.set(k, v);
  }
  return out;
}

/** Keys in code-unit order, so state() (and checkpoints) do not depend on insertion order. */
function sortedKeys(m: ReadonlyMap<string, unknown>): string[] {
  return [...m.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

function stepsJson(steps: Map<string, number>): JsonObject {
  const o: JsonObject = {};
  for (const k of sortedKeys(steps)) o[k] = steps.get(k)!;
  return o;
}

function takeBuffers(state: StatePart, prefix: string, names: Iterable<string>, what: string): TensorMap {
  const out: TensorMap = new Map();
  for (const name of names) {
    const t = state.tensors.get(prefix + name);
    if (!t) throw new Error(`${what}: state is missing tensor "${prefix + name}"`);
    out.set(name, new Float32Array(t));
  }
  return out;
}

export interface AdamWOptions {
  /** (beta1, beta2), default (0.9, 0.999). */
  betas?: readonly [number, number];
  /** Default 1e-8. */
  eps?: number;
  /** Decoupled weight decay, default 0.01 (PyTorch's AdamW default). */
  weightDecay?: number;
  /** Parameters for which weight decay is skipped (e.g. biases, norms). Default: none. */
  noWeightDecay?: (name: string) => boolean;
}

/**
 * torch.optim.AdamW. For each parameter p with gradient g, at its step t (1-based):
 *
 *   p   <- p * (1 - lr * wd)
 *   m   <- beta1 * m + (1 - beta1) * g
 *   v   <- beta2 * v + (1 - beta2) * g^2
 *   bc1 = 1 - beta1^t,  bc2 = 1 - beta2^t
 *   p   <- p - (lr / bc1) * m / (sqrt(v) / sqrt(bc2) + eps)
 */
export class AdamW implements Optimizer {
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  private readonly noWeightDecay: (name: string) => boolean;
  private expAvg: TensorMap = new Map();
  private expAvgSq: TensorMap = new Map();
  private steps = new Map<string, number>();

  constructor(opts: AdamWOptions = {}) {
    const [b1, b2] = opts.betas ?? [0.9, 0.999];
    this.beta1 = b1;
    this.beta2 = b2;
    this.eps = opts.eps ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? 0.01;
    this.noWeightDecay = opts.noWeightDecay ?? (() => false);
    if (!(b1 >= 0 && b1 < 1) || !(b2 >= 0 && b2 < 1)) throw new Error(`AdamW: betas must be in [0, 1), got (${b1}, ${b2})`);
    if (!(this.eps >= 0)) throw new Error(`AdamW: eps must be >= 0, got ${this.eps}`);
    if (!(this.weightDecay >= 0)) throw new Error(`AdamW: weightDecay must be >= 0, got ${this.weightDecay}`);
  }

  step(params: TensorMap, grads: ReadonlyMap<string, Float32Array>, lr: number): void {
    checkLr(lr, 'AdamW');
    for (const [name, g] of grads) checkPair(name, params.get(name), g, 'AdamW');
    const { beta1, beta2, eps } = this;
    for (const [name, g] of grads) {
      const p = params.get(name)!;
      let m = this.expAvg.get(name);
      let v = this.expAvgSq.get(name);
      if (!m || !v) {
        m = new Float32Array(p.length);
        v = new Float32Array(p.length);
        this.expAvg.set(name, m);
        this.expAvgSq.set(name, v);
      }
      const t = (this.steps.get(name) ?? 0) + 1;
      this.steps.set(name, t);
      const decay = this.noWeightDecay(name) ? 1 : 1 - lr * this.weightDecay;
      const bc1 = 1 - beta1 ** t;
      const bc2Sqrt = Math.sqrt(1 - beta2 ** t);
      const stepSize = lr / bc1;
      for (let i = 0; i < p.length; i++) {
        const gi = g[i]!;
        const pi = decay === 1 ? p[i]! : f32(p[i]! * decay);
        const mi = f32(beta1 * m[i]! + (1 - beta1) * gi);
        const vi = f32(beta2 * v[i]! + (1 - beta2) * gi * gi);
        const denom = f32(Math.sqrt(vi) / bc2Sqrt + eps);
        m[i] = mi;
        v[i] = vi;
        p[i] = pi - (stepSize * mi) / denom;
      }
    }
  }

  state(): StatePart {
    const tensors: TensorMap = new Map();
    const names = sortedKeys(this.expAvg);
    for (const k of names) tensors.set(`exp_avg/${k}`, new Float32Array(this.expAvg.get(k)!));
    for (const k of names) tensors.set(`exp_avg_sq/${k}`, new Float32Array(this.expAvgSq.get(k)!));
    return {
      json: { kind: 'adamw', betas: [this.beta1, this.beta2], eps: this.eps, weight_decay: this.weightDecay, steps: stepsJson(this.steps) },
      tensors,
    };
  }

  loadState(state: StatePart): void {
    const json = expectKind(state.json as JsonValue, 'adamw', 'AdamW.loadState');
    const steps = readSteps(json, 'AdamW.loadState');
    const expAvg = takeBuffers(state, 'exp_avg/', steps.keys(), 'AdamW.loadState');
    const expAvgSq = takeBuffers(state, 'exp_avg_sq/', steps.keys(), 'AdamW.loadState');
    this.steps = steps;
    this.expAvg = expAvg;
    this.expAvgSq = expAvgSq;
  }
}

export interface SGDOptions {
  /** Default 0 (plain SGD). */
  momentum?: number;
  /** Default 0. */
  dampening?: number;
  /** Nesterov momentum; needs momentum > 0 and dampening 0. Default false. */
  nesterov?: boolean;
  /** L2 weight decay added to the gradient (coupled, as torch.optim.SGD). Default 0. */
  weightDecay?: number;
  noWeightDecay?: (name: string) => boolean;
}

/**
 * torch.optim.SGD:
 *
 *   d <- g + wd * p
 *   if momentum != 0:
 *     buf <- d                                  (first step)
 *     buf <- momentum * buf + (1 - dampening) * d  (later steps)
 *     d <- nesterov ? d + momentum * buf : buf
 *   p <- p - lr * d
 */
export class SGD implements Optimizer {
  readonly momentum: number;
  readonly dampening: number;
  readonly nesterov: boolean;
  readonly weightDecay: number;
  private readonly noWeightDecay: (name: string) => boolean;
  private buffers: TensorMap = new Map();
  private steps = new Map<string, number>();

  constructor(opts: SGDOptions = {}) {
    this.momentum = opts.momentum ?? 0;
    this.dampening = opts.dampening ?? 0;
    this.nesterov = opts.nesterov ?? false;
    this.weightDecay = opts.weightDecay ?? 0;
    this.noWeightDecay = opts.noWeightDecay ?? (() => false);
    if (!(this.momentum >= 0)) throw new Error(`SGD: momentum must be >= 0, got ${this.momentum}`);
    if (!(this.weightDecay >= 0)) throw new Error(`SGD: weightDecay must be >= 0, got ${this.weightDecay}`);
    if (this.nesterov && (this.momentum <= 0 || this.dampening !== 0)) throw new Error('SGD: nesterov momentum requires momentum > 0 and dampening = 0');
  }

  step(params: TensorMap, grads: ReadonlyMap<string, Float32Array>, lr: number): void {
    checkLr(lr, 'SGD');
    for (const [name, g] of grads) checkPair(name, params.get(name), g, 'SGD');
    const { momentum, dampening, nesterov } = this;
    for (const [name, g] of grads) {
      const p = params.get(name)!;
      const wd = this.noWeightDecay(name) ? 0 : this.weightDecay;
      const t = (this.steps.get(name) ?? 0) + 1;
      this.steps.set(name, t);
      let buf: Float32Array | undefined;
      let first = false;
      if (momentum !== 0) {
        buf = this.buffers.get(name);
        if (!buf) {
          first = true;
          buf = new Float32Array(p.length);
          this.buffers.set(name, buf);
        }
      }
      for (let i = 0; i < p.length; i++) {
        let d = wd !== 0 ? f32(g[i]! + wd * p[i]!) : g[i]!;
        if (buf) {
          const b = first ? d : f32(momentum * buf[i]! + (1 - dampening) * d);
          buf[i] = b;
          d = nesterov ? f32(d + momentum * b) : b;
        }
        p[i] = p[i]! - lr * d;
      }
    }
  }

  state(): StatePart {
    const tensors: TensorMap = new Map();
    for (const k of sortedKeys(this.buffers)) tensors.set(`momentum_buffer/${k}`, new Float32Array(this.buffers.get(k)!));
    return {
      json: {
        kind: 'sgd',
        momentum: this.momentum,
        dampening: this.dampening,
        nesterov: this.nesterov,
        weight_decay: this.weightDecay,
        steps: stepsJson(this.steps),
      },
      tensors,
    };
  }

  loadState(state: StatePart): void {
    const json = expectKind(state.json as JsonValue, 'sgd', 'SGD.loadState');
    const steps = readSteps(json, 'SGD.loadState');
    const buffers: TensorMap = new Map();
    for (const [k, t] of cloneTensorMap(state.tensors)) {
      if (!k.startsWith('momentum_buffer/')) throw new Error(`SGD.loadState: unexpected tensor "${k}" in state`);
      buffers.set(k.slice('momentum_buffer/'.length), t);
    }
    if (this.momentum !== 0) {
      for (const [name, n] of steps) {
        if (n > 0 && !buffers.has(name)) throw new Error(`SGD.loadState: state is missing tensor "momentum_buffer/${name}"`);
      }
    }
    this.steps = steps;
    this.buffers = buffers;
  }
}
