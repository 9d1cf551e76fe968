/**
 * Option parsing shared by the steering commands (dataset, classifier training, classify):
 * integer and number flags checked before any model loads, errors that name the flag.
 */
import { fileURLToPath } from 'node:url';
import { UsageError } from './errors.ts';

/** The bundled model folder. */
export const DEFAULT_MODEL_DIR = fileURLToPath(new URL('../../resources/models/shape-world', import.meta.url));
/** Where installed relation classifiers live (one folder each). */
export const CLASSIFIERS_DIR = fileURLToPath(new URL('../../resources/classifiers', import.meta.url));

export function intOption(flag: string, v: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!/^\d+$/.test(v.trim()) || Number(v) < min || Number(v) > max) {
    throw new UsageError(`${flag} must be an integer ${max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `in ${min}..${max}`}, got '${v}'`);
  }
  return Number(v);
}

export function numberOption(flag: string, v: string, check: (x: number) => boolean, what: string): number {
  const x = Number(v);
  if (v.trim() === '' || !Number.isFinite(x) || !check(x)) throw new UsageError(`${flag} must be ${what}, got '${v}'`);
  return x;
}
