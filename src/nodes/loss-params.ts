/** Params shared by the relation loss nodes: which relation of the prompt they steer. */
import type { RelationRef } from '../engine/steer/losses.ts';
import { param } from './params.ts';

export const RELATION_PARAMS = {
  relation: param.int({ label: 'Relation # (-1: every relation)', default: -1, min: -1, max: 15 }),
  triplet: param.string({ label: 'Or type it (subject, relation, object)', default: '' }),
};

export function relationRef(p: { relation: number; triplet: string }): RelationRef {
  if (p.triplet.trim() !== '') return { triplet: p.triplet };
  return p.relation < 0 ? { all: true } : { index: p.relation };
}
