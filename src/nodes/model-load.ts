import { existsSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadPipeline } from '../engine/pipeline/load.ts';
import { SessionManager } from '../engine/onnx/session.ts';
import { defineNode } from './api.ts';
import { param } from './params.ts';

/** Sessions are shared by every Load Model node of the engine process. */
export const sessions = new SessionManager();

/** The project root (for the bundled model under resources/). */
const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** A model path: absolute, or relative to the graph's folder, the working folder, or the project. */
export function resolveModelPath(path: string, baseDir: string): string {
  if (isAbsolute(path)) return path;
  const candidates = [resolve(baseDir, path), resolve(path), resolve(PROJECT_ROOT, path)];
  return candidates.find((c) => existsSync(c)) ?? candidates[0]!;
}

export const DEFAULT_MODEL = 'resources/models/shape-world';

export default defineNode({
  type: 'model.load',
  version: 1,
  title: 'Load Model',
  category: 'Model',
  description:
    'Loads a text-to-image model from a diffusers ONNX folder (model_index.json, tokenizer/, text_encoder/, unet/, vae_decoder/, scheduler/): the bundled Shape World model or a Stable Diffusion export.',
  inputs: [],
  outputs: [{ id: 'model', label: 'Model', type: 'MODEL' }],
  params: {
    path: param.path({ label: 'Model folder', default: DEFAULT_MODEL, description: 'Relative paths: the graph\'s folder, then the working folder, then the Steer Studio folder.' }),
    provider: param.enum({ label: 'Device', choices: ['cpu', 'cuda'], default: 'cpu' }),
    threads: param.int({ label: 'Threads (0 = all cores)', default: 0, min: 0, max: 256 }),
  },
  async execute(ctx, _inputs, p) {
    const dir = resolveModelPath(p.path, ctx.baseDir);
    const model = await loadPipeline(dir, sessions, { provider: p.provider, ...(p.threads > 0 ? { threads: p.threads } : {}) });
    ctx.log.info(model.describe());
    return { model };
  },
});
