import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildShapeWorld, writeModelFolder } from '../../src/engine/nets/index.ts';

/**
 * A Shape World model folder with freshly initialised (untrained) weights and the shipped
 * tokenizer: real networks run by onnxruntime, for testing the pipeline's mechanics.
 */
export async function untrainedModelFolder(seed = 1): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'steer-model-'));
  const { models, configs } = buildShapeWorld({}, seed);
  await writeModelFolder(dir, models, configs);
  cpSync('resources/models/shape-world/tokenizer', join(dir, 'tokenizer'), { recursive: true });
  return dir;
}
