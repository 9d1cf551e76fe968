/**
 * Training of the bundled Shape World model (`steer train shape-world`): training graphs
 * (graphs.ts), deterministic on-the-fly batches (data.ts), the two-stage trainer and export
 * (trainer.ts). See resources/models/shape-world/TRAINING.md for the recipe.
 */
export * from './trainer.ts';
export { buildUNetLossModel, buildVaeLossModel, trainingGraph, weightNames, TRAIN_GRAPH_VERSION, type TrainingGraph, type VaeLossOptions } from './graphs.ts';
export { addNoiseBatch, batchIndices, diffusionInputs, imageBatch, p2TimestepCdf, sampleFromCdf, uniformAt, vaeNoise, type TimestepSampling } from './data.ts';
export { embedGraph, GraphMergeError, GraphOps, structureHash } from './merge.ts';
export { modelWeights, pickWeights, weightFeeds, withWeights, type WeightSet } from './weights.ts';
