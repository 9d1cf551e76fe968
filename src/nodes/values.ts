/**
 * What value travels on each socket type inside the engine. Issues that add a socket's real
 * payload (MODEL, CONDITIONING, ...) replace its `unknown` here with the engine type.
 */
import type { RelationReport } from '../engine/eval/prompt-relations.ts';
import type { ImageRGB } from '../engine/image/image.ts';
import type { Conditioning } from '../engine/pipeline/encode.ts';
import type { Pipeline } from '../engine/pipeline/load.ts';
import type { Detection } from '../engine/world/detect.ts';
import type { MapSpec } from '../engine/steer/attention.ts';
import type { LoadedClassifier } from '../engine/steer/classifier.ts';
import type { RelationVerdict } from '../engine/steer/classify.ts';
import type { LossSpec, RelationRef } from '../engine/steer/losses.ts';
import type { ParsedPrompt } from '../shared/prompt.ts';
import type { SocketType } from '../shared/sockets.ts';

/** An image plus what made it, so Save Image can record the seed actually used. */
export interface ImageValue extends ImageRGB {
  meta?: { seed?: number; prompt?: string; [key: string]: unknown };
}

/** A latent tensor, NCHW float32. */
export interface LatentValue {
  shape: [number, number, number, number];
  data: Float32Array;
  /** The seed its noise came from, when it came from a seed. */
  seed?: number;
  /** The prompt it was denoised for. */
  prompt?: string;
  /** How it was denoised: { method: 'none' | 'learned' | 'centroid' | 'learned+binding' ..., and every setting }; Save Image writes it. */
  sampling?: Record<string, unknown>;
}

export type MetricsValue = { kind: 'relations'; report: RelationReport } | { kind: 'classified'; relations: RelationVerdict[]; psnr: number };

/** Attention stacks recorded along a denoising run (src/engine/steer/attention.ts). */
export interface AttentionValue {
  spec: MapSpec;
  /** One name per object, in the order of the stacks' first axis. */
  objects: string[];
  /** Recorded denoising step indices, of `totalSteps`. */
  steps: number[];
  totalSteps: number;
  /** Per recorded step: [objects, C, S, S]. */
  stacks: Float32Array[];
  /** The image the maps describe (input or reconstruction), for overlays. */
  image?: ImageRGB;
  psnr?: number;
}

/** What a loss node outputs: a rule, what of the prompt it reads, a weight (src/engine/steer/losses.ts). */
export type LossValue = LossSpec;

/** A relations dataset on disk. */
export interface DatasetValue {
  dir: string;
  samples: number;
}

export interface SocketValues {
  PROMPT: ParsedPrompt;
  MODEL: Pipeline;
  CONDITIONING: Conditioning;
  LATENT: LatentValue;
  IMAGE: ImageValue;
  ATTENTION: AttentionValue;
  CLASSIFIER: LoadedClassifier;
  LOSS: LossValue;
  DETECTIONS: Detection[];
  METRICS: MetricsValue;
  DATASET: DatasetValue;
  INT: number;
  FLOAT: number;
  STRING: string;
  BOOLEAN: boolean;
  SEED: number;
  PATH: string;
}

export type ValueOf<S extends SocketType> = SocketValues[S];

function describeLoss(l: LossSpec): string {
  const rel = (r: RelationRef) => ('all' in r ? 'every relation' : 'index' in r ? `relation #${r.index}` : `"${r.triplet}"`);
  switch (l.kind) {
    case 'learned':
      return `learned loss on ${rel(l.relation)} (${l.classifier.info.name}), weight ${l.weight}`;
    case 'centroid':
      return `centroid loss on ${rel(l.relation)}, margin ${l.margin}, weight ${l.weight}`;
    case 'combine':
      return `${l.mode} of ${l.parts.length} losses [${l.parts.map(describeLoss).join('; ')}], weight ${l.weight}`;
    default:
      return `${l.kind} loss, weight ${l.weight}`;
  }
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** One-line descriptions of socket values for run events and logs (default: a generic summary). */
export const SOCKET_SUMMARIES: { [S in SocketType]?: (value: SocketValues[S]) => string } = {
  PROMPT: (p) =>
    `${plural(p.objects.length, 'object')}, ${plural(p.relations.length, 'relation')}${p.relations.map((r) => ` [${r.subject} ${r.relation} ${r.object}]`).join('')}${p.warnings.length ? `, ${plural(p.warnings.length, 'warning')}` : ''}`,
  MODEL: (m) => m.describe(),
  CONDITIONING: (c) => `${c.cond.dims.join('x')} embedding; ${c.objects.map((o) => `${o.object}: tokens ${o.tokenIndices.join(',')}`).join('; ')}`,
  IMAGE: (im) => `${im.width}x${im.height} RGB${im.meta?.seed !== undefined ? ` (seed ${im.meta.seed})` : ''}`,
  LATENT: (l) => `latent ${l.shape.join('x')}${l.seed !== undefined ? ` (seed ${l.seed})` : ''}`,
  DETECTIONS: (d) => (d.length === 0 ? 'nothing detected' : d.map((x) => `${x.color} ${x.shape}`).join(', ')),
  METRICS: (m) =>
    m.kind === 'relations'
      ? `${m.report.passed}/${m.report.judged} relations hold${m.report.checks.length > m.report.judged ? `, ${m.report.checks.length - m.report.judged} not judged` : ''}`
      : m.relations.map((r) => `${r.subject} ${r.predicted} ${r.object} (stated ${r.stated})`).join('; '),
  ATTENTION: (a) => `${a.objects.length} objects x ${a.spec.channels.length} maps ${a.spec.size}x${a.spec.size} at steps ${a.steps.join(',')}`,
  CLASSIFIER: (c) => `${c.info.name}: ${c.info.classes.join('/')} from ${c.info.spec.channels.length} maps`,
  DATASET: (d) => `${d.samples} samples in ${d.dir}`,
  LOSS: (l) => describeLoss(l),
};
