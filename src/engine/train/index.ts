export type { JsonObject, JsonValue, StatePart, TensorMap } from './types.ts';
export { cloneStatePart, cloneTensorMap } from './types.ts';
export type { AdamWOptions, Optimizer, SGDOptions } from './optim.ts';
export { AdamW, SGD } from './optim.ts';
export { clipGradNorm, globalNorm } from './clip.ts';
export type { CosineOptions, LrSchedule, ReduceLROnPlateauOptions, WarmupOptions } from './schedule.ts';
export { ConstantSchedule, CosineSchedule, ReduceLROnPlateau, WarmupSchedule } from './schedule.ts';
export type { EmaOptions, EmaWarmup } from './ema.ts';
export { EMA } from './ema.ts';
export type { SafetensorEntry, SafetensorsContents } from './safetensors.ts';
export { decodeSafetensors, encodeSafetensors, SafetensorsFormatError } from './safetensors.ts';
export type { Checkpoint, CheckpointManagerOptions, FileOps, SaveOptions } from './checkpoint.ts';
export {
  CHECKPOINT_FORMAT,
  CHECKPOINT_FORMAT_VERSION,
  CheckpointError,
  CheckpointManager,
  decodeCheckpoint,
  encodeCheckpoint,
  loadCheckpoint,
  nodeFileOps,
  saveCheckpoint,
} from './checkpoint.ts';
export type { GoodCheckpoint } from './guard.ts';
export { NonFiniteGuard, NonFiniteLossError } from './guard.ts';
export type { RunTrainingOptions, RunTrainingResult, StepResult, TrainingProgress } from './loop.ts';
export { runTraining } from './loop.ts';
