/**
 * Runs a benchmark suite on a model: for every prompt and seed, generate (same pipeline as the
 * Generate graph), detect with the Shape World detector, and judge with the GenEval rules.
 */
import { randn } from '../diffusion/rng.ts';
import type { ImageRGB } from '../image/image.ts';
import { decodeLatent } from '../pipeline/decode.ts';
import { encodePrompt } from '../pipeline/encode.ts';
import type { Pipeline } from '../pipeline/load.ts';
import { sampleLatent, type SchedulerName } from '../pipeline/sample.ts';
import { parsePrompt } from '../prompt/parse.ts';
import { detect } from '../world/detect.ts';
import { yieldToEventLoop } from '../util/yield.ts';
import type { ObjectName } from '../world/types.ts';
import { AttentionRecorder, peakInBox, type TappedUNet } from './attention-peak.ts';
import { checkRelation } from './geneval.ts';
import { suitePrompts, type SuiteName, type SuitePrompt } from './suites.ts';

/** Fractions of the denoising trajectory whose attention maps are averaged (the middle steps). */
export const MID_STEPS: readonly [number, number] = [0.3, 0.7];

export interface SuiteOptions {
  suite: SuiteName;
  seeds: number;
  /** Prompts in the suite (default: the suite's own size). */
  count?: number;
  steps: number;
  guidance: number;
  scheduler: SchedulerName;
  signal?: AbortSignal;
  /** Record cross-attention maps (middle steps) and score their peaks against detected boxes. */
  attention?: TappedUNet;
  onImage?: (done: number, total: number, record: EvalRecord, image: ImageRGB) => void | Promise<void>;
}

export interface EvalRecord {
  suite: SuiteName;
  id: string;
  prompt: string;
  group: string;
  seed: number;
  ok: boolean;
  /** Per object of the prompt: detected? */
  found: boolean[];
  /** Per relation of the prompt: holds? */
  relationsOk: boolean[];
  detections: string[];
  /** Per object: does its token's attention peak inside its detected box (null: not detected / not recorded). */
  attentionInBox?: (boolean | null)[];
  /** Graph evaluations (`steer eval --method`): the branch, and what the image cost. */
  method?: string;
  seconds?: number;
  unetForward?: number;
  unetBackward?: number;
  steeringEvaluations?: number;
  /** Loss evaluations per steered denoising step. */
  iterationsPerStep?: number[];
  /** The image came from the executor's cache (a repeated prompt and seed): not counted in costs. */
  cached?: boolean;
}

export interface GroupScore {
  n: number;
  correct: number;
  accuracy: number;
}

export interface SuiteSummary {
  suite: SuiteName;
  prompts: number;
  images: number;
  accuracy: number;
  /** Share of named objects detected (all suites). */
  objectRecall: number;
  /** Share of detected objects whose attention map peaks inside their box (when recorded). */
  attentionPeakInBox?: { rate: number; n: number };
  byGroup: Record<string, GroupScore>;
  /** Graph evaluations: the branch and its mean cost per image (cached images left out). */
  method?: string;
  secondsPerImage?: number;
  medianSecondsPerImage?: number;
  unetForwardPerImage?: number;
  unetBackwardPerImage?: number;
  steeringEvaluationsPerImage?: number;
  /** Loss evaluations per steered step -> how many steered steps took that many. */
  iterationsPerStepHistogram?: Record<number, number>;
}

const spec = (o: ObjectName) => {
  const [color, shape] = o.split(' ') as [string, string];
  return { color, shape };
};

export function judge(p: SuitePrompt, detections: ReturnType<typeof detect>): Pick<EvalRecord, 'ok' | 'found' | 'relationsOk'> {
  const found = p.objects.map((o) => detections.some((d) => d.color === spec(o).color && d.shape === spec(o).shape));
  const relationsOk = p.relations.map((r) => checkRelation(detections, spec(p.objects[r.subject]!), r.relation, spec(p.objects[r.object]!)).ok);
  return { found, relationsOk, ok: found.every(Boolean) && relationsOk.every(Boolean) };
}

export function summarize(suite: SuiteName, records: EvalRecord[]): SuiteSummary {
  const byGroup: Record<string, GroupScore> = {};
  for (const r of records) {
    const g = (byGroup[r.group] ??= { n: 0, correct: 0, accuracy: 0 });
    g.n++;
    if (r.ok) g.correct++;
  }
  for (const g of Object.values(byGroup)) g.accuracy = g.correct / g.n;
  const objects = records.flatMap((r) => r.found);
  const att = records.flatMap((r) => r.attentionInBox ?? []).filter((v): v is boolean => v !== null);
  return {
    ...(att.length > 0 ? { attentionPeakInBox: { rate: att.filter(Boolean).length / att.length, n: att.length } } : {}),
    suite,
    prompts: new Set(records.map((r) => r.id)).size,
    images: records.length,
    accuracy: records.length ? records.filter((r) => r.ok).length / records.length : 0,
    objectRecall: objects.length ? objects.filter(Boolean).length / objects.length : 0,
    byGroup,
  };
}

export async function runSuite(pipe: Pipeline, o: SuiteOptions): Promise<{ records: EvalRecord[]; summary: SuiteSummary }> {
  const prompts = suitePrompts(o.suite, o.count);
  const total = prompts.length * o.seeds;
  const records: EvalRecord[] = [];
  for (const p of prompts) {
    const c = await encodePrompt(pipe, parsePrompt(p.text));
    for (let seed = 0; seed < o.seeds; seed++) {
      await yieldToEventLoop(); // Ctrl+C arrives between images
      o.signal?.throwIfAborted();
      const recorder = o.attention && p.objects.length > 1 ? new AttentionRecorder(o.attention, pipe, c.objects.map((x) => x.headTokenIndices)) : undefined;
      const [from, to] = [Math.floor(o.steps * MID_STEPS[0]), Math.ceil(o.steps * MID_STEPS[1])];
      const latent = await sampleLatent(pipe, {
        ...(recorder
          ? { beforeStep: async (i: number, t: number, x: Float32Array, input: (v: Float32Array) => Float32Array) => { if (i >= from && i < to) await recorder.record(input(x), t, c.cond); } }
          : {}),
        cond: c.cond,
        uncond: c.uncond,
        noise: randn([1, ...pipe.latentShape], seed),
        steps: o.steps,
        guidance: o.guidance,
        scheduler: o.scheduler,
        ...(o.signal ? { signal: o.signal } : {}),
      });
      const image = await decodeLatent(pipe, latent);
      const dets = detect(image);
      const record: EvalRecord = { suite: o.suite, id: p.id, prompt: p.text, group: p.group, seed, ...judge(p, dets), detections: dets.map((d) => `${d.color} ${d.shape}`) };
      if (recorder) {
        const maps = recorder.maps();
        record.attentionInBox = p.objects.map((name, k) => {
          const d = dets.filter((x) => `${x.color} ${x.shape}` === name).sort((a, b) => b.score - a.score)[0];
          return d ? peakInBox(maps[k]!, o.attention!.size, d.box, image.width) : null;
        });
      }
      records.push(record);
      await o.onImage?.(records.length, total, record, image);
    }
  }
  return { records, summary: summarize(o.suite, records) };
}
