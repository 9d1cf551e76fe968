/** Classifier-free guidance (Ho & Salimans 2022). */
import { checkSameLength } from './tensor.ts';

/** uncond + scale * (cond - uncond), elementwise (float64 arithmetic, float32 result). */
export function classifierFreeGuidance(uncond: Float32Array, cond: Float32Array, scale: number, out: Float32Array = new Float32Array(uncond.length)): Float32Array {
  checkSameLength('classifierFreeGuidance', uncond, cond, 'uncond', 'cond');
  if (out.length !== uncond.length) throw new Error(`classifierFreeGuidance: out has ${out.length} elements, expected ${uncond.length}`);
  if (!Number.isFinite(scale)) throw new Error(`classifierFreeGuidance: scale must be finite, got ${scale}`);
  for (let i = 0; i < uncond.length; i++) out[i] = uncond[i]! + scale * (cond[i]! - uncond[i]!);
  return out;
}
