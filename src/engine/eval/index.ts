/** Evaluation: the GenEval position rule and detector-vs-ground-truth matching. */
export * from './geneval.ts';
export * from './match.ts';
