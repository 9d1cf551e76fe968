/**
 * ONNX engine: model I/O (model.ts), graph builder (builder.ts), onnxruntime sessions
 * (session.ts) and reverse-mode differentiation (autodiff/).
 */
export * from './model.ts';
export * from './builder.ts';
export * from './session.ts';
export { differentiate, probeShapes, promoteInitializers, UnsupportedOpError, GradientError, RULES, NON_DIFFERENTIABLE, MIN_OPSET, MAX_OPSET } from './autodiff/index.ts';
export type { DifferentiateOptions, TensorInfo } from './autodiff/index.ts';
export { checkGradients, initializerFeeds } from './autodiff/check.ts';
export type { CheckOptions, CheckResult } from './autodiff/check.ts';
export { GradientRunner } from './autodiff/runner.ts';
export type { GradientRunnerOptions, GradientResult } from './autodiff/runner.ts';
