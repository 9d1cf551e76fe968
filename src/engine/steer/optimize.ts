/**
 * Latent Optimize (Learn-to-Steer's test-time optimisation): before each scheduled denoising step,
 * evaluate the compiled steering loss (steer-graph.ts) on the conditional pass, and move the
 * latent z_t <- z_t - alpha * dL/dz_t until the loss is under the step's threshold or the
 * iteration budget is spent; then the normal (CFG) step runs. Plugs into sampleLatent's
 * `beforeStep`.
 *
 * Defaults are the authors' (SD settings): steps 0-24 of 50, up to 15 + 1 evaluations per step,
 * alpha 5, thresholds 1e-5 / 3e-5 / 5e-5 for steps 0 / 1 / 2 and 7e-5 after, several relations
 * alternated (iteration k uses term k mod K, the early stop looks at that term only), step ->
 * classifier bucket by the ceiling rule. A non-finite loss or gradient ends that step's
 * optimisation with a warning; the latent is never replaced by a non-finite one.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Relation } from '../eval/geneval.ts';
import { parseModel, serializeModel } from '../onnx/model.ts';
import type { HostTensor, Session, SessionManager } from '../onnx/session.ts';
import type { Embedding } from '../pipeline/encode.ts';
import type { Pipeline } from '../pipeline/load.ts';
import { writeFileAtomic } from '../util/fs.ts';
import { bucketFor } from './classifier.ts';
import { isRelationTerm, tokenRows, type LossPlan, type SteerTerm } from './losses.ts';
import { compileSteering, type TermSpec } from './steer-graph.ts';
import { loadModel } from '../onnx/model.ts';

export type { SteerTerm } from './losses.ts';

export interface OptimizeSchedule {
  /** Denoising step indices to optimise before (default 0..24 when sampling 50 steps). */
  steps: number[];
  maxIter: number;
  alpha: number;
  /** Loss thresholds for steps 0, 1, 2, ...; the last applies to every later step. */
  thresholds: number[];
  /** How several relations are combined; the caller plans the losses with it (planLosses). */
  combine: 'alternate' | 'sum';
  /**
   * 'raw': z -= alpha * grad (the authors'). 'normalized': z -= alpha * grad / rms(grad), a step of
   * rms size alpha whatever the gradient's scale (raw steps with alpha 5 overshoot on Shape World:
   * the learned loss's first gradient has norm ~10 against a latent of norm ~32).
   */
  step: 'raw' | 'normalized';
  /** Also stop once every learned term's target probability is at least this (1 = never). */
  stopProb: number;
  /** Move at least this many times per steered step before an early stop may end it (default 0). */
  minIter?: number;
}

export const AUTHORS_SCHEDULE: Omit<OptimizeSchedule, 'steps'> & { lastStep: number } = {
  lastStep: 24,
  maxIter: 15,
  alpha: 5,
  thresholds: [1e-5, 3e-5, 5e-5, 7e-5],
  combine: 'alternate',
  step: 'raw',
  stopProb: 1,
};

export interface IterationEvent {
  step: number;
  iteration: number;
  /** The alternation slot this iteration used (0 when summing). */
  slot: number;
  /** The loss the early stop compared with the threshold (the active relation terms'; all terms when there are none). */
  loss: number;
  /** Per term, unweighted. */
  losses: number[];
  /** Per term: class probabilities (learned terms; null for the others). */
  probs: (number[] | null)[];
  gradNorm: number;
  /** Whether the latent was moved after this evaluation. */
  moved: boolean;
  /** Whether this is the step's last evaluation (after it, at most the one move of `moved`). */
  last: boolean;
  /** Per token row: its mean attention map [S * S] at this evaluation (only when `wantMaps`). */
  maps?: Float32Array[];
}

export interface SteerStats {
  /** Loss evaluations (forward + backward of the steering model) per denoising step. */
  iterations: Record<number, number>;
  evaluations: number;
  warnings: string[];
}

const DIRS: Record<Relation, [number, number]> = { left: [-1, 0], right: [1, 0], above: [0, -1], below: [0, 1] };

type SteerOptions = {
  cond: Embedding;
  totalSteps: number;
  cacheDir?: string;
  signal?: AbortSignal;
  onIteration?: (e: IterationEvent) => void;
  onWarning?: (m: string) => void;
  /** Return the rows' maps with each iteration event (for previews). */
  wantMaps?: boolean;
};

