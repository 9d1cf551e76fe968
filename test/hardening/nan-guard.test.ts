/**
 * The pipeline's NaN guard: a model whose weights are NaN makes `steer generate` fail naming the
 * node, the step and the model file, and writes no image (it used to save a black PNG, exit 0).
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadModel, saveModel } from '../../src/engine/onnx/model.ts';

/** A copy of the bundled model whose `file` has the float initializer `name` filled with NaN. */
function nanModel(file: string, name: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'steer-nan-'));
  cpSync('resources/models/shape-world', dir, { recursive: true });
  const path = join(dir, file);
  const { model } = loadModel(path);
  const t = model.graph!.initializer.find((x) => x.name === name)!;
  const nan = new Float32Array(t.rawData.length / 4).fill(NaN);
  t.rawData = new Uint8Array(nan.buffer);
  saveModel(model, path);
  return dir;
}

const generate = (model: string, out: string) =>
  spawnSync(process.execPath, ['bin/steer.mjs', 'generate', 'a red circle', '--model', model, '--steps', '3', '--out', out], { encoding: 'utf8' });

describe('NaN guard', () => {
  it('NaN UNet weights: the Sampler fails at step 1 naming unet/model.onnx, no PNG', () => {
    const model = nanModel('unet/model.onnx', 'conv_out.bias');
    const out = join(mkdtempSync(join(tmpdir(), 'steer-nan-out-')), 'x.png');
    const r = generate(model, out);
    expect(r.status, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/node "sample" failed: the noise prediction is NaN at step 1\/3 .*computed by .*unet[/\\]model\.onnx/);
    expect(existsSync(out)).toBe(false);
  }, 60_000);

  it('NaN VAE decoder weights: Decode fails naming vae_decoder/model.onnx, no PNG', () => {
    const model = nanModel('vae_decoder/model.onnx', 'decoder.conv_out.bias');
    const out = join(mkdtempSync(join(tmpdir(), 'steer-nan-out-')), 'x.png');
    const r = generate(model, out);
    expect(r.status, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/node "decode" failed: the decoded image is NaN .*computed by .*vae_decoder[/\\]model\.onnx/);
    expect(existsSync(out)).toBe(false);
  }, 60_000);
});
