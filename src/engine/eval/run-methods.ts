/**
 * A suite evaluated on graph branches (`steer eval SUITE --method a,b,c [--graph FILE]`): for every
 * prompt and seed, each branch in turn (same prompt, same seed), through one GraphEvaluator; each
 * image detected with the Shape World detector and judged with the GenEval rule against what the
 * suite states (never against what the graph's own parse made of the prompt).
 */
import type { ImageRGB } from '../image/image.ts';
import { yieldToEventLoop } from '../util/yield.ts';
import { detect } from '../world/detect.ts';
import type { EvalBranch, GraphEvaluator } from './graph-run.ts';
import { judge, summarize, type EvalRecord, type SuiteSummary } from './run-suite.ts';
import { suitePrompts, type SuiteName } from './suites.ts';

export interface MethodSuiteOptions {
  suite: SuiteName;
  seeds: number;
  count?: number;
  branches: EvalBranch[];
  evaluator: GraphEvaluator;
  signal?: AbortSignal;
  onImage?: (done: number, total: number, record: EvalRecord, image: ImageRGB) => void | Promise<void>;
}

export async function runSuiteMethods(o: MethodSuiteOptions): Promise<EvalRecord[]> {
  const prompts = suitePrompts(o.suite, o.count);
  const total = prompts.length * o.seeds * o.branches.length;
  const records: EvalRecord[] = [];
  for (const p of prompts) {
    for (let seed = 0; seed < o.seeds; seed++) {
      for (const b of o.branches) {
        await yieldToEventLoop(); // Ctrl+C arrives between images
        o.signal?.throwIfAborted();
        const { image, cost } = await o.evaluator.image(b, p.text, seed);
        const dets = detect(image);
        const record: EvalRecord = {
          suite: o.suite,
          method: b.method,
          id: p.id,
          prompt: p.text,
          group: p.group,
          seed,
          ...judge(p, dets),
          detections: dets.map((d) => `${d.color} ${d.shape}`),
          seconds: +cost.seconds.toFixed(3),
          unetForward: cost.unetForward,
          unetBackward: cost.unetBackward,
          steeringEvaluations: cost.steeringEvaluations,
          iterationsPerStep: cost.iterationsPerStep,
          ...(cost.cached ? { cached: true } : {}),
        };
        records.push(record);
        await o.onImage?.(records.length, total, record, image);
      }
    }
  }
  return records;
}

const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
const median = (xs: number[]) => {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** One method's summary on one suite: accuracy, per group, object recall, and cost per image. */
export function summarizeMethod(suite: SuiteName, method: string, records: EvalRecord[]): SuiteSummary {
  const mine = records.filter((r) => r.method === method);
  const costed = mine.filter((r) => !r.cached);
  const hist: Record<number, number> = {};
  for (const r of costed) for (const k of r.iterationsPerStep ?? []) hist[k] = (hist[k] ?? 0) + 1;
  return {
    ...summarize(suite, mine),
    method,
    secondsPerImage: +mean(costed.map((r) => r.seconds ?? 0)).toFixed(3),
    medianSecondsPerImage: +median(costed.map((r) => r.seconds ?? 0)).toFixed(3),
    unetForwardPerImage: +mean(costed.map((r) => r.unetForward ?? 0)).toFixed(2),
    unetBackwardPerImage: +mean(costed.map((r) => r.unetBackward ?? 0)).toFixed(2),
    steeringEvaluationsPerImage: +mean(costed.map((r) => r.steeringEvaluations ?? 0)).toFixed(2),
    iterationsPerStepHistogram: hist,
  };
}

/** The records of (prompt, seed) items that every method finished: a fair comparison after Ctrl+C. */
export function completeItems(records: EvalRecord[], methods: string[]): EvalRecord[] {
  const n = new Map<string, number>();
  const key = (r: EvalRecord) => `${r.suite}\u0000${r.id}\u0000${r.seed}`;
  for (const r of records) n.set(key(r), (n.get(key(r)) ?? 0) + 1);
  return records.filter((r) => n.get(key(r)) === methods.length);
}
