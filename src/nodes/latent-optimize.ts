import type { Relation } from '../engine/eval/geneval.ts';
import { sampleLatent } from '../engine/pipeline/sample.ts';
import { objectTokenGroups } from '../engine/steer/attention.ts';
import { AUTHORS_SCHEDULE, Steerer, type SteerTerm } from '../engine/steer/optimize.ts';
import { defineNode } from './api.ts';
import { sessions } from './model-load.ts';
import { param } from './params.ts';
import { checkNoiseLatent, SAMPLING_PARAMS } from './sampler.ts';

export default defineNode({
  type: 'latent.optimize',
  version: 1,
  title: 'Latent Optimize (steered sampler)',
  category: 'Steering',
  description:
    "Denoises like the Sampler, but before each of the first denoising steps it moves the latent down the gradient of the connected losses (Learn-to-Steer's test-time optimisation): up to Max iterations + 1 loss evaluations per step, stopping when the loss is under the step's threshold (or every learned term's target probability reaches Stop probability). Defaults are the authors' (steps 0-24, 15 + 1 iterations, alpha 5, raw gradient, thresholds 1e-5/3e-5/5e-5/7e-5, relations alternated). 'normalized' steps move by alpha in rms whatever the gradient's size. A non-finite loss ends that step's optimisation with a warning.",
  inputs: [
    { id: 'model', label: 'Model', type: 'MODEL' },
    { id: 'conditioning', label: 'Conditioning', type: 'CONDITIONING' },
    { id: 'latent', label: 'Noise', type: 'LATENT' },
    { id: 'loss', label: 'Loss', type: 'LOSS' },
    { id: 'loss2', label: 'Loss 2', type: 'LOSS', optional: true },
    { id: 'loss3', label: 'Loss 3', type: 'LOSS', optional: true },
  ],
  outputs: [{ id: 'latent', label: 'Latent', type: 'LATENT' }],
  params: {
    ...SAMPLING_PARAMS,
    last_step: param.int({ label: 'Optimise steps 0 to', default: AUTHORS_SCHEDULE.lastStep, min: 0, max: 999 }),
    max_iter: param.int({ label: 'Max iterations', default: AUTHORS_SCHEDULE.maxIter, min: 0, max: 100 }),
    alpha: param.float({ label: 'Step size (alpha)', default: AUTHORS_SCHEDULE.alpha, min: 0, max: 100, step: 0.05 }),
    step_mode: param.enum({ label: 'Step', choices: ['raw', 'normalized'], default: 'raw' }),
    combine: param.enum({ label: 'Several relations', choices: ['alternate', 'sum'], default: 'alternate' }),
    thresholds: param.string({ label: 'Loss thresholds (steps 0, 1, ...)', default: AUTHORS_SCHEDULE.thresholds.join(',') }),
    stop_prob: param.float({ label: 'Stop probability', default: 1, min: 0, max: 1, step: 0.05 }),
  },
  async execute(ctx, { model, conditioning, latent, loss, loss2, loss3 }, p) {
    checkNoiseLatent(model, latent, 'Latent Optimize');
    const prompt = conditioning.prompt;
    const thresholds = p.thresholds.split(',').map((x) => Number(x.trim()));
    if (thresholds.length === 0 || thresholds.some((x) => !Number.isFinite(x) || x < 0)) throw new Error(`loss thresholds must be comma-separated numbers >= 0, got '${p.thresholds}'`);
    const terms: SteerTerm[] = [loss, loss2, loss3].filter((l) => l !== undefined).map((l, k) => {
      const r = prompt.relations[l.relation];
      if (!r) throw new Error(`loss ${k + 1} asks for relation #${l.relation}, but the prompt "${prompt.text}" has ${prompt.relations.length} relation(s)`);
      if (!r.directional) throw new Error(`loss ${k + 1}: relation #${l.relation} ("${r.phrase}") has no direction to steer towards`);
      return { kind: l.kind, subject: r.subjectIndex, object: r.objectIndex, relation: r.relation as Relation, weight: l.weight, classifier: l.classifier, margin: l.margin };
    });
    const steerer = await Steerer.create(model, sessions, terms, {
      steps: Array.from({ length: Math.min(p.last_step + 1, p.steps) }, (_, i) => i),
      maxIter: p.max_iter,
      alpha: p.alpha,
      thresholds,
      combine: p.combine,
      step: p.step_mode,
      stopProb: p.stop_prob,
    }, {
      cond: conditioning.cond,
      groups: objectTokenGroups(conditioning.objects),
      totalSteps: p.steps,
      cacheDir: await ctx.cacheDir(),
      signal: ctx.signal,
      onWarning: (m) => ctx.log.warn(m),
    });
    const data = await sampleLatent(model, {
      cond: conditioning.cond,
      uncond: conditioning.uncond,
      noise: latent.data,
      steps: p.steps,
      guidance: p.guidance,
      scheduler: p.scheduler,
      signal: ctx.signal,
      beforeStep: steerer.beforeStep,
      onStep: (i, n) => ctx.progress(i, n, `step ${i}/${n}`),
    });
    const iters = Object.values(steerer.stats.iterations);
    ctx.log.info(`${steerer.stats.evaluations} loss evaluations over ${iters.length} steered steps (max ${Math.max(0, ...iters)} per step)`);
    ctx.preview({ kind: 'table', label: 'Loss evaluations per steered step', columns: ['step', 'evaluations'], rows: Object.entries(steerer.stats.iterations).map(([s, n]) => [Number(s), n]) });
    return { latent: { shape: latent.shape, data, ...(latent.seed !== undefined ? { seed: latent.seed } : {}), prompt: prompt.text } };
  },
});
