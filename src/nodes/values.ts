/**
 * What value travels on each socket type inside the engine. Issues that add a socket's real
 * payload (MODEL, CONDITIONING, ...) replace its `unknown` here with the engine type.
 */
import type { RelationReport } from '../engine/eval/prompt-relations.ts';
import type { ImageRGB } from '../engine/image/image.ts';
import type { Conditioning } from '../engine/pipeline/encode.ts';
import type { Pipeline } from '../engine/pipeline/load.ts';
import type { Detection } from '../engine/world/detect.ts';
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
}

export type MetricsValue = { kind: 'relations'; report: RelationReport };

export interface SocketValues {
  PROMPT: ParsedPrompt;
  MODEL: Pipeline;
  CONDITIONING: Conditioning;
  LATENT: LatentValue;
  IMAGE: ImageValue;
  ATTENTION: unknown;
  CLASSIFIER: unknown;
  LOSS: unknown;
  DETECTIONS: Detection[];
  METRICS: MetricsValue;
  DATASET: unknown;
  INT: number;
  FLOAT: number;
  STRING: string;
  BOOLEAN: boolean;
  SEED: number;
  PATH: string;
}

export type ValueOf<S extends SocketType> = SocketValues[S];

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
  METRICS: (m) => `${m.report.passed}/${m.report.judged} relations hold${m.report.checks.length > m.report.judged ? `, ${m.report.checks.length - m.report.judged} not judged` : ''}`,
};
