/**
 * Installed relation classifiers: `<dir>/model.onnx` + `<dir>/classifier.json`.
 *
 * classifier.json says what the classifier reads and how to feed it: its classes (output order),
 * the UNet it was trained on (sha256), the attention map spec (layer list, order, size), the
 * trained denoising steps and how any step maps to a bucket, the input tensors, and its training
 * settings and metrics. Loading one against a model whose maps differ is an error saying what
 * differs. Several can be installed (resources/classifiers/<name>/); graphs pick one per relation.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Relation } from '../eval/geneval.ts';
import type { Session, SessionManager } from '../onnx/session.ts';
import { readDescriptor } from './artefact.ts';
import { compareSpecs, specHash, type MapSpec } from './attention.ts';
import type { ClassifierConfig } from './classifier-net.ts';

export const CLASSIFIER_FORMAT = 'steer-studio/relation-classifier';
export const CLASSIFIER_VERSION = 1;

export interface ClassifierMetrics {
  accuracy: number;
  loss: number;
  count: number;
  perClass: Record<string, { accuracy: number; count: number }>;
  perBucket: { step: number; accuracy: number; count: number }[];
  /** confusion[true][predicted] counts, in `classes` order. */
  confusion: number[][];
}

export interface ClassifierInfo {
  format: typeof CLASSIFIER_FORMAT;
  version: number;
  name: string;
  classes: Relation[];
  model: { unetSha256: string; dir: string };
  spec: MapSpec;
  specHash: string;
  /** Denoising steps trained on (bucket k = steps[k]), out of `totalSteps`. */
  steps: number[];
  totalSteps: number;
  bucketRule: string;
  input: { maps: string; bucket: string };
  config: ClassifierConfig;
  training: Record<string, unknown>;
  metrics: Record<string, ClassifierMetrics>;
}

export class ClassifierError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ClassifierError';
  }
}

export const BUCKET_RULE = 'a denoising step i uses the bucket of the first trained step >= i; steps after the last trained step use the last bucket';

/** The authors' ceiling rule: step i -> the first trained step >= i (6 -> 10, not 5); past the last -> last. */
export function bucketFor(steps: readonly number[], step: number): number {
  for (let k = 0; k < steps.length; k++) if (steps[k]! >= step) return k;
  return steps.length - 1;
}

export function readClassifierInfo(dir: string): ClassifierInfo {
  const info = readDescriptor<ClassifierInfo>(dir, 'classifier.json', CLASSIFIER_FORMAT, CLASSIFIER_VERSION, 'not a relation classifier folder', ClassifierError);
  if (!existsSync(join(dir, 'model.onnx'))) throw new ClassifierError(`${dir}: classifier.json without model.onnx`);
  return info;
}

/** Installed classifiers under a folder (one sub-folder each), sorted by name. */
export function listClassifiers(root: string): { dir: string; info: ClassifierInfo }[] {
  if (!existsSync(root)) return [];
  const out: { dir: string; info: ClassifierInfo }[] = [];
  for (const name of readdirSync(root).sort()) {
    const dir = join(root, name);
    if (!existsSync(join(dir, 'classifier.json'))) continue;
    try {
      out.push({ dir, info: readClassifierInfo(dir) });
    } catch {
      /* a broken folder is reported when chosen explicitly */
    }
  }
  return out;
}

/** What differs between a classifier and the maps a model produces ('' when it fits). */
export function classifierMismatch(info: ClassifierInfo, unetSha256: string, spec: MapSpec): string {
  const parts: string[] = [];
  if (info.model.unetSha256 !== unetSha256) parts.push(`it was trained on the UNet with sha256 ${info.model.unetSha256.slice(0, 12)}…, this model's UNet is ${unetSha256.slice(0, 12)}…`);
  const d = compareSpecs(info.spec, spec);
  if (d) parts.push(`its attention maps differ: ${d}`);
  return parts.join('; ');
}

export const sha256File = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');

export interface LoadedClassifier {
  dir: string;
  info: ClassifierInfo;
  session: Session;
}

/** Opens a classifier; with `against`, refuses one whose UNet or map spec does not match. */
export async function loadClassifier(dir: string, sessions: SessionManager, against?: { unetSha256: string; spec: MapSpec; model: string }): Promise<LoadedClassifier> {
  const abs = resolve(dir);
  const info = readClassifierInfo(abs);
  if (specHash(info.spec) !== info.specHash) throw new ClassifierError(`${abs}/classifier.json: specHash does not match its spec (edited by hand?)`);
  if (against) {
    const why = classifierMismatch(info, against.unetSha256, against.spec);
    if (why) throw new ClassifierError(`classifier ${abs} does not fit ${against.model}: ${why}`);
  }
  return { dir: abs, info, session: await sessions.get(join(abs, 'model.onnx')) };
}

/** Runs a classifier on N stacks [2, C, S, S] (subject, object) with their buckets; returns probabilities [N][K]. */
export async function classifyStacks(c: LoadedClassifier, stacks: readonly Float32Array[], buckets: readonly number[]): Promise<number[][]> {
  if (stacks.length === 0) return [];
  const n = stacks[0]!.length;
  const { spec } = c.info;
  const expected = 2 * spec.channels.length * spec.size * spec.size;
  if (n !== expected) throw new ClassifierError(`classifier ${c.dir} takes [2, ${spec.channels.length}, ${spec.size}, ${spec.size}] stacks (${expected} values), got ${n}`);
  const data = new Float32Array(stacks.length * n);
  stacks.forEach((s, i) => data.set(s, i * n));
  const out = await c.session.run({
    maps: { data, dims: [stacks.length, 2, spec.channels.length, spec.size, spec.size] },
    bucket: { data: BigInt64Array.from(buckets.map((b) => BigInt(b))), dims: [buckets.length] },
  }, ['probs']);
  const p = out.probs!.data as Float32Array;
  const K = c.info.classes.length;
  return stacks.map((_, i) => Array.from(p.subarray(i * K, (i + 1) * K)));
}