/** The compiled model's term description (what its structure depends on). */
function termSpec(t: SteerTerm): TermSpec {
  switch (t.kind) {
    case 'learned':
      return { kind: 'learned', classifier: { dir: t.classifier.dir, model: loadModel(join(t.classifier.dir, 'model.onnx')).model, classes: t.classifier.info.classes.length } };
    case 'centroid':
      return { kind: 'centroid', margin: t.margin };
    default:
      return { kind: t.kind };
  }
}

export class Steerer {
  readonly stats: SteerStats = { iterations: {}, evaluations: 0, warnings: [] };
  private constructor(
    private readonly pipe: Pipeline,
    private readonly session: Session,
    readonly plan: LossPlan,
    private readonly schedule: OptimizeSchedule,
    private readonly tokens: number,
    private readonly o: SteerOptions,
  ) {
    this.rowMatrix = { data: tokenRows(plan.rows, tokens), dims: [plan.rows.length, tokens] };
  }

  /** The token-row matrix: the same for every evaluation of this prompt. */
  private readonly rowMatrix: HostTensor;

  /** Compiles (or loads from `cacheDir`) the steering model for the plan's terms and returns a steerer. */
  static async create(pipe: Pipeline, sessions: SessionManager, plan: LossPlan, schedule: OptimizeSchedule, o: SteerOptions): Promise<Steerer> {
    if (plan.terms.length === 0) throw new Error('Latent Optimize needs at least one loss term');
    const specs = plan.terms.map(termSpec);
    const unetFile = pipe.folder.unet.model;
    const key = createHash('sha256')
      .update(readFileSync(unetFile))
      .update(JSON.stringify(specs.map((s) => (s.kind === 'learned' ? { kind: s.kind, c: createHash('sha256').update(readFileSync(join(s.classifier.dir, 'model.onnx'))).digest('hex') } : s))))
      .update(`rows ${plan.rows.length}`)
      .update('steer-graph-v2')
      .digest('hex')
      .slice(0, 24);
    const file = o.cacheDir ? join(o.cacheDir, `steer-${key}.onnx`) : undefined;
    let bytes: Uint8Array;
    let tokens: number;
    if (file && existsSync(file)) {
      bytes = readFileSync(file);
      const m = parseModel(bytes, file);
      tokens = Number((m.graph!.input.find((i) => i.name === 'tokens')!.type!.value.value as { shape: { dim: { value: { value: unknown } }[] } }).shape.dim[1]!.value.value);
    } else {
      const compiled = await compileSteering(unetFile, pipe.latentShape, specs, plan.rows.length);
      bytes = serializeModel(compiled.model);
      tokens = compiled.tokens;
      if (file) await writeFileAtomic(file, bytes);
    }
    const session = await sessions.get(bytes);
    return new Steerer(pipe, session, plan, schedule, tokens, o);
  }

  private feeds(latentIn: Float32Array, t: number, step: number, weights: number[]): Record<string, HostTensor> {
    const [c, h, w] = this.pipe.latentShape;
    const f: Record<string, HostTensor> = {
      sample: { data: latentIn, dims: [1, c, h, w] },
      timestep: this.pipe.io.timestepType === 'int64' ? { data: BigInt64Array.of(BigInt(Math.round(t))), dims: [1] } : { data: Float32Array.of(t), dims: [1] },
      encoder_hidden_states: { data: this.o.cond.data, dims: this.o.cond.dims },
      tokens: this.rowMatrix,
    };
    const ints = (...v: number[]) => ({ data: BigInt64Array.from(v.map(BigInt)), dims: [v.length] });
    this.plan.terms.forEach((term, k) => {
      f[`weight_${k}`] = { data: Float32Array.of(weights[k]!), dims: [1] };
      switch (term.kind) {
        case 'learned': {
          f[`pair_${k}`] = ints(term.subject, term.object);
          const info = term.classifier.info;
          const target = new Float32Array(info.classes.length);
          target[info.classes.indexOf(term.relation)] = 1;
          f[`target_${k}`] = { data: target, dims: [1, info.classes.length] };
          const atTrained = Math.round((step * info.totalSteps) / this.o.totalSteps);
          f[`bucket_${k}`] = ints(bucketFor(info.steps, atTrained));
          break;
        }
        case 'centroid':
          f[`pair_${k}`] = ints(term.subject, term.object);
          f[`dir_${k}`] = { data: Float32Array.from(DIRS[term.relation]), dims: [2] };
          break;
        case 'presence':
          f[`rows_${k}`] = ints(term.object, term.text);
          break;
        case 'binding':
          f[`rows_${k}`] = ints(term.modifier, term.object, term.other);
          break;
      }
    });
    return f;
  }

