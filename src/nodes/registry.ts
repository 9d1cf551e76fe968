/**
 * The node registry: every node type the product ships. Add a node by writing one file in
 * src/nodes/ and listing it here; the catalogue (`steer nodes --json`, the renderer's palette)
 * and validation are derived from these definitions.
 */
import type { AnyNodeDefinition } from './api.ts';
import evalCheckRelations from './eval-check-relations.ts';
import imagePreview from './image-preview.ts';
import imageSave from './image-save.ts';
import latentDecode from './latent-decode.ts';
import latentNoise from './latent-noise.ts';
import modelLoad from './model-load.ts';
import promptEncode from './prompt-encode.ts';
import sampler from './sampler.ts';
import promptParse from './prompt-parse.ts';
import promptSave from './prompt-save.ts';
import text from './text.ts';
import { primitiveFloat, primitiveInt, primitiveSeed } from './primitives.ts';
import worldDetect from './world-detect.ts';
import worldSample from './world-sample.ts';
import imageLoad from './image-load.ts';
import latentEncode from './latent-encode.ts';
import latentInvert from './latent-invert.ts';
import attentionExtract from './attention-extract.ts';
import classifierLoad from './classifier-load.ts';
import relationClassify from './relation-classify.ts';
import datasetRelations from './dataset-relations.ts';
import trainClassifier from './train-classifier.ts';
import lossRelation from './loss-relation.ts';
import lossCentroid from './loss-centroid.ts';
import lossPresence from './loss-presence.ts';
import lossBinding from './loss-binding.ts';
import lossCombine from './loss-combine.ts';
import latentOptimize from './latent-optimize.ts';

export const BUILTIN_NODES: readonly AnyNodeDefinition[] = [
  text,
  primitiveInt,
  primitiveFloat,
  primitiveSeed,
  promptParse,
  promptSave,
  modelLoad,
  promptEncode,
  latentNoise,
  sampler,
  latentDecode,
  imagePreview,
  imageSave,
  worldSample,
  worldDetect,
  evalCheckRelations,
  imageLoad,
  latentEncode,
  latentInvert,
  attentionExtract,
  classifierLoad,
  relationClassify,
  datasetRelations,
  trainClassifier,
  lossRelation,
  lossCentroid,
  lossPresence,
  lossBinding,
  lossCombine,
  latentOptimize,
];
