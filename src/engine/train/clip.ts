/**
 * Gradient clipping by global L2 norm (torch.nn.utils.clip_grad_norm_ semantics).
 */

/** L2 norm over all elements of all tensors (accumulated in float64). */
export function globalNorm(tensors: Iterable<Float32Array> | ReadonlyMap<string, Float32Array>): number {
  const list = tensors instanceof Map ? tensors.values() : (tensors as Iterable<Float32Array>);
  let sum = 0;
  for (const t of list) for (let i = 0; i < t.length; i++) sum += t[i]! * t[i]!;
  return Math.sqrt(sum);
}

/**
 * Scale all gradients in place so that their global L2 norm is at most `maxNorm`, using
 * PyTorch's coefficient `min(1, maxNorm / (norm + 1e-6))`. Returns the norm before clipping.
 *
 * A non-finite norm (NaN/Inf gradients) is returned unchanged and the gradients are left
 * untouched, so the caller's NaN guard sees the problem instead of silently zeroed gradients.
 */
export function clipGradNorm(grads: ReadonlyMap<string, Float32Array>, maxNorm: number): number {
  if (!(maxNorm > 0)) throw new Error(`clipGradNorm: maxNorm must be > 0, got ${maxNorm}`);
  const norm = globalNorm(grads);
  if (!Number.isFinite(norm)) return norm;
  const coef = maxNorm / (norm + 1e-6);
  if (coef < 1) {
    for (const g of grads.values()) for (let i = 0; i < g.length; i++) g[i] = g[i]! * coef;
  }
  return norm;
}
