/**
 * Classify the spatial relations of an existing image (`steer classify`, the Classify Relations
 * node): encode the image, invert it under the prompt, re-denoise while recording the attention
 * stacks at the classifier's trained steps, and run the classifier on each relation triplet of
 * the prompt. The probabilities are the mean over the recorded steps (each with its bucket).
 */
import { DIRECTIONAL_RELATIONS, type ParsedPrompt } from '../../shared/prompt.ts';
import type { Relation } from '../eval/geneval.ts';
import { resizeNearest } from '../image/ops.ts';
import type { ImageRGB } from '../image/image.ts';
import type { SessionManager } from '../onnx/session.ts';
import { encodePrompt } from '../pipeline/encode.ts';
import { invertAndRecord, vaeEncoder } from '../pipeline/invert.ts';
import type { Pipeline } from '../pipeline/load.ts';
import { objectTokenGroups, type AttentionUNet } from './attention.ts';
import { classifyStacks, type LoadedClassifier } from './classifier.ts';

/** Unknown-word tokens of word-level / WordPiece vocabularies. */
const UNKNOWN_TOKENS = new Set(['<unk>', '[UNK]']);

export class ClassifyError extends Error {
  constructor(message: string, readonly code: 'no-relation' | 'align' | 'image') {
    super(message);
    this.name = 'ClassifyError';
  }
}

export interface RelationVerdict {
  subject: string;
  object: string;
  stated: Relation;
  predicted: Relation;
  probs: Record<string, number>;
  /** Per recorded step: the step and the classifier's probabilities there. */
  steps: { step: number; probs: Record<string, number> }[];
}

export interface ClassifyResult {
  relations: RelationVerdict[];
  /** Reconstruction PSNR of the inversion (dB): low values mean the maps describe another image. */
  psnr: number;
  warnings: string[];
}

export interface ClassifyOptions {
  fixedPoint?: number;
  signal?: AbortSignal;
  onStep?: (i: number, n: number) => void;
}

/** Steerable (directional) relations of a prompt, or a ClassifyError saying why there are none. */
export function steerableRelations(prompt: ParsedPrompt) {
  const rels = prompt.relations.filter((r) => r.directional && (DIRECTIONAL_RELATIONS as readonly string[]).includes(r.relation));
  if (rels.length === 0) {
    const why = prompt.relations.length > 0 ? `its relations (${prompt.relations.map((r) => r.phrase).join(', ')}) have no direction` : 'it states no spatial relation between two objects';
    throw new ClassifyError(`the prompt "${prompt.text}" has no steerable relation: ${why} (use left of, right of, above, below or their phrasings)`, 'no-relation');
  }
  return rels;
}

export async function classifyImage(pipe: Pipeline, sessions: SessionManager, unet: AttentionUNet, classifier: LoadedClassifier, image: ImageRGB, prompt: ParsedPrompt, o: ClassifyOptions = {}): Promise<ClassifyResult> {
  const rels = steerableRelations(prompt);
  const warnings: string[] = [];
  const c = await encodePrompt(pipe, prompt);
  const groups = objectTokenGroups(c.objects);
  for (const r of rels) {
    for (const idx of [r.subjectIndex, r.objectIndex]) {
      const a = c.objects[idx];
      const name = prompt.objects[idx]?.text ?? `object ${idx}`;
      if (!a || groups[idx]!.length === 0 || a.truncated === 'all') {
        throw new ClassifyError(`the tokenizer cannot align "${name}" to any token of the encoded prompt${a?.warning ? ` (${a.warning})` : ''}`, 'align');
      }
      if (groups[idx]!.every((k) => UNKNOWN_TOKENS.has(c.tokens[k] ?? ''))) {
        throw new ClassifyError(`the tokenizer cannot align "${name}": "${a.noun}" is not in the model's vocabulary (it reads as ${c.tokens[groups[idx]![0]!]}), so its attention says nothing about it`, 'align');
      }
    }
  }
  const encoder = await vaeEncoder(pipe, sessions);
  // The model's image size: the VAE config's sample_size (diffusers), else 8 pixels per latent cell.
  const wantH = pipe.folder.vae.sampleSize ?? pipe.latentShape[1] * 8;
  const wantW = Math.round((wantH * pipe.latentShape[2]) / pipe.latentShape[1]);
  let img = image;
  if (img.width !== wantW || img.height !== wantH) {
    warnings.push(`the ${img.width}x${img.height} image was resized to ${wantW}x${wantH}, the model's image size`);
    img = resizeNearest(img, wantW, wantH);
  }
  const { info } = classifier;
  const res = await invertAndRecord(pipe, encoder, unet, [img], [c.cond], { steps: info.totalSteps, fixedPoint: o.fixedPoint ?? 1, record: info.steps, groups: [groups], signal: o.signal, onStep: o.onStep });
  if (res.psnr[0]! < 19.5) warnings.push(`the inversion reconstructs the image at only ${res.psnr[0]!.toFixed(1)} dB PSNR: the maps may not describe this image`);
  const C = info.spec.channels.length;
  const per = C * info.spec.size * info.spec.size;
  const verdicts: RelationVerdict[] = [];
  for (const r of rels) {
    const pairs = info.steps.map((_, k) => {
      const stack = res.maps[k]![0]!;
      const pair = new Float32Array(2 * per);
      pair.set(stack.subarray(r.subjectIndex * per, (r.subjectIndex + 1) * per), 0);
      pair.set(stack.subarray(r.objectIndex * per, (r.objectIndex + 1) * per), per);
      return pair;
    });
    const probs = await classifyStacks(classifier, pairs, info.steps.map((_, k) => k));
    const mean = info.classes.map((_, j) => probs.reduce((a, p) => a + p[j]!, 0) / probs.length);
    let best = 0;
    for (let j = 1; j < mean.length; j++) if (mean[j]! > mean[best]!) best = j;
    const asRecord = (p: number[]) => Object.fromEntries(info.classes.map((cl, j) => [cl, Math.round(p[j]! * 1e4) / 1e4]));
    verdicts.push({
      subject: r.subject,
      object: r.object,
      stated: r.relation as Relation,
      predicted: info.classes[best]!,
      probs: asRecord(mean),
      steps: info.steps.map((step, k) => ({ step, probs: asRecord(probs[k]!) })),
    });
  }
  return { relations: verdicts, psnr: res.psnr[0]!, warnings };
}
