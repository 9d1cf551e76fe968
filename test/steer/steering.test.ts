/**
 * Latent Optimize on the shipped model: the main job's prompt at seed 1 comes out mirrored
 * unsteered; the centroid loss and the learned loss (the installed classifier) both flip it.
 * Also: cancel stops within 200 ms; a non-finite loss never reaches the latent.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randn } from '../../src/engine/diffusion/rng.ts';
import { checkPromptRelations } from '../../src/engine/eval/prompt-relations.ts';
import { SessionManager } from '../../src/engine/onnx/session.ts';
import { decodeLatent } from '../../src/engine/pipeline/decode.ts';
import { encodePrompt, type Conditioning } from '../../src/engine/pipeline/encode.ts';
import { loadPipeline, type Pipeline } from '../../src/engine/pipeline/load.ts';
import { sampleLatent } from '../../src/engine/pipeline/sample.ts';
import { parsePrompt } from '../../src/engine/prompt/parse.ts';
import { loadClassifier } from '../../src/engine/steer/classifier.ts';
import { relationPlan, type LossPlan } from '../../src/engine/steer/losses.ts';
import { AUTHORS_SCHEDULE, Steerer, type OptimizeSchedule } from '../../src/engine/steer/optimize.ts';
import { detect } from '../../src/engine/world/detect.ts';

const PROMPT = parsePrompt('a photo of a red circle to the left of a blue square');
let sessions: SessionManager;
let pipe: Pipeline;
let c: Conditioning;
const cacheDir = mkdtempSync(join(tmpdir(), 'steer-compiled-'));

beforeAll(async () => {
  sessions = new SessionManager();
  pipe = await loadPipeline('resources/models/shape-world', sessions);
  c = await encodePrompt(pipe, PROMPT);
}, 60_000);
afterAll(async () => sessions.dispose());


async function generate(steerer: Steerer | null, signal?: AbortSignal, scheduler: 'ddim' | 'euler' = 'ddim') {
  const latent = await sampleLatent(pipe, { cond: c.cond, uncond: c.uncond, noise: randn([1, 4, 16, 16], 1), steps: 50, guidance: 7.5, scheduler, beforeStep: steerer?.beforeStep, signal });
  const image = await decodeLatent(pipe, latent);
  return { latent, holds: checkPromptRelations(PROMPT, detect(image)).checks[0]!.ok };
}

const steer = (plan: LossPlan, schedule: Partial<OptimizeSchedule>, signal?: AbortSignal) =>
  Steerer.create(pipe, sessions, plan, { ...AUTHORS_SCHEDULE, steps: Array.from({ length: 11 }, (_, i) => i), ...schedule }, { cond: c.cond, totalSteps: 50, signal, cacheDir });
const centroid = () => relationPlan(c, { method: 'centroid', combine: 'alternate' });

describe('Latent Optimize', () => {
  it('flips the mirrored seed-1 image with the centroid loss and with the learned loss', async () => {
    expect((await generate(null)).holds).toBe(false);
    const byCentroid = await steer(centroid(), { maxIter: 3 });
    expect((await generate(byCentroid)).holds).toBe(true);
    expect(byCentroid.stats.evaluations).toBeLessThanOrEqual(11 * 4);
    const classifier = await loadClassifier('resources/classifiers/shape-world-relations', sessions);
    const learned = await steer(relationPlan(c, { method: 'learned', classifier, combine: 'alternate' }), { step: 'normalized', alpha: 0.05, stopProb: 0.8, steps: Array.from({ length: 25 }, (_, i) => i) });
    expect((await generate(learned)).holds).toBe(true);
  }, 240_000);

  it('Min iterations: a satisfied step still moves that many times, without re-reading after the last move', async () => {
    const classifier = await loadClassifier('resources/classifiers/shape-world-relations', sessions);
    const plan = relationPlan(c, { method: 'learned', classifier, combine: 'alternate' });
    const moves: number[] = [];
    const run = async (minIter: number) => {
      moves.length = 0;
      const s = await Steerer.create(pipe, sessions, plan, { ...AUTHORS_SCHEDULE, steps: [0, 1], step: 'normalized', alpha: 0.05, stopProb: 0, minIter }, { cond: c.cond, totalSteps: 50, cacheDir, onIteration: (e) => moves.push(e.moved ? 1 : 0) });
      return { s, out: await generate(s) };
    };
    const none = await run(0); // stop probability 0: every reading is satisfied, nothing moves
    expect(none.s.stats.iterations).toEqual({ 0: 1, 1: 1 });
    expect(moves).toEqual([0, 0]);
    const one = await run(1);
    expect(one.s.stats.iterations).toEqual({ 0: 1, 1: 1 });
    expect(moves).toEqual([1, 1]);
    expect(one.out.latent).not.toEqual(none.out.latent);
    const two = await run(2);
    expect(two.s.stats.iterations).toEqual({ 0: 2, 1: 2 });
    expect(moves).toEqual([1, 1, 1, 1]);
  }, 120_000);

  it('a non-finite loss ends that step with a warning and never reaches the latent', async () => {
    const s = await steer({ ...centroid(), weights: () => [Number.NaN] }, { maxIter: 2, steps: [0, 1] });
    const { latent } = await generate(s);
    expect(s.stats.warnings).toHaveLength(2);
    expect(s.stats.warnings[0]).toMatch(/step 0: the steering loss or its gradient is not finite/);
    expect(latent.every(Number.isFinite)).toBe(true);
  }, 120_000);

  it('cancel stops the optimisation within 200 ms', async () => {
    const ac = new AbortController();
    const s = await steer(centroid(), { maxIter: 15, steps: Array.from({ length: 25 }, (_, i) => i) }, ac.signal);
    const run = generate(s, ac.signal);
    await new Promise((r) => setTimeout(r, 1500));
    const t0 = performance.now();
    ac.abort();
    await expect(run).rejects.toThrow();
    expect(performance.now() - t0).toBeLessThan(200);
  }, 120_000);

  it('steers with the Euler scheduler too, reproducibly for a seed', async () => {
    const classifier = await loadClassifier('resources/classifiers/shape-world-relations', sessions);
    const schedule = { step: 'normalized' as const, alpha: 0.05, stopProb: 0.8, steps: Array.from({ length: 25 }, (_, i) => i) };
    const plan = relationPlan(c, { method: 'learned', classifier, combine: 'alternate' });
    const plain = await generate(null, undefined, 'euler');
    const a = await generate(await steer(plan, schedule), undefined, 'euler');
    const b = await generate(await steer(plan, schedule), undefined, 'euler');
    expect(a.latent).toEqual(b.latent);
    expect(a.latent).not.toEqual(plain.latent);
    expect(plain.holds).toBe(false);
    expect(a.holds).toBe(true);
  }, 240_000);
});
