import { decodeLatent } from '../engine/pipeline/decode.ts';
import { sampleLatent } from '../engine/pipeline/sample.ts';
import { planLosses, type LossSpec } from '../engine/steer/losses.ts';
import { AUTHORS_SCHEDULE, Steerer, type IterationEvent } from '../engine/steer/optimize.ts';
import type { PreviewFrame } from '../shared/events.ts';
import { defineNode } from './api.ts';
import { sessions } from './model-load.ts';
import { param } from './params.ts';
import { imagePreview } from './previews.ts';
import { checkNoiseLatent, SAMPLING_PARAMS } from './sampler.ts';

export default defineNode({
  type: 'latent.optimize',
  version: 2,
  title: 'Latent Optimize (steered sampler)',
  category: 'Steering',
  description:
    "Denoises like the Sampler, but before each of the first denoising steps it moves the latent down the gradient of the connected losses (Learn-to-Steer's test-time optimisation): up to Max iterations + 1 loss evaluations per step, stopping when the relation loss is under the step's threshold (or every learned term's target probability reaches Stop probability), after at least Min iterations moves (at least one when a presence or binding loss is connected). Defaults are the authors' (steps 0-24, 15 + 1 iterations, alpha 5, raw gradient, thresholds 1e-5/3e-5/5e-5/7e-5, relations alternated). 'normalized' steps move by alpha in rms whatever the gradient's size. Presence and binding losses are added at every iteration. A non-finite loss ends that step's optimisation with a warning. With Step timeline on, every step and iteration leaves previews (class probabilities, the steered tokens' maps, the x0 prediction) for the editor's timeline.",
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
    min_iter: param.int({ label: 'Min iterations', default: 0, min: 0, max: 100 }),
    timeline: param.boolean({ label: 'Step timeline previews', default: true }),
  },
  // v2: Min iterations and the step-timeline previews
  migrate: (from, p) => (from < 2 ? { ...p, min_iter: 0, timeline: true } : p),
  async execute(ctx, { model, conditioning, latent, loss, loss2, loss3 }, p) {
    checkNoiseLatent(model, latent, 'Latent Optimize');
    const prompt = conditioning.prompt;
    const thresholds = p.thresholds.split(',').map((x) => Number(x.trim()));
    if (thresholds.length === 0 || thresholds.some((x) => !Number.isFinite(x) || x < 0)) throw new Error(`loss thresholds must be comma-separated numbers >= 0, got '${p.thresholds}'`);
    const losses = [loss, loss2, loss3].filter((l): l is LossSpec => l !== undefined);
    const plan = planLosses(losses, prompt, conditioning.objects, conditioning.tokens, p.combine, (k) => `loss ${k + 1}`);
    ctx.log.info(`steering ${plan.terms.length} term(s): ${plan.names.join('; ')}${plan.slots > 1 ? ` (alternating over ${plan.slots})` : ''}`);
    const objectRows = conditioning.objects.length;
    const curve: { x: number[]; y: number[] } = { x: [], y: [] };
    let evaluation = 0;
    const onIteration = (e: IterationEvent) => {
      curve.x.push(evaluation++);
      curve.y.push(e.loss);
      if (!p.timeline) return;
      const frame: PreviewFrame = { step: e.step, steps: p.steps, iteration: e.iteration };
      plan.terms.forEach((t, k) => {
        const probs = e.probs[k];
        if (t.kind !== 'learned' || !probs) return;
        const classes = t.classifier.info.classes;
        ctx.preview({ kind: 'bars', labels: classes, values: probs, highlight: classes.indexOf(t.relation), max: 1, label: `p(${t.relation}) term ${k + 1}: ${plan.names[k]}` }, frame);
      });
      ctx.preview({ kind: 'table', label: 'Losses', columns: ['term', 'loss'], rows: plan.names.map((n, k) => [n, +e.losses[k]!.toPrecision(4)]) }, frame);
      if (e.last && e.maps) {
        // the state the step ends with: each object's mean map
        const S = Math.round(Math.sqrt(e.maps[0]!.length));
        for (let r = 0; r < objectRows; r++) ctx.preview({ kind: 'heatmap', width: S, height: S, values: Array.from(e.maps[r]!, (v) => +v.toPrecision(4)), label: `attention: ${conditioning.objects[r]!.object}` }, { step: e.step, steps: p.steps });
      }
    };
    const steerer = await Steerer.create(model, sessions, plan, {
      steps: Array.from({ length: Math.min(p.last_step + 1, p.steps) }, (_, i) => i),
      maxIter: p.max_iter,
      alpha: p.alpha,
      thresholds,
      combine: p.combine,
      step: p.step_mode,
      stopProb: p.stop_prob,
      minIter: p.min_iter,
    }, {
      cond: conditioning.cond,
      totalSteps: p.steps,
      cacheDir: await ctx.cacheDir(),
      signal: ctx.signal,
      onWarning: (m) => ctx.log.warn(m),
      onIteration,
      wantMaps: p.timeline,
    });
    const x0s: { step: number; x0: Float32Array }[] = [];
    const data = await sampleLatent(model, {
      cond: conditioning.cond,
      uncond: conditioning.uncond,
      noise: latent.data,
      steps: p.steps,
      guidance: p.guidance,
      scheduler: p.scheduler,
      signal: ctx.signal,
      beforeStep: steerer.beforeStep,
      onStep: (i, n, _t, x0) => {
        ctx.progress(i, n, `step ${i}/${n}`);
        if (p.timeline) x0s.push({ step: i - 1, x0: Float32Array.from(x0) });
      },
    });
    // x0 previews after sampling: decoding inside the loop would stretch every step
    for (const { step, x0 } of x0s) {
      ctx.signal.throwIfAborted();
      ctx.preview(imagePreview(await decodeLatent(model, x0), 'x0 prediction'), { step, steps: p.steps });
    }
    const iters = Object.values(steerer.stats.iterations);
    ctx.log.info(`${steerer.stats.evaluations} loss evaluations over ${iters.length} steered steps (max ${Math.max(0, ...iters)} per step)`);
    ctx.preview({ kind: 'curve', label: 'Steering loss per evaluation', xLabel: 'loss evaluation', yLabel: 'loss', series: [{ name: 'loss', ...curve }], log: true });
    ctx.preview({ kind: 'table', label: 'Loss evaluations per steered step', columns: ['step', 'evaluations'], rows: Object.entries(steerer.stats.iterations).map(([s, n]) => [Number(s), n]) });
    const sampling = {
      method: [...new Set(plan.terms.map((t) => t.kind))].join('+'),
      terms: plan.names,
      classifiers: [...new Set(plan.terms.flatMap((t) => (t.kind === 'learned' ? [t.classifier.info.name] : [])))],
      steps: p.steps,
      guidance: p.guidance,
      scheduler: p.scheduler,
      last_step: p.last_step,
      max_iter: p.max_iter,
      alpha: p.alpha,
      step_mode: p.step_mode,
      combine: p.combine,
      thresholds,
      stop_prob: p.stop_prob,
      min_iter: p.min_iter,
      evaluations: steerer.stats.evaluations,
    };
    return { latent: { shape: latent.shape, data, ...(latent.seed !== undefined ? { seed: latent.seed } : {}), prompt: prompt.text, sampling } };
  },
});
