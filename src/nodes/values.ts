/**
 * What value travels on each socket type inside the engine. Issues that add a socket's real
 * payload (MODEL, LATENT, ...) replace its `unknown` here with the engine type.
 */
import type { ParsedPrompt } from '../shared/prompt.ts';
import type { SocketType } from '../shared/sockets.ts';

export interface SocketValues {
  PROMPT: ParsedPrompt;
  MODEL: unknown;
  CONDITIONING: unknown;
  LATENT: unknown;
  IMAGE: unknown;
  ATTENTION: unknown;
  CLASSIFIER: unknown;
  LOSS: unknown;
  DETECTIONS: unknown;
  METRICS: unknown;
  DATASET: unknown;
  INT: number;
  FLOAT: number;
  STRING: string;
  BOOLEAN: boolean;
  SEED: number;
  PATH: string;
}

export type ValueOf<S extends SocketType> = SocketValues[S];

/** One-line descriptions of socket values for run events and logs (default: a generic summary). */
export const SOCKET_SUMMARIES: { [S in SocketType]?: (value: SocketValues[S]) => string } = {
  PROMPT: (p) => `${p.objects.length} object${p.objects.length === 1 ? '' : 's'}, ${p.relations.length} relation${p.relations.length === 1 ? '' : 's'}${p.relations.map((r) => ` [${r.subject} ${r.relation} ${r.object}]`).join('')}${p.warnings.length ? `, ${p.warnings.length} warning(s)` : ''}`,
};
