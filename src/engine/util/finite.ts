/**
 * The pipeline's NaN guard: a latent, a noise prediction or an image with a NaN or an infinity
 * is an error that says what, where (step) and which model file produced it, never a picture
 * (a NaN pixel is written as black, so a broken model would silently save a black PNG).
 */

export class NonFiniteError extends Error {
  constructor(
    message: string,
    readonly details: { what: string; value: number; index: number; model: string; step?: number; steps?: number },
  ) {
    super(message);
    this.name = 'NonFiniteError';
  }
}

/** Index of the first NaN or infinite value, or -1. */
export function firstNonFinite(data: ArrayLike<number>): number {
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i]!)) return i;
  return -1;
}

/**
 * Throws a NonFiniteError when `data` holds a non-finite value. `what` names the tensor ("noise
 * prediction"), `model` the ONNX file that produced it, `step` (1-based) the denoising step.
 */
export function assertFinite(data: ArrayLike<number>, what: string, model: string, step?: { step: number; steps: number }): void {
  const index = firstNonFinite(data);
  if (index < 0) return;
  const value = data[index]!;
  const at = step ? ` at step ${step.step}/${step.steps}` : '';
  throw new NonFiniteError(`${what} is ${value}${at} (element ${index}), computed by ${model}: the model's weights or inputs hold NaN/Inf values`, {
    what,
    value,
    index,
    model,
    ...(step ?? {}),
  });
}
