/**
 * Steering benchmark: the same prompts and seeds sampled plainly and with each steering
 * schedule: accuracy (GenEval rule, both objects detected), object recall, seconds per image,
 * steering-loss evaluations (forward + backward) per image and per steered step.
 * `npm run bench:steer [-- --suite position --count N --seeds S]` -> bench/results/steer.json
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randn } from '../src/engine/diffusion/rng.ts';
import { judge } from '../src/engine/eval/run-suite.ts';
import { suitePrompts, type SuiteName } from '../src/engine/eval/suites.ts';
import type { Relation } from '../src/engine/eval/geneval.ts';
import { SessionManager } from '../src/engine/onnx/session.ts';
import { decodeLatent } from '../src/engine/pipeline/decode.ts';
import { encodePrompt } from '../src/engine/pipeline/encode.ts';
import { loadPipeline } from '../src/engine/pipeline/load.ts';
import { sampleLatent } from '../src/engine/pipeline/sample.ts';
import { parsePrompt } from '../src/engine/prompt/parse.ts';
import { objectTokenGroups } from '../src/engine/steer/attention.ts';
import { loadClassifier } from '../src/engine/steer/classifier.ts';
import { AUTHORS_SCHEDULE, Steerer, type OptimizeSchedule, type SteerTerm } from '../src/engine/steer/optimize.ts';
import { detect } from '../src/engine/world/detect.ts';

const arg = (name: string, d: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : d;
};
const suite = arg('suite', 'position') as SuiteName;
const count = Number(arg('count', '24'));
const seeds = Number(arg('seeds', '1'));
const classifierDir = arg('classifier', 'resources/classifiers/shape-world-relations');
const sessions = new SessionManager();
const pipe = await loadPipeline('resources/models/shape-world', sessions);
const classifier = await loadClassifier(classifierDir, sessions);
const cacheDir = mkdtempSync(join(tmpdir(), 'steer-bench-'));
const steps25 = Array.from({ length: 25 }, (_, i) => i);
const METHODS: { name: string; kind: 'none' | 'centroid' | 'learned'; schedule?: OptimizeSchedule }[] = [
  { name: 'none', kind: 'none' },
  { name: 'centroid (authors schedule)', kind: 'centroid', schedule: { ...AUTHORS_SCHEDULE, steps: steps25 } },
  { name: 'learned (normalized 0.05, stop p>=0.8)', kind: 'learned', schedule: { ...AUTHORS_SCHEDULE, steps: steps25, step: 'normalized', alpha: 0.05, stopProb: 0.8 } },
];
const prompts = suitePrompts(suite, count);
const rows = [];
for (const m of METHODS) {
  let ok = 0;
  let found = 0;
  let objects = 0;
  let seconds = 0;
  let evaluations = 0;
  const perStep: number[] = [];
  for (const p of prompts) {
    for (let seed = 0; seed < seeds; seed++) {
      const parsed = parsePrompt(p.text);
      const c = await encodePrompt(pipe, parsed);
      const t0 = performance.now();
      let steerer: Steerer | null = null;
      if (m.kind !== 'none') {
        const terms: SteerTerm[] = parsed.relations.filter((r) => r.directional).map((r) => ({ kind: m.kind as 'centroid' | 'learned', subject: r.subjectIndex, object: r.objectIndex, relation: r.relation as Relation, weight: 1, margin: 0.1, ...(m.kind === 'learned' ? { classifier } : {}) }));
        steerer = await Steerer.create(pipe, sessions, terms, m.schedule!, { cond: c.cond, groups: objectTokenGroups(c.objects), totalSteps: 50, cacheDir });
      }
      const latent = await sampleLatent(pipe, { cond: c.cond, uncond: c.uncond, noise: randn([1, 4, 16, 16], seed), steps: 50, guidance: 7.5, scheduler: 'ddim', beforeStep: steerer?.beforeStep });
      const image = await decodeLatent(pipe, latent);
      seconds += (performance.now() - t0) / 1000;
      const j = judge(p, detect(image));
      ok += j.ok ? 1 : 0;
      found += j.found.filter(Boolean).length;
      objects += j.found.length;
      if (steerer) {
        evaluations += steerer.stats.evaluations;
        perStep.push(...Object.values(steerer.stats.iterations));
      }
    }
  }
  const n = prompts.length * seeds;
  const hist: Record<number, number> = {};
  for (const k of perStep) hist[k] = (hist[k] ?? 0) + 1;
  const row = { method: m.name, images: n, accuracy: ok / n, objectRecall: found / objects, secondsPerImage: seconds / n, evaluationsPerImage: evaluations / n, unetForwardPerImage: 50 * 2 + (2 * evaluations) / n, iterationsPerStepHistogram: hist };
  rows.push(row);
  console.log(`${m.name}: accuracy ${(100 * row.accuracy).toFixed(1)}%, object recall ${(100 * row.objectRecall).toFixed(1)}%, ${row.secondsPerImage.toFixed(2)} s/image, ${row.evaluationsPerImage.toFixed(1)} steering evaluations/image`);
}
writeFileSync('bench/results/steer.json', JSON.stringify({ suite, prompts: prompts.length, seeds, classifier: classifierDir, rows, note: 'seconds on a shared 2-core machine; compare ratios within one run. UNet forward per image counts the CFG pair as 2 and each steering evaluation as forward + backward ~ 2.' }, null, 2) + '\n');
await sessions.dispose();