  /** sampleLatent's beforeStep hook. */
  beforeStep = async (step: number, t: number, latent: Float32Array, modelInput: (x: Float32Array) => Float32Array): Promise<Float32Array | void> => {
    const s = this.schedule;
    if (!s.steps.includes(step)) return;
    const scale = modelInput(Float32Array.of(1))[0]!;
    const threshold = s.thresholds[Math.min(step, s.thresholds.length - 1)]!;
    const terms = this.plan.terms;
    const hasRelation = terms.some(isRelationTerm);
    const auxiliary = hasRelation && terms.some((tm) => !isRelationTerm(tm));
    let x = latent;
    let done = 0;
    let moves = 0;
    for (let it = 0; it <= s.maxIter; it++) {
      this.o.signal?.throwIfAborted();
      await new Promise((r) => setImmediate(r));
      // the plan's alternation (planLosses with schedule.combine): iteration k uses slot k mod K
      const slot = it % this.plan.slots;
      const weights = this.plan.weights(slot);
      const out = await this.session.run(this.feeds(modelInput(x), t, step, weights));
      this.stats.evaluations++;
      done++;
      const losses = terms.map((_, k) => (out[`loss_${k}`]!.data as Float32Array)[0]!);
      let loss = 0;
      terms.forEach((tm, k) => {
        if (!hasRelation || isRelationTerm(tm)) loss += weights[k]! * losses[k]!;
      });
      const probs = terms.map((tm, k) => (tm.kind === 'learned' ? Array.from(out[`probs_${k}`]!.data as Float32Array) : null));
      const g = out.sample_grad!.data as Float32Array;
      let n2 = 0;
      for (let i = 0; i < g.length; i++) n2 += g[i]! * g[i]!;
      const finite = Number.isFinite(loss) && Number.isFinite(n2) && losses.every(Number.isFinite);
      const satisfied =
        loss <= threshold ||
        (s.stopProb < 1 && terms.some((tm) => tm.kind === 'learned') && terms.every((tm, k) => tm.kind !== 'learned' || probs[k]![tm.classifier.info.classes.indexOf(tm.relation)]! >= s.stopProb));
      // At least `need` moves per steered step (minIter; with presence/binding beside the relations
      // at least one, so an auxiliary loss acts even where the relation already holds). A move made
      // after a satisfied reading that reaches `need` ends the step without another evaluation: the
      // next step's first evaluation reads the result.
      const need = Math.max(s.minIter ?? 0, auxiliary ? 1 : 0);
      const move = finite && it < s.maxIter && !(satisfied && moves >= need);
      const last = !move || (satisfied && moves + 1 >= need);
      if (this.o.onIteration) {
        const maps = out.maps?.data as Float32Array | undefined;
        const S2 = maps ? maps.length / this.plan.rows.length : 0;
        this.o.onIteration({ step, iteration: it, slot, loss, losses, probs, gradNorm: Math.sqrt(n2), moved: move, last, ...(this.o.wantMaps && maps ? { maps: this.plan.rows.map((_, r) => maps.slice(r * S2, (r + 1) * S2)) } : {}) });
      }
      if (!finite) {
        const m = `step ${step}: the steering loss or its gradient is not finite (loss ${loss}); optimisation of this step stopped`;
        this.stats.warnings.push(m);
        this.o.onWarning?.(m);
        break;
      }
      if (!move) break;
      const rms = Math.sqrt(n2 / g.length);
      const a = (s.step === 'normalized' ? s.alpha / Math.max(rms, 1e-12) : s.alpha) * scale;
      const next = new Float32Array(x.length);
      for (let i = 0; i < x.length; i++) next[i] = x[i]! - a * g[i]!;
      x = next;
      moves++;
      if (last) break;
    }
    this.stats.iterations[step] = done;
    return x;
  };
}
