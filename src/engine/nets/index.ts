/**
 * Shape World network definitions (ONNX graphs with deterministic seeded initial weights).
 * See text-encoder.ts, unet.ts, vae.ts for the I/O contracts, config.ts for the configs and
 * folder.ts for the on-disk layout.
 */
import type { ModelProto } from '../onnx/model.ts';
import { shapeWorldConfigs, type ShapeWorldConfigs, type ShapeWorldConfigsInput } from './config.ts';
import type { ShapeWorldModels } from './folder.ts';
import { buildTextEncoder } from './text-encoder.ts';
import { buildUNet } from './unet.ts';
import { buildVaeDecoder, buildVaeEncoder } from './vae.ts';

export * from './config.ts';
export * from './folder.ts';
export * from './ops.ts';
export { buildTextEncoder, TEXT_ENCODER_INPUT, TEXT_ENCODER_OUTPUT } from './text-encoder.ts';
export { buildUNet, UNET_INPUTS, UNET_OUTPUT } from './unet.ts';
export { buildVaeEncoder, buildVaeDecoder, VAE_ENCODER_IO, VAE_DECODER_IO } from './vae.ts';
export { NetBuilder, moduleNodePath, paramCount } from './layers.ts';

/** Builds all four Shape World networks from (partial) configs and one seed. */
export function buildShapeWorld(input: ShapeWorldConfigsInput | ShapeWorldConfigs = {}, seed = 0): { models: ShapeWorldModels; configs: ShapeWorldConfigs } {
  const configs = shapeWorldConfigs(input);
  return {
    configs,
    models: {
      textEncoder: buildTextEncoder(configs.textEncoder, seed),
      unet: buildUNet(configs.unet, seed),
      vaeEncoder: buildVaeEncoder(configs.vae, seed),
      vaeDecoder: buildVaeDecoder(configs.vae, seed),
    },
  };
}

/** Number of float parameters (initializer values) in a model. */
export function modelParamCount(model: ModelProto): number {
  let n = 0;
  for (const t of model.graph!.initializer) n += t.dims.reduce((a, d) => a * Number(d), 1);
  return n;
}
