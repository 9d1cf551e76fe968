/**
 * GradientRunner: differentiate once, then run forward+backward repeatedly (a steering loop or a
 * training step). Initializers named in `wrt` became graph inputs; their stored values are fed
 * automatically unless the caller passes new ones.
 *
 *   const r = await GradientRunner.create(unet, { of: tapNames, wrt: ['sample'], keep: ['out_sample'] });
 *   const { outputs, grads } = await r.run({ sample, timestep, encoder_hidden_states });
 *   grads.sample // dSum(attention maps)/dsample
 */
import type { ModelProto } from 'onnx-buf';
import { differentiate, type DifferentiateOptions } from './index.ts';
import { initializerFeeds } from './check.ts';
import { SessionManager, type HostTensor, type Session, type SessionOptions } from '../session.ts';

export interface GradientRunnerOptions extends DifferentiateOptions {
  session?: SessionOptions;
  /** Share sessions (and their cache) with other users; a private manager otherwise. */
  manager?: SessionManager;
}

export interface GradientResult {
  /** `keep` and `of` tensors by name. */
  outputs: Record<string, HostTensor>;
  /** Gradients by wrt name (not the `_grad` output name). */
  grads: Record<string, HostTensor>;
}

export class GradientRunner {
  private constructor(
    readonly model: ModelProto,
    private readonly session: Session,
    private readonly defaults: Record<string, HostTensor>,
    private readonly gradOutputs: Record<string, string>,
    private readonly ownManager?: SessionManager,
  ) {}

  static async create(model: ModelProto, opts: GradientRunnerOptions): Promise<GradientRunner> {
    const gradName = opts.gradName ?? ((n: string) => `${n}_grad`);
    const grad = await differentiate(model, { ...opts, gradName });
    const manager = opts.manager ?? new SessionManager();
    const session = await manager.get(grad, opts.session);
    const defaults = initializerFeeds(model, opts.wrt, opts.baseDir);
    const gradOutputs = Object.fromEntries(opts.wrt.map((w) => [w, gradName(w)]));
    return new GradientRunner(grad, session, defaults, gradOutputs, opts.manager ? undefined : manager);
  }

  /** Names the caller must feed (graph inputs without a stored default). */
  get requiredInputs(): string[] {
    return this.session.inputNames.filter((n) => !(n in this.defaults));
  }

  async run(feeds: Record<string, HostTensor>): Promise<GradientResult> {
    const res = await this.session.run({ ...this.defaults, ...feeds });
    const gradNames = new Set(Object.values(this.gradOutputs));
    const outputs: Record<string, HostTensor> = {};
    for (const [k, v] of Object.entries(res)) if (!gradNames.has(k)) outputs[k] = v;
    const grads: Record<string, HostTensor> = {};
    for (const [w, o] of Object.entries(this.gradOutputs)) grads[w] = res[o]!;
    return { outputs, grads };
  }

  async release(): Promise<void> {
    await this.session.release();
    await this.ownManager?.dispose();
  }
}
